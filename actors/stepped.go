package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// SteppedShow is one activation of a show actor whose mailbox and writer the
// caller runs itself, one step at a time: the deterministic simulator
// (sim/vopr) drives the very code a protoactor activation runs, under its
// seeded scheduler and simulated Clock.
//
// The caller's duties: call Receive with one message at a time, from one
// goroutine, with a context whose Message, Sender, Self, Send (to Self:
// append to the mailbox), Poison (Self: stop after the queued messages) and
// SetReceiveTimeout work (no other method is called); deliver to the mailbox
// what tell receives (from timers and the writer); start with
// *actor.Started; run StepWriter while WriterQueued is above zero (the
// writer's channel holds 1024 batches; a full one blocks Receive), and after
// *actor.Stopping until it reports the writer stopped; with Env.Lease, call
// Heartbeat every Env.Lease/8. Answers go to the reply channels of the
// messages made by NewRequest.
type SteppedShow struct {
	a *showActor
}

// NewSteppedShow returns an activation of show identity over env; tell must
// queue a message in its mailbox.
func NewSteppedShow(env *Env, identity string, tell func(msg any)) *SteppedShow {
	env.defaults()
	return &SteppedShow{a: &showActor{env: env, identity: identity, tell: tell, stepped: true}}
}

// Receive runs one message: one turn of the actor.
func (s *SteppedShow) Receive(ctx actor.Context) { s.a.Receive(ctx) }

// NewRequest returns the message that asks a show activation to run cmd; the
// answer goes to reply, which must have room for it (capacity 1).
func NewRequest(cmd seatmap.Command, reply chan seatmap.Result) any {
	return &request{cmd: cmd, reply: reply}
}

// NewRequestRun returns the message that hands a show activation the
// requests made by NewRequest, in order, as one run: what its mailbox hands
// it for requests queued back to back (mailbox.go).
func NewRequestRun(reqs []any) any {
	run := &requestRun{reqs: make([]*request, len(reqs))}
	for i, r := range reqs {
		run.reqs[i] = r.(*request)
	}
	return run
}

// WriterQueued is how many batches wait for the writer.
func (s *SteppedShow) WriterQueued() int {
	if s.a.w == nil {
		return 0
	}
	return len(s.a.w.in)
}

// StepWriter runs one turn of the writer: it writes every queued batch (up
// to 256) as one group, answers them, and tells the actor to flush what it
// held back meanwhile (showActor.deferFlush). After the actor stopped it
// releases the lease once the queue is empty and reports false: the writer
// has stopped.
func (s *SteppedShow) StepWriter() bool {
	w := s.a.w
	if w == nil {
		return true
	}
	select {
	case b, ok := <-w.in:
		if !ok {
			w.handLastRows() // as run does
			w.ckpt.stop()
			if l := w.env.leaser(); l != nil {
				w.release(l)
			}
			return false
		}
		w.step(w.drain([]batch{b}))
		w.wake() // as run does: the flush the actor deferred while this wrote
	default:
	}
	return true
}

// SetWriteOrder makes the writer write each batch to the journal first, then
// to Redis, when journalFirst says so, else Redis first (a production
// writer does both at once; either may finish first, and a crash may come
// between them).
func (s *SteppedShow) SetWriteOrder(journalFirst func() bool) { s.a.journalFirst = journalFirst }

// Heartbeat renews the lease of an idle activation, as the writer's ticker
// does every Env.Lease/8.
func (s *SteppedShow) Heartbeat() {
	if l := s.a.env.leaser(); l != nil && s.a.w != nil && !s.a.w.closed {
		s.a.w.heartbeat(l)
	}
}

// State returns the activation's seat map (nil while it has none) and
// whether it would answer a read now from durable state (everything applied
// is written and accepted). The caller must not change it, and may read it
// only between steps.
func (s *SteppedShow) State() (*seatmap.Shard, bool) {
	a := s.a
	if a.shard == nil || a.w == nil {
		return a.shard, false
	}
	return a.shard, a.refusal(seatmap.KindGetShow) == nil && a.durable()
}

// Status describes the activation for a trace: generation, epoch, flags.
func (s *SteppedShow) Status() string {
	a := s.a
	seq := uint64(0)
	if a.shard != nil {
		seq = a.shard.Seq()
	}
	epoch := uint64(0)
	if a.w != nil {
		epoch = a.w.rs.epoch
	}
	return fmt.Sprintf("gen=%d seq=%d epoch=%d/%d fenced=%v ro=%v broken=%v pending=%d sent=%d",
		a.gen, seq, epochCounter(epoch), epoch&(1<<20-1), a.fenced, a.readOnly, a.broken != nil, len(a.pending), a.sent)
}

// MessageName names a message of a show actor's mailbox, for traces.
func MessageName(m any) string {
	switch m := m.(type) {
	case *request:
		return "request " + m.cmd.Kind.String()
	case *flush:
		return "flush"
	case *tick:
		return fmt.Sprintf("tick@%d", m.at)
	case *writeFailed:
		return fmt.Sprintf("writeFailed gen=%d fenced=%v: %v", m.gen, m.fenced, m.err)
	case *retryRecover:
		return "retryRecover"
	case *actor.Started:
		return "started"
	case *actor.Stopping:
		return "stopping"
	case *actor.ReceiveTimeout:
		return "receiveTimeout"
	}
	return fmt.Sprintf("%T", m)
}
