package redis

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// busyLua keeps Redis busy for 100 ms.
const busyLua = `local s = redis.call('TIME')
repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 100000
return 1`

// TestHealthUnderSIGSTOP: a Redis that stops answering (SIGSTOP: TCP
// connects still succeed, nothing is answered) must make Healthy() false
// within 1 s, an in-flight Apply must not hang for its whole 5 s context,
// calls while unhealthy fail at once, and Healthy() is true again within
// 1 s of Redis answering (SIGCONT). Uses the default timeouts.
func TestHealthUnderSIGSTOP(t *testing.T) {
	var mu sync.Mutex
	var changes []bool
	srv, c := openServer(t, func(o *Options) {
		o.HealthInterval, o.HealthMinBackoff, o.HealthMaxBackoff = 0, 0, 0 // defaults
		o.OnChange = func(h bool) { mu.Lock(); changes = append(changes, h); mu.Unlock() }
	})
	s := "stopped"
	e := activate(t, c, s)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 1)})

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	t.Cleanup(func() { _ = srv.Cont() })
	type result struct {
		err  error
		took time.Duration
	}
	inflight := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 2, 2)})[0]
		inflight <- result{err, time.Since(start)}
	}()
	waitFor(t, "Healthy() false", time.Second-time.Since(stopped), func() bool { return !c.Healthy() })
	t.Logf("unhealthy %v after SIGSTOP", time.Since(stopped).Round(time.Millisecond))
	r := <-inflight
	if r.err == nil || r.took > 2*time.Second {
		t.Fatalf("Apply in flight under SIGSTOP with a 5 s context: %v after %v; want an error within 2 s", r.err, r.took)
	}
	t.Logf("in-flight Apply failed after %v: %v", r.took.Round(time.Millisecond), r.err)

	// while unhealthy, calls fail fast and send nothing
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 2, 3)})[0]; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Apply while unhealthy: %v, want ErrUnavailable", err)
	}
	if _, err := c.Load(ctx, s); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Load while unhealthy: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("calls while unhealthy took %v", d)
	}
	// still stopped: still unhealthy (no probe may succeed)
	time.Sleep(time.Second)
	if c.Healthy() {
		t.Fatal("healthy while Redis is still stopped")
	}

	if err := srv.Cont(); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	waitFor(t, "Healthy() true", time.Second, c.Healthy)
	t.Logf("healthy %v after SIGCONT", time.Since(resumed).Round(time.Millisecond))
	// the in-flight checkpoint may have been applied when Redis resumed (its
	// bytes were buffered): resending it is a recognised retry
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 2, 3)})
	checkState(t, load(t, c, s), s, 3, 0, nil)
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 2 || changes[0] || !changes[1] {
		t.Fatalf("OnChange calls %v, want [false true]", changes)
	}
}

// TestShortCallerDeadlineIsNotAnOutage: a caller's own deadline shorter
// than ProbeTimeout does not mark a Redis that answers unhealthy.
func TestShortCallerDeadlineIsNotAnOutage(t *testing.T) {
	srv, c := openServer(t, nil)
	// make Redis slow, not dead: a script in another connection busies it 100 ms
	go func() { _, _ = srv.Do("EVAL", busyLua, "0") }()
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.Load(ctx, "slow"); err == nil {
		t.Fatal("Load with a 10 ms deadline on a sleeping Redis succeeded")
	}
	if !c.Healthy() {
		t.Fatal("a caller's 10 ms deadline marked the client unhealthy")
	}
}
