package seatmap

import (
	"hash/maphash"
	"iter"
)

// ptrIndex is a set of pointers keyed by a string each one carries: an
// open-addressing hash table (linear probing, backward-shift deletion) of
// the pointers alone, 8 bytes a slot at a load of 3/8 to 3/4, where a Go
// map[string]*T costs about 56 bytes an entry at a million (a stadium
// on-sale's live holds and users). Iteration order is unspecified (as a
// map's). The zero value is not ready: use newPtrIndex.
type ptrIndex[E any, P interface {
	*E
	indexKey() string
}] struct {
	slots []P // len is 0 or a power of two
	n     int
	seed  maphash.Seed
}

const ptrIndexMinSlots = 16

func newPtrIndex[E any, P interface {
	*E
	indexKey() string
}](hint int) ptrIndex[E, P] {
	x := ptrIndex[E, P]{seed: maphash.MakeSeed()}
	if hint > 0 {
		x.slots = make([]P, slotsFor(hint))
	}
	return x
}

// holdIndex is the live holds by id.
type holdIndex = ptrIndex[hold, *hold]

func (h *hold) indexKey() string { return h.id }

func newHoldIndex(hint int) holdIndex { return newPtrIndex[hold](hint) }

// slotsFor is the power of two that keeps n entries at a load of 3/4 or less.
func slotsFor(n int) int {
	size := ptrIndexMinSlots
	for size*3/4 < n {
		size *= 2
	}
	return size
}

func (x *ptrIndex[E, P]) len() int { return x.n }

func (x *ptrIndex[E, P]) home(key string) int {
	return int(maphash.String(x.seed, key) & uint64(len(x.slots)-1))
}

// get returns the entry of key, if any.
func (x *ptrIndex[E, P]) get(key string) (P, bool) {
	if x.n == 0 {
		return nil, false
	}
	mask := len(x.slots) - 1
	for i := x.home(key); ; i = (i + 1) & mask {
		p := x.slots[i]
		if p == nil {
			return nil, false
		}
		if p.indexKey() == key {
			return p, true
		}
	}
}

// put adds p; false (and no change) when an entry of its key is there.
func (x *ptrIndex[E, P]) put(p P) bool {
	if len(x.slots) == 0 || (x.n+1) > len(x.slots)*3/4 {
		x.resize(slotsFor(x.n + 1))
	}
	key := p.indexKey()
	mask := len(x.slots) - 1
	for i := x.home(key); ; i = (i + 1) & mask {
		switch o := x.slots[i]; {
		case o == nil:
			x.slots[i] = p
			x.n++
			return true
		case o.indexKey() == key:
			return false
		}
	}
}

// del removes the entry of key, if there; it shrinks the table when a
// quarter of it would do (memory follows live work).
func (x *ptrIndex[E, P]) del(key string) {
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	i := x.home(key)
	for {
		p := x.slots[i]
		if p == nil {
			return
		}
		if p.indexKey() == key {
			break
		}
		i = (i + 1) & mask
	}
	// backward shift: move later entries of the run into the hole when
	// their home is not between the hole and them
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		p := x.slots[j]
		if p == nil {
			break
		}
		if k := x.home(p.indexKey()); (j-k)&mask >= (j-i)&mask {
			x.slots[i] = p
			i = j
		}
	}
	x.slots[i] = nil
	x.n--
	if len(x.slots) > ptrIndexMinSlots && x.n < len(x.slots)/8 {
		x.resize(slotsFor(x.n))
	}
}

func (x *ptrIndex[E, P]) resize(size int) {
	old := x.slots
	x.slots = make([]P, size)
	mask := size - 1
	for _, p := range old {
		if p == nil {
			continue
		}
		i := x.home(p.indexKey())
		for x.slots[i] != nil {
			i = (i + 1) & mask
		}
		x.slots[i] = p
	}
}

// all yields every entry. The table must not change meanwhile.
func (x *ptrIndex[E, P]) all() iter.Seq[P] {
	return func(yield func(P) bool) {
		for _, p := range x.slots {
			if p != nil && !yield(p) {
				return
			}
		}
	}
}

// userTally is the seats a user has: live holds and orders, and archived
// sales.
type userTally struct {
	user string
	n    int
}

func (t *userTally) indexKey() string { return t.user }

// tallies is the seats per user.
type tallies struct {
	ptrIndex[userTally, *userTally]
}

func newTallies(hint int) tallies { return tallies{newPtrIndex[userTally](hint)} }

// of returns user's seats (0 for a user without a tally).
func (t *tallies) of(user string) int {
	if u, ok := t.get(user); ok {
		return u.n
	}
	return 0
}

// add adds d seats to user's tally (making one, as a map's += would), and
// returns the new count.
func (t *tallies) add(user string, d int) int {
	u, ok := t.get(user)
	if !ok {
		u = &userTally{user: user}
		t.put(u)
	}
	u.n += d
	return u.n
}

// take takes d seats from user's tally and drops the tally at zero.
func (t *tallies) take(user string, d int) {
	if t.add(user, -d) == 0 {
		t.del(user)
	}
}

// asMap returns the tallies as a map.
func (t *tallies) asMap() map[string]int {
	m := make(map[string]int, t.len())
	for u := range t.all() {
		m[u.user] = u.n
	}
	return m
}
