package perf

import (
	"sync"
	"time"
)

// Indexes of testRoutes, as the HTTP layer's route numbers.
const (
	testUnmatched = iota
	testCreateShow
	testGetShow
	testCreateHold
	testGetHold
	testCreateOrder
	testPayOrder
	testPerf
	numTestRoutes
)

// testRoutes is a route table like edge's.
var testRoutes = []Route{
	testUnmatched:   {"other", "unmatched"},
	testCreateShow:  {"POST", "/v1/shows"},
	testGetShow:     {"GET", "/v1/shows/{show}"},
	testCreateHold:  {"POST", "/v1/shows/{show}/holds"},
	testGetHold:     {"GET", "/v1/shows/{show}/holds/{hold}"},
	testCreateOrder: {"POST", "/v1/orders"},
	testPayOrder:    {"POST", "/v1/orders/{order}/pay"},
	testPerf:        {"GET", "/v1/admin/perf"},
}

// testClock is a settable clock for the monitor.
type testClock struct {
	mu sync.Mutex // protects t
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// testBackend is a Backend whose Status is fixed and whose Gauges answer
// from a field.
type testBackend struct {
	gauges map[string]float64
}

func (b *testBackend) Status() (bool, map[string]string) {
	return true, map[string]string{"actors": "ok", "relay": "degraded"}
}

func (b *testBackend) Gauges() map[string]float64 { return b.gauges }

// testCounters is a Source whose counters the test advances.
type testCounters struct {
	mu   sync.Mutex // protects vals
	vals map[string]float64
}

func (p *testCounters) PerfStats() map[string]float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]float64, len(p.vals))
	for k, v := range p.vals {
		out[k] = v
	}
	return out
}

func (p *testCounters) add(k string, v float64) {
	p.mu.Lock()
	p.vals[k] += v
	p.mu.Unlock()
}
