package pebble

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// Benchmarks run on the disk (b.TempDir(); set TMPDIR to choose the device),
// with records of about 150 bytes, one per Commit unless the name says
// otherwise. records/s counts journal records made durable per second;
// commits/sync is how many Commits each WAL fsync carried.

func BenchmarkCommitSync(b *testing.B) {
	for _, perCommit := range []int{1, 16} {
		b.Run(fmt.Sprintf("records=%d", perCommit), func(b *testing.B) {
			benchSerial(b, Options{Dir: b.TempDir()}, perCommit)
		})
	}
}

// BenchmarkCommitNoSync: the CPU of a commit without the wait for its
// sync; records=32 is a busy show's writer group (issue 12: its entries are
// one key, a group, since the eighth round).
func BenchmarkCommitNoSync(b *testing.B) {
	for _, perCommit := range []int{1, 32} {
		b.Run(fmt.Sprintf("records=%d", perCommit), func(b *testing.B) {
			benchSerial(b, Options{Dir: b.TempDir(), NoSync: true}, perCommit)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perCommit), "ns/record")
		})
	}
}

// BenchmarkCommitSyncParallel commits from many goroutines, each its own
// shard, as shard actors do: Pebble's group commit shares fsyncs. Use -cpu
// and the parallelism sub-benchmarks to vary the number of committers.
func BenchmarkCommitSyncParallel(b *testing.B) {
	for _, par := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("par=%d", par), func(b *testing.B) {
			s := benchOpen(b, Options{Dir: b.TempDir()})
			var shards atomic.Int64
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				shard := fmt.Sprintf("show/bench/%d", shards.Add(1))
				var seq uint64
				for pb.Next() {
					seq++
					if _, err := s.Commit(Batch{Shard: shard, Entries: []Entry{{Seq: seq, Data: entryData(shard, seq)}}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			benchReport(b, s)
		})
	}
}

func benchSerial(b *testing.B, opt Options, perCommit int) {
	s := benchOpen(b, opt)
	const shard = "show/bench/0"
	es := make([]Entry, perCommit)
	var seq uint64
	for b.Loop() {
		for i := range es {
			seq++
			es[i] = Entry{Seq: seq, Data: entryData(shard, seq)}
		}
		if _, err := s.Commit(Batch{Shard: shard, Entries: es}); err != nil {
			b.Fatal(err)
		}
	}
	benchReport(b, s)
}

func benchOpen(b *testing.B, opt Options) *Store {
	s, err := Open(opt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func benchReport(b *testing.B, s *Store) {
	m := s.Metrics()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(m["journal_entries_total"]/secs, "records/s")
	b.ReportMetric(m["commits_total"]/secs, "commits/s")
	if m["wal_syncs_total"] > 0 {
		b.ReportMetric(m["commits_total"]/m["wal_syncs_total"], "commits/sync")
	}
	b.ReportMetric(m["commit_latency_p99_micros"], "p99-µs")
}
