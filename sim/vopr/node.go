package vopr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/persistence/redis/redisfake"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// node is one boxoffice process: its journal (which survives its crashes),
// its Redis connection, its show activations, its relay and consumers.
type node struct {
	w     *world
	id    int
	inc   int // incarnation, bumped by every crash
	alive bool
	// crashedAt: when it died (restart and failover are scheduled from it)
	clock   *nodeClock
	env     *actors.Env
	journal disk
	redis   *redisfake.Client
	// redisCut: this node cannot reach Redis (a partition); survives restarts
	redisCut bool
	// isolated: this node cannot reach the other nodes (a partition)
	isolated  bool
	acts      map[string]*activation // show -> its activation here, if any
	view      map[string]int         // show -> the node this one routes it to
	relay     *pipeline.Relay
	relayP    *proc
	relayIdle *event // the relay's wait for a Wake, if waiting
	dedupe    *pipeline.MemDedupe
	dead      *pipeline.MemDeadLetters
	procs     []*proc // processes that die with this incarnation
	// shows is Booking's cache of show configs (actors.KnownShow); it dies
	// with the process
	shows *sync.Map
	// everActivated counts the activations of each show on this node
	everActivated map[string]int
	kv            kvStore         // its store's kv (the registry without Redis)
	registry      actors.Registry // this incarnation's show registry
}

// nodeClock is a node's actors.Clock: simulated time plus the node's own
// forward jumps. Timers of an earlier incarnation never fire.
type nodeClock struct {
	n      *node
	offset time.Duration
}

func (c *nodeClock) Now() time.Time {
	return simEpoch.Add(time.Duration(c.n.w.s.now) + c.offset)
}

func (c *nodeClock) AfterFunc(d time.Duration, f func()) actors.Timer {
	n, inc := c.n, c.n.inc
	return simTimer{n.w.s.after(d, n.id, "timer", nil, func() {
		if n.alive && n.inc == inc {
			f()
		}
	})}
}

// Sleep blocks the node's caller: in a single-threaded world, time passes
// for everyone while nothing else runs (the rest of the system is slow).
func (c *nodeClock) Sleep(d time.Duration) { c.n.w.s.now += int64(d) }

func (c *nodeClock) nowMs() int64 { return c.Now().UnixMilli() }

func newNode(w *world, id int) *node {
	n := &node{w: w, id: id, journal: w.newDisk(), view: map[string]int{}, everActivated: map[string]int{}, kv: kvStore{},
		dedupe: pipeline.NewMemDedupe(), dead: &pipeline.MemDeadLetters{}}
	n.clock = &nodeClock{n: n}
	return n
}

// start boots an incarnation: fresh env, Redis connection, activations of
// the shows its journal knows (as Booking.Recover does), then the relay.
func (n *node) start() {
	w := n.w
	n.inc++
	n.alive = true
	n.acts = map[string]*activation{}
	n.shows = &sync.Map{}
	n.env = &actors.Env{Journal: &simJournal{disk: n.journal, n: n, inc: n.inc}, Log: slog.New(&traceLog{n: n}), NowMs: n.clock.nowMs, Clock: n.clock,
		SnapshotEvery: w.cfg.snapshotEvery, Stats: &actors.Stats{}}
	if w.redis != nil {
		n.redis = w.redis.Client()
		n.redis.SetProbing(true)
		n.redis.SetDown(n.redisCut)
		n.redis.OnCall(w.redisFault)
		n.env.Remote = n.redis
		if w.cfg.lease > 0 {
			n.env.Lease = w.cfg.lease
		}
		n.every("redis probe", 200*time.Millisecond, func() { n.redis.Probe() })
	}
	n.registry = n.newRegistry()
	inc := n.inc
	n.env.OnEvents = func() { n.wakeRelay(inc) }
	st := &settler{n: n}
	n.relay = &pipeline.Relay{Outbox: n.journal, Log: discard, DeadLetters: n.dead, Now: n.clock.Now,
		Transport: &transport{n: n, handlers: []pipeline.Handler{
			&pipeline.Payment{Gateway: w.gw, Settler: st, Log: discard},
			&pipeline.Notify{Channels: []pipeline.Channel{w.notes}, Settler: st, Dedupe: n.dedupe, Log: discard},
		}}}
	if err := n.env.DropUnaccepted(); err != nil { // serve.go: before the node joins
		if _, ok := n.journal.(*pebbleDisk); !ok || !errors.Is(err, errDisk) {
			panic(fmt.Sprintf("node%d: DropUnaccepted: %v", n.id, err))
		}
		// serve.go exits; the process is restarted later
		w.faults["start-failed"]++
		w.s.trace.add(w.s.now, w.s.steps, n.id, "FAULT start failed: DropUnaccepted", err.Error())
		n.crashNow()
		return
	}
	n.procs = append(n.procs[:0], w.s.spawn(fmt.Sprintf("node%d boot", n.id), n.id, func(p *proc) {
		shows, _ := n.journal.Shards()
		for _, show := range shows {
			_, _ = w.invoke(p, n, show, seatmap.Command{Kind: seatmap.KindGetShow}, 5*time.Second)
		}
		n.relayP = w.s.spawn(fmt.Sprintf("node%d relay", n.id), n.id, n.runRelay)
		n.procs = append(n.procs, n.relayP)
	}))
}

// every runs f every d while this incarnation lives.
func (n *node) every(what string, d time.Duration, f func()) {
	inc := n.inc
	var tick func()
	tick = func() {
		if !n.alive || n.inc != inc {
			return
		}
		f()
		n.w.s.after(d, n.id, what, nil, tick)
	}
	n.w.s.after(d, n.id, what, nil, tick)
}

// crash kills the process: activations, writers, relay and timers vanish
// mid-step; the journal keeps what it synced (and maybe the failed writes).
func (n *node) crash(keepFailed bool) {
	if !n.alive {
		return
	}
	n.alive = false
	for _, p := range n.procs {
		p.kill()
	}
	n.procs = nil
	n.relayP, n.relayIdle = nil, nil
	for _, a := range n.acts {
		a.dead = true
	}
	n.acts = nil
	n.journal = n.journal.crash(keepFailed)
	if n.redis != nil { // what the dead process still does reaches nobody
		n.redis.OnCall(nil)
		n.redis.SetDown(true)
	}
}

// simJournal is a node's journal as its process sees it: the process may
// crash just before or just after a write reaches the disk, in the middle
// of a writer step (between the journal and Redis).
type simJournal struct {
	disk
	n   *node
	inc int
}

func (j *simJournal) Append(show string, wr actors.Write) (actors.Held, error) {
	j.maybeCrash("before a journal write")
	held, err := j.disk.Append(show, wr)
	j.maybeCrash("after a journal write")
	return held, err
}

// maybeCrash crashes the node's process at random (pCrashInWrite) while it
// is this journal's incarnation and alive.
func (j *simJournal) maybeCrash(when string) {
	n, w := j.n, j.n.w
	if n.inc == j.inc && n.alive && w.s.chance(w.cfg.pCrashInWrite) {
		w.faults["crash-in-write"]++
		w.s.trace.add(w.s.now, w.s.steps, n.id, "FAULT crash "+when, nil)
		n.crashNow()
	}
}

// SaveSortedState is the disk's when it has one (Pebble: the state as
// ingested sstables, or one batch below its IngestMinRows), else SaveState,
// with the crashes of Append around it: the copy of a show restored from
// Redis (actors.copyRemoteState) takes this path only through it.
func (j *simJournal) SaveSortedState(show string, seq uint64, rows []facts.Row) error {
	j.maybeCrash("before a sorted state write")
	j.n.w.sortedSaves++
	var err error
	if ss, ok := j.disk.(interface {
		SaveSortedState(string, uint64, []facts.Row) error
	}); ok {
		err = ss.SaveSortedState(show, seq, rows)
	} else {
		err = j.disk.SaveState(show, seq, rows)
	}
	j.maybeCrash("after a sorted state write")
	return err
}

// OnFailed forwards to the disk when it can tell (Pebble: see
// actors.FailureNotifier); the fake disk fails only by the Journal's calls.
func (j *simJournal) OnFailed(f func()) {
	if n, ok := j.disk.(actors.FailureNotifier); ok {
		n.OnFailed(f)
	}
}

// runRelay is Relay.Run, stepped: deliver, wait for a Wake or the next due
// event, back off while the outbox or the transport fails.
func (n *node) runRelay(p *proc) {
	s := n.w.s
	backoff := 50 * time.Millisecond
	for {
		wait, err := n.relay.Step(context.Background())
		if err != nil {
			s.sleep(p, n.id, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		if wait > 0 {
			n.relayIdle = s.after(wait, n.id, "relay wait over", nil, p.resume)
			p.wake = n.relayIdle
			p.park()
			n.relayIdle = nil
		}
	}
}

// wakeRelay is Env.OnEvents: a batch with events is durable.
func (n *node) wakeRelay(inc int) {
	if n.inc != inc || n.relayIdle == nil || n.relayP == nil {
		return
	}
	n.relayIdle.cancelled = true
	n.relayIdle = nil
	p := n.relayP
	p.wake = n.w.s.after(0, n.id, "relay woken", nil, p.resume)
}

// activation returns the node's activation of show, starting one if there
// is none or the last one stopped (as the cluster's identity lookup does).
func (n *node) activation(show string) *activation {
	if a := n.acts[show]; a != nil && !a.stopped && !a.dead {
		return a
	}
	w := n.w
	n.everActivated[show]++
	a := &activation{n: n, inc: n.inc, show: show, pid: actor.NewPID(fmt.Sprintf("node%d", n.id), show)}
	w.activations++
	a.serial = w.activations
	a.ss = actors.NewSteppedShow(n.env, show, a.enqueue)
	a.ss.SetWriteOrder(func() bool { return w.s.chance(w.cfg.pJournalFirst) })
	a.label = fmt.Sprintf("act#%d %s", a.serial, show)
	n.acts[show] = a
	a.enqueue(&actor.Started{})
	if n.env.Lease > 0 {
		d := n.env.Lease / 8
		var beat func()
		beat = func() {
			if a.dead || a.writerDone {
				return
			}
			a.ss.Heartbeat()
			w.s.after(d, n.id, "lease heartbeat", a.label, beat)
		}
		w.s.after(d, n.id, "lease heartbeat", a.label, beat)
	}
	return a
}

// activation is one SteppedShow with its mailbox, as protoactor runs it.
type activation struct {
	n       *node
	inc     int
	serial  int
	label   string
	show    string
	ss      *actors.SteppedShow
	pid     *actor.PID
	box     []any
	running *event // the next mailbox turn, if scheduled
	writer  *event // the next writer step, if scheduled
	stopped bool   // it processed its poison pill
	// writerDone: its writer stopped after the actor did
	writerDone bool
	dead       bool // its node crashed
	// receive timeout (SetReceiveTimeout)
	rto     time.Duration
	rtoMark int
	msgs    int
}

func (a *activation) describe() string {
	return fmt.Sprintf("act#%d %s %s", a.serial, a.show, a.ss.Status())
}

type poisonPill struct{}

// enqueue puts a message in the mailbox (tell of the SteppedShow: timers and
// the writer call it).
func (a *activation) enqueue(m any) {
	if a.dead || a.stopped {
		if r, ok := m.(*requestMsg); ok {
			r.c.stoppedAt(a)
		}
		return
	}
	a.box = append(a.box, m)
	a.schedule()
}

func (a *activation) schedule() {
	if a.running == nil && len(a.box) > 0 && !a.dead {
		w := a.n.w
		d := w.s.between(0, w.cfg.mailboxLatency)
		if w.s.chance(w.cfg.pSlowTurn) { // the dispatcher is late (GC, a busy CPU)
			d = w.s.between(2*time.Millisecond, 50*time.Millisecond)
		}
		a.running = w.s.after(d, a.n.id, "turn", a.label, a.turn)
	}
}

// turn runs one message.
func (a *activation) turn() {
	a.running = nil
	if a.dead || len(a.box) == 0 {
		return
	}
	m := a.box[0]
	a.box[0] = nil
	a.box = a.box[1:]
	a.msgs++
	w := a.n.w
	w.s.trace.add(w.s.now, w.s.steps, a.n.id, "  receive", messageName{m})
	switch m := m.(type) {
	case poisonPill:
		a.ss.Receive(&actx{a: a, msg: &actor.Stopping{}})
		a.stopped = true
		for _, m := range a.box {
			if r, ok := m.(*requestMsg); ok {
				r.c.stoppedAt(a)
			}
		}
		a.box = nil
	case *requestMsg:
		if run := a.takeRun(m); run != nil {
			a.ss.Receive(&actx{a: a, msg: run})
			break
		}
		a.ss.Receive(&actx{a: a, msg: m.msg})
	default:
		a.ss.Receive(&actx{a: a, msg: m})
	}
	a.afterStep()
	a.schedule()
}

// maxRun bounds a run as the real mailbox does (actors/mailbox.go).
const maxRun = 256

// takeRun returns, with Options.Runs, the run of first and the requests
// queued right behind it (taken from the box), or nil when none is.
func (a *activation) takeRun(first *requestMsg) any {
	if !a.n.w.runs {
		return nil
	}
	n := 0
	for n < len(a.box) && n+1 < maxRun {
		if _, ok := a.box[n].(*requestMsg); !ok {
			break
		}
		n++
	}
	if n == 0 {
		return nil
	}
	reqs := []any{first.msg}
	w := a.n.w
	for _, m := range a.box[:n] {
		r := m.(*requestMsg)
		w.s.trace.add(w.s.now, w.s.steps, a.n.id, "  receive (run)", messageName{r})
		reqs = append(reqs, r.msg)
	}
	clear(a.box[:n])
	a.box = a.box[n:]
	a.msgs += n
	return actors.NewRequestRun(reqs)
}

// afterStep schedules the writer when batches wait for it.
func (a *activation) afterStep() {
	if a.dead || a.writerDone || a.writer != nil {
		return
	}
	if a.ss.WriterQueued() > 0 || a.stopped {
		w := a.n.w
		d := w.s.between(w.cfg.syncMin, w.cfg.syncMax)
		if w.s.chance(w.cfg.pSlowSync) {
			d = w.s.between(20*time.Millisecond, 300*time.Millisecond)
		}
		a.writer = w.s.after(d, a.n.id, "writer step", a.label, a.writerStep)
	}
}

func (a *activation) writerStep() {
	a.writer = nil
	if a.dead {
		return
	}
	if q := a.ss.WriterQueued(); q > 900 {
		panic(fmt.Sprintf("writer queue of %s at %d", a.show, q))
	}
	if !a.ss.StepWriter() {
		a.writerDone = true
		return
	}
	a.afterStep()
}

// setReceiveTimeout arms protoactor's idle timeout: ReceiveTimeout after d
// without a message.
func (a *activation) setReceiveTimeout(d time.Duration) {
	a.rto = d
	a.rtoMark = a.msgs
	if d <= 0 {
		return
	}
	mark := a.msgs
	w := a.n.w
	w.s.after(d, a.n.id, "receive timeout?", a.label, func() {
		if a.rto == d && a.msgs == mark && !a.dead && !a.stopped {
			a.enqueue(&actor.ReceiveTimeout{})
		}
	})
}

// requestMsg is a client's request in the mailbox, with its call.
type requestMsg struct {
	msg any
	c   *call
}

// messageName formats a mailbox message for the trace.
type messageName struct{ m any }

func (m messageName) describe() string {
	switch x := m.m.(type) {
	case *requestMsg:
		return fmt.Sprintf("call#%d %s", x.c.id, describeCmd(x.c.cmd))
	case poisonPill:
		return "poison pill"
	}
	return actors.MessageName(m.m)
}

// actx is the actor.Context a SteppedShow gets: the methods the show actor
// uses, the rest panic (nil embedded interface).
type actx struct {
	actor.Context
	a   *activation
	msg any
}

func (c *actx) Message() any       { return c.msg }
func (c *actx) Sender() *actor.PID { return nil }
func (c *actx) Self() *actor.PID   { return c.a.pid }
func (c *actx) Poison(*actor.PID)  { c.a.enqueue(poisonPill{}) }
func (c *actx) Send(pid *actor.PID, m any) {
	if pid != c.a.pid {
		panic(fmt.Sprintf("show actor sent %T to %v", m, pid))
	}
	c.a.enqueue(m)
}
func (c *actx) SetReceiveTimeout(d time.Duration) { c.a.setReceiveTimeout(d) }

// traceLog is a node's slog.Handler: the shell's log lines go into the
// trace (formatted only when printed).
type traceLog struct {
	n     *node
	attrs []slog.Attr
}

func (h *traceLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *traceLog) Handle(_ context.Context, r slog.Record) error {
	w := h.n.w
	attrs := append([]slog.Attr(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "took" { // real time: a replay's trace must not differ
			attrs = append(attrs, a)
		}
		return true
	})
	msg, level := r.Message, r.Level
	w.s.trace.add(w.s.now, w.s.steps, h.n.id, "  log", func() string {
		var b strings.Builder
		b.WriteString(level.String() + " " + msg)
		for _, a := range attrs {
			b.WriteString(" " + a.String())
		}
		return b.String()
	})
	return nil
}

func (h *traceLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &traceLog{n: h.n, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *traceLog) WithGroup(string) slog.Handler { return h }
