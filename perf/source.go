package perf

import "math"

// Source supplies the booking core's figures to the monitor, by name.
//
// Keys are "actor.<kind>.<name>" (per actor kind: "shard", "relay", ...) and
// "store.<store>.<name>" (pass-through of a store's metrics: "pebble",
// "redis", "rocketmq"). A name ending in "_total" is a cumulative counter
// (never decreasing): the monitor reports its rate per second over each
// window. Any other name is an instantaneous value, reported as it is. The
// keys the bottleneck analysis reads are the Key constants; all others
// are optional and passed through.
//
// PerfStats is called every 10 s from the monitor's sampler goroutine and on
// every /v1/admin/perf or /metrics request, possibly concurrently: it must be
// safe for concurrent use, return quickly (no IO) and return a map the
// caller may keep.
type Source interface {
	PerfStats() map[string]float64
}

// Keys of PerfStats that the bottleneck analysis reads.
const (
	// KeyApplySeconds: seconds shard actors spent applying commands to
	// their seat maps (summed over shards).
	KeyApplySeconds = "actor.shard.apply_seconds_total"
	// KeyJournalSeconds: seconds spent in Journal.Append, i.e. writing and
	// syncing batches (summed over shards; Stats.JournalMicros / 1e6).
	KeyJournalSeconds = "actor.shard.journal_seconds_total"
	// KeyRedisSeconds: seconds spent waiting on Redis round trips (summed
	// over callers).
	KeyRedisSeconds = "store.redis.seconds_total"
	// KeyShards: shard actors alive on this node now: the lanes of the
	// three components above (each shard applies, journals and checkpoints
	// one batch at a time).
	KeyShards = "actor.shard.active"
)

// Func adapts a function to Source.
type Func func() map[string]float64

// PerfStats calls f.
func (f Func) PerfStats() map[string]float64 { return f() }

// StoreSource returns a Source that names every value of values()
// "store.<name>.<key>", e.g. StoreSource("pebble", store.Metrics).
func StoreSource(name string, values func() map[string]float64) Source {
	return Func(func() map[string]float64 {
		in := values()
		out := make(map[string]float64, len(in))
		for k, v := range in {
			out["store."+name+"."+k] = v
		}
		return out
	})
}

// Merge returns a Source with the values of all sources; on equal
// keys the later source wins. Nil sources are skipped.
func Merge(sources ...Source) Source {
	return Func(func() map[string]float64 {
		out := map[string]float64{}
		for _, s := range sources {
			if s == nil {
				continue
			}
			for k, v := range s.PerfStats() {
				out[k] = v
			}
		}
		return out
	})
}

// Backend is what the monitor reads of the booking core the HTTP layer
// serves (edge.Backend has both methods): Gauges for its default Source,
// Status for readiness on /metrics. Both must be safe for concurrent use.
type Backend interface {
	// Status reports whether the node serves and each component's state
	// ("ok" or another word).
	Status() (ready bool, components map[string]string)
	// Gauges are the core's counters and values by name (see backendKeys).
	Gauges() map[string]float64
}

// backendKeys maps Backend.Gauges names to Source keys.
var backendKeys = map[string]string{
	"commands_total":        "actor.shard.commands_total",
	"journal_batches_total": "actor.shard.journal_batches_total",
	"journal_records_total": "actor.shard.journal_records_total",
	"journal_errors_total":  "actor.shard.journal_errors_total",
	"journal_seconds_total": KeyJournalSeconds,
	"shards_active":         KeyShards,
	"mailbox_depth":         "actor.shard.mailbox_depth",
	"holds_active":          "actor.shard.holds_active",
}

// BackendSource is the Source of a Backend that is not one itself: the
// actor figures its Gauges already report (commands, journal batches and
// seconds, shards), renamed to Source keys.
func BackendSource(b Backend) Source {
	return Func(func() map[string]float64 {
		g := b.Gauges()
		out := make(map[string]float64, len(backendKeys))
		for from, to := range backendKeys {
			if v, ok := g[from]; ok {
				out[to] = v
			}
		}
		return out
	})
}

// safeStats calls src (nil: no figures) and drops NaN and infinite values.
func safeStats(src Source) map[string]float64 {
	if src == nil {
		return map[string]float64{}
	}
	in := src.PerfStats()
	out := make(map[string]float64, len(in))
	for k, v := range in {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}
