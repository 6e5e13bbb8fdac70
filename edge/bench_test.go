package edge_test

import (
	"context"
	"syscall"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"net"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchShow is one GA section big enough for any benchmark run.
const benchShow = `{"id":"bench","tiers":[{"id":"std","price":100}],"sections":[{"id":"pit","tier":"std","capacity":10000000}]}`

// benchClient returns a client of handler over an in-memory listener.
func benchClient(b *testing.B, handler fasthttp.RequestHandler) *fasthttp.Client {
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: handler}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	b.Cleanup(func() { srv.Shutdown() })
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConnsPerHost: 1024}
}

// runBench posts bodies from parallel clients and reports requests/s under unit.
func runBench(b *testing.B, c *fasthttp.Client, uri string, want int, unit string, body func(n uint64) []byte) {
	var seq atomic.Uint64
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		for pb.Next() {
			req.Reset()
			req.Header.SetMethod("POST")
			req.SetRequestURI(uri)
			req.SetBodyRaw(body(seq.Add(1)))
			if err := c.Do(req, resp); err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode() != want {
				b.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	// CPU time per request (client and server together) is steadier than
	// wall time on a shared machine; compare it between benchmarks.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHTTPHold measures GA holds of one seat, each by a new user, through
// the whole edge (routing, parsing, rate limiter, metrics, encoding) over the
// MemBackend.
func BenchmarkHTTPHold(b *testing.B) {
	s := edge.New(edgetest.NewMemBackend(), edge.Options{AdminToken: "admin"})
	if ctx := call(s, "POST", "/v1/shows", []byte(benchShow), "Authorization", adminAuth); ctx.Response.StatusCode() != 201 {
		b.Fatalf("create: %s", ctx.Response.Body())
	}
	c := benchClient(b, s.Handler())
	runBench(b, c, "http://bench/v1/shows/bench/holds", 201, "holds/s", benchHoldBody)
}

// BenchmarkHTTPNoop is the baseline: a fasthttp handler that answers a
// constant JSON body, over the same client and listener.
func BenchmarkHTTPNoop(b *testing.B) {
	answer := []byte(`{"id":"x","show":"bench","user":"u1","seats":[],"general":{"pit":1},"quantity":1}`)
	c := benchClient(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(201)
		ctx.SetContentType("application/json")
		ctx.SetBody(answer)
	})
	runBench(b, c, "http://bench/noop", 201, "req/s", benchHoldBody)
}

// benchHoldBody is the n-th benchmark hold: one GA seat for user n.
func benchHoldBody(n uint64) []byte {
	b := strconv.AppendUint([]byte(`{"section":"pit","quantity":1,"user":"u`), n, 10)
	return append(b, '"', '}')
}

// fixedBackend answers every hold with the same view at once, so that a
// benchmark over it measures the edge alone.
type fixedBackend struct {
	edge.Backend
	view seatmap.HoldView
}

func (f *fixedBackend) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, bool, error) {
	v := f.view
	v.User = req.User
	return v, true, nil
}

// BenchmarkHTTPHoldEdge is BenchmarkHTTPHold over a backend that does no
// work: the cost of the HTTP layer itself, to compare with BenchmarkHTTPNoop.
func BenchmarkHTTPHoldEdge(b *testing.B) {
	fb := &fixedBackend{Backend: edgetest.NewMemBackend(), view: seatmap.HoldView{ID: edgetest.NewID("bench"), Show: "bench",
		Seats: []string{}, General: map[string]int{"pit": 1}, Quantity: 1, Amount: 100, CreatedAt: 1e12, ExpiresAt: 1e12 + 6e5}}
	s := edge.New(fb, edge.Options{AdminToken: "admin"})
	c := benchClient(b, s.Handler())
	runBench(b, c, "http://bench/v1/shows/bench/holds", 201, "holds/s", benchHoldBody)
}
