package actors

import (
	"errors"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
)

// batch is one mailbox turn on its way to the journal: its records, events,
// archived orders and changed state rows, the answers that wait for them, or
// the activation's view of Redis. A batch of rows without records carries the
// rows a recovery's replay changed (durable state: see writer.rows).
type batch struct {
	gen     uint64 // the actor's generation; a failed write fails every later batch of its generation
	rd      seatmap.Ready
	replies *replySet         // nil when no answer waits for this batch
	counts  map[string]string // the read model after this batch (with Remote)
	// recovered: rd.Rows are the rows a recovery's replay changed (no records)
	recovered bool
	init      *remoteInit // the activation's view of Redis (with Remote)
	// enc is rd.Records being encoded beside the actor and the writer (nil:
	// the journal encodes them); see encodeRecords
	enc *encodedRecords
	// sections: the show was created in this batch; its stream starts at
	// streamSeq with these counters once the batch is durable
	sections  []seatmap.SectionView
	streamSeq uint64
}

// writeFailed tells the actor that its generation gen lost a write: of the
// journal (the journal must be recovered), or of Redis (fenced: a newer
// activation owns the show; otherwise the activation must be renewed). The
// actor answers replies (503) only after it dropped the lost state, so
// nobody who got the 503 can read it afterwards. One message, so nothing
// (a poison pill, a read) can come between learning of a fence and acting on it.
type writeFailed struct {
	gen     uint64
	err     error
	fenced  bool
	replies []*replySet
}

// replySet is the answers one batch owes. It is answered once, by whoever
// comes first: the writer (written or failed), or the stall watch (503).
type replySet struct {
	replies []pendingReply
	done    atomic.Bool
}

// answer sends every reply with its own result, unless already answered.
func (r *replySet) answer(w *writer) {
	if r != nil && r.done.CompareAndSwap(false, true) {
		w.fanOut(r.replies)
	}
}

// fail answers every reply with res, unless already answered.
func (r *replySet) fail(w *writer, res seatmap.Result) {
	if r == nil || !r.done.CompareAndSwap(false, true) {
		return
	}
	for _, p := range r.replies {
		p.res = res
		for i := range p.bres {
			p.bres[i] = res
		}
		w.answer(p)
	}
}

// writer is the long-lived goroutine that writes one show's batches in order
// and answers their commands once durable. Running it beside the actor lets
// the actor apply the next turn while this one syncs (pipelining), and keeps
// the deep journal call stack off the mailbox goroutine.
type writer struct {
	env      *Env
	identity string
	tell     func(msg any)      // to the actor's mailbox
	root     *actor.RootContext // answers remote callers; nil in a SteppedShow
	stepped  bool               // no goroutine: the caller runs step (SteppedShow)
	in       chan batch
	failed   uint64 // highest generation that lost a write (0 = none)
	gen      uint64 // generation of the last batch taken
	rs       remoteState
	// lease is the activation's proof of ownership (Env.Lease): renewed by
	// checkpoints and heartbeats here, read by the actor
	lease leaseClock
	// done counts batches finished (written or failed); the actor compares it
	// with the batches it sent to know whether anything is still unsynced.
	done atomic.Uint64
	// failedGen is failed, for the actor: a failure it has not handled yet
	// means its state is not durable.
	failedGen atomic.Uint64
	// stalled is set while a journal write takes longer than stallTimeout:
	// the actor refuses writes meanwhile
	stalled atomic.Bool
	// rows are the state rows waiting for the next write (see rowSlots).
	rows rowSlots
	// ckpt writes the local journal's share of rows beside this writer
	ckpt *checkpointer
	// wantFlush: the actor deferred a flush while this wrote (see
	// showActor.deferFlush); the writer sends it a flush after its step
	wantFlush atomic.Bool

	// answers takes the answers of durable batches, and their inventory
	// events, to the answerer goroutine, which sends and publishes them
	// while the writer writes the next group (nil in a SteppedShow: the
	// writer does it itself)
	answers chan answerJob
	// spare takes reply slices back from whoever sent their answers,
	// cleared, for the actor's next groups (spareReplies): at 512 callers a
	// group's slice is tens of KB, allocated, zeroed and grown per group on
	// the actor's goroutine before (issue 12)
	spare chan []pendingReply

	stopped chan struct{} // closed when run returned
	closed  bool          // stop was called (the actor's goroutine only)

	qmu    sync.Mutex  // protects queued
	queued []*replySet // answers of batches sent and not finished, in order

	// journalFirst (SteppedShow): whether a batch goes to the journal before
	// Redis (else after); the writer goroutine does both at once
	journalFirst func() bool
}

// enqueue hands a batch to the writer (the actor's goroutine only).
func (w *writer) enqueue(b batch) {
	if b.replies != nil {
		w.qmu.Lock()
		w.queued = append(w.queued, b.replies)
		w.qmu.Unlock()
	}
	w.in <- b
}

// finished drops answered sets from the head of the queue.
func (w *writer) finished() {
	w.qmu.Lock()
	i := 0
	for i < len(w.queued) && w.queued[i].done.Load() {
		i++
	}
	w.queued = append(w.queued[:0], w.queued[i:]...)
	w.qmu.Unlock()
}

// failQueued answers 503 to every batch sent and not finished: the one being
// written and all behind it.
func (w *writer) failQueued(res seatmap.Result) {
	w.qmu.Lock()
	sets := append([]*replySet(nil), w.queued...)
	w.qmu.Unlock()
	for _, r := range sets {
		r.fail(w, res)
	}
}

// stallTimeout is how long a journal write may take before its commands
// answer 503.
const stallTimeout = 2 * time.Second

// startWriter starts the writer of a show: its goroutine, unless goroutine
// is false (a SteppedShow: the caller runs each step).
func startWriter(env *Env, identity string, tell func(any), root *actor.RootContext, goroutine bool) *writer {
	w := &writer{env: env, identity: identity, tell: tell, root: root, in: make(chan batch, 1024), gen: 1,
		stopped: make(chan struct{}), stepped: !goroutine}
	w.ckpt = startCheckpointer(env, identity, goroutine)
	w.spare = make(chan []pendingReply, spareReplySlices)
	if !goroutine {
		return w
	}
	w.answers = make(chan answerJob, 64)
	env.writers.Add(2)
	go func() {
		pprof.SetGoroutineLabels(writerLabels)
		defer env.writers.Done()
		defer close(w.stopped)
		defer close(w.answers)
		w.run()
	}()
	go func() {
		pprof.SetGoroutineLabels(answerLabels)
		defer env.writers.Done()
		for j := range w.answers {
			w.publish(j.inv)
			w.answerAll(j.replies)
			w.recycle(j.replies)
		}
	}()
	return w
}

// fanOut sends the answers of a durable batch: on the answerer goroutine,
// so that sending them (a channel send and a goroutine wake-up per caller,
// the encoding of a remote caller's answer) runs beside the writer's next
// group instead of before it (issue 12).
func (w *writer) fanOut(replies []pendingReply) {
	if w.answers == nil {
		w.answerAll(replies)
		w.recycle(replies)
		return
	}
	w.answers <- answerJob{replies: replies}
}

// spareReplySlices is how many answered reply slices wait for the actor. In
// bench/serial at 512 callers with releases, with 2 the actor allocated for
// 10% of its groups (none waiting, or too small), with 4 for 2.6%. An idle
// show keeps them: at most 4 times its largest recent group (176 B a reply;
// 130 KB after a burst of 190).
const spareReplySlices = 4

// recycle offers replies, answered, to the actor's next groups. Only the
// one that answered a replySet (it won its done) may: no one reads it after.
func (w *writer) recycle(replies []pendingReply) {
	if cap(replies) == 0 {
		return
	}
	clear(replies) // the answers' views and channels: not kept alive
	select {
	case w.spare <- replies[:0]:
	default:
	}
}

// spareReplies returns an empty reply slice for a group of about n
// commands: an answered one when one of at least n waits, else a new one.
func (w *writer) spareReplies(n int) []pendingReply {
	select {
	case s := <-w.spare:
		if cap(s) >= n {
			return s
		}
	default:
	}
	return make([]pendingReply, 0, n)
}

// answerJob is one piece of the answerer's work, in the writer's order:
// the answers of a durable batch, or the inventory of durable batches.
type answerJob struct {
	replies []pendingReply
	inv     []streamPart
}

// streamPart is what a durable batch gives the show's stream: its
// inventory events, after a reset to seq with sections when the batch
// created the show (sections non-nil).
type streamPart struct {
	sections []seatmap.SectionView
	seq      uint64
	events   []seatmap.InventoryEvent
}

func (w *writer) stop() {
	if !w.closed {
		w.closed = true
		close(w.in)
	}
}

func (w *writer) run() {
	l := w.env.leaser()
	var beat <-chan time.Time
	if l != nil {
		t := time.NewTicker(w.env.Lease / 8)
		defer t.Stop()
		beat = t.C
	}
	for {
		var b batch
		var ok bool
		select {
		case b, ok = <-w.in:
		case <-beat:
			w.heartbeat(l)
			continue
		}
		if !ok {
			w.handLastRows()
			w.ckpt.stop() // no rows write of this show outlives its writer
			if l != nil {
				w.release(l)
			}
			return
		}
		w.step(w.drain([]batch{b}))
		w.wake()
	}
}

// handLastRows gives the checkpointer the rows of the last write at stop
// (they describe durable records), so a restart replays no tail. Not with
// Redis: there the local rows must never be ahead of Redis's (see
// rowSlots), and a recovery's rows may not have reached Redis yet.
func (w *writer) handLastRows() {
	if w.env.Remote == nil {
		w.ckpt.hand(w.rows.local)
	}
}

// wake sends the actor the flush it deferred while this wrote.
func (w *writer) wake() {
	if w.wantFlush.CompareAndSwap(true, false) {
		w.tell(&flush{})
	}
}

// drain adds the batches already queued behind group (group commit), up to
// 256, without waiting.
func (w *writer) drain(group []batch) []batch {
	for len(group) < 256 {
		select {
		case nb, ok := <-w.in:
			if !ok {
				return group
			}
			group = append(group, nb)
		default:
			return group
		}
	}
	return group
}

// step writes one group of batches and answers them: one turn of the
// writer's loop.
func (w *writer) step(group []batch) {
	start := time.Now()
	w.write(group)
	w.finished()
	w.done.Add(uint64(len(group)))
	w.env.Stats.WriterNanos.Add(int64(time.Since(start)))
	w.env.Stats.WriterGroups.Add(1)
	w.env.Stats.WriterBatches.Add(int64(len(group)))
}

// write journals a group of consecutive batches as one Append (one sync),
// then answers them. Snapshots and activations split the group: they are
// handled in order.
func (w *writer) write(group []batch) {
	var run []batch
	gen := uint64(0)
	flushRun := func() bool {
		if len(run) == 0 {
			return true
		}
		ok := w.append(gen, run)
		run = run[:0]
		return ok
	}
	for _, b := range group {
		w.gen = max(w.gen, b.gen)
		if b.gen <= w.failed {
			var sets []*replySet
			if b.replies != nil {
				sets = []*replySet{b.replies}
			}
			w.fail(b.gen, errFailedBefore, false, sets)
			continue
		}
		if gen != 0 && b.gen != gen && !flushRun() {
			continue
		}
		gen = b.gen
		switch {
		case b.init != nil:
			if flushRun() {
				w.rs = remoteState{epoch: b.init.epoch, remoteSeq: b.init.remoteSeq, eventsSeq: b.init.remoteSeq,
					ackedSeq: b.init.remoteSeq}
			}
		case b.recovered:
			// a recovery's changed rows: every record they describe is durable
			// and acknowledged; they supersede whatever waited
			if flushRun() {
				w.rows.recovered(rowSlot{rows: b.rd.Rows, seq: b.rd.RowsSeq})
			}
		default:
			run = append(run, b)
		}
	}
	flushRun()
}

var errFailedBefore = errors.New("an earlier write of this show failed")

// append writes one run of batches and answers their commands. It reports
// whether the write succeeded.
func (w *writer) append(gen uint64, run []batch) bool {
	var wr Write
	var replies []*replySet
	var cnt map[string]string
	var runRows rowSlot
	for _, b := range run {
		if b.enc != nil {
			b.enc.wait() // its hold rows' values too: complete from here on
		}
	}
	if len(run) == 1 {
		// the usual run of a busy show (one batch per group, see
		// showActor.deferFlush): its slices as they are, no copies
		wr.Records, wr.Events, wr.Archive = run[0].rd.Records, run[0].rd.Events, run[0].rd.Archive
	}
	for i, b := range run {
		if len(run) > 1 {
			wr.Records = append(wr.Records, b.rd.Records...)
			wr.Events = append(wr.Events, b.rd.Events...)
			wr.Archive = append(wr.Archive, b.rd.Archive...)
		}
		if w.env.InventoryOutbox {
			if i == 0 && len(run) == 1 {
				wr.Events = slices.Clip(wr.Events) // appending must not write into the batch's array
			}
			wr.Events = appendInventory(wr.Events, b.rd.Inventory)
		}
		if b.replies != nil {
			replies = append(replies, b.replies)
		}
		if b.counts != nil {
			cnt = b.counts
		}
		runRows.add(b.rd.Rows, b.rd.RowsSeq)
	}
	wr.Encoded = encodedRun(run, len(wr.Records))
	if len(wr.Records) == 0 && len(wr.Events) == 0 && len(wr.Archive) == 0 {
		for _, r := range replies { // reads and refusals behind earlier writes: those are durable now
			r.answer(w)
		}
		return true
	}
	remote := w.env.Remote != nil && len(wr.Records) > 0
	// Redis and the local journal are written at the same time; an answer
	// waits for both. The events stay held until Redis accepted the records.
	wr.Held = remote
	local, toRemote := w.rows.forWrite(remote)
	// the local rows describe durable, acknowledged records: the
	// checkpointer writes them beside this group's commit (their memtable
	// inserts were most of the writer's CPU when they rode in its batch)
	w.ckpt.hand(local)
	var remoteErr error
	var remoteDone chan struct{}
	// a SteppedShow does one after the other, in the order its caller picks
	redisLast := remote && w.stepped && w.journalFirst != nil && w.journalFirst()
	switch {
	case remote && w.stepped && !redisLast:
		remoteErr = w.remoteCheckpoint(wr.Records, wr.Encoded, cnt, wr.Archive, toRemote)
	case remote && !w.stepped:
		remoteDone = make(chan struct{})
		go func() {
			defer close(remoteDone)
			remoteErr = w.remoteCheckpoint(wr.Records, wr.Encoded, cnt, wr.Archive, toRemote)
		}()
	}
	start := time.Now()
	// a disk that stalls (full, or a dying device) answers 503 after
	// stallTimeout to this batch and every one queued behind it, rather than
	// holding their callers; the write goes on, and the show refuses writes
	// until it returned (the outcome of those commands is unknown to them)
	stall := w.env.Clock.AfterFunc(stallTimeout, func() {
		w.stalled.Store(true)
		w.env.Log.Warn("journal write stalled; answering unavailable", "show", w.identity, "after", stallTimeout)
		w.failQueued(unavailable("storage is stalled"))
		w.wake() // the commands the actor holds back answer 503 too
	})
	held, err := w.env.Journal.Append(w.identity, wr)
	stall.Stop()
	took := time.Since(start)
	w.env.Stats.JournalMicros.Add(took.Microseconds())
	w.env.Stats.WriterAppendNanos.Add(int64(took))
	if remoteDone != nil {
		<-remoteDone
	}
	if redisLast {
		remoteErr = w.remoteCheckpoint(wr.Records, wr.Encoded, cnt, wr.Archive, toRemote)
	}
	w.stalled.Store(false)
	if err != nil {
		w.env.Stats.JournalErrors.Add(1)
		w.env.Stats.LastJournalErrorMs.Store(time.Now().UnixMilli())
		w.env.Log.Error("journal write failed; answering unavailable and reopening the journal", "show", w.identity,
			"err", err, "batches", len(replies))
		w.env.journalFailed() // now: the actor may stop before it handles the failure
		w.fail(gen, err, false, replies)
		return false
	}
	w.rows.written(remote, runRows)
	if remoteErr != nil {
		if held != nil {
			if err := held.Abort(); err != nil {
				w.env.Log.Warn("dropping events of a refused batch failed", "show", w.identity, "err", err)
				w.env.journalFailed()
			}
		}
		// the records Redis did not accept were never acknowledged
		w.ckpt.quiesce() // nothing else writes the show's stored state meanwhile
		if err := w.env.Journal.DropAfter(w.identity, w.rs.remoteSeq); err != nil {
			w.env.Log.Warn("dropping records Redis did not accept failed; the next activation drops them", "show", w.identity, "err", err)
			w.env.journalFailed()
		}
		fenced := errors.Is(remoteErr, ErrFenced)
		if fenced {
			w.env.Log.Error("redis refused this activation; the show stops serving here", "show", w.identity, "err", remoteErr)
		} else {
			w.env.Log.Warn("redis did not accept a batch; answering unavailable", "show", w.identity, "err", remoteErr)
		}
		w.fail(gen, remoteErr, fenced, replies)
		return false
	}
	if held != nil {
		held.Release()
	}
	if remote {
		// this commit synced the acked seq of the batch before: checkpoints
		// from now on tell Redis that its events are durable here
		w.rs.eventsSeq, w.rs.ackedSeq = w.rs.ackedSeq, w.rs.remoteSeq
		// narrows what a lost Redis tail can be; synced with the next commit
		if err := w.env.Journal.SetLocalEpoch(w.identity, w.rs.epoch, w.rs.remoteSeq, false); err != nil {
			w.env.journalFailed()
		}
	}
	w.env.Stats.Batches.Add(1)
	w.env.Stats.Records.Add(int64(len(wr.Records)))
	// the inventory first: a reader of the show's stream learns of a change
	// no later than the caller who made it
	w.publishInventory(run)
	for _, r := range replies {
		r.answer(w)
	}
	if len(wr.Events) > 0 {
		w.env.OnEvents()
	}
	return true
}

// publishInventory hands the inventory of durable batches to the show's
// stream: on the answerer goroutine, in the writer's order, as their answers
// (publishing was an eighth of the writer's CPU at 64 callers: issue 12).
func (w *writer) publishInventory(run []batch) {
	var inv []streamPart
	for _, b := range run {
		if b.sections != nil || len(b.rd.Inventory) > 0 {
			inv = append(inv, streamPart{sections: b.sections, seq: b.streamSeq, events: b.rd.Inventory})
		}
	}
	switch {
	case inv == nil:
	case w.answers == nil:
		w.publish(inv)
	default:
		w.answers <- answerJob{inv: inv}
	}
}

// publish appends inv to the show's stream: one O(1) append per event,
// whatever the readers.
func (w *writer) publish(inv []streamPart) {
	if len(inv) == 0 {
		return
	}
	s := w.env.Streams.Show(w.identity)
	for _, p := range inv {
		if p.sections != nil {
			s.Reset(p.seq, p.sections)
		}
		s.Publish(p.events)
	}
}

// appendInventory appends the inventory events as outbox events.
func appendInventory(out []seatmap.Event, inv []seatmap.InventoryEvent) []seatmap.Event {
	for i := range inv {
		ev := &inv[i]
		out = append(out, seatmap.Event{ID: ev.Show + ".inv." + strconv.FormatUint(ev.Seq, 10), Type: seatmap.EventInventory,
			Show: ev.Show, At: ev.At, Inventory: ev})
	}
	return out
}

func (w *writer) fail(gen uint64, err error, fenced bool, replies []*replySet) {
	w.rows = rowSlots{} // the actor reloads: its recovery sends the rows again
	// the reload may replace the stored state: no rows write of the failed
	// generation may land after it
	w.ckpt.quiesce()
	if gen > w.failed {
		w.failed = gen
		w.failedGen.Store(gen)
	}
	if w.env.Remote != nil {
		w.rs.epoch = 0 // nothing more is written until the actor activated again
	}
	w.tell(&writeFailed{gen: gen, err: err, fenced: fenced, replies: replies})
}

func unavailable(msg string) seatmap.Result {
	return seatmap.Result{Err: &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: msg}}
}

func (w *writer) answerAll(replies []pendingReply) {
	w.env.Stats.WriterReplies.Add(int64(len(replies)))
	for _, p := range replies {
		w.answer(p)
	}
}

func (w *writer) answer(p pendingReply) {
	switch {
	case p.bch != nil:
		p.bch <- p.bres
	case p.ch != nil:
		p.ch <- p.res
	case p.to == nil:
	case p.remote:
		w.root.Send(p.to, encodeResult(p.res, p.legacy))
	default:
		w.root.Send(p.to, &response{res: p.res})
	}
}

// rowSlot is a set of changed state rows that bring a store to seq.
type rowSlot struct {
	rows []facts.Row
	seq  uint64
}

// add appends rows (as of seq) to the slot: applied in order, later rows of
// a key win.
func (s *rowSlot) add(rows []facts.Row, seq uint64) {
	if rows == nil {
		return
	}
	s.rows = append(s.rows, rows...)
	s.seq = seq
}

// rowSlots are the state rows waiting for the next write. Rows go to a store
// only once the records they describe are durable and acknowledged: they
// ride on the next write, one group late (so a failed write never leaves a
// store with rows of records that were lost). With Redis, the local store
// takes rows one more group later, once Redis took them: the local rows are
// never ahead of Redis's, so after any failure an activation finds Redis's
// rows at or after the local ones and needs no seed.
type rowSlots struct {
	local  rowSlot // for the local journal's next write
	remote rowSlot // for Redis's next checkpoint (with Redis)
}

// forWrite returns the rows the next write carries, to the local journal
// and to Redis.
func (r *rowSlots) forWrite(remote bool) (local, toRemote rowSlot) {
	if !remote {
		return r.local, rowSlot{}
	}
	return r.local, r.remote
}

// written moves the slots after a successful write of a group whose records
// changed the rows of run.
func (r *rowSlots) written(remote bool, run rowSlot) {
	if remote {
		r.local, r.remote = r.remote, run
		return
	}
	r.local = run
}

// recovered replaces the slots by the rows a recovery's replay changed: they
// cover every change since the rows the show was loaded from, which no store
// holds older than (the activation made sure of it).
func (r *rowSlots) recovered(rows rowSlot) { r.local, r.remote = rows, rows }
