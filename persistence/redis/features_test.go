package redis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// TestWaitReplicas: with WaitReplicas 1 and no replica, an applied
// checkpoint reports ErrNotReplicated (it is stored all the same); once a
// replica follows, checkpoints are acknowledged and reach it.
func TestWaitReplicas(t *testing.T) {
	// 1 s, not the default 100 ms: under -race beside the suite a replica's
	// acknowledgement once took longer (CI, "0 of 1 replicas within 100ms")
	srv, c := openServer(t, func(o *Options) { o.WaitReplicas = 1; o.WaitTimeout = time.Second })
	ctx := context.Background()
	s := "wait"
	e := activate(t, c, s)
	errs := c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 2)},
		Checkpoint{Shard: "wait2", Epoch: 1, Entries: entries("wait2", 1, 1)}) // fenced: not activated
	if !errors.Is(errs[0], ErrNotReplicated) || !strings.Contains(errs[0].Error(), "0 of 1") {
		t.Fatalf("Apply with no replica: %v, want ErrNotReplicated with 0 of 1", errs[0])
	}
	wantFenced(t, errs[1]) // a refused checkpoint keeps its own error
	checkState(t, load(t, c, s), s, 2, 0, nil)
	if err := c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 3)})[0]; !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("single Apply with no replica: %v, want ErrNotReplicated", err)
	}
	checkState(t, load(t, c, s), s, 3, 0, nil)

	rep := redistest.StartServer(t, redistest.WithReplicaOf(srv))
	waitFor(t, "the replica to sync", 15*time.Second, func() bool {
		r, _ := srv.Do("WAIT", "1", "50")
		return r == ":1"
	})
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 4, 5)})
	if r, err := rep.Do("LLEN", "{show:wait}:log"); err != nil || r != ":5" {
		t.Fatalf("replica LLEN %q %v, want :5", r, err)
	}
	if _, err := (Options{ClusterAddrs: []string{"127.0.0.1:1"}, WaitReplicas: 1}).withDefaults(); err == nil {
		t.Fatal("WaitReplicas with ClusterAddrs accepted")
	}
}

// TestPlainShowID: one actor per show, identified by the show id alone.
func TestPlainShowID(t *testing.T) {
	_, c := openServer(t, nil)
	s := "concert-2025.main_hall"
	e := activate(t, c, s)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 3), Counts: map[string]string{"totals": "1,2,3,4"}})
	checkState(t, load(t, c, s), s, 3, 0, nil)
	// the same name in the old form is another shard
	if st := load(t, c, s+"/0"); st.Seq != 0 {
		t.Fatalf("%s/0 sees seq %d of %s", s, st.Seq, s)
	}
}

// TestArchive: Checkpoint.Archive is stored with the checkpoint, under its
// checks, and split like entries when large.
func TestArchive(t *testing.T) {
	_, c := openServer(t, func(o *Options) { o.MaxEntriesPerCall = 10; o.MaxBytesPerCall = 4 << 10 })
	ctx := context.Background()
	s := "archive"
	e := activate(t, c, s)
	archived := func(id string) ([]byte, bool) {
		t.Helper()
		v, ok, err := c.Archived(ctx, s, id)
		if err != nil {
			t.Fatal(err)
		}
		return v, ok
	}
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 2),
		Archive: map[string][]byte{"o1": []byte(`{"id":"o1","state":"sold"}`), "o2": []byte(`{"id":"o2"}`)}})
	if v, ok := archived("o1"); !ok || string(v) != `{"id":"o1","state":"sold"}` {
		t.Fatalf("Archived(o1) = %q %v", v, ok)
	}
	if v, ok := archived("nope"); ok || v != nil {
		t.Fatalf("Archived(nope) = %q %v, want not found", v, ok)
	}
	// refused checkpoints archive nothing: a gap, a fenced epoch
	wantGap(t, c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 9, 9), Archive: map[string][]byte{"gap": []byte("x")}})[0], 2)
	e2 := activate(t, c, s)
	wantFenced(t, c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 3, 3), Archive: map[string][]byte{"fenced": []byte("x")}})[0])
	for _, id := range []string{"gap", "fenced"} {
		if _, ok := archived(id); ok {
			t.Fatalf("refused checkpoint archived %q", id)
		}
	}
	// a large archive with entries: split into consecutive calls
	big := map[string][]byte{}
	for i := 0; i < 95; i++ {
		big[fmt.Sprintf("b%03d", i)] = []byte(strings.Repeat("j", 100+i*10))
	}
	cp := Checkpoint{Shard: s, Epoch: e2, Entries: entries(s, 3, 27), Archive: big}
	calls, err := c.buildCalls(cp)
	if err != nil || len(calls) < 10 {
		t.Fatalf("buildCalls: %d calls, %v; want the archive split", len(calls), err)
	}
	mustApply(t, c, cp)
	checkState(t, load(t, c, s), s, 27, 0, nil)
	for id, want := range big {
		if v, ok := archived(id); !ok || string(v) != string(want) {
			t.Fatalf("Archived(%s): %d bytes %v, want %d bytes", id, len(v), ok, len(want))
		}
	}
	// a large archive behind a gap: none of its calls apply (a prefix)
	big2 := map[string][]byte{}
	for i := 0; i < 50; i++ {
		big2[fmt.Sprintf("c%03d", i)] = []byte(strings.Repeat("k", 200))
	}
	wantGap(t, c.Apply(ctx, Checkpoint{Shard: s, Epoch: e2, Entries: entries(s, 30, 31), Archive: big2})[0], 27)
	for id := range big2 {
		if _, ok := archived(id); ok {
			t.Fatalf("archive %s of a refused checkpoint stored", id)
		}
	}
	// an archive alone (no entries), split, applies; a retry of it too
	cp = Checkpoint{Shard: s, Epoch: e2, Archive: big2}
	mustApply(t, c, cp)
	mustApply(t, c, cp)
	for id := range big2 {
		if _, ok := archived(id); !ok {
			t.Fatalf("archive %s missing", id)
		}
	}
	checkState(t, load(t, c, s), s, 27, 0, nil)
}

// TestShowRegistry: RegisterShow is SET NX; ShowConfig reads it.
func TestShowRegistry(t *testing.T) {
	_, c := openServer(t, nil)
	ctx := context.Background()
	if cfg, ok, err := c.ShowConfig(ctx, "unknown-show"); err != nil || ok || cfg != nil {
		t.Fatalf("ShowConfig(unknown) = %q %v %v", cfg, ok, err)
	}
	if created, err := c.RegisterShow(ctx, "gala", []byte(`{"seats":100}`)); err != nil || !created {
		t.Fatalf("RegisterShow: %v %v", created, err)
	}
	if created, err := c.RegisterShow(ctx, "gala", []byte(`{"seats":5}`)); err != nil || created {
		t.Fatalf("second RegisterShow: %v %v, want not created", created, err)
	}
	if cfg, ok, err := c.ShowConfig(ctx, "gala"); err != nil || !ok || string(cfg) != `{"seats":100}` {
		t.Fatalf("ShowConfig(gala) = %q %v %v", cfg, ok, err)
	}
	if _, err := c.RegisterShow(ctx, "opera", []byte(`{"seats":7}`)); err != nil {
		t.Fatal(err)
	}
	ids, err := c.ShowIDs(ctx)
	sort.Strings(ids)
	if err != nil || strings.Join(ids, ",") != "gala,opera" {
		t.Fatalf("ShowIDs = %q %v", ids, err)
	}
	for _, bad := range []string{"", "gala/0", "g{a}la", strings.Repeat("x", 65)} {
		if _, err := c.RegisterShow(ctx, bad, nil); !errors.Is(err, ErrBadShard) {
			t.Errorf("RegisterShow(%q): %v, want ErrBadShard", bad, err)
		}
		if _, _, err := c.ShowConfig(ctx, bad); !errors.Is(err, ErrBadShard) {
			t.Errorf("ShowConfig(%q): %v, want ErrBadShard", bad, err)
		}
	}
}

// TestLostApplyReply: Redis applied a checkpoint but its reply was lost.
// Resending it is a recognised retry (no duplicate). Redis being AHEAD
// under the caller's own epoch shows as a GapError whose Have is the new
// seq and whose LastWriter is the caller's epoch; BEHIND (Redis lost data)
// as a Have below what the caller knows Redis acknowledged.
func TestLostApplyReply(t *testing.T) {
	_, c := openServer(t, nil)
	ctx := context.Background()
	s := "lostreply"
	e := activate(t, c, s)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 3)}) // acked: 3
	cp := Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 4, 6)}
	_ = c.Apply(ctx, cp) // applied; the caller never hears back
	mustApply(t, c, cp)  // the resend: a retry, skipped
	checkState(t, load(t, c, s), s, 6, 0, nil)
	// resending from the old seq+1 with more entries: the known part is
	// skipped, the rest appended, no duplicate
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 4, 7)})
	checkState(t, load(t, c, s), s, 7, 0, nil)
	// a checkpoint past the stored seq: AHEAD is visible in the GapError
	err := c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 9, 9)})[0]
	wantGap(t, err, 7)
	var g *GapError
	errors.As(err, &g)
	if g.LastWriter != e || g.First != 9 {
		t.Fatalf("GapError %+v, want LastWriter %d (own epoch), First 9", g, e)
	}
	// the node restarts without having heard the reply (a new activation)
	// and sends from the old seq+1: refused, Have is the new seq and
	// LastWriter the previous activation, so it catches up from Have+1
	e2 := activate(t, c, s)
	err = c.Apply(ctx, Checkpoint{Shard: s, Epoch: e2, Entries: entries(s, 4, 8)})[0]
	wantGap(t, err, 7)
	errors.As(err, &g)
	if g.LastWriter != e {
		t.Fatalf("GapError.LastWriter %d, want the previous activation's %d", g.LastWriter, e)
	}
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e2, Entries: entries(s, g.Have+1, 8)})
	checkState(t, load(t, c, s), s, 8, 0, nil)
}

// TestLostActivateReply: an Activate whose reply was lost is retried and
// gets a newer epoch; the epoch nobody saw is fenced.
func TestLostActivateReply(t *testing.T) {
	_, c := openServer(t, nil)
	ctx := context.Background()
	s := "lostactivate"
	unseen := activate(t, c, s) // the reply is lost
	e := activate(t, c, s)      // the caller's retry
	if e <= unseen {
		t.Fatalf("retried Activate gave %d, not above %d", e, unseen)
	}
	err := c.Apply(ctx, Checkpoint{Shard: s, Epoch: unseen, Entries: entries(s, 1, 1)})[0]
	wantFenced(t, err)
	var f *FencedError
	if errors.As(err, &f); f.Stored != e {
		t.Fatalf("FencedError.Stored %d, want %d", f.Stored, e)
	}
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 1)})
	if st := load(t, c, s); st.Epoch != e || st.Seq != 1 {
		t.Fatalf("state epoch %d seq %d, want %d 1", st.Epoch, st.Seq, e)
	}
}
