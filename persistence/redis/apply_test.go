package redis

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestApplyLoadRoundTrip(t *testing.T) {
	_, c := openServer(t, nil)
	shards := []string{"show-a/0", "show-a/1", "show-b/0"}
	epochs := map[string]uint64{}
	for _, s := range shards {
		epochs[s] = activate(t, c, s)
	}
	// three rounds, each one Apply carrying every shard
	next := map[string]uint64{}
	for round := 0; round < 3; round++ {
		var cps []Checkpoint
		for i, s := range shards {
			n := uint64(1 + i + round)
			cps = append(cps, Checkpoint{Shard: s, Epoch: epochs[s], Entries: entries(s, next[s]+1, next[s]+n)})
			next[s] += n
		}
		mustApply(t, c, cps...)
	}
	for _, s := range shards {
		st := load(t, c, s)
		if st.Epoch != epochs[s] {
			t.Fatalf("%s: epoch %d, want %d", s, st.Epoch, epochs[s])
		}
		checkState(t, st, s, next[s], 0, nil)
	}
	if st := load(t, c, "never/7"); st.Seq != 0 || st.Epoch != 0 || st.Snapshot != nil || len(st.Entries) != 0 {
		t.Fatalf("unknown shard loads as %+v, want zero", st)
	}
	if m := c.Metrics(); m["applies"] != 9 || m["apply_errors"] != 0 || m["healthy"] != 1 {
		t.Fatalf("metrics %v", m)
	}
}

func TestSeqGapRefused(t *testing.T) {
	_, c := openServer(t, nil)
	s := "gap/0"
	e := activate(t, c, s)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 3)})
	errs := c.Apply(context.Background(), Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 5, 6)})
	wantGap(t, errs[0], 3)
	// nothing of the refused checkpoint was written
	checkState(t, load(t, c, s), s, 3, 0, nil)
	// a new activation must continue exactly: an overlap is a rewind, refused
	e2 := activate(t, c, s)
	wantGap(t, c.Apply(context.Background(), Checkpoint{Shard: s, Epoch: e2, Entries: entries(s, 3, 4)})[0], 3)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e2, Entries: entries(s, 4, 4)})
	checkState(t, load(t, c, s), s, 4, 0, nil)
	if m := c.Metrics(); m["gaps"] != 2 {
		t.Fatalf("gaps metric %v, want 2", m["gaps"])
	}
}

func TestRetryOfSameActivationIsSkipped(t *testing.T) {
	_, c := openServer(t, nil)
	s := "retry/0"
	e := activate(t, c, s)
	cp1 := Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 3), Counts: map[string]string{"totals": "v3"}}
	cp2 := Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 4, 6), Counts: map[string]string{"totals": "v6"}}
	mustApply(t, c, cp1, cp2)
	// the caller did not hear back and resends both, then an overlapping one
	mustApply(t, c, cp1, cp2, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 5, 8)})
	checkState(t, load(t, c, s), s, 8, 0, nil)
	// a late retry of cp1 alone does not bring back its older counts
	mustApply(t, c, cp1)
	if m, seq, err := c.Counts(context.Background(), s); err != nil || m["totals"] != "v6" || seq != 6 {
		t.Fatalf("counts after a late retry: %v at %d (%v), want v6 at 6", m, seq, err)
	}
	checkState(t, load(t, c, s), s, 8, 0, nil)
}

func TestFencing(t *testing.T) {
	_, c := openServer(t, nil)
	s := "fence/3"
	old := activate(t, c, s)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: old, Entries: entries(s, 1, 2)})
	newer := activate(t, c, s)
	if newer <= old {
		t.Fatalf("second epoch %d not above first %d", newer, old)
	}
	// the old activation wakes up late: refused, nothing written
	err := c.Apply(context.Background(), Checkpoint{Shard: s, Epoch: old, Entries: entries(s, 3, 3),
		Snapshot: []byte("old"), SnapshotSeq: 3, Counts: map[string]string{"A": "1,0,0,0"}})[0]
	wantFenced(t, err)
	var f *FencedError
	errors.As(err, &f)
	if f.Stored != newer || f.Epoch != old {
		t.Fatalf("FencedError %+v, want stored %d epoch %d", f, newer, old)
	}
	checkState(t, load(t, c, s), s, 2, 0, nil)
	if counts, _, _ := c.Counts(context.Background(), s); len(counts) != 0 {
		t.Fatalf("fenced checkpoint wrote counts %v", counts)
	}
	// the new one continues
	mustApply(t, c, Checkpoint{Shard: s, Epoch: newer, Entries: entries(s, 3, 3)})
	// an epoch Redis never handed out (same counter, other nonce; or a higher counter) is refused too
	ctr, nonce := splitEpoch(newer)
	for _, bogus := range []uint64{joinEpoch(ctr, nonce^1), joinEpoch(ctr+1, nonce)} {
		wantFenced(t, c.Apply(context.Background(), Checkpoint{Shard: s, Epoch: bogus, Entries: entries(s, 4, 4)})[0])
	}
	if st := load(t, c, s); st.Epoch != newer || st.Seq != 3 {
		t.Fatalf("after fencing: epoch %d seq %d, want %d 3", st.Epoch, st.Seq, newer)
	}
	if m := c.Metrics(); m["fenced"] != 3 {
		t.Fatalf("fenced metric %v, want 3", m["fenced"])
	}
}

func TestSnapshotReplacesAndTrims(t *testing.T) {
	_, c := openServer(t, nil)
	s := "snap/0"
	e := activate(t, c, s)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 10)})
	// snapshot alone at 4: entries 5..10 stay
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Snapshot: []byte("S4"), SnapshotSeq: 4})
	checkState(t, load(t, c, s), s, 10, 4, []byte("S4"))
	// entries then a snapshot at their end: journal empty
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 11, 12), Snapshot: []byte("S12"), SnapshotSeq: 12})
	checkState(t, load(t, c, s), s, 12, 12, []byte("S12"))
	// an older snapshot is ignored, the entries still go in
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 13, 14), Snapshot: []byte("S9"), SnapshotSeq: 9})
	checkState(t, load(t, c, s), s, 14, 12, []byte("S12"))
	// a snapshot in the middle of its checkpoint's entries
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 15, 20), Snapshot: []byte("S17"), SnapshotSeq: 17})
	checkState(t, load(t, c, s), s, 20, 17, []byte("S17"))
	// an empty snapshot is a snapshot
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Snapshot: []byte{}, SnapshotSeq: 20})
	checkState(t, load(t, c, s), s, 20, 20, []byte{})
}

func TestSnapshotCatchUp(t *testing.T) {
	_, c := openServer(t, nil)
	s := "catchup/1"
	e := activate(t, c, s)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 3)})
	// Redis fell far behind (it was down): entries 50.. are refused...
	wantGap(t, c.Apply(context.Background(), Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 50, 51)})[0], 3)
	// ...a snapshot alone at 49 catches it up...
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Snapshot: []byte("S49"), SnapshotSeq: 49})
	checkState(t, load(t, c, s), s, 49, 49, []byte("S49"))
	// ...and then the entries continue
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 50, 51)})
	checkState(t, load(t, c, s), s, 51, 49, []byte("S49"))
	// a snapshot may also bridge a gap in front of its own entries
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Snapshot: []byte("S80"), SnapshotSeq: 80, Entries: entries(s, 81, 83)})
	checkState(t, load(t, c, s), s, 83, 80, []byte("S80"))
	// or come after entries that start beyond Redis' seq: the snapshot covers them
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 95, 99), Snapshot: []byte("S99"), SnapshotSeq: 99})
	checkState(t, load(t, c, s), s, 99, 99, []byte("S99"))
	// but a snapshot that leaves a hole before the entries does not
	wantGap(t, c.Apply(context.Background(), Checkpoint{Shard: s, Epoch: e, Snapshot: []byte("S110"), SnapshotSeq: 110, Entries: entries(s, 112, 113)})[0], 99)
}

func TestCountsReadModel(t *testing.T) {
	_, c := openServer(t, nil)
	s := "counts/0"
	e := activate(t, c, s)
	if m, seq, err := c.Counts(context.Background(), s); err != nil || len(m) != 0 || seq != 0 {
		t.Fatalf("empty counts: %v %d %v", m, seq, err)
	}
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 2),
		Counts: map[string]string{"A": "100,0,0,0", "B": "50,0,0,0", "totals": "150,0,0,0"}})
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 3, 3)}) // no counts: they stay at seq 2
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 4, 4),
		Counts: map[string]string{"A": "98,2,0,0", "totals": "148,2,0,0"}})
	m, seq, err := c.Counts(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "98,2,0,0", "B": "50,0,0,0", "totals": "148,2,0,0"}
	if seq != 4 || len(m) != len(want) {
		t.Fatalf("counts %v at seq %d, want %v at 4", m, seq, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("counts %v, want %v", m, want)
		}
	}
}

func TestLargeCheckpointIsSplit(t *testing.T) {
	_, c := openServer(t, func(o *Options) { o.MaxEntriesPerCall = 1000; o.MaxBytesPerCall = 64 << 10 })
	s := "big/0"
	e := activate(t, c, s)
	// 25k entries (> Lua's unpack limit of ~8000 per call, > one call's limit),
	// a snapshot in the middle and counts
	ents := entries(s, 1, 25000)
	snap := []byte(strings.Repeat("x", 3<<20))
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: ents, Snapshot: snap, SnapshotSeq: 12345,
		Counts: map[string]string{"totals": "1,2,3,4"}})
	checkState(t, load(t, c, s), s, 25000, 12345, snap)
	if _, seq, _ := c.Counts(context.Background(), s); seq != 25000 {
		t.Fatalf("counts seq %d, want 25000", seq)
	}
	if parts := splitEntries(ents, 1000, 64<<10); len(parts) < 25 {
		t.Fatalf("expected the checkpoint to be split, got %d parts", len(parts))
	}
}

func TestBadInputs(t *testing.T) {
	_, c := openServer(t, nil)
	ctx := context.Background()
	for _, s := range []string{"", "sh ow", "sh{o}w", strings.Repeat("a", 65), "show/", "/1", "sh{o}w/1", "show/x", "show/-1"} {
		if _, err := c.Activate(ctx, s); !errors.Is(err, ErrBadShard) {
			t.Errorf("Activate(%q): %v, want ErrBadShard", s, err)
		}
		if _, err := c.Load(ctx, s); !errors.Is(err, ErrBadShard) {
			t.Errorf("Load(%q): %v, want ErrBadShard", s, err)
		}
	}
	e := activate(t, c, "ok/1")
	bad := []Checkpoint{
		{Shard: "ok/1", Epoch: 0, Entries: entries("ok/1", 1, 1)},
		{Shard: "ok/1", Epoch: e &^ nonceMask, Entries: entries("ok/1", 1, 1)},
		{Shard: "ok/1", Epoch: e, Entries: []Entry{{Seq: 1}, {Seq: 3}}},
		{Shard: "ok/1", Epoch: e, Entries: []Entry{{Seq: 0}}},
		{Shard: "ok/1", Epoch: e, SnapshotSeq: 4},
	}
	for i, err := range c.Apply(ctx, bad...) {
		if !errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("checkpoint %d: %v, want ErrBadCheckpoint", i, err)
		}
	}
	if st := load(t, c, "ok/1"); st.Seq != 0 {
		t.Fatalf("bad checkpoints wrote seq %d", st.Seq)
	}
	// good and bad in one Apply: the good one goes in
	errs := c.Apply(ctx, bad[0], Checkpoint{Shard: "ok/1", Epoch: e, Entries: entries("ok/1", 1, 1)})
	if errs[0] == nil || errs[1] != nil {
		t.Fatalf("mixed Apply: %v", errs)
	}
	c.Close()
	if _, err := c.Load(ctx, "ok/1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Load after Close: %v", err)
	}
}

func TestHashTag(t *testing.T) {
	for in, want := range map[string]string{
		"show-abc/0":   "{show:show-abc:shard:0}",
		"a.b_c-d/1234": "{show:a.b_c-d:shard:1234}",
		"x/y/7":        "{show:x/y:shard:7}",
		// one actor per show: the plain show id
		"show-abc":              "{show:show-abc}",
		"A.b_c-9":               "{show:A.b_c-9}",
		strings.Repeat("z", 64): "{show:" + strings.Repeat("z", 64) + "}",
	} {
		if got, err := HashTag(in); err != nil || got != want {
			t.Errorf("HashTag(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
