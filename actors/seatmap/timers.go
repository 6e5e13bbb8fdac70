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

// holdHeap is the expiry timers of live holds: a min-heap of the holds
// themselves by (expiresAt, id), each hold knowing its place (heapIdx), so a
// hold carries no timer of its own.
type holdHeap []*hold

func (h holdHeap) less(i, j int) bool {
	return h[i].expiresAt < h[j].expiresAt || (h[i].expiresAt == h[j].expiresAt && h[i].id < h[j].id)
}

func (h holdHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = int32(i), int32(j)
}

func (h holdHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h holdHeap) down(i int) bool {
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

// arm arms the hold's expiry at h.expiresAt.
func (h *holdHeap) arm(x *hold) {
	x.heapIdx = int32(len(*h))
	*h = append(*h, x)
	h.up(int(x.heapIdx))
}

// push adds x without ordering: call init after the last push (restore).
func (h *holdHeap) push(x *hold) {
	x.heapIdx = int32(len(*h))
	*h = append(*h, x)
}

// init orders the heap after pushes, in O(n).
func (h holdHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// reset moves an armed hold's expiry to h.expiresAt (already changed).
func (h holdHeap) reset(x *hold) {
	if !h.down(int(x.heapIdx)) {
		h.up(int(x.heapIdx))
	}
}

// disarm removes x if it is armed.
func (h *holdHeap) disarm(x *hold) {
	if x.heapIdx < 0 {
		return
	}
	q := *h
	i, last := int(x.heapIdx), len(q)-1
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
	x.heapIdx = -1
	*h = q
}

func (h holdHeap) peek() int64 {
	if len(h) == 0 {
		return 0
	}
	return h[0].expiresAt
}
