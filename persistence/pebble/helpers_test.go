package pebble

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

const testDir = "db"

// openOn opens a store on fs; tune, if not nil, adjusts Pebble's options.
func openOn(t testing.TB, fs vfs.FS, tune func(*pebble.Options)) *Store {
	t.Helper()
	s, err := Open(Options{Dir: testDir, FS: fs, tune: tune})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// openMem opens a store on a fresh crashable in-memory filesystem.
func openMem(t testing.TB) (*Store, *vfs.MemFS) {
	t.Helper()
	fs := vfs.NewCrashableMem()
	s := openOn(t, fs, nil)
	t.Cleanup(func() { _ = s.Close() })
	return s, fs
}

// reopen closes s and opens a new store on fs.
func reopen(t testing.TB, s *Store, fs vfs.FS) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s2 := openOn(t, fs, nil)
	t.Cleanup(func() { _ = s2.Close() })
	return s2
}

// entryData is the deterministic payload of a shard's journal entry, about
// 150 bytes like an encoded seat-map record.
func entryData(shard string, seq uint64) []byte {
	head := fmt.Sprintf("%s#%d|", shard, seq)
	return append([]byte(head), bytes.Repeat([]byte{byte('a' + seq%26)}, max(150-len(head), 1))...)
}

func snapData(shard string, seq uint64) []byte {
	return []byte(fmt.Sprintf("snapshot of %s at %d", shard, seq))
}

// entries builds contiguous entries from..to of shard.
func entries(shard string, from, to uint64) []Entry {
	var es []Entry
	for seq := from; seq <= to; seq++ {
		es = append(es, Entry{Seq: seq, Data: entryData(shard, seq)})
	}
	return es
}

func mustCommit(t testing.TB, s *Store, batches ...Batch) []uint64 {
	t.Helper()
	ids, err := s.Commit(batches...)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	return ids
}

// checkShard asserts the shard loads as snapshot at snapSeq (none if 0) plus
// entries snapSeq+1..last with their deterministic data.
func checkLoad(t testing.TB, s *Store, shard string, snapSeq, last uint64) {
	t.Helper()
	snap, gotSnapSeq, es, err := s.LoadShard(shard)
	if err != nil {
		t.Fatalf("load %s: %v", shard, err)
	}
	if gotSnapSeq != snapSeq {
		t.Fatalf("load %s: snapshot seq %d, want %d", shard, gotSnapSeq, snapSeq)
	}
	if snapSeq == 0 && snap != nil {
		t.Fatalf("load %s: unexpected snapshot %q", shard, snap)
	}
	if snapSeq > 0 && !bytes.Equal(snap, snapData(shard, snapSeq)) {
		t.Fatalf("load %s: snapshot %q, want %q", shard, snap, snapData(shard, snapSeq))
	}
	if want := int(last - snapSeq); len(es) != want {
		t.Fatalf("load %s: %d entries, want %d", shard, len(es), want)
	}
	for i, e := range es {
		seq := snapSeq + 1 + uint64(i)
		if e.Seq != seq || !bytes.Equal(e.Data, entryData(shard, seq)) {
			t.Fatalf("load %s: entry %d is seq %d %q, want seq %d", shard, i, e.Seq, e.Data, seq)
		}
	}
}

var seedFlag = flag.Int64("seed", 0, "seed for randomized tests (0: time-based)")

// testSeed returns -seed or a fresh seed, and logs it so a run can be repeated
// with go test -run <Test> -seed <n>. Goroutine scheduling is not replayed.
func testSeed(t testing.TB) int64 {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (re-run with -seed %d)", seed, seed)
	return seed
}

// slowSyncs wraps fs so that every file sync first sleeps up to maxDelay:
// commits then overlap and complete out of order, as on a disk.
func slowSyncs(fs vfs.FS, maxDelay time.Duration) vfs.FS {
	return errorfs.Wrap(fs, errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			time.Sleep(rand.N(maxDelay))
		}
		return nil
	}))
}
