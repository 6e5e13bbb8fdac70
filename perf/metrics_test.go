package perf

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMetricsText checks the /metrics families: well-formed lines, one
// TYPE per family, declared before its samples.
func TestMetricsText(t *testing.T) {
	m := New(Options{Source: Merge(
		Func(func() map[string]float64 {
			return map[string]float64{"actor.shard.commands_total": 7, KeyShards: 1}
		}),
		StoreSource("redis", func() map[string]float64 { return map[string]float64{"apply_latency_p99_micros": 800, "healthy": 1} }),
		nil)})
	defer m.Close()
	m.Attach(testRoutes, &testBackend{})
	m.Observe(testGetShow, 200, time.Now(), 700*time.Microsecond)
	prefix := "# before\n"
	out := m.AppendMetrics([]byte(prefix))
	if !strings.HasPrefix(string(out), prefix) {
		t.Fatalf("AppendMetrics lost what b held: %.40q", out)
	}
	text := strings.TrimPrefix(string(out), prefix)
	typed := map[string]bool{}
	for _, ln := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(ln, "# TYPE "); ok {
			name := strings.Fields(rest)[0]
			if typed[name] {
				t.Errorf("family %s typed twice", name)
			}
			typed[name] = true
			continue
		}
		if strings.HasPrefix(ln, "# HELP ") {
			continue
		}
		name, value := ln, ""
		if i := strings.LastIndexByte(ln, ' '); i > 0 {
			name, value = ln[:i], ln[i+1:]
		}
		if j := strings.IndexByte(name, '{'); j > 0 {
			if !strings.HasSuffix(name, "}") {
				t.Errorf("bad labels: %q", ln)
			}
			name = name[:j]
		}
		if !typed[name] {
			t.Errorf("sample before its TYPE: %q", ln)
		}
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			t.Errorf("bad value: %q", ln)
		}
	}
	for _, want := range []string{
		`boxoffice_perf_route_latency_seconds{method="GET",route="/v1/shows/{show}",window="1m",quantile="0.99"} 0.0007`,
		`boxoffice_perf_route_requests_per_second{method="GET",route="/v1/shows/{show}",window="15m"}`,
		`boxoffice_perf_bottleneck{component=`,
		`boxoffice_perf_component_utilization{component="http",window="5m"}`,
		`boxoffice_actor_commands_total{kind="shard"} 7`,
		`boxoffice_store_apply_latency_p99_micros{store="redis"} 800`,
		`boxoffice_store_healthy{store="redis"} 1`,
		`boxoffice_component_ok{component="relay"} 0`,
		`boxoffice_component_ok{component="actors"} 1`,
		`boxoffice_ready 1`,
		"boxoffice_go_goroutines ", "boxoffice_go_heap_objects_bytes ", "boxoffice_process_cpu_seconds_total ",
		`boxoffice_go_gc_pause_seconds{window="15m",quantile="0.99"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	var nilMon *Monitor
	nilMon.Attach(testRoutes, &testBackend{})
	nilMon.Observe(testGetShow, 200, time.Now(), time.Millisecond)
	nilMon.ObserveBackend(time.Millisecond)
	nilMon.Close()
	if got := nilMon.AppendMetrics([]byte("x")); string(got) != "x" {
		t.Errorf("a nil monitor wrote metrics: %q", got)
	}
}
