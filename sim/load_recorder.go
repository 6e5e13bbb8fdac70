package sim

import (
	"strconv"
	"sync"
	"time"
)

// Endpoint names, as they appear in the reports.
const (
	epCreateShow = "create_show"
	epHold       = "hold"
	epOrder      = "order"
	epPay        = "pay"
	epGetShow    = "get_show"
	epGetSeats   = "get_seats"
	epRelease    = "release"
)

// IntervalStats summarizes the requests of one endpoint that completed in
// one interval of the run.
type IntervalStats struct {
	Count     int64 `json:"count"`
	Errors    int64 `json:"errors"`
	P50Micros int64 `json:"p50_micros"`
	P90Micros int64 `json:"p90_micros"`
	P99Micros int64 `json:"p99_micros"`
	MaxMicros int64 `json:"max_micros"`
}

// SeriesPoint is one interval (normally one second) of the run.
type SeriesPoint struct {
	EndSeconds float64                  `json:"end_seconds"` // since the start of the run
	Seconds    float64                  `json:"seconds"`     // the interval's length
	All        IntervalStats            `json:"all"`
	Endpoints  map[string]IntervalStats `json:"endpoints"`
}

// isErrorStatus: a request failed unless it got a 2xx or a 409 (a seat taken
// or sold out is the service answering correctly). 0 means no answer.
func isErrorStatus(status int) bool {
	return !(status >= 200 && status <= 299) && status != 409
}

// statusKey names a status in the reports: "201", or "error" for no answer.
func statusKey(status int) string {
	if status == 0 {
		return "error"
	}
	return strconv.Itoa(status)
}

// epRecorder accumulates one endpoint's latencies.
type epRecorder struct {
	mu       sync.Mutex // protects following fields
	total    Histogram
	interval Histogram
	errors   int64
	ivErrors int64
	statuses map[int]int64
}

// recorder collects latencies per endpoint, in total and per interval.
// record is safe for concurrent use; tick and the read methods are called by
// one goroutine (the run's ticker, then the reporter after the run).
type recorder struct {
	start time.Time
	names []string
	eps   []*epRecorder

	// Owned by the ticking goroutine:
	lastTick time.Time
	all      Histogram // all endpoints, merged at each tick
	allErrs  int64
	series   []SeriesPoint
	scratch  Histogram
}

func newRecorder(names []string, start time.Time) *recorder {
	r := &recorder{start: start, lastTick: start, names: names}
	for range names {
		r.eps = append(r.eps, &epRecorder{statuses: map[int]int64{}})
	}
	return r
}

// index returns the endpoint's index; it panics on a name the scenario did
// not declare (a programming error).
func (r *recorder) index(name string) int {
	for i, n := range r.names {
		if n == name {
			return i
		}
	}
	panic("sim: undeclared endpoint " + name)
}

// record adds one request of endpoint ep with its status and latency.
func (r *recorder) record(ep int, status int, latency time.Duration) {
	e := r.eps[ep]
	us := latency.Microseconds()
	e.mu.Lock()
	e.total.Record(us)
	e.interval.Record(us)
	e.statuses[status]++
	if isErrorStatus(status) {
		e.errors++
		e.ivErrors++
	}
	e.mu.Unlock()
}

func intervalStats(h *Histogram, errs int64) IntervalStats {
	return IntervalStats{Count: int64(h.Count()), Errors: errs, P50Micros: h.Quantile(0.5),
		P90Micros: h.Quantile(0.9), P99Micros: h.Quantile(0.99), MaxMicros: h.Max()}
}

// tick closes the current interval at now and starts the next.
func (r *recorder) tick(now time.Time) SeriesPoint {
	p := SeriesPoint{EndSeconds: now.Sub(r.start).Seconds(), Seconds: now.Sub(r.lastTick).Seconds(),
		Endpoints: map[string]IntervalStats{}}
	r.lastTick = now
	r.scratch.Reset()
	var errs int64
	for i, e := range r.eps {
		e.mu.Lock()
		p.Endpoints[r.names[i]] = intervalStats(&e.interval, e.ivErrors)
		r.scratch.Merge(&e.interval)
		errs += e.ivErrors
		e.interval.Reset()
		e.ivErrors = 0
		e.mu.Unlock()
	}
	p.All = intervalStats(&r.scratch, errs)
	r.all.Merge(&r.scratch)
	r.allErrs += errs
	r.series = append(r.series, p)
	return p
}

// EndpointSummary is one endpoint's totals over the run.
type EndpointSummary struct {
	Name          string           `json:"name"`
	Count         int64            `json:"count"`
	Errors        int64            `json:"errors"`
	RatePerSecond float64          `json:"rate_per_second"`
	MeanMicros    float64          `json:"mean_micros"`
	P50Micros     int64            `json:"p50_micros"`
	P90Micros     int64            `json:"p90_micros"`
	P99Micros     int64            `json:"p99_micros"`
	P999Micros    int64            `json:"p999_micros"`
	MaxMicros     int64            `json:"max_micros"`
	Statuses      map[string]int64 `json:"statuses"`
	Curve         []CurvePoint     `json:"curve,omitempty"`
}

func summarize(name string, h *Histogram, errs int64, statuses map[int]int64, elapsed time.Duration) EndpointSummary {
	s := EndpointSummary{Name: name, Count: int64(h.Count()), Errors: errs, MeanMicros: h.Mean(),
		P50Micros: h.Quantile(0.5), P90Micros: h.Quantile(0.9), P99Micros: h.Quantile(0.99),
		P999Micros: h.Quantile(0.999), MaxMicros: h.Max(), Statuses: map[string]int64{}, Curve: h.Curve(8)}
	if elapsed > 0 {
		s.RatePerSecond = float64(s.Count) / elapsed.Seconds()
	}
	for st, n := range statuses {
		s.Statuses[statusKey(st)] += n
	}
	return s
}

// summaries returns the per-endpoint summaries (endpoints that saw no
// request are left out) and the summary over all endpoints. Call after the
// last tick, when no request is being recorded.
func (r *recorder) summaries(elapsed time.Duration) ([]EndpointSummary, EndpointSummary) {
	var out []EndpointSummary
	allStatuses := map[int]int64{}
	for i, e := range r.eps {
		e.mu.Lock()
		if e.total.Count() > 0 {
			out = append(out, summarize(r.names[i], &e.total, e.errors, e.statuses, elapsed))
		}
		for st, n := range e.statuses {
			allStatuses[st] += n
		}
		e.mu.Unlock()
	}
	return out, summarize("all", &r.all, r.allErrs, allStatuses, elapsed)
}
