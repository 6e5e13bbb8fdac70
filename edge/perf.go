package edge

// The performance monitor: GET /v1/admin/perf (admin token) and the perf
// families of /metrics.
//
// Per route it keeps a ring of 10-second log-linear latency histograms (the
// layout of sim's Histogram, copied: edge must not import sim), so it can
// answer throughput and p50/p90/p99/max over the last 1, 5 and 15 minutes.
// Every 10 s a sampler goroutine also records the cumulative counters the
// windows are differences of: process CPU, GC CPU and pauses, scheduler
// latency, time spent in handlers and in Backend calls, and the PerfSource's
// actor and store counters. From those it names the bottleneck of each
// window: the component whose lanes were busiest (see perfDefinitions).
//
// The monitor is wired into a Server by Options.Perf: New wraps the Backend
// (attach) to time its calls, finish calls observe for every request,
// dispatch sends /v1/admin/perf to servePerf, and /metrics calls writeMetrics.
// Every one of those methods accepts a nil *PerfMonitor and then does nothing
// (servePerf answers 404).

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"math/bits"
	"runtime"
	rtmetrics "runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// PerfSource supplies the booking core's figures to the monitor, by name.
//
// Keys are "actor.<kind>.<name>" (per actor kind: "shard", "relay", ...) and
// "store.<store>.<name>" (pass-through of a store's metrics: "pebble",
// "redis", "rocketmq"). A name ending in "_total" is a cumulative counter
// (never decreasing): the monitor reports its rate per second over each
// window. Any other name is an instantaneous value, reported as it is. The
// keys the bottleneck analysis reads are the PerfKey constants; all others
// are optional and passed through.
//
// PerfStats is called every 10 s from the monitor's sampler goroutine and on
// every /v1/admin/perf or /metrics request, possibly concurrently: it must be
// safe for concurrent use, return quickly (no IO) and return a map the
// caller may keep.
type PerfSource interface {
	PerfStats() map[string]float64
}

// Keys of PerfStats that the bottleneck analysis reads.
const (
	// PerfKeyApplySeconds: seconds shard actors spent applying commands to
	// their seat maps (summed over shards).
	PerfKeyApplySeconds = "actor.shard.apply_seconds_total"
	// PerfKeyJournalSeconds: seconds spent in Journal.Append, i.e. writing and
	// syncing batches (summed over shards; Stats.JournalMicros / 1e6).
	PerfKeyJournalSeconds = "actor.shard.journal_seconds_total"
	// PerfKeyRedisSeconds: seconds spent waiting on Redis round trips (summed
	// over callers).
	PerfKeyRedisSeconds = "store.redis.seconds_total"
	// PerfKeyShards: shard actors alive on this node now: the lanes of the
	// three components above (each shard applies, journals and checkpoints
	// one batch at a time).
	PerfKeyShards = "actor.shard.active"
)

// PerfFunc adapts a function to PerfSource.
type PerfFunc func() map[string]float64

// PerfStats calls f.
func (f PerfFunc) PerfStats() map[string]float64 { return f() }

// StorePerf returns a PerfSource that names every value of values()
// "store.<name>.<key>", e.g. StorePerf("pebble", store.Metrics).
func StorePerf(name string, values func() map[string]float64) PerfSource {
	return PerfFunc(func() map[string]float64 {
		in := values()
		out := make(map[string]float64, len(in))
		for k, v := range in {
			out["store."+name+"."+k] = v
		}
		return out
	})
}

// MergePerf returns a PerfSource with the values of all sources; on equal
// keys the later source wins. Nil sources are skipped.
func MergePerf(sources ...PerfSource) PerfSource {
	return PerfFunc(func() map[string]float64 {
		out := map[string]float64{}
		for _, s := range sources {
			if s == nil {
				continue
			}
			for k, v := range s.PerfStats() {
				out[k] = v
			}
		}
		return out
	})
}

// backendPerfKeys maps Backend.Gauges names to PerfSource keys.
var backendPerfKeys = map[string]string{
	"commands_total":        "actor.shard.commands_total",
	"journal_batches_total": "actor.shard.journal_batches_total",
	"journal_records_total": "actor.shard.journal_records_total",
	"journal_errors_total":  "actor.shard.journal_errors_total",
	"journal_seconds_total": PerfKeyJournalSeconds,
	"shards_active":         PerfKeyShards,
	"mailbox_depth":         "actor.shard.mailbox_depth",
	"holds_active":          "actor.shard.holds_active",
}

// BackendPerf is the PerfSource of a Backend that is not one itself: the
// actor figures its Gauges already report (commands, journal batches and
// seconds, shards), renamed to PerfSource keys.
func BackendPerf(b Backend) PerfSource {
	return PerfFunc(func() map[string]float64 {
		g := b.Gauges()
		out := make(map[string]float64, len(backendPerfKeys))
		for from, to := range backendPerfKeys {
			if v, ok := g[from]; ok {
				out[to] = v
			}
		}
		return out
	})
}

// PerfOptions configure a PerfMonitor. The zero value is usable.
type PerfOptions struct {
	// Source supplies actor and store figures. When nil, the Backend the
	// monitor is attached to is used: its PerfStats when it is a PerfSource,
	// else BackendPerf of it.
	Source PerfSource
}

// Ring geometry: 10-second slots, enough of them for 15 minutes plus the
// slot in progress.
const (
	perfSlotNanos = int64(10 * time.Second)
	perfRingSlots = 91
)

// perfWindows are the reported windows; window n slots covers the slot in
// progress and the n before it, so between n×10 s and (n+1)×10 s (less
// when the monitor is younger).
var perfWindows = [...]struct {
	name  string
	slots int
}{{"1m", 6}, {"5m", 30}, {"15m", 90}}

// perfPeriod is the 10-second period t falls in.
func perfPeriod(t time.Time) int64 { return t.UnixNano() / perfSlotNanos }

// PerfMonitor measures the server; see perf.go's header. It is safe for
// concurrent use. Make one with NewPerfMonitor, set it as Options.Perf, and
// Close it when the server has stopped.
type PerfMonitor struct {
	now   func() time.Time
	start time.Time

	routes       [numRoutes]perfRoute
	requestNanos atomic.Int64 // Σ handler time of every request observed
	backendNanos atomic.Int64 // Σ time in Backend calls made through attach's wrapper

	rt perfRuntime // runtime/metrics reader, used under mu

	mu        sync.Mutex // protects following fields
	src       PerfSource
	backend   Backend // for Status in writeMetrics; nil until attach
	first     perfSample
	samples   [perfRingSlots]perfSample
	stop      chan struct{} // closed by Close
	stopped   chan struct{} // closed when the sampler returns
	closeOnce sync.Once
}

// NewPerfMonitor returns a monitor and starts its sampler goroutine.
func NewPerfMonitor(opt PerfOptions) *PerfMonitor {
	m := newPerfMonitor(opt, time.Now)
	go m.sampleLoop()
	return m
}

// newPerfMonitor returns a monitor on the clock now, without a sampler
// goroutine (tests call sampleAt themselves).
func newPerfMonitor(opt PerfOptions, now func() time.Time) *PerfMonitor {
	m := &PerfMonitor{now: now, src: opt.Source, stop: make(chan struct{}), stopped: make(chan struct{})}
	m.rt.init()
	m.start = now()
	m.mu.Lock()
	m.first = m.takeSampleLocked(m.start)
	m.samples[perfPeriod(m.start)%perfRingSlots] = m.first
	m.mu.Unlock()
	return m
}

// Close stops the sampler goroutine; the monitor keeps answering with the
// samples it has. Safe to call more than once.
func (m *PerfMonitor) Close() {
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
func (m *PerfMonitor) sampleLoop() {
	defer close(m.stopped)
	for {
		now := m.now()
		next := time.Unix(0, (perfPeriod(now)+1)*perfSlotNanos)
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
func (m *PerfMonitor) sampleAt(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples[perfPeriod(t)%perfRingSlots] = m.takeSampleLocked(t)
}

// attach makes b's figures the default source, keeps b for Status, and
// returns b wrapped so that the time spent in its calls is measured. A nil
// monitor returns b.
func (m *PerfMonitor) attach(b Backend) Backend {
	if m == nil || b == nil {
		return b
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.backend = b
	if m.src == nil {
		if ps, ok := b.(PerfSource); ok {
			m.src = ps
		} else {
			m.src = BackendPerf(b)
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
	return &perfBackend{b: b, m: m}
}

// observe records one request of route r that ended at end after d.
func (m *PerfMonitor) observe(r routeID, status int, end time.Time, d time.Duration) {
	if m == nil {
		return
	}
	if d < 0 {
		d = 0
	}
	m.requestNanos.Add(int64(d))
	m.routes[r].observe(perfPeriod(end), status, d)
}

// --- per-route rings of histograms ---

// Histogram layout (sim's, with coarser buckets to keep a ring small):
// values below 2^perfSubBits µs are exact; above, each power-of-two range is
// split into 2^(perfSubBits-1) buckets, so a bucket is at most 3.1% of its
// values wide. Values from 2^perfMaxBits µs (71 min) are clamped.
const (
	perfSubBits  = 6
	perfMaxBits  = 32
	perfLinear   = 1 << perfSubBits
	perfHalf     = 1 << (perfSubBits - 1)
	perfBuckets  = perfLinear + (perfMaxBits-perfSubBits)*perfHalf
	perfMaxValue = int64(1)<<perfMaxBits - 1
)

func perfBucketOf(v int64) int {
	if v < perfLinear {
		return int(v)
	}
	k := bits.Len64(uint64(v)) - 1
	shift := k - perfSubBits + 1
	return perfLinear + (k-perfSubBits)*perfHalf + int((v-int64(1)<<k)>>shift)
}

// perfBucketTop is the highest value of bucket i.
func perfBucketTop(i int) int64 {
	if i < perfLinear {
		return int64(i)
	}
	j := i - perfLinear
	k := j/perfHalf + perfSubBits
	shift := k - perfSubBits + 1
	return int64(1)<<k + int64(j%perfHalf)<<shift + int64(1)<<shift - 1
}

// perfRoute is one route's ring: slot p%perfRingSlots counts period p.
type perfRoute struct {
	mu    sync.Mutex // serializes slot resets; observers take no lock
	slots [perfRingSlots]perfSlot
}

// perfSlot counts one route's requests of one 10-second period. Every
// field is atomic; buckets is set before period first names this slot's
// period, and never unset.
type perfSlot struct {
	period       atomic.Int64
	count        atomic.Uint64
	serverErrors atomic.Uint64 // answers >= 500 (none: a handler always answers)
	sumMicros    atomic.Uint64
	maxMicros    atomic.Uint64
	buckets      atomic.Pointer[[perfBuckets]atomic.Uint32]
}

func (r *perfRoute) observe(p int64, status int, d time.Duration) {
	s := &r.slots[p%perfRingSlots]
	if s.period.Load() != p && !r.claim(s, p) {
		return
	}
	us := min(d.Microseconds(), perfMaxValue)
	s.buckets.Load()[perfBucketOf(us)].Add(1)
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
func (r *perfRoute) claim(s *perfSlot, p int64) bool {
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
		b = new([perfBuckets]atomic.Uint32)
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

// perfHist is a plain (single-goroutine) merge of slots.
type perfHist struct {
	counts       [perfBuckets]uint64
	count        uint64
	serverErrors uint64
	sumMicros    uint64
	maxMicros    int64
}

func (h *perfHist) add(s *perfSlot, p int64) {
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
func (h *perfHist) quantile(q float64) int64 {
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
			return min(perfBucketTop(i), h.maxMicros)
		}
	}
	return h.maxMicros
}

// PerfRoute is one route's figures over a window.
type PerfRoute struct {
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
// its figures for each of perfWindows (seconds[i] long).
func (m *PerfMonitor) routeWindows(r routeID, p int64, seconds []float64) [len(perfWindows)]PerfRoute {
	var out [len(perfWindows)]PerfRoute
	var h perfHist
	w := 0
	for k := 0; k <= perfWindows[len(perfWindows)-1].slots; k++ {
		h.add(&m.routes[r].slots[(p-int64(k))%perfRingSlots], p-int64(k))
		for w < len(perfWindows) && perfWindows[w].slots == k {
			out[w] = h.stats(r, seconds[w])
			w++
		}
	}
	return out
}

func (h *perfHist) stats(r routeID, seconds float64) PerfRoute {
	s := PerfRoute{Method: routes[r].method, Route: routes[r].pattern, Count: h.count, ServerErrors: h.serverErrors,
		P50Micros: h.quantile(0.5), P90Micros: h.quantile(0.9), P99Micros: h.quantile(0.99), MaxMicros: h.maxMicros}
	if h.count > 0 {
		s.MeanMicros = float64(h.sumMicros) / float64(h.count)
	}
	if seconds > 0 {
		s.RatePerSecond = float64(h.count) / seconds
	}
	return s
}

// --- samples of cumulative counters ---

// perfSample is the cumulative counters at one instant.
type perfSample struct {
	period       int64 // perfPeriod(at); 0: no sample
	at           time.Time
	requestNanos int64
	backendNanos int64
	cpuSeconds   float64 // user + system CPU of the process
	rt           perfRuntimeValues
	stats        map[string]float64
}

// takeSampleLocked reads every counter now; m.mu is held.
func (m *PerfMonitor) takeSampleLocked(t time.Time) perfSample {
	s := perfSample{period: perfPeriod(t), at: t, requestNanos: m.requestNanos.Load(),
		backendNanos: m.backendNanos.Load(), cpuSeconds: processCPUSeconds()}
	s.rt = m.rt.read()
	s.stats = safeStats(m.src)
	return s
}

// baseLocked returns the sample a window starting at period from is
// measured against: the earliest sample taken in or after that period (the
// sampler takes one as each period starts), else the latest one, else the
// monitor's first. m.mu is held.
func (m *PerfMonitor) baseLocked(from int64) perfSample {
	var best, latest perfSample
	for i := range m.samples {
		s := m.samples[i]
		if s.period == 0 {
			continue
		}
		if latest.period == 0 || s.at.After(latest.at) {
			latest = s
		}
		if s.period >= from && (best.period == 0 || s.at.Before(best.at)) {
			best = s
		}
	}
	switch {
	case best.period != 0:
		return best
	case latest.period != 0:
		return latest
	}
	return m.first
}

// safeStats calls src (nil: no figures) and drops NaN and infinite values.
func safeStats(src PerfSource) map[string]float64 {
	if src == nil {
		return map[string]float64{}
	}
	in := src.PerfStats()
	out := make(map[string]float64, len(in))
	for k, v := range in {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}

// processCPUSeconds is the process's user + system CPU time.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// perfRuntime reads runtime/metrics. Not safe for concurrent use.
type perfRuntime struct {
	samples []rtmetrics.Sample
}

// Indexes of perfRuntime.samples.
const (
	rtHeapObjects = iota
	rtHeapGoal
	rtMemTotal
	rtGoroutines
	rtGCCycles
	rtGCCPU
	rtGCIdleCPU
	rtGCPauses
	rtSchedLatency
	rtCount
)

var rtNames = [rtCount]string{
	rtHeapObjects:  "/memory/classes/heap/objects:bytes",
	rtHeapGoal:     "/gc/heap/goal:bytes",
	rtMemTotal:     "/memory/classes/total:bytes",
	rtGoroutines:   "/sched/goroutines:goroutines",
	rtGCCycles:     "/gc/cycles/total:gc-cycles",
	rtGCCPU:        "/cpu/classes/gc/total:cpu-seconds",
	rtGCIdleCPU:    "/cpu/classes/gc/mark/idle:cpu-seconds",
	rtGCPauses:     "/sched/pauses/total/gc:seconds",
	rtSchedLatency: "/sched/latencies:seconds",
}

func (r *perfRuntime) init() {
	r.samples = make([]rtmetrics.Sample, rtCount)
	for i, n := range rtNames {
		r.samples[i].Name = n
	}
}

// perfRuntimeValues are the runtime's figures at one instant; histograms
// are cumulative counts over shared, immutable bucket bounds.
type perfRuntimeValues struct {
	heapObjects, heapGoal, memTotal, goroutines, gcCycles uint64
	gcCPU, gcIdleCPU                                      float64
	gcPauses, schedLatency                                perfFloatHist
}

type perfFloatHist struct {
	counts  []uint64
	buckets []float64 // len(counts)+1 bounds, seconds
}

func (r *perfRuntime) read() perfRuntimeValues {
	rtmetrics.Read(r.samples)
	u := func(i int) uint64 {
		if v := r.samples[i].Value; v.Kind() == rtmetrics.KindUint64 {
			return v.Uint64()
		}
		return 0
	}
	f := func(i int) float64 {
		if v := r.samples[i].Value; v.Kind() == rtmetrics.KindFloat64 {
			return v.Float64()
		}
		return 0
	}
	h := func(i int) perfFloatHist {
		if v := r.samples[i].Value; v.Kind() == rtmetrics.KindFloat64Histogram {
			fh := v.Float64Histogram()
			return perfFloatHist{counts: slices.Clone(fh.Counts), buckets: fh.Buckets}
		}
		return perfFloatHist{}
	}
	return perfRuntimeValues{heapObjects: u(rtHeapObjects), heapGoal: u(rtHeapGoal), memTotal: u(rtMemTotal),
		goroutines: u(rtGoroutines), gcCycles: u(rtGCCycles), gcCPU: f(rtGCCPU), gcIdleCPU: f(rtGCIdleCPU),
		gcPauses: h(rtGCPauses), schedLatency: h(rtSchedLatency)}
}

// PerfDist summarizes a runtime histogram over a window: quantiles and max
// are bucket upper bounds (the runtime's buckets are coarse: a quantile may
// be up to its bucket's width above the true value).
type PerfDist struct {
	Count     uint64  `json:"count"`
	P50Micros float64 `json:"p50_micros"`
	P99Micros float64 `json:"p99_micros"`
	MaxMicros float64 `json:"max_micros"`
}

// dist summarizes the counts of cur minus those of base.
func dist(cur, base perfFloatHist) PerfDist {
	if len(cur.counts) == 0 {
		return PerfDist{}
	}
	delta := make([]uint64, len(cur.counts))
	var n uint64
	for i, c := range cur.counts {
		if i < len(base.counts) {
			c -= min(c, base.counts[i])
		}
		delta[i] = c
		n += c
	}
	d := PerfDist{Count: n}
	if n == 0 {
		return d
	}
	top := func(i int) float64 {
		hi := cur.buckets[i+1]
		if math.IsInf(hi, 1) {
			hi = cur.buckets[i]
		}
		return hi * 1e6
	}
	at := func(q float64) float64 {
		rank := max(uint64(math.Ceil(q*float64(n))), 1)
		var seen uint64
		for i, c := range delta {
			seen += c
			if seen >= rank {
				return top(i)
			}
		}
		return 0
	}
	d.P50Micros, d.P99Micros = at(0.5), at(0.99)
	for i := len(delta) - 1; i >= 0; i-- {
		if delta[i] > 0 {
			d.MaxMicros = top(i)
			break
		}
	}
	return d
}

// --- components and the bottleneck ---

// PerfComponent is one part of the request path over a window.
type PerfComponent struct {
	Name        string  `json:"name"`
	BusySeconds float64 `json:"busy_seconds"`
	Share       float64 `json:"share"`       // busy_seconds / window seconds: how many were busy at once, on average
	Lanes       float64 `json:"lanes"`       // how many can be busy at once
	Utilization float64 `json:"utilization"` // share / lanes; at or above 1 work queues for the component
	MeasuredBy  string  `json:"measured_by"`
}

// PerfBottleneck names the component with the highest utilization.
type PerfBottleneck struct {
	Component   string  `json:"component"` // "none" when nothing was busy
	Utilization float64 `json:"utilization"`
	Share       float64 `json:"share"`
	Explanation string  `json:"explanation"`
}

// perfDefinitions explain the analysis in every answer.
var perfDefinitions = map[string]string{
	"share":        "busy seconds of a component in the window divided by the window's seconds: the average number of goroutines/shards busy in it at once (components overlap: a request waiting on the journal is not busy in http)",
	"lanes":        "how many can be busy in the component at once: GOMAXPROCS for CPU work done anywhere (http, gc), min(shards, GOMAXPROCS) for actor_apply (one turn per shard at a time, on a CPU), shards for journal_sync and redis (each shard writes one batch at a time)",
	"utilization":  "share / lanes; near or above 1 the component is saturated and work queues in front of it",
	"bottleneck":   "the component with the highest utilization over the window (ties: the first listed); \"none\" when no component was busy at all",
	"http":         "time inside the edge's request handlers minus time inside Backend calls: routing, parsing, validation, rate limiting, JSON encoding (and waiting for a CPU while doing so)",
	"actor_apply":  "actor.shard.apply_seconds_total from the PerfSource: shards applying commands to their seat maps (absent when the source does not report it)",
	"journal_sync": "actor.shard.journal_seconds_total from the PerfSource: Journal.Append, i.e. writing and syncing one batch per turn",
	"redis":        "store.redis.seconds_total from the PerfSource: Redis round trips (absent without Redis)",
	"gc":           "GC CPU time from runtime/metrics (/cpu/classes/gc/total minus the idle-time mark workers, which use otherwise idle CPUs)",
}

// perfDelta is what happened between two samples.
type perfDelta struct {
	seconds                float64
	requestSec, backendSec float64
	cpuSec, gcCPUSec       float64
	gcCycles               uint64
	gcPauses, schedLatency PerfDist
	counters               map[string]float64 // Δ of every "_total" key present in both samples
	latest                 map[string]float64 // the current stats
	procs                  int
}

func deltaOf(cur, base perfSample, procs int) perfDelta {
	d := perfDelta{seconds: cur.at.Sub(base.at).Seconds(), procs: procs,
		requestSec: float64(cur.requestNanos-base.requestNanos) / 1e9,
		backendSec: float64(cur.backendNanos-base.backendNanos) / 1e9,
		cpuSec:     cur.cpuSeconds - base.cpuSeconds,
		gcCPUSec:   (cur.rt.gcCPU - cur.rt.gcIdleCPU) - (base.rt.gcCPU - base.rt.gcIdleCPU),
		gcCycles:   cur.rt.gcCycles - min(cur.rt.gcCycles, base.rt.gcCycles),
		gcPauses:   dist(cur.rt.gcPauses, base.rt.gcPauses), schedLatency: dist(cur.rt.schedLatency, base.rt.schedLatency),
		counters: map[string]float64{}, latest: cur.stats}
	for k, v := range cur.stats {
		if b, ok := base.stats[k]; ok && strings.HasSuffix(k, "_total") {
			d.counters[k] = max(v-b, 0)
		}
	}
	return d
}

// perfComponents returns the components measured in d, in a fixed order.
func perfComponents(d perfDelta) []PerfComponent {
	procs := float64(max(d.procs, 1))
	shards := max(d.latest[PerfKeyShards], 1)
	var out []PerfComponent
	add := func(name string, busy, lanes float64, by string) {
		c := PerfComponent{Name: name, BusySeconds: max(busy, 0), Lanes: lanes, MeasuredBy: by}
		if d.seconds > 0 {
			c.Share = c.BusySeconds / d.seconds
			c.Utilization = c.Share / lanes
		}
		out = append(out, c)
	}
	add("http", d.requestSec-d.backendSec, procs, "edge: handler time - Backend call time")
	if v, ok := d.counters[PerfKeyApplySeconds]; ok {
		add("actor_apply", v, min(shards, procs), PerfKeyApplySeconds)
	}
	if v, ok := d.counters[PerfKeyJournalSeconds]; ok {
		add("journal_sync", v, shards, PerfKeyJournalSeconds)
	}
	if v, ok := d.counters[PerfKeyRedisSeconds]; ok {
		add("redis", v, shards, PerfKeyRedisSeconds)
	}
	add("gc", d.gcCPUSec, procs, "runtime/metrics GC CPU")
	return out
}

// bottleneckOf picks the component with the highest utilization.
func bottleneckOf(cs []PerfComponent, seconds float64) PerfBottleneck {
	best := -1
	for i, c := range cs {
		if c.BusySeconds > 0 && (best < 0 || c.Utilization > cs[best].Utilization) {
			best = i
		}
	}
	if best < 0 {
		return PerfBottleneck{Component: "none", Explanation: "no component was busy in the window"}
	}
	c := cs[best]
	return PerfBottleneck{Component: c.Name, Utilization: c.Utilization, Share: c.Share,
		Explanation: c.Name + " was busy " + strconv.FormatFloat(c.BusySeconds, 'f', 2, 64) + " s over the last " +
			strconv.FormatFloat(seconds, 'f', 0, 64) + " s, " + strconv.FormatFloat(c.Utilization*100, 'f', 0, 64) +
			"% of its " + strconv.FormatFloat(c.Lanes, 'f', 0, 64) + " lane(s): the highest utilization of any component"}
}

// --- the report ---

// PerfReport is the answer of GET /v1/admin/perf.
type PerfReport struct {
	At            time.Time                     `json:"at"`
	UptimeSeconds float64                       `json:"uptime_seconds"` // of the monitor
	GOMAXPROCS    int                           `json:"gomaxprocs"`
	NumCPU        int                           `json:"num_cpu"`
	Process       PerfProcess                   `json:"process"`
	Actors        map[string]map[string]float64 `json:"actors"` // kind -> instantaneous values and counters
	Stores        map[string]map[string]float64 `json:"stores"` // store -> its metrics, passed through
	Windows       map[string]*PerfWindow        `json:"windows"`
	Definitions   map[string]string             `json:"definitions"`
}

// PerfProcess is the process now.
type PerfProcess struct {
	CPUSecondsTotal  float64 `json:"cpu_seconds_total"`
	HeapObjectsBytes uint64  `json:"heap_objects_bytes"`
	HeapGoalBytes    uint64  `json:"heap_goal_bytes"`
	MemoryTotalBytes uint64  `json:"memory_total_bytes"` // everything the Go runtime mapped
	Goroutines       uint64  `json:"goroutines"`
	GCCyclesTotal    uint64  `json:"gc_cycles_total"`
}

// PerfWindow is everything measured over one window.
type PerfWindow struct {
	Seconds    float64                       `json:"seconds"`
	Routes     []PerfRoute                   `json:"routes"` // routes with requests, busiest first
	Actors     map[string]map[string]float64 `json:"actors"` // kind -> "<counter>_per_second" and derived ratios
	Stores     map[string]map[string]float64 `json:"stores"` // store -> "<counter>_per_second"
	Process    PerfProcessWindow             `json:"process"`
	Components []PerfComponent               `json:"components"`
	Bottleneck PerfBottleneck                `json:"bottleneck"`
}

// PerfProcessWindow is the process over a window.
type PerfProcessWindow struct {
	CPUCores       float64  `json:"cpu_cores"`       // CPU seconds per second
	CPUUtilization float64  `json:"cpu_utilization"` // cpu_cores / num_cpu
	GCCPUCores     float64  `json:"gc_cpu_cores"`
	GCCycles       uint64   `json:"gc_cycles"`
	GCPause        PerfDist `json:"gc_pause"`      // stop-the-world pauses
	SchedLatency   PerfDist `json:"sched_latency"` // runnable goroutines waiting for a CPU
}

// Report measures now; it is what GET /v1/admin/perf answers.
func (m *PerfMonitor) Report() *PerfReport { return m.reportAt(m.now()) }

func (m *PerfMonitor) reportAt(now time.Time) *PerfReport {
	procs := runtime.GOMAXPROCS(0)
	p := perfPeriod(now)
	m.mu.Lock()
	cur := m.takeSampleLocked(now)
	var bases [len(perfWindows)]perfSample
	for i, w := range perfWindows {
		bases[i] = m.baseLocked(p - int64(w.slots))
	}
	m.mu.Unlock()
	rep := &PerfReport{At: now.UTC(), UptimeSeconds: now.Sub(m.start).Seconds(), GOMAXPROCS: procs, NumCPU: runtime.NumCPU(),
		Process: PerfProcess{CPUSecondsTotal: cur.cpuSeconds, HeapObjectsBytes: cur.rt.heapObjects, HeapGoalBytes: cur.rt.heapGoal,
			MemoryTotalBytes: cur.rt.memTotal, Goroutines: cur.rt.goroutines, GCCyclesTotal: cur.rt.gcCycles},
		Actors: groupStats(cur.stats, "actor.", ""), Stores: groupStats(cur.stats, "store.", ""),
		Windows: map[string]*PerfWindow{}, Definitions: perfDefinitions}
	seconds := make([]float64, len(perfWindows))
	for i, w := range perfWindows {
		from := time.Unix(0, (p-int64(w.slots))*perfSlotNanos)
		if from.Before(m.start) {
			from = m.start
		}
		seconds[i] = now.Sub(from).Seconds()
	}
	var byRoute [numRoutes][len(perfWindows)]PerfRoute
	for r := range m.routes {
		byRoute[r] = m.routeWindows(routeID(r), p, seconds)
	}
	for i, w := range perfWindows {
		d := deltaOf(cur, bases[i], procs)
		win := &PerfWindow{Seconds: seconds[i], Actors: windowRates(d, "actor."), Stores: windowRates(d, "store."),
			Process: PerfProcessWindow{GCCycles: d.gcCycles, GCPause: d.gcPauses, SchedLatency: d.schedLatency}}
		if d.seconds > 0 {
			win.Process.CPUCores = d.cpuSec / d.seconds
			win.Process.CPUUtilization = win.Process.CPUCores / float64(rep.NumCPU)
			win.Process.GCCPUCores = d.gcCPUSec / d.seconds
		}
		for r := range byRoute {
			if rs := byRoute[r][i]; rs.Count > 0 {
				win.Routes = append(win.Routes, rs)
			}
		}
		slices.SortStableFunc(win.Routes, func(a, b PerfRoute) int { return cmp.Compare(b.Count, a.Count) })
		win.Components = perfComponents(d)
		win.Bottleneck = bottleneckOf(win.Components, d.seconds)
		rep.Windows[w.name] = win
	}
	return rep
}

// groupStats groups the keys "<prefix><group>.<name>" by group; suffix is
// appended to every name.
func groupStats(stats map[string]float64, prefix, suffix string) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for k, v := range stats {
		group, name, ok := splitPerfKey(k, prefix)
		if !ok {
			continue
		}
		if out[group] == nil {
			out[group] = map[string]float64{}
		}
		out[group][name+suffix] = v
	}
	return out
}

// splitPerfKey splits "<prefix><group>.<name>".
func splitPerfKey(k, prefix string) (group, name string, ok bool) {
	rest, found := strings.CutPrefix(k, prefix)
	if !found {
		return "", "", false
	}
	group, name, ok = strings.Cut(rest, ".")
	return group, name, ok && group != "" && name != ""
}

// windowRates turns the counters under prefix into "<name>_per_second"
// (name without "_total"), per group, and adds per-batch ratios for the
// shard kind.
func windowRates(d perfDelta, prefix string) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for k, v := range d.counters {
		group, name, ok := splitPerfKey(k, prefix)
		if !ok || d.seconds <= 0 {
			continue
		}
		if out[group] == nil {
			out[group] = map[string]float64{}
		}
		out[group][strings.TrimSuffix(name, "_total")+"_per_second"] = v / d.seconds
	}
	if prefix == "actor." && out["shard"] != nil {
		if b := d.counters["actor.shard.journal_batches_total"]; b > 0 {
			out["shard"]["commands_per_batch"] = d.counters["actor.shard.commands_total"] / b
			out["shard"]["journal_batch_mean_micros"] = d.counters[PerfKeyJournalSeconds] / b * 1e6
		}
	}
	return out
}

// --- HTTP and Prometheus ---

// servePerf serves GET /v1/admin/perf: 404 when the monitor is off, 401
// without the admin token, else the report as JSON.
func (s *Server) servePerf(ctx *fasthttp.RequestCtx, m *PerfMonitor) {
	if m == nil {
		s.writeError(ctx, edgeError(errNotFound, "the performance monitor is off"))
		return
	}
	if !s.authorized(ctx) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="boxoffice"`)
		s.writeError(ctx, edgeError(errUnauthorized, "an admin bearer token is required"))
		return
	}
	b, err := json.Marshal(m.Report())
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.SetBody(b)
}

// writeMetrics appends the monitor's figures to a /metrics answer:
// windowed rates and quantiles per route, component utilizations and the
// bottleneck, process and runtime figures, the PerfSource's values, and
// readiness per component of the Backend's Status.
func (m *PerfMonitor) writeMetrics(w *writer) {
	if m == nil {
		return
	}
	rep := m.Report()
	fam := func(name, typ, help string) {
		w.raw("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
	}
	line := func(name string, v float64, lbl ...string) {
		w.raw(name)
		if len(lbl) > 0 {
			w.b = append(w.b, '{')
			for i := 0; i+1 < len(lbl); i += 2 {
				if i > 0 {
					w.b = append(w.b, ',')
				}
				w.raw(lbl[i] + `="`)
				w.raw(promEscape(lbl[i+1]))
				w.b = append(w.b, '"')
			}
			w.b = append(w.b, '}')
		}
		w.b = append(w.b, ' ')
		w.b = appendFloat(w.b, v)
		w.b = append(w.b, '\n')
	}
	names := make([]string, 0, len(perfWindows))
	for _, pw := range perfWindows {
		names = append(names, pw.name)
	}
	fam("boxoffice_perf_route_requests_per_second", "gauge", "Requests per second by route over the window.")
	for _, wn := range names {
		for _, r := range rep.Windows[wn].Routes {
			line("boxoffice_perf_route_requests_per_second", r.RatePerSecond, "method", r.Method, "route", r.Route, "window", wn)
		}
	}
	fam("boxoffice_perf_route_latency_seconds", "gauge", "Request latency quantiles by route over the window (quantile 1 is the max).")
	for _, wn := range names {
		for _, r := range rep.Windows[wn].Routes {
			for _, q := range [...]struct {
				q  string
				us int64
			}{{"0.5", r.P50Micros}, {"0.9", r.P90Micros}, {"0.99", r.P99Micros}, {"1", r.MaxMicros}} {
				line("boxoffice_perf_route_latency_seconds", float64(q.us)/1e6, "method", r.Method, "route", r.Route, "window", wn, "quantile", q.q)
			}
		}
	}
	fam("boxoffice_perf_component_utilization", "gauge", "Busy share of a component's lanes over the window (see /v1/admin/perf definitions).")
	for _, wn := range names {
		for _, c := range rep.Windows[wn].Components {
			line("boxoffice_perf_component_utilization", c.Utilization, "component", c.Name, "window", wn)
		}
	}
	fam("boxoffice_perf_bottleneck", "gauge", "1 for the component with the highest utilization over the window.")
	for _, wn := range names {
		line("boxoffice_perf_bottleneck", 1, "component", rep.Windows[wn].Bottleneck.Component, "window", wn)
	}
	fam("boxoffice_process_cpu_seconds_total", "counter", "User and system CPU time of the process.")
	line("boxoffice_process_cpu_seconds_total", rep.Process.CPUSecondsTotal)
	fam("boxoffice_go_heap_objects_bytes", "gauge", "Bytes of heap objects, live and not yet swept.")
	line("boxoffice_go_heap_objects_bytes", float64(rep.Process.HeapObjectsBytes))
	fam("boxoffice_go_heap_goal_bytes", "gauge", "Heap size the GC aims to end its cycle at.")
	line("boxoffice_go_heap_goal_bytes", float64(rep.Process.HeapGoalBytes))
	fam("boxoffice_go_memory_total_bytes", "gauge", "Memory mapped by the Go runtime.")
	line("boxoffice_go_memory_total_bytes", float64(rep.Process.MemoryTotalBytes))
	fam("boxoffice_go_goroutines", "gauge", "Live goroutines.")
	line("boxoffice_go_goroutines", float64(rep.Process.Goroutines))
	fam("boxoffice_go_gc_cycles_total", "counter", "Completed GC cycles.")
	line("boxoffice_go_gc_cycles_total", float64(rep.Process.GCCyclesTotal))
	fam("boxoffice_go_gc_pause_seconds", "gauge", "GC stop-the-world pause quantiles over the window (bucket upper bounds).")
	for _, wn := range names {
		p := rep.Windows[wn].Process.GCPause
		line("boxoffice_go_gc_pause_seconds", p.P50Micros/1e6, "window", wn, "quantile", "0.5")
		line("boxoffice_go_gc_pause_seconds", p.P99Micros/1e6, "window", wn, "quantile", "0.99")
		line("boxoffice_go_gc_pause_seconds", p.MaxMicros/1e6, "window", wn, "quantile", "1")
	}
	fam("boxoffice_go_sched_latency_seconds", "gauge", "Time runnable goroutines waited for a CPU, quantiles over the window.")
	for _, wn := range names {
		p := rep.Windows[wn].Process.SchedLatency
		line("boxoffice_go_sched_latency_seconds", p.P50Micros/1e6, "window", wn, "quantile", "0.5")
		line("boxoffice_go_sched_latency_seconds", p.P99Micros/1e6, "window", wn, "quantile", "0.99")
	}
	writeGrouped(w, rep.Actors, "boxoffice_actor_", "kind", fam, line)
	writeGrouped(w, rep.Stores, "boxoffice_store_", "store", fam, line)
	m.mu.Lock()
	b := m.backend
	m.mu.Unlock()
	if b != nil {
		ready, comps := b.Status()
		fam("boxoffice_ready", "gauge", "1 when the node serves (readyz 200).")
		line("boxoffice_ready", boolFloat(ready))
		fam("boxoffice_component_ok", "gauge", "1 when the component reports ok, 0 when degraded.")
		keys := make([]string, 0, len(comps))
		for k := range comps {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			line("boxoffice_component_ok", boolFloat(comps[k] == "ok"), "component", k)
		}
	}
}

// writeGrouped writes the PerfSource values of groups as one family per
// name (<prefix><name>, a counter when it ends in _total), labelled by group.
func writeGrouped(w *writer, groups map[string]map[string]float64, prefix, label string,
	fam func(name, typ, help string), line func(name string, v float64, lbl ...string)) {
	byName := map[string][]string{}
	for g, vals := range groups {
		for n := range vals {
			byName[n] = append(byName[n], g)
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		metric := prefix + metricName(n)
		typ := "gauge"
		if strings.HasSuffix(n, "_total") {
			typ = "counter"
		}
		fam(metric, typ, "PerfSource value "+n+" by "+label+".")
		gs := byName[n]
		slices.Sort(gs)
		for _, g := range gs {
			line(metric, groups[g][n], label, g)
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// promEscape escapes a label value.
func promEscape(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// --- the timed Backend ---

// perfBackend times every call of its Backend into m.backendNanos.
type perfBackend struct {
	b Backend
	m *PerfMonitor
}

var _ Backend = (*perfBackend)(nil)

func (p *perfBackend) since(t time.Time) { p.m.backendNanos.Add(int64(time.Since(t))) }

func (p *perfBackend) CreateShow(ctx context.Context, cfg seatmap.ShowConfig) (seatmap.ShowDoc, error) {
	defer p.since(time.Now())
	return p.b.CreateShow(ctx, cfg)
}

func (p *perfBackend) GetShow(ctx context.Context, show string) (seatmap.ShowDoc, error) {
	defer p.since(time.Now())
	return p.b.GetShow(ctx, show)
}

func (p *perfBackend) Seats(ctx context.Context, show, section string) ([]seatmap.SeatEntry, error) {
	defer p.since(time.Now())
	return p.b.Seats(ctx, show, section)
}

func (p *perfBackend) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, bool, error) {
	defer p.since(time.Now())
	return p.b.Hold(ctx, req)
}

func (p *perfBackend) GetHold(ctx context.Context, user string, show, hold string) (seatmap.HoldView, error) {
	defer p.since(time.Now())
	return p.b.GetHold(ctx, user, show, hold)
}

func (p *perfBackend) ReleaseHold(ctx context.Context, user string, show, hold string) error {
	defer p.since(time.Now())
	return p.b.ReleaseHold(ctx, user, show, hold)
}

func (p *perfBackend) ExtendHold(ctx context.Context, user string, show, hold string, seconds int) (seatmap.HoldView, error) {
	defer p.since(time.Now())
	return p.b.ExtendHold(ctx, user, show, hold, seconds)
}

func (p *perfBackend) CreateOrder(ctx context.Context, req seatmap.OrderRequest) (seatmap.OrderView, bool, error) {
	defer p.since(time.Now())
	return p.b.CreateOrder(ctx, req)
}

func (p *perfBackend) GetOrder(ctx context.Context, user string, order string) (seatmap.OrderView, error) {
	defer p.since(time.Now())
	return p.b.GetOrder(ctx, user, order)
}

func (p *perfBackend) PayOrder(ctx context.Context, user string, order, token string) (seatmap.OrderView, error) {
	defer p.since(time.Now())
	return p.b.PayOrder(ctx, user, order, token)
}

func (p *perfBackend) CancelOrder(ctx context.Context, user string, order string) (seatmap.OrderView, error) {
	defer p.since(time.Now())
	return p.b.CancelOrder(ctx, user, order)
}

func (p *perfBackend) Status() (bool, map[string]string) { return p.b.Status() }

func (p *perfBackend) Gauges() map[string]float64 { return p.b.Gauges() }
