package seatmap

import (
	"errors"
	"math/rand"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/facts"
)

// TestLateHoldAfterRelease: a hold command without an idempotency key is
// delivered twice (a call retried after a timeout; its first attempt arrives
// late), and the late copy comes after the hold was released. It must be
// refused with nothing recorded, not place a ghost hold that keeps the seats
// and the user's tally until its TTL, both on the shard that applied the
// release and on one rebuilt from the journal (the memory of released ids
// comes back from the replayed release facts).
func TestLateHoldAfterRelease(t *testing.T) {
	for _, tc := range []struct {
		name   string
		replay bool  // apply the late copy on a shard rebuilt from the journal
		late   int64 // ms between the release and the late copy
		canon  bool  // hold ids as Booking makes them (kept as 128 bits), else any string
	}{
		{"live-1s", false, 1000, true},
		{"live-59s", false, HoldReleasedMemory - 1000, true},
		{"replayed-1s", true, 1000, true},
		{"replayed-59s", true, HoldReleasedMemory - 1000, true},
		{"live-other-ids", false, 1000, false},
		{"replayed-other-ids", true, 1000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(0)
			cfg := &ShowConfig{ID: "late", HoldTTLSeconds: 600, Tiers: []Tier{{ID: "std", Price: 100}},
				Sections: []Section{{ID: "a", Tier: "std", Rows: []Row{{ID: "1", Seats: 4}}}, {ID: "g", Tier: "std", Capacity: 10}}}
			var journal []Record
			run := func(c Command) Result {
				r := s.Apply(c)
				journal = append(journal, s.Ready().Records...)
				return r
			}
			if r := run(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
				t.Fatal(r.Err)
			}
			const t0 = 1_000_000
			ids := []string{"h1", "h2"}
			if tc.canon {
				rng := rand.New(rand.NewSource(1))
				ids = []string{"late~" + randomToken(rng), "late~" + randomToken(rng)}
				if _, ok := s.holds.canonical(ids[0]); !ok {
					t.Fatalf("%s is not canonical", ids[0])
				}
			}
			holds := []Command{
				{Kind: KindHold, Now: t0, HoldID: ids[0], User: "u1", Seats: []string{"a-1-1", "a-1-2"}},
				{Kind: KindHold, Now: t0, HoldID: ids[1], User: "u1", Section: "g", Quantity: 3},
			}
			for _, c := range holds {
				if r := run(c); r.Err != nil {
					t.Fatal(r.Err)
				}
				if r := run(Command{Kind: KindRelease, Now: t0 + 500, HoldID: c.HoldID, User: c.User}); r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			if tc.replay {
				s = New(0)
				for _, rec := range journal {
					if err := s.Replay(rec); err != nil {
						t.Fatal(err)
					}
				}
			}
			seq := s.Seq()
			for _, c := range holds { // the late copies
				c.Now = t0 + 500 + tc.late
				r := s.Apply(c)
				if !errors.Is(r.Err, ErrInvalidRequest) || ErrorMessage(r.Err) != "hold id already used" {
					t.Fatalf("late copy of %s: got %+v, want invalid_request \"hold id already used\"", c.HoldID, r)
				}
			}
			if rd := s.Ready(); len(rd.Records) != 0 || s.Seq() != seq {
				t.Fatalf("the late copies recorded %d records (seq %d -> %d)", len(rd.Records), seq, s.Seq())
			}
			if _, by := s.Counts(); by[Held] != 0 || s.ActiveHolds() != 0 || len(s.users.asMap()) != 0 {
				t.Fatalf("ghost hold: %d held seats, %d holds, users %v", by[Held], s.ActiveHolds(), s.users.asMap())
			}
			if err := s.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReleasedMemoryBounded: released ids are forgotten HoldReleasedMemory
// after their release, by the releases that follow and by the tick at the
// deadline the shard asks for when releases stop.
func TestReleasedMemoryBounded(t *testing.T) {
	s := New(0)
	cfg := &ShowConfig{ID: "mem", Tiers: []Tier{{ID: "std", Price: 100}}, Sections: []Section{{ID: "g", Tier: "std", Capacity: 100}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	const perSec, secs = 50, 300 // 50 releases a second for 5 minutes
	rng := rand.New(rand.NewSource(2))
	now := int64(1_000_000)
	for i := 0; i < perSec*secs; i++ {
		now += 1000 / perSec
		id := "h" + strconv.Itoa(i) // half of them in the form Booking gives
		if i%2 == 0 {
			id = "mem~" + randomToken(rng)
		}
		for _, c := range []Command{{Kind: KindHold, Now: now, HoldID: id, User: "u", Section: "g", Quantity: 1}, {Kind: KindRelease, Now: now, HoldID: id}} {
			if r := s.Apply(c); r.Err != nil {
				t.Fatalf("%s %s: %v", c.Kind, id, r.Err)
			}
		}
	}
	// remembered: the releases of the last window (plus the one at its edge)
	if got, max := s.Size().ReleasedHolds, perSec*HoldReleasedMemory/1000+1; got > max || got < max-2 {
		t.Fatalf("remembered %d released ids, want about %d", got, max)
	}
	if s.released.keys.len() == 0 || len(s.released.other) == 0 {
		t.Fatalf("remembered %d ids as keys, %d as strings: want both", s.released.keys.len(), len(s.released.other))
	}
	if got := len(s.released.otherFIFO) + len(s.released.keys.fifo); got != s.Size().ReleasedHolds {
		t.Fatalf("fifo %d, map %d", got, s.Size().ReleasedHolds)
	}
	d := s.Ready().Deadline
	if d <= now || d > now+HoldReleasedMemory+releasedPruneStepMs {
		t.Fatalf("deadline %d, want in (%d, %d]", d, now, now+HoldReleasedMemory+releasedPruneStepMs)
	}
	for s.Size().ReleasedHolds > 0 { // releases stopped: ticks at the deadlines forget the rest
		d := s.Ready().Deadline
		if d == 0 {
			t.Fatalf("%d released ids left and no deadline", s.Size().ReleasedHolds)
		}
		if r := s.Apply(Command{Kind: KindTick, Now: d}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if d := s.Ready().Deadline; d != 0 || len(s.released.otherFIFO)+len(s.released.keys.fifo) != 0 {
		t.Fatalf("after forgetting: deadline %d, fifos %d+%d", d, len(s.released.otherFIFO), len(s.released.keys.fifo))
	}
}

// TestRandomRoomReleasedAfterRestore is a seed of TestRandomRoomCommands
// that failed when the memory of released hold ids was not in the state
// rows: after Snapshot and Restore, a hold command naming an id the live
// shard released less than HoldReleasedMemory before was refused by the
// live shard and accepted by the restored one.
func TestRandomRoomReleasedAfterRestore(t *testing.T) {
	runRandomRoom(t, 1795832063929790359, 1500, 5, false)
}

// TestReleasedRows: the state rows carry the memory of released hold ids
// (facts.RowReleasedAt, by release time): a shard restored from the rows
// the Readys handed out (a store's rows, as after a restart) refuses a late
// copy of the hold command as the live shard does, and forgets the id when
// the live one would, deleting its row.
func TestReleasedRows(t *testing.T) {
	s := New(0)
	cfg := &ShowConfig{ID: "rows", HoldTTLSeconds: 600, Tiers: []Tier{{ID: "std", Price: 100}},
		Sections: []Section{{ID: "g", Tier: "std", Capacity: 10}}}
	store := map[string][]byte{} // a store applying each Ready's rows
	ready := func(s *Shard) Ready {
		rd := s.Ready()
		putRows(store, rd.Rows)
		return rd
	}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	ready(s)
	rng := rand.New(rand.NewSource(4))
	ids := []string{"rows~" + randomToken(rng), "other-id"} // a canonical id, and any string
	released := map[string]int64{ids[0]: 1000, ids[1]: 2000}
	for _, id := range ids {
		at := released[id]
		if r := s.Apply(Command{Kind: KindHold, Now: at, HoldID: id, User: "u", Section: "g", Quantity: 1}); r.Err != nil {
			t.Fatal(r.Err)
		}
		if r := s.Apply(Command{Kind: KindRelease, Now: at, HoldID: id}); r.Err != nil {
			t.Fatal(r.Err)
		}
		ready(s)
	}
	for _, id := range ids {
		if got := storedReleased(t, store, released[id]); !slices.Equal(got, []string{id}) {
			t.Fatalf("released row of %d: %q, want %s", released[id], got, id)
		}
	}
	restore := func() *Shard {
		rs := restoreStore(t, store)
		if a, b := Fingerprint(s), Fingerprint(rs); a != b {
			t.Fatalf("restored from rows: %s, live %s", b, a)
		}
		return rs
	}
	rs := restore()
	if got := rs.Size().ReleasedHolds; got != 2 {
		t.Fatalf("restored shard remembers %d released ids, want 2", got)
	}
	for _, sh := range []*Shard{s, rs} { // the late copies, just inside the window
		for _, id := range ids {
			c := Command{Kind: KindHold, Now: released[id] + HoldReleasedMemory - 1, HoldID: id, User: "u", Section: "g", Quantity: 1}
			if r := sh.Apply(c); ErrorMessage(r.Err) != "hold id already used" {
				t.Fatalf("late copy of %s at %d: %+v, want refused", id, c.Now, r)
			}
		}
	}
	// the tick at the deadline forgets the first id (a recorded fact) and
	// deletes its row, on both
	for _, sh := range []*Shard{s, rs} {
		d := sh.Ready().Deadline
		if want := releasedDue(released[ids[0]]); d != want {
			t.Fatalf("deadline %d, want %d", d, want)
		}
		sh.Apply(Command{Kind: KindTick, Now: d})
	}
	rd := ready(s)
	if len(rd.Records) != 1 || rd.Records[0].Facts[0].Kind != facts.Forgotten {
		t.Fatalf("the tick recorded %+v, want a forgotten fact", rd.Records)
	}
	if got := storedReleased(t, store, released[ids[0]]); got != nil {
		t.Fatalf("the row of forgotten %s is still stored: %q", ids[0], got)
	}
	if got := storedReleased(t, store, released[ids[1]]); !slices.Equal(got, ids[1:]) {
		t.Fatalf("the row of %s, still remembered: %q", ids[1], got)
	}
	if a, b := Fingerprint(s), Fingerprint(rs); a != b {
		t.Fatalf("after the tick: restored %s, live %s", b, a)
	}
	rs = restore() // from the rows after the tick
	if got := rs.Size().ReleasedHolds; got != 1 {
		t.Fatalf("restored shard remembers %d released ids, want 1", got)
	}
	now := releasedDue(released[ids[0]])
	if r := rs.Apply(Command{Kind: KindHold, Now: now, HoldID: ids[0], User: "u", Section: "g", Quantity: 1}); r.Err != nil {
		t.Fatalf("a hold naming forgotten %s: %v", ids[0], r.Err)
	}
	if r := rs.Apply(Command{Kind: KindHold, Now: now, HoldID: ids[1], User: "u", Section: "g", Quantity: 1}); ErrorMessage(r.Err) != "hold id already used" {
		t.Fatalf("late copy of %s: %+v, want refused", ids[1], r)
	}
}

// TestReleasedOrderedIDs: hold ids as Booking makes them (creation time
// first) are checked against the memory of released ids by comparing with
// the greatest remembered one before the map. A stream of holds, each
// released a random while later, with ids forgotten as time passes: at
// random moments a late copy of a remembered released hold must be refused
// and a new hold placed, on the live shard and on one restored from its
// snapshot; once every id is forgotten the memory starts again from nothing.
func TestReleasedOrderedIDs(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	s := New(0)
	cfg := &ShowConfig{ID: "ord", HoldTTLSeconds: 600, Tiers: []Tier{{ID: "std", Price: 100}},
		Sections: []Section{{ID: "g", Tier: "std", Capacity: 100_000}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	type held struct {
		id      string
		release int64 // when its release is due
	}
	var live []held
	releasedAt := map[string]int64{}
	now := int64(1_000_000)
	hold := func(sh *Shard, id string, at int64) Result {
		return sh.Apply(Command{Kind: KindHold, Now: at, HoldID: id, User: "u" + id, Section: "g", Quantity: 1})
	}
	// checkLate: late copies of released holds still remembered are
	// refused, and a new hold is placed, on sh at now
	checkLate := func(sh *Shard, what string) {
		t.Helper()
		n := 0
		for id, at := range releasedAt {
			if at+HoldReleasedMemory <= now {
				continue
			}
			if r := hold(sh, id, now); ErrorMessage(r.Err) != "hold id already used" {
				t.Fatalf("%s: late copy of %s (released at %d) at %d: %+v, want refused", what, id, at, now, r)
			}
			if n++; n == 20 {
				break
			}
		}
		if r := hold(sh, "ord~"+bookingToken(now, rng), now); r.Err != nil {
			t.Fatalf("%s: a new hold at %d: %v", what, now, r.Err)
		}
	}
	for step := 0; step < 3_000; step++ {
		now += int64(rng.Intn(8)) // bursts of a hold every ~4 ms, 5 s apart: 80 s a half
		if step%100 == 99 {
			now += 5000
		}
		if step == 1_500 {
			now += 2 * HoldReleasedMemory // a quiet spell: everything released is forgotten
			if d := s.Ready().Deadline; d != 0 && d <= now {
				s.Apply(Command{Kind: KindTick, Now: now})
			}
			if n := s.Size().ReleasedHolds; n != 0 || s.released.keysMax != (idKey{}) {
				t.Fatalf("after the quiet spell %d released ids remembered, greatest %v; want none", n, s.released.keysMax)
			}
		}
		id := "ord~" + bookingToken(now-int64(rng.Intn(3)), rng) // made up to 2 ms before it arrives
		if r := hold(s, id, now); r.Err != nil {
			t.Fatalf("hold %s at %d: %v", id, now, r.Err)
		}
		live = append(live, held{id, now + int64(rng.Intn(200))})
		for i := 0; i < len(live); i++ { // releases due, in any order of their ids
			if h := live[i]; h.release <= now {
				if r := s.Apply(Command{Kind: KindRelease, Now: now, HoldID: h.id}); r.Err != nil {
					t.Fatalf("release %s: %v", h.id, r.Err)
				}
				releasedAt[h.id] = now
				live[i] = live[len(live)-1]
				live = live[:len(live)-1]
				i--
			}
		}
		if d := s.Ready().Deadline; d != 0 && d <= now {
			s.Apply(Command{Kind: KindTick, Now: now})
		}
		if rng.Intn(100) == 0 {
			checkLate(s, "live")
		}
	}
	rs := snapshotRestore(t, s)
	checkLate(rs, "restored")
	checkLate(s, "live, at the end")
	for _, sh := range []*Shard{s, rs} {
		if err := sh.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	}
}

// putRows applies rows to store as a store does (a nil value deletes).
func putRows(store map[string][]byte, rows []facts.Row) {
	for _, r := range rows {
		if r.Value == nil {
			delete(store, r.Key)
		} else {
			store[r.Key] = r.Value
		}
	}
}

// restoreStore restores a shard from the rows in store, handed to the
// Restorer in reverse key order (any order must do: the worst one).
func restoreStore(t *testing.T, store map[string][]byte) *Shard {
	t.Helper()
	r := NewRestorer()
	keys := make([]string, 0, len(store))
	for k := range store {
		keys = append(keys, k)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	for _, k := range keys {
		if err := r.Add(k, store[k]); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// storedReleased returns the ids of the row of released hold ids of ms at
// in store (nil when there is none).
func storedReleased(t *testing.T, store map[string][]byte, at int64) []string {
	t.Helper()
	v, ok := store[facts.RowMsKey(facts.RowReleasedAt, at)]
	if !ok {
		return nil
	}
	var ids []string
	if err := facts.DecodeReleasedSet(v, func(id string) { ids = append(ids, id) }); err != nil {
		t.Fatalf("released row of %d: %v", at, err)
	}
	return ids
}

// TestReleasedAtRows: the rows of released hold ids are one per millisecond
// of release, its ids sorted: ids released at one time share a row, an id
// released again leaves its earlier row (deleted when it was the last), and
// a millisecond remembered then forgotten in one turn (a tick after a long
// pause) is a deletion.
func TestReleasedAtRows(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	s := New(0)
	cfg := &ShowConfig{ID: "ms", Tiers: []Tier{{ID: "std", Price: 100}}, Sections: []Section{{ID: "g", Tier: "std", Capacity: 10}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	store := map[string][]byte{}
	ready := func() []facts.Row {
		rd := s.Ready()
		putRows(store, rd.Rows)
		return rd.Rows
	}
	ready()
	holdRelease := func(id string, at int64) {
		t.Helper()
		if r := s.Apply(Command{Kind: KindHold, Now: at, HoldID: id, User: "u" + id, Section: "g", Quantity: 1}); r.Err != nil {
			t.Fatalf("hold %s at %d: %v", id, at, r.Err)
		}
		if r := s.Apply(Command{Kind: KindRelease, Now: at, HoldID: id}); r.Err != nil {
			t.Fatalf("release %s at %d: %v", id, at, r.Err)
		}
	}
	a, b := "ms~"+bookingToken(1000, rng), "ms~"+bookingToken(1000, rng)
	if b < a {
		a, b = b, a
	}
	holdRelease("zz-other", 1000) // an id not of the canonical form: after the canonical ones
	holdRelease(b, 1000)
	holdRelease(a, 1000)
	holdRelease("x-other", 1001)
	rows := ready()
	if got, want := storedReleased(t, store, 1000), []string{a, b, "zz-other"}; !slices.Equal(got, want) {
		t.Fatalf("row of 1000: %q, want %q", got, want)
	}
	if got := storedReleased(t, store, 1001); !slices.Equal(got, []string{"x-other"}) {
		t.Fatalf("row of 1001: %q", got)
	}
	n := 0
	for _, r := range rows {
		if r.Key[0] == byte(facts.RowReleasedAt) {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d rows of released ids for 4 ids released at 2 times, want 2", n)
	}
	// x-other released again at 1002 (a replayed record may place a
	// remembered id: it was acknowledged): the row of 1001 goes. The
	// records come from a copy of the shard that forgot x-other.
	src := snapshotRestore(t, s)
	src.released = releasedIDs{}
	if r := src.Apply(Command{Kind: KindHold, Now: 1002, HoldID: "x-other", User: "ux", Section: "g", Quantity: 1}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := src.Apply(Command{Kind: KindRelease, Now: 1002, HoldID: "x-other"}); r.Err != nil {
		t.Fatal(r.Err)
	}
	for _, rec := range src.Ready().Records {
		if err := s.Replay(rec); err != nil {
			t.Fatal(err)
		}
	}
	ready()
	if got := storedReleased(t, store, 1001); got != nil {
		t.Fatalf("row of 1001 after x-other was released again at 1002: %q", got)
	}
	if got := storedReleased(t, store, 1002); !slices.Equal(got, []string{"x-other"}) {
		t.Fatalf("row of 1002: %q", got)
	}
	// remembered then forgotten in one turn: a deletion
	id := "ms~" + bookingToken(3000, rng)
	holdRelease(id, 3000)
	if r := s.Apply(Command{Kind: KindTick, Now: 3000 + HoldReleasedMemory}); r.Err != nil {
		t.Fatal(r.Err)
	}
	found := false
	for _, r := range ready() {
		if r.Key == facts.RowMsKey(facts.RowReleasedAt, 3000) {
			found = true
			if r.Value != nil {
				t.Fatalf("released then forgotten in one turn: row %x, want a deletion", r.Value)
			}
		}
	}
	if !found {
		t.Fatalf("no row for the ms of released %s", id)
	}
	for k := range store {
		if k[0] == byte(facts.RowReleasedAt) {
			t.Fatalf("row %q stored after every released id was forgotten", k)
		}
	}
}

// TestReleasedLegacyRows: a store written before facts.RowReleasedAt holds a
// row per released id (facts.RowReleased). A shard restored from it
// remembers the same ids, and its first Ready deletes those rows and writes
// the rows by millisecond, after which the store is the live shard's.
func TestReleasedLegacyRows(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	s := New(0)
	cfg := &ShowConfig{ID: "leg", Tiers: []Tier{{ID: "std", Price: 100}}, Sections: []Section{{ID: "g", Tier: "std", Capacity: 10}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	released := map[string]int64{"leg~" + bookingToken(1000, rng): 1000, "leg~" + bookingToken(1000, rng): 1000,
		"other": 1000, "leg~" + bookingToken(1001, rng): 1001}
	for _, at := range []int64{1000, 1001} {
		for id, t0 := range released {
			if t0 != at {
				continue
			}
			if r := s.Apply(Command{Kind: KindHold, Now: at, HoldID: id, User: "u" + id, Section: "g", Quantity: 1}); r.Err != nil {
				t.Fatal(r.Err)
			}
			if r := s.Apply(Command{Kind: KindRelease, Now: at, HoldID: id}); r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	s.Ready()
	live := map[string][]byte{}
	for _, r := range s.Rows() {
		live[r.Key] = r.Value
	}
	old := map[string][]byte{} // the live rows in the old format
	for k, v := range live {
		if k[0] != byte(facts.RowReleasedAt) {
			old[k] = v
		}
	}
	for id, at := range released {
		old[facts.RowKey(facts.RowReleased, id)] = facts.AppendReleased(nil, facts.ReleasedRow{At: at})
	}
	rs := restoreStore(t, old)
	if a, b := Fingerprint(s), Fingerprint(rs); a != b {
		t.Fatalf("restored from rows of the old format: %s, live %s", b, a)
	}
	putRows(old, rs.Ready().Rows)
	for k, v := range live {
		if got, ok := old[k]; k[0] != byte(facts.RowMeta) && (!ok || !slices.Equal(got, v)) {
			t.Fatalf("after the first Ready: row %q is %x (%v), live %x", k, got, ok, v)
		}
	}
	for k := range old {
		if _, ok := live[k]; !ok {
			t.Fatalf("after the first Ready: row %q is stored, not live", k)
		}
	}
}
