package seatmap

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"
)

// TestSeatLayoutMatchesGetSeats: the seat list built from a layout and a copy
// of the states is the one KindGetSeats answers, after random commands.
func TestSeatLayoutMatchesGetSeats(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	s := New(0)
	if res := s.Apply(Command{Kind: KindCreate, Show: fuzzShow(0)}); res.Err != nil {
		t.Fatal(res.Err)
	}
	l := s.SeatLayout()
	var states []SeatState
	now := int64(0)
	for i := 0; i < 500; i++ {
		now += step(r)
		s.Apply(randomCommand(r, now))
		states = s.SeatStates(states)
		for _, sec := range append([]string{""}, "s", "t", "g", "zz") {
			want := s.Apply(Command{Kind: KindGetSeats, Section: sec, Now: now})
			got, ok := l.Entries(states, sec)
			if ok != (want.Err == nil) {
				t.Fatalf("step %d section %q: ok=%v, GetSeats err %v", i, sec, ok, want.Err)
			}
			if ok && !reflect.DeepEqual(got, want.Seats) {
				t.Fatalf("step %d section %q: %s", i, sec, fmt.Sprint(got, " != ", want.Seats))
			}
		}
	}
}
