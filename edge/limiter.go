package edge

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Limiter rate-limits requests by key with token buckets. The server calls
// Allow once per request it limits, with the rate and burst of the key's class
// (per user and show for holds, per client IP for every API request), so one
// Limiter serves every class; a Redis-backed one can replace MemLimiter to
// share buckets between nodes. Implementations are safe for concurrent use
// and must answer fast: a limiter that cannot decide should allow.
type Limiter interface {
	// Allow takes one token from key's bucket, which refills at rate tokens per
	// second up to burst tokens (a new key starts full), at instant now (the
	// request's arrival; a shared limiter may use its own clock instead). When
	// the bucket is empty it returns false and how long until a token is
	// available.
	Allow(now time.Time, key string, rate, burst float64) (ok bool, retryAfter time.Duration)
}

// MemLimiter is an in-process Limiter. Its memory is fixed when it is made:
// buckets live in a hash table of MaxKeys slots, looked up in a small window
// of slots. A bucket that has refilled completely is the same as no bucket,
// so its slot is free for reuse; when a window has no free slot, the least
// recently used bucket in it is dropped (its key starts afresh, with a full
// bucket). So a key is only forgotten early when more than about MaxKeys keys
// are active within one refill period.
type MemLimiter struct {
	seed   maphash.Seed
	shards []limiterShard
	mask   uint64    // slots per shard - 1
	epoch  time.Time // instants are kept as nanoseconds since epoch
}

const (
	limiterShards   = 64
	limiterWindow   = 4       // slots probed per lookup (two cache lines)
	DefaultMaxKeys  = 1 << 17 // 4 MiB of buckets
	minRetryAfterNs = int64(time.Millisecond)
)

// limiterShard is one lock's worth of slots.
type limiterShard struct {
	mu    sync.Mutex // protects slots
	slots []bucket
	_     [32]byte // keep shards' locks on separate cache lines
}

// bucket is a token bucket: key hash h (0 = empty slot), tokens at instant
// last, full again at fullAt.
type bucket struct {
	h      uint64
	tokens float64
	last   int64
	fullAt int64
}

// NewMemLimiter returns a MemLimiter with room for maxKeys active keys
// (rounded up to a power of two; 0 = DefaultMaxKeys).
func NewMemLimiter(maxKeys int) *MemLimiter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	per := 1
	for per*limiterShards < maxKeys || per < 2*limiterWindow {
		per *= 2
	}
	l := &MemLimiter{seed: maphash.MakeSeed(), epoch: time.Now(), mask: uint64(per - 1), shards: make([]limiterShard, limiterShards)}
	for i := range l.shards {
		l.shards[i].slots = make([]bucket, per)
	}
	return l
}

// Allow implements Limiter. A rate <= 0 allows everything.
func (l *MemLimiter) Allow(at time.Time, key string, rate, burst float64) (bool, time.Duration) {
	if rate <= 0 {
		return true, 0
	}
	burst = math.Max(burst, 1)
	h := maphash.String(l.seed, key) | 1 // never 0, the empty slot
	sh := &l.shards[h%limiterShards]
	now := int64(at.Sub(l.epoch))
	sh.mu.Lock()
	b := l.find(sh, h, now)
	if b.h != h { // new key, or its bucket was refilled and reused
		*b = bucket{h: h, tokens: burst, last: now}
	} else {
		b.tokens = math.Min(burst, b.tokens+float64(now-b.last)*rate/1e9)
		b.last = now
	}
	if b.tokens < 1 {
		wait := int64((1 - b.tokens) / rate * 1e9)
		sh.mu.Unlock()
		return false, time.Duration(max(wait, minRetryAfterNs))
	}
	b.tokens--
	b.fullAt = now + int64((burst-b.tokens)/rate*1e9)
	sh.mu.Unlock()
	return true, 0
}

// find returns h's bucket in its window, or else the slot to put it in: an
// empty or refilled one, else the least recently used.
func (l *MemLimiter) find(sh *limiterShard, h uint64, now int64) *bucket {
	base := (h / limiterShards) & l.mask
	var victim *bucket
	for i := uint64(0); i < limiterWindow; i++ {
		b := &sh.slots[(base+i)&l.mask]
		if b.h == h {
			return b
		}
		switch {
		case b.h == 0 || b.fullAt <= now:
			if victim == nil || victim.h != 0 && victim.fullAt > now {
				victim = b
			}
		case victim == nil || victim.h != 0 && victim.fullAt > now && b.last < victim.last:
			victim = b
		}
	}
	return victim
}

// Len is the number of buckets not yet refilled at instant at, for tests
// and gauges.
func (l *MemLimiter) Len(at time.Time) int {
	n := 0
	now := int64(at.Sub(l.epoch))
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for _, b := range sh.slots {
			if b.h != 0 && b.fullAt > now {
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// rateLimitError is a rate_limited error with the time to wait.
type rateLimitError struct{ retryAfter time.Duration }

func (e *rateLimitError) Error() string {
	return "too many requests; retry after " + e.retryAfter.Round(time.Millisecond).String()
}
func (e *rateLimitError) Unwrap() error { return errRateLimited }

// retryAfterSeconds is the Retry-After header value: whole seconds, at least 1.
func (e *rateLimitError) retryAfterSeconds() int {
	return max(int(math.Ceil(e.retryAfter.Seconds())), 1)
}
