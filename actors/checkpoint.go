package actors

import (
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/boxoffice/boxoffice/facts"
)

// maxPendingRows bounds the state rows a show's checkpointer may have waiting
// (handed over, not yet taken): past it the writer waits before handing more,
// so the journal tail a recovery replays stays bounded.
const maxPendingRows = 1 << 17

// A show's checkpointer writes once checkpointRows rows wait, or
// checkpointEvery after its last write if fewer do: the rows handed over
// meanwhile are written together, sorted by key and deduplicated. A large
// sorted write is much cheaper per row than rows in every group's batch:
// a state row's key (a random hold id) lands at a random place of Pebble's
// memtable skiplist, a search from the top with a cache miss per level;
// sorted and dense, each search walks the path of the one before, in the
// CPU cache (persistence/pebble BenchmarkRowsCommit: memtable CPU per hold
// 2.0 µs in the records' batch, 1.5 µs sorted by 4,800, 0.7 µs sorted by
// 19,200, plus 0.4 µs to sort; bench/README.md, issue 12). What a recovery
// replays after the stored rows is about this much of a show's records.
const (
	checkpointRows  = 16_384
	checkpointEvery = time.Second
)

// steppedCheckpointSlots: a SteppedShow's checkpointer writes every this
// many slots (its stand-in for checkpointEvery: deterministic), so the
// simulator recovers from tails of a few groups.
const steppedCheckpointSlots = 3

// checkpointer writes a show's state rows to the local journal beside its
// writer, as their own rows-only Append (issue 12). The rows used to ride in
// the writer's records batch: their memtable inserts (a state row's key, a
// random hold id, lands at a random place of Pebble's skiplist, a search
// from the top per row) were 60-80% of the writer's CPU. Here they run on
// another goroutine, and rows handed over while one write runs are written
// together, deduplicated (a hold made and released meanwhile writes one
// tombstone; the show's meta row once).
//
// Every slot it is handed describes records that are durable and
// acknowledged (see rowSlots), so writing it at any time later is correct,
// and losing it (a crash, a failed write) loses nothing: the journal keeps
// the records after the stored rows. The writer calls quiesce before
// anything else touches the show's stored state (a failure's reload, a
// DropAfter) and stop before it ends, so no rows write of the show is ever
// in flight then.
type checkpointer struct {
	env      *Env
	identity string
	stepped  bool // no goroutine: hand writes at once (SteppedShow)

	mu          sync.Mutex // protects following fields
	cond        *sync.Cond // signalled when pending was taken, a write ended, or on stop
	pending     []rowSlot  // handed over, not yet taken, in order
	pendingRows int
	busy        bool // a write is in flight
	stopping    bool
	lastWrite   time.Time // when the last write started

	stopped chan struct{} // closed when the goroutine returned (nil when stepped)
}

// startCheckpointer starts a show's checkpointer: its goroutine unless
// goroutine is false (a SteppedShow: hand writes in the caller's step).
func startCheckpointer(env *Env, identity string, goroutine bool) *checkpointer {
	c := &checkpointer{env: env, identity: identity, stepped: !goroutine}
	c.cond = sync.NewCond(&c.mu)
	if !goroutine {
		return c
	}
	c.stopped = make(chan struct{})
	go func() {
		pprof.SetGoroutineLabels(checkpointLabels)
		defer close(c.stopped)
		c.run()
	}()
	return c
}

// hand gives the checkpointer the rows of a slot to write. It blocks while
// maxPendingRows are waiting.
func (c *checkpointer) hand(s rowSlot) {
	if len(s.rows) == 0 && s.seq == 0 {
		return
	}
	if c.stepped {
		if c.pending = append(c.pending, s); len(c.pending) >= steppedCheckpointSlots {
			slots := c.pending
			c.pending = nil
			c.write(slots)
		}
		return
	}
	c.mu.Lock()
	for c.pendingRows >= maxPendingRows && !c.stopping {
		c.cond.Wait()
	}
	first, below := len(c.pending) == 0, c.pendingRows < checkpointRows
	c.pending = append(c.pending, s)
	c.pendingRows += len(s.rows)
	if first || below && c.pendingRows >= checkpointRows {
		c.cond.Broadcast() // the goroutine arms its timer, or writes now
	}
	c.mu.Unlock()
}

// quiesce drops what waits and returns once no write is in flight.
func (c *checkpointer) quiesce() {
	c.mu.Lock()
	c.pending, c.pendingRows = nil, 0
	for c.busy {
		c.cond.Wait()
	}
	c.cond.Broadcast()
	c.mu.Unlock()
}

// stop writes what waits and returns once the goroutine ended.
func (c *checkpointer) stop() {
	if c.stepped {
		if len(c.pending) > 0 {
			slots := c.pending
			c.pending = nil
			c.write(slots)
		}
		return
	}
	c.mu.Lock()
	c.stopping = true
	c.cond.Broadcast()
	c.mu.Unlock()
	<-c.stopped
}

func (c *checkpointer) run() {
	for {
		slots, ok := c.take()
		if !ok {
			return
		}
		c.write(slots)
		c.mu.Lock()
		c.busy = false
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// take waits until a write is due (see checkpointRows) and marks it in
// flight; false once stopping with nothing left.
func (c *checkpointer) take() ([]rowSlot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for len(c.pending) == 0 && !c.stopping {
			c.cond.Wait()
		}
		wait := time.Until(c.lastWrite.Add(checkpointEvery))
		if c.stopping || c.pendingRows >= checkpointRows || wait <= 0 {
			break
		}
		t := time.AfterFunc(wait, func() {
			c.mu.Lock()
			c.cond.Broadcast()
			c.mu.Unlock()
		})
		c.cond.Wait() // the timer, enough rows, a quiesce or stop
		t.Stop()
	}
	if len(c.pending) == 0 {
		return nil, false
	}
	slots := c.pending
	c.pending, c.pendingRows, c.busy = nil, 0, true
	c.lastWrite = time.Now()
	c.cond.Broadcast()
	return slots, true
}

// write stores the slots' rows, in order, as one rows-only Append. A
// failure is the journal's (it refuses every call until recovered, so the
// show's next write fails and reloads); its reopen starts at once, as the
// show may write nothing more; the rows themselves are not needed (the
// journal keeps their records).
func (c *checkpointer) write(slots []rowSlot) {
	rows, seq := mergeSlots(slots, c.env.Remote == nil)
	c.env.Stats.CheckpointRows.Add(int64(len(rows)))
	c.env.Stats.Checkpoints.Add(1)
	if _, err := c.env.Journal.Append(c.identity, Write{Rows: rows, RowsSeq: seq}); err != nil {
		c.env.Stats.CheckpointErrors.Add(1)
		c.env.Log.Warn("writing state rows failed; the journal keeps their records", "show", c.identity, "seq", seq, "err", err)
		c.env.journalFailed() // the show may write nothing more (idle, or gone) to reload it
	}
}

// mergeSlots returns the rows of slots sorted by key, a key's last row
// only (slots are in order), and the seq of the last slot. Sorted, each
// memtable insert searches next to the one before (see checkpointEvery).
// With dropMade, a key made within the slots (its first row New) and deleted
// by their end gets no row at all: the store never held it (a hold placed
// and released within one write's window cost a tombstone, half the rows
// the checkpointer wrote under the HTTP load: issue 12). The checkpointer
// drops them only without Redis, where the local journal is the show's one
// history.
// With Redis an activation may restore Redis's history over the local one,
// and a key New to the restored shard can be in the local store from a
// history Redis never accepted (sim/vopr seed 51355919228029: its hold rows
// outlived their holds, and the show's counts went negative).
func mergeSlots(slots []rowSlot, dropMade bool) ([]facts.Row, uint64) {
	seq := slots[len(slots)-1].seq
	n := 0
	for _, s := range slots {
		n += len(s.rows)
	}
	// each key once, in the order of its first row, then only the keys
	// written are sorted: under the hot-show load most keys are a hold's,
	// made and deleted within the window (BenchmarkMergeSlots: 0.55 of the
	// time of sorting every row with holds released, the same time with
	// holds alone)
	type keyRows struct {
		last facts.Row // the key's last row: it wins
		made bool      // the key's first row was New
	}
	at := make(map[string]int32, n) // key → its index in keys
	keys := make([]keyRows, 0, n)
	for _, s := range slots {
		for _, r := range s.rows {
			if i, ok := at[r.Key]; ok {
				keys[i].last = r
				continue
			}
			at[r.Key] = int32(len(keys))
			keys = append(keys, keyRows{last: r, made: r.New})
		}
	}
	out := make([]facts.Row, 0, len(keys))
	for _, k := range keys {
		if !(dropMade && k.made && k.last.Value == nil) {
			out = append(out, k.last)
		}
	}
	slices.SortFunc(out, func(a, b facts.Row) int { return strings.Compare(a.Key, b.Key) })
	return out, seq
}
