package actors

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// batch is one mailbox turn on its way to the journal: its records and
// events, the answers that wait for them, or a snapshot to store in order.
type batch struct {
	gen        uint64 // the actor's generation; a failed write fails every later batch of its generation
	rd         seatmap.Ready
	replies    []pendingReply
	snap       []byte // with snapSeq: a snapshot, written in journal order
	snapSeq    uint64
	remoteOnly bool              // the snapshot is for Redis only (a catch-up)
	counts     map[string]string // the read model after this batch (with Remote)
	init       *remoteInit       // the activation's view of Redis (with Remote)
}

// journalFailed tells the actor its generation gen lost a write. The actor
// reloads from the journal first and only then answers replies (unavailable),
// so nobody who got the 503 can read the lost state afterwards.
type journalFailed struct {
	gen     uint64
	err     error
	replies []pendingReply
}

// writer is the long-lived goroutine that writes one shard's batches in order
// and answers their commands once synced. Running it beside the actor lets the
// actor apply the next turn while this one syncs (pipelining), and keeps the
// deep journal call stack off the mailbox goroutine.
type writer struct {
	env      *Env
	identity string
	self     *actor.PID
	root     *actor.RootContext
	in       chan batch
	failed   uint64 // highest generation that lost a write (0 = none)
	rs       remoteState
}

func startWriter(env *Env, identity string, self *actor.PID, root *actor.RootContext) *writer {
	w := &writer{env: env, identity: identity, self: self, root: root, in: make(chan batch, 1024)}
	env.writers.Add(1)
	go func() {
		defer env.writers.Done()
		w.run()
	}()
	return w
}

func (w *writer) stop() { close(w.in) }

func (w *writer) run() {
	var tick <-chan time.Time
	if w.env.Remote != nil {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	for {
		var b batch
		var ok bool
		select {
		case b, ok = <-w.in:
			if !ok {
				return
			}
		case <-tick:
			if w.rs.epoch == 0 || w.rs.needSnap || len(w.rs.backlog) > 0 {
				if err := w.remoteSync(); err != nil {
					w.root.Send(w.self, &fenced{err: err})
				}
			}
			continue
		}
		group := []batch{b}
		// group commit: take every batch already queued behind it
	drain:
		for len(group) < 256 {
			select {
			case nb, ok := <-w.in:
				if !ok {
					break drain
				}
				group = append(group, nb)
			default:
				break drain
			}
		}
		w.write(group)
	}
}

// write journals a group of consecutive batches as one Append (one sync),
// then answers them. Snapshots split the group: they are stored in order.
func (w *writer) write(group []batch) {
	var recs []seatmap.Record
	var events []seatmap.Event
	var replies []pendingReply
	var cnt map[string]string
	gen := uint64(0)
	flushRun := func() bool {
		if len(replies) == 0 && len(recs) == 0 && len(events) == 0 {
			return true
		}
		ok := w.append(gen, recs, events, replies, cnt)
		recs, events, replies, cnt = nil, nil, nil, nil
		return ok
	}
	for _, b := range group {
		if b.gen <= w.failed {
			w.root.Send(w.self, &journalFailed{gen: b.gen, replies: b.replies, err: errFailedBefore})
			continue
		}
		if gen != 0 && b.gen != gen && !flushRun() {
			continue
		}
		gen = b.gen
		if b.init != nil {
			if !flushRun() {
				continue
			}
			w.rs = remoteState{epoch: b.init.epoch, remoteSeq: b.init.remoteSeq, localSeq: b.init.localSeq}
			if w.rs.epoch != 0 && w.rs.remoteSeq < w.rs.localSeq {
				w.rs.needSnap = true // Redis is behind this node's journal
			}
			continue
		}
		if b.snap != nil {
			if !flushRun() {
				continue
			}
			if !b.remoteOnly {
				if err := w.env.Journal.SaveSnapshot(w.identity, b.snapSeq, b.snap); err != nil {
					w.env.Log.Warn("snapshot failed", "shard", w.identity, "err", err)
				}
			}
			if w.env.Remote != nil {
				w.remoteSnapshot(b.snapSeq, b.snap, b.counts)
			}
			continue
		}
		recs = append(recs, b.rd.Records...)
		events = append(events, b.rd.Events...)
		replies = append(replies, b.replies...)
		if b.counts != nil {
			cnt = b.counts
		}
	}
	flushRun()
}

var errFailedBefore = errors.New("an earlier write of this shard failed")

// append writes one run of records and events and answers its commands. It
// reports whether the write succeeded.
func (w *writer) append(gen uint64, recs []seatmap.Record, events []seatmap.Event, replies []pendingReply, cnt map[string]string) bool {
	// Redis and the local journal are written at the same time; an answer
	// waits for both (Redis only while it is healthy).
	var remoteErr error
	var remoteDone chan struct{}
	if w.env.Remote != nil && len(recs) > 0 {
		remoteDone = make(chan struct{})
		go func() {
			defer close(remoteDone)
			remoteErr = w.remoteAppend(recs, cnt)
		}()
	}
	if len(recs) > 0 || len(events) > 0 {
		start := time.Now()
		err := w.env.Journal.Append(w.identity, recs, events)
		w.env.Stats.JournalMicros.Add(time.Since(start).Microseconds())
		if remoteDone != nil {
			<-remoteDone
		}
		if err != nil {
			w.failed = gen
			w.env.Stats.JournalErrors.Add(1)
			w.env.Stats.LastJournalErrorMs.Store(time.Now().UnixMilli())
			w.env.Log.Error("journal write failed; answering unavailable and reloading", "shard", w.identity,
				"err", err, "commands", len(replies))
			w.root.Send(w.self, &journalFailed{gen: gen, err: err, replies: replies})
			return false
		}
		w.env.Stats.Batches.Add(1)
		w.env.Stats.Records.Add(int64(len(recs)))
	}
	if remoteErr != nil {
		w.failed = gen
		w.env.Log.Error("redis refused this activation; the shard stops serving", "shard", w.identity, "err", remoteErr)
		w.root.Send(w.self, &fenced{err: remoteErr})
		w.root.Send(w.self, &journalFailed{gen: gen, err: remoteErr, replies: replies})
		return false
	}
	for _, p := range replies {
		w.answer(p)
	}
	if len(events) > 0 {
		w.env.OnEvents()
	}
	return true
}

func unavailable(msg string) seatmap.Result {
	return seatmap.Result{Err: &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: msg}}
}

func (w *writer) answer(p pendingReply) {
	switch {
	case p.bch != nil:
		p.bch <- p.bres
	case p.ch != nil:
		p.ch <- p.res
	case p.to == nil:
	case p.remote:
		w.root.Send(p.to, encodeResult(p.res))
	default:
		w.root.Send(p.to, &response{res: p.res})
	}
}
