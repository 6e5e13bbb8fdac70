package seatmap

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
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
	var view *SeatsView
	now := int64(0)
	for i := 0; i < 500; i++ {
		now += step(r)
		s.Apply(randomCommand(r, now))
		prev := states
		states = s.SeatStates()
		if prev != nil && prev.Len() != states.Len() {
			t.Fatal("the copies differ in length")
		}
		view = s.SeatsView(view)
		for _, sec := range append([]string{""}, "s", "t", "g", "zz") {
			want := s.Apply(Command{Kind: KindGetSeats, Section: sec, Now: now})
			got, ok := l.Entries(states, sec)
			if ok != (want.Err == nil) {
				t.Fatalf("step %d section %q: ok=%v, GetSeats err %v", i, sec, ok, want.Err)
			}
			if ok && !reflect.DeepEqual(got, want.Seats) {
				t.Fatalf("step %d section %q: %s", i, sec, fmt.Sprint(got, " != ", want.Seats))
			}
			if got, _ := l.EntriesOf(view, sec); ok && !reflect.DeepEqual(got, want.Seats) {
				t.Fatalf("step %d section %q: view %s", i, sec, fmt.Sprint(got, " != ", want.Seats))
			}
		}
	}
}

// TestSeatsViewSharesUnchangedChunks: on a show of several chunks, each view
// equals the states when it was taken and never changes after; chunks no
// seat of which changed are shared with the previous view, changed ones are
// not; a shard's first view trusts no prev.
func TestSeatsViewSharesUnchangedChunks(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	cfg := ShowConfig{ID: "big", HoldTTLSeconds: 60, PaymentTTLSeconds: 60, Tiers: []Tier{{ID: "std", Price: 1}}}
	sec := Section{ID: "s", Tier: "std"}
	for i := 1; i <= 50; i++ {
		sec.Rows = append(sec.Rows, Row{ID: fmt.Sprint(i), Seats: 100}) // 5,000 seats: 5 chunks
	}
	cfg.Sections = []Section{sec}
	s := New(0)
	if res := s.Apply(Command{Kind: KindCreate, Show: &cfg}); res.Err != nil {
		t.Fatal(res.Err)
	}
	type taken struct {
		v      *SeatsView
		states []SeatState
	}
	var all []taken
	var prev *SeatsView
	for i := 0; i < 200; i++ {
		changed := map[int]bool{}
		for k := r.Intn(4); k > 0; k-- {
			seat := uint32(r.Intn(len(s.seats)))
			s.setSeat(seat, SeatState(r.Intn(int(numStates))))
			changed[int(seat)/seatChunk] = true
		}
		v := s.SeatsView(prev)
		if prev != nil {
			for c := range v.chunks {
				if shared := v.chunks[c] == prev.chunks[c]; shared == changed[c] {
					t.Fatalf("step %d chunk %d: shared %v, changed %v", i, c, shared, changed[c])
				}
			}
		}
		all = append(all, taken{v, slices.Clone(s.seats)})
		prev = v
	}
	for i, tk := range all {
		for seat, st := range tk.states {
			if got := tk.v.State(uint32(seat)); got != st {
				t.Fatalf("view %d seat %d: %v, was %v when taken", i, seat, got, st)
			}
		}
	}
	// a reloaded shard (a new Shard) copies everything, whatever prev says
	s2 := New(0)
	s2.Apply(Command{Kind: KindCreate, Show: &cfg})
	v := s2.SeatsView(prev)
	for c := range v.chunks {
		if v.chunks[c] == prev.chunks[c] {
			t.Fatalf("chunk %d shared with another shard's view", c)
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
