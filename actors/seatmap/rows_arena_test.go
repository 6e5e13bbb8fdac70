package seatmap

import (
	"bytes"
	"math/rand"
	"strconv"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/facts"
)

// TestReadyHoldRowsShareArrays: the hold rows of a Ready (keys in one
// string, values in shared arrays) are the rows each hold's own encoding
// gives, and appending to one row's value leaves its neighbours alone.
func TestReadyHoldRowsShareArrays(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	s := New(0)
	cfg := &ShowConfig{ID: "fill", HoldTTLSeconds: MaxHoldTTLSeconds, Tiers: []Tier{{ID: "std", Price: 5000}},
		Sections: []Section{{ID: "ga", Tier: "std", Capacity: 100_000}}}
	if r := s.Apply(Command{Kind: KindCreate, Show: cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	s.Ready()
	var ids []string
	for turn := 0; turn < 20; turn++ {
		n := 1 + rng.Intn(400) // past one array of the arena at times
		for i := 0; i < n; i++ {
			id := fillID(rng)
			user := "user-" + strconv.Itoa(rng.Intn(1000)) + string(bytes.Repeat([]byte("x"), rng.Intn(200)))
			if r := s.Apply(Command{Kind: KindHold, HoldID: id, User: user, Section: "ga", Quantity: 1 + rng.Intn(4), Now: 1}); r.Err != nil {
				t.Fatal(r.Err)
			}
			ids = append(ids, id)
		}
		if len(ids) > 10 && rng.Intn(2) == 0 { // a gone hold: a deletion row among them
			i := rng.Intn(len(ids))
			if r := s.Apply(Command{Kind: KindRelease, HoldID: ids[i], Now: 2}); r.Err != nil {
				t.Fatal(r.Err)
			}
			ids = append(ids[:i], ids[i+1:]...)
		}
		var holdRows []facts.Row
		for _, r := range s.Ready().Rows {
			if len(r.Key) > 0 && facts.RowKind(r.Key[0]) == facts.RowHold {
				holdRows = append(holdRows, r)
			}
		}
		if len(holdRows) < n {
			t.Fatalf("seed %d turn %d: %d hold rows for %d holds", seed, turn, len(holdRows), n)
		}
		want := make([][]byte, len(holdRows))
		for i, r := range holdRows {
			w := s.holdRow(r.Key[1:])
			if w.Key != r.Key || !bytes.Equal(w.Value, r.Value) {
				t.Fatalf("seed %d turn %d: row %q = %x, its own encoding %q = %x", seed, turn, r.Key, r.Value, w.Key, w.Value)
			}
			want[i] = w.Value
		}
		for i := range holdRows {
			if holdRows[i].Value != nil {
				_ = append(holdRows[i].Value, 0xff, 0xff, 0xff, 0xff) // a user's append must copy
			}
		}
		for i, r := range holdRows {
			if !bytes.Equal(r.Value, want[i]) {
				t.Fatalf("seed %d turn %d: row %q changed by an append to another row", seed, turn, r.Key)
			}
		}
	}
}
