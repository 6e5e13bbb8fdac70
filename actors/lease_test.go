package actors

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/redis"
	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// cutRemote is a Redis client whose writes and lease renewals fail while cut
// (a partition between one node and Redis that its health check has not
// noticed: Healthy stays true, the worst case).
//
// Activate (without a lease) is not used with Env.Lease.
type cutRemote struct {
	*redis.Client
	cut atomic.Bool
}

var errCut = errors.New("test: cut off from redis")

func (c *cutRemote) Apply(ctx context.Context, cps ...redis.Checkpoint) []error {
	if c.cut.Load() {
		errs := make([]error, len(cps))
		for i := range errs {
			errs[i] = errCut
		}
		return errs
	}
	return c.Client.Apply(ctx, cps...)
}

func (c *cutRemote) Load(ctx context.Context, show string) (redis.State, error) {
	if c.cut.Load() {
		return redis.State{}, errCut
	}
	return c.Client.Load(ctx, show)
}

func (c *cutRemote) ActivateLease(ctx context.Context, show string, prev uint64, ttl time.Duration) (uint64, time.Duration, error) {
	if c.cut.Load() {
		return 0, 0, errCut
	}
	return c.Client.ActivateLease(ctx, show, prev, ttl)
}

func (c *cutRemote) RenewLease(ctx context.Context, show string, epoch uint64, ttl time.Duration) error {
	if c.cut.Load() {
		return errCut
	}
	return c.Client.RenewLease(ctx, show, epoch, ttl)
}

func (c *cutRemote) ReleaseLease(ctx context.Context, show string, epoch uint64) (bool, error) {
	if c.cut.Load() {
		return false, errCut
	}
	return c.Client.ReleaseLease(ctx, show, epoch)
}

// askT sends cmd to pid and waits at most d; ok is false without an answer.
func askT(pid *actor.PID, cmd seatmap.Command, d time.Duration) (seatmap.Result, bool) {
	ch := make(chan seatmap.Result, 1)
	testNode.System.Root.Send(pid, &request{cmd: cmd, reply: ch})
	select {
	case r := <-ch:
		return r, true
	case <-time.After(d):
		return seatmap.Result{}, false
	}
}

// TestStaleActivationAnswersOnly503: two activations of one show coexist
// (membership not converged): the old one is cut off from Redis without
// knowing it, so it never learns it was fenced; the new one takes the show,
// waits for the old lease, and sells a hold. From the new one's first answer
// on, the old one answers nothing but 503: not the hold_not_found and the
// free seat its stale state would give.
func TestStaleActivationAnswersOnly503(t *testing.T) {
	srv := redistest.StartServer(t)
	const lease = 600 * time.Millisecond
	rcA := &cutRemote{Client: openRedis(t, srv.Addr())}
	rcB := openRedis(t, srv.Addr())
	show := uniq("stale")
	cfg := stadium(show, 1, 2, 10, 32)
	envA := &Env{Journal: NewMemJournal(), Remote: rcA, Log: testEnv.Log, Lease: lease}
	a := testNode.System.Root.Spawn(ShowProps(envA, show))
	t.Cleanup(func() { testNode.System.Root.Stop(a) })
	if r, ok := askT(a, seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}, 5*time.Second); !ok || r.Err != nil {
		t.Fatalf("create: %v %v", ok, r.Err)
	}
	h1 := show + "~h1"
	if r, _ := askT(a, seatmap.Command{Kind: seatmap.KindHold, User: "u1", HoldID: h1, Seats: []string{"s0-1-1"}}, 5*time.Second); r.Err != nil {
		t.Fatal(r.Err)
	}
	rcA.cut.Store(true) // A keeps running, believing it owns the show
	cut := time.Now()

	// B: a second activation of the same show, as on another node
	envB := &Env{Journal: NewMemJournal(), Remote: rcB, Log: testEnv.Log, Lease: lease}
	b := testNode.System.Root.Spawn(ShowProps(envB, show))
	t.Cleanup(func() { testNode.System.Root.Stop(b) })
	h2 := show + "~h2"
	bDone := make(chan time.Time, 1)
	go func() {
		r, ok := askT(b, seatmap.Command{Kind: seatmap.KindHold, User: "u2", HoldID: h2, Seats: []string{"s0-1-2"}}, 5*time.Second)
		if !ok || r.Err != nil {
			t.Errorf("hold through the new activation: %v %v", ok, r.Err)
		}
		bDone <- time.Now()
	}()

	// ask A continuously, before and after B serves
	var bServed time.Time
	stale, refused, answeredBefore := 0, 0, 0
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		if bServed.IsZero() {
			select {
			case bServed = <-bDone:
				t.Logf("new activation answered %v after the cut", bServed.Sub(cut).Round(time.Millisecond))
			default:
			}
		}
		for _, cmd := range []seatmap.Command{
			{Kind: seatmap.KindGetHold, HoldID: h2},
			{Kind: seatmap.KindGetHold, HoldID: h1},
			{Kind: seatmap.KindGetShow},
			{Kind: seatmap.KindHold, User: "u3", HoldID: show + "~h3", Seats: []string{"s0-1-2"}},
		} {
			sent := time.Now()
			r, ok := askT(a, cmd, time.Second)
			if !ok {
				continue
			}
			switch {
			case bServed.IsZero() || sent.Before(bServed):
				answeredBefore++
			case errors.Is(r.Err, seatmap.ErrUnavailable):
				refused++
			default:
				stale++
				if stale <= 5 {
					t.Errorf("the old activation answered %s %v (err %v) %v after the new one served",
						cmd.Kind, describe(r), r.Err, sent.Sub(bServed).Round(time.Millisecond))
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if bServed.IsZero() {
		t.Fatal("the new activation never served")
	}
	t.Logf("old activation: %d answers before the new one served, %d 503s and %d stale answers after", answeredBefore, refused, stale)
	if refused == 0 {
		t.Fatal("the old activation did not answer at all after the new one served: the test did not make them coexist")
	}
	if w := time.Duration(envB.Stats.LeaseWaitMicros.Load()) * time.Microsecond; w <= 0 || w > lease {
		t.Errorf("the new activation waited %v for the old lease, want (0, %v]", w, lease)
	}
}

func describe(r seatmap.Result) string {
	switch {
	case r.Hold != nil:
		return fmt.Sprintf("hold %s", r.Hold.ID)
	case r.Show != nil:
		return "show"
	}
	return "-"
}
