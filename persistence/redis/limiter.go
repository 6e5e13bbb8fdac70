package redis

import (
	"context"
	"time"
)

// Local is the per-node fallback of a Limiter (edge.MemLimiter satisfies it).
type Local interface {
	Allow(now time.Time, key string, rate, burst float64) (bool, time.Duration)
}

// Limiter is a token-bucket rate limiter shared by every node through Redis
// (one script call per decision). While Redis is unhealthy, or a call fails,
// it decides with the node's own Local limiter instead: limits then hold per
// node rather than fleet-wide, and requests are never refused for want of
// Redis. It satisfies edge.Limiter; safe for concurrent use.
type Limiter struct {
	Client  *Client
	Local   Local
	Timeout time.Duration // per decision; default 50 ms
}

func (l *Limiter) Allow(now time.Time, key string, rate, burst float64) (bool, time.Duration) {
	if !l.Client.Healthy() {
		return l.Local.Allow(now, key, rate, burst)
	}
	d := l.Timeout
	if d <= 0 {
		d = 50 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	ok, wait, err := l.Client.Allow(ctx, "rl:"+key, rate, burst, now.UnixMilli())
	if err != nil {
		return l.Local.Allow(now, key, rate, burst)
	}
	return ok, wait
}
