package redis

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// latencyWindow is how many recent Apply round trips the percentiles cover.
const latencyWindow = 4096

// metrics are the client's counters and a window of Apply latencies.
type metrics struct {
	applies, applyErrors, fenced, gaps, reloads atomic.Int64
	scanRetries                                 atomic.Int64 // timed-out chunks of rows asked for again
	scanRepeats                                 atomic.Int64 // counted scans of rows that returned other than the hash's length
	scanParted                                  atomic.Int64 // scans of rows run in parts at once (big hashes)
	bucketsRead                                 atomic.Int64 // buckets of rows read whole (HGETALL)
	allowGranted, allowDenied, allowErrors      atomic.Int64

	mu   sync.Mutex // protects following fields
	lat  [latencyWindow]int64
	next int // next slot in lat
	n    int // filled slots
}

func (m *metrics) observe(d time.Duration) {
	m.mu.Lock()
	m.lat[m.next] = d.Microseconds()
	m.next = (m.next + 1) % latencyWindow
	m.n = min(m.n+1, latencyWindow)
	m.mu.Unlock()
}

// percentiles returns p50 and p99 of the window (0 when empty).
func (m *metrics) percentiles() (p50, p99 int64) {
	m.mu.Lock()
	s := slices.Clone(m.lat[:m.n])
	m.mu.Unlock()
	if len(s) == 0 {
		return 0, 0
	}
	slices.Sort(s)
	at := func(q float64) int64 { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.99)
}

// Metrics returns counters since Open and Apply latency percentiles over the
// last 4096 Apply calls (one call = one round trip per node):
//
//	applies, apply_errors, fenced, gaps    checkpoints
//	script_reloads                         NOSCRIPT recoveries
//	scan_retries                           chunks of state rows asked for again after a timeout
//	apply_latency_p50_micros, apply_latency_p99_micros
//	allow_granted, allow_denied, allow_errors
//	healthy                                1 or 0
func (c *Client) Metrics() map[string]float64 {
	p50, p99 := c.met.percentiles()
	healthy := 0.0
	if c.Healthy() {
		healthy = 1
	}
	return map[string]float64{
		"applies":                  float64(c.met.applies.Load()),
		"apply_errors":             float64(c.met.applyErrors.Load()),
		"fenced":                   float64(c.met.fenced.Load()),
		"gaps":                     float64(c.met.gaps.Load()),
		"script_reloads":           float64(c.met.reloads.Load()),
		"scan_retries":             float64(c.met.scanRetries.Load()),
		"scan_repeats":             float64(c.met.scanRepeats.Load()),
		"scan_parted":              float64(c.met.scanParted.Load()),
		"buckets_read":             float64(c.met.bucketsRead.Load()),
		"apply_latency_p50_micros": float64(p50),
		"apply_latency_p99_micros": float64(p99),
		"allow_granted":            float64(c.met.allowGranted.Load()),
		"allow_denied":             float64(c.met.allowDenied.Load()),
		"allow_errors":             float64(c.met.allowErrors.Load()),
		"healthy":                  healthy,
	}
}
