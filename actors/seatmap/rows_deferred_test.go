package seatmap

import (
	"bytes"
	"math/rand"
	"strconv"
	"testing"
	"time"
)

// TestReadyDeferredRows: ReadyDeferred's rows, once EncodeRows ran on
// another goroutine while the shard went on (the next commands extend,
// release, expire and re-place the very holds whose rows wait), equal
// Ready's rows of a twin shard given the same commands, byte for byte: the
// values are what the holds were at the Ready, not what they became. Under
// -race it also shows that EncodeRows reads nothing the shard writes.
func TestReadyDeferredRows(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	cfg := func() *ShowConfig {
		return &ShowConfig{ID: "dr", HoldTTLSeconds: 60,
			Tiers: []Tier{{ID: "std", Price: 100}, {ID: "vip", Price: 250}},
			Sections: []Section{{ID: "ga", Tier: "std", Capacity: 50_000}, {ID: "pit", Tier: "vip", Capacity: 500},
				{ID: "a", Tier: "std", Rows: []Row{{ID: "1", Seats: 300}, {ID: "2", Seats: 300}}}}}
	}
	eager, deferred := New(0), New(0)
	for _, s := range []*Shard{eager, deferred} {
		if r := s.Apply(Command{Kind: KindCreate, Show: cfg()}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	var live []string
	now := int64(1_000_000)
	n := 0
	command := func() Command {
		n++
		now += int64(rng.Intn(400))
		switch k := rng.Intn(10); {
		case k < 5 || len(live) == 0:
			c := Command{Kind: KindHold, HoldID: "dr~" + randomToken(rng), User: "u" + strconv.Itoa(rng.Intn(3000)),
				Quantity: 1 + rng.Intn(3)}
			c.Section = []string{"ga", "pit", "a"}[rng.Intn(3)]
			live = append(live, c.HoldID)
			return c
		case k < 7:
			return Command{Kind: KindExtend, HoldID: live[rng.Intn(len(live))], Seconds: 30 + rng.Intn(60)}
		case k < 9:
			i := rng.Intn(len(live))
			id := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			return Command{Kind: KindRelease, HoldID: id}
		default:
			return Command{Kind: KindTick}
		}
	}
	turn := func() []Command {
		cmds := make([]Command, 1+rng.Intn(40))
		for i := range cmds {
			cmds[i] = command()
			cmds[i].Now = now
		}
		return cmds
	}
	apply := func(cmds []Command) {
		for _, c := range cmds {
			// the same outcome on both (errors included: a released or
			// expired hold's id, a limit)
			a, b := eager.Apply(c), deferred.Apply(c)
			if (a.Err == nil) != (b.Err == nil) {
				t.Fatalf("seed %d: %s %s: %v against %v", seed, c.Kind, c.HoldID, a.Err, b.Err)
			}
		}
	}
	pending, rows := 0, 0
	apply(turn())
	for range 300 {
		want, got := eager.Ready(), deferred.ReadyDeferred()
		if got.RowsPending() {
			pending++
		}
		done := make(chan struct{})
		go func() { // beside, as the show's encoder goroutine does
			defer close(done)
			got.EncodeRows()
		}()
		apply(turn()) // the shard goes on meanwhile
		<-done
		if got.RowsPending() {
			t.Fatalf("seed %d: rows still pending after EncodeRows", seed)
		}
		if len(got.Rows) != len(want.Rows) {
			t.Fatalf("seed %d: %d rows, want %d", seed, len(got.Rows), len(want.Rows))
		}
		for i, r := range want.Rows {
			if got.Rows[i].Key != r.Key || !bytes.Equal(got.Rows[i].Value, r.Value) || (got.Rows[i].Value == nil) != (r.Value == nil) {
				t.Fatalf("seed %d: row %d: %q %x, want %q %x", seed, i, got.Rows[i].Key, got.Rows[i].Value, r.Key, r.Value)
			}
		}
		rows += len(want.Rows)
	}
	if pending < 100 || rows < 1000 {
		t.Fatalf("seed %d: %d Readys left rows pending, %d rows: the test did not exercise deferral", seed, pending, rows)
	}
}
