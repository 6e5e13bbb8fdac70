package seatmap

// timer is one armed deadline of a hold or an order.
type timer struct {
	at  int64
	id  string
	idx int // position in the heap, -1 when not armed
}

// timerHeap is an indexed min-heap of timers: O(log n) add, remove and fix,
// so released holds and settled orders leave no stale entries behind. Ties
// break by id, so pop order is deterministic.
type timerHeap []*timer

func (h timerHeap) less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].id < h[j].id)
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h timerHeap) down(i int) bool {
	start := i
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			return i > start
		}
		h.swap(i, m)
		i = m
	}
}

// arm arms t (embedded in its hold or order, to spare an allocation) for id
// at the instant, and returns it.
func (h *timerHeap) arm(t *timer, id string, at int64) *timer {
	*t = timer{at: at, id: id, idx: len(*h)}
	*h = append(*h, t)
	h.up(t.idx)
	return t
}

// reset moves an armed timer to a new instant.
func (h timerHeap) reset(t *timer, at int64) {
	t.at = at
	if !h.down(t.idx) {
		h.up(t.idx)
	}
}

// disarm removes t if it is armed.
func (h *timerHeap) disarm(t *timer) {
	if t == nil || t.idx < 0 {
		return
	}
	q := *h
	i, last := t.idx, len(q)-1
	if i != last {
		q.swap(i, last)
	}
	q[last] = nil
	q = q[:last]
	if i != last {
		if !q.down(i) {
			q.up(i)
		}
	}
	t.idx = -1
	*h = q
}

func (h timerHeap) peek() int64 {
	if len(h) == 0 {
		return 0
	}
	return h[0].at
}

// popDue removes and returns the earliest timer due at or before now.
func (h *timerHeap) popDue(now int64) (*timer, bool) {
	if len(*h) == 0 || (*h)[0].at > now {
		return nil, false
	}
	t := (*h)[0]
	h.disarm(t)
	return t, true
}
