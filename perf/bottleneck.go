package perf

import (
	"strconv"
	"strings"
)

// Component is one part of the request path over a window.
type Component struct {
	Name        string  `json:"name"`
	BusySeconds float64 `json:"busy_seconds"`
	Share       float64 `json:"share"`       // busy_seconds / window seconds: how many were busy at once, on average
	Lanes       float64 `json:"lanes"`       // how many can be busy at once
	Utilization float64 `json:"utilization"` // share / lanes; at or above 1 work queues for the component
	MeasuredBy  string  `json:"measured_by"`
}

// Bottleneck names the component with the highest utilization.
type Bottleneck struct {
	Component   string  `json:"component"` // "none" when nothing was busy
	Utilization float64 `json:"utilization"`
	Share       float64 `json:"share"`
	Explanation string  `json:"explanation"`
}

// definitions explain the analysis in every answer.
var definitions = map[string]string{
	"share":        "busy seconds of a component in the window divided by the window's seconds: the average number of goroutines/shards busy in it at once (components overlap: a request waiting on the journal is not busy in http)",
	"lanes":        "how many can be busy in the component at once: GOMAXPROCS for CPU work done anywhere (http, gc), min(shards, GOMAXPROCS) for actor_apply (one turn per shard at a time, on a CPU), shards for journal_sync and redis (each shard writes one batch at a time)",
	"utilization":  "share / lanes; near or above 1 the component is saturated and work queues in front of it",
	"bottleneck":   "the component with the highest utilization over the window (ties: the first listed); \"none\" when no component was busy at all",
	"http":         "time inside the edge's request handlers minus time inside Backend calls: routing, parsing, validation, rate limiting, JSON encoding (and waiting for a CPU while doing so)",
	"actor_apply":  "actor.shard.apply_seconds_total from the PerfSource: shards applying commands to their seat maps (absent when the source does not report it)",
	"journal_sync": "actor.shard.journal_seconds_total from the PerfSource: Journal.Append, i.e. writing and syncing one batch per turn",
	"redis":        "store.redis.seconds_total from the PerfSource: Redis round trips (absent without Redis)",
	"gc":           "GC CPU time from runtime/metrics (/cpu/classes/gc/total minus the idle-time mark workers, which use otherwise idle CPUs)",
}

// windowDelta is what happened between two samples.
type windowDelta struct {
	seconds                float64
	requestSec, backendSec float64
	cpuSec, gcCPUSec       float64
	gcCycles               uint64
	gcPauses, schedLatency Dist
	counters               map[string]float64 // Δ of every "_total" key present in both samples
	latest                 map[string]float64 // the current stats
	procs                  int
}

func deltaOf(cur, base sample, procs int) windowDelta {
	d := windowDelta{seconds: cur.at.Sub(base.at).Seconds(), procs: procs,
		requestSec: float64(cur.requestNanos-base.requestNanos) / 1e9,
		backendSec: float64(cur.backendNanos-base.backendNanos) / 1e9,
		cpuSec:     cur.cpuSeconds - base.cpuSeconds,
		gcCPUSec:   (cur.rt.gcCPU - cur.rt.gcIdleCPU) - (base.rt.gcCPU - base.rt.gcIdleCPU),
		gcCycles:   cur.rt.gcCycles - min(cur.rt.gcCycles, base.rt.gcCycles),
		gcPauses:   dist(cur.rt.gcPauses, base.rt.gcPauses), schedLatency: dist(cur.rt.schedLatency, base.rt.schedLatency),
		counters: map[string]float64{}, latest: cur.stats}
	for k, v := range cur.stats {
		if b, ok := base.stats[k]; ok && strings.HasSuffix(k, "_total") {
			d.counters[k] = max(v-b, 0)
		}
	}
	return d
}

// components returns the components measured in d, in a fixed order.
func components(d windowDelta) []Component {
	procs := float64(max(d.procs, 1))
	shards := max(d.latest[KeyShards], 1)
	var out []Component
	add := func(name string, busy, lanes float64, by string) {
		c := Component{Name: name, BusySeconds: max(busy, 0), Lanes: lanes, MeasuredBy: by}
		if d.seconds > 0 {
			c.Share = c.BusySeconds / d.seconds
			c.Utilization = c.Share / lanes
		}
		out = append(out, c)
	}
	add("http", d.requestSec-d.backendSec, procs, "edge: handler time - Backend call time")
	if v, ok := d.counters[KeyApplySeconds]; ok {
		add("actor_apply", v, min(shards, procs), KeyApplySeconds)
	}
	if v, ok := d.counters[KeyJournalSeconds]; ok {
		add("journal_sync", v, shards, KeyJournalSeconds)
	}
	if v, ok := d.counters[KeyRedisSeconds]; ok {
		add("redis", v, shards, KeyRedisSeconds)
	}
	add("gc", d.gcCPUSec, procs, "runtime/metrics GC CPU")
	return out
}

// bottleneckOf picks the component with the highest utilization.
func bottleneckOf(cs []Component, seconds float64) Bottleneck {
	best := -1
	for i, c := range cs {
		if c.BusySeconds > 0 && (best < 0 || c.Utilization > cs[best].Utilization) {
			best = i
		}
	}
	if best < 0 {
		return Bottleneck{Component: "none", Explanation: "no component was busy in the window"}
	}
	c := cs[best]
	return Bottleneck{Component: c.Name, Utilization: c.Utilization, Share: c.Share,
		Explanation: c.Name + " was busy " + strconv.FormatFloat(c.BusySeconds, 'f', 2, 64) + " s over the last " +
			strconv.FormatFloat(seconds, 'f', 0, 64) + " s, " + strconv.FormatFloat(c.Utilization*100, 'f', 0, 64) +
			"% of its " + strconv.FormatFloat(c.Lanes, 'f', 0, 64) + " lane(s): the highest utilization of any component"}
}
