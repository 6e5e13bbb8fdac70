package redis

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLease: the lease life cycle against a real redis-server: a new
// activation waits for the old lease, the old one can no longer renew once
// fenced (by RenewLease nor by a checkpoint), a checkpoint renews it, a
// release lets the next activation take it at once.
func TestLease(t *testing.T) {
	_, c := openServer(t, nil)
	ctx := context.Background()
	const show, ttl = "lease1", 400 * time.Millisecond
	key, _ := LeaseKey(show)
	e1, wait, err := c.ActivateLease(ctx, show, 0, ttl)
	if err != nil || wait != 0 {
		t.Fatalf("first activation: wait %v err %v", wait, err)
	}
	if err := c.RenewLease(ctx, show, e1, ttl); err != nil {
		t.Fatalf("renew: %v", err)
	}
	// a checkpoint renews it
	time.Sleep(250 * time.Millisecond)
	if err := c.Apply(ctx, Checkpoint{Shard: show, Epoch: e1, Entries: entries(show, 1, 1), LeaseTTL: ttl})[0]; err != nil {
		t.Fatal(err)
	}
	if p := c.rdb.PTTL(ctx, key).Val(); p < 300*time.Millisecond {
		t.Fatalf("checkpoint did not renew the lease: pttl %v", p)
	}
	// a second activation takes the epoch at once but must wait for the lease
	e2, wait, err := c.ActivateLease(ctx, show, 0, ttl)
	if err != nil || wait < 200*time.Millisecond || wait > ttl {
		t.Fatalf("second activation while the lease is held: wait %v err %v", wait, err)
	}
	if err := c.RenewLease(ctx, show, e1, ttl); !errors.Is(err, ErrFenced) {
		t.Fatalf("the old activation renewed after being fenced: %v", err)
	}
	if err := c.Apply(ctx, Checkpoint{Shard: show, Epoch: e1, Entries: entries(show, 2, 2), LeaseTTL: ttl})[0]; !errors.Is(err, ErrFenced) {
		t.Fatalf("the old activation's checkpoint: %v", err)
	}
	if v := c.rdb.Get(ctx, key).Val(); v != leaseValue(e1) {
		t.Fatalf("lease %q, want the old one %q until it runs out", v, leaseValue(e1))
	}
	time.Sleep(wait)
	if err := c.RenewLease(ctx, show, e2, ttl); err != nil {
		t.Fatalf("the new activation takes the lease after waiting: %v", err)
	}
	if v := c.rdb.Get(ctx, key).Val(); v != leaseValue(e2) {
		t.Fatalf("lease %q, want %q", v, leaseValue(e2))
	}
	// re-activation by the same owner (prev) does not wait for its own lease
	e3, wait, err := c.ActivateLease(ctx, show, e2, ttl)
	if err != nil || wait != 0 {
		t.Fatalf("re-activation over its own lease: wait %v err %v", wait, err)
	}
	// a release by a stale epoch does nothing; by the holder it frees the lease
	if ok, err := c.ReleaseLease(ctx, show, e2); ok || err != nil {
		t.Fatalf("stale release: %v %v", ok, err)
	}
	if ok, err := c.ReleaseLease(ctx, show, e3); !ok || err != nil {
		t.Fatalf("release: %v %v", ok, err)
	}
	if _, wait, err := c.ActivateLease(ctx, show, 0, ttl); err != nil || wait != 0 {
		t.Fatalf("activation after a release: wait %v err %v", wait, err)
	}
}
