package seatmap

import (
	"fmt"
	"testing"
)

// TestMemoryFlat runs 10,000 hold -> order -> cancel cycles with the clock
// advancing past the orders' retention, and checks that the shard's maps and
// its snapshot are no bigger at cycle 10,000 than at cycle 1,000 (within 10%):
// memory is bounded by live work, not by history.
func TestMemoryFlat(t *testing.T) {
	for _, tc := range []struct {
		name string
		step int64 // clock advance per cycle, ms
		keys bool  // send idempotency keys (kept 25 h)
	}{
		{"5s-no-keys", 5000, false},
		{"2min-keys", 120_000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(0)
			cfg := &ShowConfig{ID: "mem", HoldTTLSeconds: 60, PaymentTTLSeconds: 120,
				Tiers:    []Tier{{ID: "std", Price: 100}},
				Sections: []Section{{ID: "a", Tier: "std", Rows: []Row{{ID: "1", Seats: 20}}}, {ID: "g", Tier: "std", Capacity: 50}}}
			if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
				t.Fatal(r.Err)
			}
			type figure struct {
				size Size
				snap int
			}
			measure := func() figure {
				b, err := s.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				return figure{s.Size(), len(b)}
			}
			var at1k figure
			now := int64(1)
			for i := 1; i <= 10_000; i++ {
				now += tc.step
				h, o := fmt.Sprintf("h%05d", i), fmt.Sprintf("o%05d", i) // fixed width: the snapshot compares entries, not digits
				hold := Command{Kind: KindHold, Now: now, HoldID: h, User: fmt.Sprintf("u%d", i%7)}
				if i%2 == 0 {
					hold.Seats = []string{fmt.Sprintf("a-1-%d", 1+i%20)}
				} else {
					hold.Section, hold.Quantity = "g", 3
				}
				ord := Command{Kind: KindOrder, Now: now, HoldID: h, OrderID: o}
				if tc.keys {
					hold.IdemKey, hold.IdemHash = "hk"+h, "x"
					ord.IdemKey, ord.IdemHash = "ok"+o, "x"
				}
				for _, c := range []Command{hold, ord, {Kind: KindCancel, Now: now, OrderID: o}, {Kind: KindTick, Now: now}} {
					if r := s.Apply(c); r.Err != nil {
						t.Fatalf("cycle %d %s: %v", i, c.Kind, r.Err)
					}
				}
				rd := s.Ready()
				s.Advance(rd)
				if i == 1_000 {
					at1k = measure()
				}
			}
			at10k := measure()
			t.Logf("cycle  1,000: %+v snapshot %d bytes", at1k.size, at1k.snap)
			t.Logf("cycle 10,000: %+v snapshot %d bytes", at10k.size, at10k.snap)
			count := func(z Size) int {
				return z.Holds + z.Orders + z.HoldIndex + z.ExpiredHolds + z.IdemKeys + z.HoldIdemKeys + z.Users + z.ArchivedUsers + z.Timers
			}
			if a, b := count(at1k.size), count(at10k.size); float64(b) > 1.1*float64(a) {
				t.Errorf("maps grew from %d to %d entries", a, b)
			}
			if a, b := at1k.snap, at10k.snap; float64(b) > 1.1*float64(a) {
				t.Errorf("snapshot grew from %d to %d bytes", a, b)
			}
			if err := s.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
