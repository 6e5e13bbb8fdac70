package seatmap

import (
	"math/rand"
	"strconv"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/facts"
)

// TestChangedRowsFollowMovedHolds: the hold rows of one Ready are right
// when the slots their marks name changed before it (holdMark): holds
// placed, extended, then moved by a compaction of the slab; released, their
// slots taken by new holds; placed and released within the Ready; ids of
// the side table among them, or not (they take another way). Each key comes
// once, a hold's row is New exactly when the hold was placed within the
// Ready, and a store that applies every Ready's rows equals the state's rows.
func TestChangedRowsFollowMovedHolds(t *testing.T) {
	for _, sideEvery := range []int{0, 9} {
		t.Run("side="+strconv.Itoa(sideEvery), func(t *testing.T) { testChangedRowsFollow(t, sideEvery) })
	}
}

func testChangedRowsFollow(t *testing.T, sideEvery int) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	s := New(0)
	cfg := &ShowConfig{ID: "mk", HoldTTLSeconds: 600, Tiers: []Tier{{ID: "std", Price: 100}},
		Sections: []Section{{ID: "ga", Tier: "std", Capacity: 100_000}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	store := rowStore{}
	placed := map[string]bool{} // holds placed since the last Ready: their rows are New
	// the invariants build would check the whole state after each of the
	// ~12,000 commands (O(n²): minutes under -race); check at each Ready
	invariantsPaused = true
	defer func() { invariantsPaused = false }()
	ready := func() {
		if err := s.CheckInvariants(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		rd := store.take(t, s.Ready())
		seen := map[string]bool{}
		for _, r := range rd.Rows {
			if seen[r.Key] {
				t.Fatalf("seed %d: row %q twice in one Ready", seed, r.Key)
			}
			seen[r.Key] = true
			if kind, id, _ := facts.SplitRowKey(r.Key); kind == facts.RowHold && r.New != placed[id] {
				t.Fatalf("seed %d: hold row %q New %v, placed in this Ready %v", seed, r.Key, r.New, placed[id])
			}
		}
		clear(placed)
		store.check(t, s)
	}
	n := 0
	newID := func() string {
		n++
		if sideEvery > 0 && n%sideEvery == 0 {
			return "mk~4~" + strconv.Itoa(n) // the side table's form
		}
		return "mk~" + randomToken(rng)
	}
	apply := func(c Command) {
		t.Helper()
		c.Now = 1000
		if r := s.Apply(c); r.Err != nil {
			t.Fatalf("seed %d: %s %s: %v", seed, c.Kind, c.HoldID, r.Err)
		}
	}
	hold := func() string {
		id := newID()
		apply(Command{Kind: KindHold, HoldID: id, User: "u" + strconv.Itoa(n), Section: "ga", Quantity: 1 + n%3})
		placed[id] = true
		return id
	}
	var old []string
	for range 6000 {
		old = append(old, hold())
	}
	ready()
	// one Ready: new holds and extended ones marked at their slots, then
	// most old holds released (the slab compacts: slots move), then new
	// holds in slots freed, some released at once
	var fresh []string
	for range 200 {
		fresh = append(fresh, hold())
	}
	for _, id := range old[:100] {
		apply(Command{Kind: KindExtend, HoldID: id, Seconds: 60})
	}
	rng.Shuffle(len(old), func(i, j int) { old[i], old[j] = old[j], old[i] })
	slots := s.holds.slab.n
	for _, id := range old[:5500] {
		apply(Command{Kind: KindRelease, HoldID: id})
	}
	if s.holds.slab.n >= slots {
		t.Fatalf("seed %d: the slab did not compact (%d slots, was %d): the test needs it", seed, s.holds.slab.n, slots)
	}
	for i := range 300 {
		id := hold()
		if i%3 == 0 {
			apply(Command{Kind: KindRelease, HoldID: id})
		}
	}
	for _, id := range fresh[:50] {
		apply(Command{Kind: KindRelease, HoldID: id})
	}
	ready()
}
