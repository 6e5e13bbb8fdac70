package perf

import (
	"math"
	"testing"
)

func TestBottleneck(t *testing.T) {
	base := func() windowDelta {
		return windowDelta{seconds: 60, procs: 2, counters: map[string]float64{}, latest: map[string]float64{KeyShards: 4}}
	}
	for _, tc := range []struct {
		name string
		set  func(d *windowDelta)
		want string
	}{
		{"idle", func(d *windowDelta) {}, "none"},
		{"journal saturated, http busier in seconds", func(d *windowDelta) {
			d.requestSec, d.backendSec = 300, 200 // http: 100 s on 2 lanes = 0.83
			d.counters[KeyJournalSeconds] = 230   // 230 s on 4 lanes = 0.96
			d.counters[KeyApplySeconds] = 20
			d.gcCPUSec = 5
		}, "journal_sync"},
		{"edge CPU bound", func(d *windowDelta) {
			d.requestSec, d.backendSec = 400, 100 // 300 s on 2 lanes = 2.5: queueing for CPUs
			d.counters[KeyJournalSeconds] = 100
			d.gcCPUSec = 10
		}, "http"},
		{"one hot shard applying", func(d *windowDelta) {
			d.latest[KeyShards] = 1
			d.requestSec, d.backendSec = 100, 90
			d.counters[KeyApplySeconds] = 55 // 55 s on min(1, 2) lane = 0.92
			d.counters[KeyJournalSeconds] = 30
		}, "actor_apply"},
		{"redis round trips", func(d *windowDelta) {
			d.counters[KeyRedisSeconds] = 200
			d.counters[KeyJournalSeconds] = 50
			d.requestSec, d.backendSec = 50, 45
		}, "redis"},
		{"garbage", func(d *windowDelta) {
			d.requestSec, d.backendSec = 20, 10
			d.gcCPUSec = 70
		}, "gc"},
	} {
		d := base()
		tc.set(&d)
		cs := components(d)
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
	for _, c := range components(d) {
		if c.Name != "http" && c.Name != "gc" {
			t.Errorf("component %s listed without its counter", c.Name)
		}
	}
}
