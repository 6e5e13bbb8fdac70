package seatmap

import (
	"hash/maphash"
	"iter"
)

// holdIndex is the live holds by id: an open-addressing hash table of hold
// pointers (linear probing, backward-shift deletion), 8 bytes a slot at a
// load of 3/8 to 3/4, where a Go map[string]*hold costs about 56 bytes an
// entry at a million (a stadium on-sale). The key is the hold's own id, so
// the table stores nothing else. Iteration order is unspecified (as a map's).
type holdIndex struct {
	slots []*hold // len is 0 or a power of two
	n     int
	seed  maphash.Seed
}

const holdIndexMinSlots = 16

func newHoldIndex(hint int) holdIndex {
	x := holdIndex{seed: maphash.MakeSeed()}
	if hint > 0 {
		x.slots = make([]*hold, slotsFor(hint))
	}
	return x
}

// slotsFor is the power of two that keeps n entries at a load of 3/4 or less.
func slotsFor(n int) int {
	size := holdIndexMinSlots
	for size*3/4 < n {
		size *= 2
	}
	return size
}

func (x *holdIndex) len() int { return x.n }

func (x *holdIndex) home(id string) int {
	return int(maphash.String(x.seed, id) & uint64(len(x.slots)-1))
}

// get returns the live hold id, if any.
func (x *holdIndex) get(id string) (*hold, bool) {
	if x.n == 0 {
		return nil, false
	}
	mask := len(x.slots) - 1
	for i := x.home(id); ; i = (i + 1) & mask {
		h := x.slots[i]
		if h == nil {
			return nil, false
		}
		if h.id == id {
			return h, true
		}
	}
}

// put adds h; false (and no change) when a hold of its id is there.
func (x *holdIndex) put(h *hold) bool {
	if len(x.slots) == 0 || (x.n+1) > len(x.slots)*3/4 {
		x.resize(slotsFor(x.n + 1))
	}
	mask := len(x.slots) - 1
	for i := x.home(h.id); ; i = (i + 1) & mask {
		switch o := x.slots[i]; {
		case o == nil:
			x.slots[i] = h
			x.n++
			return true
		case o.id == h.id:
			return false
		}
	}
}

// del removes the hold id, if there; it shrinks the table when a quarter
// of it would do (memory follows live holds).
func (x *holdIndex) del(id string) {
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	i := x.home(id)
	for {
		h := x.slots[i]
		if h == nil {
			return
		}
		if h.id == id {
			break
		}
		i = (i + 1) & mask
	}
	// backward shift: move later entries of the run into the hole when
	// their home is not between the hole and them
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		h := x.slots[j]
		if h == nil {
			break
		}
		if k := x.home(h.id); (j-k)&mask >= (j-i)&mask {
			x.slots[i] = h
			i = j
		}
	}
	x.slots[i] = nil
	x.n--
	if len(x.slots) > holdIndexMinSlots && x.n < len(x.slots)/8 {
		x.resize(slotsFor(x.n))
	}
}

func (x *holdIndex) resize(size int) {
	old := x.slots
	x.slots = make([]*hold, size)
	mask := size - 1
	for _, h := range old {
		if h == nil {
			continue
		}
		i := x.home(h.id)
		for x.slots[i] != nil {
			i = (i + 1) & mask
		}
		x.slots[i] = h
	}
}

// all yields every live hold. The table must not change meanwhile.
func (x *holdIndex) all() iter.Seq[*hold] {
	return func(yield func(*hold) bool) {
		for _, h := range x.slots {
			if h != nil && !yield(h) {
				return
			}
		}
	}
}
