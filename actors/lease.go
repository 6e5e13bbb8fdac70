package actors

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis"
)

// The lease clock of one activation: it may answer only until
// validUntil, measured on this process's monotonic clock from the start of
// the last renewal that Redis accepted (never its end: a slow reply must not
// extend it), minus leaseMargin.

// epochStart is the origin of the lease clock (Env.mono).
var epochStart = time.Now()

// leaseMargin is how much earlier than Redis's expiry an activation stops
// answering: clock rate differences and Redis's expiry precision.
func leaseMargin(ttl time.Duration) time.Duration { return max(ttl/10, 50*time.Millisecond) }

type leaseClock struct {
	validUntil atomic.Int64 // Env.mono units; 0: never proven
	renewedAt  atomic.Int64 // start of the last accepted renewal
}

// renewed records a renewal that started at start (Env.mono) and that Redis accepted.
func (l *leaseClock) renewed(start int64, ttl time.Duration) {
	until := start + int64(ttl-leaseMargin(ttl))
	for {
		cur := l.validUntil.Load()
		if until <= cur || l.validUntil.CompareAndSwap(cur, until) {
			break
		}
	}
	for {
		cur := l.renewedAt.Load()
		if start <= cur || l.renewedAt.CompareAndSwap(cur, start) {
			break
		}
	}
}

// validAt reports whether the lease holds at now (Env.mono).
func (l *leaseClock) validAt(now int64) bool { return now < l.validUntil.Load() }

func (l *leaseClock) drop() { l.validUntil.Store(0) }

// leaseTimeout bounds a heartbeat or a release: below the Redis client's
// ProbeTimeout (300 ms), so that a slow renewal alone does not mark Redis
// unhealthy for every show of the node.
func leaseTimeout(ttl time.Duration) time.Duration {
	return min(max(ttl/4, 100*time.Millisecond), 200*time.Millisecond)
}

// heartbeat renews the lease of an idle activation (the writer's goroutine:
// checkpoints renew it otherwise). A fenced activation stops.
func (w *writer) heartbeat(l Leaser) {
	ttl := w.env.Lease
	if w.rs.epoch == 0 || w.env.mono()-w.lease.renewedAt.Load() < int64(ttl/3) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaseTimeout(ttl))
	defer cancel()
	start := w.env.mono()
	err := l.RenewLease(ctx, w.identity, w.rs.epoch, ttl)
	if err == nil {
		w.lease.renewed(start, ttl)
		return
	}
	var fe *redis.FencedError
	if errors.As(err, &fe) && epochCounter(fe.Stored) > epochCounter(fe.Epoch) {
		w.lease.drop()
		w.env.Log.Warn("lease renewal fenced: a newer activation owns the show", "show", w.identity, "err", err)
		w.fail(w.gen, errors.Join(ErrFenced, err), true, nil)
		return
	}
	w.env.Log.Warn("lease renewal failed", "show", w.identity, "err", err)
}

// release gives the lease up after the writer's last batch (graceful stop),
// so the next activation need not wait for it to run out.
func (w *writer) release(l Leaser) {
	if w.rs.epoch == 0 {
		return
	}
	w.lease.drop()
	ctx, cancel := context.WithTimeout(context.Background(), leaseTimeout(w.env.Lease))
	defer cancel()
	if _, err := l.ReleaseLease(ctx, w.identity, w.rs.epoch); err != nil {
		w.env.Log.Warn("releasing the lease failed; the next activation waits for it to run out", "show", w.identity, "err", err)
	}
}
