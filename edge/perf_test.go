package edge

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/perf"
	"github.com/valyala/fasthttp"
)

// perfBackend0 is a Backend for the perf tests: its booking calls fail,
// Status and Gauges answer from fields, and Hold sleeps for delay.
type perfBackend0 struct {
	Backend // nil: calls the tests do not make panic
	delay   time.Duration
	gauges  map[string]float64
}

func (b *perfBackend0) Status() (bool, map[string]string) {
	return true, map[string]string{"actors": "ok", "relay": "degraded"}
}
func (b *perfBackend0) Gauges() map[string]float64 { return b.gauges }
func (b *perfBackend0) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, bool, error) {
	time.Sleep(b.delay)
	return seatmap.HoldView{}, false, seatmap.ErrSoldOut
}

func quietServer(b Backend) *Server {
	return New(b, Options{AdminToken: "perf-admin", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// perfCall runs servePerf on a hand-made request.
func perfCall(s *Server, m *perf.Monitor, auth string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/v1/admin/perf")
	if auth != "" {
		ctx.Request.Header.Set("Authorization", auth)
	}
	s.servePerf(&ctx, m)
	return &ctx
}

func TestPerfAuth(t *testing.T) {
	m := perf.New(perf.Options{})
	defer m.Close()
	s := quietServer(&perfBackend0{})
	for _, tc := range []struct {
		auth   string
		status int
		code   string
	}{
		{"", 401, "unauthorized"},
		{"Bearer wrong", 401, "unauthorized"},
		{"Basic perf-admin", 401, "unauthorized"},
		{"Bearer perf-admin", 200, ""},
		{"bearer perf-admin", 200, ""},
	} {
		ctx := perfCall(s, m, tc.auth)
		if got := ctx.Response.StatusCode(); got != tc.status {
			t.Errorf("auth %q: status %d, want %d (%s)", tc.auth, got, tc.status, ctx.Response.Body())
			continue
		}
		if ct := string(ctx.Response.Header.ContentType()); ct != "application/json" {
			t.Errorf("auth %q: content type %q", tc.auth, ct)
		}
		if tc.code == "" {
			continue
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || e.Error.Code != tc.code || e.Error.Message == "" {
			t.Errorf("auth %q: body %s, want error code %q with a message", tc.auth, ctx.Response.Body(), tc.code)
		}
		if len(ctx.Response.Header.Peek("WWW-Authenticate")) == 0 {
			t.Errorf("auth %q: no WWW-Authenticate header", tc.auth)
		}
	}
	// a server without a token refuses everyone; a nil monitor is 404
	open := New(&perfBackend0{}, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if got := perfCall(open, m, "Bearer ").Response.StatusCode(); got != 401 {
		t.Errorf("no admin token configured: status %d, want 401", got)
	}
	if got := perfCall(s, nil, "Bearer perf-admin").Response.StatusCode(); got != 404 {
		t.Errorf("monitor off: status %d, want 404", got)
	}
}

// TestPerfBackendTiming: the wrapper attachPerf puts around the Backend
// passes answers through and reports its call time, which the monitor
// subtracts from handler time in the http component.
func TestPerfBackendTiming(t *testing.T) {
	m := perf.New(perf.Options{})
	defer m.Close()
	b := attachPerf(m, &perfBackend0{delay: 20 * time.Millisecond})
	for range 5 {
		t0 := time.Now()
		if _, _, err := b.Hold(context.Background(), seatmap.HoldRequest{}); !errors.Is(err, seatmap.ErrSoldOut) {
			t.Fatalf("the wrapped backend changed the answer: %v", err)
		}
		m.Observe(int(routeCreateHold), 409, time.Now(), time.Since(t0)+time.Millisecond) // 1 ms of "edge" work each
	}
	var http *perf.Component
	w := m.Report().Windows["1m"]
	for i := range w.Components {
		if w.Components[i].Name == "http" {
			http = &w.Components[i]
		}
	}
	if http == nil || math.Abs(http.BusySeconds-0.005) > 0.0005 {
		t.Fatalf("http component %+v, want 5 ms busy (5 × 1 ms outside the Backend)", http)
	}
	var holds uint64
	for _, r := range w.Routes {
		if r.Method == "POST" && r.Route == "/v1/shows/{show}/holds" {
			holds = r.Count
		}
	}
	if holds != 5 {
		t.Fatalf("routes %+v, want 5 POST /v1/shows/{show}/holds: the route table is edge's", w.Routes)
	}
	if attachPerf(nil, b) != b {
		t.Fatal("a nil monitor wrapped the backend")
	}
}
