package edge

// The HTTP side of the performance monitor (package perf): New attaches
// Options.Perf to the route table and wraps the Backend (attachPerf) to time
// its calls, finish reports every request to it, dispatch sends
// GET /v1/admin/perf to servePerf, and /metrics appends its families. A nil
// *perf.Monitor turns all of it off (servePerf answers 404).

import (
	"context"
	"encoding/json"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/perf"
	"github.com/valyala/fasthttp"
)

// perfRoutes is the route table in perf's terms: index i names routeID(i).
func perfRoutes() []perf.Route {
	out := make([]perf.Route, numRoutes)
	for i, r := range routes {
		out[i] = perf.Route{Method: r.method, Pattern: r.pattern}
	}
	return out
}

// attachPerf attaches m to the route table and b, and returns b wrapped so
// that the time spent in its calls is measured. A nil m or b returns b.
func attachPerf(m *perf.Monitor, b Backend) Backend {
	if m == nil || b == nil {
		return b
	}
	m.Attach(perfRoutes(), b)
	return &perfBackend{b: b, m: m}
}

// servePerf serves GET /v1/admin/perf: 404 when the monitor is off, 401
// without the admin token, else the report as JSON.
func (s *Server) servePerf(ctx *fasthttp.RequestCtx, m *perf.Monitor) {
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

// perfBackend reports the time of every call of its Backend to m.
type perfBackend struct {
	b Backend
	m *perf.Monitor
}

var _ Backend = (*perfBackend)(nil)

func (p *perfBackend) since(t time.Time) { p.m.ObserveBackend(time.Since(t)) }

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
