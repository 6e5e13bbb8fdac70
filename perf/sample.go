package perf

import (
	"math"
	rtmetrics "runtime/metrics"
	"slices"
	"syscall"
	"time"
)

// sample is the cumulative counters at one instant.
type sample struct {
	period       int64 // periodOf(at); 0: no sample
	at           time.Time
	requestNanos int64
	backendNanos int64
	cpuSeconds   float64 // user + system CPU of the process
	rt           runtimeValues
	stats        map[string]float64
}

// takeSampleLocked reads every counter now; m.mu is held.
func (m *Monitor) takeSampleLocked(t time.Time) sample {
	s := sample{period: periodOf(t), at: t, requestNanos: m.requestNanos.Load(),
		backendNanos: m.backendNanos.Load(), cpuSeconds: processCPUSeconds()}
	s.rt = m.rt.read()
	s.stats = safeStats(m.src)
	return s
}

// baseLocked returns the sample a window starting at period from is
// measured against: the earliest sample taken in or after that period (the
// sampler takes one as each period starts), else the latest one, else the
// monitor's first. m.mu is held.
func (m *Monitor) baseLocked(from int64) sample {
	var best, latest sample
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

// processCPUSeconds is the process's user + system CPU time.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// runtimeReader reads runtime/metrics. Not safe for concurrent use.
type runtimeReader struct {
	samples []rtmetrics.Sample
}

// Indexes of runtimeReader.samples.
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

func (r *runtimeReader) init() {
	r.samples = make([]rtmetrics.Sample, rtCount)
	for i, n := range rtNames {
		r.samples[i].Name = n
	}
}

// runtimeValues are the runtime's figures at one instant; histograms
// are cumulative counts over shared, immutable bucket bounds.
type runtimeValues struct {
	heapObjects, heapGoal, memTotal, goroutines, gcCycles uint64
	gcCPU, gcIdleCPU                                      float64
	gcPauses, schedLatency                                floatHist
}

type floatHist struct {
	counts  []uint64
	buckets []float64 // len(counts)+1 bounds, seconds
}

func (r *runtimeReader) read() runtimeValues {
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
	h := func(i int) floatHist {
		if v := r.samples[i].Value; v.Kind() == rtmetrics.KindFloat64Histogram {
			fh := v.Float64Histogram()
			return floatHist{counts: slices.Clone(fh.Counts), buckets: fh.Buckets}
		}
		return floatHist{}
	}
	return runtimeValues{heapObjects: u(rtHeapObjects), heapGoal: u(rtHeapGoal), memTotal: u(rtMemTotal),
		goroutines: u(rtGoroutines), gcCycles: u(rtGCCycles), gcCPU: f(rtGCCPU), gcIdleCPU: f(rtGCIdleCPU),
		gcPauses: h(rtGCPauses), schedLatency: h(rtSchedLatency)}
}

// Dist summarizes a runtime histogram over a window: quantiles and max
// are bucket upper bounds (the runtime's buckets are coarse: a quantile may
// be up to its bucket's width above the true value).
type Dist struct {
	Count     uint64  `json:"count"`
	P50Micros float64 `json:"p50_micros"`
	P99Micros float64 `json:"p99_micros"`
	MaxMicros float64 `json:"max_micros"`
}

// dist summarizes the counts of cur minus those of base.
func dist(cur, base floatHist) Dist {
	if len(cur.counts) == 0 {
		return Dist{}
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
	d := Dist{Count: n}
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
