package actors

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/persistence/redis"
)

// Remote is the authority of every show when configured (Redis): a batch is
// acknowledged only once Redis accepted it under the activation's epoch, and
// an activation takes a new epoch first, which fences every older one.
// persistence/redis.Client implements it; safe for concurrent use.
type Remote interface {
	Activate(ctx context.Context, show string) (uint64, error)
	Load(ctx context.Context, show string) (redis.State, error)
	// LoadMeta is Load without the state: epoch, seqs, whether a whole
	// snapshot is stored.
	LoadMeta(ctx context.Context, show string) (redis.State, error)
	// LoadLog is Load without the state rows.
	LoadLog(ctx context.Context, show string) (redis.State, error)
	// Seed replaces the show's whole stored state.
	Seed(ctx context.Context, s redis.Seed) error
	Apply(ctx context.Context, cps ...redis.Checkpoint) []error
	Archived(ctx context.Context, show, id string) ([]byte, bool, error)
	// Healthy is false from the first failed or timed-out round trip until a
	// probe succeeds again.
	Healthy() bool
}

// ErrFenced: a newer activation of the show owns it; this one stops serving.
var ErrFenced = errors.New("show fenced by a newer activation")

// errRemoteDown: Redis did not answer; the activation serves reads from its
// local state and refuses writes until Redis is back.
var errRemoteDown = errors.New("redis unreachable")

// remoteTimeout bounds one checkpoint: past it the batch answers 503 (Redis
// may still apply it; the next activation finds out).
const remoteTimeout = time.Second

// activateTimeout bounds the Redis round trips of an activation.
const activateTimeout = 2 * time.Second

// remoteInit tells the writer, in order with the batches, the epoch this
// activation holds and how far Redis is (the events of every record up to
// remoteSeq are in an outbox: this node's, or their writer's).
type remoteInit struct {
	epoch     uint64
	remoteSeq uint64
}

func epochCounter(e uint64) uint64 { return e >> 20 }

// activateRemote fences older activations and chooses the state to serve.
// Redis's accepted sequence is the truth: what this node's journal holds
// beyond it was never acknowledged and is dropped, unless Redis lost data
// that this node's activation had acknowledged (then the local journal wins,
// loudly, and re-seeds Redis). It records the new epoch locally before the
// show serves. localRows is the seq of the local store's state rows (and
// localSnap that of a whole snapshot of the format before rows, 0: none); it
// returns the rows' seq after what activation wrote locally, and the state rows
// the activation changed that no store may have yet (with the shard's own
// Ready rows, they go to the writer).
//
// State rows: both stores keep the show's state as rows at some seq (its
// base) plus the records after. The shard's changed rows cover every change
// since the base it was loaded from (RowsBase); a store whose base is older
// cannot take them and gets the whole state once, here: Redis by a Seed
// (lost data, never seen, a whole snapshot of the format before rows, or
// rows behind), the local store by Journal.SaveState (in recover).
//
// The local journal never goes back below the history it held of this
// node's acknowledged records: a restore from Redis writes Redis's state over
// it in one batch (restoreLocal), and is not done at all when Redis still
// holds the history this node's last activation recorded (unchanged).
func (a *showActor) activateRemote(local *seatmap.Shard, localRows, localSnap uint64) (*seatmap.Shard, remoteInit, uint64, []facts.Row, error) {
	r, j, id := a.env.Remote, a.env.Journal, a.identity
	fail := func(err error) (*seatmap.Shard, remoteInit, uint64, []facts.Row, error) {
		return nil, remoteInit{}, 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), activateTimeout)
	defer cancel()
	prev, err := r.LoadMeta(ctx, id)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", errRemoteDown, err))
	}
	le, acked, err := j.LocalEpoch(id)
	if err != nil {
		return fail(err)
	}
	epoch, err := a.activateEpoch(ctx, le)
	if err != nil {
		return fail(err)
	}
	// the state itself can be big (a show's rows) and its read slow on a
	// loaded node: it is given up only when it stops progressing (each round
	// trip has the client's own deadline); read without rows first: a node
	// that wrote the show last has them
	watch := watchStall(loadStallTimeout)
	defer watch.close()
	lctx := watch.ctx
	st, err := r.LoadLog(lctx, id)
	if err != nil {
		return fail(fmt.Errorf("%w: reading the log: %v", errRemoteDown, err))
	}
	watch.progress()
	if st.Seq != prev.Seq {
		prev.Epoch = 0 // another activation wrote between our reads: it owned the show after us
	}
	L, R := local.Seq(), st.Seq
	// this node's activation le wrote last: Redis's records are this
	// node's history. Either nobody activated the show since le, or only
	// activations that wrote nothing did (this node's own, whose Activate
	// reply was lost or whose local epoch was never recorded)
	lastWriter := le != 0 && (prev.Epoch == le || st.Writer == le)
	// Redis holds exactly the history this node's activation le found there
	// (and recorded locally as its acked seq: the local journal held it
	// then): le wrote nothing, nor did any activation since (Redis's last
	// writer is older than le, and Redis's counter did not go back below
	// le's). Restoring from Redis would only rewrite the same history
	// (sim/vopr seed 9012426658160: activations of this node that wrote
	// nothing, then a restore whose last local write failed)
	unchanged := le != 0 && R == acked && epochCounter(st.Writer) < epochCounter(le) &&
		epochCounter(prev.Epoch) >= epochCounter(le)
	// Redis holds less than this node's activation had acknowledged, and no
	// newer activation took the show since (or none wrote since: Redis's
	// last writer is older than le; a lost INCR can hand le's counter out
	// again): Redis lost data
	lost := le != 0 && acked > R && (lastWriter || epochCounter(prev.Epoch) < epochCounter(le) ||
		epochCounter(st.Writer) < epochCounter(le))
	sh, seed := local, false
	var pending []facts.Row
	switch {
	case lost:
		a.env.Stats.RemoteDataLoss.Add(1)
		a.env.Stats.LastDataLossMs.Store(time.Now().UnixMilli())
		a.log.Error("REDIS LOST DATA: it holds less than this node's activation had acknowledged; keeping the local journal and re-seeding Redis",
			"redis_seq", R, "acked_seq", acked, "local_seq", L, "redis_epoch", prev.Epoch, "local_epoch", le)
		seed = L > R
	case L == 0 && R == 0:
		// a new show (or one Redis and this node never saw)
	case R == 0 && prev.Epoch == 0 && st.Seq == prev.Seq && prevWasEmpty(prev):
		// Redis never saw this show: the local journal is all there is
		seed = L > 0
		if le != 0 {
			a.env.Stats.RemoteDataLoss.Add(1)
			a.env.Stats.LastDataLossMs.Store(time.Now().UnixMilli())
			a.log.Error("REDIS LOST DATA: it has no state for a show this node wrote; re-seeding it from the local journal", "local_seq", L)
		}
	case (lastWriter || unchanged) && L >= R:
		if L > R { // the tail Redis never accepted was never acknowledged
			if err := j.DropAfter(id, R); err != nil {
				return fail(err)
			}
			var ls Stored
			if sh, ls, err = loadShard(j, id); err != nil {
				return fail(err)
			}
			localRows = ls.RowsSeq
			a.log.Info("dropped records Redis never accepted", "from", R+1, "to", L)
		}
	case (lastWriter || unchanged) && canExtend(st, L):
		// Redis applied batches whose replies were lost: take them, and their
		// events, which the local outbox never got
		evs, err := extendFromRemote(local, st)
		if err != nil {
			return fail(err)
		}
		if _, err := j.Append(id, Write{Records: evs.recs, Events: evs.events, Archive: evs.archive}); err != nil {
			return fail(err)
		}
		pending = evs.rows
		a.log.Info("took records Redis accepted after a lost reply", "from", L+1, "to", R)
	default:
		// another activation owned the show since: Redis's state is the truth
		var rowsSeq uint64
		if sh, st, pending, rowsSeq, err = restoreLocal(lctx, watch.progress, r, j, id, R, localRows, localSnap, acked, L > 0 || le != 0 || localRows > 0); err != nil {
			return fail(err)
		}
		localRows = rowsSeq
		a.log.Info("show restored from redis", "seq", sh.Seq(), "local_seq", L, "local_was_last_writer", lastWriter,
			"redis_epoch", prev.Epoch, "local_epoch", le, "epoch", epoch)
	}
	// every case leaves the state equal to what Redis holds (once seeded);
	// Redis takes the shard's changed rows only if its rows are not older
	// than the ones the shard was loaded from
	if !seed && sh.Seq() > 0 && (st.HasSnapshot || st.SnapshotSeq < sh.RowsBase()) {
		seed = true
		a.log.Info("redis holds no state rows of this show from its base on: seeding them", "redis_base", st.SnapshotSeq,
			"base", sh.RowsBase(), "whole_snapshot", st.HasSnapshot)
	}
	init := remoteInit{epoch: epoch, remoteSeq: sh.Seq()}
	if seed {
		sd := redis.Seed{Shard: id, Epoch: epoch, Seq: sh.Seq(), Rows: redisRows(sh.AllRows()), Counts: counts(sh),
			EventsSeq: sh.Seq()}
		if a.env.leaser() != nil {
			sd.LeaseTTL = a.env.Lease
		}
		sctx, scancel := context.WithTimeout(context.Background(), loadTimeout)
		defer scancel()
		if err := r.Seed(sctx, sd); err != nil {
			return fail(fmt.Errorf("%w: re-seeding redis: %v", errRemoteDown, err))
		}
	}
	if err := j.SetLocalEpoch(id, epoch, init.remoteSeq, true); err != nil {
		return fail(err)
	}
	return sh, init, localRows, pending, nil
}

// loadTimeout bounds seeding a show's state to Redis.
const loadTimeout = 10 * time.Second

// loadStallTimeout: a read of a show's state from Redis that hands over no
// row for this long is given up (Redis or the connection hangs between
// round trips). A read that progresses is not cut short, however long the
// whole takes on a loaded node: a fixed deadline for the whole read failed
// recoveries of big shows under load (the round trip after the last chunk
// found it past). A variable for tests.
var loadStallTimeout = 10 * time.Second

// errStalled: a read from Redis handed over nothing for loadStallTimeout.
var errStalled = errors.New("read from redis stalled")

// stallWatch is a context cancelled (cause errStalled) once progress was not
// called for a whole stall period, until close.
type stallWatch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	n      atomic.Int64 // progress calls
	stop   chan struct{}
}

func watchStall(stall time.Duration) *stallWatch {
	w := &stallWatch{stop: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancelCause(context.Background())
	go w.run(stall)
	return w
}

func (w *stallWatch) run(stall time.Duration) {
	t := time.NewTicker(stall / 4)
	defer t.Stop()
	seen, since := w.n.Load(), time.Now()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			if n := w.n.Load(); n != seen {
				seen, since = n, now
			} else if now.Sub(since) >= stall {
				w.cancel(fmt.Errorf("%w: nothing for %s", errStalled, stall))
				return
			}
		}
	}
}

// progress tells the watch the read moved on.
func (w *stallWatch) progress() { w.n.Add(1) }

func (w *stallWatch) close() {
	close(w.stop)
	w.cancel(nil)
}

// redisRows converts state rows for a Redis checkpoint or seed.
func redisRows(rows []facts.Row) []redis.Row {
	if len(rows) == 0 {
		return nil
	}
	out := make([]redis.Row, len(rows))
	for i, r := range rows {
		out[i] = redis.Row{Key: r.Key, Value: r.Value}
	}
	return out
}

// activateEpoch takes the show's next epoch; with leases it also takes the
// lease, waiting (bounded by the lease TTL) for an older activation's lease
// to run out, and starts this activation's lease clock.
func (a *showActor) activateEpoch(ctx context.Context, localEpoch uint64) (uint64, error) {
	l := a.env.leaser()
	if l == nil {
		epoch, err := a.env.Remote.Activate(ctx, a.identity)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", errRemoteDown, err)
		}
		return epoch, nil
	}
	ttl := a.env.Lease
	prev := a.epoch
	if prev == 0 {
		prev = localEpoch
	}
	start := a.env.mono()
	epoch, wait, err := l.ActivateLease(ctx, a.identity, prev, ttl)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errRemoteDown, err)
	}
	if wait > 0 {
		// an older activation may still answer until its lease runs out; it can
		// no longer renew it (our epoch fences it)
		a.log.Info("waiting for the previous activation's lease", "wait", wait)
		a.env.Clock.Sleep(min(wait, ttl) + 5*time.Millisecond)
		a.env.Stats.LeaseWaitMicros.Add(wait.Microseconds())
		start = a.env.mono()
		if err := l.RenewLease(ctx, a.identity, epoch, ttl); err != nil {
			return 0, fmt.Errorf("%w: taking the lease: %v", errRemoteDown, err)
		}
	}
	a.epoch = epoch
	a.w.lease.renewed(start, ttl)
	return epoch, nil
}

func prevWasEmpty(st redis.State) bool { return st.Seq == 0 && !st.HasSnapshot }

// canExtend reports whether Redis's log holds every record after local seq L.
func canExtend(st redis.State, L uint64) bool {
	return st.Seq > L && st.SnapshotSeq <= L && len(st.Entries) > 0 && st.Entries[0].Seq <= L+1
}

type extension struct {
	recs    []seatmap.Record
	events  []seatmap.Event
	archive []seatmap.OrderView
	rows    []facts.Row // state rows changed since the shard's base
}

// extendFromRemote applies Redis's records after local's seq to local (as the
// live activation did: they decide nothing again), collecting what they emitted.
func extendFromRemote(local *seatmap.Shard, st redis.State) (extension, error) {
	var ext extension
	for _, e := range st.Entries {
		if e.Seq <= local.Seq() {
			continue
		}
		rec, err := facts.DecodeRecord(e.Seq, e.Data)
		if err != nil {
			return ext, fmt.Errorf("redis record %d: %w", e.Seq, err)
		}
		if err := local.ApplyRecord(rec); err != nil {
			return ext, fmt.Errorf("redis record %d did not apply: %w", e.Seq, err)
		}
	}
	rd := local.Ready()
	ext.recs, ext.events, ext.archive, ext.rows = rd.Records, rd.Events, rd.Archive, rd.Rows
	return ext, nil
}

// rowLoader is the part of a Remote that hands a show's state rows over as
// they are read (persistence/redis.Client and its fake implement it).
type rowLoader interface {
	LoadRows(ctx context.Context, show string, first []string, row func(key string, value []byte) error) (redis.State, error)
}

// restoreFromRemote reads a show's state from Redis and rebuilds it. With a
// rowLoader, the rows are built as they arrive (the config and the position
// first: then every hold is built as it comes), on a goroutine of its own
// (rowFeed), while the next chunk is read; a read that overlapped a write
// (redis.ErrChangedWhileRead: the rows are of no one state) starts again
// with a new Restorer, at most three times. read is called with what was
// read before the show is finished and the records after the rows are
// applied (the caller stores its copy meanwhile); its rows (in key order)
// are to be called once, off the caller's goroutine.
// progress is called with every row read.
func restoreFromRemote(ctx context.Context, progress func(), r Remote, id string, read func(redis.State, func() []facts.Row)) (*seatmap.Shard, redis.State, extension, error) {
	rl, ok := r.(rowLoader)
	if !ok {
		st, err := r.Load(ctx, id)
		if err != nil {
			return nil, st, extension{}, fmt.Errorf("%w: %v", errRemoteDown, err)
		}
		read(st, func() []facts.Row { return remoteRows(st.Rows) })
		sh, ext, err := shardFromRemote(st)
		if err != nil {
			err = fmt.Errorf("restoring from redis: %w", err)
		}
		return sh, st, ext, err
	}
	first := []string{facts.RowKey(facts.RowConfig, ""), facts.RowKey(facts.RowMeta, "")}
	for try := 0; ; try++ {
		rs := seatmap.NewRestorer()
		// the read must not wait for the builder: it runs under a deadline,
		// and Redis's reply buffers wait meanwhile
		feed := newRowFeedQueue(rs, redisFeedQueue)
		sorted := newSortedRows() // for the local copy
		start, n := time.Now(), 0
		st, err := rl.LoadRows(ctx, id, first, func(key string, value []byte) error {
			progress()
			n++
			sorted.add(key, value)
			return feed.add(key, value)
		})
		if err != nil {
			err = fmt.Errorf("reading the rows (%d read in %s): %w", n, time.Since(start).Round(time.Millisecond), err)
			if cause := context.Cause(ctx); errors.Is(cause, errStalled) && !errors.Is(err, errStalled) {
				err = fmt.Errorf("%w (%v)", err, cause)
			}
		}
		ferr := feed.close()
		if ferr != nil || err != nil {
			go sorted.rows() // ends its goroutine
		}
		switch {
		case ferr != nil:
			return nil, st, extension{}, fmt.Errorf("restoring from redis: %w", ferr)
		case errors.Is(err, redis.ErrChangedWhileRead) && try < 2:
			continue
		case err != nil:
			return nil, st, extension{}, fmt.Errorf("%w: %v", errRemoteDown, err)
		}
		read(st, sorted.rows) // merged on the copy's goroutine
		var sh *seatmap.Shard
		if st.Snapshot != nil {
			sh, err = seatmap.Restore(st.Snapshot)
		} else {
			sh, err = rs.Finish()
		}
		var ext extension
		if err == nil {
			ext, err = applyEntries(sh, st)
		}
		if err != nil {
			return nil, st, ext, fmt.Errorf("restoring from redis: %w", err)
		}
		return sh, st, ext, nil
	}
}

// redisFeedQueue is how many batches of rows (feedBatchRows each) a read
// from Redis may be ahead of the show's build: 1,000,000 rows.
const redisFeedQueue = 1000

// restoreLocal restores the show from Redis's state (R its seq, as read
// before) and makes the local store hold exactly that state, without ever
// leaving it older than what it held of this node's acknowledged history
// (acked: the highest seq Redis accepted from this node's last activation;
// localRows: the seq of the local state rows). A failed local write (fatal
// for the store handle) leaves either the local store as it was, or a true
// past state of Redis's history at or after max(acked, localRows): its
// records beyond that are never dropped before the state replacing them is
// synced, in one batch (sim/vopr seeds 9012426658160 and 262660396635603:
// the local show dropped, Redis's rows written, and the append of Redis's
// records after them failed; the next activation, Redis unreachable, served
// a state without an acknowledged hold).
//
// When Redis's rows are at or after max(acked, localRows), they are copied
// while the show is built (copyRemoteState): then Redis's records after them
// and the events of the ones no outbox may have are appended. Otherwise
// (Redis's rows older, or a whole snapshot of the format before rows) the
// built show's rows are written at its seq, once built, in one batch. The
// events of Redis's entries after st.EventsSeq may be in no outbox (their
// writer's journal failed, or it lost Redis's reply and stopped): they are
// emitted here again (consumers dedupe them). It returns the show, Redis's
// state as read, the state rows changed since the show's base and the seq of
// the local rows.
func restoreLocal(ctx context.Context, progress func(), r Remote, j Journal, id string, R, localRows, localSnap, acked uint64, local bool) (*seatmap.Shard, redis.State, []facts.Row, uint64, error) {
	fail := func(st redis.State, err error) (*seatmap.Shard, redis.State, []facts.Row, uint64, error) {
		return nil, st, nil, 0, err
	}
	// the local records after keep are this node's that Redis never accepted
	base := max(localRows, localSnap)
	keep := max(min(acked, R), base)
	var copied <-chan copyResult
	sh, st, ext, err := restoreFromRemote(ctx, progress, r, id, func(st redis.State, rows func() []facts.Row) {
		if st.Snapshot == nil && st.SnapshotSeq > 0 && st.SnapshotSeq >= max(acked, base) && st.SnapshotSeq <= R {
			copied = copyRemoteState(j, id, st, rows, keep, local)
		} else {
			go rows() // ends the sorter's goroutine
		}
	})
	if copied != nil {
		cp := <-copied
		if err == nil && cp.err != nil {
			err = fmt.Errorf("storing the state restored from redis: %w", cp.err)
		}
		localRows = cp.rowsSeq
	}
	if err != nil {
		return fail(st, err)
	}
	if st.Seq != R {
		return fail(st, fmt.Errorf("%w: redis moved to %d while read (from %d)", errRemoteDown, st.Seq, R))
	}
	var recs []seatmap.Record
	if copied == nil {
		if err := saveRestored(j, id, sh, base, keep, local); err != nil {
			return fail(st, fmt.Errorf("storing the state restored from redis: %w", err))
		}
		localRows = sh.Seq()
	} else if recs, err = entryRecords(st.Entries, localRows); err != nil {
		return fail(st, err)
	}
	if len(recs) > 0 || len(ext.events) > 0 {
		// Redis's records after its rows (the local store now holds those
		// rows), and the events of the ones no outbox may have
		if _, err := j.Append(id, Write{Records: recs, Events: ext.events}); err != nil {
			return fail(st, fmt.Errorf("storing the state restored from redis: %w", err))
		}
	}
	return sh, st, ext.rows, localRows, nil
}

// saveRestored writes the show restored from Redis as the local state at its
// seq, in one synced batch (SaveState drops the records up to it), after
// dropping the local records after keep (never accepted by Redis), if the
// store holds anything of the show (local).
func saveRestored(j Journal, id string, sh *seatmap.Shard, base, keep uint64, local bool) error {
	switch {
	case !local:
	case sh.Seq() == 0 || sh.Seq() < base:
		// Redis holds nothing, or less than the local state's base (it lost
		// data that another activation wrote over): Redis's state is the truth
		if err := j.Reset(id); err != nil {
			return err
		}
	default:
		if err := j.DropAfter(id, keep); err != nil {
			return err
		}
	}
	if sh.Seq() == 0 {
		return nil
	}
	return j.SaveState(id, sh.Seq(), sh.AllRows())
}

// sortedStateSaver is a Journal that stores a whole state given in key
// order for less than SaveState (PebbleJournal: sstables ingested), with
// the same outcome after a crash or failure.
type sortedStateSaver interface {
	SaveSortedState(show string, seq uint64, rows []facts.Row) error
}

// copyResult is what copyRemoteState stored: the local store's rows seq.
type copyResult struct {
	rowsSeq uint64
	err     error
}

// copyRemoteState writes, on a goroutine of its own, Redis's state rows of
// st (rows gives the same, best in key order; called on that goroutine) to
// the local journal as the show's state at st.SnapshotSeq (one synced batch,
// or ingested sstables when the journal can (sortedStateSaver): a crash
// leaves the local store without them or with all of them), after
// dropping the local records after keep (never accepted by Redis; their
// outbox events go too; only if the store holds anything of the show:
// local). st.SnapshotSeq must not be older than keep nor than the local
// state's base: the local store never goes back. The caller appends
// Redis's records after the rows (entryRecords) once the result arrived:
// the local store then holds exactly Redis's state, as a true past state
// plus its records.
func copyRemoteState(j Journal, id string, st redis.State, rows func() []facts.Row, keep uint64, local bool) <-chan copyResult {
	out := make(chan copyResult, 1)
	go func() {
		var res copyResult
		all := rows() // always: it ends the sorter's goroutine
		if local {
			res.err = j.DropAfter(id, keep)
		}
		if res.err == nil {
			save := j.SaveState
			if ss, ok := j.(sortedStateSaver); ok {
				save = ss.SaveSortedState // rows out of order go by SaveState
			}
			if res.err = save(id, st.SnapshotSeq, all); res.err == nil {
				res.rowsSeq = st.SnapshotSeq
			}
		}
		out <- res
	}()
	return out
}

// remoteRows converts Redis's rows for the journal.
func remoteRows(rows []redis.Row) []facts.Row {
	out := make([]facts.Row, len(rows))
	for i, r := range rows {
		out[i] = facts.Row{Key: r.Key, Value: r.Value}
	}
	return out
}

// entryRecords decodes Redis's entries after seq.
func entryRecords(entries []redis.Entry, seq uint64) ([]seatmap.Record, error) {
	var recs []seatmap.Record
	for _, e := range entries {
		if e.Seq <= seq {
			continue
		}
		rec, err := facts.DecodeRecord(e.Seq, e.Data)
		if err != nil {
			return nil, fmt.Errorf("redis record %d: %w", e.Seq, err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// shardFromRemote rebuilds a show from its Redis state: rows (or a whole
// snapshot of the format before rows), then its entries, replayed up to
// st.EventsSeq and applied after it (as their writer did), collecting what
// those emitted and the state rows they changed.
func shardFromRemote(st redis.State) (*seatmap.Shard, extension, error) {
	var sh *seatmap.Shard
	var ext extension
	var err error
	if st.Snapshot != nil {
		sh, err = seatmap.Restore(st.Snapshot)
	} else {
		// the config and the position first: the holds are then built as they
		// come (HSCAN returns rows in no order)
		rs := seatmap.NewRestorer()
		first := map[string]bool{facts.RowKey(facts.RowConfig, ""): true, facts.RowKey(facts.RowMeta, ""): true}
		for _, r := range st.Rows {
			if first[r.Key] {
				if err = rs.Add(r.Key, r.Value); err != nil {
					return nil, ext, err
				}
			}
		}
		for _, r := range st.Rows {
			if !first[r.Key] {
				if err = rs.Add(r.Key, r.Value); err != nil {
					return nil, ext, err
				}
			}
		}
		sh, err = rs.Finish()
	}
	if err != nil {
		return nil, ext, err
	}
	ext, err = applyEntries(sh, st)
	return sh, ext, err
}

// applyEntries applies Redis's records after the rows to sh: replayed up to
// st.EventsSeq and applied after it (as their writer did), collecting what
// those emitted and the state rows they changed.
func applyEntries(sh *seatmap.Shard, st redis.State) (extension, error) {
	var ext extension
	applied := false
	for _, e := range st.Entries {
		rec, err := facts.DecodeRecord(e.Seq, e.Data)
		if err != nil {
			return ext, fmt.Errorf("redis record %d: %w", e.Seq, err)
		}
		if e.Seq <= st.EventsSeq {
			if err := sh.Replay(rec); err != nil {
				return ext, err
			}
			continue
		}
		if err := sh.ApplyRecord(rec); err != nil {
			return ext, fmt.Errorf("redis record %d did not apply: %w", e.Seq, err)
		}
		applied = true
	}
	if applied {
		rd := sh.Ready()
		ext.events, ext.archive, ext.rows = rd.Events, rd.Archive, rd.Rows
	}
	return ext, nil
}

// counts is the show's read model for Redis: section -> "a,h,r,s".
func counts(sh *seatmap.Shard) map[string]string {
	secs := sh.Sections()
	m := make(map[string]string, len(secs)+1)
	var t [4]int
	for _, s := range secs {
		m[s.ID] = fmt.Sprintf("%d,%d,%d,%d", s.Available, s.Held, s.Reserved, s.Sold)
		t[0] += s.Available
		t[1] += s.Held
		t[2] += s.Reserved
		t[3] += s.Sold
	}
	m["totals"] = strconv.Itoa(t[0]) + "," + strconv.Itoa(t[1]) + "," + strconv.Itoa(t[2]) + "," + strconv.Itoa(t[3])
	return m
}

// remoteState is the writer's view of Redis for its show. Only the writer
// goroutine touches it.
type remoteState struct {
	epoch     uint64 // 0: no activation: nothing may be written
	remoteSeq uint64 // Redis accepted everything up to here
	// eventsSeq: the events of every record up to here are durable in an
	// outbox (Checkpoint.EventsSeq), and so is this node's LocalEpoch acked
	// seq at or above it (DropUnaccepted never drops them): it trails
	// ackedSeq, the acked seq of the last batch, whose unsynced put is synced
	// by the next batch's commit
	eventsSeq, ackedSeq uint64
}

// remoteCheckpoint applies one group's records to Redis under the
// activation's epoch. Any error means the group is not acknowledged.
func (w *writer) remoteCheckpoint(recs []seatmap.Record, enc [][]byte, cnt map[string]string, archive []seatmap.OrderView, rows rowSlot) error {
	rs := &w.rs
	if rs.epoch == 0 {
		return errRemoteDown
	}
	if !w.env.Remote.Healthy() {
		w.env.Stats.RemoteSkipped.Add(1)
		return errRemoteDown
	}
	cp := redis.Checkpoint{Shard: w.identity, Epoch: rs.epoch, Counts: cnt, Entries: make([]redis.Entry, len(recs)),
		EventsSeq: rs.eventsSeq, Rows: redisRows(rows.rows), RowsSeq: rows.seq}
	leasing := w.env.leaser() != nil
	if leasing {
		cp.LeaseTTL = w.env.Lease
	}
	for i := range recs {
		cp.Entries[i] = redis.Entry{Seq: recs[i].Seq, Data: encodedRecord(recs, enc, i)}
	}
	if len(archive) > 0 {
		cp.Archive = make(map[string][]byte, len(archive))
		for i := range archive {
			cp.Archive[archive[i].ID] = facts.EncodeArchived(&archive[i])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	start, mono := time.Now(), w.env.mono()
	err := w.env.Remote.Apply(ctx, cp)[0]
	w.env.Stats.RemoteMicros.Add(time.Since(start).Microseconds())
	if err != nil {
		return w.remoteError(err)
	}
	if leasing {
		w.lease.renewed(mono, w.env.Lease)
	}
	if n := len(recs); n > 0 {
		rs.remoteSeq = recs[n-1].Seq
	}
	return nil
}

// remoteError classifies a refused checkpoint: fenced by a newer activation
// (stop), or anything else (503; the actor re-activates), saying so loudly
// when Redis holds less than this activation had acknowledged.
func (w *writer) remoteError(err error) error {
	var fe *redis.FencedError
	var gap *redis.GapError
	switch {
	case errors.As(err, &fe) && epochCounter(fe.Stored) > epochCounter(fe.Epoch):
		return fmt.Errorf("%w: %v", ErrFenced, err)
	case errors.As(err, &fe):
		w.env.Log.Error("REDIS LOST DATA: it does not know this activation's epoch", "show", w.identity, "err", err)
		return fmt.Errorf("%w: %v", errRemoteDown, err)
	case errors.As(err, &gap) && gap.Have < w.rs.remoteSeq:
		w.env.Log.Error("REDIS LOST DATA: it holds less than this activation had acknowledged", "show", w.identity,
			"redis_seq", gap.Have, "acked_seq", w.rs.remoteSeq)
		return fmt.Errorf("%w: %v", errRemoteDown, err)
	default:
		return fmt.Errorf("%w: %v", errRemoteDown, err)
	}
}
