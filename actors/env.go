package actors

import (
	"context"
	"github.com/boxoffice/boxoffice/actors/stream"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/asynkron/protoactor-go/actor"
	"sync"
	"sync/atomic"
	"time"
)

// Env is what every shard actor of a node shares. Set it up before the first
// actor starts and do not change it after.
type Env struct {
	Journal Journal
	// Remote, when set, is the authority of every show (Redis): nothing is
	// acknowledged before it accepted it.
	Remote Remote
	// Registry knows which shows exist (default: in memory).
	Registry Registry
	Log      *slog.Logger
	// NowMs is the clock, in Unix milliseconds. Only the actor reads it; the
	// core gets the value as an input.
	NowMs func() int64
	// systemNow: NowMs is the system clock (set by defaults), so the actor
	// may take the time of a message from its own stopwatch (showActor.nowMs)
	systemNow bool
	// Clock runs the shell's timers and its lease clock (default
	// SystemClock; the simulator's in sim/vopr).
	Clock Clock
	// SnapshotEvery is unused: a show's state is checkpointed incrementally
	// (state rows, with every batch), never by a whole snapshot. Kept so
	// that callers that set it still compile.
	SnapshotEvery int
	// HoldAckApplied answers hold, release and extend commands as soon as the
	// shard applied them, before their journal batch is synced (orders and
	// payments always wait for the sync). Their records are still journaled,
	// in order, so an order of a hold is never durable before its hold; what a
	// crash can lose is a hold acknowledged in the last sync interval (its
	// seat is then free again after the restart). Off by default.
	HoldAckApplied bool
	// OnEvents is called (from actor goroutines, must not block) after a batch
	// with order events was made durable: the relay's wake-up.
	OnEvents func()
	// Streams receives every show's durable inventory events (the SSE
	// stream); one is made when nil.
	Streams *stream.Hub
	// InventoryOutbox: also write every inventory event to the outbox, as
	// an event of type seatmap.EventInventory (for the inventory topic).
	InventoryOutbox bool
	// Stats collects per-shard gauges and node counters.
	Stats *Stats
	// Lease, with a Remote that is a Leaser (Redis), makes every activation
	// hold a lease on its show in Redis and answer anything (reads and
	// refusals included) only while it can prove it by its own clock; a
	// new activation waits for the old lease to run out (or be released).
	// Set it when several nodes may activate a show (a cluster); 0: off.
	Lease time.Duration
	// Draining, when set and true, makes new activations on this node
	// refuse everything (the node is leaving the cluster; callers resolve
	// the show again).
	Draining func() bool

	writers sync.WaitGroup // journal writer goroutines still running
	live    sync.Map       // identity -> *actor.PID of this node's show activations
	broken  sync.Map       // identity -> why its recovery failed (retried)
	// seatsViews: identity -> *atomic.Pointer[seatsView], the seat states of
	// this node's show activations (see seats_view.go)
	seatsViews sync.Map
	// reopening is set while a goroutine reopens the failed journal
	reopening atomic.Bool
	// watching is set once the journal (a FailureNotifier) calls
	// journalFailed whenever it fails
	watching atomic.Bool
}

// DefaultLease is the lease a cluster node's activations hold (Env.Lease):
// a dead node's shows are activated elsewhere at most this long after its
// last renewal, and an activation whose renewals fail stops answering
// within it.
const DefaultLease = 1200 * time.Millisecond

// Leaser is the lease part of Remote (persistence/redis.Client implements it).
type Leaser interface {
	ActivateLease(ctx context.Context, show string, prev uint64, ttl time.Duration) (uint64, time.Duration, error)
	RenewLease(ctx context.Context, show string, epoch uint64, ttl time.Duration) error
	ReleaseLease(ctx context.Context, show string, epoch uint64) (bool, error)
}

// leaser returns the Leaser when leases are on, else nil.
func (e *Env) leaser() Leaser {
	if e.Lease <= 0 || e.Remote == nil {
		return nil
	}
	l, _ := e.Remote.(Leaser)
	return l
}

func (e *Env) draining() bool { return e.Draining != nil && e.Draining() }

// journalReady reports whether the journal can be read. After a failed
// write it starts (once) reopening the journal in the background and reports
// false until that succeeded.
func (e *Env) journalReady() bool {
	if !e.Journal.Failed() {
		return true
	}
	e.journalFailed()
	return false
}

// journalFailed starts reopening the journal (once, in the background) if
// a write failed it. Every path that writes the journal calls it after an
// error, not only a show's next load: the show whose write failed may never
// load again (it stopped or moved away before its retry, or the failed
// write was a rows-only checkpoint after its last command), and the node's
// relay reads nothing from a failed journal, so the events in its outbox
// would never be delivered (sim/vopr seed 182739296159656 on 5837d77: a
// recovery's own Append failed, the show moved away before retrying, and a
// paid order's user was never told).
func (e *Env) journalFailed() {
	if e.Journal.Failed() && e.reopening.CompareAndSwap(false, true) {
		e.reopenJournal(0)
	}
}

// reopenJournalMaxDelay caps the pause between two attempts to reopen a
// failed journal.
const reopenJournalMaxDelay = 5 * time.Second

// reopenJournal reopens the failed journal after delay, in the background,
// and tries again (backing off) until it succeeds: not only when a show
// asks. A node whose shows all moved away after its disk failed must still
// reopen it, or its relay never delivers the outbox of the node again
// (sim/vopr seed 150064220359702: a charge neither paid nor refunded).
func (e *Env) reopenJournal(delay time.Duration) {
	e.Clock.AfterFunc(delay, func() {
		start := e.Clock.Now()
		if err := e.Journal.Recover(); err != nil {
			next := min(max(2*delay, 50*time.Millisecond), reopenJournalMaxDelay)
			e.Log.Error("reopening the journal failed; retrying", "err", err, "in", next)
			e.reopenJournal(next)
			return
		}
		e.reopening.Store(false)
		e.Log.Info("journal reopened after a failed write", "took", e.Clock.Now().Sub(start))
		e.journalFailed() // failed again before reopening was cleared
	})
}

// watchJournal makes a journal that is a FailureNotifier start the reopen
// whenever it fails, whoever failed it (once per Env): the relay's
// AckOutbox, the consumers' dedupe keys and dead letters write the same
// Pebble store and never call journalFailed themselves. A journal that
// failed before it was watched is reopened now.
func (e *Env) watchJournal() {
	n, ok := e.Journal.(FailureNotifier)
	if !ok || !e.watching.CompareAndSwap(false, true) {
		return
	}
	n.OnFailed(e.journalFailed)
	e.journalFailed()
}

// Archived reads an archived order (Booking's GET of an order that left
// memory). Without Redis, from the local journal. With Redis, from Redis
// first: it is the authority, and the local journal may hold the archive
// of a batch Redis refused (a history that never happened); the local copy
// answers only what Redis does not have (it lost data).
func (e *Env) Archived(ctx context.Context, show, id string) ([]byte, bool, error) {
	if e.Remote != nil {
		if v, ok, err := e.Remote.Archived(ctx, show, id); err != nil || ok {
			return v, ok, err
		}
	}
	return e.Journal.Archived(id)
}

// Broken lists the shows whose recovery failed and is being retried, with why.
func (e *Env) Broken() map[string]string {
	out := map[string]string{}
	e.broken.Range(func(k, v any) bool {
		out[k.(string)] = v.(string)
		return true
	})
	return out
}

// StopShards stops every shard activation of this node (each finishes its
// mailbox turn; its writer then writes and answers what it was given), and
// waits at most d for their journal writers. Call it before stopping the
// cluster and closing the journal.
func (e *Env) StopShards(root *actor.RootContext, d time.Duration) bool {
	var futures []*actor.Future
	e.live.Range(func(_, v any) bool {
		futures = append(futures, root.StopFuture(v.(*actor.PID)))
		return true
	})
	for _, f := range futures {
		_ = f.Wait()
	}
	return e.WaitWriters(d)
}

// HandOver hands every show of this node over (a graceful leave): each
// activation refuses everything from now on with a "moved" 503 that callers
// retry elsewhere, its writer finishes and answers what it was given, and
// its lease is released so the next owner activates at once. It waits at
// most d. The activations stay until StopShards, answering "moved".
func (e *Env) HandOver(root *actor.RootContext, d time.Duration) int {
	var dones []chan struct{}
	e.live.Range(func(_, v any) bool {
		m := &handover{done: make(chan struct{})}
		root.Send(v.(*actor.PID), m)
		dones = append(dones, m.done)
		return true
	})
	timeout := time.After(d)
	for _, ch := range dones {
		select {
		case <-ch:
		case <-timeout:
			return len(dones)
		}
	}
	return len(dones)
}

// WaitWriters waits, at most d, until every shard's journal writer has
// finished what it was given (call after stopping the actors, before closing
// the journal). It reports whether they all finished.
func (e *Env) WaitWriters(d time.Duration) bool {
	done := make(chan struct{})
	go func() { e.writers.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func (e *Env) defaults() {
	if e.Journal == nil {
		e.Journal = NewMemJournal()
	}
	if e.Registry == nil {
		e.Registry = &memRegistry{}
	}
	if e.Log == nil {
		e.Log = slog.Default()
	}
	if e.NowMs == nil {
		e.NowMs = func() int64 { return time.Now().UnixMilli() }
		e.systemNow = true
	}
	if e.Clock == nil {
		e.Clock = SystemClock{}
	}
	if e.OnEvents == nil {
		e.OnEvents = func() {}
	}
	if e.Streams == nil {
		e.Streams = &stream.Hub{}
	}
	if e.Stats == nil {
		e.Stats = &Stats{}
	}
	e.watchJournal()
}

// Stats are counters shared by a node's shard actors. Safe for concurrent use.
type Stats struct {
	Commands           atomic.Int64 // commands applied
	Runs               atomic.Int64 // runs of queued in-process requests applied together (mailbox.go)
	RunRequests        atomic.Int64 // the requests of those runs
	Batches            atomic.Int64 // journal batches written
	Records            atomic.Int64 // records journaled
	JournalErrors      atomic.Int64 // failed journal writes
	JournalMicros      atomic.Int64 // total time spent in Journal.Append
	ApplyMicros        atomic.Int64 // total time shard actors spent applying commands
	RemoteMicros       atomic.Int64 // total time spent waiting on Redis checkpoints
	Recovering         atomic.Int64 // shards recovering now
	LastJournalErrorMs atomic.Int64 // when a journal write last failed (Unix ms)
	Fenced             atomic.Int64 // shards that stopped serving: a newer activation owns them
	LeaseRefused       atomic.Int64 // commands refused: the activation could not prove its lease
	LeaseWaitMicros    atomic.Int64 // total time activations waited for an older lease
	HandedOver         atomic.Int64 // activations stopped by a graceful handover
	RemoteSkipped      atomic.Int64 // batches refused because Redis was down
	RemoteDataLoss     atomic.Int64 // activations that found Redis holding less than was acknowledged
	LastDataLossMs     atomic.Int64 // when that was last found (Unix ms)

	// The serial path of the shows (issue 12): wall time on their actors'
	// mailbox turns and their writers' loops, for bench/serial and /metrics.
	ActorNanos        atomic.Int64 // total time show actors spent in Receive
	WriterNanos       atomic.Int64 // total time writers spent on groups (Journal.Append included)
	WriterAppendNanos atomic.Int64 // of WriterNanos: time inside Journal.Append (encode, commit, sync wait)
	WriterGroups      atomic.Int64 // groups of batches the writers took (one per loop turn)
	WriterBatches     atomic.Int64 // batches (mailbox turns) in those groups
	WriterReplies     atomic.Int64 // commands answered by writers once durable
	Checkpoints       atomic.Int64 // rows-only journal writes of the checkpointers
	CheckpointRows    atomic.Int64 // state rows those wrote (after deduplication)
	CheckpointErrors  atomic.Int64 // of Checkpoints: failed (the journal keeps the records)

	shards sync.Map // identity -> *ShardGauges
}

// ShardGauges are one shard's latest counts, published after every turn.
type ShardGauges struct {
	Available, Held, Reserved, Sold, HoldsActive atomic.Int64
}

func (s *Stats) gauges(identity string) *ShardGauges {
	if g, ok := s.shards.Load(identity); ok {
		return g.(*ShardGauges)
	}
	g, _ := s.shards.LoadOrStore(identity, &ShardGauges{})
	return g.(*ShardGauges)
}

func (s *Stats) forget(identity string) { s.shards.Delete(identity) }

// Totals sums the gauges of every shard of the node.
func (s *Stats) Totals() (available, held, reserved, sold, holds, shards int64) {
	s.shards.Range(func(_, v any) bool {
		g := v.(*ShardGauges)
		available += g.Available.Load()
		held += g.Held.Load()
		reserved += g.Reserved.Load()
		sold += g.Sold.Load()
		holds += g.HoldsActive.Load()
		shards++
		return true
	})
	return
}

// DefaultGCPercent is the garbage collector's target a node runs with when
// GOGC is not set. A node's live heap is small (seat maps are bytes per seat)
// and its garbage is per request, so collecting at 4× the live heap instead
// of 2× halves the GC work for little memory; profiles under load showed GC
// as the largest single cost of the actor path at the default 100.
const DefaultGCPercent = 400

// TuneGC applies DefaultGCPercent unless GOGC is set.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
}
