package edge

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// perfClock is a settable clock for the monitor.
type perfClock struct {
	mu sync.Mutex // protects t
	t  time.Time
}

func (c *perfClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *perfClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

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

// perfCounters is a PerfSource whose counters the test advances.
type perfCounters struct {
	mu   sync.Mutex // protects vals
	vals map[string]float64
}

func (p *perfCounters) PerfStats() map[string]float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]float64, len(p.vals))
	for k, v := range p.vals {
		out[k] = v
	}
	return out
}

func (p *perfCounters) add(k string, v float64) {
	p.mu.Lock()
	p.vals[k] += v
	p.mu.Unlock()
}

func quietServer(b Backend) *Server {
	return New(b, Options{AdminToken: "perf-admin", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// perfCall runs servePerf on a hand-made request.
func perfCall(s *Server, m *PerfMonitor, auth string) *fasthttp.RequestCtx {
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
	m := NewPerfMonitor(PerfOptions{})
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

// TestPerfJSONShape decodes a real answer generically and checks every
// documented field is there.
func TestPerfJSONShape(t *testing.T) {
	m := NewPerfMonitor(PerfOptions{})
	defer m.Close()
	b := &perfBackend0{gauges: map[string]float64{"commands_total": 10, "shards_active": 2, "journal_seconds_total": 0.5}}
	s := quietServer(b)
	wrapped := m.attach(b)
	if _, _, err := wrapped.Hold(context.Background(), seatmap.HoldRequest{}); err == nil {
		t.Fatal("the wrapped backend changed the answer")
	}
	m.observe(routeCreateHold, 409, time.Now(), 3*time.Millisecond)
	ctx := perfCall(s, m, "Bearer perf-admin")
	var doc map[string]any
	if err := json.Unmarshal(ctx.Response.Body(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, ctx.Response.Body())
	}
	for _, k := range []string{"at", "uptime_seconds", "gomaxprocs", "num_cpu", "process", "actors", "stores", "windows", "definitions"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("answer lacks %q", k)
		}
	}
	proc := doc["process"].(map[string]any)
	for _, k := range []string{"cpu_seconds_total", "heap_objects_bytes", "heap_goal_bytes", "memory_total_bytes", "goroutines", "gc_cycles_total"} {
		if v, ok := proc[k].(float64); !ok || (k != "gc_cycles_total" && k != "cpu_seconds_total" && v <= 0) {
			t.Errorf("process.%s = %v", k, proc[k])
		}
	}
	if got := doc["actors"].(map[string]any)["shard"].(map[string]any)["active"]; got != 2.0 {
		t.Errorf("actors.shard.active = %v, want the gauge's 2", got)
	}
	defs := doc["definitions"].(map[string]any)
	windows := doc["windows"].(map[string]any)
	for _, name := range []string{"1m", "5m", "15m"} {
		w, ok := windows[name].(map[string]any)
		if !ok {
			t.Fatalf("no window %s", name)
		}
		for _, k := range []string{"seconds", "routes", "actors", "stores", "process", "components", "bottleneck"} {
			if _, ok := w[k]; !ok {
				t.Errorf("window %s lacks %q", name, k)
			}
		}
		routes := w["routes"].([]any)
		if len(routes) != 1 {
			t.Fatalf("window %s: routes %v, want the one hold", name, routes)
		}
		r := routes[0].(map[string]any)
		if r["route"] != "/v1/shows/{show}/holds" || r["method"] != "POST" || r["count"] != 1.0 {
			t.Errorf("window %s: route %v", name, r)
		}
		for _, k := range []string{"rate_per_second", "server_errors", "mean_micros", "p50_micros", "p90_micros", "p99_micros", "max_micros"} {
			if _, ok := r[k]; !ok {
				t.Errorf("window %s: route lacks %q", name, k)
			}
		}
		bn := w["bottleneck"].(map[string]any)
		if _, ok := bn["component"].(string); !ok || bn["explanation"] == "" {
			t.Errorf("window %s: bottleneck %v", name, bn)
		}
		for _, c := range w["components"].([]any) {
			cn := c.(map[string]any)["name"].(string)
			if defs[cn] == nil {
				t.Errorf("component %s is not defined in definitions", cn)
			}
		}
		pw := w["process"].(map[string]any)
		for _, k := range []string{"cpu_cores", "cpu_utilization", "gc_cpu_cores", "gc_cycles", "gc_pause", "sched_latency"} {
			if _, ok := pw[k]; !ok {
				t.Errorf("window %s: process lacks %q", name, k)
			}
		}
	}
	for _, k := range []string{"share", "lanes", "utilization", "bottleneck"} {
		if defs[k] == nil {
			t.Errorf("definitions lack %q", k)
		}
	}
}

// TestPerfWindows observes requests at chosen ages on a fake clock and
// checks each window counts exactly those inside it, with quantiles within
// one bucket of the exact ones.
func TestPerfWindows(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	clk := &perfClock{}
	start := time.Date(2025, 3, 1, 12, 0, 3, 0, time.UTC) // 3 s into a period
	clk.set(start)
	m := newPerfMonitor(PerfOptions{}, clk.now)
	now := start.Add(20 * time.Minute)
	// ages in seconds before now, and the windows ("1m", "5m", "15m") that must count them
	groups := []struct {
		age  time.Duration
		in   [3]bool
		lats []int64
	}{
		{10 * time.Second, [3]bool{true, true, true}, nil},
		{55 * time.Second, [3]bool{true, true, true}, nil},
		{3 * time.Minute, [3]bool{false, true, true}, nil},
		{12 * time.Minute, [3]bool{false, false, true}, nil},
		{17 * time.Minute, [3]bool{false, false, false}, nil},
	}
	for g := range groups {
		n := 50 + rng.IntN(200)
		for range n {
			us := int64(rng.ExpFloat64() * 2000)
			groups[g].lats = append(groups[g].lats, us)
			status := 201
			if rng.IntN(10) == 0 {
				status = 503
			}
			m.observe(routeCreateHold, status, now.Add(-groups[g].age), time.Duration(us)*time.Microsecond)
		}
	}
	clk.set(now)
	rep := m.Report()
	for wi, name := range []string{"1m", "5m", "15m"} {
		var want []int64
		for _, g := range groups {
			if g.in[wi] {
				want = append(want, g.lats...)
			}
		}
		w := rep.Windows[name]
		if len(w.Routes) != 1 || w.Routes[0].Count != uint64(len(want)) {
			t.Fatalf("%s: routes %+v, want %d holds", name, w.Routes, len(want))
		}
		r := w.Routes[0]
		if r.RatePerSecond*w.Seconds < float64(len(want))*0.999 || r.RatePerSecond*w.Seconds > float64(len(want))*1.001 {
			t.Errorf("%s: rate %.2f/s × %.0f s is not the count %d", name, r.RatePerSecond, w.Seconds, len(want))
		}
		nominal := float64(perfWindows[wi].slots * 10)
		if w.Seconds < nominal || w.Seconds > nominal+10 {
			t.Errorf("%s: covers %.1f s, want %v..%v", name, w.Seconds, nominal, nominal+10)
		}
		slices.Sort(want)
		for _, q := range []struct {
			q   float64
			got int64
		}{{0.5, r.P50Micros}, {0.9, r.P90Micros}, {0.99, r.P99Micros}, {1, r.MaxMicros}} {
			exact := want[max(int(math.Ceil(q.q*float64(len(want))))-1, 0)]
			if q.got < exact || float64(q.got) > float64(exact)*1.032+1 {
				t.Errorf("%s: p%v = %dµs, exact %dµs", name, q.q*100, q.got, exact)
			}
		}
	}
	// a young monitor's windows cover only its life
	young := newPerfMonitor(PerfOptions{}, clk.now)
	clk.set(now.Add(4 * time.Second))
	if s := young.Report().Windows["15m"].Seconds; s < 3.99 || s > 4.01 {
		t.Errorf("a 4 s old monitor's 15m window covers %.2f s", s)
	}
}

// TestPerfCounterWindows advances PerfSource counters at known rates, with
// samples at each period start, and checks the per-window rates.
func TestPerfCounterWindows(t *testing.T) {
	clk := &perfClock{}
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clk.set(start)
	src := &perfCounters{vals: map[string]float64{"actor.shard.commands_total": 0, "actor.shard.journal_batches_total": 0,
		PerfKeyJournalSeconds: 0, PerfKeyShards: 4, "store.pebble.commit_latency_p99_micros": 900, "store.pebble.commits_total": 0}}
	m := newPerfMonitor(PerfOptions{Source: src}, clk.now)
	// 20 minutes: 1,000 commands/s in 100 batches/s for the first 15, then 4,000/s in 100 batches/s
	for sec := 1; sec <= 20*60; sec++ {
		cmds := 1000.0
		if sec > 15*60 {
			cmds = 4000
		}
		src.add("actor.shard.commands_total", cmds)
		src.add("actor.shard.journal_batches_total", 100)
		src.add(PerfKeyJournalSeconds, 0.5) // 5 ms a batch
		src.add("store.pebble.commits_total", 100)
		now := start.Add(time.Duration(sec) * time.Second)
		clk.set(now)
		if now.UnixNano()%perfSlotNanos == 0 {
			m.sampleAt(now)
		}
	}
	clk.set(start.Add(20*time.Minute + 5*time.Second)) // counters stand still for 5 s
	rep := m.Report()
	for _, name := range []string{"1m", "5m", "15m"} {
		w := rep.Windows[name]
		moved := w.Seconds - 5 // seconds in which the counters moved
		var cmds float64       // commands in the window
		for s := 20*60 - moved + 1; s <= 20*60; s++ {
			if s > 15*60 {
				cmds += 4000
			} else {
				cmds += 1000
			}
		}
		sh := w.Actors["shard"]
		if got, want := sh["commands_per_second"], cmds/w.Seconds; math.Abs(got-want) > 1e-6*want {
			t.Errorf("%s: %.3f commands/s, want %.3f", name, got, want)
		}
		if got, want := sh["commands_per_batch"], cmds/(moved*100); math.Abs(got-want) > 1e-6*want {
			t.Errorf("%s: %.3f commands per batch, want %.3f", name, got, want)
		}
		if got := sh["journal_batch_mean_micros"]; math.Abs(got-5000) > 1e-3 {
			t.Errorf("%s: journal batch mean %.3fµs, want 5000", name, got)
		}
		if got, want := w.Stores["pebble"]["commits_per_second"], moved*100/w.Seconds; math.Abs(got-want) > 1e-6*want {
			t.Errorf("%s: pebble commits %.3f/s, want %.3f", name, got, want)
		}
		var journal *PerfComponent
		for i := range w.Components {
			if w.Components[i].Name == "journal_sync" {
				journal = &w.Components[i]
			}
		}
		if journal == nil || journal.Lanes != 4 || math.Abs(journal.BusySeconds-moved*0.5) > 1e-6 {
			t.Errorf("%s: journal component %+v, want %v busy seconds on 4 lanes", name, journal, moved*0.5)
		}
	}
	if rep.Stores["pebble"]["commit_latency_p99_micros"] != 900 {
		t.Errorf("store values are not passed through: %v", rep.Stores)
	}
}

func TestPerfBottleneck(t *testing.T) {
	base := func() perfDelta {
		return perfDelta{seconds: 60, procs: 2, counters: map[string]float64{}, latest: map[string]float64{PerfKeyShards: 4}}
	}
	for _, tc := range []struct {
		name string
		set  func(d *perfDelta)
		want string
	}{
		{"idle", func(d *perfDelta) {}, "none"},
		{"journal saturated, http busier in seconds", func(d *perfDelta) {
			d.requestSec, d.backendSec = 300, 200   // http: 100 s on 2 lanes = 0.83
			d.counters[PerfKeyJournalSeconds] = 230 // 230 s on 4 lanes = 0.96
			d.counters[PerfKeyApplySeconds] = 20
			d.gcCPUSec = 5
		}, "journal_sync"},
		{"edge CPU bound", func(d *perfDelta) {
			d.requestSec, d.backendSec = 400, 100 // 300 s on 2 lanes = 2.5: queueing for CPUs
			d.counters[PerfKeyJournalSeconds] = 100
			d.gcCPUSec = 10
		}, "http"},
		{"one hot shard applying", func(d *perfDelta) {
			d.latest[PerfKeyShards] = 1
			d.requestSec, d.backendSec = 100, 90
			d.counters[PerfKeyApplySeconds] = 55 // 55 s on min(1, 2) lane = 0.92
			d.counters[PerfKeyJournalSeconds] = 30
		}, "actor_apply"},
		{"redis round trips", func(d *perfDelta) {
			d.counters[PerfKeyRedisSeconds] = 200
			d.counters[PerfKeyJournalSeconds] = 50
			d.requestSec, d.backendSec = 50, 45
		}, "redis"},
		{"garbage", func(d *perfDelta) {
			d.requestSec, d.backendSec = 20, 10
			d.gcCPUSec = 70
		}, "gc"},
	} {
		d := base()
		tc.set(&d)
		cs := perfComponents(d)
		b := bottleneckOf(cs, d.seconds)
		if b.Component != tc.want {
			t.Errorf("%s: bottleneck %s (%+v), want %s", tc.name, b.Component, cs, tc.want)
		}
		for _, c := range cs {
			if want := c.BusySeconds / d.seconds / c.Lanes; math.Abs(c.Utilization-want) > 1e-9 || c.Utilization > b.Utilization {
				t.Errorf("%s: %s utilization %.3f, want busy/seconds/lanes %.3f and at most the bottleneck's %.3f",
					tc.name, c.Name, c.Utilization, want, b.Utilization)
			}
		}
	}
	// components the source does not report are left out, not shown as idle
	d := base()
	for _, c := range perfComponents(d) {
		if c.Name != "http" && c.Name != "gc" {
			t.Errorf("component %s listed without its counter", c.Name)
		}
	}
}

// TestPerfBackendTiming: the wrapped Backend's call time is subtracted
// from handler time in the http component.
func TestPerfBackendTiming(t *testing.T) {
	clk := &perfClock{}
	start := time.Now()
	clk.set(start)
	m := newPerfMonitor(PerfOptions{}, clk.now)
	b := m.attach(&perfBackend0{delay: 20 * time.Millisecond})
	for range 5 {
		t0 := time.Now()
		_, _, _ = b.Hold(context.Background(), seatmap.HoldRequest{})
		m.observe(routeCreateHold, 409, time.Now(), time.Since(t0)+time.Millisecond) // 1 ms of "edge" work each
	}
	clk.set(start.Add(2 * time.Second))
	var http *PerfComponent
	w := m.Report().Windows["1m"]
	for i := range w.Components {
		if w.Components[i].Name == "http" {
			http = &w.Components[i]
		}
	}
	if http == nil || math.Abs(http.BusySeconds-0.005) > 0.0005 {
		t.Fatalf("http component %+v, want 5 ms busy (5 × 1 ms outside the Backend)", http)
	}
	if got := float64(m.backendNanos.Load()) / 1e9; got < 0.1 {
		t.Fatalf("backend time %.3f s, want at least 5 × 20 ms", got)
	}
}

// TestPerfMetricsText checks the /metrics families: well-formed lines, one
// TYPE per family, declared before its samples.
func TestPerfMetricsText(t *testing.T) {
	m := NewPerfMonitor(PerfOptions{Source: MergePerf(
		PerfFunc(func() map[string]float64 {
			return map[string]float64{"actor.shard.commands_total": 7, PerfKeyShards: 1}
		}),
		StorePerf("redis", func() map[string]float64 { return map[string]float64{"apply_latency_p99_micros": 800, "healthy": 1} }),
		nil)})
	defer m.Close()
	m.attach(&perfBackend0{})
	m.observe(routeGetShow, 200, time.Now(), 700*time.Microsecond)
	w := getWriter()
	m.writeMetrics(w)
	text := string(w.b)
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
	var nilMon *PerfMonitor
	w2 := getWriter()
	nilMon.writeMetrics(w2)
	nilMon.observe(routeGetShow, 200, time.Now(), time.Millisecond)
	if len(w2.b) != 0 {
		t.Error("a nil monitor wrote metrics")
	}
}

// TestPerfHistogramLayout: every value falls in a bucket whose top is at
// or above it and within 3.2% of it.
func TestPerfHistogramLayout(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	check := func(v int64) {
		i := perfBucketOf(v)
		if i < 0 || i >= perfBuckets {
			t.Fatalf("value %d: bucket %d out of range", v, i)
		}
		top := perfBucketTop(i)
		if top < v || float64(top-v) > float64(v)*0.032 {
			t.Fatalf("value %d: bucket %d tops at %d", v, i, top)
		}
		if i > 0 && perfBucketTop(i-1) >= v {
			t.Fatalf("value %d: the previous bucket tops at %d", v, perfBucketTop(i-1))
		}
	}
	for v := int64(0); v < 5000; v++ {
		check(v)
	}
	for range 100_000 {
		check(rng.Int64N(perfMaxValue + 1))
	}
	check(perfMaxValue)
}

// TestPerfConcurrent: observers, the sampler and reporters at once (run
// with -race); nothing is lost.
func TestPerfConcurrent(t *testing.T) {
	m := NewPerfMonitor(PerfOptions{})
	defer m.Close()
	var sent atomic.Uint64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m.observe(routeID(1+(g+i)%int(numRoutes-1)), 200, time.Now(), time.Duration(i%5000)*time.Microsecond)
				sent.Add(1)
			}
		}()
	}
	for range 5 {
		m.sampleAt(time.Now())
		w := getWriter()
		m.writeMetrics(w)
		putWriter(w)
	}
	close(stop)
	wg.Wait()
	var got uint64
	for _, r := range m.Report().Windows["15m"].Routes {
		got += r.Count
	}
	if got != sent.Load() {
		t.Fatalf("windows count %d requests, %d observed", got, sent.Load())
	}
}
