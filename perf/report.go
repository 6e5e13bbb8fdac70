package perf

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is the answer of GET /v1/admin/perf.
type Report struct {
	At            time.Time                     `json:"at"`
	UptimeSeconds float64                       `json:"uptime_seconds"` // of the monitor
	GOMAXPROCS    int                           `json:"gomaxprocs"`
	NumCPU        int                           `json:"num_cpu"`
	Process       Process                       `json:"process"`
	Actors        map[string]map[string]float64 `json:"actors"` // kind -> instantaneous values and counters
	Stores        map[string]map[string]float64 `json:"stores"` // store -> its metrics, passed through
	Windows       map[string]*Window            `json:"windows"`
	Definitions   map[string]string             `json:"definitions"`
}

// Process is the process now.
type Process struct {
	CPUSecondsTotal  float64 `json:"cpu_seconds_total"`
	HeapObjectsBytes uint64  `json:"heap_objects_bytes"`
	HeapGoalBytes    uint64  `json:"heap_goal_bytes"`
	MemoryTotalBytes uint64  `json:"memory_total_bytes"` // everything the Go runtime mapped
	Goroutines       uint64  `json:"goroutines"`
	GCCyclesTotal    uint64  `json:"gc_cycles_total"`
}

// Window is everything measured over one window.
type Window struct {
	Seconds    float64                       `json:"seconds"`
	Routes     []RouteStats                  `json:"routes"` // routes with requests, busiest first
	Actors     map[string]map[string]float64 `json:"actors"` // kind -> "<counter>_per_second" and derived ratios
	Stores     map[string]map[string]float64 `json:"stores"` // store -> "<counter>_per_second"
	Process    ProcessWindow                 `json:"process"`
	Components []Component                   `json:"components"`
	Bottleneck Bottleneck                    `json:"bottleneck"`
}

// ProcessWindow is the process over a window.
type ProcessWindow struct {
	CPUCores       float64 `json:"cpu_cores"`       // CPU seconds per second
	CPUUtilization float64 `json:"cpu_utilization"` // cpu_cores / num_cpu
	GCCPUCores     float64 `json:"gc_cpu_cores"`
	GCCycles       uint64  `json:"gc_cycles"`
	GCPause        Dist    `json:"gc_pause"`      // stop-the-world pauses
	SchedLatency   Dist    `json:"sched_latency"` // runnable goroutines waiting for a CPU
}

// Report measures now; it is what GET /v1/admin/perf answers.
func (m *Monitor) Report() *Report { return m.reportAt(m.now()) }

func (m *Monitor) reportAt(now time.Time) *Report {
	procs := runtime.GOMAXPROCS(0)
	p := periodOf(now)
	m.mu.Lock()
	cur := m.takeSampleLocked(now)
	var bases [len(windows)]sample
	for i, w := range windows {
		bases[i] = m.baseLocked(p - int64(w.slots))
	}
	m.mu.Unlock()
	rep := &Report{At: now.UTC(), UptimeSeconds: now.Sub(m.start).Seconds(), GOMAXPROCS: procs, NumCPU: runtime.NumCPU(),
		Process: Process{CPUSecondsTotal: cur.cpuSeconds, HeapObjectsBytes: cur.rt.heapObjects, HeapGoalBytes: cur.rt.heapGoal,
			MemoryTotalBytes: cur.rt.memTotal, Goroutines: cur.rt.goroutines, GCCyclesTotal: cur.rt.gcCycles},
		Actors: groupStats(cur.stats, "actor.", ""), Stores: groupStats(cur.stats, "store.", ""),
		Windows: map[string]*Window{}, Definitions: definitions}
	seconds := make([]float64, len(windows))
	for i, w := range windows {
		from := time.Unix(0, (p-int64(w.slots))*slotNanos)
		if from.Before(m.start) {
			from = m.start
		}
		seconds[i] = now.Sub(from).Seconds()
	}
	var byRoute [][len(windows)]RouteStats
	if t := m.routes.Load(); t != nil {
		byRoute = make([][len(windows)]RouteStats, len(t.rings))
		for r := range t.rings {
			byRoute[r] = t.routeWindows(r, p, seconds)
		}
	}
	for i, w := range windows {
		d := deltaOf(cur, bases[i], procs)
		win := &Window{Seconds: seconds[i], Actors: windowRates(d, "actor."), Stores: windowRates(d, "store."),
			Process: ProcessWindow{GCCycles: d.gcCycles, GCPause: d.gcPauses, SchedLatency: d.schedLatency}}
		if d.seconds > 0 {
			win.Process.CPUCores = d.cpuSec / d.seconds
			win.Process.CPUUtilization = win.Process.CPUCores / float64(rep.NumCPU)
			win.Process.GCCPUCores = d.gcCPUSec / d.seconds
		}
		for r := range byRoute {
			if rs := byRoute[r][i]; rs.Count > 0 {
				win.Routes = append(win.Routes, rs)
			}
		}
		slices.SortStableFunc(win.Routes, func(a, b RouteStats) int { return cmp.Compare(b.Count, a.Count) })
		win.Components = components(d)
		win.Bottleneck = bottleneckOf(win.Components, d.seconds)
		rep.Windows[w.name] = win
	}
	return rep
}

// groupStats groups the keys "<prefix><group>.<name>" by group; suffix is
// appended to every name.
func groupStats(stats map[string]float64, prefix, suffix string) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for k, v := range stats {
		group, name, ok := splitKey(k, prefix)
		if !ok {
			continue
		}
		if out[group] == nil {
			out[group] = map[string]float64{}
		}
		out[group][name+suffix] = v
	}
	return out
}

// splitKey splits "<prefix><group>.<name>".
func splitKey(k, prefix string) (group, name string, ok bool) {
	rest, found := strings.CutPrefix(k, prefix)
	if !found {
		return "", "", false
	}
	group, name, ok = strings.Cut(rest, ".")
	return group, name, ok && group != "" && name != ""
}

// windowRates turns the counters under prefix into "<name>_per_second"
// (name without "_total"), per group, and adds per-batch ratios for the
// shard kind.
func windowRates(d windowDelta, prefix string) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for k, v := range d.counters {
		group, name, ok := splitKey(k, prefix)
		if !ok || d.seconds <= 0 {
			continue
		}
		if out[group] == nil {
			out[group] = map[string]float64{}
		}
		out[group][strings.TrimSuffix(name, "_total")+"_per_second"] = v / d.seconds
	}
	if prefix == "actor." && out["shard"] != nil {
		if b := d.counters["actor.shard.journal_batches_total"]; b > 0 {
			out["shard"]["commands_per_batch"] = d.counters["actor.shard.commands_total"] / b
			out["shard"]["journal_batch_mean_micros"] = d.counters[KeyJournalSeconds] / b * 1e6
		}
	}
	return out
}
