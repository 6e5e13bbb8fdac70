package edge_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
	"github.com/boxoffice/boxoffice/perf"
)

// TestPerfRoute drives a server with Options.Perf over the in-memory
// backend and reads GET /v1/admin/perf and /metrics.
func TestPerfRoute(t *testing.T) {
	m := perf.New(perf.Options{})
	defer m.Close()
	s := edgetest.NewServer(t, edgetest.NewMemBackend(), edge.Options{Perf: m, UserRate: -1})
	s.CheckContract(t)
	s.Do(t, "POST", "/v1/shows", `{"id":"p1","tiers":[{"id":"std","price":1}],"sections":[{"id":"s0","tier":"std","rows":[{"id":"1","seats":50}]}]}`,
		"Authorization", "Bearer admin")
	for range 10 {
		if r := s.Do(t, "POST", "/v1/shows/p1/holds", `{"user":"u","section":"s0","quantity":1}`); r.Status != 201 {
			t.Fatalf("hold: %d %s", r.Status, r.Body)
		}
	}
	if r := s.Do(t, "GET", "/v1/admin/perf", ""); r.Status != 401 || !strings.Contains(string(r.Body), `"code":"unauthorized"`) {
		t.Fatalf("without token: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "POST", "/v1/admin/perf", "", "Authorization", "Bearer admin"); r.Status != 405 {
		t.Fatalf("POST: %d", r.Status)
	}
	if r := s.Do(t, "GET", "/v1/admin/other", "", "Authorization", "Bearer admin"); r.Status != 404 {
		t.Fatalf("other admin path: %d", r.Status)
	}
	r := s.Do(t, "GET", "/v1/admin/perf", "", "Authorization", "Bearer admin")
	var rep perf.Report
	if r.Status != 200 || json.Unmarshal(r.Body, &rep) != nil {
		t.Fatalf("perf: %d %s", r.Status, r.Body)
	}
	var holds uint64
	for _, rt := range rep.Windows["1m"].Routes {
		if rt.Route == "/v1/shows/{show}/holds" {
			holds = rt.Count
		}
	}
	if holds != 10 {
		t.Fatalf("1m window counts %d holds, want 10: %+v", holds, rep.Windows["1m"].Routes)
	}
	mt := string(s.Do(t, "GET", "/metrics", "").Body)
	for _, want := range []string{`boxoffice_perf_route_latency_seconds{method="POST",route="/v1/shows/{show}/holds",window="1m",quantile="0.99"}`,
		`boxoffice_perf_bottleneck{component=`, "boxoffice_go_goroutines ", `boxoffice_component_ok{component=`} {
		if !strings.Contains(mt, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
