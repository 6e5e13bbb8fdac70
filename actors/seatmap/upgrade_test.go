package seatmap

import (
	"fmt"
	"slices"
	"testing"

	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// worstAvailable is "a new version's" best-available: the last free seats of
// the section's last row, whatever the layout. It stands for any change of
// the algorithm between the version that answered and the one that recovers.
func worstAvailable(s *Shard, secs []*section, q int) ([]uint32, []gaPart, error) {
	for _, sec := range secs {
		if sec.counts[Available] < q {
			continue
		}
		if sec.ga {
			return nil, []gaPart{{sec: sec, n: q}}, nil
		}
		var out []uint32
		for i := len(sec.rows) - 1; i >= 0 && len(out) < q; i-- {
			r := sec.rows[i]
			for j := r.n - 1; j >= 0 && len(out) < q; j-- {
				if seat := r.base + uint32(j); s.seats[seat] == Available {
					out = append(out, seat)
				}
			}
		}
		slices.Sort(out)
		return out, nil, nil
	}
	return nil, nil, ErrSoldOut
}

// TestUpgradeKeepsAnsweredSeats records a journal of best-available holds
// (through a real Pebble store, as bytes), swaps the best-available
// algorithm as a new version would, and recovers: every hold has exactly the
// seats it was answered with. The same history kept as commands (the format
// before facts) recovers to other seats under the new algorithm: that is
// the failure facts prevent.
func TestUpgradeKeepsAnsweredSeats(t *testing.T) {
	cfg := ShowConfig{ID: "up", Tiers: []Tier{{ID: "std", Price: 100}, {ID: "vip", Price: 900}},
		Sections: []Section{{ID: "a", Tier: "std", Rows: []Row{{ID: "1", Seats: 12}, {ID: "2", Seats: 12}, {ID: "3", Seats: 12}}},
			{ID: "g", Tier: "vip", Capacity: 40}}}
	cmds := []Command{{Kind: KindCreate, Show: &cfg, Now: 1}}
	for i := 0; i < 12; i++ {
		c := Command{Kind: KindHold, HoldID: fmt.Sprintf("h%d", i), User: fmt.Sprintf("u%d", i), Section: "a", Quantity: 1 + i%3, Now: int64(10 + i)}
		if i%4 == 3 {
			c.Section, c.Tier = "", "vip"
		}
		cmds = append(cmds, c)
		if i%5 == 4 {
			cmds = append(cmds, Command{Kind: KindRelease, HoldID: fmt.Sprintf("h%d", i-2), Now: int64(10 + i)})
		}
	}
	live := New(0)
	answered := map[string][]string{}
	var recs []Record
	var legacy []Record
	for _, c := range cmds {
		res := live.Apply(c)
		if res.Err != nil {
			t.Fatalf("%s %s: %v", c.Kind, c.HoldID, res.Err)
		}
		if res.Hold != nil {
			answered[res.Hold.ID] = res.Hold.Seats
		}
		rd := live.Ready()
		recs = append(recs, rd.Records...)
		for _, r := range rd.Records {
			legacy = append(legacy, legacyRecord(t, r.Seq, c))
		}
	}
	// the journal as stored: encoded records in a Pebble store
	dir := t.TempDir()
	st, err := pebble.Open(pebble.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b := pebble.Batch{Shard: "up"}
	for i := range recs {
		b.Entries = append(b.Entries, pebble.Entry{Seq: recs[i].Seq, Data: facts.EncodeRecord(&recs[i])})
	}
	if _, err := st.Commit(b); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	bestAvailable = worstAvailable // the upgrade
	defer func() { bestAvailable = (*Shard).pickBest }()

	st, err = pebble.Open(pebble.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, _, entries, err := st.LoadShard("up")
	if err != nil {
		t.Fatal(err)
	}
	recovered := New(0)
	for _, e := range entries {
		rec, err := facts.DecodeRecord(e.Seq, e.Data)
		if err != nil {
			t.Fatal(err)
		}
		if err := recovered.Replay(rec); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := Fingerprint(live), Fingerprint(recovered); a != b {
		t.Fatalf("recovered %s, acknowledged %s", b, a)
	}
	for id, seats := range answered {
		r := recovered.Apply(Command{Kind: KindGetHold, HoldID: id})
		if r.Err != nil {
			if !slices.ContainsFunc(cmds, func(c Command) bool { return c.Kind == KindRelease && c.HoldID == id }) {
				t.Fatalf("hold %s: %v", id, r.Err)
			}
			continue
		}
		if !slices.Equal(r.Hold.Seats, seats) {
			t.Fatalf("hold %s recovered with %v, answered %v", id, r.Hold.Seats, seats)
		}
	}
	// the commands, decided again by the new algorithm, do not give the
	// answered seats: the journal of commands would have broken the promise
	redecided := New(0)
	for _, r := range legacy {
		if err := redecided.Replay(r); err != nil {
			t.Fatal(err)
		}
	}
	moved := 0
	for id, seats := range answered {
		if r := redecided.Apply(Command{Kind: KindGetHold, HoldID: id}); r.Err == nil && !slices.Equal(r.Hold.Seats, seats) {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("the swapped algorithm picks the same seats: the test proves nothing")
	}
	t.Logf("%d of %d holds would have moved had the journal kept commands", moved, len(answered))
}
