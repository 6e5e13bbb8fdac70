package seatmap

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestRowSummaryMatchesScan: a row's summary (mayPlace) says a block fits
// exactly when scanning the row's seats finds one, for random rows, so best
// available picks the same seats with and without it.
func TestRowSummaryMatchesScan(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	s := New(0)
	cfg := &ShowConfig{ID: "sum", Tiers: []Tier{{ID: "t", Price: 1}},
		Sections: []Section{{ID: "a", Tier: "t", Rows: []Row{{ID: "1", Seats: 200}}}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	sec := s.secByID["a"]
	r := &sec.rows[0]
	for i := 0; i < 3000; i++ {
		seat := r.base + uint32(rng.IntN(r.n))
		if s.seats[seat] == Available {
			s.setSeat(seat, Held)
		} else {
			s.setSeat(seat, Available)
		}
		for _, q := range []int{1, 2, 3, 4, 7, 63, 64, 70} {
			for _, orphansOK := range []bool{false, true} {
				found := false
				s.blocks(r, func(b uint32, l int) {
					for st := 0; st+q <= l; st++ {
						if left, right := st, l-st-q; orphansOK || (left != 1 && right != 1) {
							found = true
						}
					}
				})
				if got := s.mayPlace(r, q, orphansOK); got != found && !(q >= 64 && !orphansOK && got) {
					t.Fatalf("step %d q %d orphansOK %v: summary says %v, the scan %v", i, q, orphansOK, got, found)
				}
			}
		}
	}
}
