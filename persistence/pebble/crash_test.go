package pebble

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestCrashAtomicity commits from many goroutines (several shards per Commit,
// with outbox events) while a relay reads and acknowledges the outbox and
// snapshots truncate journals; at a random moment it takes a crash clone of
// the filesystem (unsynced data dropped, or partly kept), reopens the clone
// and checks:
//   - every Commit, SaveSnapshot and AckOutbox that returned nil before the
//     clone is fully present;
//   - no Commit is partially present (per shard, across shards, outbox);
//   - every event the relay received before the clone belongs to a present
//     Commit (the relay only sees durable events);
//   - outbox ids stay above every id handed out and durable.
//
// The recovered store goes on into the next iteration, so recovery of a
// recovered database is exercised too.
func TestCrashAtomicity(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	mem := NewCrashableMem() // cloned while writers commit (and Pebble recycles WALs)
	const iterations, writers, shardsPerWriter = 16, 6, 2
	last := map[string]uint64{} // shard -> last seq recovered so far
	var shards []string
	for w := range writers {
		for k := range shardsPerWriter {
			shards = append(shards, fmt.Sprintf("crash/w%d/%d", w, k))
		}
	}
	for it := range iterations {
		memTableBytes := uint64(32<<10) << rng.IntN(4)
		tune := func(o *pebble.Options) { o.MemTableSize = memTableBytes }
		// Long syncs widen the window in which a commit is visible but not
		// durable; short ones give many commits per iteration.
		syncDelay := []time.Duration{20 * time.Microsecond, 200 * time.Microsecond, time.Millisecond}[rng.IntN(3)]
		s := openOn(t, slowSyncs(mem, syncDelay), tune)
		rec := newCrashRecorder()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cw := crashWriter{
					s: s, rec: rec, it: it, w: w,
					rng:  rand.New(rand.NewPCG(uint64(seed), uint64(it*writers+w+1))),
					last: map[string]uint64{},
				}
				for _, sh := range shards[w*shardsPerWriter : (w+1)*shardsPerWriter] {
					cw.shards = append(cw.shards, sh)
					cw.last[sh] = last[sh]
				}
				cw.run(t, stop)
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.relay(t, s, stop, rand.New(rand.NewPCG(uint64(seed), uint64(1000+it))))
		}()

		time.Sleep(time.Duration(rng.IntN(30_000)) * time.Microsecond)
		before := rec.freeze()
		unsynced := rng.IntN(101)
		clone := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: unsynced, RNG: rng})
		close(stop)
		wg.Wait()
		flushes := s.Metrics()["pebble_flushes_total"]
		_ = s.Close()
		t.Logf("iteration %d: syncs up to %v, memtable %d KiB, %d commits returned before the crash, %d attempted, "+
			"%d relayed, %.0f flushes, unsynced data kept %d%%", it, syncDelay, memTableBytes>>10, len(before.committed),
			len(rec.attempts), len(before.seen), flushes, unsynced)

		mem = clone
		s = openOn(t, mem, tune)
		checkCrash(t, s, shards, last, rec, before)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
}

// crashAttempt is one Commit as the writer built it.
type crashAttempt struct {
	uid     string
	batches []seqRange // shard seq ranges (every attempt has at least one)
	events  []string   // outbox event payloads
}

type seqRange struct {
	shard       string
	first, last uint64
}

// crashView is what had returned before the crash clone was taken.
type crashView struct {
	committed map[string]bool   // attempt uid -> Commit returned nil
	snapshots map[string]uint64 // shard -> highest seq of a SaveSnapshot that returned nil
	seen      map[string]uint64 // event -> id, received by the relay
	acked     map[string]bool   // event -> AckOutbox returned nil
}

type crashRecorder struct {
	mu       sync.Mutex // protects following fields
	attempts []*crashAttempt
	ackTried map[string]bool // event -> passed to AckOutbox (may be deleted)
	view     crashView
}

func newCrashRecorder() *crashRecorder {
	return &crashRecorder{
		ackTried: map[string]bool{},
		view: crashView{committed: map[string]bool{}, snapshots: map[string]uint64{},
			seen: map[string]uint64{}, acked: map[string]bool{}},
	}
}

// freeze copies the view; everything in it returned before freeze returned.
func (r *crashRecorder) freeze() crashView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return crashView{committed: clone(r.view.committed), snapshots: clone(r.view.snapshots),
		seen: clone(r.view.seen), acked: clone(r.view.acked)}
}

func clone[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

type crashWriter struct {
	s      *Store
	rec    *crashRecorder
	it, w  int
	rng    *rand.Rand
	shards []string
	last   map[string]uint64
	n      int
}

func (cw *crashWriter) run(t *testing.T, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if cw.rng.IntN(10) == 0 {
			cw.snapshot(t)
			continue
		}
		if !cw.commit(t) {
			return
		}
	}
}

func (cw *crashWriter) snapshot(t *testing.T) {
	sh := cw.shards[cw.rng.IntN(len(cw.shards))]
	seq := cw.last[sh]
	if seq == 0 {
		return
	}
	if err := cw.s.SaveSnapshot(sh, seq, snapData(sh, seq)); err != nil {
		t.Errorf("snapshot: %v", err)
		return
	}
	cw.rec.mu.Lock()
	cw.rec.view.snapshots[sh] = max(cw.rec.view.snapshots[sh], seq)
	cw.rec.mu.Unlock()
}

// commit builds a Commit of 1-3 batches over the writer's shards (a shard may
// appear twice) with 0-3 events, records it, commits it and records success.
func (cw *crashWriter) commit(t *testing.T) bool {
	cw.n++
	a := &crashAttempt{uid: fmt.Sprintf("i%d/w%d/c%d", cw.it, cw.w, cw.n)}
	next := clone(cw.last)
	var batches []Batch
	for range 1 + cw.rng.IntN(3) {
		sh := cw.shards[cw.rng.IntN(len(cw.shards))]
		n := uint64(1 + cw.rng.IntN(4))
		batches = append(batches, Batch{Shard: sh, Entries: entries(sh, next[sh]+1, next[sh]+n)})
		a.batches = append(a.batches, seqRange{sh, next[sh] + 1, next[sh] + n})
		next[sh] += n
	}
	for i := range cw.rng.IntN(4) {
		ev := fmt.Sprintf("%s/e%d", a.uid, i)
		b := &batches[cw.rng.IntN(len(batches))]
		b.Outbox = append(b.Outbox, []byte(ev))
		a.events = append(a.events, ev)
	}
	cw.rec.mu.Lock()
	cw.rec.attempts = append(cw.rec.attempts, a)
	cw.rec.mu.Unlock()
	if _, err := cw.s.Commit(batches...); err != nil {
		t.Errorf("commit %s: %v", a.uid, err)
		return false
	}
	cw.last = next
	cw.rec.mu.Lock()
	cw.rec.view.committed[a.uid] = true
	cw.rec.mu.Unlock()
	return true
}

// relay reads the outbox with a cursor and acknowledges about half of it
// until stop is closed.
func (r *crashRecorder) relay(t *testing.T, s *Store, stop <-chan struct{}, rng *rand.Rand) {
	var cursor uint64
	for {
		select {
		case <-stop:
			return
		default:
		}
		page, err := s.OutboxAfter(cursor, 1+rng.IntN(20))
		if err != nil {
			t.Errorf("outbox after: %v", err)
			return
		}
		var ack []uint64
		var ackEvents []string
		r.mu.Lock()
		for _, e := range page {
			cursor = e.ID
			r.view.seen[string(e.Data)] = e.ID
			if rng.IntN(2) == 0 {
				ack = append(ack, e.ID)
				ackEvents = append(ackEvents, string(e.Data))
				r.ackTried[string(e.Data)] = true
			}
		}
		r.mu.Unlock()
		if len(page) == 0 {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		if err := s.AckOutbox(ack...); err != nil {
			t.Errorf("ack: %v", err)
			return
		}
		r.mu.Lock()
		for _, ev := range ackEvents {
			r.view.acked[ev] = true
		}
		r.mu.Unlock()
	}
}

// checkCrash verifies the reopened store against what was attempted and what
// had returned before the crash, and updates last to the recovered seqs.
func checkCrash(t *testing.T, s *Store, shards []string, last map[string]uint64, rec *crashRecorder, before crashView) {
	t.Helper()
	for _, sh := range shards {
		snap, snapSeq, es, err := s.LoadShard(sh)
		if err != nil {
			t.Fatalf("load %s: %v", sh, err)
		}
		if snapSeq > 0 && string(snap) != string(snapData(sh, snapSeq)) {
			t.Fatalf("%s: snapshot %q at %d", sh, snap, snapSeq)
		}
		if snapSeq < before.snapshots[sh] {
			t.Fatalf("%s: snapshot at %d returned before the crash, recovered %d", sh, before.snapshots[sh], snapSeq)
		}
		for i, e := range es {
			if want := snapSeq + 1 + uint64(i); e.Seq != want || string(e.Data) != string(entryData(sh, want)) {
				t.Fatalf("%s: entry %d is seq %d, want %d (journal not contiguous or data wrong)", sh, i, e.Seq, want)
			}
		}
		last[sh] = snapSeq + uint64(len(es))
	}
	outbox, err := s.OutboxAfter(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.OutboxLen(); n != len(outbox) {
		t.Fatalf("outbox len %d, %d entries", n, len(outbox))
	}
	present := map[string]uint64{}
	var maxID uint64
	for _, e := range outbox {
		present[string(e.Data)] = e.ID
		maxID = max(maxID, e.ID)
	}
	for _, a := range rec.attempts {
		checkAttempt(t, a, last, present, rec.ackTried, before)
	}
	for ev := range before.acked {
		if _, ok := present[ev]; ok {
			t.Fatalf("event %s acknowledged before the crash is back in the outbox", ev)
		}
	}
	for _, id := range before.seen {
		maxID = max(maxID, id)
	}
	ids, err := s.Commit(Batch{Outbox: [][]byte{[]byte("after-crash")}})
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] <= maxID {
		t.Fatalf("new outbox id %d not above %d, handed out before the crash", ids[0], maxID)
	}
	if err := s.AckOutbox(ids...); err != nil {
		t.Fatal(err)
	}
}

// checkAttempt asserts one Commit is all there or not at all.
func checkAttempt(t *testing.T, a *crashAttempt, last map[string]uint64, present map[string]uint64,
	ackTried map[string]bool, before crashView) {
	t.Helper()
	in := a.batches[0].last <= last[a.batches[0].shard]
	for _, b := range a.batches {
		if b.first <= last[b.shard] && last[b.shard] < b.last {
			t.Fatalf("commit %s: shard %s has %d..%d of %d..%d", a.uid, b.shard, b.first, last[b.shard], b.first, b.last)
		}
		if got := b.last <= last[b.shard]; got != in {
			t.Fatalf("commit %s: partially present (shard %s %v, shard %s %v)",
				a.uid, a.batches[0].shard, in, b.shard, got)
		}
	}
	if before.committed[a.uid] && !in {
		t.Fatalf("commit %s returned before the crash and is lost", a.uid)
	}
	for _, ev := range a.events {
		_, there := present[ev]
		_, seen := before.seen[ev]
		switch {
		case in && !there && !ackTried[ev]:
			t.Fatalf("commit %s is present but its event %s is not", a.uid, ev)
		case !in && there:
			t.Fatalf("commit %s is lost but its event %s is in the outbox", a.uid, ev)
		case !in && seen:
			t.Fatalf("relay received event %s of commit %s, which is lost: it saw unsynced data", ev, a.uid)
		}
	}
}
