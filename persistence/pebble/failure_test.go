package pebble

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// TestSyncErrorFailsStore breaks WAL syncs: the Commit that hits the error
// fails, the store refuses every later write, the relay never sees the failed
// Commit's events, reads keep working, and a restart recovers what was synced.
func TestSyncErrorFailsStore(t *testing.T) {
	mem := vfs.NewCrashableMem()
	var broken atomic.Bool
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			if broken.Load() && strings.HasSuffix(op.Path, ".log") {
				return errorfs.ErrInjected
			}
		}
		return nil
	}))
	s := openOn(t, fs, nil)
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 1), Outbox: [][]byte{[]byte("ev1")}})
	broken.Store(true)
	_, err := s.Commit(Batch{Shard: "a", Entries: entries("a", 2, 2), Outbox: [][]byte{[]byte("ev2")}})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("commit with failing sync: %v, want ErrFailed", err)
	}
	t.Logf("commit with failing sync: %v", err)
	if !errors.Is(s.Err(), ErrFailed) || s.Metrics()["failed"] != 1 {
		t.Fatalf("store not failed: %v", s.Err())
	}
	broken.Store(false) // even once the disk recovers, the store stays failed
	writes := map[string]error{}
	_, writes["commit"] = s.Commit(Batch{Shard: "b", Entries: entries("b", 1, 1)})
	writes["snapshot"] = s.SaveSnapshot("a", 1, snapData("a", 1))
	writes["put"] = s.Put("k", []byte("v"), true)
	_, writes["putifabsent"] = s.PutIfAbsent("k", []byte("v"))
	writes["ack"] = s.AckOutbox(1)
	writes["delete"] = s.DeleteShard("a")
	for name, err := range writes {
		if !errors.Is(err, ErrFailed) {
			t.Errorf("%s on failed store: %v, want ErrFailed", name, err)
		}
	}
	out, err := s.OutboxAfter(0, 0)
	if err != nil || len(out) != 1 || string(out[0].Data) != "ev1" {
		t.Fatalf("outbox of failed store: %v %v, want only ev1", out, err)
	}
	if _, _, _, err := s.LoadShard("a"); err != nil {
		t.Fatalf("load on failed store: %v", err)
	}
	// The pebble commit pipeline may be wedged: do not wait on Close forever.
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Logf("close of failed store: %v", err)
	case <-time.After(5 * time.Second):
		t.Logf("close of failed store did not return within 5s")
	}
	s = openOn(t, mem.CrashClone(vfs.CrashCloneCfg{}), nil)
	defer s.Close()
	checkLoad(t, s, "a", 0, 1)
	out, _ = s.OutboxAfter(0, 0)
	if len(out) != 1 || string(out[0].Data) != "ev1" {
		t.Fatalf("outbox after restart: %v", out)
	}
}
