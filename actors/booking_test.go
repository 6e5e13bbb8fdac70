package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/cluster"
)

// One single-member cluster for the package: protoactor's cluster does not
// like two members in one process under -race.
var (
	testNode    *cluster.Node
	testEnv     *Env
	testJournal *MemJournal
	testClock   atomic.Int64 // 0 = real time
)

func TestMain(m *testing.M) {
	TuneGC() // as boxoffice serve runs
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	testJournal = NewMemJournal()
	testEnv = &Env{Journal: testJournal, Log: log, SnapshotEvery: 7, NowMs: func() int64 {
		if t := testClock.Load(); t != 0 {
			return t
		}
		return time.Now().UnixMilli()
	}}
	var err error
	testNode, err = cluster.Start(cluster.Config{Kinds: []*pcluster.Kind{Kind(testEnv)}, Log: log})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	testNode.Stop()
	os.Exit(code)
}

var showSeq atomic.Int64

// uniq makes show ids unique within the test process (tests may run with -count).
func uniq(name string) string { return fmt.Sprintf("%s-%d", name, showSeq.Add(1)) }

func newTestBooking() *Booking {
	return NewBooking(testNode, testNode.System, testEnv, BookingOptions{RequestTimeout: 30 * time.Second}) // correctness tests: a loaded CI machine is slow
}

func stadium(id string, sections, rows, seats int, shardSections int) seatmap.ShowConfig {
	cfg := seatmap.ShowConfig{ID: id, Name: id, Tiers: []seatmap.Tier{{ID: "std", Price: 1000}, {ID: "vip", Price: 5000}},
		SectionsPerShard: shardSections}
	for s := 0; s < sections; s++ {
		sec := seatmap.Section{ID: fmt.Sprintf("s%d", s), Tier: "std"}
		for r := 1; r <= rows; r++ {
			sec.Rows = append(sec.Rows, seatmap.Row{ID: fmt.Sprint(r), Seats: seats})
		}
		cfg.Sections = append(cfg.Sections, sec)
	}
	cfg.Sections = append(cfg.Sections, seatmap.Section{ID: "pit", Tier: "vip", Capacity: 50})
	return cfg
}

func TestShowLifecycle(t *testing.T) {
	ctx := context.Background()
	b := newTestBooking()
	life := uniq("life")
	doc, err := b.CreateShow(ctx, stadium(life, 3, 2, 10, 1))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Totals.Capacity != 3*2*10+50 || doc.Totals.Available != doc.Totals.Capacity {
		t.Fatalf("totals %+v", doc.Totals)
	}
	if _, err := b.CreateShow(ctx, stadium(life, 1, 1, 1, 1)); !errors.Is(err, seatmap.ErrShowExists) {
		t.Fatalf("second create: %v", err)
	}
	// a hold of several sections is all or nothing
	h, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: life, User: "u1", Seats: []string{"s0-1-1", "s1-1-1", "s2-2-5"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Seats) != 3 || h.Amount != 3000 {
		t.Fatalf("hold %+v", h)
	}
	_, _, err = b.Hold(ctx, seatmap.HoldRequest{Show: life, User: "u2", Seats: []string{"s0-1-2", "s1-1-1", "s2-1-1"}})
	if !errors.Is(err, seatmap.ErrSeatsUnavailable) || fmt.Sprint(seatmap.TakenSeats(err)) != "[s1-1-1]" {
		t.Fatalf("conflicting hold: %v %v", err, seatmap.TakenSeats(err))
	}
	doc, _ = b.GetShow(ctx, life)
	if doc.Totals.Held != 3 {
		t.Fatalf("the failed hold left seats held: %+v", doc.Totals)
	}
	got, err := b.GetHold(ctx, "", life, h.ID)
	if err != nil || len(got.Seats) != 3 {
		t.Fatalf("get hold: %+v %v", got, err)
	}
	// a tier hold goes to a section of the tier
	g, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: life, User: "u3", Tier: "vip", Quantity: 5})
	if err != nil || g.General["pit"] != 5 {
		t.Fatalf("tier hold: %+v %v", g, err)
	}
	o, created, err := b.CreateOrder(ctx, seatmap.OrderRequest{Show: life, HoldID: h.ID, IdemKey: "k", IdemHash: "x"})
	if err != nil || !created || o.Status != seatmap.StatusPendingPayment || o.Quantity != 3 {
		t.Fatalf("order: %+v %v %v", o, created, err)
	}
	o2, created, err := b.CreateOrder(ctx, seatmap.OrderRequest{Show: life, HoldID: h.ID, IdemKey: "k", IdemHash: "x"})
	if err != nil || created || o2.ID != o.ID {
		t.Fatalf("order again: %+v %v %v", o2, created, err)
	}
	if _, err := b.PayOrder(ctx, "", o.ID, "tok_ok"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CancelOrder(ctx, "", o.ID); !errors.Is(err, seatmap.ErrInvalidState) {
		t.Fatalf("cancel during payment: %v", err)
	}
	if err := b.ReleaseHold(ctx, "", life, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetHold(ctx, "", life, g.ID); !errors.Is(err, seatmap.ErrHoldNotFound) {
		t.Fatalf("released hold: %v", err)
	}
	for _, bad := range []string{"nope", life + "~0~x", life + "~9~x", "other~0~abc"} {
		if _, err := b.GetHold(ctx, "", life, bad); !errors.Is(err, seatmap.ErrHoldNotFound) {
			t.Fatalf("GetHold(%q) = %v", bad, err)
		}
		if _, err := b.GetOrder(ctx, "", bad); !errors.Is(err, seatmap.ErrOrderNotFound) && !errors.Is(err, seatmap.ErrShowNotFound) {
			t.Fatalf("GetOrder(%q) = %v", bad, err)
		}
	}
	if _, err := b.GetShow(ctx, "missing-show"); !errors.Is(err, seatmap.ErrShowNotFound) {
		t.Fatalf("missing show: %v", err)
	}
}

// TestSeatRace: many users race for one seat; exactly one wins, every time.
func TestSeatRace(t *testing.T) {
	ctx := context.Background()
	b := newTestBooking()
	for _, users := range []int{5, 50, 1000} {
		show := uniq(fmt.Sprintf("race-%d", users))
		if _, err := b.CreateShow(ctx, stadium(show, 1, 1, 4, 32)); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for u := 0; u < users; u++ {
			wg.Add(1)
			go func(u int) {
				defer wg.Done()
				<-start
				_, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", u), Seats: []string{"s0-1-2"}})
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, seatmap.ErrSeatsUnavailable):
					t.Errorf("user %d: %v", u, err)
				}
			}(u)
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d users: %d winners", users, wins.Load())
		}
	}
}

// TestFlashSale: 3000 users, best-available quantities over 600 seats; no
// seat is sold twice and the totals always add up.
func TestFlashSale(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	ctx := context.Background()
	b := newTestBooking()
	cfg := stadium(uniq("flash"), 3, 10, 20, 1) // 600 seats in 3 shards + a GA pit of 50
	if _, err := b.CreateShow(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	owner := map[string]string{}
	won := 0
	var wg sync.WaitGroup
	for u := 0; u < 3000; u++ {
		wg.Add(1)
		r := rand.New(rand.NewSource(seed + int64(u)))
		go func(u int, sec string, q int) {
			defer wg.Done()
			h, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: cfg.ID, User: fmt.Sprint("u", u), Section: sec, Quantity: q})
			if err != nil {
				if !errors.Is(err, seatmap.ErrSoldOut) {
					t.Errorf("user %d: %v", u, err)
				}
				return
			}
			mu.Lock()
			defer mu.Unlock()
			won += len(h.Seats)
			for _, s := range h.Seats {
				if prev, dup := owner[s]; dup {
					t.Errorf("seat %s held by %s and %s", s, prev, h.ID)
				}
				owner[s] = h.ID
			}
		}(u, fmt.Sprintf("s%d", r.Intn(3)), 1+r.Intn(4))
	}
	wg.Wait()
	doc, err := b.GetShow(ctx, cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	tt := doc.Totals
	if tt.Available+tt.Held+tt.Reserved+tt.Sold != tt.Capacity || tt.Held != won {
		t.Fatalf("totals %+v, seats won %d", tt, won)
	}
	if won < 590 {
		t.Fatalf("only %d of 600 seats sold with 3x demand", won)
	}
}

// TestRecoveryAndExpiry: a stopped shard comes back from the journal with its
// holds and orders, and its timers expire them at their instants.
func TestRecoveryAndExpiry(t *testing.T) {
	ctx := context.Background()
	b := newTestBooking()
	base := time.Now().UnixMilli()
	testClock.Store(base)
	defer testClock.Store(0)
	cfg := stadium(uniq("recover"), 1, 2, 10, 32)
	cfg.HoldTTLSeconds, cfg.PaymentTTLSeconds = 1, 2
	if _, err := b.CreateShow(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var holds []seatmap.HoldView
	for i := 0; i < 20; i++ { // > SnapshotEvery, so recovery uses a snapshot and records
		h, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: cfg.ID, User: fmt.Sprint("u", i), Section: "s0", Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		holds = append(holds, h)
	}
	o, _, err := b.CreateOrder(ctx, seatmap.OrderRequest{Show: cfg.ID, HoldID: holds[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := b.GetShow(ctx, cfg.ID)
	// stop the activation; the next call activates a new one from the journal
	pid, _ := testNode.PID(cfg.ID, KindShow)
	if err := testNode.System.Root.PoisonFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	after, err := b.GetShow(ctx, cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Totals != before.Totals {
		t.Fatalf("recovered totals %+v, before %+v", after.Totals, before.Totals)
	}
	if got, err := b.GetOrder(ctx, "", o.ID); err != nil || got.Status != seatmap.StatusPendingPayment {
		t.Fatalf("recovered order %+v %v", got, err)
	}
	// holds expire after 1 s, the order after 2 s: move the clock and wait for the timer
	testClock.Store(base + 2500)
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, _ := b.GetShow(ctx, cfg.ID)
		if d.Totals.Available == d.Totals.Capacity {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not expired: %+v", d.Totals)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := b.GetHold(ctx, "", cfg.ID, holds[3].ID); !errors.Is(err, seatmap.ErrHoldExpired) {
		t.Fatalf("expired hold answers %v", err)
	}
	if got, _ := b.GetOrder(ctx, "", o.ID); got.Status != seatmap.StatusExpired {
		t.Fatalf("order status %s", got.Status)
	}
}

// TestJournalFailure: when the journal refuses a write, the commands of that
// batch answer unavailable and none of their effects survive.
func TestJournalFailure(t *testing.T) {
	ctx := context.Background()
	b := newTestBooking()
	show := uniq("jfail")
	if _, err := b.CreateShow(ctx, stadium(show, 1, 1, 10, 32)); err != nil {
		t.Fatal(err)
	}
	testJournal.FailWith(errors.New("disk full"))
	_, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u", Seats: []string{"s0-1-1"}})
	testJournal.FailWith(nil)
	if !errors.Is(err, seatmap.ErrUnavailable) {
		t.Fatalf("hold during journal failure: %v", err)
	}
	// the journal is failed until it recovers (retried with backoff)
	var doc seatmap.ShowDoc
	deadline := time.Now().Add(5 * time.Second)
	for doc, err = b.GetShow(ctx, show); errors.Is(err, seatmap.ErrUnavailable) && time.Now().Before(deadline); doc, err = b.GetShow(ctx, show) {
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || doc.Totals.Held != 0 {
		t.Fatalf("unsynced hold survived: %+v %v", doc.Totals, err)
	}
	if _, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "v", Seats: []string{"s0-1-1"}}); err != nil {
		t.Fatalf("after the journal healed: %v", err)
	}
}
