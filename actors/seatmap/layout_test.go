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
	var states *SeatStates
	now := int64(0)
	for i := 0; i < 500; i++ {
		now += step(r)
		s.Apply(randomCommand(r, now))
		prev := states
		states = s.SeatStates()
		if prev != nil && prev.Len() != states.Len() {
			t.Fatal("the copies differ in length")
		}
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

// TestSeatStatesShareUnchangedPages: a copy shares the pages no seat of
// which changed since the last copy, and an older copy never changes.
func TestSeatStatesShareUnchangedPages(t *testing.T) {
	s := New(0)
	cfg := &ShowConfig{ID: "pages", Tiers: []Tier{{ID: "t", Price: 1}}}
	sec := Section{ID: "a", Tier: "t"}
	for r := 1; r <= 20; r++ {
		sec.Rows = append(sec.Rows, Row{ID: fmt.Sprint(r), Seats: 1000}) // 20,000 seats: 5 pages
	}
	cfg.Sections = []Section{sec}
	if res := s.Apply(Command{Kind: KindCreate, Show: cfg}); res.Err != nil {
		t.Fatal(res.Err)
	}
	first := s.SeatStates()
	if res := s.Apply(Command{Kind: KindHold, HoldID: "h", User: "u", Seats: []string{"a-10-500"}}); res.Err != nil {
		t.Fatal(res.Err)
	}
	second := s.SeatStates()
	seat := uint32(9*1000 + 499)
	if first.At(seat) != Available || second.At(seat) != Held {
		t.Fatalf("seat %d: first copy %s, second %s", seat, first.At(seat), second.At(seat))
	}
	for p := range first.pages {
		shared := &first.pages[p][0] == &second.pages[p][0]
		if changed := p == int(seat>>seatPageBits); shared == changed {
			t.Fatalf("page %d: shared %v, changed %v", p, shared, changed)
		}
	}
	if second.Len() != 20_000 {
		t.Fatalf("len %d", second.Len())
	}
}
