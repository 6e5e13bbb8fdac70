package pebble

import (
	"math"
	"math/bits"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// storeMetrics are the store's own counters, updated without locks.
type storeMetrics struct {
	commits                atomic.Uint64 // successful Commit calls that wrote something
	batches                atomic.Uint64 // Batch values written by those commits
	entries                atomic.Uint64 // journal entries written
	outboxEntries          atomic.Uint64 // outbox events written
	commitBytes            atomic.Uint64 // payload bytes (journal + outbox data) written
	syncedWrites           atomic.Uint64 // writes that waited for a WAL sync (all kinds)
	walSyncs               atomic.Uint64 // WAL file syncs issued by Pebble
	walSyncMicros          atomic.Uint64 // time spent in them, micros
	snapshots              atomic.Uint64 // SaveSnapshot calls that succeeded
	acked                  atomic.Uint64 // outbox entries deleted by AckOutbox
	reopens                atomic.Uint64 // successful Reopens of a failed store
	commitLatencyMicros    histogram     // Commit latency, micros
	commitLatencyMaxMicros atomic.Uint64 // slowest Commit, micros
}

// histogram is a lock-free log-linear histogram of non-negative integers:
// values below 8 are exact, larger ones fall in one of 8 buckets per power of
// two, so a quantile is reported within 1/8 (12.5%) of the true value.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	total  atomic.Uint64
	sum    atomic.Uint64
}

const (
	histSubBits = 3
	histSub     = 1 << histSubBits
	histBuckets = (64-histSubBits+1)*histSub + histSub
)

func histBucket(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - 1 - histSubBits // v>>e is in [histSub, 2*histSub)
	return (e+1)*histSub + int(v>>e) - histSub
}

// histUpper returns the largest value that falls in bucket i.
func histUpper(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	m := uint64(i%histSub + histSub)
	if e+histSubBits+1 >= 64 && m == 2*histSub-1 {
		return math.MaxUint64
	}
	return (m+1)<<e - 1
}

func (h *histogram) observe(v uint64) {
	h.counts[histBucket(v)].Add(1)
	h.total.Add(1)
	h.sum.Add(v)
}

// quantile returns the upper bound of the bucket holding quantile q (0..1),
// or 0 when nothing was observed.
func (h *histogram) quantile(q float64) uint64 {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return histUpper(i)
		}
	}
	return histUpper(histBuckets - 1)
}

func (h *histogram) mean() float64 {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	return float64(h.sum.Load()) / float64(n)
}

func storeMax(a *atomic.Uint64, v uint64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// syncCountingFS wraps the node's filesystem to count WAL syncs, which with
// the commit count shows how many commits each fsync carried (group commit).
type syncCountingFS struct {
	vfs.FS
	syncs      *atomic.Uint64
	syncMicros *atomic.Uint64 // time spent in WAL syncs
}

func (fs syncCountingFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return syncCountingFile{File: f, syncs: fs.syncs, syncMicros: fs.syncMicros}, nil
}

// Create implements vfs.FS.
func (fs syncCountingFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

// OpenReadWrite implements vfs.FS.
func (fs syncCountingFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, opts...)
	return fs.wrap(name, f, err)
}

// ReuseForWrite implements vfs.FS (Pebble recycles WAL files).
func (fs syncCountingFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return fs.wrap(newname, f, err)
}

// Unwrap implements vfs.FS.
func (fs syncCountingFS) Unwrap() vfs.FS { return fs.FS }

type syncCountingFile struct {
	vfs.File
	syncs      *atomic.Uint64
	syncMicros *atomic.Uint64
}

// timed adds the time since start to the file's sync time.
func (f syncCountingFile) timed(start time.Time) {
	f.syncMicros.Add(uint64(time.Since(start).Microseconds()))
}

// Sync implements vfs.File.
func (f syncCountingFile) Sync() error {
	f.syncs.Add(1)
	defer f.timed(time.Now())
	return f.File.Sync()
}

// SyncData implements vfs.File.
func (f syncCountingFile) SyncData() error {
	f.syncs.Add(1)
	defer f.timed(time.Now())
	return f.File.SyncData()
}

// SyncTo implements vfs.File.
func (f syncCountingFile) SyncTo(length int64) (bool, error) {
	defer f.timed(time.Now())
	full, err := f.File.SyncTo(length)
	if full {
		f.syncs.Add(1)
	}
	return full, err
}
