package actors

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// gateJournal blocks every Append until the gate opens.
type gateJournal struct {
	*MemJournal
	gate chan struct{}

	mu      sync.Mutex // protects written
	written []string   // the fact kinds of every record appended, in order
}

func (g *gateJournal) Append(show string, w Write) (Held, error) {
	<-g.gate
	g.mu.Lock()
	for _, r := range w.Records {
		g.written = append(g.written, r.Facts[0].Kind.String())
	}
	g.mu.Unlock()
	return g.MemJournal.Append(show, w)
}

// TestOverloadFailsFast: when a shard has MaxInflight commands waiting, the
// next ones answer unavailable at once instead of queueing.
func TestOverloadFailsFast(t *testing.T) {
	ctx := context.Background()
	j := &gateJournal{MemJournal: NewMemJournal(), gate: make(chan struct{})}
	env := &Env{Journal: j, Log: testEnv.Log}
	show := uniq("overload")
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	defer testNode.System.Root.Stop(pid)
	place := &fixedPlacement{pid: pid}
	b := NewBooking(place, testNode.System, env, BookingOptions{MaxInflight: 10})
	cfg := stadium(show, 1, 1, 100, 32)
	b.shows.Store(show, &cfg)
	go func() { // the creation itself waits for the gate
		_, _ = b.call(ctx, show, seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg})
	}()
	time.Sleep(20 * time.Millisecond)
	var unavailable, ok atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u", Section: "s0", Quantity: 1})
			switch {
			case errors.Is(err, seatmap.ErrUnavailable):
				if time.Since(start) > time.Second {
					t.Errorf("overload answer took %v", time.Since(start))
				}
				unavailable.Add(1)
			case err == nil:
				ok.Add(1)
			default:
				t.Errorf("hold: %v", err)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	if got := unavailable.Load(); got < 20 {
		t.Fatalf("%d of 30 calls refused while 10 may wait", got)
	}
	close(j.gate)
	wg.Wait()
	if ok.Load()+unavailable.Load() != 30 || ok.Load() == 0 {
		t.Fatalf("ok %d, unavailable %d", ok.Load(), unavailable.Load())
	}
}

// fixedPlacement resolves every identity to one local PID.
type fixedPlacement struct{ pid *actor.PID }

func (f *fixedPlacement) PID(string, string) (*actor.PID, error) { return f.pid, nil }
func (f *fixedPlacement) Forget(string, string, *actor.PID)      {}
func (f *fixedPlacement) Local(*actor.PID) bool                  { return true }

// TestHoldAckApplied: with HoldAckApplied a hold is answered while its batch
// still waits for the journal, an order is not, and both end up journaled in
// order.
func TestHoldAckApplied(t *testing.T) {
	j := &gateJournal{MemJournal: NewMemJournal(), gate: make(chan struct{})}
	env := &Env{Journal: j, Log: testEnv.Log, HoldAckApplied: true}
	show := uniq("ackapplied")
	id := show
	pid := testNode.System.Root.Spawn(ShowProps(env, id))
	defer testNode.System.Root.Stop(pid)
	send := func(cmd seatmap.Command) chan seatmap.Result {
		ch := make(chan seatmap.Result, 1)
		testNode.System.Root.Send(pid, &request{cmd: cmd, reply: ch})
		return ch
	}
	cfg := stadium(show, 1, 1, 10, 32)
	created := send(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg})
	hold := send(seatmap.Command{Kind: seatmap.KindHold, User: "u", HoldID: show + "~0~h", Seats: []string{"s0-1-1"}})
	select {
	case r := <-hold:
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the hold waited for the journal")
	}
	order := send(seatmap.Command{Kind: seatmap.KindOrder, HoldID: show + "~0~h", OrderID: show + "~0~o"})
	select {
	case <-order:
		t.Fatal("the order was answered before its batch was journaled")
	case <-time.After(100 * time.Millisecond):
	}
	close(j.gate)
	<-created
	if r := <-order; r.Err != nil {
		t.Fatal(r.Err)
	}
	j.mu.Lock()
	kinds := strings.Join(j.written, " ")
	j.mu.Unlock()
	if kinds != "show_created hold_placed order_created" {
		t.Fatalf("journal: %s", kinds)
	}
}
