package seatmap

import (
	"bytes"
	"math/rand"
	"strconv"
	"testing"
	"time"
)

// TestTouchRunChangesNothing: a shard that touches every run of commands
// before applying it (as the show actor does) answers and checkpoints
// exactly as its twin that never touches, for runs of holds (canonical ids
// and the side table's), releases, extends, reads, orders and commands
// without a hold id; and it keeps no pointer into the indexes after a run.
func TestTouchRunChangesNothing(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	touched, plain := New(0), New(0)
	touched.TouchRun([]*Command{{Kind: KindHold, HoldID: "x~" + randomToken(rng), User: "u"}}) // before the show: nothing
	cfg := func() *ShowConfig {
		return &ShowConfig{ID: "tr", HoldTTLSeconds: 600, Tiers: []Tier{{ID: "std", Price: 100}},
			Sections: []Section{{ID: "ga", Tier: "std", Capacity: 100_000},
				{ID: "a", Tier: "std", Rows: []Row{{ID: "1", Seats: 500}}}}}
	}
	for _, s := range []*Shard{touched, plain} {
		if r := s.Apply(Command{Kind: KindCreate, Show: cfg()}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	var live []string
	n := 0
	command := func() Command {
		n++
		switch k := rng.Intn(12); {
		case k < 6 || len(live) == 0:
			id := "tr~" + randomToken(rng)
			if n%9 == 0 {
				id = "tr~4~" + strconv.Itoa(n) // the side table's form
			}
			live = append(live, id)
			c := Command{Kind: KindHold, HoldID: id, User: "u" + strconv.Itoa(rng.Intn(5000)), Section: "ga", Quantity: 1 + rng.Intn(2)}
			if k == 5 {
				c.Section = "a"
			}
			return c
		case k < 8:
			i := rng.Intn(len(live))
			id := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			return Command{Kind: KindRelease, HoldID: id}
		case k < 9:
			return Command{Kind: KindExtend, HoldID: live[rng.Intn(len(live))], Seconds: 60}
		case k < 10:
			return Command{Kind: KindGetHold, HoldID: live[rng.Intn(len(live))]}
		case k < 11:
			return Command{Kind: KindHold, HoldID: "", User: "nobody", Section: "ga", Quantity: 1} // refused: no id
		default:
			return Command{Kind: KindGetShow}
		}
	}
	store1, store2 := rowStore{}, rowStore{}
	for turn := range 400 {
		run := make([]Command, 1+rng.Intn(64))
		ptrs := make([]*Command, len(run))
		for i := range run {
			run[i] = command()
			run[i].Now = int64(1_000 + turn)
			ptrs[i] = &run[i]
		}
		touched.TouchRun(ptrs)
		for i := range touched.touchWords[:cap(touched.touchWords)] {
			if touched.touchWords[:cap(touched.touchWords)][i] != nil {
				t.Fatalf("seed %d: TouchRun kept a pointer into an index", seed)
			}
		}
		for _, c := range run {
			a, b := touched.Apply(c), plain.Apply(c)
			if (a.Err == nil) != (b.Err == nil) || (a.Hold == nil) != (b.Hold == nil) ||
				(a.Hold != nil && (a.Hold.ID != b.Hold.ID || a.Hold.ExpiresAt != b.Hold.ExpiresAt)) {
				t.Fatalf("seed %d: %s %s: %+v against %+v", seed, c.Kind, c.HoldID, a, b)
			}
		}
		store1.take(t, touched.Ready())
		store2.take(t, plain.Ready())
	}
	if len(store1) != len(store2) {
		t.Fatalf("seed %d: %d rows against %d", seed, len(store1), len(store2))
	}
	for k, v := range store2 {
		if !bytes.Equal(store1[k], v) {
			t.Fatalf("seed %d: row %q: %x against %x", seed, k, store1[k], v)
		}
	}
	store1.check(t, touched)
}
