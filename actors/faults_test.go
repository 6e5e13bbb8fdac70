package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// showNode is one activation of a show with its own journal, as a node of a
// cluster would have: tests make two of them share one (fake) Redis.
type showNode struct {
	env *Env
	j   *MemJournal
	b   *Booking
	pid *actor.PID
}

func newShowNode(t *testing.T, show string, remote Remote, reg Registry) *showNode {
	return newShowNodeOn(t, show, remote, reg, NewMemJournal())
}

// newShowNodeOn is newShowNode over a given journal (a restart).
func newShowNodeOn(t *testing.T, show string, remote Remote, reg Registry, j *MemJournal) *showNode {
	t.Helper()
	n := &showNode{j: j}
	n.env = &Env{Journal: n.j, Log: testEnv.Log, Registry: reg}
	if remote != nil {
		n.env.Remote = remote
	}
	n.pid = testNode.System.Root.Spawn(ShowProps(n.env, show))
	t.Cleanup(func() { _ = testNode.System.Root.StopFuture(n.pid).Wait() })
	n.b = NewBooking(&fixedPlacement{pid: n.pid}, testNode.System, n.env, BookingOptions{RequestTimeout: 3 * time.Second})
	return n
}

// eventually retries f until it returns nil or d passed.
func eventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after %v", what, err, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func smallShow(id string, seats int) seatmap.ShowConfig {
	return seatmap.ShowConfig{ID: id, Name: id, Tiers: []seatmap.Tier{{ID: "std", Price: 1000}},
		Sections: []seatmap.Section{{ID: "s0", Tier: "std", Rows: []seatmap.Row{{ID: "1", Seats: seats}}}}}
}

// Finding 1: with every journal write failing, no command is acknowledged.
// The actor once kept the answers of commands applied to the discarded state;
// their flush then found the reloaded shard's empty Ready and answered success.
func TestEveryWriteFailingAcknowledgesNothing(t *testing.T) {
	ctx := context.Background()
	show := uniq("allfail")
	n := newShowNode(t, show, nil, nil)
	if _, err := n.b.CreateShow(ctx, smallShow(show, 300)); err != nil {
		t.Fatal(err)
	}
	n.j.FailWith(errors.New("no space left on device"))
	var acked atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 256; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", i), Seats: []string{fmt.Sprintf("s0-1-%d", i+1)}})
			if err == nil {
				acked.Add(1)
			} else if !errors.Is(err, seatmap.ErrUnavailable) {
				t.Errorf("hold %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	if acked.Load() != 0 {
		t.Fatalf("%d holds acknowledged while every write failed", acked.Load())
	}
	n.j.FailWith(nil)
	eventually(t, 5*time.Second, "recovery after the disk healed", func() error {
		doc, err := n.b.GetShow(ctx, show)
		if err == nil && doc.Totals.Held != 0 {
			return fmt.Errorf("%d seats held that nobody was told about", doc.Totals.Held)
		}
		return err
	})
	// transient faults: whatever was acknowledged is held, whatever answered
	// 503 may or may not be (its outcome is unknown to the caller). Slow
	// syncs let turns pile up behind the failing one.
	n.j.SetSyncDelay(2 * time.Millisecond)
	for round := 0; round < 6; round++ {
		n.j.FailNext(1+round%2, errors.New("transient write error"))
		var mu sync.Mutex
		var ackedIDs []string
		for c := 0; c < 64; c++ { // 64 callers, 4 holds each, one after another
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for k := 0; k < 4; k++ {
					i := c*4 + k
					seat := fmt.Sprintf("s0-1-%d", i+1)
					req := seatmap.HoldRequest{Show: show, User: fmt.Sprint("r", round, "u", i), Seats: []string{seat},
						IdemKey: fmt.Sprint("r", round, "k", i), IdemHash: seat}
					for try := 0; try < 50; try++ { // a client retries 503s with the same key
						h, _, err := n.b.Hold(ctx, req)
						if err == nil {
							mu.Lock()
							ackedIDs = append(ackedIDs, h.ID)
							mu.Unlock()
							break
						}
						time.Sleep(5 * time.Millisecond)
					}
				}
			}(c)
		}
		wg.Wait()
		for _, id := range ackedIDs {
			if _, err := n.b.GetHold(ctx, "", show, id); err != nil {
				t.Fatalf("round %d: acknowledged hold %s: %v", round, id, err)
			}
			if err := n.b.ReleaseHold(ctx, "", show, id); err != nil {
				t.Fatalf("round %d: release %s: %v", round, id, err)
			}
		}
		t.Logf("round %d: %d of 256 holds acknowledged around %d failed writes", round, len(ackedIDs), 1+round%2)
	}
}

// Finding 2: a batch whose sync failed is never read back. Pebble makes a
// batch visible before its sync returns (MemJournal fails alike); a retried
// order of the same hold must create the order durably, not find the ghost.
func TestFailedSyncIsNotReadBack(t *testing.T) {
	ctx := context.Background()
	show := uniq("ghost")
	n := newShowNode(t, show, nil, nil)
	if _, err := n.b.CreateShow(ctx, smallShow(show, 10)); err != nil {
		t.Fatal(err)
	}
	h, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u", Seats: []string{"s0-1-1"}})
	if err != nil {
		t.Fatal(err)
	}
	n.j.FailWith(errors.New("fsync: input/output error"))
	req := seatmap.OrderRequest{Show: show, HoldID: h.ID, IdemKey: "k1", IdemHash: "x"}
	if _, _, err := n.b.CreateOrder(ctx, req); !errors.Is(err, seatmap.ErrUnavailable) {
		t.Fatalf("order while the sync fails: %v", err)
	}
	n.j.FailWith(nil)
	var o seatmap.OrderView
	var created bool
	eventually(t, 5*time.Second, "order after the disk healed", func() error {
		o, created, err = n.b.CreateOrder(ctx, req)
		return err
	})
	if !created {
		t.Fatalf("the retried order was found, not created: the failed batch was read back (%+v)", o)
	}
	// a new activation over the same journal (a restart) has the order
	n2 := &Env{Journal: n.j, Log: testEnv.Log}
	sh, _, err := loadShard(n2.Journal, show)
	if err != nil {
		t.Fatal(err)
	}
	if r := sh.Apply(seatmap.Command{Kind: seatmap.KindGetOrder, OrderID: o.ID}); r.Err != nil {
		t.Fatalf("the acknowledged order is not in the journal: %v", r.Err)
	}
}

// Finding 3: with Redis unreachable, writes answer 503 fast (no Pebble-only
// acknowledgement), reads keep answering, and writes resume once it is back.
func TestRedisDownRefusesWritesFast(t *testing.T) {
	ctx := context.Background()
	show := uniq("rdown")
	fr := newFakeRemote()
	n := newShowNode(t, show, fr, nil)
	if _, err := n.b.CreateShow(ctx, smallShow(show, 50)); err != nil {
		t.Fatal(err)
	}
	fr.SetDown(true)
	for i := 0; i < 20; i++ {
		start := time.Now()
		_, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", i), Seats: []string{fmt.Sprintf("s0-1-%d", i+1)}})
		if !errors.Is(err, seatmap.ErrUnavailable) {
			t.Fatalf("hold %d while Redis is down: %v", i, err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("the 503 took %v", d)
		}
	}
	if _, err := n.b.GetShow(ctx, show); err != nil {
		t.Fatalf("read while Redis is down: %v", err)
	}
	fr.SetDown(false)
	eventually(t, time.Second, "a write after Redis came back", func() error {
		_, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "back", Seats: []string{"s0-1-40"}})
		return err
	})
	if got := fr.Server().Seq(show); got != 2 { // create, hold
		t.Fatalf("redis seq %d, want 2", got)
	}
}

// Finding 4: an Activate whose reply was lost leaves the activation without
// an epoch: it must not acknowledge writes on its journal alone (which the
// next activation would drop). It serves writes again once it has one, and
// what it acknowledged survives a move to another node.
func TestLostActivateReply(t *testing.T) {
	ctx := context.Background()
	show := uniq("lostact")
	fr := newFakeRemote()
	reg := &memRegistry{}
	a := newShowNode(t, show, fr, reg)
	if _, err := a.b.CreateShow(ctx, smallShow(show, 50)); err != nil {
		t.Fatal(err)
	}
	// restart the activation with the next Activate reply lost
	_ = testNode.System.Root.StopFuture(a.pid).Wait()
	fr.LoseReplies(1)
	a2 := newShowNodeOn(t, show, fr, reg, a.j)
	var acked []string
	for i := 0; i < 30; i++ {
		h, _, err := a2.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", i), Seats: []string{fmt.Sprintf("s0-1-%d", i+1)}})
		if err == nil {
			acked = append(acked, h.ID)
		} else if !errors.Is(err, seatmap.ErrUnavailable) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(acked) == 0 {
		t.Fatal("writes never resumed after the activation got an epoch")
	}
	// another node takes the show over from Redis alone
	b := newShowNode(t, show, fr, reg)
	for _, id := range acked {
		if _, err := b.b.GetHold(ctx, "", show, id); err != nil {
			t.Fatalf("acknowledged hold %s lost after the move: %v", id, err)
		}
	}
}

// Finding 5: a pay refused by the fence must not leave a payment_requested
// event for the relay (the gateway would charge a card for an order that is
// still pending_payment on the owner).
func TestFencedPayDoesNotCharge(t *testing.T) {
	ctx := context.Background()
	show := uniq("fencedpay")
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
	b := newShowNode(t, show, fr, reg) // a newer activation fences a
	if _, err := b.b.GetShow(ctx, show); err != nil {
		t.Fatal(err)
	}
	if _, err := a.b.PayOrder(ctx, "", o.ID, "tok_ok"); !errors.Is(err, seatmap.ErrUnavailable) {
		t.Fatalf("pay on the fenced activation: %v", err)
	}
	for _, e := range a.j.OutboxEvents() {
		if e.Type == seatmap.EventPaymentRequested {
			t.Fatalf("the fenced activation left %s in its outbox", e.ID)
		}
	}
	got, err := b.b.GetOrder(ctx, "", o.ID)
	if err != nil || got.Status != seatmap.StatusPendingPayment {
		t.Fatalf("owner's order: %+v %v", got, err)
	}
}

// A checkpoint whose reply was lost after Redis applied it: the command
// answered 503, Redis holds it; the next activation takes it from Redis with
// the events it emitted (else the payment would never be requested).
func TestLostCheckpointReplyKeepsEvents(t *testing.T) {
	ctx := context.Background()
	show := uniq("lostreply")
	fr := newFakeRemote()
	n := newShowNode(t, show, fr, nil)
	if _, err := n.b.CreateShow(ctx, smallShow(show, 10)); err != nil {
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
	fr.LoseReplies(1)
	if _, err := n.b.PayOrder(ctx, "", o.ID, "tok_ok"); !errors.Is(err, seatmap.ErrUnavailable) {
		t.Fatalf("pay with its reply lost: %v", err)
	}
	eventually(t, 3*time.Second, "the order as Redis has it", func() error {
		got, err := n.b.GetOrder(ctx, "", o.ID)
		if err == nil && got.Status != seatmap.StatusPaymentProcessing {
			return fmt.Errorf("status %s", got.Status)
		}
		return err
	})
	found := false
	for _, e := range n.j.OutboxEvents() {
		found = found || (e.Type == seatmap.EventPaymentRequested && e.OrderID == o.ID)
	}
	if !found {
		t.Fatal("payment_requested of the applied pay is not in the outbox")
	}
}

// Redis lost its tail (a restart from an AOF a second old): the owner sees
// it, says so, and re-seeds Redis from its journal; nothing acknowledged is
// lost, even for a node that takes the show over later from Redis alone.
func TestRedisLostTailIsReseeded(t *testing.T) {
	ctx := context.Background()
	show := uniq("losttail")
	fr := newFakeRemote()
	reg := &memRegistry{}
	n := newShowNode(t, show, fr, reg)
	if _, err := n.b.CreateShow(ctx, smallShow(show, 20)); err != nil {
		t.Fatal(err)
	}
	var acked []string
	for i := 0; i < 5; i++ {
		h, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", i), Seats: []string{fmt.Sprintf("s0-1-%d", i+1)}})
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, h.ID)
	}
	fr.Server().LoseTail(show, 3)
	eventually(t, 3*time.Second, "a write after Redis lost its tail", func() error {
		h, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "later", Seats: []string{"s0-1-10"}})
		if err == nil {
			acked = append(acked, h.ID)
		}
		return err
	})
	if n.env.Stats.RemoteDataLoss.Load() == 0 {
		t.Fatal("the data loss was not counted")
	}
	other := newShowNode(t, show, fr, reg)
	for _, id := range acked {
		if _, err := other.b.GetHold(ctx, "", show, id); err != nil {
			t.Fatalf("acknowledged hold %s lost: %v", id, err)
		}
	}
}

// Finding 8: an unknown show id activates nothing and leaves no state.
func TestUnknownShowCostsNothing(t *testing.T) {
	ctx := context.Background()
	fr := newFakeRemote()
	env := &Env{Journal: NewMemJournal(), Log: testEnv.Log, Remote: fr}
	place := &countingPlacement{}
	b := NewBooking(place, testNode.System, env, BookingOptions{})
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("nope-%d", i)
		if _, err := b.GetShow(ctx, id); !errors.Is(err, seatmap.ErrShowNotFound) {
			t.Fatalf("GetShow(%s) = %v", id, err)
		}
		if _, err := b.GetHold(ctx, "", id, id+"~x"); !errors.Is(err, seatmap.ErrHoldNotFound) {
			t.Fatalf("GetHold = %v", err)
		}
	}
	inflight := 0
	b.inflight.Range(func(any, any) bool { inflight++; return true })
	keys := fr.Server().Keys()
	if place.calls.Load() != 0 || inflight != 0 || keys != 0 {
		t.Fatalf("unknown shows cost %d activations, %d inflight counters, %d redis keys", place.calls.Load(), inflight, keys)
	}
}

type countingPlacement struct{ calls atomic.Int64 }

func (c *countingPlacement) PID(string, string) (*actor.PID, error) {
	c.calls.Add(1)
	return nil, errors.New("no placement in this test")
}
func (c *countingPlacement) Forget(string, string, *actor.PID) {}
func (c *countingPlacement) Local(*actor.PID) bool             { return true }

// A journal write that stalls (a full disk makes Pebble wait, not fail)
// answers 503 to its commands and to every command queued behind it after
// stallTimeout; new writes are refused at once until the write returns.
func TestStalledWriteAnswers503(t *testing.T) {
	ctx := context.Background()
	show := uniq("stall")
	j := &gateJournal{MemJournal: NewMemJournal(), gate: make(chan struct{})}
	close(j.gate)
	env := &Env{Journal: j, Log: testEnv.Log}
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	t.Cleanup(func() { _ = testNode.System.Root.StopFuture(pid).Wait() })
	b := NewBooking(&fixedPlacement{pid: pid}, testNode.System, env, BookingOptions{RequestTimeout: 10 * time.Second})
	if _, err := b.CreateShow(ctx, smallShow(show, 100)); err != nil {
		t.Fatal(err)
	}
	j.gate = make(chan struct{}) // the next Append blocks
	var wg sync.WaitGroup
	var slowest atomic.Int64
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			start := time.Now()
			_, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", i), Seats: []string{fmt.Sprintf("s0-1-%d", i+1)}})
			if !errors.Is(err, seatmap.ErrUnavailable) {
				t.Errorf("hold %d during the stall: %v", i, err)
			}
			if d := time.Since(start).Milliseconds(); d > slowest.Load() {
				slowest.Store(d)
			}
		}(i)
		time.Sleep(20 * time.Millisecond) // some queue behind the stalled write
	}
	wg.Wait()
	if d := time.Duration(slowest.Load()) * time.Millisecond; d > stallTimeout+500*time.Millisecond {
		t.Fatalf("a caller waited %v for its 503", d)
	}
	start := time.Now()
	if _, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "x", Seats: []string{"s0-1-50"}}); !errors.Is(err, seatmap.ErrUnavailable) || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("a write while stalled: %v after %v", err, time.Since(start))
	}
	close(j.gate)
	eventually(t, 2*time.Second, "a write after the stall", func() error {
		_, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "y", Seats: []string{"s0-1-60"}})
		return err
	})
}

// Findings 6 and 7: round 1 split a show into shards of 32 sections; a hold
// across shards became an order in parts that shared event ids (the gateway
// settled the second part as paid without a charge), and a retried order
// could split. One actor per show: one order, one charge key per attempt,
// and a retry answers the same order.
func TestWideOrderIsOneOrderOneCharge(t *testing.T) {
	ctx := context.Background()
	show := uniq("wide")
	n := newShowNode(t, show, nil, nil)
	cfg := stadium(show, 40, 1, 5, 32) // 40 sections: two shards in round 1
	if _, err := n.b.CreateShow(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	h, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u", Seats: []string{"s0-1-1", "s39-1-1"}})
	if err != nil {
		t.Fatal(err)
	}
	req := seatmap.OrderRequest{Show: show, HoldID: h.ID, IdemKey: "k", IdemHash: "x"}
	o, _, err := n.b.CreateOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, created, err := n.b.CreateOrder(ctx, req)
	if err != nil || created || again.ID != o.ID {
		t.Fatalf("retried order: %s created=%v %v, first %s", again.ID, created, err, o.ID)
	}
	if _, err := n.b.PayOrder(ctx, "", o.ID, "tok_ok"); err != nil {
		t.Fatal(err)
	}
	ids, keys := map[string]bool{}, map[string]bool{}
	for _, e := range n.j.Events() {
		if ids[e.ID] {
			t.Fatalf("event id %s emitted twice", e.ID)
		}
		ids[e.ID] = true
		if e.Type == seatmap.EventPaymentRequested {
			if e.Attempt == "" || keys[e.OrderID+":"+e.Attempt] {
				t.Fatalf("payment_requested %s: attempt %q not unique", e.ID, e.Attempt)
			}
			keys[e.OrderID+":"+e.Attempt] = true
			if len(e.Seats) != 2 || e.Amount != 2000 {
				t.Fatalf("the charge covers %v for %d, want both seats for 2000", e.Seats, e.Amount)
			}
		}
	}
	if len(keys) != 1 {
		t.Fatalf("%d charges requested for one order", len(keys))
	}
}
