package perf

import (
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestJSONShape decodes a real answer generically and checks every
// documented field is there.
func TestJSONShape(t *testing.T) {
	m := New(Options{})
	defer m.Close()
	m.Attach(testRoutes, &testBackend{gauges: map[string]float64{"commands_total": 10, "shards_active": 2, "journal_seconds_total": 0.5}})
	m.Observe(testCreateHold, 409, time.Now(), 3*time.Millisecond)
	body, err := json.Marshal(m.Report())
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
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

// TestWindows observes requests at chosen ages on a fake clock and
// checks each window counts exactly those inside it, with quantiles within
// one bucket of the exact ones.
func TestWindows(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	clk := &testClock{}
	start := time.Date(2025, 3, 1, 12, 0, 3, 0, time.UTC) // 3 s into a period
	clk.set(start)
	m := newMonitor(Options{}, clk.now)
	m.Attach(testRoutes, nil)
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
			m.Observe(testCreateHold, status, now.Add(-groups[g].age), time.Duration(us)*time.Microsecond)
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
		nominal := float64(windows[wi].slots * 10)
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
	young := newMonitor(Options{}, clk.now)
	clk.set(now.Add(4 * time.Second))
	if s := young.Report().Windows["15m"].Seconds; s < 3.99 || s > 4.01 {
		t.Errorf("a 4 s old monitor's 15m window covers %.2f s", s)
	}
}

// TestCounterWindows advances Source counters at known rates, with
// samples at each period start, and checks the per-window rates.
func TestCounterWindows(t *testing.T) {
	clk := &testClock{}
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clk.set(start)
	src := &testCounters{vals: map[string]float64{"actor.shard.commands_total": 0, "actor.shard.journal_batches_total": 0,
		KeyJournalSeconds: 0, KeyShards: 4, "store.pebble.commit_latency_p99_micros": 900, "store.pebble.commits_total": 0}}
	m := newMonitor(Options{Source: src}, clk.now)
	// 20 minutes: 1,000 commands/s in 100 batches/s for the first 15, then 4,000/s in 100 batches/s
	for sec := 1; sec <= 20*60; sec++ {
		cmds := 1000.0
		if sec > 15*60 {
			cmds = 4000
		}
		src.add("actor.shard.commands_total", cmds)
		src.add("actor.shard.journal_batches_total", 100)
		src.add(KeyJournalSeconds, 0.5) // 5 ms a batch
		src.add("store.pebble.commits_total", 100)
		now := start.Add(time.Duration(sec) * time.Second)
		clk.set(now)
		if now.UnixNano()%slotNanos == 0 {
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
		var journal *Component
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

// TestConcurrent: observers, the sampler and reporters at once (run
// with -race); nothing is lost.
func TestConcurrent(t *testing.T) {
	m := New(Options{})
	defer m.Close()
	m.Attach(testRoutes, &testBackend{})
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
				m.Observe(1+(g+i)%(numTestRoutes-1), 200, time.Now(), time.Duration(i%5000)*time.Microsecond)
				sent.Add(1)
			}
		}()
	}
	for range 5 {
		m.sampleAt(time.Now())
		if len(m.AppendMetrics(nil)) == 0 {
			t.Error("no metrics")
		}
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

// TestBackendTime: time reported to ObserveBackend is subtracted from
// handler time in the http component.
func TestBackendTime(t *testing.T) {
	clk := &testClock{}
	start := time.Date(2025, 3, 1, 12, 0, 1, 0, time.UTC)
	clk.set(start)
	m := newMonitor(Options{}, clk.now)
	m.Attach(testRoutes, nil)
	for range 5 {
		m.ObserveBackend(20 * time.Millisecond)
		m.Observe(testCreateHold, 409, start, 21*time.Millisecond) // 1 ms of "edge" work each
	}
	clk.set(start.Add(2 * time.Second))
	var http *Component
	w := m.Report().Windows["1m"]
	for i := range w.Components {
		if w.Components[i].Name == "http" {
			http = &w.Components[i]
		}
	}
	if http == nil || math.Abs(http.BusySeconds-0.005) > 1e-9 {
		t.Fatalf("http component %+v, want 5 ms busy (5 × 1 ms outside the Backend)", http)
	}
}

// sourceBackend is a Backend that is also a Source.
type sourceBackend struct{ testBackend }

func (sourceBackend) PerfStats() map[string]float64 { return map[string]float64{"actor.shard.own": 7} }

// TestAttach: the route table of the first Attach is kept, requests outside
// it count only as http time, and the Source defaults to the Backend.
func TestAttach(t *testing.T) {
	clk := &testClock{}
	start := time.Date(2025, 3, 1, 12, 0, 1, 0, time.UTC)
	clk.set(start)
	gauges := &testBackend{gauges: map[string]float64{"shards_active": 3, "unknown_gauge": 1}}
	for _, tc := range []struct {
		name   string
		opt    Options
		b      Backend
		actors map[string]float64 // want Report().Actors["shard"]
	}{
		{"gauges renamed", Options{}, gauges, map[string]float64{"active": 3}},
		{"backend is a source", Options{}, &sourceBackend{}, map[string]float64{"own": 7}},
		{"options source wins", Options{Source: Func(func() map[string]float64 { return map[string]float64{"actor.shard.opt": 1} })},
			&sourceBackend{}, map[string]float64{"opt": 1}},
		{"no backend", Options{}, nil, nil},
	} {
		m := newMonitor(tc.opt, clk.now)
		m.Observe(testGetShow, 200, start, time.Millisecond) // before Attach: no table
		m.Attach(testRoutes, tc.b)
		m.Attach([]Route{{"GET", "/other"}}, tc.b) // ignored: the first table stays
		m.Observe(testGetShow, 200, start, 2*time.Millisecond)
		m.Observe(-1, 200, start, 3*time.Millisecond)
		m.Observe(numTestRoutes, 200, start, 4*time.Millisecond)
		clk.set(start.Add(time.Second))
		rep := m.Report()
		w := rep.Windows["1m"]
		if len(w.Routes) != 1 || w.Routes[0].Route != "/v1/shows/{show}" || w.Routes[0].Count != 1 || w.Routes[0].MaxMicros != 2000 {
			t.Errorf("%s: routes %+v, want the one GET /v1/shows/{show} of 2 ms", tc.name, w.Routes)
		}
		if http := w.Components[0]; http.Name != "http" || math.Abs(http.BusySeconds-0.010) > 1e-9 {
			t.Errorf("%s: http component %+v, want the 10 ms of all four requests", tc.name, http)
		}
		if got := rep.Actors["shard"]; !maps.Equal(got, tc.actors) {
			t.Errorf("%s: actors.shard %v, want %v", tc.name, got, tc.actors)
		}
		clk.set(start)
	}
}
