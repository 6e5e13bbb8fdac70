package actors

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// An in-process call (callLocal) sends its command to the activation and
// waits on its reply channel with a plain receive: no timer and no select
// per call. Under load a call's answer comes after its batch's fsync, so a
// per-call timer was armed and removed from the runtime's timer heaps (and a
// two-way select parked on it) for every command, a cost that grew with the
// calls in flight. Instead every waiting call is in localCalls, and one
// goroutine (the reaper, running while calls wait and reapIdle after) checks
// them every reapTick: a call past its deadline, or whose activation died
// with the command in its mailbox (it is never answered), gets a wake-up on
// its channel.
//
// The reply channel holds two: the answer and at most one wake-up, so the
// actor's or writer's blocking send of the answer never blocks. The reaper
// sends a wake-up only to a registered waiter whose channel is empty, under
// its shard's lock; a call unregisters before it drains and pools its
// waiter, so a pooled waiter's channel is empty.

// Timing of the reaper.
const (
	reapTick = 10 * time.Millisecond // deadline checks: how late a call may give up
	// localPoll is how often an in-process call's activation is checked to
	// be alive.
	localPoll = 100 * time.Millisecond
)

// errWake marks a wake-up from the reaper on a reply channel; it never
// leaves callLocal.
var errWake = errors.New("actors: reaper wake-up")

// errDeadLetter marks a wake-up for a request that went to the dead
// letters (wakeOnDeadLetter); it never leaves callLocal.
var errDeadLetter = errors.New("actors: request went to the dead letters")

// deadLetterWakes holds the actor systems whose dead letters wake the calls
// they carry (wakeOnDeadLetter subscribes once a system).
var deadLetterWakes sync.Map // *actor.ActorSystem -> struct{}

// wakeOnDeadLetter makes a request that protoactor delivers to the dead
// letters (its activation was gone when it was sent: protoactor publishes
// it on the system's event stream from inside Send) wake its caller at
// once, who then retries on a fresh activation (errStopped). It replaces a
// lookup in the process registry before every send, which cost two atomic
// writes on a lock that every CPU shared for every request
// (bench/README.md, issue 12, eleventh round). A call whose activation
// stops with the request in its mailbox is not a dead letter: the reaper
// finds it (localPoll).
func wakeOnDeadLetter(system *actor.ActorSystem) {
	if _, loaded := deadLetterWakes.LoadOrStore(system, struct{}{}); loaded {
		return
	}
	system.EventStream.Subscribe(func(ev any) {
		dl, ok := ev.(*actor.DeadLetterEvent)
		if !ok {
			return
		}
		if r, ok := actor.UnwrapEnvelopeMessage(dl.Message).(*request); ok && r.reply != nil {
			select {
			case r.reply <- seatmap.Result{Err: errDeadLetter}:
			default: // holds a reaper's wake-up and this one already
			}
		}
	})
}

// waiter is one in-process call waiting for its answer.
type waiter struct {
	ch       chan seatmap.Result // capacity 2: the answer and at most one wake-up
	deadline int64               // unix nanoseconds
	pid      *actor.PID
	reg      *actor.ProcessRegistryValue
	shard    *waitShard // while registered
	idx      int        // in shard.waiting, while registered
	home     uint32     // the shard it registers in, fixed when made
}

// waiterHomes spreads new waiters over the shards. A waiter keeps its shard
// for life, and the pool hands a waiter back to the CPU that put it, so the
// calls of one CPU mostly meet in the same shards' locks (a round-robin
// counter a call was one more atomic write a call that every CPU shared).
var waiterHomes atomic.Uint32

var waiterPool = sync.Pool{New: func() any {
	return &waiter{ch: make(chan seatmap.Result, 2), home: waiterHomes.Add(1) % waitShards}
}}

// waitShard is one lock's worth of waiting calls.
type waitShard struct {
	mu      sync.Mutex // protects following fields and the idx of its waiters
	waiting []*waiter
	_       [40]byte // keep shards' locks on separate cache lines
}

const waitShards = 16

// waitRegistry is the set of waiting in-process calls. It keeps no count
// of them beside its shards (the reaper counts them under the shards' locks
// when it sweeps): one shared counter was two more atomic writes a call.
type waitRegistry struct {
	shards  [waitShards]waitShard
	running atomic.Bool // a reaper runs (it stops after reapIdle without calls)
}

// reapIdle is how long the reaper runs on without calls before it stops.
const reapIdle = time.Second

var localCalls waitRegistry

// add registers w and starts the reaper if none runs. It registers before
// it looks at running: a reaper that stops without counting w (reap) has
// cleared running by then, and add starts another.
func (r *waitRegistry) add(w *waiter) {
	sh := &r.shards[w.home%waitShards]
	sh.mu.Lock()
	w.shard, w.idx = sh, len(sh.waiting)
	sh.waiting = append(sh.waiting, w)
	sh.mu.Unlock()
	if !r.running.Load() && r.running.CompareAndSwap(false, true) {
		go r.reap()
	}
}

// remove unregisters w: after it returns, the reaper sends w nothing more.
func (r *waitRegistry) remove(w *waiter) {
	sh := w.shard
	sh.mu.Lock()
	last := len(sh.waiting) - 1
	moved := sh.waiting[last]
	sh.waiting[w.idx], moved.idx = moved, w.idx
	sh.waiting[last] = nil
	sh.waiting = sh.waiting[:last]
	sh.mu.Unlock()
	w.shard = nil
}

// reap wakes, every reapTick, the calls past their deadline and, every
// localPoll, those whose activation is gone. It returns after reapIdle
// without calls; add starts another.
func (r *waitRegistry) reap() {
	t := time.NewTicker(reapTick)
	defer t.Stop()
	every := int(localPoll / reapTick)
	idle := 0
	for n := 1; ; n++ {
		now := (<-t.C).UnixNano()
		if r.sweep(now, n%every == 0) > 0 {
			idle = 0
			continue
		}
		if idle++; idle < int(reapIdle/reapTick) {
			continue
		}
		r.running.Store(false)
		// a call registered after the sweep above either is counted now
		// or saw running cleared and started a reaper of its own: carry
		// on only in the first case, unless that reaper runs already
		if r.count() == 0 || !r.running.CompareAndSwap(false, true) {
			return
		}
		idle = 0
	}
}

// count is the number of registered waiters.
func (r *waitRegistry) count() int {
	n := 0
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		n += len(sh.waiting)
		sh.mu.Unlock()
	}
	return n
}

// sweep wakes the waiters past their deadline at now and, with alive set,
// those whose activation is not in its process registry. It returns how
// many waiters are registered.
func (r *waitRegistry) sweep(now int64, alive bool) (registered int) {
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		registered += len(sh.waiting)
		for _, w := range sh.waiting {
			if len(w.ch) > 0 {
				continue // answered, or woken already
			}
			if now >= w.deadline || alive && !w.alive() {
				select {
				case w.ch <- seatmap.Result{Err: errWake}:
				default:
				}
			}
		}
		sh.mu.Unlock()
	}
	return registered
}

// alive reports whether the waiter's activation is still in its process registry.
func (w *waiter) alive() bool {
	_, ok := w.reg.Get(w.pid)
	return ok
}

// callLocal sends to an activation in this process and waits on a channel:
// no future actor, no encoding, no timer. deadline is when the call gives
// up (about reapTick late at most). A request to an activation that is gone
// comes back at once from the dead letters (wakeOnDeadLetter, which
// NewBooking installs) as errStopped.
func (b *Booking) callLocal(pid *actor.PID, cmd seatmap.Command, deadline time.Time) (seatmap.Result, error) {
	reg := b.root.ActorSystem().ProcessRegistry
	w := waiterPool.Get().(*waiter)
	w.deadline, w.pid, w.reg = deadline.UnixNano(), pid, reg
	localCalls.add(w)
	b.root.Send(pid, &request{cmd: cmd, reply: w.ch})
	for {
		res := <-w.ch
		if res.Err == errDeadLetter {
			// never delivered, so never answered: the waiter is left to
			// the garbage collector like one that gives up
			localCalls.remove(w)
			return seatmap.Result{}, errStopped
		}
		if res.Err != errWake {
			localCalls.remove(w)
			select {
			case <-w.ch: // a wake-up that crossed the answer
			default:
			}
			w.pid, w.reg = nil, nil
			waiterPool.Put(w)
			return res, nil
		}
		// the channel may still receive the answer: a waiter that gives up
		// is left to the garbage collector
		if time.Now().UnixNano() >= w.deadline {
			localCalls.remove(w)
			return seatmap.Result{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "show did not answer in time"}
		}
		if !w.alive() {
			// it stopped with the message in its mailbox: never answered
			localCalls.remove(w)
			return seatmap.Result{}, errStopped
		}
	}
}
