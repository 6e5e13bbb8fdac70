package vopr

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/redis/redisfake"
)

// Options of one run.
type Options struct {
	Seed  uint64
	Steps int64 // steps of the workload phase; the final drain adds some
	// TraceLines is how many of the last steps a failure report shows.
	TraceLines int
	// Disk: DiskAuto (from the seed), DiskMem or DiskPebble.
	Disk string
	// Grep, when set, prints every step whose trace line contains it, as
	// it runs (for a replay).
	Grep string
	// Runs: a show activation's turn takes the requests queued back to back
	// at the head of its mailbox as one run, as the real mailbox does
	// (actors/mailbox.go); off, one message a turn (what the regression
	// seeds were found with). TestVOPR turns it on for odd seeds.
	Runs bool
}

// Result of one run.
type Result struct {
	Seed    uint64
	Steps   int64         // steps run (the drain included)
	SimTime time.Duration // simulated time
	Mode    string        // the cluster the seed chose
	Disk    string        // the disk it ran on (DiskMem, DiskPebble)
	Failure string        // "" when every check passed
	Step    int64         // the step of the failure
	Trace   string        // the last steps before the failure
	Stats   string        // what happened: acknowledged holds, orders, faults...
	// Ingests counts the states a Pebble disk stored as ingested sstables
	// (the copies of shows restored from Redis, IngestMinRows permitting).
	Ingests  int
	Duration time.Duration // wall time
}

// config is what a seed chooses: the cluster and the rates of every fault
// (swarm testing: each seed stresses a different mix).
type config struct {
	nodes         int
	redis         bool
	lease         time.Duration
	clients       int
	shows         int
	size          int // seats per row and GA capacity scale with it
	snapshotEvery int

	mailboxLatency, syncMin, syncMax, netMin, netMax, think time.Duration

	pSlowSync, pSlowTurn, pNetDrop, pNetDup, pNetLoseReply      float64
	pJournalFirst, pCrashInWrite                                float64
	pRedisDrop, pRedisLoseReply                                 float64
	pGatewayDown, pGatewayLate, pNotifyFail, pDupDelivery       float64
	faultEvery                                                  time.Duration
	wJournal, wCrash, wClock, wRedisCut, wRedisLose, wRedisLoss float64
	wMove, wPartition                                           float64
}

func chooseConfig(s *sched) config {
	c := config{clients: 4 + s.rng.IntN([]int{12, 40}[s.rng.IntN(2)]), shows: 1 + s.rng.IntN(2), size: 1 + s.rng.IntN(4)}
	switch mode := s.rng.IntN(4); mode {
	case 0:
		c.nodes = 1
	case 1:
		c.nodes, c.redis = 1, true
	default:
		c.nodes, c.redis, c.lease = mode, true, 1200*time.Millisecond
	}
	c.snapshotEvery = []int{5, 30, 200}[s.rng.IntN(3)]
	c.mailboxLatency = s.between(10*time.Microsecond, []time.Duration{200 * time.Microsecond, 3 * time.Millisecond}[s.rng.IntN(2)])
	c.syncMin = s.between(20*time.Microsecond, 500*time.Microsecond)
	c.syncMax = c.syncMin + s.between(0, 3*time.Millisecond)
	c.netMin = s.between(50*time.Microsecond, 500*time.Microsecond)
	c.netMax = c.netMin + s.between(0, 5*time.Millisecond)
	c.think = s.between(time.Millisecond, []time.Duration{20 * time.Millisecond, 300 * time.Millisecond}[s.rng.IntN(2)])
	rate := func(max float64) float64 {
		if s.chance(0.3) {
			return 0
		}
		return s.rng.Float64() * max
	}
	c.pSlowSync, c.pSlowTurn = rate(0.02), rate(0.02)
	c.pJournalFirst, c.pCrashInWrite = s.rng.Float64(), rate(0.005)
	c.pNetDrop, c.pNetDup, c.pNetLoseReply = rate(0.03), rate(0.03), rate(0.03)
	if c.redis {
		c.pRedisDrop, c.pRedisLoseReply = rate(0.1), rate(0.1)
	}
	c.pGatewayDown, c.pGatewayLate, c.pNotifyFail, c.pDupDelivery = rate(0.2), rate(0.2), rate(0.2), rate(0.1)
	c.faultEvery = s.between(100*time.Millisecond, 3*time.Second)
	c.wJournal, c.wCrash, c.wClock = rate(1), rate(1), rate(0.3)
	if c.redis {
		c.wRedisCut, c.wRedisLose = rate(1), rate(1)
		if c.nodes == 1 {
			c.wRedisLoss = rate(0.5)
		}
	}
	if c.nodes > 1 {
		c.wMove, c.wPartition = rate(1), rate(1)
	}
	return c
}

func (c config) mode() string {
	switch {
	case !c.redis:
		return "1 node, journal only"
	case c.nodes == 1:
		return "1 node + redis"
	}
	return fmt.Sprintf("%d nodes + redis + leases", c.nodes)
}

// showState is one show of the run.
type showState struct {
	id    string
	cfg   seatmap.ShowConfig
	seats []string
}

// world is one simulated deployment: nodes, Redis, the gateway, clients.
type world struct {
	s           *sched
	runs        bool // Options.Runs
	cfg         config
	nodes       []*node
	redis       *redisfake.Server
	shows       []*showState
	owner       map[string]int // show -> the node that owns it (placement)
	gw          *gateway
	notes       *notifier
	model       *model
	lin         *linRecorder
	unknownIDs  []string       // show ids the clients used that nobody created
	calledShow  map[string]int // calls that reached a show's actor (invoke), by show
	linNote     string         // how the linearizability check went
	calls       []*call
	callSeq     int
	activations int
	stopping    bool
	faults      map[string]int // injected, by kind
	chaos       *proc
	clients     []*proc
	pebble      bool // the nodes' disks are Pebble (disk.go)
	// walOpsFailed counts the WAL writes and syncs the Pebble disks failed
	// (their injectors run on Pebble's goroutines)
	walOpsFailed atomic.Int64
	pebbleOpens  int // Pebble stores opened (nodes' disks and their crash clones)
	// ingestMinRows is the Pebble disks' IngestMinRows, from the seed: 1 in
	// half the worlds (every sorted state of a show goes as ingested
	// sstables), else the store's default (a simulated show's few rows go in
	// one batch)
	ingestMinRows int
	sortedSaves   int // sorted state writes (the copies of shows restored from Redis)
	ingests       int // of them, those a Pebble disk ingested as sstables
}

// newDisk is a new node's empty disk.
func (w *world) newDisk() disk {
	if w.pebble {
		return newPebbleDisk(w)
	}
	return memDisk{actors.NewMemJournal()}
}

func (w *world) nowMs() int64 { return simEpoch.UnixMilli() + w.s.now/1e6 }

const idChars = "abcdefghijklmnopqrstuvwxyz234567"

// newToken is a random id part (Booking's randomToken, from the seed).
func (w *world) newToken() string {
	var b [12]byte
	for i := range b {
		b[i] = idChars[w.s.rng.IntN(len(idChars))]
	}
	return string(b[:])
}

func (w *world) newID(show string) string { return show + "~" + w.newToken() }

// redisFault is every node's Redis network: a call dropped, or its reply lost.
func (w *world) redisFault(op, show string) (bool, bool) {
	if w.stopping {
		return false, false
	}
	return w.s.chance(w.cfg.pRedisDrop), w.s.chance(w.cfg.pRedisLoseReply)
}

func newWorld(seed uint64, diskKind string) *world {
	s := newSched(seed)
	w := &world{s: s, cfg: chooseConfig(s), owner: map[string]int{}, faults: map[string]int{},
		calledShow: map[string]int{}, pebble: usePebble(seed, diskKind), ingestMinRows: ingestMinRows(seed)}
	w.gw = &gateway{w: w, charges: map[string]*charge{}}
	w.notes = &notifier{w: w, sent: map[string][]string{}, seen: map[string]bool{}}
	w.model = newModel(w)
	w.lin = &linRecorder{w: w}
	if w.cfg.redis {
		w.redis = redisfake.NewServer()
		w.redis.Now = func() time.Time { return simEpoch.Add(time.Duration(w.s.now)) }
	}
	for i := 0; i < w.cfg.nodes; i++ {
		w.nodes = append(w.nodes, newNode(w, i))
	}
	for i := 0; i < w.cfg.shows; i++ {
		st := &showState{id: fmt.Sprintf("show%d", i), cfg: showConfig(s, fmt.Sprintf("show%d", i), w.cfg.size)}
		for _, sec := range st.cfg.Sections {
			for _, r := range sec.Rows {
				for n := 1; n <= r.Seats; n++ {
					st.seats = append(st.seats, fmt.Sprintf("%s-%s-%d", sec.ID, r.ID, n))
				}
			}
		}
		w.shows = append(w.shows, st)
		w.register(st.cfg)
		owner := i % len(w.nodes)
		w.owner[st.id] = owner
		for _, n := range w.nodes {
			n.view[st.id] = owner
		}
	}
	return w
}

func showConfig(s *sched, id string, size int) seatmap.ShowConfig {
	archive := []int{0, 2, 30}[s.rng.IntN(3)]
	return seatmap.ShowConfig{ID: id, Name: id,
		HoldTTLSeconds:    []int{2, 10, 60}[s.rng.IntN(3)],
		PaymentTTLSeconds: []int{3, 20, 120}[s.rng.IntN(3)],
		MaxSeatsPerUser:   []int{0, 6}[s.rng.IntN(2)],
		Tiers:             []seatmap.Tier{{ID: "std", Price: 1000}, {ID: "vip", Price: 2500}},
		Sections: []seatmap.Section{
			{ID: "a", Tier: "std", Rows: []seatmap.Row{{ID: "1", Seats: 6 * size}, {ID: "2", Seats: 6 * size}}},
			{ID: "b", Tier: "vip", Rows: []seatmap.Row{{ID: "1", Seats: 8 * size}}},
			{ID: "ga", Tier: "std", Capacity: 12 * size},
		},
		ArchiveAfterSeconds: &archive}
}

// closeDisks ends the world's procs and releases every node's disk once the
// seed ended.
func (w *world) closeDisks() {
	w.s.killAll()
	for _, n := range w.nodes {
		n.journal.close()
	}
}

// Run simulates one seed.
func Run(opt Options) (res Result) {
	start := time.Now()
	w := newWorld(opt.Seed, opt.Disk)
	w.s.trace.grep = opt.Grep
	w.runs = opt.Runs
	res = Result{Seed: opt.Seed, Mode: w.cfg.mode(), Disk: w.nodes[0].journal.kind()}
	defer func() {
		res.Steps, res.SimTime, res.Duration = w.s.steps, time.Duration(w.s.now), time.Since(start)
		res.Stats, res.Ingests = w.stats(), w.ingests
		defer w.closeDisks()
		if r := recover(); r != nil {
			res.Step = w.s.steps
			if v, ok := r.(violation); ok {
				res.Failure = v.msg
			} else {
				res.Failure = fmt.Sprintf("panic: %v\n%s", r, debug.Stack())
			}
			if opt.TraceLines <= 0 {
				opt.TraceLines = 120
			}
			res.Trace = w.s.trace.tail(opt.TraceLines) + w.describeNodes()
		}
	}()
	for _, n := range w.nodes {
		n.start()
	}
	w.s.spawn("setup", -1, func(p *proc) {
		for _, st := range w.shows {
			for {
				cfg := st.cfg
				_, err := w.invoke(p, w.nodes[w.owner[st.id]], st.id, seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}, 5*time.Second)
				if err == nil {
					break
				}
				w.s.sleep(p, -1, 100*time.Millisecond)
			}
		}
		for i := 0; i < w.cfg.clients; i++ {
			c := &client{w: w, id: i, user: fmt.Sprintf("u%d", i), home: i % len(w.nodes)}
			w.clients = append(w.clients, w.s.spawn(c.user, -1, c.run))
		}
		w.chaos = w.s.spawn("chaos", -1, w.runChaos)
	})
	// the owners' state is checked every checkEvery steps, at the first
	// step after that where it is durable and serving
	due := make([]int64, len(w.shows))
	for w.s.steps < opt.Steps && w.s.step() {
		w.pollAnswers()
		for i, st := range w.shows {
			if w.s.steps >= due[i] && w.model.checkOwner(st.id, false) {
				due[i] = w.s.steps + checkEvery
			}
		}
		if w.s.steps%1000 == 0 {
			w.model.prune()
		}
	}
	w.drain()
	linStart := time.Now()
	note, err := checkLinear(w.lin.ops, fmt.Sprintf("seed%d", opt.Seed), "")
	w.linNote = fmt.Sprintf("linearizable: %d operations checked in %v", len(w.lin.ops), time.Since(linStart).Round(time.Millisecond))
	if note != "" {
		w.linNote = note
	}
	if err != nil {
		w.model.fail("%v", err)
	}
	return res
}

// showByID returns the show of the run with that id (nil: none).
func (w *world) showByID(id string) *showState {
	for _, st := range w.shows {
		if st.id == id {
			return st
		}
	}
	return nil
}

// checkEvery is how often (in steps) the owners' state is checked.
const checkEvery = 200

// drain ends the workload, heals every fault, lets the system settle
// (relay retries, expiries, payments), hands dead letters back as an
// operator would, and runs the final checks.
func (w *world) drain() {
	w.stopping = true
	if w.chaos != nil {
		w.chaos.kill()
	}
	w.cfg.pNetDrop, w.cfg.pNetDup, w.cfg.pNetLoseReply = 0, 0, 0
	w.cfg.pGatewayDown, w.cfg.pGatewayLate, w.cfg.pNotifyFail, w.cfg.pDupDelivery = 0, 0, 0, 0
	for _, n := range w.nodes {
		n.journal.FailWith(nil)
		n.redisCut, n.isolated = false, false
		if !n.alive {
			n.start()
		} else if n.redis != nil {
			n.redis.SetDown(false)
		}
		for show, o := range w.owner {
			n.view[show] = o
		}
	}
	w.runFor(3 * time.Minute)
	for _, n := range w.nodes {
		ds, _ := n.relay.ListDeadLetters(nil)
		for _, d := range ds {
			_ = n.relay.RetryDeadLetter(nil, d.ID)
		}
		if len(ds) > 0 {
			n.wakeRelay(n.inc)
		}
	}
	w.runFor(time.Minute)
	// the owners serve: activate each show and check everything
	done := false
	w.s.spawn("final reads", -1, func(p *proc) {
		for _, st := range w.shows {
			_, _ = w.invoke(p, w.nodes[w.owner[st.id]], st.id, seatmap.Command{Kind: seatmap.KindGetShow}, 5*time.Second)
		}
		done = true
	})
	for !done && w.s.step() {
		w.pollAnswers()
	}
	w.runFor(time.Second)
	for _, n := range w.nodes {
		// the disks healed minutes ago: a journal still failed now reads
		// nothing to its node's relay, whose outbox is never delivered
		if n.alive && n.journal.Failed() {
			w.model.fail("node%d's journal is still failed after the drain (its disk healed): its relay never delivers its outbox", n.id)
		}
	}
	for _, st := range w.shows {
		a := w.nodes[w.owner[st.id]].acts[st.id]
		if a == nil {
			w.model.fail("no activation of %s on its owner node%d after the drain", st.id, w.owner[st.id])
		}
		if sh, serving := a.ss.State(); sh == nil || !serving {
			w.model.fail("the owner of %s does not serve after the drain: %s", st.id, a.describe())
		}
		w.model.checkOwner(st.id, true)
	}
	w.checkMoney()
	w.checkUnknownAll()
}

// runFor runs the events of the next d of simulated time.
func (w *world) runFor(d time.Duration) {
	end := w.s.now + int64(d)
	for len(w.s.q) > 0 && w.s.q[0].at <= end && w.s.step() {
		w.pollAnswers()
	}
	w.s.now = max(w.s.now, end)
}

// checkMoney: every charge ends paid or refunded (never both), every paid
// order has its charge, and every paid, cancelled and expired order was
// notified.
func (w *world) checkMoney() {
	orders := map[string]*seatmap.OrderView{}
	for _, f := range w.model.list {
		owner := w.nodes[w.owner[f.show]]
		sh, _ := owner.acts[f.show].ss.State()
		o, err := w.model.lookupOrder(owner, sh, f.id)
		if err != nil {
			w.model.fail("order %s: %v", f.id, err)
		}
		orders[f.id] = o
		if o.Status == seatmap.StatusPaid {
			c := w.gw.charges[o.ID+":"+o.Attempt]
			if c == nil || !c.ok {
				w.model.fail("order %s is paid by attempt %s, which the gateway never charged", o.ID, o.Attempt)
			}
		}
		want := map[string]string{seatmap.StatusPaid: "order_confirmed", seatmap.StatusCancelled: "order_cancelled",
			seatmap.StatusExpired: "order_expired"}[o.Status]
		if want != "" && !contains(w.notes.sent[o.ID], want) {
			w.model.fail("order %s is %s but its user was never told (%v)", o.ID, o.Status, w.notes.sent[o.ID])
		}
	}
	// nobody is told something that did not happen
	ids := make([]string, 0, len(w.notes.sent))
	for id := range w.notes.sent {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o := orders[id]
		if o == nil {
			owner := w.nodes[w.owner[idShow(id)]]
			sh, _ := owner.acts[idShow(id)].ss.State()
			var err error
			if o, err = w.model.lookupOrder(owner, sh, id); err != nil {
				w.model.fail("order %s was notified %v but nobody has it: %v", id, w.notes.sent[id], err)
			}
		}
		want := map[string]string{seatmap.StatusPaid: "order_confirmed", seatmap.StatusCancelled: "order_cancelled",
			seatmap.StatusExpired: "order_expired"}[o.Status]
		for _, kind := range w.notes.sent[id] {
			if kind != want {
				w.model.fail("order %s is %s but its user was told %s", id, o.Status, kind)
			}
		}
	}
	for _, key := range w.gw.keys {
		c := w.gw.charges[key]
		if !c.ok {
			continue
		}
		order, attempt, _ := strings.Cut(key, ":")
		o := orders[order]
		if o == nil { // an order no client was told about (its create timed out)
			owner := w.nodes[w.owner[idShow(order)]]
			sh, _ := owner.acts[idShow(order)].ss.State()
			var err error
			if o, err = w.model.lookupOrder(owner, sh, order); err != nil && !c.refunded {
				w.model.fail("charge %s of an order nobody has (%v) was not refunded", key, err)
			}
		}
		paid := o != nil && o.Status == seatmap.StatusPaid && o.Attempt == attempt
		switch {
		case paid && c.refunded:
			w.model.fail("charge %s paid order %s and was refunded too", key, order)
		case !paid && !c.refunded:
			st := "unknown"
			if o != nil {
				st = o.Status + " by attempt " + o.Attempt
			}
			w.model.fail("charge %s was neither refunded nor paid its order (%s)", key, st)
		}
	}
}

func (w *world) describeNodes() string {
	var b strings.Builder
	fmt.Fprintf(&b, "at %s, mode %s:\n", fmtTime(w.s.now), w.cfg.mode())
	for _, n := range w.nodes {
		fmt.Fprintf(&b, "  node%d inc %d alive=%v isolated=%v redisCut=%v journalFailed=%v clock+%v views=%v\n",
			n.id, n.inc, n.alive, n.isolated, n.redisCut, n.journal.Failed(), n.clock.offset, n.view)
		for _, st := range w.shows {
			if a := n.acts[st.id]; a != nil {
				fmt.Fprintf(&b, "    %s stopped=%v queued=%d\n", a.describe(), a.stopped, a.ss.WriterQueued())
			}
		}
	}
	if w.redis != nil {
		for _, st := range w.shows {
			fmt.Fprintf(&b, "  %s %s\n", st.id, w.redis.Describe(st.id))
		}
	}
	return b.String()
}

func (w *world) stats() string {
	paid := 0
	for _, f := range w.model.list {
		if f.terminal == seatmap.StatusPaid {
			paid++
		}
	}
	var fs []string
	for _, k := range []string{"journal", "crash", "clock", "redis-cut", "redis-lose-reply", "redis-data-loss", "move", "partition"} {
		if n := w.faults[k]; n > 0 {
			fs = append(fs, fmt.Sprintf("%s=%d", k, n))
		}
	}
	if w.pebble {
		if n := w.faults["start-failed"]; n > 0 {
			fs = append(fs, fmt.Sprintf("start-failed=%d", n))
		}
		fs = append(fs, fmt.Sprintf("(wal ops failed %d, store opens %d, sorted state writes %d, ingested %d)",
			w.walOpsFailed.Load(), w.pebbleOpens, w.sortedSaves, w.ingests))
	}
	return fmt.Sprintf("holds acked %d, orders acked %d (seen paid %d), charges %d, activations %d, unknown show ids %d, faults: %s; %s",
		len(w.model.holds), len(w.model.list), paid, len(w.gw.keys), w.activations, len(w.unknownIDs), strings.Join(fs, " "), w.linNote)
}

var _ pipeline.Gateway = (*gateway)(nil)
var _ = errors.New
