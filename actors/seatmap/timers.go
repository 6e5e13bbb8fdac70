package seatmap

import "container/heap"

// timerHeap is a min-heap of (instant, id). Entries are not removed when a
// hold or order changes; a popped entry is checked against the live object.
type timerHeap []idAt

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].id < h[j].id)
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(idAt)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *timerHeap) add(id string, at int64) { heap.Push(h, idAt{id: id, at: at}) }

func (h timerHeap) peek() int64 {
	if len(h) == 0 {
		return 0
	}
	return h[0].at
}

// popDue pops the next entry due at or before now.
func (h *timerHeap) popDue(now int64) (idAt, bool) {
	if len(*h) == 0 || (*h)[0].at > now {
		return idAt{}, false
	}
	return heap.Pop(h).(idAt), true
}
