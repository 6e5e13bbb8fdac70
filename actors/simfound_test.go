package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/boxoffice/boxoffice/persistence/redis"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// Defects the deterministic simulator (sim/vopr) found, each pinned here by
// a unit test as well as by its regression seed.

// paidOrder creates a show whose finished orders leave memory at once, and
// an order paid by a settled attempt; it returns the payment_requested event.
func paidOrder(t *testing.T, n *showNode, show string) seatmap.Event {
	t.Helper()
	ctx := context.Background()
	cfg := smallShow(show, 10)
	now := 0
	cfg.ArchiveAfterSeconds = &now
	if _, err := n.b.CreateShow(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	h, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u", Seats: []string{"s0-1-1"}})
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := n.b.CreateOrder(ctx, seatmap.OrderRequest{Show: show, HoldID: h.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.b.PayOrder(ctx, "", o.ID, "tok_ok"); err != nil {
		t.Fatal(err)
	}
	var ev seatmap.Event
	for _, e := range n.j.OutboxEvents() {
		if e.Type == seatmap.EventPaymentRequested && e.OrderID == o.ID {
			ev = e
		}
	}
	if ev.ID == "" {
		t.Fatal("no payment_requested")
	}
	if err := n.b.SettlePayment(ctx, ev, true, ev.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the paid order leaves memory", func() error {
		res, err := n.b.call(ctx, show, seatmap.Command{Kind: seatmap.KindGetOrder, OrderID: o.ID})
		if err == nil {
			return fmt.Errorf("still in memory: %s", res.Order.Status)
		}
		if !errors.Is(err, seatmap.ErrOrderNotFound) {
			return err
		}
		return nil
	})
	return ev
}

// A payment success redelivered after the order it paid left memory (its
// first settle's answer was lost) is not "an order nobody has": the
// consumer must not refund it. A success of another attempt still is.
func TestRedeliveredSuccessOfArchivedOrderIsNotRefunded(t *testing.T) {
	ctx := context.Background()
	show := uniq("archpaid")
	n := newShowNode(t, show, nil, nil)
	ev := paidOrder(t, n, show)
	if err := n.b.SettlePayment(ctx, ev, true, ev.ID); err != nil {
		t.Fatalf("the redelivered success of the attempt that paid the archived order: %v (the consumer refunds on order_not_found)", err)
	}
	other := ev
	other.Attempt = "another"
	if err := n.b.SettlePayment(ctx, other, true, other.ID+"x"); !errors.Is(err, seatmap.ErrOrderNotFound) {
		t.Fatalf("a success of another attempt of the archived order: %v, want order_not_found (refund)", err)
	}
	paid := seatmap.Event{ID: ev.OrderID + ".9", Type: seatmap.EventPaid, Show: show, OrderID: ev.OrderID}
	if err := n.b.RecordNotification(ctx, paid, "log"); err != nil {
		t.Fatalf("a notification of the archived order: %v (it would become a dead letter)", err)
	}
}

// With Redis, an archived order is read from Redis first: the local journal
// may hold the archive of a batch Redis refused, a history that never
// happened.
func TestArchivedReadsRedisFirst(t *testing.T) {
	ctx := context.Background()
	fr := newFakeRemote()
	j := NewMemJournal()
	env := &Env{Journal: j, Remote: fr}
	stale, _ := json.Marshal(seatmap.OrderView{ID: "x~o", Status: seatmap.StatusExpired})
	if _, err := j.Append("x", Write{Archive: []seatmap.OrderView{{ID: "x~o", Status: seatmap.StatusExpired}}}); err != nil {
		t.Fatal(err)
	}
	e, err := fr.Activate(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	truth, _ := json.Marshal(seatmap.OrderView{ID: "x~o", Status: seatmap.StatusPaid})
	if err := fr.Apply(ctx, redis.Checkpoint{Shard: "x", Epoch: e, Archive: map[string][]byte{"x~o": truth}})[0]; err != nil {
		t.Fatal(err)
	}
	got, ok, err := env.Archived(ctx, "x", "x~o")
	if err != nil || !ok || string(got) != string(truth) {
		t.Fatalf("archived order %s %v %v, want Redis's %s (not the local %s)", got, ok, err, truth, stale)
	}
}

// A node that restarts must not deliver the events of records Redis never
// accepted (holding does not survive a restart): DropUnaccepted drops what
// lies after the seq Redis accepted from it, events included.
func TestDropUnacceptedBeforeTheRelay(t *testing.T) {
	j := NewMemJournal()
	env := &Env{Journal: j, Remote: newFakeRemote()}
	rec := func(seq uint64) seatmap.Record {
		return seatmap.Record{Seq: seq, At: int64(seq), Facts: []facts.Fact{{Kind: facts.Forgotten, At: int64(seq)}}}
	}
	ev := func(seq uint64) seatmap.Event {
		return seatmap.Event{ID: fmt.Sprint("o.", seq), Type: seatmap.EventPaymentRequested, Show: "x", OrderID: "o"}
	}
	for seq := uint64(1); seq <= 4; seq++ {
		if _, err := j.Append("x", Write{Records: []seatmap.Record{rec(seq)}, Events: []seatmap.Event{ev(seq)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.SetLocalEpoch("x", 1<<20|1, 2, true); err != nil { // Redis accepted up to 2
		t.Fatal(err)
	}
	if _, err := j.Append("y", Write{Records: []seatmap.Record{rec(1)}, Events: []seatmap.Event{ev(9)}}); err != nil {
		t.Fatal(err) // a show never activated with Redis keeps its journal
	}
	if err := env.DropUnaccepted(); err != nil {
		t.Fatal(err)
	}
	st, _ := j.Load("x", func(string, []byte) error { return nil })
	recs := st.Records
	var ids []string
	for _, e := range j.OutboxEvents() {
		ids = append(ids, e.ID)
	}
	if len(recs) != 2 || fmt.Sprint(ids) != "[o.1 o.2 o.9]" {
		t.Fatalf("after DropUnaccepted: %d records of x, outbox %v; want 2 and [o.1 o.2 o.9]", len(recs), ids)
	}
}

// State rows reach Redis before the local journal, so rows newer than the
// acked seq hold only records Redis accepted (a crash came before the acked
// seq was recorded): DropUnaccepted drops what lies after the rows instead
// of refusing to start (sim/vopr seed 240009925971269), events included.
func TestDropUnacceptedAfterNewerRows(t *testing.T) {
	j := NewMemJournal()
	env := &Env{Journal: j, Remote: newFakeRemote()}
	for seq := uint64(1); seq <= 5; seq++ {
		w := Write{Records: []seatmap.Record{{Seq: seq, At: int64(seq), Facts: []facts.Fact{{Kind: facts.Forgotten, At: int64(seq)}}}},
			Events: []seatmap.Event{{ID: fmt.Sprint("o.", seq), Type: seatmap.EventPaymentRequested, Show: "x", OrderID: "o"}}}
		if _, err := j.Append("x", w); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.SetLocalEpoch("x", 1<<20|1, 2, true); err != nil { // acked 2 recorded
		t.Fatal(err)
	}
	if err := j.SaveState("x", 3, nil); err != nil { // rows through 3 (Redis took them first)
		t.Fatal(err)
	}
	if err := env.DropUnaccepted(); err != nil {
		t.Fatal(err)
	}
	st, _ := j.Load("x", func(string, []byte) error { return nil })
	var ids []string
	for _, e := range j.OutboxEvents() {
		ids = append(ids, e.ID)
	}
	if st.RowsSeq != 3 || len(st.Records) != 0 || fmt.Sprint(ids) != "[o.1 o.2 o.3]" {
		t.Fatalf("after DropUnaccepted: rows at %d, %d records after them, outbox %v; want 3, 0 and [o.1 o.2 o.3]", st.RowsSeq, len(st.Records), ids)
	}
}

// Records Redis accepted whose writer's journal failed have their events
// in no outbox; another node that restores the show from Redis emits them
// (the entries after the last writer's Checkpoint.EventsSeq).
func TestRestoredShowEmitsEventsNoJournalKept(t *testing.T) {
	ctx := context.Background()
	show := uniq("evseq")
	fr := newFakeRemote()
	reg := &memRegistry{}
	a := newShowNode(t, show, fr, reg)
	if _, err := a.b.CreateShow(ctx, smallShow(show, 10)); err != nil {
		t.Fatal(err)
	}
	h, _, err := a.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u", Seats: []string{"s0-1-1"}})
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := a.b.CreateOrder(ctx, seatmap.OrderRequest{Show: show, HoldID: h.ID})
	if err != nil {
		t.Fatal(err)
	}
	// the cancel reaches Redis; a's journal fails it, and a is gone before
	// it could take it back from Redis
	a.j.FailWith(errors.New("fsync: input/output error"))
	if _, err := a.b.CancelOrder(ctx, "", o.ID); !errors.Is(err, seatmap.ErrUnavailable) {
		t.Fatalf("cancel while a's journal fails: %v", err)
	}
	_ = testNode.System.Root.StopFuture(a.pid).Wait()
	if fr.Server().Seq(show) < 4 {
		t.Fatalf("redis seq %d: the cancel did not reach Redis", fr.Server().Seq(show))
	}
	b := newShowNode(t, show, fr, reg)
	got, err := b.b.GetOrder(ctx, "", o.ID)
	if err != nil || got.Status != seatmap.StatusCancelled {
		t.Fatalf("the order on b: %+v %v", got, err)
	}
	for _, e := range b.j.OutboxEvents() {
		if e.Type == seatmap.EventCancelled && e.OrderID == o.ID {
			return
		}
	}
	t.Fatalf("b restored the cancel from Redis without its event (nobody will tell the user): outbox %v", b.j.OutboxEvents())
}

// A failed journal is reopened in the background until it succeeds, not
// only when a show asks: a node whose shows all moved away after its disk
// failed must still reopen it, or its relay never delivers the node's
// outbox again (sim/vopr seed 150064220359702: a charge neither paid nor
// refunded).
func TestFailedJournalReopensWithoutAsking(t *testing.T) {
	j := NewMemJournal()
	env := &Env{Journal: j, Log: testEnv.Log}
	env.defaults()
	j.FailWith(errors.New("disk gone"))
	if _, err := j.Append("x", Write{Records: []seatmap.Record{{Seq: 1, At: 1}}}); err == nil {
		t.Fatal("append on a failed disk succeeded")
	}
	if env.journalReady() { // the only show asks once, then moves away
		t.Fatal("journal ready after a failed write")
	}
	time.Sleep(120 * time.Millisecond) // attempts fail while the disk is gone
	if !j.Failed() {
		t.Fatal("journal reopened on a failed disk")
	}
	j.FailWith(nil) // the disk heals; nobody asks again
	eventually(t, 3*time.Second, "the journal reopened", func() error {
		if j.Failed() {
			return errors.New("still failed")
		}
		return nil
	})
}

// failArmedJournal fails, once armed, the Appends that match, in turn: each
// fails like a failed fsync (FailNext: the disk heals after it, so a Recover
// then succeeds).
type failArmedJournal struct {
	*MemJournal
	mu      sync.Mutex // protects following fields
	matches []func(Write) bool
	fired   chan struct{} // closed once every armed Append failed
}

func (j *failArmedJournal) arm(matches ...func(Write) bool) {
	j.mu.Lock()
	j.matches, j.fired = matches, make(chan struct{})
	j.mu.Unlock()
}

func (j *failArmedJournal) Append(show string, w Write) (Held, error) {
	j.mu.Lock()
	fire := len(j.matches) > 0 && j.matches[0](w)
	var done chan struct{}
	if fire {
		if j.matches = j.matches[1:]; len(j.matches) == 0 {
			done = j.fired
		}
	}
	j.mu.Unlock()
	if !fire {
		return j.MemJournal.Append(show, w)
	}
	j.MemJournal.FailNext(1, errors.New("fsync: input/output error"))
	h, err := j.MemJournal.Append(show, w)
	if done != nil {
		close(done)
	}
	return h, err
}

// waitFired waits until the armed Append failed.
func (j *failArmedJournal) waitFired(t *testing.T) {
	t.Helper()
	j.mu.Lock()
	fired := j.fired
	j.mu.Unlock()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("the armed journal write never came")
	}
}

// startArmedShow runs one show over a failArmedJournal (and rc when set).
func startArmedShow(t *testing.T, show string, rc Remote) (*failArmedJournal, *actor.PID, *Booking) {
	j := &failArmedJournal{MemJournal: NewMemJournal()}
	env := &Env{Journal: j, Log: testEnv.Log}
	if rc != nil {
		env.Remote = rc
	}
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	t.Cleanup(func() { _ = testNode.System.Root.StopFuture(pid).Wait() })
	return j, pid, NewBooking(&fixedPlacement{pid: pid}, testNode.System, env, BookingOptions{RequestTimeout: 3 * time.Second})
}

// journalReopens fails unless the journal is reopened with no show asking.
func journalReopens(t *testing.T, j Journal) {
	t.Helper()
	eventually(t, 3*time.Second, "the failed journal reopened with no show asking (else the node's relay never delivers its outbox again)", func() error {
		if j.Failed() {
			return errors.New("failed")
		}
		return nil
	})
}

// A recovery's own journal write fails (here: taking a record Redis accepted
// after a lost reply), and the show moves away before its retry: the journal
// is reopened all the same. It once reopened only when a show loaded, so the
// node's relay never read its outbox again and a paid order's order_confirmed
// event stayed there (sim/vopr seed 182739296159656 on 5837d77).
func TestJournalReopensAfterRecoveryWriteFailed(t *testing.T) {
	ctx := context.Background()
	show := uniq("recwrite")
	j, pid, b := startArmedShow(t, show, newFakeRemote())
	if _, err := b.CreateShow(ctx, smallShow(show, 10)); err != nil {
		t.Fatal(err)
	}
	h, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u", Seats: []string{"s0-1-1"}})
	if err != nil {
		t.Fatal(err)
	}
	// the release reaches Redis, its journal write fails: the recovery takes
	// it from Redis, and that write fails too
	j.arm(func(w Write) bool { return len(w.Records) > 0 && w.Held }, // the writer's
		func(w Write) bool { return len(w.Records) > 0 && !w.Held }) // the recovery's
	if err := b.ReleaseHold(ctx, "u", show, h.ID); !errors.Is(err, seatmap.ErrUnavailable) {
		t.Fatalf("release while the journal fails: %v", err)
	}
	j.waitFired(t)
	_ = testNode.System.Root.StopFuture(pid).Wait() // the show moves away before its retry
	journalReopens(t, j)
}

// A checkpointer's rows-only write fails after the show's last command: the
// show writes nothing more that would fail and reload it, and the journal is
// reopened all the same.
func TestJournalReopensAfterCheckpointFailed(t *testing.T) {
	ctx := context.Background()
	show := uniq("ckptfail")
	j, pid, b := startArmedShow(t, show, nil)
	if _, err := b.CreateShow(ctx, smallShow(show, 10)); err != nil {
		t.Fatal(err)
	}
	h, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u", Seats: []string{"s0-1-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ReleaseHold(ctx, "u", show, h.ID); err != nil {
		t.Fatal(err)
	}
	// armed only now: a rows write fails after the show's last command (armed
	// before, the rows of an earlier group, written beside a later group's
	// commit, could fail that commit first). The show then stops, as when it
	// moves away (seed 453): the checkpointer writes its last rows and fails.
	j.arm(func(w Write) bool { return len(w.Records) == 0 && len(w.Rows) > 0 })
	if err := testNode.System.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	j.waitFired(t)
	journalReopens(t, j)
}

// A write of the relay (AckOutbox) or of the consumers (a dead letter or a
// dedupe key: Put) fails the node's Pebble store, which is its journal too:
// the journal is reopened all the same, though no show wrote or loaded since
// (sim/vopr seed 74017701984531: the relay's AckOutbox failed on a node that
// owned no show; its journal stayed failed, and its outbox was never
// delivered again). Only the shell's own journal calls started the reopen.
func TestJournalReopensAfterRelayWriteFailed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(st *pebble.Store, id uint64) error
	}{
		{"relay AckOutbox", func(st *pebble.Store, id uint64) error { return st.AckOutbox(id) }},
		{"dead letter Put", func(st *pebble.Store, _ uint64) error { return st.Put("dead/1", []byte("x"), true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var failing atomic.Bool
			errDisk := errors.New("injected: input/output error")
			fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
				switch op.Kind {
				case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
					if failing.Load() && strings.HasSuffix(op.Path, ".log") {
						return errDisk
					}
				}
				return nil
			}))
			st, err := pebble.Open(pebble.Options{Dir: "db", FS: fs})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			j := NewPebbleJournal(st)
			env := &Env{Journal: j, Log: testEnv.Log}
			if err := env.DropUnaccepted(); err != nil { // the node starts: no show activates here
				t.Fatal(err)
			}
			if _, err := j.Append("relayfail", Write{Events: []seatmap.Event{{ID: "e1", Type: seatmap.EventPaid, Show: "relayfail"}}}); err != nil {
				t.Fatal(err)
			}
			es, err := st.OutboxAfter(0, 10)
			if err != nil || len(es) != 1 {
				t.Fatalf("outbox: %v %v", es, err)
			}
			failing.Store(true)
			err = tc.write(st, es[0].ID)
			failing.Store(false) // the disk heals at once; the reopen may retry
			if err == nil {
				t.Fatal("the injected fault failed no write")
			}
			journalReopens(t, j)
			if es, err := st.OutboxAfter(0, 10); err != nil || len(es) != 1 {
				t.Fatalf("after the reopen the relay reads %v, %v; want the event", es, err)
			}
		})
	}
}

// A restore from Redis whose last local write fails must not leave the local
// journal behind what this node had acknowledged, and an activation with
// Redis unreachable must not serve (even read-only) a local state without an
// acknowledged write (sim/vopr seed 9012426658160: activations of this node
// that wrote nothing made the next one restore its own history from Redis;
// the local show was dropped, Redis's rows written, the append of Redis's
// record after them failed, and with Redis then unreachable the show served
// reads from the older local state: an acknowledged hold not found).
func TestRestoreFromRedisWriteFailedKeepsAckedHold(t *testing.T) {
	ctx := context.Background()
	show := uniq("restorefail")
	fr := newFakeRemote()
	j := &failArmedJournal{MemJournal: NewMemJournal()}
	reg := &memRegistry{}
	spawn := func() (*actor.PID, *Booking) {
		env := &Env{Journal: j, Log: testEnv.Log, Remote: fr, Registry: reg}
		pid := testNode.System.Root.Spawn(ShowProps(env, show))
		t.Cleanup(func() { _ = testNode.System.Root.StopFuture(pid).Wait() })
		return pid, NewBooking(&fixedPlacement{pid: pid}, testNode.System, env, BookingOptions{RequestTimeout: 3 * time.Second})
	}
	pid, b := spawn()
	if _, err := b.CreateShow(ctx, smallShow(show, 10)); err != nil {
		t.Fatal(err)
	}
	var h seatmap.HoldView
	for i := 1; i <= 3; i++ { // the last hold is Redis's record after its rows
		var err error
		if h, _, err = b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprintf("u%d", i), Seats: []string{fmt.Sprintf("s0-1-%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	_ = testNode.System.Root.StopFuture(pid).Wait()
	// an activation of this node that writes nothing (its epoch recorded
	// locally), then one that took an epoch and stopped before recording it
	pid, b = spawn()
	if _, err := b.GetHold(ctx, "u3", show, h.ID); err != nil {
		t.Fatal(err)
	}
	_ = testNode.System.Root.StopFuture(pid).Wait()
	if _, err := fr.Activate(ctx, show); err != nil {
		t.Fatal(err)
	}
	// the next activation's local write of Redis's records fails, then
	// Redis is unreachable while the journal is reopened and it retries
	var restoring atomic.Bool
	j.arm(func(w Write) bool {
		fire := len(w.Records) > 0 && !w.Held
		if fire {
			fr.SetDown(true)
		}
		restoring.Store(fire)
		return fire
	})
	pid, b = spawn()
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		got, err := b.GetHold(ctx, "u3", show, h.ID)
		switch {
		case errors.Is(err, seatmap.ErrUnavailable):
		case err != nil:
			t.Fatalf("acknowledged hold %s while Redis is unreachable (a restore's local write failed: %v): %v", h.ID, restoring.Load(), err)
		case got.ID != h.ID:
			t.Fatalf("hold %s read as %+v", h.ID, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// the local journal never went back below the acknowledged hold
	_ = testNode.System.Root.StopFuture(pid).Wait()
	journalReopens(t, j)
	sh, err := LoadShow(j, show)
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Apply(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: h.ID, User: "u3"}).Err; err != nil {
		t.Fatalf("the local journal (seq %d) lost the acknowledged hold %s: %v", sh.Seq(), h.ID, err)
	}
	fr.SetDown(false)
	_, b = spawn()
	eventually(t, 5*time.Second, "the acknowledged hold served once Redis is back", func() error {
		_, err := b.GetHold(ctx, "u3", show, h.ID)
		return err
	})
}

// An activation that finds Redis unreachable serves reads from the local
// journal only if that holds everything this node recorded as acknowledged:
// a local journal behind it (a failed local write after a restore from
// Redis: TestRestoreFromRedisWriteFailedKeepsAckedHold) answers unavailable
// until Redis is back, not a state without an acknowledged write.
func TestReadOnlyActivationBehindAckedServesNothing(t *testing.T) {
	ctx := context.Background()
	show := uniq("behindacked")
	fr := newFakeRemote()
	reg := &memRegistry{}
	a := newShowNode(t, show, fr, reg)
	if _, err := a.b.CreateShow(ctx, smallShow(show, 10)); err != nil {
		t.Fatal(err)
	}
	h, _, err := a.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u", Seats: []string{"s0-1-1"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = testNode.System.Root.StopFuture(a.pid).Wait()
	// the local journal one record behind what Redis accepted from it
	le, acked, err := a.j.LocalEpoch(show)
	if err != nil || le == 0 || acked == 0 {
		t.Fatalf("local epoch %d acked %d: %v", le, acked, err)
	}
	if err := a.j.SetLocalEpoch(show, le, acked+1, true); err != nil {
		t.Fatal(err)
	}
	fr.SetDown(true)
	b := newShowNodeOn(t, show, fr, reg, a.j)
	for i := 0; i < 5; i++ {
		if _, err := b.b.GetHold(ctx, "u", show, h.ID); !errors.Is(err, seatmap.ErrUnavailable) {
			t.Fatalf("read %d while Redis is unreachable from a local journal behind the acknowledged seq %d: %v (want unavailable)", i, acked+1, err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	fr.SetDown(false)
	eventually(t, 5*time.Second, "served once Redis is back", func() error {
		_, err := b.b.GetHold(ctx, "u", show, h.ID)
		return err
	})
}
