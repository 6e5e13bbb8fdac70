package pebble

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// ingestRowsFor is n sorted rows of a state at seq (keys "h00000".., values
// naming seq).
func ingestRowsFor(n int, seq uint64) ([]KV, map[string]string) {
	rows := make([]KV, n)
	want := make(map[string]string, n)
	for i := range rows {
		k, v := fmt.Sprintf("h%06d", i*2), fmt.Sprintf("row %d at %d", i, seq)
		rows[i] = KV{Key: k, Value: []byte(v)}
		want[k] = v
	}
	return rows, want
}

// TestIngestState: a sorted state ingested as an sstable replaces every row,
// the snapshot and the journal up to seq of the shard (entries after seq
// stay), continues the journal after seq across a restart, and leaves other
// shards alone; rows out of order or a small state go by ReplaceState; an
// older state is refused.
func TestIngestState(t *testing.T) {
	s, fs := openMem(t)
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 3), Rows: []KV{{"old", []byte("x")}, {"h000002", []byte("y")}}, RowsSeq: 2})
	if err := s.SaveSnapshot("a", 3, snapData("a", 3)); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, Batch{Shard: "b", Entries: entries("b", 1, 2), Rows: []KV{{"hb", []byte("b")}}, RowsSeq: 1})
	rows, want := ingestRowsFor(ingestMinRows, 10)
	if err := s.IngestState("a", 10, rows); err != nil {
		t.Fatal(err)
	}
	checkRows(t, s, "a", want, 10, 10)
	checkRows(t, s, "b", map[string]string{"hb": "b"}, 1, 2)
	s = reopen(t, s, fs)
	checkRows(t, s, "a", want, 10, 10)
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 11, 11)})
	checkRows(t, s, "a", want, 10, 11)
	if err := s.IngestState("a", 9, rows); err == nil {
		t.Fatal("older state ingested")
	}
	if n := s.db.Metrics().Ingest.Count; n != 0 { // counted since the reopen
		t.Fatalf("%d ingests", n)
	}
	// journal after seq: entry 11 kept
	rows2, want2 := ingestRowsFor(ingestMinRows+1, 10)
	if err := s.IngestState("a", 10, rows2); err != nil {
		t.Fatal(err)
	}
	checkRows(t, s, "a", want2, 10, 11)
	if n := s.db.Metrics().Ingest.Count; n != 1 {
		t.Fatalf("%d ingests, want 1", n)
	}
	// out of order, or small: one batch, same result
	rev := append([]KV{rows[1], rows[0]}, rows[2:]...)
	if err := s.IngestState("a", 12, rev); err != nil {
		t.Fatal(err)
	}
	checkRows(t, s, "a", want, 12, 12)
	if err := s.IngestState("a", 13, rows[:10]); err != nil {
		t.Fatal(err)
	}
	small := map[string]string{}
	for _, r := range rows[:10] {
		small[r.Key] = string(r.Value)
	}
	checkRows(t, s, "a", small, 13, 13)
	if n := s.db.Metrics().Ingest.Count; n != 1 {
		t.Fatalf("%d ingests, want 1 (the others went by ReplaceState)", n)
	}
	// over a state of more rows: every one of them goes
	more, _ := ingestRowsFor(3*ingestMinRows, 14)
	if err := s.IngestState("a", 14, more); err != nil {
		t.Fatal(err)
	}
	if err := s.IngestState("a", 15, rows); err != nil {
		t.Fatal(err)
	}
	checkRows(t, s, "a", want, 15, 15)
	checkRows(t, s, "b", map[string]string{"hb": "b"}, 1, 2)
	if n := s.db.Metrics().Ingest.Count; n != 3 {
		t.Fatalf("%d ingests, want 3", n)
	}
}

// TestIngestStateCrash: a crash at any point of IngestState over a shard
// with a state, a snapshot and a journal leaves the shard with its old state
// and journal or the new state whole — never old rows beside new ones, rows
// without their seq, or the journal without its base. Crash clones are
// taken before the call, between its steps and after it (unsynced data
// dropped or partly kept). Fails if the sstable's rows deletion is left out
// (the old rows stay beside the new ones) or its journal deletion (the old
// journal under the new rows).
func TestIngestStateCrash(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	outcomes := map[string]int{}
	for it := range 6 {
		mem := NewCrashableMem() // clones are taken while Pebble links the sstable
		s := openOn(t, mem, nil)
		old := map[string]string{}
		var oldRows []KV
		for i := range 300 {
			k, v := fmt.Sprintf("h%06d", i*3+1), fmt.Sprintf("old %d", i) // keys the new state lacks
			oldRows = append(oldRows, KV{Key: k, Value: []byte(v)})
			old[k] = v
		}
		mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 5)})
		if err := s.ReplaceState("a", 5, oldRows); err != nil {
			t.Fatal(err)
		}
		mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 6, 8)})
		if err := s.SaveSnapshot("a", 6, snapData("a", 6)); err != nil {
			t.Fatal(err)
		}
		rows, want := ingestRowsFor(ingestMinRows+rng.IntN(20_000), 20)
		var mu sync.Mutex // protects clones, rng
		var clones []CrashableMem
		clone := func() {
			mu.Lock()
			defer mu.Unlock()
			clones = append(clones, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng}))
		}
		var during sync.WaitGroup
		s.ingestStep = func(string) {
			clone() // the sstable written, not ingested
			mu.Lock()
			wait := time.Duration(rng.IntN(500)) * time.Microsecond
			mu.Unlock()
			during.Add(1)
			go func() { // while Pebble ingests it
				defer during.Done()
				time.Sleep(wait)
				clone()
			}()
		}
		clone() // before
		if err := s.IngestState("a", 20, rows); err != nil {
			t.Fatal(err)
		}
		during.Wait()
		clone() // after: the new state, durable
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for i, fs := range clones {
			c := openOn(t, fs, nil)
			names, err := fs.List(testDir)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				if strings.HasPrefix(n, ingestFilePrefix) {
					t.Fatalf("iteration %d, clone %d: %s left after open", it, i, n)
				}
			}
			got, st := loadRows(t, c, "a")
			var outcome string
			switch {
			case fmt.Sprint(got) == fmt.Sprint(old) && st.RowsSeq == 5 && st.SnapshotSeq == 6 && len(st.Entries) == 2 && st.Entries[0].Seq == 7:
				outcome = "old"
			case fmt.Sprint(got) == fmt.Sprint(want) && st.RowsSeq == 20 && st.SnapshotSeq == 0 && len(st.Entries) == 0:
				outcome = "new"
			default:
				t.Fatalf("iteration %d, clone %d of %d: %d rows at seq %d, snapshot at %d, %d entries: neither the old state nor the new one",
					it, i, len(clones), len(got), st.RowsSeq, st.SnapshotSeq, len(st.Entries))
			}
			if i == len(clones)-1 && outcome != "new" {
				t.Fatalf("iteration %d: after IngestState returned, a crash leaves %s", it, outcome)
			}
			if i <= 1 && outcome != "old" {
				t.Fatalf("iteration %d: before the ingest, a crash leaves %s", it, outcome)
			}
			outcomes[outcome]++
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("crash clones: %v", outcomes)
}

// BenchmarkWholeState: a 1,000,000-row state (FILL_HOLDS rows; keys like
// the fill's hold rows, 60-byte values), in key order, stored on an empty
// store on disk, synced, by ReplaceState (one batch: WAL, memtable) and by
// IngestState (one sstable ingested). FILL_BENCH=1.
func BenchmarkWholeState(b *testing.B) {
	if os.Getenv("FILL_BENCH") == "" {
		b.Skip("1,000,000 rows: FILL_BENCH=1")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("FILL_HOLDS")); err == nil && v > 0 {
		n = v
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]KV, n)
	for i := range rows {
		rows[i] = KV{Key: fmt.Sprintf("h\x01show/fill~%026x", rng.Uint64()), Value: bytes.Repeat([]byte{byte(i)}, 60)}
	}
	slices.SortFunc(rows, func(a, b KV) int { return cmpString(a.Key, b.Key) })
	rows = slices.CompactFunc(rows, func(a, b KV) bool { return a.Key == b.Key })
	for _, w := range []string{"replace", "ingest"} {
		b.Run(w, func(b *testing.B) {
			var cpu time.Duration
			var written float64
			for b.Loop() {
				b.StopTimer()
				s := benchOpen(b, Options{Dir: b.TempDir()})
				cpu0 := processCPU()
				b.StartTimer()
				var err error
				if w == "ingest" {
					err = s.IngestState("show/fill/0", 7, rows)
				} else {
					err = s.ReplaceState("show/fill/0", 7, rows)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				// what the state costs until it is in sstables (the batch's
				// memtable is flushed in the background after it returns)
				if err := s.db.Flush(); err != nil {
					b.Fatal(err)
				}
				cpu += processCPU() - cpu0
				m := s.db.Metrics()
				written += float64(m.WAL.BytesWritten + m.Levels[0].TableBytesFlushed + m.Levels[0].TableBytesIngested)
				for i := 1; i < len(m.Levels); i++ {
					written += float64(m.Levels[i].TableBytesIngested)
				}
				_ = s.Close()
				b.StartTimer()
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s-until-flushed/op")
			b.ReportMetric(written/float64(b.N)/1e6, "MB-written/op")
		})
	}
}

// processCPU is the CPU time the process used so far (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
