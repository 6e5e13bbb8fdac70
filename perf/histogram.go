package perf

import (
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Histogram layout (sim's, with coarser buckets to keep a ring small):
// values below 2^subBits µs are exact; above, each power-of-two range is
// split into 2^(subBits-1) buckets, so a bucket is at most 3.1% of its
// values wide. Values from 2^maxBits µs (71 min) are clamped.
const (
	subBits       = 6
	maxBits       = 32
	linearBuckets = 1 << subBits
	halfBuckets   = 1 << (subBits - 1)
	numBuckets    = linearBuckets + (maxBits-subBits)*halfBuckets
	maxValue      = int64(1)<<maxBits - 1
)

// bucketOf is the bucket of value v (µs, 0..maxValue).
func bucketOf(v int64) int {
	if v < linearBuckets {
		return int(v)
	}
	k := bits.Len64(uint64(v)) - 1
	shift := k - subBits + 1
	return linearBuckets + (k-subBits)*halfBuckets + int((v-int64(1)<<k)>>shift)
}

// bucketTop is the highest value of bucket i.
func bucketTop(i int) int64 {
	if i < linearBuckets {
		return int64(i)
	}
	j := i - linearBuckets
	k := j/halfBuckets + subBits
	shift := k - subBits + 1
	return int64(1)<<k + int64(j%halfBuckets)<<shift + int64(1)<<shift - 1
}

// routeTable is the endpoints Attach named, with one ring each.
type routeTable struct {
	names []Route
	rings []routeRing
}

func newRouteTable(routes []Route) *routeTable {
	return &routeTable{names: slices.Clone(routes), rings: make([]routeRing, len(routes))}
}

// routeRing is one route's ring: slot p%ringSlots counts period p.
type routeRing struct {
	mu    sync.Mutex // serializes slot resets; observers take no lock
	slots [ringSlots]slot
}

// slot counts one route's requests of one 10-second period. Every
// field is atomic; buckets is set before period first names this slot's
// period, and never unset.
type slot struct {
	period       atomic.Int64
	count        atomic.Uint64
	serverErrors atomic.Uint64 // answers >= 500 (none: a handler always answers)
	sumMicros    atomic.Uint64
	maxMicros    atomic.Uint64
	buckets      atomic.Pointer[[numBuckets]atomic.Uint32]
}

func (r *routeRing) observe(p int64, status int, d time.Duration) {
	s := &r.slots[p%ringSlots]
	if s.period.Load() != p && !r.claim(s, p) {
		return
	}
	us := min(d.Microseconds(), maxValue)
	s.buckets.Load()[bucketOf(us)].Add(1)
	s.sumMicros.Add(uint64(us))
	for {
		cur := s.maxMicros.Load()
		if uint64(us) <= cur || s.maxMicros.CompareAndSwap(cur, uint64(us)) {
			break
		}
	}
	if status >= 500 {
		s.serverErrors.Add(1)
	}
	s.count.Add(1)
}

// claim resets slot s for period p; false when s already counts a later
// period (the observation is over 15 minutes late and is dropped).
func (r *routeRing) claim(s *slot, p int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch cur := s.period.Load(); {
	case cur == p:
		return true
	case cur > p:
		return false
	}
	b := s.buckets.Load()
	if b == nil {
		b = new([numBuckets]atomic.Uint32)
		s.buckets.Store(b)
	} else {
		for i := range b {
			b[i].Store(0)
		}
	}
	s.count.Store(0)
	s.serverErrors.Store(0)
	s.sumMicros.Store(0)
	s.maxMicros.Store(0)
	s.period.Store(p)
	return true
}

// hist is a plain (single-goroutine) merge of slots.
type hist struct {
	counts       [numBuckets]uint64
	count        uint64
	serverErrors uint64
	sumMicros    uint64
	maxMicros    int64
}

func (h *hist) add(s *slot, p int64) {
	b := s.buckets.Load()
	if s.period.Load() != p || b == nil {
		return
	}
	for i := range b {
		h.counts[i] += uint64(b[i].Load())
	}
	h.count += s.count.Load()
	h.serverErrors += s.serverErrors.Load()
	h.sumMicros += s.sumMicros.Load()
	h.maxMicros = max(h.maxMicros, int64(s.maxMicros.Load()))
}

// quantile is the top of the bucket holding the ceil(q×count)-th value,
// capped by the exact maximum: never below the true value, at most one
// bucket (3.1%) above it. 0 when empty.
func (h *hist) quantile(q float64) int64 {
	var n uint64
	for _, c := range h.counts {
		n += c
	}
	if n == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(n))), 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketTop(i), h.maxMicros)
		}
	}
	return h.maxMicros
}

// RouteStats is one route's figures over a window.
type RouteStats struct {
	Method        string  `json:"method"`
	Route         string  `json:"route"`
	Count         uint64  `json:"count"`
	RatePerSecond float64 `json:"rate_per_second"`
	ServerErrors  uint64  `json:"server_errors"`
	MeanMicros    float64 `json:"mean_micros"`
	P50Micros     int64   `json:"p50_micros"`
	P90Micros     int64   `json:"p90_micros"`
	P99Micros     int64   `json:"p99_micros"`
	MaxMicros     int64   `json:"max_micros"`
}

// routeWindows merges route r's slots from period p backwards and returns
// its figures for each of windows (seconds[i] long).
func (t *routeTable) routeWindows(r int, p int64, seconds []float64) [len(windows)]RouteStats {
	var out [len(windows)]RouteStats
	var h hist
	w := 0
	for k := 0; k <= windows[len(windows)-1].slots; k++ {
		h.add(&t.rings[r].slots[(p-int64(k))%ringSlots], p-int64(k))
		for w < len(windows) && windows[w].slots == k {
			out[w] = h.stats(t.names[r], seconds[w])
			w++
		}
	}
	return out
}

func (h *hist) stats(r Route, seconds float64) RouteStats {
	s := RouteStats{Method: r.Method, Route: r.Pattern, Count: h.count, ServerErrors: h.serverErrors,
		P50Micros: h.quantile(0.5), P90Micros: h.quantile(0.9), P99Micros: h.quantile(0.99), MaxMicros: h.maxMicros}
	if h.count > 0 {
		s.MeanMicros = float64(h.sumMicros) / float64(h.count)
	}
	if seconds > 0 {
		s.RatePerSecond = float64(h.count) / seconds
	}
	return s
}
