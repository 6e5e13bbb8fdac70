package seatmap

import (
	"fmt"
	"slices"
	"strings"

	"github.com/boxoffice/boxoffice/facts"
)

// Released hold ids. A shard remembers the id of each hold released within
// HoldReleasedMemory, so that a late copy of the hold command that placed it
// is refused (Shard.hold) instead of placing a ghost hold. The memory is set
// when a release fact is applied, live or replayed, with the record's time,
// and it is in the state rows (facts.RowReleased: one per id, put at the
// release, deleted when forgotten), so that a shard recovered from rows
// remembers what the live one did. It forgets what is older at each release
// and at each Forgotten fact (which a tick records when ids are due):
// always at a fact, so a replayed shard remembers exactly the ids, and holds
// exactly the rows, of the live one.

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
// the ids released HoldReleasedMemory before.
func (s *Shard) rememberReleased(id string, at int64) {
	s.forgetReleased(at)
	k := s.addReleased(id, at)
	s.dirty.released = append(s.dirty.released, releasedMark{id: id, key: k, at: at})
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
// before now, and marks their rows (deleted). Called only while applying a
// fact (see above).
func (s *Shard) forgetReleased(now int64) {
	r := &s.released
	r.keys.forget(now, func(k idKey) {
		s.dirty.released = append(s.dirty.released, releasedMark{id: s.holds.keyID(k), key: k, forgot: true})
	})
	if r.keys.len() == 0 {
		r.keysMax = idKey{}
	}
	r.otherFIFO = forgetStamped(r.other, r.otherFIFO, now, func(id string) {
		s.dirty.released = append(s.dirty.released, releasedMark{id: id, forgot: true})
	})
}

func forgetStamped(m map[string]int64, q []stamped[string], now int64, forgot func(string)) []stamped[string] {
	n := 0
	for n < len(q) && q[n].at+HoldReleasedMemory <= now {
		if at, ok := m[q[n].k]; ok && at == q[n].at {
			delete(m, q[n].k)
			forgot(q[n].k)
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

// releasedMark is a change of the memory of released hold ids, for its
// row: id (key: its key, zero if it is not canonical) remembered as released
// at at, or forgotten (its row deleted).
type releasedMark struct {
	id     string
	key    idKey
	at     int64
	forgot bool
}

// lastReleasedMarks keeps each id's last mark (the memory's state at the
// Ready: a mark is made at each change), in place: by a hash set of their
// keys in scratch when every mark has one (as dedupeMarks), else sorted by
// id (a stable sort keeps each id's marks in order).
func lastReleasedMarks(l []releasedMark, scratch *[]int32) []releasedMark {
	if len(l) < 2 {
		return l
	}
	if !slices.ContainsFunc(l, func(m releasedMark) bool { return m.key == (idKey{}) }) {
		slices.Reverse(l) // the first of each, from the end: the last
		return firstOfEach(l, func(m *releasedMark) idKey { return m.key }, scratch)
	}
	slices.SortStableFunc(l, func(a, b releasedMark) int { return strings.Compare(a.id, b.id) })
	n := 0
	for i := range l {
		if i+1 < len(l) && l[i+1].id == l[i].id {
			continue // a later mark of the id follows
		}
		l[n] = l[i]
		n++
	}
	clear(l[n:])
	return l[:n]
}

// releasedRowBytes bounds a released row's value: its format byte, one
// field's tag and a varint of up to 10 bytes.
const releasedRowBytes = 12

// appendReleasedMarkRows appends the rows of marks (one per id) to rows,
// from the marks alone: no lookup in the memory, a map of a minute of
// releases that misses the CPU cache (issue 12). The rows' keys share one
// string and their values one byte array, as appendMarkedRows' do.
func appendReleasedMarkRows(rows []facts.Row, marks []releasedMark) []facts.Row {
	if len(marks) == 0 {
		return rows
	}
	vals := make([]byte, 0, releasedRowBytes*len(marks))
	first := len(rows)
	for _, m := range marks {
		var r facts.Row
		if !m.forgot {
			n := len(vals)
			vals = facts.AppendReleased(vals, facts.ReleasedRow{At: m.at})
			r.Value = vals[n:len(vals):len(vals)]
		}
		rows = append(rows, r)
	}
	setRowKeys(rows[first:], facts.RowReleased, func(i int) string { return marks[i].id })
	return rows
}

// releasedRow is the row of hold id, remembered as released at at.
func releasedRow(id string, at int64) facts.Row {
	return facts.Row{Key: facts.RowKey(facts.RowReleased, id),
		Value: facts.AppendReleased(make([]byte, 0, releasedRowBytes), facts.ReleasedRow{At: at})}
}

// appendReleasedRows appends the row of every remembered id to rows.
func (s *Shard) appendReleasedRows(rows []facts.Row) []facts.Row {
	s.released.keys.each(func(k idKey, at int64) {
		rows = append(rows, releasedRow(s.holds.keyID(k), at))
	})
	for id, at := range s.released.other {
		rows = append(rows, releasedRow(id, at))
	}
	return rows
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
