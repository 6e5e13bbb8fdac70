package pebble

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// walFaults injects ENOSPC into WAL (*.log) syncs, and optionally writes,
// once a number of WAL syncs have passed.
type walFaults struct {
	armed     atomic.Bool
	syncsLeft atomic.Int64 // WAL syncs still allowed once armed
	writes    atomic.Bool  // also fail WAL writes once the syncs ran out
	injected  atomic.Int64
	lastOp    atomic.Value // kind of the last injected fault, for logs
}

// arm makes the WAL fail after n more successful syncs.
func (f *walFaults) arm(n int64) { f.syncsLeft.Store(n); f.armed.Store(true) }

// heal stops the faults (disk space was freed).
func (f *walFaults) heal() { f.armed.Store(false) }

func (f *walFaults) wrap(fs vfs.FS) vfs.FS {
	return errorfs.Wrap(fs, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if !f.armed.Load() || !strings.HasSuffix(op.Path, ".log") {
			return nil
		}
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			if f.syncsLeft.Add(-1) >= 0 {
				return nil
			}
		case errorfs.OpFileWrite, errorfs.OpFileWriteAt:
			if !f.writes.Load() || f.syncsLeft.Load() > 0 {
				return nil
			}
		default:
			return nil
		}
		f.injected.Add(1)
		f.lastOp.Store(fmt.Sprint(op))
		return fmt.Errorf("injected: %w", syscall.ENOSPC)
	}))
}

// checkReadsFail asserts that every read of a failed store returns ErrFailed.
func checkReadsFail(t *testing.T, s *Store) {
	t.Helper()
	reads := map[string]error{}
	_, _, _, reads["load"] = s.LoadShard("a")
	_, _, reads["get"] = s.Get("k")
	_, reads["outbox"] = s.OutboxAfter(0, 0)
	_, reads["outboxlen"] = s.OutboxLen()
	_, reads["shards"] = s.Shards()
	reads["scankv"] = s.ScanKV("", func(string, []byte) bool { return true })
	for name, err := range reads {
		if !errors.Is(err, ErrFailed) {
			t.Errorf("%s on failed store: %v, want ErrFailed", name, err)
		}
	}
	if s.Metrics()["failed"] != 1 {
		t.Errorf("failed metric not 1")
	}
}

// TestReopenAfterWALFault: commit A succeeds, commit B hits an injected
// ENOSPC (on the sync, or on the write and the sync); reads fail until
// Reopen, Reopen fails while the disk is still full, and once healed Reopen
// shows A and nothing of B (journal, outbox, Batch.Puts), and the journal
// continues after A. A restart agrees.
func TestReopenAfterWALFault(t *testing.T) {
	for _, writes := range []bool{false, true} {
		t.Run(fmt.Sprintf("writes=%v", writes), func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			faults := &walFaults{}
			faults.writes.Store(writes)
			s := openOn(t, faults.wrap(mem), nil)
			defer func() { _ = s.Close() }()
			idsA := mustCommit(t, s,
				Batch{Shard: "a", Entries: entries("a", 1, 2), Outbox: [][]byte{[]byte("evA")},
					Puts: []KV{{"arch/A", []byte("A")}}},
				Batch{Shard: "b", Entries: entries("b", 1, 1)})
			faults.arm(0)
			_, err := s.Commit(
				Batch{Shard: "a", Entries: entries("a", 3, 4), Outbox: [][]byte{[]byte("evB")},
					Puts: []KV{{"arch/B", []byte("B")}}},
				Batch{Shard: "c", Entries: entries("c", 1, 1), Outbox: [][]byte{[]byte("evB2")}})
			if !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("commit B: %v, want ErrFailed wrapping ENOSPC", err)
			}
			t.Logf("commit B: %v (%d faults injected, last on %v)", err, faults.injected.Load(), faults.lastOp.Load())
			checkReadsFail(t, s)
			writes := map[string]error{}
			_, writes["commit"] = s.Commit(Batch{Shard: "b", Entries: entries("b", 2, 2)})
			_, _, writes["commitheld"] = s.CommitHeld(Batch{Shard: "b", Entries: entries("b", 2, 2)})
			writes["snapshot"] = s.SaveSnapshot("a", 1, snapData("a", 1))
			writes["put"] = s.Put("k", []byte("v"), true)
			_, writes["putifabsent"] = s.PutIfAbsent("k", []byte("v"))
			writes["ack"] = s.AckOutbox(idsA...)
			writes["delete"] = s.DeleteShard("b")
			writes["drop"] = s.DropShardAfter("b", 0)
			writes["deletekv"] = s.DeleteKV("arch/A")
			for name, err := range writes {
				if !errors.Is(err, ErrFailed) {
					t.Errorf("%s on failed store: %v, want ErrFailed", name, err)
				}
			}
			if err := s.Reopen(); !errors.Is(err, ErrFailed) {
				t.Fatalf("reopen on a still full disk: %v, want ErrFailed", err)
			} else {
				t.Logf("reopen on a still full disk: %v", err)
			}
			checkReadsFail(t, s)
			faults.heal()
			if err := s.Reopen(); err != nil {
				t.Fatalf("reopen: %v", err)
			}
			if err := s.Reopen(); err != nil { // healthy: no-op
				t.Fatalf("second reopen: %v", err)
			}
			if m := s.Metrics(); m["failed"] != 0 || m["reopens_total"] != 1 {
				t.Fatalf("metrics failed %v reopens %v", m["failed"], m["reopens_total"])
			}
			for round := range 2 {
				checkLoad(t, s, "a", 0, 2)
				checkLoad(t, s, "b", 0, 1)
				checkLoad(t, s, "c", 0, 0)
				checkGet(t, s, "arch/A", "A")
				checkGet(t, s, "arch/B", "")
				out, err := s.OutboxAfter(0, 0)
				if err != nil || len(out) != 1 || out[0].ID != idsA[0] || string(out[0].Data) != "evA" ||
					out[0].Shard != "a" || out[0].Seq != 2 {
					t.Fatalf("round %d: outbox %+v %v, want only evA from a@2", round, out, err)
				}
				if n, _ := s.OutboxLen(); n != 1 {
					t.Fatalf("round %d: outbox len %d", round, n)
				}
				if sh, _ := s.Shards(); strings.Join(sh, ",") != "a,b" {
					t.Fatalf("round %d: shards %q", round, sh)
				}
				if round == 0 {
					ids := mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 3, 3), Outbox: [][]byte{[]byte("evC")}})
					if ids[0] <= idsA[0]+2 {
						t.Fatalf("id %d after reopen reuses an id of the failed commit", ids[0])
					}
					checkLoad(t, s, "a", 0, 3)
					if err := s.AckOutbox(ids...); err != nil {
						t.Fatal(err)
					}
					if _, err := s.Commit(Batch{Shard: "a", Entries: entries("a", 3, 3)}); !errors.Is(err, ErrSeqGap) {
						t.Fatalf("duplicate seq after reopen: %v", err)
					}
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					s = openOn(t, mem.CrashClone(vfs.CrashCloneCfg{}), nil)
					// restart: "a" now has 3 (checked by adjusting below)
					checkLoad(t, s, "a", 0, 3)
					// the rest of the round checks "a" up to 2: drop 3 to reuse them
					if err := s.DropShardAfter("a", 2); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

func checkGet(t *testing.T, s *Store, key, want string) {
	t.Helper()
	v, ok, err := s.Get(key)
	if err != nil || ok != (want != "") || string(v) != want {
		t.Fatalf("get %s: %q %v %v, want %q", key, v, ok, err, want)
	}
}

// TestReopenPurgesWrittenFailedBatch: the failed Commit's bytes reached the
// WAL file (only the sync failed), so reopening the database replays it: a
// plain reopen of a copy of the files shows B, and Reopen must delete it.
func TestReopenPurgesWrittenFailedBatch(t *testing.T) {
	mem := vfs.NewCrashableMem()
	faults := &walFaults{}
	s := openOn(t, faults.wrap(mem), nil)
	defer func() { _ = s.Close() }()
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 1, 1), Outbox: [][]byte{[]byte("evA")}})
	faults.arm(0)
	if _, err := s.Commit(Batch{Shard: "a", Entries: entries("a", 2, 3), Outbox: [][]byte{[]byte("evB")},
		Puts: []KV{{"arch/B", []byte("B")}}}); !errors.Is(err, ErrFailed) {
		t.Fatalf("commit B: %v", err)
	}
	// The bytes of B are in the WAL file: an unpurged reopen sees B.
	raw := openOn(t, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 100, RNG: rand.New(rand.NewPCG(1, 1))}), nil)
	_, _, es, err := raw.LoadShard("a")
	_ = raw.Close()
	if err != nil || len(es) != 3 {
		t.Fatalf("plain reopen of the files: %d entries %v, want 3 (B replayed from the WAL)", len(es), err)
	}
	faults.heal()
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	checkLoad(t, s, "a", 0, 1)
	checkGet(t, s, "arch/B", "")
	if out, _ := s.OutboxAfter(0, 0); len(out) != 1 || string(out[0].Data) != "evA" {
		t.Fatalf("outbox %+v", out)
	}
	mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", 2, 2)})
	// and a crash right after keeps the purge (it was synced)
	c := openOn(t, mem.CrashClone(vfs.CrashCloneCfg{}), nil)
	defer c.Close()
	checkLoad(t, c, "a", 0, 2)
	checkGet(t, c, "arch/B", "")
}

// TestReopenPurgesFailedPuts: a failed Put or PutIfAbsent is absent after
// Reopen, also when its bytes reached the WAL.
func TestReopenPurgesFailedPuts(t *testing.T) {
	for _, op := range []string{"put", "putifabsent", "put-nosync"} {
		t.Run(op, func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			faults := &walFaults{}
			s := openOn(t, faults.wrap(mem), nil)
			defer func() { _ = s.Close() }()
			if err := s.Put("old", []byte("1"), true); err != nil {
				t.Fatal(err)
			}
			faults.arm(0)
			var err error
			switch op {
			case "put":
				err = s.Put("k", []byte("v"), true)
			case "putifabsent":
				_, err = s.PutIfAbsent("k", []byte("v"))
			case "put-nosync":
				if err = s.Put("k", []byte("v"), false); err == nil {
					// an unsynced write succeeds; the next synced one fails
					err = s.Put("k2", []byte("v"), true)
				}
			}
			if !errors.Is(err, ErrFailed) {
				t.Fatalf("%s: %v, want ErrFailed", op, err)
			}
			faults.heal()
			if err := s.Reopen(); err != nil {
				t.Fatal(err)
			}
			checkGet(t, s, "old", "1")
			checkGet(t, s, "k2", "")
			if op != "put-nosync" {
				checkGet(t, s, "k", "")
			}
		})
	}
}

// TestReopenRestoresOverwrittenValue: a failed Put over a value leaves the
// value it overwrote after Reopen, also when its bytes reached the WAL (the
// local epoch of a show: deleting it made a node forget it was the show's
// last writer, and trust a Redis that had lost acknowledged records; found by
// sim/vopr seed 1046 on Pebble).
func TestReopenRestoresOverwrittenValue(t *testing.T) {
	for _, sync := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			faults := &walFaults{}
			s := openOn(t, faults.wrap(mem), nil)
			defer func() { _ = s.Close() }()
			if err := s.Put("epoch/a", []byte("5:30"), true); err != nil {
				t.Fatal(err)
			}
			faults.arm(0)
			err := s.Put("epoch/a", []byte("6:31"), sync)
			if err == nil { // an unsynced Put succeeds; the next synced write fails
				err = s.Put("other", []byte("x"), true)
			}
			if !errors.Is(err, ErrFailed) {
				t.Fatalf("put: %v, want ErrFailed", err)
			}
			faults.heal()
			if err := s.Reopen(); err != nil {
				t.Fatal(err)
			}
			if sync {
				checkGet(t, s, "epoch/a", "5:30")
			} else if v, ok, err := s.Get("epoch/a"); err != nil || !ok || (string(v) != "5:30" && string(v) != "6:31") {
				t.Fatalf("get epoch/a: %q %v %v, want the old or the new value", v, ok, err)
			}
			checkGet(t, s, "other", "")
		})
	}
}

// TestReopenRandomFaults runs concurrent shard writers (commits with events
// and puts) and a relay; a WAL fault hits after a random number of syncs; the
// store is reopened and must hold exactly the Commits that returned nil, then
// the next round continues on it. Seeded (-seed).
func TestReopenRandomFaults(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	mem := vfs.NewCrashableMem()
	faults := &walFaults{}
	s := openOn(t, faults.wrap(mem), nil)
	defer func() { _ = s.Close() }()
	const writers, rounds = 4, 6
	type shardState struct {
		last   uint64
		events map[string]bool // events of acknowledged commits, not acked by the relay
	}
	state := make([]*shardState, writers)
	for w := range state {
		state[w] = &shardState{events: map[string]bool{}}
	}
	puts := map[string]bool{} // key -> committed (true) or failed (false)
	var putsMu sync.Mutex
	for round := range rounds {
		faults.writes.Store(rng.IntN(2) == 0)
		faults.arm(int64(rng.IntN(40)))
		var wg sync.WaitGroup
		for w := range writers {
			wr := rand.New(rand.NewPCG(uint64(seed), uint64(100*round+w)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := state[w]
				shard := fmt.Sprintf("show/r/%d", w)
				for n := 0; ; n++ {
					k := uint64(1 + wr.IntN(3))
					ev := fmt.Sprintf("%s/%d/%d", shard, round, n)
					key := "arch/" + ev
					_, err := s.Commit(Batch{Shard: shard, Entries: entries(shard, st.last+1, st.last+k),
						Outbox: [][]byte{[]byte(ev)}, Puts: []KV{{key, []byte(ev)}}})
					putsMu.Lock()
					puts[key] = err == nil
					putsMu.Unlock()
					if err != nil {
						if !errors.Is(err, ErrFailed) {
							t.Errorf("commit: %v", err)
						}
						return
					}
					st.last += k
					st.events[ev] = true
				}
			}()
		}
		wg.Wait()
		faults.heal()
		if err := s.Reopen(); err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		for w, st := range state {
			checkLoad(t, s, fmt.Sprintf("show/r/%d", w), 0, st.last)
		}
		out, err := s.OutboxAfter(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range out {
			got[string(e.Data)] = true
		}
		for w, st := range state {
			for ev := range st.events {
				if !got[ev] {
					t.Fatalf("round %d: event %s of an acknowledged commit missing", round, ev)
				}
				delete(got, ev)
			}
			_ = w
		}
		if len(got) != 0 {
			t.Fatalf("round %d: events of failed commits in the outbox: %v", round, got)
		}
		for key, ok := range puts {
			_, there, err := s.Get(key)
			if err != nil || there != ok {
				t.Fatalf("round %d: key %s present %v, committed %v (%v)", round, key, there, ok, err)
			}
		}
		// the relay acknowledges half of the outbox
		var ack []uint64
		for _, e := range out {
			if rng.IntN(2) == 0 {
				ack = append(ack, e.ID)
				delete(state[eventWriter(string(e.Data))].events, string(e.Data))
			}
		}
		if err := s.AckOutbox(ack...); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: WAL writes fail too %v, %d faults injected, outbox %d", round, faults.writes.Load(),
			faults.injected.Load(), len(out))
	}
}

// eventWriter returns w of an event "show/r/<w>/...".
func eventWriter(ev string) int {
	var w int
	_, _ = fmt.Sscanf(strings.TrimPrefix(ev, "show/r/"), "%d", &w)
	return w
}

// TestOnFailCalledOncePerFailure: the OnFail hook runs when the store fails,
// whichever call failed it (the relay's AckOutbox, a Put, a Commit), once
// per failure (not for the calls refused afterwards), and again after a
// Reopen when the store fails anew; it runs before the failing call returns.
func TestOnFailCalledOncePerFailure(t *testing.T) {
	for _, op := range []string{"ackoutbox", "put", "commit"} {
		t.Run(op, func(t *testing.T) {
			faults := &walFaults{}
			s := openOn(t, faults.wrap(vfs.NewMem()), nil)
			defer func() { _ = s.Close() }()
			var calls atomic.Int64
			s.OnFail(func() { calls.Add(1) })
			fail := func(n int) {
				t.Helper()
				ids := mustCommit(t, s, Batch{Shard: "a", Entries: entries("a", uint64(n), uint64(n)), Outbox: [][]byte{[]byte("e")}})
				faults.arm(0)
				var err error
				switch op {
				case "ackoutbox":
					err = s.AckOutbox(ids[0])
				case "put":
					err = s.Put("k", []byte("v"), true)
				case "commit":
					_, err = s.Commit(Batch{Shard: "a", Entries: entries("a", uint64(n)+1, uint64(n)+1)})
				}
				if !errors.Is(err, ErrFailed) {
					t.Fatalf("%s: %v, want ErrFailed", op, err)
				}
				if got := calls.Load(); got != int64(n) {
					t.Fatalf("OnFail called %d times after failure %d", got, n)
				}
				if err := s.Put("k2", []byte("v"), true); !errors.Is(err, ErrFailed) { // refused: no new failure
					t.Fatalf("put on a failed store: %v", err)
				}
				faults.heal()
				if err := s.Reopen(); err != nil {
					t.Fatal(err)
				}
			}
			fail(1)
			fail(2)
			if got := calls.Load(); got != 2 {
				t.Fatalf("OnFail called %d times for 2 failures", got)
			}
		})
	}
}

// TestReopenRestoresValueOverwrittenByCommitPut: a failed Commit whose
// Batch.Puts write a key that already holds a durable value (an order
// archived again after its show went back to an older state) must leave
// that value after Reopen, not delete it. The deletion lost the only copy of
// an acknowledged order once Redis lost its own (VOPR seed 244629668889926).
func TestReopenRestoresValueOverwrittenByCommitPut(t *testing.T) {
	mem := vfs.NewCrashableMem()
	faults := &walFaults{}
	s := openOn(t, faults.wrap(mem), nil)
	defer func() { _ = s.Close() }()
	if _, err := s.Commit(Batch{Shard: "a", Entries: []Entry{{Seq: 1, Data: []byte("r1")}},
		Puts: []KV{{Key: "archive/o1", Value: []byte("v1")}}}); err != nil {
		t.Fatal(err)
	}
	faults.arm(0)
	_, err := s.Commit(Batch{Shard: "a", Entries: []Entry{{Seq: 2, Data: []byte("r2")}},
		Puts: []KV{{Key: "archive/o1", Value: []byte("v2")}, {Key: "archive/o2", Value: []byte("w")}}})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("commit: %v, want ErrFailed", err)
	}
	faults.heal()
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	checkGet(t, s, "archive/o1", "v1") // the durable value, not deleted
	checkGet(t, s, "archive/o2", "")   // the failed Commit's new key: gone
}
