package seatmap

import (
	"bytes"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/facts"
)

// TestRowBatchRestoresAsAdd: rows decoded into RowBatches and added batch by
// batch build the same shard as Restorer.Add of each row, whatever the order
// (key order; reversed: every hold before the config and the position, kept
// until they come; shuffled), with ids of the canonical form and others.
func TestRowBatchRestoresAsAdd(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	s := fillShow(t, 3000)
	sideIDs := []string{"h1", "fill~3~abc", "other~" + randomToken(rng), "fill~" + strings.ToUpper(randomToken(rng))}
	for i, id := range sideIDs {
		c := Command{Kind: KindHold, HoldID: id, User: "side" + string(rune('a'+i)), Section: "seated", Quantity: 2, Now: 1}
		if r := s.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	s.Ready()
	rows := s.Rows()
	want := restoreRows(t, rows, 0)
	wantSnap, _ := want.Snapshot()
	if Fingerprint(want) != Fingerprint(s) || want.ActiveHolds() != 3004 {
		t.Fatalf("direct restore: %d holds, %s, want %s", want.ActiveHolds(), Fingerprint(want), Fingerprint(s))
	}
	reversed := slices.Clone(rows)
	slices.Reverse(reversed)
	shuffled := slices.Clone(rows)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, c := range []struct {
		name  string
		rows  []facts.Row
		batch int
	}{{"key order", rows, 1024}, {"key order, batches of 7", rows, 7}, {"reversed", reversed, 100}, {"shuffled", shuffled, 33}} {
		got := restoreRows(t, c.rows, c.batch)
		snap, _ := got.Snapshot()
		if !bytes.Equal(snap, wantSnap) || Fingerprint(got) != Fingerprint(s) {
			t.Fatalf("seed %d: %s: restored %s (%d holds), want %s", seed, c.name, Fingerprint(got), got.ActiveHolds(), Fingerprint(s))
		}
		for i, id := range sideIDs {
			if r := got.Apply(Command{Kind: KindGetHold, HoldID: id, User: "side" + string(rune('a'+i)), Now: 2}); r.Err != nil {
				t.Fatalf("%s: hold %s: %v", c.name, id, r.Err)
			}
		}
	}
}

// TestRowBatchRefuses: a hold row twice and a hold row that does not
// decode are refused, naming the row.
func TestRowBatchRefuses(t *testing.T) {
	s := fillShow(t, 10)
	rows := s.Rows()
	var hold facts.Row
	for _, r := range rows {
		if facts.RowKind(r.Key[0]) == facts.RowHold {
			hold = r
		}
	}
	var b RowBatch
	if err := b.Add(hold.Key, []byte{facts.FormatV1, 0x0a, 0x09}); err == nil || !strings.Contains(err.Error(), hold.Key[1:]) {
		t.Fatalf("a cut hold row: %v", err)
	}
	b.Reset()
	r := NewRestorer()
	for _, row := range append(rows, hold) {
		if err := b.Add(row.Key, row.Value); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.AddBatch(&b); err == nil || !strings.Contains(err.Error(), hold.Key[1:]) {
		t.Fatalf("a hold twice: %v", err)
	}
}

// restoreRows restores rows by Restorer.Add (batch 0) or in RowBatches of
// batch rows.
func restoreRows(t *testing.T, rows []facts.Row, batch int) *Shard {
	t.Helper()
	r := NewRestorer()
	var b RowBatch
	for i, row := range rows {
		if batch == 0 {
			if err := r.Add(row.Key, row.Value); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := b.Add(row.Key, bytes.Clone(row.Value)); err != nil {
			t.Fatal(err)
		}
		if b.Len() == batch || i == len(rows)-1 {
			if err := r.AddBatch(&b); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
	}
	if r.Rows() != len(rows) {
		t.Fatalf("restorer counted %d rows of %d", r.Rows(), len(rows))
	}
	s, err := r.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
