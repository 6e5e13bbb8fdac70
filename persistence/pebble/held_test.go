package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// outboxData returns the data of the visible outbox entries.
func outboxData(t *testing.T, s *Store) []string {
	t.Helper()
	out, err := s.OutboxAfter(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var data []string
	for _, e := range out {
		data = append(data, string(e.Data))
	}
	return data
}

func ev(s string) [][]byte { return [][]byte{[]byte(s)} }

func TestCommitHeldReleaseAbort(t *testing.T) {
	s, _ := openMem(t)
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 1), Outbox: ev("e1")})
	ids, held, err := s.CommitHeld(Batch{Shard: "a", Entries: entries("a", 2, 2), Outbox: ev("h2")})
	if err != nil || held == nil || len(ids) != 1 {
		t.Fatalf("commit held: %v %v %v", ids, held, err)
	}
	mustCommit(t, s, Batch{Shard: "b", Entries: entries("b", 1, 1), Outbox: ev("e3")})
	// the relay stops below the held id; the journal has the entries
	if got := outboxData(t, s); !slices.Equal(got, []string{"e1"}) {
		t.Fatalf("outbox while held: %q", got)
	}
	checkLoad(t, s, "a", 0, 2)
	s.Release(held)
	s.Release(held) // idempotent
	if got := outboxData(t, s); !slices.Equal(got, []string{"e1", "h2", "e3"}) {
		t.Fatalf("outbox after release: %q", got)
	}
	if err := s.Abort(held); err != nil { // after Release: no-op
		t.Fatal(err)
	}
	// Abort deletes the held events; later entries become visible.
	_, h4, err := s.CommitHeld(Batch{Shard: "a", Entries: entries("a", 3, 3), Outbox: [][]byte{[]byte("h4"), []byte("h5")}})
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, Batch{Shard: "b", Entries: entries("b", 2, 2), Outbox: ev("e6")})
	if got := outboxData(t, s); !slices.Equal(got, []string{"e1", "h2", "e3"}) {
		t.Fatalf("outbox while h4 held: %q", got)
	}
	if err := s.Abort(h4); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(h4); err != nil {
		t.Fatal(err)
	}
	s.Release(h4) // no-op after Abort
	if got := outboxData(t, s); !slices.Equal(got, []string{"e1", "h2", "e3", "e6"}) {
		t.Fatalf("outbox after abort: %q", got)
	}
	if n, _ := s.OutboxLen(); n != 4 {
		t.Fatalf("outbox len %d, want 4", n)
	}
	// A held commit without events still gets a ticket.
	_, t0, err := s.CommitHeld(Batch{Shard: "c", Entries: entries("c", 1, 1)})
	if err != nil || t0 == nil {
		t.Fatalf("held without events: %v %v", t0, err)
	}
	s.Release(t0)
	if err := s.Abort(t0); err != nil {
		t.Fatal(err)
	}
}

// TestHeldConcurrent commits held batches from several goroutines and
// releases or aborts each from another goroutine (twice, racing): the relay
// sees exactly the released events, in id order, and never an aborted one.
func TestHeldConcurrent(t *testing.T) {
	seed := testSeed(t)
	s, _ := openMem(t)
	const writers, commits = 4, 30
	tickets := make(chan struct {
		t      *Ticket
		ev     string
		commit bool
	}, writers*commits)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(w)))
			shard := fmt.Sprintf("h/%d", w)
			for c := range uint64(commits) {
				e := fmt.Sprintf("%s/%d", shard, c)
				_, tk, err := s.CommitHeld(Batch{Shard: shard, Entries: entries(shard, c+1, c+1), Outbox: ev(e)})
				if err != nil {
					t.Error(err)
					return
				}
				tickets <- struct {
					t      *Ticket
					ev     string
					commit bool
				}{tk, e, rng.IntN(3) > 0}
			}
		}()
	}
	released := map[string]bool{}
	var rwg sync.WaitGroup
	for range writers * commits {
		x := <-tickets
		released[x.ev] = x.commit
		for range 2 {
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				if x.commit {
					s.Release(x.t)
				} else if err := s.Abort(x.t); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	rwg.Wait()
	out, err := s.OutboxAfter(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want int
	for _, ok := range released {
		if ok {
			want++
		}
	}
	if len(out) != want {
		t.Fatalf("%d visible events, want %d released", len(out), want)
	}
	for i, e := range out {
		if !released[string(e.Data)] || (i > 0 && e.ID <= out[i-1].ID) {
			t.Fatalf("event %d %s: released %v", e.ID, e.Data, released[string(e.Data)])
		}
	}
	if n, _ := s.OutboxLen(); n != want {
		t.Fatalf("outbox len %d, want %d", n, want)
	}
}

// TestHeldAcrossReopen: a held commit that succeeded stays held across a
// Reopen; a held commit aborted while the store is failed is deleted by
// Reopen; a failed held commit leaves nothing.
func TestHeldAcrossReopen(t *testing.T) {
	mem := vfs.NewCrashableMem()
	faults := &walFaults{}
	s := openOn(t, faults.wrap(mem), nil)
	defer func() { _ = s.Close() }()
	_, keep, err := s.CommitHeld(Batch{Shard: "a", Entries: entries("a", 1, 1), Outbox: ev("keep")})
	if err != nil {
		t.Fatal(err)
	}
	_, drop, err := s.CommitHeld(Batch{Shard: "b", Entries: entries("b", 1, 1), Outbox: ev("drop")})
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, Batch{Shard: "c", Entries: entries("c", 1, 1), Outbox: ev("c1")})
	faults.arm(0)
	if _, _, err := s.CommitHeld(Batch{Shard: "c", Entries: entries("c", 2, 2), Outbox: ev("failed")}); !errors.Is(err, ErrFailed) {
		t.Fatalf("held commit on a failing disk: %v", err)
	}
	if err := s.Abort(drop); !errors.Is(err, ErrFailed) {
		t.Fatalf("abort on failed store: %v, want ErrFailed", err)
	}
	faults.heal()
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(drop); err != nil { // done already
		t.Fatal(err)
	}
	if got := outboxData(t, s); len(got) != 0 {
		t.Fatalf("outbox with keep held: %q", got)
	}
	checkLoad(t, s, "c", 0, 1)
	mustCommit(t, s, Batch{Shard: "c", Entries: entries("c", 2, 2), Outbox: ev("c2")})
	s.Release(keep)
	if got := outboxData(t, s); !slices.Equal(got, []string{"keep", "c1", "c2"}) {
		t.Fatalf("outbox after release: %q", got)
	}
	if n, _ := s.OutboxLen(); n != 3 {
		t.Fatalf("outbox len %d", n)
	}
}

func TestDropShardAfter(t *testing.T) {
	s, fs := openMem(t)
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 3), Outbox: ev("a3")})
	idsA5 := mustCommit(t, s,
		Batch{Shard: "a", Entries: entries("a", 4, 5), Outbox: [][]byte{[]byte("a5"), []byte("a5b")}},
		Batch{Shard: "b", Entries: entries("b", 1, 1), Outbox: ev("b1")},
		Batch{Shard: "a", Outbox: ev("a-none")}) // origin seq 0: never dropped
	_, held, err := s.CommitHeld(Batch{Shard: "a", Entries: entries("a", 6, 6), Outbox: ev("a6")})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := s.OutboxAfter(0, 0)
	if len(out) != 5 || out[1].Shard != "a" || out[1].Seq != 5 || out[3].Shard != "b" || out[3].Seq != 1 ||
		out[4].Shard != "a" || out[4].Seq != 0 {
		t.Fatalf("origins: %+v", out)
	}
	if err := s.DropShardAfter("a", 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(held); err != nil { // its entry is gone already
		t.Fatal(err)
	}
	for round := range 2 {
		checkLoad(t, s, "a", 0, 3)
		checkLoad(t, s, "b", 0, 1)
		if got := outboxData(t, s); !slices.Equal(got, []string{"a3", "b1", "a-none"}) {
			t.Fatalf("round %d: outbox %q", round, got)
		}
		if n, _ := s.OutboxLen(); n != 3 {
			t.Fatalf("round %d: outbox len %d", round, n)
		}
		if _, err := s.Commit(Batch{Shard: "a", Entries: entries("a", 6, 6)}); !errors.Is(err, ErrSeqGap) {
			t.Fatalf("round %d: commit at 6 after drop: %v", round, err)
		}
		if round == 0 {
			s = reopen(t, s, fs)
		}
	}
	ids := mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 4, 4), Outbox: ev("a4")})
	if ids[0] <= idsA5[1] {
		t.Fatalf("id %d reuses a dropped id (<= %d)", ids[0], idsA5[1])
	}
	if err := s.SaveSnapshot("a", 4, snapData("a", 4)); err != nil {
		t.Fatal(err)
	}
	if err := s.DropShardAfter("a", 3); !errors.Is(err, ErrBelowSnapshot) {
		t.Fatalf("drop below snapshot: %v", err)
	}
	if err := s.DropShardAfter("a", 4); err != nil { // nothing after 4
		t.Fatal(err)
	}
	checkLoad(t, s, "a", 4, 4)
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 5, 5)})
}

// TestLegacyOutbox opens a database whose outbox entries were written without
// the origin header (any bytes, even the magic byte first), reads them back
// unchanged, and mixes them with new entries across restarts.
func TestLegacyOutbox(t *testing.T) {
	mem := vfs.NewCrashableMem()
	db, err := pebble.Open(testDir, &pebble.Options{FS: mem})
	if err != nil {
		t.Fatal(err)
	}
	legacy := [][]byte{{outboxMagic, 1, 'x'}, []byte(`{"old":1}`), {}}
	for i, data := range legacy {
		_ = db.Set(appendOutboxKey(nil, uint64(5+i)), data, pebble.Sync)
	}
	_ = db.Set(metaAckedOutboxID, binary.BigEndian.AppendUint64(nil, 4), pebble.Sync)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := openOn(t, mem, nil)
	defer func() { _ = s.Close() }()
	ids := mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 1), Outbox: ev("new")})
	for round := range 2 {
		out, err := s.OutboxAfter(0, 0)
		if err != nil || len(out) != 4 {
			t.Fatalf("round %d: %+v %v", round, out, err)
		}
		for i, data := range legacy {
			if e := out[i]; e.ID != uint64(5+i) || string(e.Data) != string(data) || e.Shard != "" || e.Seq != 0 {
				t.Fatalf("round %d: legacy entry %+v, want id %d %q", round, e, 5+i, data)
			}
		}
		if e := out[3]; e.ID != ids[0] || e.ID != 8 || string(e.Data) != "new" || e.Shard != "a" || e.Seq != 1 {
			t.Fatalf("round %d: new entry %+v", round, e)
		}
		if round == 0 {
			s = reopen(t, s, mem)
		}
	}
	if err := s.DropShardAfter("a", 0); err != nil { // skips legacy entries
		t.Fatal(err)
	}
	if n, _ := s.OutboxLen(); n != 3 {
		t.Fatalf("outbox len %d", n)
	}
}

func TestBatchPutsScanDeleteKV(t *testing.T) {
	s, fs := openMem(t)
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 1),
		Puts: []KV{{"dd/2", []byte("two")}, {"dd/1", []byte("one")}, {"other", []byte("x")}}})
	mustCommit(t, s, Batch{Puts: []KV{{"dd/3", []byte("three")}}}) // puts only
	if err := s.Put("dd/0", []byte("zero"), true); err != nil {
		t.Fatal(err)
	}
	scan := func(prefix string, stopAfter int) []string {
		var got []string
		err := s.ScanKV(prefix, func(k string, v []byte) bool {
			got = append(got, k+"="+string(v))
			return len(got) < stopAfter
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for round := range 2 {
		if got := scan("dd/", 100); !slices.Equal(got, []string{"dd/0=zero", "dd/1=one", "dd/2=two", "dd/3=three"}) {
			t.Fatalf("round %d: scan %q", round, got)
		}
		if got := scan("dd/", 2); len(got) != 2 {
			t.Fatalf("round %d: scan stopped after %d", round, len(got))
		}
		if got := scan("", 100); len(got) != 5 {
			t.Fatalf("round %d: scan all %q", round, got)
		}
		checkGet(t, s, "other", "x")
		if round == 0 {
			s = reopen(t, s, fs)
		}
	}
	if err := s.DeleteKV("dd/1", "dd/3", "absent"); err != nil {
		t.Fatal(err)
	}
	if got := scan("dd/", 100); !slices.Equal(got, []string{"dd/0=zero", "dd/2=two"}) {
		t.Fatalf("scan after delete %q", got)
	}
	checkLoad(t, s, "a", 0, 1)
}
