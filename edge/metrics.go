package edge

import (
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/perf"
)

// statusSlots are the statuses the API answers with; anything else counts
// as "other". Each (route, status) pair has its own latency histogram.
var statusSlots = [...]int{200, 201, 202, 204, 400, 401, 404, 405, 409, 410, 413, 422, 429, 500, 503, 0}

const numSlots = len(statusSlots)

func slotOf(status int) int {
	switch status {
	case 200:
		return 0
	case 201:
		return 1
	case 202:
		return 2
	case 204:
		return 3
	case 400:
		return 4
	case 401:
		return 5
	case 404:
		return 6
	case 405:
		return 7
	case 409:
		return 8
	case 410:
		return 9
	case 413:
		return 10
	case 422:
		return 11
	case 429:
		return 12
	case 500:
		return 13
	case 503:
		return 14
	}
	return numSlots - 1
}

// latencyBoundsNs are the histogram's upper bounds, 50 µs to 5 s.
var latencyBoundsNs = [...]int64{50e3, 100e3, 250e3, 500e3, 1e6, 2.5e6, 5e6, 10e6, 25e6, 50e6, 100e6, 250e6, 500e6, 1e9, 2.5e9, 5e9}

const numBounds = len(latencyBoundsNs)

// histogram counts latencies; buckets are not cumulative (the +Inf bucket
// is count minus the rest). All fields are atomics: observe takes no lock.
type histogram struct {
	count   atomic.Uint64
	sumNs   atomic.Uint64
	buckets [numBounds]atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	ns := int64(d)
	for i, b := range latencyBoundsNs {
		if ns <= b {
			h.buckets[i].Add(1)
			break
		}
	}
	h.sumNs.Add(uint64(max(ns, 0)))
	h.count.Add(1)
}

// metrics are the server's request counters.
type metrics struct {
	h [numRoutes][numSlots]histogram
}

func (m *metrics) observe(r routeID, status int, d time.Duration) {
	m.h[r][slotOf(status)].observe(d)
}

// write appends the Prometheus text exposition of the request metrics and
// of gauges (each as boxoffice_<name>) to w.
func (m *metrics) write(w *writer, gauges map[string]float64) {
	w.raw("# HELP boxoffice_http_requests_total HTTP requests by route and status.\n")
	w.raw("# TYPE boxoffice_http_requests_total counter\n")
	m.each(func(r routeID, slot int, h *histogram) {
		w.raw("boxoffice_http_requests_total")
		labels(w, r, slot, "")
		w.b = append(w.b, ' ')
		w.b = strconv.AppendUint(w.b, h.count.Load(), 10)
		w.b = append(w.b, '\n')
	})
	w.raw("# HELP boxoffice_http_request_duration_seconds HTTP request latency by route and status.\n")
	w.raw("# TYPE boxoffice_http_request_duration_seconds histogram\n")
	m.each(func(r routeID, slot int, h *histogram) {
		count := h.count.Load()
		var cum uint64
		for i, b := range latencyBoundsNs {
			cum += h.buckets[i].Load()
			w.raw("boxoffice_http_request_duration_seconds_bucket")
			labels(w, r, slot, strconv.FormatFloat(float64(b)/1e9, 'g', -1, 64))
			w.b = append(w.b, ' ')
			w.b = strconv.AppendUint(w.b, min(cum, count), 10)
			w.b = append(w.b, '\n')
		}
		w.raw("boxoffice_http_request_duration_seconds_bucket")
		labels(w, r, slot, "+Inf")
		w.b = append(w.b, ' ')
		w.b = strconv.AppendUint(w.b, count, 10)
		w.raw("\nboxoffice_http_request_duration_seconds_sum")
		labels(w, r, slot, "")
		w.b = append(w.b, ' ')
		w.b = strconv.AppendFloat(w.b, float64(h.sumNs.Load())/1e9, 'g', -1, 64)
		w.raw("\nboxoffice_http_request_duration_seconds_count")
		labels(w, r, slot, "")
		w.b = append(w.b, ' ')
		w.b = strconv.AppendUint(w.b, count, 10)
		w.b = append(w.b, '\n')
	})
	names := make([]string, 0, len(gauges))
	for n := range gauges {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		name := "boxoffice_" + perf.MetricName(n)
		w.raw("# TYPE " + name + " gauge\n" + name + " ")
		w.b = perf.AppendFloat(w.b, gauges[n])
		w.b = append(w.b, '\n')
	}
}

// each calls f for every (route, status) histogram that has observations.
func (m *metrics) each(f func(r routeID, slot int, h *histogram)) {
	for r := range m.h {
		for slot := range m.h[r] {
			if h := &m.h[r][slot]; h.count.Load() > 0 {
				f(routeID(r), slot, h)
			}
		}
	}
}

// labels writes {method="..",route="..",code=".."[,le=".."]}.
func labels(w *writer, r routeID, slot int, le string) {
	w.raw(`{method="`)
	w.raw(routes[r].method)
	w.raw(`",route="`)
	w.raw(routes[r].pattern)
	w.raw(`",code="`)
	if s := statusSlots[slot]; s != 0 {
		w.int(int64(s))
	} else {
		w.raw("other")
	}
	if le != "" {
		w.raw(`",le="`)
		w.raw(le)
	}
	w.raw(`"}`)
}
