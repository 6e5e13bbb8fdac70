package seatmap

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/boxoffice/boxoffice/facts"
)

// Released hold ids. A shard remembers the id of each hold released within
// HoldReleasedMemory, so that a late copy of the hold command that placed it
// is refused (Shard.hold) instead of placing a ghost hold. The memory is set
// when a release fact is applied, live or replayed, with the record's time,
// and it is in the state rows, so that a shard recovered from rows remembers
// what the live one did: one row per millisecond of release
// (facts.RowReleasedAt, the ids released at it, sorted), rewritten when an
// id of it is released or released again, deleted when its ids are
// forgotten (all at once: they share their time). It forgets what is older
// at each release and at each Forgotten fact (which a tick records when ids
// are due): always at a fact, so a replayed shard remembers exactly the ids,
// and holds exactly the rows, of the live one.
//
// A row per millisecond, not per id (facts.RowReleased, which stores
// written before it still have: read, then deleted): under the hot-show
// load a show releases 25,000 holds a second, and a row per id was 25,000
// puts and, a minute later, 25,000 tombstones a second in Pebble's memtable,
// flushes and compactions: 1.09 rows per HTTP request, now 0.065, and the
// server's CPU per request ~5% less (bench/README.md, issue 12, twentieth
// round; scripts/bench-server-cpu).

// releasedPruneStepMs rounds the deadline of forgetting released ids up, so
// that a steady stream of releases asks for one tick a second, not one each.
const releasedPruneStepMs = 1000

// releasedIDs is the memory of released hold ids, each with its release
// time. Ids of the form Booking gives them are kept as their 128 bits
// (releasedKeys: no pointers, the GC does not scan them); any other id as a
// string, in a map and a FIFO beside.
type releasedIDs struct {
	keys releasedKeys
	// keysMax is at least every key in keys (zero when keys is empty).
	// Booking's ids sort by their creation time, and a hold is released
	// after it was made, so a new hold's id is above every remembered one:
	// its check skips the index, a minute of releases that misses the CPU
	// cache on every lookup (BenchmarkHoldReleaseStream, ids=ordered).
	keysMax   idKey
	other     map[string]int64
	otherFIFO []stamped[string]
}

// stamped is an id and when it was released, in a FIFO of release order.
type stamped[K comparable] struct {
	k  K
	at int64
}

func (r *releasedIDs) len() int { return r.keys.len() + len(r.other) }

// first returns the earliest release time remembered.
func (r *releasedIDs) first() (int64, bool) {
	switch {
	case len(r.keys.fifo) > 0 && len(r.otherFIFO) > 0:
		return min(r.keys.fifo[0].at, r.otherFIFO[0].at), true
	case len(r.keys.fifo) > 0:
		return r.keys.fifo[0].at, true
	case len(r.otherFIFO) > 0:
		return r.otherFIFO[0].at, true
	}
	return 0, false
}

// rememberReleased remembers that hold id was released at at, and forgets
// the ids released HoldReleasedMemory before; it marks the rows of the
// milliseconds that changed.
func (s *Shard) rememberReleased(id string, at int64) {
	s.forgetReleased(at)
	if was, ok := s.releasedAt(id); ok { // released again: its earlier row loses it
		s.dirty.releasedMs(was)
	}
	s.addReleased(id, at)
	s.dirty.releasedMs(at)
}

// addReleased adds hold id released at at to the memory (no row marked),
// and returns its key (zero for an id that is not canonical).
func (s *Shard) addReleased(id string, at int64) idKey {
	r := &s.released
	if k, ok := s.holds.canonical(id); ok {
		r.keys.add(k, at, s.holds.seed)
		if r.keysMax.less(k) {
			r.keysMax = k
		}
		return k
	}
	if r.other == nil {
		r.other = map[string]int64{}
	}
	r.other[id] = at
	r.otherFIFO = append(r.otherFIFO, stamped[string]{id, at})
	return idKey{}
}

// forgetReleased forgets the hold ids released HoldReleasedMemory or more
// before now, and marks their rows (deleted: a millisecond's ids go
// together). Called only while applying a fact (see above).
func (s *Shard) forgetReleased(now int64) {
	r := &s.released
	r.keys.forget(now, func(_ idKey, at int64) { s.dirty.releasedMs(at) })
	if r.keys.len() == 0 {
		r.keysMax = idKey{}
	}
	r.otherFIFO = forgetStamped(r.other, r.otherFIFO, now, func(_ string, at int64) { s.dirty.releasedMs(at) })
}

func forgetStamped(m map[string]int64, q []stamped[string], now int64, forgot func(id string, at int64)) []stamped[string] {
	n := 0
	for n < len(q) && q[n].at+HoldReleasedMemory <= now {
		if at, ok := m[q[n].k]; ok && at == q[n].at {
			delete(m, q[n].k)
			forgot(q[n].k, q[n].at)
		}
		q[n] = stamped[string]{}
		n++
	}
	return q[n:]
}

// releasedDueBy reports whether a tick at now has released ids to forget.
func (s *Shard) releasedDueBy(now int64) bool {
	at, ok := s.released.first()
	return ok && at+HoldReleasedMemory <= now
}

// releasedAt returns when hold id was released, if it is remembered.
func (s *Shard) releasedAt(id string) (int64, bool) {
	if k, canon := s.holds.canonical(id); canon {
		if s.released.keysMax.less(k) {
			return 0, false // above every remembered id: a new hold's, as a rule
		}
		return s.released.keys.get(k)
	}
	at, ok := s.released.other[id]
	return at, ok
}

// releasedMs marks the row of the ids released at ms at.
func (d *dirtySet) releasedMs(at int64) {
	if n := len(d.releasedAt); n == 0 || d.releasedAt[n-1] != at {
		d.releasedAt = append(d.releasedAt, at)
	}
}

// appendReleasedAtRows appends the row of each millisecond of ats (no
// repeats) to rows: the ids remembered as released at it, or a deletion
// when there are none (with deletes false: no row).
func (s *Shard) appendReleasedAtRows(rows []facts.Row, ats []int64, deletes bool) []facts.Row {
	var vals []byte
	for _, at := range ats {
		n := len(vals)
		vals = s.appendReleasedSet(vals, at)
		r := facts.Row{Key: facts.RowMsKey(facts.RowReleasedAt, at)}
		if len(vals) > n {
			r.Value = vals[n:len(vals):len(vals)]
		} else if !deletes {
			continue
		}
		rows = append(rows, r)
	}
	return rows
}

// appendReleasedSet appends the ReleasedSet of the ids remembered as
// released at ms at to dst, or nothing when there are none. Its ids are
// sorted (the canonical ones, then the others), so that its bytes depend on
// the memory alone, not on the order of its FIFOs (a restore orders them by
// id where the live shard has them in release order).
func (s *Shard) appendReleasedSet(dst []byte, at int64) []byte {
	r := &s.released
	keys := s.relKeys[:0]
	from, to := releasedAtMs(r.keys.fifo, at)
	for i := from; i < to; i++ {
		if r.keys.live(i) {
			keys = append(keys, r.keys.fifo[i].k)
		}
	}
	others := s.relOthers[:0]
	from, to = releasedAtMs(r.otherFIFO, at)
	for _, e := range r.otherFIFO[from:to] {
		if r.other[e.k] == at {
			others = append(others, e.k)
		}
	}
	if len(keys)+len(others) > 0 {
		slices.SortFunc(keys, compareKeys)
		slices.Sort(others)
		others = slices.Compact(others) // released twice at one time
		dst = facts.AppendReleasedSet(dst)
		for _, k := range keys {
			s.relToken = appendToken(append(s.relToken[:0], s.holds.prefix...), k)
			dst = facts.AppendReleasedID(dst, s.relToken)
		}
		for _, id := range others {
			dst = facts.AppendReleasedID(dst, id)
		}
	}
	clear(others)
	s.relKeys, s.relOthers = keys[:0], others[:0]
	return dst
}

func compareKeys(a, b idKey) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// appendReleasedRows appends the row of every millisecond with remembered
// ids to rows.
func (s *Shard) appendReleasedRows(rows []facts.Row) []facts.Row {
	var ats []int64
	for _, e := range s.released.keys.fifo {
		if n := len(ats); n == 0 || ats[n-1] != e.at {
			ats = append(ats, e.at)
		}
	}
	for _, e := range s.released.otherFIFO {
		if n := len(ats); n == 0 || ats[n-1] != e.at {
			ats = append(ats, e.at)
		}
	}
	return s.appendReleasedAtRows(rows, dedupe(ats), false)
}

// restoreReleased fills the memory of a shard being restored from its rows'
// ids (in any order), without marking rows.
func (s *Shard) restoreReleased(ids []idAt) {
	sortIDAt(ids) // the FIFOs are in release order
	for _, e := range ids {
		s.addReleased(e.id, e.at)
	}
}

// releasedHold reports whether hold id was released less than
// HoldReleasedMemory before now.
func (s *Shard) releasedHold(id string, now int64) bool {
	if s.released.len() == 0 {
		return false
	}
	at, ok := s.releasedAt(id)
	return ok && at+HoldReleasedMemory > now
}

// releasedDue is when the id released at at is forgotten by a tick, rounded
// up to releasedPruneStepMs.
func releasedDue(at int64) int64 {
	d := at + HoldReleasedMemory
	return (d + releasedPruneStepMs - 1) / releasedPruneStepMs * releasedPruneStepMs
}

// checkReleased checks the memory of released hold ids: its FIFOs are in
// release order, and each remembered id has its entry there (else it would
// never be forgotten).
func (s *Shard) checkReleased() error {
	r := &s.released
	var above error
	r.keys.each(func(k idKey, _ int64) {
		if r.keysMax.less(k) && above == nil {
			above = fmt.Errorf("released hold %v above the released ids' maximum %v", k, r.keysMax)
		}
	})
	if above != nil {
		return above
	}
	if err := r.keys.check(); err != nil {
		return err
	}
	return checkStamped(r.other, r.otherFIFO)
}

func checkStamped(m map[string]int64, q []stamped[string]) error {
	found := make(map[string]bool, len(m))
	for i, e := range q {
		if i > 0 && e.at < q[i-1].at {
			return fmt.Errorf("released hold %v at %d comes after one released at %d", e.k, e.at, q[i-1].at)
		}
		if at, ok := m[e.k]; ok && at == e.at {
			found[e.k] = true
		}
	}
	if len(found) != len(m) {
		return fmt.Errorf("%d released hold ids remembered, %d of them in the FIFO that forgets them", len(m), len(found))
	}
	return nil
}
