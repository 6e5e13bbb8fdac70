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
	gen     uint64 // the actor's generation; a failed write fails every later batch of its generation
	rd      seatmap.Ready
	replies []pendingReply
	snap    []byte // with snapSeq: a snapshot, written in journal order
	snapSeq uint64
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
}

func startWriter(env *Env, identity string, self *actor.PID, root *actor.RootContext) *writer {
	w := &writer{env: env, identity: identity, self: self, root: root, in: make(chan batch, 1024)}
	go w.run()
	return w
}

func (w *writer) stop() { close(w.in) }

func (w *writer) run() {
	for b := range w.in {
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
	gen := uint64(0)
	flushRun := func() bool {
		if len(replies) == 0 && len(recs) == 0 && len(events) == 0 {
			return true
		}
		ok := w.append(gen, recs, events, replies)
		recs, events, replies = nil, nil, nil
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
		if b.snap != nil {
			if !flushRun() {
				continue
			}
			if err := w.env.Journal.SaveSnapshot(w.identity, b.snapSeq, b.snap); err != nil {
				w.env.Log.Warn("snapshot failed", "shard", w.identity, "err", err)
			}
			continue
		}
		recs = append(recs, b.rd.Records...)
		events = append(events, b.rd.Events...)
		replies = append(replies, b.replies...)
	}
	flushRun()
}

var errFailedBefore = errors.New("an earlier write of this shard failed")

// append writes one run of records and events and answers its commands. It
// reports whether the write succeeded.
func (w *writer) append(gen uint64, recs []seatmap.Record, events []seatmap.Event, replies []pendingReply) bool {
	if len(recs) > 0 || len(events) > 0 {
		start := time.Now()
		err := w.env.Journal.Append(w.identity, recs, events)
		w.env.Stats.JournalMicros.Add(time.Since(start).Microseconds())
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
