package actors

import (
	"runtime"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// A show actor's mailbox hands its actor the in-process requests queued
// back to back as one message, a requestRun, instead of one message each
// (issue 12). Per message, protoactor's mailbox pops, counts, and invokes
// the actor context, which checks its receive timeout and metrics
// extension, and the actor then reads the clock twice and counts: paid once
// per run instead. And a run lets the actor load, before it applies the
// first command, the hash-index words that all of the run's commands will
// probe (seatmap.Shard.TouchRun), so that their cache misses overlap instead
// of following one another: a hot show's holds probe indexes of tens of
// megabytes at random places.
//
// And a turn that emptied the mailbox lingers for one yield before it ends
// (processMessages), so that the callers a group's answers woke post into
// it. Otherwise it is protoactor's unbounded lock-free mailbox
// (UnboundedLockfree; actor/mailbox.go of the pinned version): system
// messages first, suspend and resume, a yield every Throughput() messages,
// a panic escalated with the message that raised it. Its queues are the
// same 1024cores non-intrusive MPSC queue (protoactor keeps its own
// internal).

// maxRun bounds the requests handed over as one run: a run is applied in one
// go (other messages, the writer's wake-up included, wait for it) and its
// index words must still be in the cache when their commands apply.
const maxRun = 256

// requestRun is requests from in-process callers that were queued back to
// back, in mailbox order. It belongs to the mailbox: the actor reads it
// during its Receive and keeps nothing of it.
type requestRun struct {
	reqs []*request
}

// newShowMailbox is the show actors' actor.MailboxProducer.
func newShowMailbox() actor.Mailbox {
	return &runMailbox{user: newMPSC(), system: newMPSC()}
}

// runMailbox: see above. Post* are safe for concurrent use; the rest runs
// on the dispatcher, one turn at a time (status).
type runMailbox struct {
	user, system *mpsc
	status       atomic.Int32 // mailboxIdle or mailboxRunning
	userN, sysN  atomic.Int32 // messages queued
	suspended    atomic.Bool
	invoker      actor.MessageInvoker
	dispatcher   actor.Dispatcher
	run          requestRun // reused from run to run
}

const (
	mailboxIdle int32 = iota
	mailboxRunning
)

func (m *runMailbox) PostUserMessage(msg any) {
	m.user.push(msg)
	m.userN.Add(1)
	m.schedule()
}

func (m *runMailbox) PostSystemMessage(msg any) {
	m.system.push(msg)
	m.sysN.Add(1)
	m.schedule()
}

func (m *runMailbox) RegisterHandlers(invoker actor.MessageInvoker, dispatcher actor.Dispatcher) {
	m.invoker, m.dispatcher = invoker, dispatcher
}

func (m *runMailbox) Start() {}

func (m *runMailbox) UserMessageCount() int { return int(m.userN.Load()) }

func (m *runMailbox) schedule() {
	if m.status.CompareAndSwap(mailboxIdle, mailboxRunning) {
		m.dispatcher.Schedule(m.processMessages)
	}
}

// processMessages is one turn on the dispatcher: it runs until the queues
// are empty (or the mailbox suspended), lingers (below), then goes idle
// unless a message came meanwhile.
//
// Lingering: when a drain that invoked something leaves the queues empty,
// the turn yields its goroutine once (runtime.Gosched) and drains again if
// messages came meanwhile, as long as they keep coming. A busy show's
// callers are woken in a burst, by the answers of a durable group, and
// post their next commands one by one; without the yield the actor took
// each alone, in a turn of its own (0.86 turns a command at 64 callers in
// bench/serial): a dispatcher wake-up, a park and the actor's state moved
// between the CPUs' caches, each time. With it, the callers that the
// answers made runnable post while the turn yields, and the turn takes
// their commands as runs (0.11 turns a command; the serial path's CPU a
// command 8-35% lower and holds/s 6-21% higher in four alternated pairs:
// bench/README.md, issue 12, ninth round). A yield that finds
// nothing ends the turn: an idle show pays one yield a turn.
func (m *runMailbox) processMessages() {
	turns.Add(1)
	for {
		if m.drain() && m.sysN.Load() == 0 && m.userN.Load() == 0 && !m.suspended.Load() {
			runtime.Gosched()
			if m.sysN.Load() > 0 || m.userN.Load() > 0 {
				continue
			}
		}
		m.status.Store(mailboxIdle)
		sys, user := m.sysN.Load(), m.userN.Load()
		if sys == 0 && (m.suspended.Load() || user == 0) {
			return
		}
		// a message came after the loop ended: run again, unless a poster
		// scheduled a turn of its own already
		if !m.status.CompareAndSwap(mailboxIdle, mailboxRunning) {
			return
		}
	}
}

// turns counts the show mailboxes' turns (processMessages calls), for
// bench/serial: MailboxTurns.
var turns atomic.Int64

// MailboxTurns is the number of turns show actors' mailboxes have taken in
// this process: a turn is a dispatcher wake-up and, at its end, a park.
func MailboxTurns() int64 { return turns.Load() }

// drain invokes the queued messages, system messages first, and reports
// whether it invoked any.
func (m *runMailbox) drain() (invoked bool) {
	var msg any
	defer func() {
		if r := recover(); r != nil {
			m.invoker.EscalateFailure(r, msg)
		}
	}()
	n, limit := 0, m.dispatcher.Throughput()
	for {
		if n > limit {
			n = 0
			runtime.Gosched()
		}
		n++
		if msg = m.system.pop(); msg != nil {
			m.sysN.Add(-1)
			switch msg.(type) {
			case *actor.SuspendMailbox:
				m.suspended.Store(true)
			case *actor.ResumeMailbox:
				m.suspended.Store(false)
			default:
				m.invoker.InvokeSystemMessage(msg)
			}
			continue
		}
		if m.suspended.Load() {
			return
		}
		if msg = m.user.pop(); msg == nil {
			return
		}
		invoked = true
		m.userN.Add(-1)
		req, ok := msg.(*request)
		if !ok || req.reply == nil {
			m.invoker.InvokeUserMessage(msg)
			continue
		}
		var next any
		msg, next = m.takeRun(req)
		m.invoker.InvokeUserMessage(msg)
		if run, ok := msg.(*requestRun); ok {
			n += len(run.reqs) - 1
			clear(run.reqs) // the callers' requests are garbage once answered
			run.reqs = run.reqs[:0]
		}
		if next != nil {
			msg = next
			m.invoker.InvokeUserMessage(next)
		}
	}
}

// takeRun pops the requests queued behind first, up to maxRun in all, and
// returns what to invoke: first alone, or the run of them; next is the
// message popped after the run that is not one of its requests (nil if the
// queue ran dry), to be invoked after it.
func (m *runMailbox) takeRun(first *request) (msg, next any) {
	reqs := append(m.run.reqs[:0], first)
	for len(reqs) < maxRun {
		if next = m.user.pop(); next == nil {
			break
		}
		m.userN.Add(-1)
		r, ok := next.(*request)
		if !ok || r.reply == nil {
			break
		}
		reqs, next = append(reqs, r), nil
	}
	m.run.reqs = reqs
	if len(reqs) == 1 {
		reqs[0] = nil
		m.run.reqs = reqs[:0]
		return first, next
	}
	return &m.run, next
}

// mpsc is the 1024cores non-intrusive MPSC queue
// (www.1024cores.net, "Non-intrusive MPSC node-based queue"), as in
// protoactor's internal/queue/mpsc: push is safe for concurrent use, pop
// only from the one consumer. A pop may miss a push still in progress (it
// swapped head, not yet linked): the mailbox's counters see that message
// and run again.
type mpsc struct {
	head atomic.Pointer[mpscNode] // where producers append
	tail *mpscNode                // consumer only: the last popped (a stub)
}

type mpscNode struct {
	next atomic.Pointer[mpscNode]
	val  any
}

func newMPSC() *mpsc {
	stub := &mpscNode{}
	q := &mpsc{tail: stub}
	q.head.Store(stub)
	return q
}

func (q *mpsc) push(v any) {
	n := &mpscNode{val: v}
	prev := q.head.Swap(n)
	prev.next.Store(n)
}

func (q *mpsc) pop() any {
	next := q.tail.next.Load()
	if next == nil {
		return nil
	}
	q.tail = next
	v := next.val
	next.val = nil
	return v
}
