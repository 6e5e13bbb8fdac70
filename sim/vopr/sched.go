package vopr

import (
	"container/heap"
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// simEpoch is the wall time at which every simulation starts.
var simEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// event is one step of the simulation: fn runs at simulated time at.
type event struct {
	at        int64 // ns since simEpoch
	seq       uint64
	fn        func()
	what      string // for the trace
	node      int    // -1: not a node's
	arg       any    // formatted into the trace only when printed
	cancelled bool
	fired     bool
	idx       int
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *eventHeap) Push(x any)   { e := x.(*event); e.idx = len(*h); *h = append(*h, e) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// sched is the single-threaded scheduler: a seeded RNG, simulated time and
// a queue of events ordered by (time, insertion). Everything the simulation
// does runs inside an event, one at a time.
type sched struct {
	rng   *rand.Rand
	now   int64
	seq   uint64
	q     eventHeap
	steps int64
	trace traceRing
	procs []*proc // every proc spawned (killAll ends the parked ones)
}

func newSched(seed uint64) *sched {
	return &sched{rng: rand.New(rand.NewPCG(seed, seed^0x5DEECE66D))}
}

// at schedules fn after d (never before now).
func (s *sched) after(d time.Duration, node int, what string, arg any, fn func()) *event {
	if d < 0 {
		d = 0
	}
	s.seq++
	e := &event{at: s.now + int64(d), seq: s.seq, fn: fn, what: what, node: node, arg: arg}
	heap.Push(&s.q, e)
	return e
}

// step runs the next event; false when there is none.
func (s *sched) step() bool {
	for len(s.q) > 0 {
		e := heap.Pop(&s.q).(*event)
		if e.cancelled {
			continue
		}
		if e.at > s.now {
			s.now = e.at
		}
		e.fired = true
		s.steps++
		s.trace.add(s.now, s.steps, e.node, e.what, e.arg)
		e.fn()
		return true
	}
	return false
}

// between returns a uniformly random duration in [lo, hi].
func (s *sched) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(s.rng.Int64N(int64(hi-lo)+1))
}

// chance is true with probability p.
func (s *sched) chance(p float64) bool { return p > 0 && s.rng.Float64() < p }

// simTimer is an event as an actors.Timer.
type simTimer struct{ e *event }

func (t simTimer) Stop() bool {
	if t.e.fired || t.e.cancelled {
		return false
	}
	t.e.cancelled = true
	return true
}

// traceRing keeps the last steps for the failure report.
type traceRing struct {
	buf  [400]traceEntry
	n    int64
	grep string // when set, every entry containing it is printed at once
}

type traceEntry struct {
	at, step int64
	node     int
	what     string
	arg      any
}

func (t *traceRing) add(at, step int64, node int, what string, arg any) {
	e := traceEntry{at: at, step: step, node: node, what: what, arg: arg}
	t.buf[t.n%int64(len(t.buf))] = e
	t.n++
	if t.grep != "" {
		if line := e.String(); strings.Contains(line, t.grep) {
			fmt.Println(line)
		}
	}
}

func (e traceEntry) String() string {
	who := "     "
	if e.node >= 0 {
		who = fmt.Sprintf("node%d", e.node)
	}
	s := fmt.Sprintf("  step %8d  %12s  %s  %s", e.step, fmtTime(e.at), who, e.what)
	if e.arg != nil {
		s += ": " + describe(e.arg)
	}
	return s
}

// tail formats the last n entries.
func (t *traceRing) tail(n int) string {
	var b strings.Builder
	from := max(int64(0), t.n-int64(min(n, len(t.buf))))
	for i := from; i < t.n; i++ {
		b.WriteString(t.buf[i%int64(len(t.buf))].String())
		b.WriteByte('\n')
	}
	return b.String()
}

func fmtTime(ns int64) string {
	return fmt.Sprintf("%d.%06ds", ns/1e9, (ns%1e9)/1e3)
}

// describer is an argument of a trace entry that formats itself.
type describer interface{ describe() string }

func describe(a any) string {
	switch a := a.(type) {
	case describer:
		return a.describe()
	case func() string:
		return a()
	case string:
		return a
	}
	return fmt.Sprint(a)
}

// proc is a simulated process (a client, a relay, a node's start-up) written
// as straight-line code: it runs as a coroutine (iter.Pull) that parks
// whenever it waits and is resumed by an event, so it never runs beside
// anything else.
type proc struct {
	name  string
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
	done  bool
	// wake is the pending resume event, if any
	wake *event
}

// errKilled unwinds a proc that was stopped (its node crashed, the run ended).
type errKilled struct{}

// spawn starts body as a process at the next step.
func (s *sched) spawn(name string, node int, body func(p *proc)) *proc {
	p := &proc{name: name}
	seq := func(yield func(struct{}) bool) {
		p.yield = yield
		defer func() {
			p.done = true
			if r := recover(); r != nil {
				if _, ok := r.(errKilled); !ok {
					if _, ok := r.(runtime.Error); ok { // keep the stack: the coroutine's is lost
						r = fmt.Sprintf("%v\n%s", r, debug.Stack())
					}
					panic(r)
				}
			}
		}()
		body(p)
	}
	p.next, p.stop = iter.Pull(iter.Seq[struct{}](seq))
	p.wake = s.after(0, node, "start "+name, nil, func() { p.resume() })
	s.procs = append(s.procs, p)
	return p
}

// killAll kills every proc not done, once the seed ended: a parked proc's
// goroutine would otherwise live on, and keep its world (disks included)
// from the garbage collector (a batch of 550 Pebble seeds in one process
// grew to 24 GB).
func (s *sched) killAll() {
	for _, p := range s.procs {
		p.kill()
	}
	s.procs = nil
}

// resume runs p until it parks again or ends.
func (p *proc) resume() {
	p.wake = nil
	if !p.done {
		p.next()
	}
}

// park gives control back to the scheduler until resume.
func (p *proc) park() {
	if !p.yield(struct{}{}) {
		panic(errKilled{})
	}
}

// kill stops p: a parked p unwinds (errKilled) without running further.
func (p *proc) kill() {
	if p.wake != nil {
		p.wake.cancelled = true
		p.wake = nil
	}
	if !p.done {
		p.done = true
		p.stop()
	}
}

// sleep parks p for d.
func (s *sched) sleep(p *proc, node int, d time.Duration) {
	p.wake = s.after(d, node, "wake "+p.name, nil, p.resume)
	p.park()
}
