package pebble

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestRoundTripMultipleShards(t *testing.T) {
	s, fs := openMem(t)
	mustCommit(t, s,
		Batch{Shard: "show/a/0", Entries: entries("show/a/0", 1, 3)},
		Batch{Shard: "show/b/0", Entries: entries("show/b/0", 1, 2)})
	mustCommit(t, s, Batch{Shard: "show/a/0", Entries: entries("show/a/0", 4, 5)})
	// Two batches of one shard in one Commit continue each other.
	mustCommit(t, s,
		Batch{Shard: "show/b/0", Entries: entries("show/b/0", 3, 3)},
		Batch{Shard: "show/b/0", Entries: entries("show/b/0", 4, 6)})
	for round := range 2 {
		checkLoad(t, s, "show/a/0", 0, 5)
		checkLoad(t, s, "show/b/0", 0, 6)
		checkLoad(t, s, "show/none/0", 0, 0)
		if round == 0 {
			s = reopen(t, s, fs)
		}
	}
	// The journal continues after reopen, its last seq read back from disk.
	mustCommit(t, s, Batch{Shard: "show/a/0", Entries: entries("show/a/0", 6, 6)})
	checkLoad(t, s, "show/a/0", 0, 6)
}

func TestSeqGapRefused(t *testing.T) {
	s, fs := openMem(t)
	mustCommit(t, s, Batch{Shard: "x", Entries: entries("x", 1, 2)})
	bad := []struct {
		name    string
		batches []Batch
	}{
		{"gap", []Batch{{Shard: "x", Entries: entries("x", 4, 4)}}},
		{"duplicate", []Batch{{Shard: "x", Entries: entries("x", 2, 3)}}},
		{"new shard not at 1", []Batch{{Shard: "y", Entries: entries("y", 2, 2)}}},
		{"gap inside batch", []Batch{{Shard: "x", Entries: []Entry{{Seq: 3}, {Seq: 5}}}}},
		{"second batch of shard gaps", []Batch{
			{Shard: "x", Entries: entries("x", 3, 3)}, {Shard: "x", Entries: entries("x", 5, 5)}}},
		// All or nothing: a valid batch beside an invalid one is not written.
		{"valid beside invalid", []Batch{
			{Shard: "z", Entries: entries("z", 1, 1), Outbox: [][]byte{[]byte("ev")}},
			{Shard: "x", Entries: entries("x", 9, 9)}}},
	}
	for round := range 2 {
		for _, c := range bad {
			if _, err := s.Commit(c.batches...); !errors.Is(err, ErrSeqGap) {
				t.Fatalf("%s: err %v, want ErrSeqGap", c.name, err)
			}
		}
		if _, err := s.Commit(Batch{Shard: "", Entries: entries("", 1, 1)}); !errors.Is(err, ErrInvalidShard) {
			t.Fatalf("empty shard: err %v, want ErrInvalidShard", err)
		}
		checkLoad(t, s, "x", 0, 2)
		checkLoad(t, s, "z", 0, 0)
		if n, _ := s.OutboxLen(); n != 0 {
			t.Fatalf("outbox len %d after refused commits", n)
		}
		if round == 0 {
			s = reopen(t, s, fs)
		}
	}
	if s.Err() != nil {
		t.Fatalf("refused commits failed the store: %v", s.Err())
	}
}

func TestSnapshotTruncatesJournal(t *testing.T) {
	s, fs := openMem(t)
	const sh = "show/s/1"
	for seq := uint64(1); seq <= 10; seq++ { // one entry a Commit: a key each (groups: TestJournalGroups)
		mustCommit(t, s, Batch{Shard: sh, Entries: entries(sh, seq, seq)})
	}
	if err := s.SaveSnapshot(sh, 5, snapData(sh, 5)); err != nil {
		t.Fatal(err)
	}
	checkLoad(t, s, sh, 5, 10)
	if n := countKeys(t, s, appendShardPrefix(nil, prefixJournal, sh)); n != 5 {
		t.Fatalf("%d journal keys after snapshot at 5 of 10, want 5", n)
	}
	if err := s.SaveSnapshot(sh, 3, snapData(sh, 3)); !errors.Is(err, ErrStaleSnapshot) {
		t.Fatalf("older snapshot: err %v, want ErrStaleSnapshot", err)
	}
	s = reopen(t, s, fs)
	checkLoad(t, s, sh, 5, 10)
	// A snapshot past the journal's end (state restored from elsewhere) moves
	// the journal on: the next entry is 21.
	if err := s.SaveSnapshot(sh, 20, snapData(sh, 20)); err != nil {
		t.Fatal(err)
	}
	checkLoad(t, s, sh, 20, 20)
	if _, err := s.Commit(Batch{Shard: sh, Entries: entries(sh, 11, 11)}); !errors.Is(err, ErrSeqGap) {
		t.Fatalf("entry 11 after snapshot 20: err %v, want ErrSeqGap", err)
	}
	mustCommit(t, s, Batch{Shard: sh, Entries: entries(sh, 21, 21)}, Batch{Shard: sh, Entries: entries(sh, 22, 22)})
	s = reopen(t, s, fs)
	checkLoad(t, s, sh, 20, 22)
	if n := countKeys(t, s, appendShardPrefix(nil, prefixJournal, sh)); n != 2 {
		t.Fatalf("%d journal keys, want 2", n)
	}
}

// countKeys counts live keys with prefix p.
func countKeys(t *testing.T, s *Store, p []byte) int {
	t.Helper()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		n++
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestShardsAndDelete(t *testing.T) {
	s, fs := openMem(t)
	// Names that are prefixes of each other must not mix.
	names := []string{"a", "a/b", "ab", "show/x/1", "show/x/10", "show/x/2"}
	for _, n := range names {
		mustCommit(t, s, Batch{Shard: n, Entries: entries(n, 1, 3)})
	}
	if err := s.SaveSnapshot("snap-only", 7, snapData("snap-only", 7)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot("show/x/1", 3, snapData("show/x/1", 3)); err != nil { // journal now empty
		t.Fatal(err)
	}
	want := append(slices.Clone(names), "snap-only")
	slices.Sort(want)
	s = reopen(t, s, fs)
	got, err := s.Shards()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("shards %q, want %q", got, want)
	}
	if err := s.DeleteShard("a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteShard("snap-only"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Shards()
	want = slices.DeleteFunc(want, func(n string) bool { return n == "a" || n == "snap-only" })
	if !slices.Equal(got, want) {
		t.Fatalf("shards after delete %q, want %q", got, want)
	}
	checkLoad(t, s, "a", 0, 0)
	checkLoad(t, s, "a/b", 0, 3)
	checkLoad(t, s, "ab", 0, 3)
	checkLoad(t, s, "show/x/1", 3, 3)
	// A deleted shard starts again at 1.
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 1)})
	checkLoad(t, s, "a", 0, 1)
}

func TestOutboxIDsAndAck(t *testing.T) {
	s, fs := openMem(t)
	ev := func(i int) []byte { return []byte(fmt.Sprintf("event-%d", i)) }
	ids := mustCommit(t, s,
		Batch{Shard: "p", Entries: entries("p", 1, 1), Outbox: [][]byte{ev(0), ev(1)}},
		Batch{Shard: "q", Entries: entries("q", 1, 1)},
		Batch{Shard: "r", Outbox: [][]byte{ev(2)}})
	ids = append(ids, mustCommit(t, s, Batch{Shard: "p", Entries: entries("p", 2, 2), Outbox: [][]byte{ev(3)}})...)
	if len(ids) != 4 || !slices.IsSorted(ids) || slices.Compact(slices.Clone(ids))[3] != ids[3] {
		t.Fatalf("ids %v: want 4 increasing", ids)
	}
	all, err := s.OutboxAfter(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range all {
		if e.ID != ids[i] || !bytes.Equal(e.Data, ev(i)) {
			t.Fatalf("outbox[%d] = %d %q, want %d %q", i, e.ID, e.Data, ids[i], ev(i))
		}
	}
	if page, _ := s.OutboxAfter(ids[0], 2); len(page) != 2 || page[0].ID != ids[1] || page[1].ID != ids[2] {
		t.Fatalf("page after %d: %v", ids[0], page)
	}
	if err := s.AckOutbox(ids[0], ids[2], ids[2], 999999); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxLen(); n != 2 {
		t.Fatalf("outbox len %d, want 2", n)
	}
	s = reopen(t, s, fs)
	if n, _ := s.OutboxLen(); n != 2 {
		t.Fatalf("outbox len after reopen %d, want 2", n)
	}
	left, _ := s.OutboxAfter(0, 0)
	if len(left) != 2 || left[0].ID != ids[1] || left[1].ID != ids[3] {
		t.Fatalf("outbox after ack and reopen: %v", left)
	}
	next := mustCommit(t, s, Batch{Outbox: [][]byte{ev(4)}})
	if next[0] <= ids[3] {
		t.Fatalf("id %d after reopen not above %d", next[0], ids[3])
	}
	// Acknowledge everything: the counter must still survive a restart.
	if err := s.AckOutbox(ids[1], ids[3], next[0]); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, fs)
	if n, _ := s.OutboxLen(); n != 0 {
		t.Fatalf("outbox len %d, want 0", n)
	}
	last := mustCommit(t, s, Batch{Outbox: [][]byte{ev(5)}})
	if last[0] <= next[0] {
		t.Fatalf("id %d after emptying outbox and reopen, not above %d", last[0], next[0])
	}
}

// TestConcurrentCommitsWithRelay runs shard writers and a relay at once: the
// relay must see every id exactly once, in increasing order, with its data.
func TestConcurrentCommitsWithRelay(t *testing.T) {
	seed := testSeed(t)
	s := openOn(t, slowSyncs(vfs.NewCrashableMem(), 200*time.Microsecond), nil)
	t.Cleanup(func() { _ = s.Close() })
	const writers, commitsPerWriter = 8, 150
	var (
		mu   sync.Mutex
		want = map[uint64][]byte{} // id -> data of every committed event
	)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(w)))
			shard := fmt.Sprintf("show/w%d/0", w)
			seq := uint64(0)
			for c := range commitsPerWriter {
				n := 1 + rng.IntN(3)
				var evs [][]byte
				for i := range rng.IntN(3) {
					evs = append(evs, []byte(fmt.Sprintf("w%d/c%d/e%d", w, c, i)))
				}
				ids, err := s.Commit(Batch{Shard: shard, Entries: entries(shard, seq+1, seq+uint64(n)), Outbox: evs})
				if err != nil {
					t.Errorf("commit: %v", err)
					return
				}
				seq += uint64(n)
				mu.Lock()
				for i, id := range ids {
					want[id] = evs[i]
				}
				mu.Unlock()
			}
		}()
	}
	stop := make(chan struct{})
	relayDone := make(chan map[uint64][]byte)
	go func() { relayDone <- relay(t, s, stop, seed) }()
	wg.Wait()
	close(stop)
	seen := <-relayDone
	if len(seen) != len(want) {
		t.Fatalf("relay saw %d events, %d committed", len(seen), len(want))
	}
	for id, data := range want {
		if !bytes.Equal(seen[id], data) {
			t.Fatalf("event %d: relay saw %q, committed %q", id, seen[id], data)
		}
	}
	m := s.Metrics()
	if m["commits_total"] != writers*commitsPerWriter || m["outbox_entries_total"] != float64(len(want)) {
		t.Fatalf("metrics %v", m)
	}
}

// relay reads the outbox with a cursor until stop is closed and the outbox is
// drained, acknowledging about half of what it reads. It returns what it saw
// and fails t if ids are not strictly increasing.
func relay(t *testing.T, s *Store, stop <-chan struct{}, seed int64) map[uint64][]byte {
	rng := rand.New(rand.NewPCG(uint64(seed), 99))
	seen := map[uint64][]byte{}
	var cursor uint64
	stopping := false
	for {
		page, err := s.OutboxAfter(cursor, 1+rng.IntN(50))
		if err != nil {
			t.Errorf("outbox after: %v", err)
			return seen
		}
		var ack []uint64
		for _, e := range page {
			if e.ID <= cursor {
				t.Errorf("relay: id %d after cursor %d", e.ID, cursor)
			}
			cursor = e.ID
			seen[e.ID] = e.Data
			if rng.IntN(2) == 0 {
				ack = append(ack, e.ID)
			}
		}
		if err := s.AckOutbox(ack...); err != nil {
			t.Errorf("ack: %v", err)
		}
		if len(page) > 0 {
			continue
		}
		if stopping {
			return seen
		}
		select {
		case <-stop:
			stopping = true // one more pass: everything committed is durable now
		case <-time.After(100 * time.Microsecond):
		}
	}
}

func TestPutIfAbsentConcurrent(t *testing.T) {
	s, fs := openMem(t)
	const callers, keys = 16, 40
	winners := make([][]int, keys) // key -> callers that stored
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				stored, err := s.PutIfAbsent(fmt.Sprintf("dedupe/%d", k), []byte(fmt.Sprint(c)))
				if err != nil {
					t.Errorf("put if absent: %v", err)
					return
				}
				if stored {
					mu.Lock()
					winners[k] = append(winners[k], c)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	s = reopen(t, s, fs)
	for k, w := range winners {
		if len(w) != 1 {
			t.Fatalf("key %d stored by %v, want exactly one caller", k, w)
		}
		val, ok, err := s.Get(fmt.Sprintf("dedupe/%d", k))
		if err != nil || !ok || string(val) != fmt.Sprint(w[0]) {
			t.Fatalf("key %d = %q %v %v, want %d", k, val, ok, err, w[0])
		}
	}
}

func TestPutGet(t *testing.T) {
	s, fs := openMem(t)
	if _, ok, err := s.Get("epoch/n1"); ok || err != nil {
		t.Fatalf("missing key: ok %v err %v", ok, err)
	}
	if err := s.Put("epoch/n1", []byte("7"), true); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("epoch/n1", []byte("8"), true); err != nil {
		t.Fatal(err)
	}
	if stored, err := s.PutIfAbsent("epoch/n1", []byte("9")); stored || err != nil {
		t.Fatalf("put if absent on existing key: stored %v err %v", stored, err)
	}
	s = reopen(t, s, fs)
	if v, ok, err := s.Get("epoch/n1"); string(v) != "8" || !ok || err != nil {
		t.Fatalf("after reopen: %q %v %v", v, ok, err)
	}
	// KV keys do not show up as shards.
	if sh, _ := s.Shards(); len(sh) != 0 {
		t.Fatalf("shards %q", sh)
	}
}

func TestClosed(t *testing.T) {
	s, _ := openMem(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, checks["commit"] = s.Commit(Batch{Shard: "a", Entries: entries("a", 1, 1)})
	_, _, _, checks["load"] = s.LoadShard("a")
	checks["snapshot"] = s.SaveSnapshot("a", 1, nil)
	_, checks["shards"] = s.Shards()
	_, checks["outbox"] = s.OutboxAfter(0, 0)
	checks["ack"] = s.AckOutbox(1)
	_, _, checks["get"] = s.Get("k")
	_, checks["putifabsent"] = s.PutIfAbsent("k", nil)
	checks["close"] = s.Close()
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after close: %v, want ErrClosed", name, err)
		}
	}
}

func TestNoSync(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s, err := Open(Options{Dir: testDir, FS: fs, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := mustCommit(t, s, Batch{Shard: "n", Entries: entries("n", 1, 2), Outbox: [][]byte{[]byte("ev")}})
	if out, _ := s.OutboxAfter(0, 0); len(out) != 1 || out[0].ID != ids[0] {
		t.Fatalf("outbox %v, want id %d", out, ids[0])
	}
	if m := s.Metrics(); m["synced_writes_total"] != 0 {
		t.Fatalf("NoSync store counted %v synced writes", m["synced_writes_total"])
	}
	// A clean close keeps NoSync writes.
	s = reopen(t, s, fs)
	checkLoad(t, s, "n", 0, 2)
}
