package seatmap

import (
	"math/rand"
	"strconv"
	"testing"
)

// TestBusyTurn: a busier turn raises the estimate at once, a quieter one
// lowers it by an eighth of the gap (at least one), never below the turn.
func TestBusyTurn(t *testing.T) {
	for _, tc := range []struct{ last, n, want int }{
		{0, 0, 0},
		{0, 1, 1},
		{32, 40, 40},
		{40, 40, 40},
		{40, 32, 39},
		{40, 0, 35},
		{1, 0, 0},
		{2, 1, 1},
		{100, 99, 99},
	} {
		if got := busyTurn(tc.last, tc.n); got != tc.want {
			t.Errorf("busyTurn(%d, %d) = %d, want %d", tc.last, tc.n, got, tc.want)
		}
	}
}

// TestReadyCapacityCoversBusyTurns: after a turn of 40 holds and a quieter
// one of 32, a turn of 45 finds room for its records and inventory
// events in the slices Ready started with (no growth copies: issue 12).
func TestReadyCapacityCoversBusyTurns(t *testing.T) {
	seed := int64(12)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	s := New(0)
	cfg := &ShowConfig{ID: "busy", HoldTTLSeconds: MaxHoldTTLSeconds, Tiers: []Tier{{ID: "std", Price: 100}},
		Sections: []Section{{ID: "ga", Tier: "std", Capacity: 1000}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	s.Ready()
	user := 0
	turn := func(n int) Ready {
		t.Helper()
		for range n {
			user++
			c := Command{Kind: KindHold, HoldID: fillID(rng), User: "u" + strconv.Itoa(user), Section: "ga", Quantity: 1, Now: 1}
			if r := s.Apply(c); r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		return s.Ready()
	}
	turn(40)
	turn(32)
	firstRecords, firstInv := -1, -1
	for i := range 45 {
		user++
		c := Command{Kind: KindHold, HoldID: fillID(rng), User: "u" + strconv.Itoa(user), Section: "ga", Quantity: 1, Now: 1}
		if r := s.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
		if i == 0 {
			firstRecords, firstInv = cap(s.ready.Records), cap(s.ready.Inventory)
		}
	}
	rd := s.Ready()
	if len(rd.Records) != 45 || len(rd.Inventory) != 45 {
		t.Fatalf("turn of 45 holds: %d records, %d inventory events", len(rd.Records), len(rd.Inventory))
	}
	if cap(rd.Records) != firstRecords || cap(rd.Inventory) != firstInv {
		t.Errorf("the turn's slices grew: records cap %d -> %d, inventory cap %d -> %d (want the first capacity to hold 45)",
			firstRecords, cap(rd.Records), firstInv, cap(rd.Inventory))
	}
}
