package pebble

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkRowsCommit: what a show's state rows cost Pebble per hold (issue
// 12). Each op is one writer group of 300 holds: 300 journal records
// (sequential keys) and 300 state rows keyed by random hold ids (a random
// place in the memtable's skiplist each), on a store without syncs (the
// CPU of building and applying the batches only). Ways:
//
//   - same-batch: the rows ride in the records' batch (main before issue 12)
//   - apart: the records' batch, then the rows in their own batch
//   - apart-sorted-every=K: the rows of K groups, sorted by key, in one
//     batch every K groups (the checkpointer's cadence)
//
// commit-ns/hold is the time inside Commit (and the sort) per hold; run with -benchtime Nx (N groups), the
// memtable grows through the run as in bench/serial.
func BenchmarkRowsCommit(b *testing.B) {
	const group = 300
	for _, w := range []struct {
		name  string
		apart bool
		every int
	}{{"same-batch", false, 1}, {"apart", true, 1}, {"apart-sorted-every=1", true, -1}, {"apart-sorted-every=4", true, 4},
		{"apart-sorted-every=16", true, 16}, {"apart-sorted-every=64", true, 64}} {
		b.Run(w.name, func(b *testing.B) {
			s := benchOpen(b, Options{Dir: b.TempDir(), NoSync: true})
			const shard = "show/hot/0"
			rng := rand.New(rand.NewPCG(1, 2))
			val := bytes.Repeat([]byte{7}, 60)
			var seq, rowsSeq uint64
			var pending []KV
			every := max(w.every, 1)
			n := 0
			var took time.Duration
			commit := func(bt Batch) {
				start := time.Now()
				if _, err := s.Commit(bt); err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
			}
			for b.Loop() {
				n++
				es := make([]Entry, group)
				rows := make([]KV, group)
				for i := range es {
					seq++
					es[i] = Entry{Seq: seq, Data: entryData(shard, seq)}
					rows[i] = KV{Key: fmt.Sprintf("h%016x", rng.Uint64()), Value: val}
				}
				if !w.apart {
					// rows of the group before ride with this one (one group late)
					commit(Batch{Shard: shard, Entries: es, Rows: pending, RowsSeq: rowsSeq})
					pending, rowsSeq = rows, seq
					continue
				}
				commit(Batch{Shard: shard, Entries: es})
				pending = append(pending, rows...)
				if n%every != 0 {
					continue
				}
				start := time.Now()
				if w.every < 0 || w.every > 1 {
					slices.SortFunc(pending, func(a, b KV) int { return cmpString(a.Key, b.Key) })
				}
				took += time.Since(start)
				commit(Batch{Shard: shard, Rows: pending, RowsSeq: seq})
				pending = nil
			}
			b.ReportMetric(float64(took.Nanoseconds())/float64(n*group), "commit-ns/hold")
		})
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
