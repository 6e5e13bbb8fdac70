package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// KindShard is the cluster kind of shard actors.
const KindShard = "shard"

// ShardIdentity names shard n of a show.
func ShardIdentity(show string, n int) string { return show + "/" + strconv.Itoa(n) }

func parseIdentity(id string) (show string, n int, err error) {
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return "", 0, fmt.Errorf("bad shard identity %q", id)
	}
	n, err = strconv.Atoi(id[i+1:])
	return id[:i], n, err
}

// idleEmpty is how long an actor for a show that does not exist lives.
const idleEmpty = 10 * time.Second

type pendingReply struct {
	to     *actor.PID
	ch     chan seatmap.Result // in-process callers wait here instead of on a future
	res    seatmap.Result
	remote bool
	bch    chan []seatmap.Result // a requestBatch's caller
	bres   []seatmap.Result
}

// shardActor is the thin shell around one seatmap.Shard.
type shardActor struct {
	env      *Env
	identity string
	log      *slog.Logger
	shard    *seatmap.Shard
	broken   error // set when state could not be recovered; every command answers unavailable

	pending     []pendingReply
	flushQueued bool
	timer       *time.Timer
	timerAt     int64
	sinceSnap   int
	w           *writer
	gen         uint64 // bumped when a write failed and the shard reloaded
}

// Kind returns the cluster kind for shard actors, sharing env.
func Kind(env *Env) *cluster.Kind {
	env.defaults()
	return cluster.NewKind(KindShard, actor.PropsFromProducer(func() actor.Actor {
		return &shardActor{env: env}
	}, actor.WithDispatcher(shardDispatcher)))
}

// ShardProps returns props for a shard actor spawned outside a cluster (tests
// and benchmarks), with its identity given.
func ShardProps(env *Env, identity string) *actor.Props {
	env.defaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &shardActor{env: env, identity: identity}
	}, actor.WithDispatcher(shardDispatcher))
}

func (a *shardActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *request:
		a.handle(ctx, m.cmd, pendingReply{to: ctx.Sender(), ch: m.reply})
	case *requestBatch:
		a.handleBatch(ctx, m)
	case *wrapperspb.BytesValue:
		cmd, err := decodeRequest(m.Value)
		if err != nil {
			a.reply(ctx, pendingReply{to: ctx.Sender(), remote: true,
				res: seatmap.Result{Err: &seatmap.Error{Err: seatmap.ErrInvalidRequest, Msg: err.Error()}}})
			return
		}
		a.handle(ctx, cmd, pendingReply{to: ctx.Sender(), remote: true})
	case *flush:
		a.flush(ctx)
	case *fenced:
		if !errors.Is(a.broken, ErrFenced) {
			a.broken = fmt.Errorf("%w (%v)", ErrFenced, m.err)
			a.env.Stats.Fenced.Add(1)
			a.log.Error("shard fenced: a newer activation owns it; this one stops serving", "err", m.err)
			// stop, so callers' cached PIDs go dead and placement resolves the
			// identity again (to the activation that owns it now)
			ctx.Poison(ctx.Self())
		}
	case *needSnapshot:
		if a.shard != nil && a.broken == nil {
			a.snapshotFor(true)
		}
	case *journalFailed:
		if errors.Is(a.broken, ErrFenced) {
			for _, p := range m.replies {
				p.res = unavailable("this shard moved to a newer activation")
				for i := range p.bres {
					p.bres[i] = p.res
				}
				a.w.answer(p)
			}
			return
		}
		if m.gen == a.gen {
			a.gen++
			a.shard = nil
			a.recover(ctx)
		}
		for _, p := range m.replies {
			p.res = unavailable("storage failure")
			for i := range p.bres {
				p.bres[i] = p.res
			}
			a.w.answer(p)
		}
	case *tick:
		a.onTick(ctx, m)
	case *actor.Started:
		if a.identity != "" {
			a.recover(ctx)
		}
	case *cluster.ClusterInit:
		a.identity = m.Identity.Identity
		a.recover(ctx)
	case *actor.ReceiveTimeout:
		if a.shard == nil || !a.shard.Created() {
			ctx.Poison(ctx.Self())
		}
	case *actor.Stopping:
		if a.timer != nil {
			a.timer.Stop()
		}
		if a.w != nil {
			a.w.stop()
			a.env.live.CompareAndDelete(a.identity, ctx.Self())
		}
		a.env.Stats.forget(a.identity)
	}
}

// recover rebuilds the shard from the journal: snapshot, then records.
func (a *shardActor) recover(ctx actor.Context) {
	a.env.Stats.Recovering.Add(1)
	defer a.env.Stats.Recovering.Add(-1)
	a.log = a.env.Log.With("shard", a.identity)
	if a.w == nil {
		a.w = startWriter(a.env, a.identity, ctx.Self(), ctx.ActorSystem().Root)
		a.gen = 1
		a.env.live.Store(a.identity, ctx.Self())
	}
	_, n, err := parseIdentity(a.identity)
	if err != nil {
		a.broken = err
		return
	}
	start := time.Now()
	sh, err := loadShard(a.env.Journal, a.identity, n)
	if err == nil && a.env.Remote != nil {
		var init remoteInit
		if sh, init, err = a.activateRemote(sh, n); err == nil {
			a.w.in <- batch{gen: a.gen, init: &init}
		}
	}
	if err != nil {
		a.log.Error("recovery failed; the shard answers unavailable", "err", err)
		a.broken = err
		return
	}
	a.shard, a.broken = sh, nil
	if sh.Created() {
		a.log.Info("shard recovered", "seq", sh.Seq(), "took", time.Since(start))
		a.afterTurn(ctx, sh.Ready())
	} else {
		ctx.SetReceiveTimeout(idleEmpty)
	}
}

func loadShard(j Journal, identity string, n int) (*seatmap.Shard, error) {
	snap, recs, err := j.Load(identity)
	if err != nil {
		return nil, err
	}
	sh := seatmap.New(n)
	if snap != nil {
		if sh, err = seatmap.Restore(snap); err != nil {
			return nil, err
		}
	}
	for _, r := range recs {
		if err := sh.Replay(r); err != nil {
			return nil, err
		}
	}
	return sh, nil
}

func (a *shardActor) handle(ctx actor.Context, cmd seatmap.Command, p pendingReply) {
	if a.shard == nil || a.broken != nil {
		if a.shard == nil && a.broken == nil {
			a.recover(ctx) // a retry after a failed recovery or journal write
		}
		if a.broken != nil {
			p.res = seatmap.Result{Err: seatmap.ErrUnavailable}
			a.reply(ctx, p)
			return
		}
	}
	cmd.Now = a.env.NowMs()
	a.env.Stats.Commands.Add(1)
	start := time.Now()
	p.res = a.shard.Apply(cmd)
	a.env.Stats.ApplyMicros.Add(time.Since(start).Microseconds())
	if cmd.Kind.ReadOnly() {
		a.reply(ctx, p)
		return
	}
	if cmd.Kind == seatmap.KindCreate && p.res.Err == nil {
		ctx.SetReceiveTimeout(0)
	}
	if a.env.HoldAckApplied && holdOnly(cmd.Kind) {
		a.reply(ctx, p)
	} else {
		a.pending = append(a.pending, p)
	}
	if !a.flushQueued {
		a.flushQueued = true
		ctx.Send(ctx.Self(), &flush{})
	}
}

func (a *shardActor) handleBatch(ctx actor.Context, m *requestBatch) {
	p := pendingReply{bch: m.reply, bres: make([]seatmap.Result, len(m.cmds))}
	if a.shard == nil && a.broken == nil {
		a.recover(ctx)
	}
	if a.broken != nil {
		for i := range p.bres {
			p.bres[i] = seatmap.Result{Err: seatmap.ErrUnavailable}
		}
		a.w.answer(p)
		return
	}
	now := a.env.NowMs()
	for i, cmd := range m.cmds {
		cmd.Now = now
		p.bres[i] = a.shard.Apply(cmd)
	}
	a.env.Stats.Commands.Add(int64(len(m.cmds)))
	a.pending = append(a.pending, p)
	if !a.flushQueued {
		a.flushQueued = true
		ctx.Send(ctx.Self(), &flush{})
	}
}

// holdOnly reports whether a command touches holds only (no order), for
// Env.HoldAckApplied.
func holdOnly(k seatmap.Kind) bool {
	return k == seatmap.KindHold || k == seatmap.KindRelease || k == seatmap.KindExtend
}

func (a *shardActor) onTick(ctx actor.Context, t *tick) {
	if t.at != a.timerAt || a.shard == nil || a.broken != nil {
		return // a stale timer
	}
	a.timerAt = 0
	a.shard.Apply(seatmap.Command{Kind: seatmap.KindTick, Now: a.env.NowMs()})
	if !a.flushQueued {
		a.flushQueued = true
		ctx.Send(ctx.Self(), &flush{})
	}
}

// flush ends the turn: the records and events of every command since the
// last flush go to the writer as one batch, with the answers that wait for them.
func (a *shardActor) flush(ctx actor.Context) {
	a.flushQueued = false
	if a.shard == nil {
		return
	}
	rd := a.shard.Ready()
	replies := make([]pendingReply, len(a.pending))
	copy(replies, a.pending)
	clear(a.pending)
	a.pending = a.pending[:0]
	b := batch{gen: a.gen, rd: rd, replies: replies}
	if a.env.Remote != nil && len(rd.Records) > 0 {
		b.counts = counts(a.shard)
	}
	a.w.in <- b
	a.sinceSnap += len(rd.Records)
	a.afterTurn(ctx, rd)
	if a.sinceSnap >= a.env.SnapshotEvery {
		a.snapshot()
	}
}

// snapshot queues the state behind the records already queued.
func (a *shardActor) snapshot() { a.snapshotFor(false) }

// snapshotFor queues a snapshot for the journal and Redis, or for Redis only
// (a catch-up after Redis was down or lost data).
func (a *shardActor) snapshotFor(remoteOnly bool) {
	snap, err := a.shard.Snapshot()
	if err != nil {
		a.log.Warn("snapshot failed", "err", err)
		return
	}
	b := batch{gen: a.gen, snap: snap, snapSeq: a.shard.Seq(), remoteOnly: remoteOnly}
	if a.env.Remote != nil {
		b.counts = counts(a.shard)
	}
	a.w.in <- b
	if !remoteOnly {
		a.sinceSnap = 0
	}
}

// afterTurn publishes the gauges and arms the timer for the next deadline.
func (a *shardActor) afterTurn(ctx actor.Context, rd seatmap.Ready) {
	g := a.env.Stats.gauges(a.identity)
	_, by := a.shard.Counts()
	g.Available.Store(int64(by[seatmap.Available]))
	g.Held.Store(int64(by[seatmap.Held]))
	g.Reserved.Store(int64(by[seatmap.Reserved]))
	g.Sold.Store(int64(by[seatmap.Sold]))
	g.HoldsActive.Store(int64(a.shard.ActiveHolds()))
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
	self, root, at := ctx.Self(), ctx.ActorSystem().Root, rd.Deadline
	a.timer = time.AfterFunc(delay, func() { root.Send(self, &tick{at: at}) })
}

func (a *shardActor) reply(ctx actor.Context, p pendingReply) {
	if p.ch != nil {
		p.ch <- p.res
		return
	}
	if p.to == nil {
		return
	}
	if p.remote {
		ctx.Send(p.to, encodeResult(p.res))
		return
	}
	ctx.Send(p.to, &response{res: p.res})
}
