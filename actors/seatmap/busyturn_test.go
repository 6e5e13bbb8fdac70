package seatmap

import (
	"math/rand"
	"strconv"
	"testing"
)

// TestBusyTurn: a busier turn raises the estimate at once, a quieter one
// lowers it by an eighth of the gap (at least one), an empty one by an
// eighth of itself, and one under a quarter of it (after a spike) sets it
// to twice that turn.
func TestBusyTurn(t *testing.T) {
	for _, tc := range []struct{ last, n, want int }{
		{0, 0, 0},
		{0, 1, 1},
		{32, 40, 40},
		{40, 40, 40},
		{40, 32, 39},
		{40, 11, 36},
		{40, 0, 35},
		{1, 0, 0},
		{2, 1, 1},
		{100, 99, 99},
		{100_000, 30, 60},
		{40, 9, 18},
	} {
		if got := busyTurn(tc.last, tc.n); got != tc.want {
			t.Errorf("busyTurn(%d, %d) = %d, want %d", tc.last, tc.n, got, tc.want)
		}
	}
}

// gaHolds is a show of one GA section and a function that applies n holds
// for fresh users.
func gaHolds(t *testing.T, capacity int) (*Shard, func(n int)) {
	t.Helper()
	seed := int64(12)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	s := New(0)
	cfg := &ShowConfig{ID: "busy", HoldTTLSeconds: MaxHoldTTLSeconds, Tiers: []Tier{{ID: "std", Price: 100}},
		Sections: []Section{{ID: "ga", Tier: "std", Capacity: capacity}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	s.Ready()
	user := 0
	return s, func(n int) {
		t.Helper()
		for range n {
			user++
			c := Command{Kind: KindHold, HoldID: fillID(rng), User: "u" + strconv.Itoa(user), Section: "ga", Quantity: 1, Now: 1}
			if r := s.Apply(c); r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
}

// gaTurns is gaHolds with each call a turn: its holds, then its Ready.
func gaTurns(t *testing.T, capacity int) (*Shard, func(n int) Ready) {
	s, hold := gaHolds(t, capacity)
	return s, func(n int) Ready {
		hold(n)
		return s.Ready()
	}
}

// TestReadyCapacityCoversBusyTurns: after a turn of 40 holds and a quieter
// one of 32, a turn of 45 finds room for its records and inventory events
// in the slices Ready started with (no growth copies: issue 12).
func TestReadyCapacityCoversBusyTurns(t *testing.T) {
	s, hold := gaHolds(t, 1000)
	for _, n := range []int{40, 32} {
		hold(n)
		s.Ready()
	}
	hold(1) // the slices are made at the turn's first record
	firstRecords, firstInv := cap(s.ready.Records), cap(s.ready.Inventory)
	hold(44)
	rd := s.Ready()
	if len(rd.Records) != 45 || len(rd.Inventory) != 45 {
		t.Fatalf("turn of 45 holds: %d records, %d inventory events", len(rd.Records), len(rd.Inventory))
	}
	if cap(rd.Records) != firstRecords || cap(rd.Inventory) != firstInv {
		t.Errorf("the turn's slices grew: records cap %d -> %d, inventory cap %d -> %d (want the first capacity to hold 45)",
			firstRecords, cap(rd.Records), firstInv, cap(rd.Inventory))
	}
}

// TestReadyCapacityForgetsSpikes: after a turn of 4,000 holds (a spike), a
// quiet turn's slices are sized for it, not for the spike, from the turn
// after it on.
func TestReadyCapacityForgetsSpikes(t *testing.T) {
	_, turn := gaTurns(t, 10_000)
	turn(4000)
	turn(5) // its slices have the spike's capacity: the estimate learns from this turn
	rd := turn(5)
	if c := cap(rd.Records); c > 20 {
		t.Errorf("records capacity %d two turns after a spike, for 5 records", c)
	}
	if c := cap(rd.Inventory); c > 20 {
		t.Errorf("inventory capacity %d two turns after a spike, for 5 events", c)
	}
}
