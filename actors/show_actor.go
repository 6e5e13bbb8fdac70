package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// KindShow is the cluster kind of show actors; an actor's identity is its show id.
const KindShow = "show"

// idleEmpty is how long an actor for a show without state lives.
const idleEmpty = 10 * time.Second

// Recovery retries: a show whose recovery failed (disk, Redis) tries again
// with a backoff from retryMin to retryMax.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
)

type pendingReply struct {
	to     *actor.PID
	ch     chan seatmap.Result // in-process callers wait here instead of on a future
	res    seatmap.Result
	remote bool
	legacy bool                  // a remote caller that asked in the JSON format of the version before
	bch    chan []seatmap.Result // a requestBatch's caller
	bres   []seatmap.Result
	read   *seatmap.Command // a read-only command, run again if its turn's write fails
}

// showActor is the thin shell around one show's seatmap.Shard: it applies
// commands in mailbox order, hands each turn's records to its writer, and
// answers only what is durable (journal synced and, with Redis, accepted under
// its epoch).
type showActor struct {
	env      *Env
	identity string
	log      *slog.Logger
	shard    *seatmap.Shard // nil while not recovered
	// broken is why the show cannot serve (recovery failed; retried); nil when it can
	broken error
	fenced bool // a newer activation owns the show: this one answers nothing but 503
	// readOnly: with Redis, the activation holds no epoch (Redis was
	// unreachable); reads are served from the local state, writes get 503
	readOnly bool
	epoch    uint64 // the epoch of this activation's last successful activation (with Redis)
	// leaving: this activation hands its show over (graceful stop) or was
	// started on a node that is leaving; it answers nothing but 503 "moved"
	leaving bool
	retry   Timer
	backoff time.Duration
	// tell sends a message to this activation's own mailbox from any
	// goroutine (timers, the writer): protoactor's Root.Send, or the
	// simulator's mailbox for a SteppedShow
	tell func(msg any)
	// stepped: the caller runs the writer (SteppedShow), no goroutine
	stepped      bool
	journalFirst func() bool // SteppedShow.SetWriteOrder

	pending     []pendingReply
	flushQueued bool
	timer       Timer
	timerAt     int64
	w           *writer
	gen         uint64             // bumped when a write failed and the show reloaded
	sent        uint64             // batches handed to the writer
	seatsPub    *seatsView         // the seat states last published (seats_view.go)
	recvStart   time.Time          // when Receive began with the message being received
	touchCmds   []*seatmap.Command // scratch of handleRun: the run's commands for TouchRun
	// recvNow: recvStart is the message's instant (no recovery ran since:
	// it can take seconds)
	recvNow bool
}

// retryRecover is the recovery retry timer firing.
type retryRecover struct{}

// Kind returns the cluster kind for show actors, sharing env.
func Kind(env *Env) *cluster.Kind {
	env.defaults()
	return cluster.NewKind(KindShow, actor.PropsFromProducer(func() actor.Actor {
		return &showActor{env: env}
	}, actor.WithDispatcher(shardDispatcher), actor.WithMailbox(newShowMailbox)))
}

// ShowProps returns props for a show actor spawned outside a cluster (tests
// and benchmarks), with its identity given.
func ShowProps(env *Env, identity string) *actor.Props {
	env.defaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &showActor{env: env, identity: identity}
	}, actor.WithDispatcher(shardDispatcher), actor.WithMailbox(newShowMailbox))
}

// Receive runs one message; its time counts as the show's serial path
// (Stats.ActorNanos).
func (a *showActor) Receive(ctx actor.Context) {
	a.recvStart, a.recvNow = time.Now(), true
	a.receive(ctx)
	a.env.Stats.ActorNanos.Add(int64(time.Since(a.recvStart)))
}

// nowMs is the shard's clock for the message being received: with the
// system clock, the instant its Receive began unless a recovery ran since
// (a clock read per command less on the serial path: they cost ~40 ns
// each on this VM), else Env.NowMs.
func (a *showActor) nowMs() int64 {
	if a.env.systemNow && a.recvNow {
		return a.recvStart.UnixMilli()
	}
	return a.env.NowMs()
}

func (a *showActor) receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *request:
		a.handle(ctx, m.cmd, pendingReply{to: ctx.Sender(), ch: m.reply})
	case *requestRun:
		a.handleRun(ctx, m.reqs)
	case *requestBatch:
		a.handleBatch(ctx, m)
	case *wrapperspb.BytesValue:
		cmd, legacy, err := decodeRequest(m.Value)
		if err != nil {
			a.reply(ctx, pendingReply{to: ctx.Sender(), remote: true, legacy: legacy,
				res: seatmap.Result{Err: &seatmap.Error{Err: seatmap.ErrInvalidRequest, Msg: err.Error()}}})
			return
		}
		a.handle(ctx, cmd, pendingReply{to: ctx.Sender(), remote: true, legacy: legacy})
	case *flush:
		if !a.flushQueued || a.deferFlush() {
			return // flushed already (a writer's wake-up came late), or the writer is busy
		}
		a.flush(ctx)
	case *writeFailed:
		a.onWriteFailed(ctx, m)
	case *retryRecover:
		a.retry = nil
		if a.fenced || a.leaving {
			return
		}
		if a.shard == nil || a.readOnly {
			a.recover(ctx)
		}
	case *tick:
		a.onTick(ctx, m)
	case *handover:
		a.handover(ctx, m)
	case *actor.Started:
		if a.identity != "" {
			a.recover(ctx)
		}
	case *cluster.ClusterInit:
		a.identity = m.Identity.Identity
		if a.env.draining() {
			// this node is leaving: the show belongs elsewhere; stop soon, so
			// that a caller who still routes here resolves it again
			a.leaving = true
			ctx.SetReceiveTimeout(time.Second)
			return
		}
		a.recover(ctx)
	case *actor.ReceiveTimeout:
		if a.leaving || a.shard == nil || !a.shard.Created() {
			ctx.Poison(ctx.Self())
		}
	case *actor.Stopping:
		for _, t := range []Timer{a.timer, a.retry} {
			if t != nil {
				t.Stop()
			}
		}
		a.failPending(moved("this activation is stopping"))
		if a.w != nil {
			if !a.leaving {
				a.w.stop()
			}
			a.env.live.CompareAndDelete(a.identity, ctx.Self())
		}
		a.env.Stats.forget(a.identity)
		a.env.broken.Delete(a.identity)
		a.unpublishSeats()
	}
}

// onWriteFailed drops the state of the failed generation: every command
// applied to it (answered or pending) gets 503, the show reloads from what is
// durable, and only then are the failed batch's commands answered.
func (a *showActor) onWriteFailed(ctx actor.Context, m *writeFailed) {
	res := unavailable("storage failure")
	if m.fenced || a.fenced {
		res = moved("a newer activation owns it")
	} else if a.env.Remote != nil && errors.Is(m.err, errRemoteDown) {
		res = unavailable("redis did not accept the write")
	}
	var pend []pendingReply
	if m.gen == a.gen {
		a.gen++
		pend = append(pend, a.pending...)
		clear(a.pending)
		a.pending = a.pending[:0]
		a.shard = nil
		if m.fenced {
			a.fence(ctx, m.err)
		} else {
			a.recover(ctx)
		}
	}
	a.rerunOrFail(pend, res)
	for _, r := range m.replies {
		if r.done.CompareAndSwap(false, true) {
			a.rerunOrFail(r.replies, res)
		}
	}
}

// rerunOrFail answers the commands of a failed generation: reads run again
// on the reloaded state (they changed nothing, and reads keep answering
// through a Redis outage); everything else gets res.
func (a *showActor) rerunOrFail(replies []pendingReply, res seatmap.Result) {
	for _, p := range replies {
		if p.read != nil && p.bres == nil && a.refusal(p.read.Kind) == nil {
			cmd := *p.read
			cmd.Now = a.env.NowMs()
			p.res = a.shard.Apply(cmd)
		} else {
			p.res = res
			for i := range p.bres {
				p.bres[i] = res
			}
		}
		if a.w != nil {
			a.w.answer(p)
		}
	}
}

// failPending answers every command waiting for the current turn's flush.
func (a *showActor) failPending(res seatmap.Result) {
	for _, p := range a.pending {
		p.res = res
		for i := range p.bres {
			p.bres[i] = res
		}
		if a.w != nil {
			a.w.answer(p)
		}
	}
	clear(a.pending)
	a.pending = a.pending[:0]
}

// fence stops the activation: a newer one owns the show. It stops so callers'
// cached PIDs go dead and placement resolves the identity again.
func (a *showActor) fence(ctx actor.Context, err error) {
	if a.fenced {
		return
	}
	a.fenced = true
	a.shard = nil
	a.env.Stats.Fenced.Add(1)
	a.log.Error("show fenced: a newer activation owns it; this one stops serving", "err", err)
	ctx.Poison(ctx.Self())
}

// recover rebuilds the show: recover the journal if a write failed, load
// snapshot + records, and with Redis take a new epoch and reconcile. A
// failure leaves the show broken (or read-only when only Redis is missing)
// and schedules a retry with backoff.
func (a *showActor) recover(ctx actor.Context) {
	a.recvNow = false // the message's instant is stale after a recovery
	a.env.Stats.Recovering.Add(1)
	defer a.env.Stats.Recovering.Add(-1)
	if a.log == nil {
		a.log = a.env.Log.With("show", a.identity)
	}
	if a.w == nil {
		var root *actor.RootContext // answers remote callers (not in a SteppedShow)
		if !a.stepped {
			self := ctx.Self()
			root = ctx.ActorSystem().Root
			a.tell = func(m any) { root.Send(self, m) }
		}
		a.w = startWriter(a.env, a.identity, a.tell, root, !a.stepped)
		a.w.journalFirst = a.journalFirst
		a.gen = 1
		a.env.live.Store(a.identity, ctx.Self())
	}
	start := time.Now()
	sh, st, err := a.load()
	localRows := st.RowsSeq
	var pending []facts.Row // state rows changed since the rows the show was loaded from
	if err == nil && a.env.Remote != nil {
		var init remoteInit
		var active *seatmap.Shard
		active, init, localRows, pending, err = a.activateRemote(sh, localRows, st.SnapshotSeq)
		if err != nil {
			// an activation that failed half-way (after it took the lease)
			// proves nothing: its local state may be stale
			a.w.lease.drop()
		}
		switch {
		case err == nil:
			sh, a.readOnly = active, false
			a.send(batch{gen: a.gen, init: &init})
		case errors.Is(err, errRemoteDown):
			// serve reads from the local journal, unless it lacks records
			// this node knows were acknowledged; writes wait for Redis
			if berr := a.behindAcked(sh); berr != nil {
				err = fmt.Errorf("%w (%v)", berr, err)
				break
			}
			a.log.Warn("redis unreachable at activation; serving reads only", "err", err)
			a.readOnly, err = true, nil
			a.scheduleRetry(ctx)
		}
	}
	if err == nil && !a.readOnly && localRows < sh.RowsBase() {
		// the local store has no rows of this state yet (a snapshot of the
		// format before rows, or older rows): write them whole, once
		err = a.env.Journal.SaveState(a.identity, sh.Seq(), sh.AllRows())
	}
	if err != nil {
		a.log.Error("recovery failed; the show answers unavailable and retries", "err", err)
		a.env.journalFailed() // a write of the recovery failed: the show may be gone before its retry
		a.broken, a.shard = err, nil
		a.env.broken.Store(a.identity, err.Error())
		a.scheduleRetry(ctx)
		return
	}
	a.shard, a.broken = sh, nil
	a.env.broken.Delete(a.identity)
	if !a.readOnly {
		a.backoff = 0
	}
	rd := sh.Ready()
	if rows := append(pending, rd.Rows...); len(rows) > 0 {
		// the rows the replay changed: the stores take them with the next write
		a.send(batch{gen: a.gen, rd: seatmap.Ready{Rows: rows, RowsSeq: sh.Seq()}, recovered: true})
	}
	if sh.Created() {
		ctx.SetReceiveTimeout(0)
		a.log.Info("show recovered", "seq", sh.Seq(), "took", time.Since(start), "read_only", a.readOnly)
		a.env.Streams.Show(a.identity).Reset(sh.Seq(), sh.Sections())
		a.afterTurn(ctx, rd)
	} else {
		ctx.SetReceiveTimeout(idleEmpty)
	}
}

// errBehindAcked: Redis is unreachable and the local journal holds less than
// this node's last activation had acknowledged (a local write failed after
// a restore from Redis dropped records): it serves nothing, not even reads,
// until Redis is back.
var errBehindAcked = errors.New("the local journal is behind what was acknowledged")

// behindAcked returns errBehindAcked when the local state sh is older than
// the seq this node recorded as accepted by Redis from its last activation.
// A state without an acknowledged write must not be served, not even
// read-only (sim/vopr seed 9012426658160).
func (a *showActor) behindAcked(sh *seatmap.Shard) error {
	_, acked, err := a.env.Journal.LocalEpoch(a.identity)
	if err != nil {
		return err
	}
	if sh.Seq() < acked {
		return fmt.Errorf("%w: local seq %d, acknowledged %d", errBehindAcked, sh.Seq(), acked)
	}
	return nil
}

// load loads the show, unless the journal failed and is being reopened (in
// the background: reopening waits for the disk, and the actor must keep
// answering meanwhile).
func (a *showActor) load() (*seatmap.Shard, Stored, error) {
	if !a.env.journalReady() {
		return nil, Stored{}, errJournalRecovering
	}
	return loadShard(a.env.Journal, a.identity)
}

// errJournalRecovering: a journal write failed and the journal is being
// reopened from disk; the show retries its recovery.
var errJournalRecovering = errors.New("the journal is being reopened after a failed write")

func (a *showActor) scheduleRetry(ctx actor.Context) {
	if a.retry != nil {
		return
	}
	a.backoff = min(max(2*a.backoff, retryMin), retryMax)
	if a.readOnly && a.backoff > 250*time.Millisecond {
		a.backoff = 250 * time.Millisecond // writes resume within a second of Redis's return
	}
	tell := a.tell
	a.retry = a.env.Clock.AfterFunc(a.backoff, func() { tell(&retryRecover{}) })
}

// LoadShow rebuilds a show's state from a journal as an activation does
// (rows and the records after), for tools and benchmarks.
func LoadShow(j Journal, show string) (*seatmap.Shard, error) {
	sh, _, err := loadShard(j, show)
	return sh, err
}

// loadShard rebuilds a show from its state rows (or a whole snapshot of the
// format before rows) and the records after them. The shard's changed rows
// (Ready) are those the records changed since the rows.
func loadShard(j Journal, identity string) (*seatmap.Shard, Stored, error) {
	rs := seatmap.NewRestorer()
	feed := newRowFeed(rs) // rows are built as they are read (load.go)
	st, err := j.Load(identity, feed.add)
	if ferr := feed.close(); err == nil {
		err = ferr
	}
	if err != nil {
		return nil, Stored{}, err
	}
	var sh *seatmap.Shard
	if st.Snapshot != nil && st.SnapshotSeq >= st.RowsSeq {
		sh, err = seatmap.Restore(st.Snapshot)
	} else {
		sh, err = rs.Finish()
	}
	if err != nil {
		return nil, Stored{}, err
	}
	for _, r := range st.Records {
		if err := sh.Replay(r); err != nil {
			return nil, Stored{}, err
		}
	}
	return sh, st, nil
}

// refusal returns why the activation cannot take a command of this kind
// now, or nil.
func (a *showActor) refusal(kind seatmap.Kind) error {
	switch {
	case a.fenced:
		return moved("a newer activation owns it").Err
	case a.leaving:
		return moved("this activation is handing the show over").Err
	case a.shard == nil:
		msg := "show is recovering"
		if a.broken != nil {
			msg = "show could not be recovered: " + a.broken.Error()
		}
		return &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: msg}
	case a.env.leaser() != nil && !a.w.lease.validAt(a.env.mono()):
		a.env.Stats.LeaseRefused.Add(1)
		if !a.env.Remote.Healthy() {
			return &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "redis is unavailable: this show cannot prove it still owns it"}
		}
		return moved("this activation cannot prove its lease").Err
	case kind.ReadOnly():
		return nil
	case a.w.stalled.Load():
		return &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "storage is stalled; writes are refused until it answers"}
	case a.env.Remote != nil && (a.readOnly || !a.env.Remote.Healthy()):
		return &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "redis is unavailable; writes are refused until it is back"}
	}
	return nil
}

func (a *showActor) handle(ctx actor.Context, cmd seatmap.Command, p pendingReply) {
	if a.apply(ctx, &cmd, &p) {
		// from the Receive's start (the checks before Apply are tens of ns):
		// one clock read a command less than timing Apply alone (issue 12)
		a.env.Stats.Commands.Add(1)
		a.env.Stats.ApplyMicros.Add(time.Since(a.recvStart).Microseconds())
	}
}

// handleRun applies a run of in-process requests (mailbox.go), in order, as
// handle does each, after loading the index words they will probe; the
// clock is read and the counters written once for the run.
func (a *showActor) handleRun(ctx actor.Context, reqs []*request) {
	if a.shard != nil {
		cmds := a.touchCmds[:0]
		for _, r := range reqs {
			cmds = append(cmds, &r.cmd)
		}
		a.shard.TouchRun(cmds)
		clear(cmds) // the requests go with their answers
		a.touchCmds = cmds[:0]
	}
	applied, next := 0, 0
	defer func() {
		// a panic in the run (a broken invariant): the actor restarts from
		// its journal, and the requests not yet applied, the one that
		// panicked included, would never be answered; they answer 503 (not
		// applied) instead of waiting for their deadline
		for _, r := range reqs[next:] {
			select {
			case r.reply <- unavailable("the show's actor failed and restarts"):
			default: // answered already
			}
		}
	}()
	for _, r := range reqs {
		if a.apply(ctx, &r.cmd, &pendingReply{ch: r.reply}) {
			applied++
		}
		next++
	}
	a.env.Stats.Commands.Add(int64(applied))
	a.env.Stats.Runs.Add(1)
	a.env.Stats.RunRequests.Add(int64(len(reqs)))
	a.env.Stats.ApplyMicros.Add(time.Since(a.recvStart).Microseconds())
}

// apply runs one command and queues or sends its answer; it reports whether
// the command reached the shard (else it was refused).
func (a *showActor) apply(ctx actor.Context, c *seatmap.Command, p *pendingReply) bool {
	if a.shard == nil && a.broken == nil && !a.fenced && !a.leaving && a.retry == nil {
		a.recover(ctx)
	}
	if err := a.refusal(c.Kind); err != nil {
		p.res = seatmap.Result{Err: err}
		a.reply(ctx, *p)
		return false
	}
	cmd := *c
	cmd.Now = a.nowMs()
	seq := a.shard.Seq()
	p.res = a.shard.Apply(cmd)
	changed := a.shard.Seq() != seq
	if !changed && a.durable() {
		a.reply(ctx, *p) // a read or a refusal, and nothing it saw is unsynced
		return true
	}
	if cmd.Kind.ReadOnly() {
		read := cmd // a copy: &cmd would move every command to the heap
		p.read = &read
	}
	if cmd.Kind == seatmap.KindCreate && p.res.Err == nil {
		ctx.SetReceiveTimeout(0)
	}
	if changed && a.env.HoldAckApplied && holdOnly(cmd.Kind) {
		a.reply(ctx, *p)
	} else {
		a.pending = append(a.pending, *p)
	}
	a.queueFlush(ctx)
	return true
}

// durable reports whether everything applied so far is written: no command
// waits for this turn's flush and the writer finished every batch.
func (a *showActor) durable() bool {
	return !a.flushQueued && a.w.done.Load() == a.sent && a.w.failedGen.Load() < a.gen
}

// deferFlush reports whether this turn's flush waits for the writer: while
// it writes a group, the commands applied meanwhile stay in the shard's
// Ready and in pending, and the writer wakes the actor (a flush message)
// when it finished the group. So a busy show sends the writer one batch per
// group, not one per mailbox turn: the per-turn work (Ready, the changed
// rows, the seat view, the gauges, the hand-off) is paid once per group,
// and a state row changed by many turns is written once (a SteppedShow
// too: its StepWriter wakes the actor as run does). Never while the writer
// is stalled (those commands answer 503 at once; see flush).
func (a *showActor) deferFlush() bool {
	w := a.w
	if w == nil || a.shard == nil || a.leaving || w.closed || w.stalled.Load() {
		return false
	}
	if a.sent == w.done.Load() {
		return false // the writer is idle
	}
	// ask for a wake-up, then look again: either the writer sees the
	// request after its step, or this sees the step done
	w.wantFlush.Store(true)
	if a.sent == w.done.Load() && w.wantFlush.CompareAndSwap(true, false) {
		return false
	}
	return true
}

func (a *showActor) queueFlush(ctx actor.Context) {
	if !a.flushQueued {
		a.flushQueued = true
		ctx.Send(ctx.Self(), &flush{})
	}
}

func (a *showActor) handleBatch(ctx actor.Context, m *requestBatch) {
	p := pendingReply{bch: m.reply, bres: make([]seatmap.Result, len(m.cmds))}
	if a.leaving {
		for i := range p.bres {
			p.bres[i] = moved("this activation is handing the show over")
		}
		a.reply(ctx, p)
		return
	}
	if a.shard == nil && a.broken == nil && !a.fenced && a.retry == nil {
		a.recover(ctx)
	}
	now := a.nowMs()
	for i, cmd := range m.cmds {
		if err := a.refusal(cmd.Kind); err != nil {
			p.bres[i] = seatmap.Result{Err: err}
			continue
		}
		cmd.Now = now
		p.bres[i] = a.shard.Apply(cmd)
	}
	a.env.Stats.Commands.Add(int64(len(m.cmds)))
	a.pending = append(a.pending, p)
	a.queueFlush(ctx)
}

// holdOnly reports whether a command touches holds only (no order), for
// Env.HoldAckApplied.
func holdOnly(k seatmap.Kind) bool {
	return k == seatmap.KindHold || k == seatmap.KindRelease || k == seatmap.KindExtend
}

// handover is a graceful stop's first step: the activation refuses
// everything from now on ("moved": callers resolve the show again), its
// writer finishes what it was given, and its lease is released, so that the
// next owner activates without waiting. The actor stays (refusing) until
// stopped, so callers that still route here get an answer.
type handover struct{ done chan struct{} }

func (a *showActor) handover(ctx actor.Context, m *handover) {
	defer close(m.done)
	if a.leaving || a.w == nil {
		a.leaving = true
		return
	}
	a.leaving = true
	a.env.Stats.HandedOver.Add(1)
	if a.flushQueued {
		a.flush(ctx) // the turn's commands go to the writer with their answers
	}
	for _, t := range []Timer{a.timer, a.retry} {
		if t != nil {
			t.Stop()
		}
	}
	a.w.stop() // the writer writes and answers what it has, then releases the lease
	select {
	case <-a.w.stopped:
	case <-time.After(5 * time.Second):
		a.log.Warn("handover: the writer did not finish in 5 s")
	}
}

func (a *showActor) onTick(ctx actor.Context, t *tick) {
	if t.at != a.timerAt || a.shard == nil || a.fenced {
		return // a stale timer
	}
	a.timerAt = 0
	if a.refusal(seatmap.KindTick) != nil {
		// expiries are writes: they wait until Redis is back (re-armed by recovery)
		return
	}
	a.shard.Apply(seatmap.Command{Kind: seatmap.KindTick, Now: a.env.NowMs()})
	a.queueFlush(ctx)
}

func (a *showActor) send(b batch) {
	a.sent++
	a.w.enqueue(b)
}

// flush ends the turn: the records and events of every command since the
// last flush go to the writer as one batch, with the answers that wait for them.
func (a *showActor) flush(ctx actor.Context) {
	a.flushQueued = false
	if a.leaving && (a.w == nil || a.w.closed) {
		a.failPending(moved("this activation is handing the show over"))
		return
	}
	if a.shard == nil {
		a.failPending(unavailable("show is recovering"))
		return
	}
	rd := a.shard.ReadyDeferred()
	b := batch{gen: a.gen, rd: rd}
	if !a.stepped && len(rd.Records) >= encodeMinRecords {
		// beside: records and hold rows; the writer waits for them when it
		// writes this batch
		b.enc = newEncodedRecords(&rd)
	} else {
		b.rd.EncodeRows()
	}
	if len(a.pending) > 0 {
		// the answers go with the batch as they are (no copy); the next turn
		// starts an answered slice of at least the same size
		b.replies = &replySet{replies: a.pending}
		a.pending = a.w.spareReplies(len(a.pending))
	}
	if a.env.Remote != nil && len(rd.Records) > 0 {
		b.counts = counts(a.shard)
	}
	if len(rd.Records) > 0 && rd.Records[0].Facts[0].Kind == facts.ShowCreated {
		b.sections, b.streamSeq = a.shard.Sections(), rd.Records[0].Seq
	}
	a.publishSeats() // before the writer can answer: an acknowledged change is in the view
	a.send(b)
	if b.enc != nil {
		b.enc.start()
	}
	if a.w.stalled.Load() && !a.stepped {
		// the writer is stuck on a write: these commands answer 503 now, as
		// those queued when the stall began did (their outcome is unknown)
		b.replies.fail(a.w, unavailable("storage is stalled"))
	}
	a.afterTurn(ctx, rd)
}

// afterTurn publishes the gauges and arms the timer for the next deadline.
func (a *showActor) afterTurn(ctx actor.Context, rd seatmap.Ready) {
	g := a.env.Stats.gauges(a.identity)
	_, by := a.shard.Counts()
	g.Available.Store(int64(by[seatmap.Available]))
	g.Held.Store(int64(by[seatmap.Held]))
	g.Reserved.Store(int64(by[seatmap.Reserved]))
	g.Sold.Store(int64(by[seatmap.Sold]))
	g.HoldsActive.Store(int64(a.shard.ActiveHolds()))
	a.publishSeats()
	if rd.Deadline == 0 || rd.Deadline == a.timerAt {
		return
	}
	if a.timer != nil {
		a.timer.Stop()
	}
	a.timerAt = rd.Deadline
	delay := time.Duration(rd.Deadline-a.env.NowMs()) * time.Millisecond
	if delay < 0 {
		delay = 0
	}
	tell, at := a.tell, rd.Deadline
	a.timer = a.env.Clock.AfterFunc(delay, func() { tell(&tick{at: at}) })
}

func (a *showActor) reply(ctx actor.Context, p pendingReply) {
	if p.ch != nil {
		p.ch <- p.res
		return
	}
	if p.bch != nil {
		p.bch <- p.bres
		return
	}
	if p.to == nil {
		return
	}
	if p.remote {
		ctx.Send(p.to, encodeResult(p.res, p.legacy))
		return
	}
	ctx.Send(p.to, &response{res: p.res})
}
