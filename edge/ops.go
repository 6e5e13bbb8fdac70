package edge

import (
	"slices"

	"github.com/valyala/fasthttp"
)

// healthz serves GET /healthz: 200 while the process lives.
func (s *Server) healthz(ctx *fasthttp.RequestCtx) {
	w := getWriter()
	w.raw(`{"status":"ok"}`)
	s.send(ctx, fasthttp.StatusOK, w)
}

// readyz serves GET /readyz: 503 until the Backend is ready, then 200 with
// "ok", or "degraded" when a component is not "ok".
func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	ready, comps := s.b.Status()
	status, word := fasthttp.StatusOK, "ok"
	for _, v := range comps {
		if v != "ok" {
			word = "degraded"
		}
	}
	if !ready {
		status, word = fasthttp.StatusServiceUnavailable, "unavailable"
	}
	names := make([]string, 0, len(comps))
	for n := range comps {
		names = append(names, n)
	}
	slices.Sort(names)
	w := getWriter()
	w.raw(`{"status":`)
	w.str(word)
	w.raw(`,"components":{`)
	for i, n := range names {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(n)
		w.b = append(w.b, ':')
		w.str(comps[n])
	}
	w.raw(`}}`)
	s.send(ctx, status, w)
}

// serveMetrics serves GET /metrics in the Prometheus text format.
func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	w := getWriter()
	s.metrics.write(w, s.b.Gauges())
	w.b = s.opt.Perf.AppendMetrics(w.b)
	s.writeDeadLetterMetrics(w)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.Header.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	ctx.Response.SetBody(w.b)
	putWriter(w)
}
