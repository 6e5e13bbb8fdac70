package perf

import (
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Monitor. The zero value is usable.
type Options struct {
	// Source supplies actor and store figures. When nil, the Backend the
	// monitor is attached to is used: its PerfStats when it is a Source,
	// else BackendSource of it.
	Source Source
}

// Ring geometry: 10-second slots, enough of them for 15 minutes plus the
// slot in progress.
const (
	slotNanos = int64(10 * time.Second)
	ringSlots = 91
)

// windows are the reported windows; window n slots covers the slot in
// progress and the n before it, so between n×10 s and (n+1)×10 s (less
// when the monitor is younger).
var windows = [...]struct {
	name  string
	slots int
}{{"1m", 6}, {"5m", 30}, {"15m", 90}}

// periodOf is the 10-second period t falls in.
func periodOf(t time.Time) int64 { return t.UnixNano() / slotNanos }

// Monitor measures the server; see the package doc. It is safe for
// concurrent use. Make one with New, hand it to the HTTP layer (which calls
// Attach, Observe and ObserveBackend), and Close it when the server has
// stopped.
type Monitor struct {
	now   func() time.Time
	start time.Time

	routes       atomic.Pointer[routeTable] // set by the first Attach
	requestNanos atomic.Int64               // Σ handler time of every request observed
	backendNanos atomic.Int64               // Σ time in Backend calls reported to ObserveBackend

	rt runtimeReader // runtime/metrics reader, used under mu

	mu        sync.Mutex // protects following fields
	src       Source
	backend   Backend // for Status in writeMetrics; nil until Attach
	first     sample
	samples   [ringSlots]sample
	stop      chan struct{} // closed by Close
	stopped   chan struct{} // closed when the sampler returns
	closeOnce sync.Once
}

// New returns a monitor and starts its sampler goroutine.
func New(opt Options) *Monitor {
	m := newMonitor(opt, time.Now)
	go m.sampleLoop()
	return m
}

// newMonitor returns a monitor on the clock now, without a sampler
// goroutine (tests call sampleAt themselves).
func newMonitor(opt Options, now func() time.Time) *Monitor {
	m := &Monitor{now: now, src: opt.Source, stop: make(chan struct{}), stopped: make(chan struct{})}
	m.rt.init()
	m.start = now()
	m.mu.Lock()
	m.first = m.takeSampleLocked(m.start)
	m.samples[periodOf(m.start)%ringSlots] = m.first
	m.mu.Unlock()
	return m
}

// Close stops the sampler goroutine; the monitor keeps answering with the
// samples it has. Safe to call more than once.
func (m *Monitor) Close() {
	if m == nil {
		return
	}
	m.closeOnce.Do(func() {
		close(m.stop)
		select {
		case <-m.stopped:
		case <-time.After(time.Second):
		}
	})
}

// sampleLoop takes a sample at the start of every 10-second period.
func (m *Monitor) sampleLoop() {
	defer close(m.stopped)
	for {
		now := m.now()
		next := time.Unix(0, (periodOf(now)+1)*slotNanos)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-m.stop:
			t.Stop()
			return
		case <-t.C:
		}
		m.sampleAt(m.now())
	}
}

// sampleAt records the cumulative counters at t in the ring.
func (m *Monitor) sampleAt(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples[periodOf(t)%ringSlots] = m.takeSampleLocked(t)
}

// Route names one endpoint of the HTTP layer: the labels of its figures.
type Route struct {
	Method  string // "GET", "POST", ...; "other" for unmatched requests
	Pattern string // "/v1/shows/{show}"
}

// Attach readies m for the HTTP server that will call Observe. routes are
// the endpoints Observe's route numbers index: the first Attach's table is
// kept, later calls must pass the same one. b is the booking core: kept for
// Status on /metrics and, when Options.Source is nil, made the Source (its
// PerfStats when it is a Source, else BackendSource of it). Call it before
// the server serves. A nil monitor does nothing; a nil b sets only routes.
func (m *Monitor) Attach(routes []Route, b Backend) {
	if m == nil {
		return
	}
	m.routes.CompareAndSwap(nil, newRouteTable(routes))
	if b == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.backend = b
	if m.src == nil {
		if ps, ok := b.(Source); ok {
			m.src = ps
		} else {
			m.src = BackendSource(b)
		}
		// the first sample had no source: take its figures now, so the
		// windows' counter deltas start from here and not from zero
		m.first.stats = safeStats(m.src)
		for i := range m.samples {
			if m.samples[i].period != 0 {
				m.samples[i].stats = m.first.stats
			}
		}
	}
}

// Observe records one request of route (an index of Attach's routes) that
// ended at end after d with status. Requests of a route outside the table
// count only in the http component. A nil monitor does nothing.
func (m *Monitor) Observe(route int, status int, end time.Time, d time.Duration) {
	if m == nil {
		return
	}
	if d < 0 {
		d = 0
	}
	m.requestNanos.Add(int64(d))
	if t := m.routes.Load(); t != nil && route >= 0 && route < len(t.rings) {
		t.rings[route].observe(periodOf(end), status, d)
	}
}

// ObserveBackend records d spent in one call of the Backend: the http
// component is handler time minus this. A nil monitor does nothing.
func (m *Monitor) ObserveBackend(d time.Duration) {
	if m == nil {
		return
	}
	m.backendNanos.Add(int64(d))
}
