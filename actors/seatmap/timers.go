package seatmap

// timerHeap is a min-heap of (instant, id), typed to avoid boxing. Entries are
// not removed when a hold or order changes; a popped entry is checked against
// the live object. Ties break by id, so pop order is deterministic.
type timerHeap []idAt

func (h timerHeap) less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].id < h[j].id)
}

func (h *timerHeap) add(id string, at int64) {
	*h = append(*h, idAt{id: id, at: at})
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h timerHeap) peek() int64 {
	if len(h) == 0 {
		return 0
	}
	return h[0].at
}

// popDue pops the next entry due at or before now.
func (h *timerHeap) popDue(now int64) (idAt, bool) {
	q := *h
	if len(q) == 0 || q[0].at > now {
		return idAt{}, false
	}
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = idAt{}
	q = q[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q) && q.less(l, m) {
			m = l
		}
		if r < len(q) && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top, true
}
