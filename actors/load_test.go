package actors

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// TestRowFeedRestoresAsDirect: rows fed through rowFeed (batches, a reused
// buffer, the caller's key and value overwritten after each add) build the
// same show as the Restorer fed directly; a row the Restorer refuses stops
// the feed with its error.
func TestRowFeedRestoresAsDirect(t *testing.T) {
	sh := seatmap.New(0)
	cfg := smallShow("feed", 50)
	cfg.Sections = append(cfg.Sections, seatmap.Section{ID: "ga", Tier: "std", Capacity: 10_000})
	if r := sh.Apply(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg, Now: 1}); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i := 0; i < 3000; i++ { // several batches
		c := seatmap.Command{Kind: seatmap.KindHold, HoldID: "feed~h" + strconv.Itoa(i), User: "u" + strconv.Itoa(i%700), Section: "ga", Quantity: 1 + i%3, Now: 2}
		if r := sh.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	sh.Ready()
	rows := sh.Rows()
	direct := seatmap.NewRestorer()
	for _, r := range rows {
		if err := direct.Add(r.Key, r.Value); err != nil {
			t.Fatal(err)
		}
	}
	a, err := direct.Finish()
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := a.Snapshot()
	feeds := []struct {
		name string
		new  func(*seatmap.Restorer) *rowFeed
	}{
		{"decoding on whichever side is behind", newRowFeed},
		{"decoding on the reader", func(rs *seatmap.Restorer) *rowFeed {
			f := newRowFeed(rs)
			f.always = true
			return f
		}},
		{"decoding on the builder", func(rs *seatmap.Restorer) *rowFeed { return newRowFeedQueue(rs, 4) }},
	}
	for _, f := range feeds {
		feed := f.new(seatmap.NewRestorer())
		fed := feed.rs
		val := make([]byte, 0, 256)
		for _, r := range rows {
			val = append(val[:0], r.Value...)
			if err := feed.add(r.Key, val); err != nil {
				t.Fatal(err)
			}
			clear(val) // the store reuses its buffer
		}
		if err := feed.close(); err != nil {
			t.Fatal(err)
		}
		b, err := fed.Finish()
		if err != nil {
			t.Fatal(err)
		}
		sb, _ := b.Snapshot()
		if !bytes.Equal(sa, sb) || b.ActiveHolds() != 3000 {
			t.Fatalf("%s: fed show differs from the direct one (%d holds)", f.name, b.ActiveHolds())
		}

		bad := f.new(seatmap.NewRestorer())
		var addErr error
		for i := 0; i < 100*feedBatchRows && addErr == nil; i++ { // decoding: the first add fails; else the builder, on the first batch (the queue holds 4)
			addErr = bad.add("\x00not a row key", []byte{1})
		}
		if err := bad.close(); err == nil || addErr == nil {
			t.Fatalf("%s: a refused row: add %v, close %v; want both to fail", f.name, addErr, err)
		}
	}
}
