package seatmap

import (
	"math/rand"
	"testing"
	"time"
)

// TestInventoryRebuildsCounts follows random commands through their
// inventory events alone and checks, after every turn, that the seat states
// and section counters rebuilt from the events equal the shard's, that
// seqs are the records' seqs, and that show.sold_out / show.available
// alternate with the total availability crossing 0. Replay emits nothing.
func TestInventoryRebuildsCounts(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	s := New(0)
	cfg := fuzzShow(6)
	// small enough to sell out often
	cfg.Sections = []Section{{ID: "s", Tier: "a", Rows: []Row{{ID: "1", Seats: 3}, {ID: "2", Seats: 2}}},
		{ID: "t", Tier: "b", Rows: []Row{{ID: "A", Seats: 2}}}, {ID: "g", Tier: "b", Capacity: 3}}
	if res := s.Apply(Command{Kind: KindCreate, Now: 1, Show: cfg}); res.Err != nil {
		t.Fatal(res.Err)
	}
	first := s.Ready()
	if len(first.Inventory) != 0 {
		t.Fatalf("create emitted inventory %+v", first.Inventory)
	}
	seats := map[string]string{}
	counts := map[string]SectionView{}
	soldOut, crossings := false, 0
	var journal []Record
	journal = append(journal, first.Records...)
	now := int64(1000)
	for turn := 0; turn < 3000; turn++ {
		n := 1 + r.Intn(4)
		for i := 0; i < n; i++ {
			now += int64(r.Intn(300))
			s.Apply(randomCommand(r, now))
		}
		rd := s.Ready()
		journal = append(journal, rd.Records...)
		recSeq := map[uint64]bool{}
		for _, rec := range rd.Records {
			recSeq[rec.Seq] = true
		}
		last := uint64(0)
		for _, ev := range rd.Inventory {
			if !recSeq[ev.Seq] || ev.Seq <= last {
				t.Fatalf("turn %d: inventory seq %d not a record of the turn in order (records %v)", turn, ev.Seq, recSeq)
			}
			last = ev.Seq
			for _, c := range ev.Changes {
				seats[c.Seat] = c.State
			}
			for _, sv := range ev.Sections {
				counts[sv.ID] = sv
			}
		}
		for _, e := range rd.Events {
			switch e.Type {
			case EventShowSoldOut:
				if soldOut {
					t.Fatalf("turn %d: sold_out twice", turn)
				}
				soldOut = true
				crossings++
			case EventShowAvailable:
				if !soldOut {
					t.Fatalf("turn %d: available without sold_out", turn)
				}
				soldOut = false
			}
		}
		if _, by := s.Counts(); (by[Available] == 0) != soldOut {
			t.Fatalf("turn %d: available %d, sold_out %v", turn, by[Available], soldOut)
		}
		for _, sv := range s.Sections() {
			got, ok := counts[sv.ID]
			if !ok {
				got = SectionView{ID: sv.ID, Tier: sv.Tier, Capacity: sv.Capacity, Available: sv.Capacity}
			}
			if got != sv {
				t.Fatalf("turn %d: section %s rebuilt %+v, shard %+v", turn, sv.ID, got, sv)
			}
		}
		res := s.Apply(Command{Kind: KindGetSeats, Now: now})
		for _, e := range res.Seats {
			want := e.State.String()
			got, ok := seats[e.ID]
			if !ok {
				got = "available"
			}
			if got != want {
				t.Fatalf("turn %d: seat %s rebuilt %s, shard %s", turn, e.ID, got, want)
			}
		}
	}
	t.Logf("sold out %d times", crossings)
	// replay emits nothing
	s2 := New(0)
	for _, rec := range journal {
		if err := s2.Replay(rec); err != nil {
			t.Fatal(err)
		}
	}
	if rd := s2.Ready(); len(rd.Inventory) != 0 || len(rd.Events) != 0 {
		t.Fatalf("replay emitted %d inventory, %d events", len(rd.Inventory), len(rd.Events))
	}
}

// TestShowSoldOutAvailable: the last seat held emits show.sold_out (with the
// record's seq in its id), a release show.available.
func TestShowSoldOutAvailable(t *testing.T) {
	s := New(0)
	cfg := fuzzShow(6)
	cfg.Sections = []Section{{ID: "s", Tier: "a", Rows: []Row{{ID: "1", Seats: 2}}}, {ID: "g", Tier: "b", Capacity: 1}}
	if res := s.Apply(Command{Kind: KindCreate, Now: 1, Show: cfg}); res.Err != nil {
		t.Fatal(res.Err)
	}
	s.Ready()
	s.Apply(Command{Kind: KindHold, Now: 2, User: "u", HoldID: "h1", Section: "s", Quantity: 2})
	s.Apply(Command{Kind: KindHold, Now: 2, User: "u", HoldID: "h2", Section: "g", Quantity: 1})
	rd := s.Ready()
	if len(rd.Inventory) != 2 || len(rd.Inventory[0].Changes) != 2 || rd.Inventory[1].GA[0].Held != 1 {
		t.Fatalf("inventory %+v", rd.Inventory)
	}
	if len(rd.Events) != 1 || rd.Events[0].Type != EventShowSoldOut || rd.Events[0].ID != "f.show.3" || rd.Events[0].Show != "f" {
		t.Fatalf("events %+v", rd.Events)
	}
	s.Apply(Command{Kind: KindRelease, Now: 3, HoldID: "h2"})
	rd = s.Ready()
	if len(rd.Events) != 1 || rd.Events[0].Type != EventShowAvailable || rd.Inventory[0].Available != 1 {
		t.Fatalf("events %+v inventory %+v", rd.Events, rd.Inventory)
	}
}
