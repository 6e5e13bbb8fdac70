package perf

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// AppendMetrics appends the monitor's figures to b in the Prometheus text
// format, for a /metrics answer: windowed rates and quantiles per route,
// component utilizations and the bottleneck, process and runtime figures,
// the Source's values, and readiness per component of the Backend's Status.
// A nil monitor returns b.
func (m *Monitor) AppendMetrics(b []byte) []byte {
	if m == nil {
		return b
	}
	w := &promWriter{b: b}
	m.writeMetrics(w)
	return w.b
}

// promWriter appends Prometheus text to b.
type promWriter struct{ b []byte }

func (w *promWriter) raw(s string) { w.b = append(w.b, s...) }

func (m *Monitor) writeMetrics(w *promWriter) {
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
		w.b = AppendFloat(w.b, v)
		w.b = append(w.b, '\n')
	}
	names := make([]string, 0, len(windows))
	for _, pw := range windows {
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

// writeGrouped writes the Source values of groups as one family per
// name (<prefix><name>, a counter when it ends in _total), labelled by group.
func writeGrouped(w *promWriter, groups map[string]map[string]float64, prefix, label string,
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
		metric := prefix + MetricName(n)
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

// MetricName maps a name to Prometheus's [a-zA-Z0-9_]: other bytes become
// '_'. edge/metrics.go names its gauges with it too.
func MetricName(n string) string {
	b := []byte(n)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// AppendFloat appends a sample value as Prometheus spells it (NaN, +Inf,
// -Inf, else the shortest 'g' form).
func AppendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
