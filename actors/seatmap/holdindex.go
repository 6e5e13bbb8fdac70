package seatmap

import (
	"hash/maphash"
	"iter"
)

// ptrIndex is a set of pointers keyed by a string each one carries: an
// open-addressing hash table (linear probing, backward-shift deletion) of
// the pointers alone, 8 bytes a slot and a 1-byte tag of the key's hash
// (probes compare tags, not keys: no pointer is followed for a mismatch),
// at a load of 3/8 to 3/4, where a Go map[string]*T costs about 56 bytes an
// entry at a million (a stadium on-sale's live holds and users). Iteration
// order is unspecified (as a map's). The zero value is not ready: use
// newPtrIndex.
type ptrIndex[E any, P interface {
	*E
	indexKey() string
}] struct {
	slots []P     // len is 0 or a power of two
	tags  []uint8 // per slot: 0 free, else the top bits of its key's hash, low bit set
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
		n := slotsFor(hint)
		x.slots, x.tags = make([]P, n), make([]uint8, n)
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

// locate returns key's home slot and tag.
func (x *ptrIndex[E, P]) locate(key string) (int, uint8) {
	h := maphash.String(x.seed, key)
	return int(h & uint64(len(x.slots)-1)), uint8(h>>56) | 1
}

// find returns the slot of key, or -1, and where the probe for it ended.
func (x *ptrIndex[E, P]) find(key string) (at, end int, tag uint8) {
	mask := len(x.slots) - 1
	i, tag := x.locate(key)
	for ; x.tags[i] != 0; i = (i + 1) & mask {
		if x.tags[i] == tag && x.slots[i].indexKey() == key {
			return i, i, tag
		}
	}
	return -1, i, tag
}

// get returns the entry of key, if any.
func (x *ptrIndex[E, P]) get(key string) (P, bool) {
	if x.n == 0 {
		return nil, false
	}
	if i, _, _ := x.find(key); i >= 0 {
		return x.slots[i], true
	}
	return nil, false
}

// put adds p; false (and no change) when an entry of its key is there.
func (x *ptrIndex[E, P]) put(p P) bool {
	if len(x.slots) == 0 || (x.n+1) > len(x.slots)*3/4 {
		x.resize(slotsFor(x.n + 1))
	}
	i, end, tag := x.find(p.indexKey())
	if i >= 0 {
		return false
	}
	x.slots[end], x.tags[end] = p, tag
	x.n++
	return true
}

// del removes the entry of key, if there; it shrinks the table when a
// quarter of it would do (memory follows live work).
func (x *ptrIndex[E, P]) del(key string) {
	if x.n == 0 {
		return
	}
	i, _, _ := x.find(key)
	if i < 0 {
		return
	}
	mask := len(x.slots) - 1
	// backward shift: move later entries of the run into the hole when
	// their home is not between the hole and them
	for j := (i + 1) & mask; x.tags[j] != 0; j = (j + 1) & mask {
		if k, _ := x.locate(x.slots[j].indexKey()); (j-k)&mask >= (j-i)&mask {
			x.slots[i], x.tags[i] = x.slots[j], x.tags[j]
			i = j
		}
	}
	x.slots[i], x.tags[i] = nil, 0
	x.n--
	if len(x.slots) > ptrIndexMinSlots && x.n < len(x.slots)/8 {
		x.resize(slotsFor(x.n))
	}
}

func (x *ptrIndex[E, P]) resize(size int) {
	old := x.slots
	x.slots, x.tags = make([]P, size), make([]uint8, size)
	mask := size - 1
	for _, p := range old {
		if p == nil {
			continue
		}
		i, tag := x.locate(p.indexKey())
		for x.tags[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i], x.tags[i] = p, tag
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
