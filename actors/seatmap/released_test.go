package seatmap

import (
	"errors"
	"math/rand"
	"sort"
	"strconv"
	"testing"

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
	if len(s.released.keys) == 0 || len(s.released.other) == 0 {
		t.Fatalf("remembered %d ids as keys, %d as strings: want both", len(s.released.keys), len(s.released.other))
	}
	if got := len(s.released.otherFIFO) + len(s.released.keyFIFO); got != s.Size().ReleasedHolds {
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
	if d := s.Ready().Deadline; d != 0 || len(s.released.otherFIFO)+len(s.released.keyFIFO) != 0 {
		t.Fatalf("after forgetting: deadline %d, fifos %d+%d", d, len(s.released.otherFIFO), len(s.released.keyFIFO))
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
// (facts.RowReleased, with the release time): a shard restored from the rows
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
		for _, r := range rd.Rows {
			if r.Value == nil {
				delete(store, r.Key)
			} else {
				store[r.Key] = r.Value
			}
		}
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
		v, ok := store[facts.RowKey(facts.RowReleased, id)]
		if !ok {
			t.Fatalf("no released row for %s in %d rows", id, len(store))
		}
		if e, err := facts.DecodeReleased(v); err != nil || e.At != released[id] {
			t.Fatalf("released row of %s: %+v, %v; want at %d", id, e, err, released[id])
		}
	}
	restore := func() *Shard {
		r := NewRestorer()
		keys := make([]string, 0, len(store))
		for k := range store {
			keys = append(keys, k)
		}
		sort.Sort(sort.Reverse(sort.StringSlice(keys))) // any order: the worst one
		for _, k := range keys {
			if err := r.Add(k, store[k]); err != nil {
				t.Fatal(err)
			}
		}
		rs, err := r.Finish()
		if err != nil {
			t.Fatal(err)
		}
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
	if _, ok := store[facts.RowKey(facts.RowReleased, ids[0])]; ok {
		t.Fatalf("the row of forgotten %s is still stored", ids[0])
	}
	if _, ok := store[facts.RowKey(facts.RowReleased, ids[1])]; !ok {
		t.Fatalf("the row of %s, still remembered, is gone", ids[1])
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
