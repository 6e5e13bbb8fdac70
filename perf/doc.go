// Package perf is boxoffice's performance monitor: the figures behind
// GET /v1/admin/perf and the perf families of /metrics.
//
// Per HTTP route it keeps a ring of 10-second log-linear latency histograms
// (the layout of sim's Histogram, copied: sim is a client and perf must not
// import it), so it can answer throughput and p50/p90/p99/max over the last
// 1, 5 and 15 minutes. Every 10 s a sampler goroutine also records the
// cumulative counters the windows are differences of: process CPU, GC CPU
// and pauses, scheduler latency, time spent in handlers and in Backend
// calls, and the Source's actor and store counters. From those it names the
// bottleneck of each window: the component whose lanes were busiest (see
// definitions in bottleneck.go).
//
// Layout: monitor.go is the Monitor, its sampler goroutine and the calls
// the HTTP layer makes; source.go is the Source interface and its adapters;
// histogram.go the per-route rings and their quantiles; sample.go the
// cumulative counters (process, runtime/metrics, Source) taken every 10 s;
// bottleneck.go the components and the bottleneck of a window; report.go
// the Report (the JSON of GET /v1/admin/perf); metrics.go the Prometheus
// text.
//
// Callers' duties. The process entry point makes one Monitor with New
// (Options.Source: the booking core's and stores' figures, see Source),
// hands it to the HTTP layer (edge.Options.Perf) and calls Close once the
// server has stopped. The HTTP layer, which owns routes, authentication
// and encoding, calls Attach once with its route table and Backend before
// serving; Observe at the end of every request with the route's index in
// that table; ObserveBackend with the duration of every Backend call;
// Report to answer GET /v1/admin/perf; and AppendMetrics for /metrics.
// Attach, Observe, ObserveBackend, AppendMetrics and Close accept a nil
// *Monitor and then do nothing. A Source's PerfStats must be safe for
// concurrent use and must not block.
package perf
