package pebble

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestHistogramQuantiles(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	for round := range 20 {
		var h histogram
		n := 1 + rng.IntN(5000)
		vals := make([]uint64, n)
		scale := uint64(1) << rng.IntN(40)
		for i := range vals {
			vals[i] = uint64(rng.ExpFloat64() * float64(scale))
			h.observe(vals[i])
		}
		slices.Sort(vals)
		for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
			rank := max(int(math.Ceil(q*float64(n))), 1)
			exact := vals[rank-1]
			got := h.quantile(q)
			if got < exact || got > exact+exact/histSub {
				t.Fatalf("round %d: q%.2f of %d values = %d, exact %d (allowed up to +1/%d)", round, q, n, got, exact, histSub)
			}
		}
	}
	var empty histogram
	if empty.quantile(0.5) != 0 || empty.mean() != 0 {
		t.Fatal("empty histogram not zero")
	}
	for _, v := range []uint64{0, 7, 8, 15, 16, 1 << 40, math.MaxUint64} {
		if b := histBucket(v); b >= histBuckets || histUpper(b) < v || (b > 0 && histUpper(b-1) >= v) {
			t.Fatalf("value %d in bucket %d [.., %d]", v, b, histUpper(b))
		}
	}
}

// TestKeyLayout checks, on random shard names (any bytes), that shard keys
// decode back, that a shard's journal keys sort by seq, and that the keys of
// two shards never interleave (length prefix makes names prefix-free).
func TestKeyLayout(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	name := func() string {
		b := make([]byte, 1+rng.IntN(6))
		for i := range b {
			b[i] = []byte{0, 1, 'a', 'b', 0x7f, 0xff}[rng.IntN(6)]
		}
		return string(b)
	}
	seq := func() uint64 {
		return []uint64{0, 1, 255, 256, 1 << 32, math.MaxUint64}[rng.IntN(6)] + uint64(rng.IntN(2))
	}
	for range 5000 {
		a, b := name(), name()
		sa, sb := seq(), seq()
		ka, kb := appendJournalKey(nil, a, sa), appendJournalKey(nil, b, sb)
		shard, rest, err := decodeShardKey(ka)
		if err != nil || shard != a {
			t.Fatalf("decode %x: %q %v, want %q", ka, shard, err, a)
		}
		if got, _ := decodeSeq(rest); got != sa {
			t.Fatalf("decode seq of %x: %d, want %d", ka, got, sa)
		}
		if a == b {
			if want := cmpU64(sa, sb); bytes.Compare(ka, kb) != want {
				t.Fatalf("shard %q: seq %d vs %d sorts %d", a, sa, sb, -want)
			}
			continue
		}
		pa := appendShardPrefix(nil, prefixJournal, a)
		pb := appendShardPrefix(nil, prefixJournal, b)
		// Every key of a sorts on one side of every key of b.
		order := bytes.Compare(pa, pb)
		if bytes.Compare(ka, kb) != order || bytes.Compare(appendJournalKey(nil, a, 0), kb) != order {
			t.Fatalf("keys of %q and %q interleave", a, b)
		}
		if end := prefixEnd(pa); bytes.Compare(ka, end) >= 0 || (order < 0) != (bytes.Compare(end, kb) <= 0) {
			t.Fatalf("prefixEnd of %q = %x misplaced against %x and %x", a, end, ka, kb)
		}
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestGroupCommitOnDisk commits synced batches from many goroutines to a real
// directory and checks that Pebble merged them into fewer WAL syncs.
func TestGroupCommitOnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("real fsyncs")
	}
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const writers, commits = 32, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shard := fmt.Sprintf("show/g/%d", w)
			for c := range uint64(commits) {
				if _, err := s.Commit(Batch{Shard: shard, Entries: entries(shard, c+1, c+1)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	m := s.Metrics()
	t.Logf("%v synced commits in %v WAL syncs (%.1f per sync); commit p50 %vµs p99 %vµs",
		m["commits_total"], m["wal_syncs_total"], m["synced_writes_per_wal_sync"],
		m["commit_latency_p50_micros"], m["commit_latency_p99_micros"])
	if m["commits_total"] != writers*commits {
		t.Fatalf("commits_total %v", m["commits_total"])
	}
	if m["wal_syncs_total"] <= 0 || m["wal_syncs_total"] >= m["commits_total"] {
		t.Fatalf("%v WAL syncs for %v concurrent synced commits: no group commit", m["wal_syncs_total"], m["commits_total"])
	}
}

// Background errors repeat in a tight loop on a full disk: one line a period
// goes through, with the count of those left out.
func TestLogLimiter(t *testing.T) {
	at := time.Unix(1000, 0)
	l := &logLimiter{every: 10 * time.Second, now: func() time.Time { return at }}
	if n, ok := l.allow(); !ok || n != 0 {
		t.Fatalf("first: %d %v", n, ok)
	}
	for i := 0; i < 1000; i++ {
		if _, ok := l.allow(); ok {
			t.Fatalf("message %d let through within the period", i)
		}
	}
	at = at.Add(10 * time.Second)
	if n, ok := l.allow(); !ok || n != 1000 {
		t.Fatalf("after the period: %d suppressed, %v", n, ok)
	}
}

// slowSyncFS makes every Sync and SyncData of a file take at least delay.
type slowSyncFS struct {
	vfs.FS
	delay time.Duration
}

func (fs slowSyncFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return slowSyncFile{File: f, delay: fs.delay}, err
}

func (fs slowSyncFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return slowSyncFile{File: f, delay: fs.delay}, err
}

type slowSyncFile struct {
	vfs.File
	delay time.Duration
}

func (f slowSyncFile) Sync() error     { time.Sleep(f.delay); return f.File.Sync() }
func (f slowSyncFile) SyncData() error { time.Sleep(f.delay); return f.File.SyncData() }

// The gauges the fill benchmark reads per tenth (bench/fill): time spent in
// WAL syncs, bytes flushed, flushes and compactions in progress.
func TestBackgroundMetrics(t *testing.T) {
	const delay = 2 * time.Millisecond
	fs := slowSyncFS{FS: vfs.NewMem(), delay: delay}
	s := openOn(t, fs, func(o *pebble.Options) { o.MemTableSize = 256 << 10 })
	defer s.Close()
	const shard = "show/m/0"
	for seq := uint64(1); seq <= 4000; seq += 100 {
		if _, err := s.Commit(Batch{Shard: shard, Entries: entries(shard, seq, seq+99)}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	m := s.Metrics()
	for m["pebble_flushes_total"] == 0 || m["pebble_flushes_in_progress"] > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no flush finished: %v", m)
		}
		time.Sleep(10 * time.Millisecond)
		m = s.Metrics()
	}
	if m["wal_syncs_total"] < 40 {
		t.Fatalf("%v WAL syncs for 40 synced commits", m["wal_syncs_total"])
	}
	if want := m["wal_syncs_total"] * delay.Seconds(); m["wal_sync_seconds_total"] < want {
		t.Fatalf("WAL sync time %vs, want at least %vs (%v syncs of >= %v)", m["wal_sync_seconds_total"], want, m["wal_syncs_total"], delay)
	}
	// The flushed table stays in L0 unless a compaction (often a move to the
	// base level, nothing overlapping it there) already took it: CI saw that.
	if m["pebble_flush_bytes_total"] <= 0 || m["pebble_l0_files"]+m["pebble_compactions_total"] <= 0 {
		t.Fatalf("after a flush: %v flushed bytes, %v L0 files, %v compactions", m["pebble_flush_bytes_total"], m["pebble_l0_files"], m["pebble_compactions_total"])
	}
	for _, k := range []string{"pebble_compacted_bytes_total", "pebble_compaction_seconds_total", "pebble_l0_sublevels", "pebble_compactions_in_progress"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("no %s in %v", k, m)
		}
	}
}
