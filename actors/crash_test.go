package actors

import (
	"errors"
	"fmt"
	"math/rand"
	randv2 "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// TestCrashKeepsAcknowledged runs holds, orders, payments and cancels against
// shard actors journaling to Pebble on a crashable in-memory filesystem, takes
// a crash image (unsynced writes dropped) in the middle of the load, and checks
// that every transition acknowledged before the image is in the recovered
// state, and that the recovered state keeps its invariants.
func TestCrashKeepsAcknowledged(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for iter := 0; iter < 3; iter++ {
		crashOnce(t, rng)
	}
}

type acked struct {
	mu     sync.Mutex // protects following fields
	holds  map[string]bool
	orders map[string]string // order id -> status acknowledged last
}

func crashOnce(t *testing.T, rng *rand.Rand) {
	mem := pebble.NewCrashableMem() // cloned while the show runs
	// slow syncs widen the window between a write and its sync, where an
	// answer given too early would be caught
	slow := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			time.Sleep(time.Duration(randv2.N(2000)) * time.Microsecond)
		}
		return nil
	}))
	st, err := pebble.Open(pebble.Options{Dir: "db", FS: slow})
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Journal: NewPebbleJournal(st), Log: testEnv.Log, SnapshotEvery: 40}
	base := uniq("crash")
	ids := map[int]string{}
	byShow := map[string]int{}
	// standalone show actors sharing one store: this test owns their journal
	send := map[int]func(seatmap.Command) seatmap.Result{}
	for n := 0; n < 3; n++ {
		id := fmt.Sprintf("%s-%d", base, n)
		cfg := stadium(id, 2, 5, 10, 2)
		cfg.HoldTTLSeconds = 3600
		ids[n], byShow[id] = id, n
		pid := testNode.System.Root.Spawn(ShowProps(env, id))
		defer testNode.System.Root.Stop(pid)
		send[n] = func(cmd seatmap.Command) seatmap.Result {
			ch := make(chan seatmap.Result, 1)
			testNode.System.Root.Send(pid, &request{cmd: cmd, reply: ch})
			select {
			case r := <-ch:
				return r
			case <-time.After(10 * time.Second):
				return seatmap.Result{Err: errors.New("timeout")}
			}
		}
		c := cfg
		if r := send[n](seatmap.Command{Kind: seatmap.KindCreate, Show: &c}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	ack := &acked{holds: map[string]bool{}, orders: map[string]string{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int, r *rand.Rand) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n := r.Intn(len(send))
				hold := fmt.Sprintf("%s~g%di%d", ids[n], g, i)
				res := send[n](seatmap.Command{Kind: seatmap.KindHold, User: fmt.Sprint("u", g), HoldID: hold,
					Section: fmt.Sprintf("s%d", r.Intn(2)), Quantity: 1 + r.Intn(2)})
				if res.Err != nil {
					continue
				}
				ack.mu.Lock()
				ack.holds[hold] = true
				ack.mu.Unlock()
				if r.Intn(2) == 0 {
					continue
				}
				order := hold + "o"
				if res := send[n](seatmap.Command{Kind: seatmap.KindOrder, HoldID: hold, OrderID: order}); res.Err != nil {
					continue
				}
				ack.mu.Lock()
				ack.orders[order] = seatmap.StatusPendingPayment
				ack.mu.Unlock()
				kind, status := seatmap.KindPay, seatmap.StatusPaymentProcessing
				if r.Intn(2) == 0 {
					kind, status = seatmap.KindCancel, seatmap.StatusCancelled
				}
				if res := send[n](seatmap.Command{Kind: kind, OrderID: order, Token: "tok_ok", Attempt: order + "a"}); res.Err == nil {
					ack.mu.Lock()
					ack.orders[order] = status
					ack.mu.Unlock()
				}
			}
		}(g, rand.New(rand.NewSource(rng.Int63())))
	}
	time.Sleep(time.Duration(50+rng.Intn(150)) * time.Millisecond)
	// the image: what was acknowledged by now must be in it
	ack.mu.Lock()
	wantHolds := len(ack.holds)
	holds := make([]string, 0, wantHolds)
	for h := range ack.holds {
		holds = append(holds, h)
	}
	orders := map[string]string{}
	for o, s := range ack.orders {
		orders[o] = s
	}
	clone := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.Intn(30), RNG: randv2.New(randv2.NewPCG(uint64(rng.Int63()), 1))})
	ack.mu.Unlock()
	close(stop)
	wg.Wait()
	st.Close()

	st2, err := pebble.Open(pebble.Options{Dir: "db", FS: clone})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	j := NewPebbleJournal(st2)
	shards := map[int]*seatmap.Shard{}
	for n, id := range ids {
		sh, _, err := loadShard(j, id)
		if err != nil {
			t.Fatalf("recover %s: %v", id, err)
		}
		if err := sh.CheckInvariants(); err != nil {
			t.Fatalf("recovered %s: %v", id, err)
		}
		shards[n] = sh
	}
	for _, h := range holds {
		show, _ := parseID(h)
		if r := shards[byShow[show]].Apply(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: h}); r.Err != nil {
			t.Fatalf("acknowledged hold %s lost: %v", h, r.Err)
		}
	}
	for o, status := range orders {
		show, _ := parseID(o)
		r := shards[byShow[show]].Apply(seatmap.Command{Kind: seatmap.KindGetOrder, OrderID: o})
		if r.Err != nil {
			t.Fatalf("acknowledged order %s lost: %v", o, r.Err)
		}
		if rank(r.Order.Status) < rank(status) {
			t.Fatalf("order %s recovered as %s, acknowledged %s", o, r.Order.Status, status)
		}
	}
	t.Logf("crash image kept %d acknowledged holds and %d orders", len(holds), len(orders))
	if len(holds) == 0 {
		t.Fatal("no hold was acknowledged before the crash image: the test proved nothing")
	}
}

// rank orders an order's statuses along its life, for "at least as far as".
func rank(s string) int {
	switch s {
	case seatmap.StatusPendingPayment:
		return 0
	default:
		return 1
	}
}
