package fill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/boxoffice/boxoffice/persistence/redis"
	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
	pebbledb "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	goredis "github.com/redis/go-redis/v9"
)

const (
	show     = "fill"
	gaCap    = 2_000_000
	rows     = 200 // seated: 200 rows of 1,000 seats
	perRow   = 1000
	callers  = 64
	seatedIn = 10 // one hold in seatedIn is a best-available seat in the seated section
)

// placement resolves the one show to its one actor.
type placement struct{ pid *actor.PID }

func (p placement) PID(string, string) (*actor.PID, error) { return p.pid, nil }
func (p placement) Forget(string, string, *actor.PID)      {}
func (p placement) Local(*actor.PID) bool                  { return true }

// node is one in-process boxoffice node serving the show.
type node struct {
	sys   *actor.ActorSystem
	env   *actors.Env
	store *pebble.Store
	pid   *actor.PID
	book  *actors.Booking
	open  time.Duration // how long its store took to open
	// redisInfo reads the numbers of redis-server's INFO (nil without Redis):
	// the fill prints, per tenth, what Redis did beside the node.
	redisInfo func() map[string]float64
}

func startNode(b *testing.B, dir string, remote actors.Remote) *node {
	b.Helper()
	t0 := time.Now()
	st, err := pebble.Open(pebble.Options{Dir: dir, Tune: tuneFromEnv(b)})
	if err != nil {
		b.Fatal(err)
	}
	opened := time.Since(t0)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n := &node{sys: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log })), store: st, open: opened}
	n.env = &actors.Env{Journal: actors.NewPebbleJournal(st), Log: log}
	n.env.Registry = actors.KVRegistry{Store: st}
	if remote != nil {
		n.env.Remote = remote
		n.env.Registry = &actors.RemoteRegistry{Remote: remote.(*redis.Client)}
	}
	n.pid = n.sys.Root.Spawn(actors.ShowProps(n.env, show))
	n.book = actors.NewBooking(placement{n.pid}, n.sys, n.env, actors.BookingOptions{RequestTimeout: 30 * time.Second})
	return n
}

func (n *node) stop(b *testing.B) {
	b.Helper()
	_ = n.sys.Root.StopFuture(n.pid).Wait()
	n.env.WaitWriters(10 * time.Second)
	n.sys.Shutdown()
	if err := n.store.Close(); err != nil {
		b.Fatal(err)
	}
}

// tuneFromEnv returns FILL_PEBBLE's changes to the store's Pebble options,
// for trying them on the fill: comma-separated memtable=MiB, l0compact=N
// (L0CompactionThreshold), l0stop=N (L0StopWritesThreshold),
// bytespersync=KiB (BytesPerSync), l0nocompress=1, targetl0=MiB
// (TargetFileSizes[0], the levels below doubling). Nil if unset.
func tuneFromEnv(b *testing.B) func(*pebbledb.Options) {
	v := os.Getenv("FILL_PEBBLE")
	if v == "" {
		return nil
	}
	var set []func(*pebbledb.Options)
	for _, kv := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(val)
		if err != nil {
			b.Fatalf("FILL_PEBBLE: %q: %v", kv, err)
		}
		switch k {
		case "memtable":
			set = append(set, func(o *pebbledb.Options) { o.MemTableSize = uint64(n) << 20 })
		case "l0compact":
			set = append(set, func(o *pebbledb.Options) { o.L0CompactionThreshold = n })
		case "targetl0":
			set = append(set, func(o *pebbledb.Options) {
				o.TargetFileSizes[0] = int64(n) << 20
				for i := 1; i < len(o.TargetFileSizes); i++ {
					o.TargetFileSizes[i] = o.TargetFileSizes[i-1] * 2
				}
			})
		case "bytespersync":
			set = append(set, func(o *pebbledb.Options) { o.BytesPerSync = n << 10 })
		case "l0nocompress":
			set = append(set, func(o *pebbledb.Options) {
				o.Levels[0].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
			})
		case "l0stop":
			set = append(set, func(o *pebbledb.Options) { o.L0StopWritesThreshold = n })
		default:
			b.Fatalf("FILL_PEBBLE: unknown %q", k)
		}
	}
	return func(o *pebbledb.Options) {
		for _, f := range set {
			f(o)
		}
	}
}

func config() seatmap.ShowConfig {
	sec := seatmap.Section{ID: "seated", Tier: "std"}
	for r := 1; r <= rows; r++ {
		sec.Rows = append(sec.Rows, seatmap.Row{ID: strconv.Itoa(r), Seats: perRow})
	}
	return seatmap.ShowConfig{ID: show, Name: "fill", HoldTTLSeconds: seatmap.MaxHoldTTLSeconds,
		Tiers:    []seatmap.Tier{{ID: "std", Price: 5000}, {ID: "ga", Price: 3000}},
		Sections: []seatmap.Section{{ID: "ga", Tier: "ga", Capacity: gaCap}, sec}}
}

// retried counts the holds answered 503 and tried again in a fill.
var retried atomic.Int64

// sample is one answered hold: when it completed and how long it took.
type sample struct {
	doneNs  int64
	latency int32 // µs
}

// bucket is one slice of the fill (100,000 holds at full size).
type bucket struct {
	holds              int
	perSec             float64
	p50, p99, p999, mx time.Duration
}

func holdsTarget() int {
	if v, err := strconv.Atoi(os.Getenv("FILL_HOLDS")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

// fill makes total holds with callers in a closed loop and returns the
// samples of each, in completion order.
func fill(b *testing.B, n *node, total int) []sample {
	ctx := context.Background()
	var next atomic.Int64
	var failed atomic.Int64
	retried.Store(0)
	start := time.Now()
	out := make([][]sample, callers)
	var wg sync.WaitGroup
	if prefix := os.Getenv("FILL_PROFILE"); prefix != "" {
		stop := profileTenths(prefix, &next, total)
		defer stop()
	}
	stopCosts := costTenths(n, &next, total)
	defer func() { printCosts(stopCosts()) }()
	stopEvents := pebbleEvents(n.store, &next)
	defer func() { fmt.Println(stopEvents()) }()
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]sample, 0, total/callers+1)
			for {
				i := next.Add(1)
				if i > int64(total) {
					break
				}
				req := seatmap.HoldRequest{Show: show, User: "u" + strconv.FormatInt(i, 10), Section: "ga", Quantity: 1}
				if i%seatedIn == 0 {
					req.Section = "seated"
				}
				t0 := time.Now()
				_, _, err := n.book.Hold(ctx, req)
				for tries := 1; errors.Is(err, seatmap.ErrUnavailable) && tries < 50; tries++ {
					// a 503 (Redis or the disk did not answer in time): retry as a
					// client does; the latency counts from the first try
					retried.Add(1)
					time.Sleep(20 * time.Millisecond)
					_, _, err = n.book.Hold(ctx, req)
				}
				d := time.Since(t0)
				if err != nil {
					failed.Add(1)
					b.Errorf("hold %d: %v", i, err)
					return
				}
				mine = append(mine, sample{doneNs: int64(time.Since(start)), latency: int32(d.Microseconds())})
			}
			out[c] = mine
		}()
	}
	wg.Wait()
	var all []sample
	for _, m := range out {
		all = append(all, m...)
	}
	slices.SortFunc(all, func(a, b sample) int { return int(a.doneNs - b.doneNs) })
	return all
}

// profileTenths writes a CPU profile of each tenth of the fill (by holds
// issued) to prefix-01.pprof .. prefix-10.pprof (FILL_PROFILE=prefix):
// compare the first and the last.
func profileTenths(prefix string, next *atomic.Int64, total int) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for t := 1; t <= 10; t++ {
			f, err := os.Create(fmt.Sprintf("%s-%02d.pprof", prefix, t))
			if err != nil {
				return
			}
			if pprof.StartCPUProfile(f) != nil {
				_ = f.Close()
				return
			}
			ok := waitIssued(done, next, int64(total)*int64(t)/10)
			pprof.StopCPUProfile()
			_ = f.Close()
			if !ok {
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// waitIssued waits until next reaches n (false: done was closed first).
func waitIssued(done <-chan struct{}, next *atomic.Int64, n int64) bool {
	for next.Load() < n {
		select {
		case <-done:
			return false
		case <-time.After(time.Millisecond):
		}
	}
	return true
}

// cost is what the process and Pebble spent up to a point of the fill.
type cost struct {
	cpu         time.Duration // process CPU, user + system
	gcCPU       time.Duration // of it, the GC's (runtime/metrics estimate)
	gcs         uint64        // GC cycles
	pebble      map[string]float64
	redis       map[string]float64 // redis-server's INFO numbers; nil without Redis
	holdsIssued int64
}

func costNow(n *node, issued int64) cost {
	st := n.store
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return cost{
		cpu:         time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		gcCPU:       time.Duration(s[0].Value.Float64() * 1e9),
		gcs:         s[1].Value.Uint64(),
		pebble:      st.Metrics(),
		redis:       n.readRedisInfo(),
		holdsIssued: issued,
	}
}

func (n *node) readRedisInfo() map[string]float64 {
	if n.redisInfo == nil {
		return nil
	}
	return n.redisInfo()
}

// parseInfo keeps the numeric fields of an INFO reply ("name:value" lines).
func parseInfo(reply string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(reply, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			out[k] = f
		}
	}
	return out
}

// costTenths records the cost at the end of each tenth of the fill (by
// holds issued): 11 points, the first at the start.
func costTenths(n *node, next *atomic.Int64, total int) (stop func() []cost) {
	done := make(chan struct{})
	var out []cost
	finished := make(chan struct{})
	out = append(out, costNow(n, 0))
	go func() {
		defer close(finished)
		for t := 1; t <= 10; t++ {
			if !waitIssued(done, next, int64(total)*int64(t)/10) {
				return
			}
			out = append(out, costNow(n, next.Load()))
		}
	}()
	return func() []cost { close(done); <-finished; return out }
}

// pebbleEvents notes, every 10 ms, where in the fill (holds issued) Pebble
// finished a flush or a compaction, and compares the fill while one runs
// with the fill while none does: holds/s and the mean WAL sync.
func pebbleEvents(st *pebble.Store, next *atomic.Int64) (stop func() string) {
	done := make(chan struct{})
	finished := make(chan struct{})
	var out strings.Builder
	type window struct {
		took          time.Duration
		holds         int64
		syncs, syncUs float64
	}
	var busy, idle window
	go func() {
		defer close(finished)
		var flushes, compactions float64
		prev, prevAt, prevHolds := st.Metrics(), time.Now(), next.Load()
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			m, at, holds := st.Metrics(), time.Now(), next.Load()
			if f := m["pebble_flushes_total"]; f > flushes {
				fmt.Fprintf(&out, " flush@%d", holds)
				flushes = f
			}
			if c := m["pebble_compactions_total"]; c > compactions {
				fmt.Fprintf(&out, " compaction@%d", holds)
				compactions = c
			}
			w := &idle
			if m["pebble_flushes_in_progress"]+m["pebble_compactions_in_progress"] > 0 ||
				m["pebble_flushes_total"]+m["pebble_compactions_total"] > prev["pebble_flushes_total"]+prev["pebble_compactions_total"] {
				w = &busy
			}
			w.took += at.Sub(prevAt)
			w.holds += holds - prevHolds
			w.syncs += m["wal_syncs_total"] - prev["wal_syncs_total"]
			w.syncUs += (m["wal_sync_seconds_total"] - prev["wal_sync_seconds_total"]) * 1e6
			prev, prevAt, prevHolds = m, at, holds
		}
	}()
	return func() string {
		close(done)
		<-finished
		f := func(w window) string {
			return fmt.Sprintf("%s, %.0f holds/s, %.0f holds/sync, WAL sync %.0f µs", w.took.Round(time.Millisecond),
				float64(w.holds)/w.took.Seconds(), float64(w.holds)/max(w.syncs, 1), w.syncUs/max(w.syncs, 1))
		}
		return "pebble:" + out.String() + "\nwhile a flush or compaction runs: " + f(busy) + "\nwhile none runs: " + f(idle)
	}
}

// printCosts prints, per tenth, the process CPU and the GC's share per hold
// and what Pebble did in the background.
func printCosts(cs []cost) {
	fmt.Printf("%9s %9s %8s %4s %7s %7s %7s %9s %9s %8s %4s %6s %8s %8s\n", "holds", "cpu µs/h", "gc µs/h", "gcs", "WAL MB",
		"flushes", "compact", "flush MB", "compct MB", "compct s", "L0", "syncs", "sync µs", "h/commit")
	for i := 1; i < len(cs); i++ {
		a, b := cs[i-1], cs[i]
		h := float64(b.holdsIssued - a.holdsIssued)
		d := func(k string) float64 { return b.pebble[k] - a.pebble[k] }
		syncs := d("wal_syncs_total")
		fmt.Printf("%9d %9.2f %8.2f %4d %7.1f %7.0f %7.0f %9.1f %9.1f %8.2f %4.0f %6.0f %8.0f %8.1f\n", b.holdsIssued,
			float64((b.cpu-a.cpu).Microseconds())/h, float64((b.gcCPU-a.gcCPU).Microseconds())/h, b.gcs-a.gcs,
			d("pebble_wal_bytes_written")/(1<<20), d("pebble_flushes_total"), d("pebble_compactions_total"), d("pebble_flush_bytes_total")/(1<<20),
			d("pebble_compacted_bytes_total")/(1<<20), d("pebble_compaction_seconds_total"), b.pebble["pebble_l0_files"],
			syncs, d("wal_sync_seconds_total")*1e6/max(syncs, 1), h/max(d("commits_total"), 1))
	}
	if cs[0].redis == nil {
		return
	}
	// what redis-server did in each tenth: its CPU per hold, its children's
	// CPU (AOF rewrites) in seconds, bytes it read
	// per hold, AOF rewrites (fork + rewrite of the whole dataset) and the
	// last fork's time, fsyncs of the AOF it had to delay, its memory and AOF size at the tenth's end
	fmt.Printf("%9s %14s %14s %11s %12s %8s %12s %10s %10s\n", "holds", "redis cpu µs/h", "rewrite cpu s", "in B/hold", "aof rewrites",
		"fork ms", "aof delayed", "used MB", "aof MB")
	for i := 1; i < len(cs); i++ {
		a, b := cs[i-1].redis, cs[i].redis
		h := float64(cs[i].holdsIssued - cs[i-1].holdsIssued)
		cpu := (b["used_cpu_user"] + b["used_cpu_sys"] - a["used_cpu_user"] - a["used_cpu_sys"]) * 1e6
		child := max(0, b["used_cpu_user_children"]+b["used_cpu_sys_children"]-a["used_cpu_user_children"]-a["used_cpu_sys_children"])
		fmt.Printf("%9d %14.2f %14.2f %11.0f %12.0f %8.1f %12.0f %10.0f %10.0f\n", cs[i].holdsIssued, cpu/h, child,
			(b["total_net_input_bytes"]-a["total_net_input_bytes"])/h, b["aof_rewrites"]-a["aof_rewrites"],
			b["latest_fork_usec"]/1e3, b["aof_delayed_fsync"]-a["aof_delayed_fsync"], b["used_memory"]/(1<<20), b["aof_current_size"]/(1<<20))
	}
}

// buckets cuts the samples into tenths (of 100,000 at full size).
func buckets(all []sample) []bucket {
	size := max(len(all)/10, 1)
	var out []bucket
	var prevNs int64
	for from := 0; from+size <= len(all); from += size {
		part := all[from : from+size]
		lat := make([]int32, len(part))
		for i, s := range part {
			lat[i] = s.latency
		}
		slices.Sort(lat)
		q := func(p float64) time.Duration {
			return time.Duration(lat[min(len(lat)-1, int(p*float64(len(lat))))]) * time.Microsecond
		}
		end := part[len(part)-1].doneNs
		out = append(out, bucket{holds: from + size, perSec: float64(size) / (float64(end-prevNs) / 1e9),
			p50: q(0.50), p99: q(0.99), p999: q(0.999), mx: time.Duration(lat[len(lat)-1]) * time.Microsecond})
		prevNs = end
	}
	return out
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func runs() []string {
	if v := os.Getenv("FILL_RUNS"); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"pebble", "redis"}
}

// BenchmarkFill fills the show once per run (pebble: the node's journal
// only; redis: with Redis as the authority, as a cluster node runs), prints
// the table per tenth of the fill, the memory per live hold, and the
// recovery of the full show: from Pebble (a restart), and (redis run) from
// Redis alone (a node with an empty disk).
func BenchmarkFill(b *testing.B) {
	actors.TuneGC() // as boxoffice serve runs
	for _, run := range runs() {
		b.Run(run, func(b *testing.B) {
			if b.N > 1 {
				b.Skip("one fill per run: use -benchtime 1x")
			}
			fillRun(b, run == "redis")
		})
	}
}

func fillRun(b *testing.B, withRedis bool) {
	total := holdsTarget()
	ctx := context.Background()
	var rc *redis.Client
	var srv *redistest.Server
	if withRedis {
		// FILL_REDIS_ARGS: redis-server arguments added to redistest's
		// (--appendonly yes --appendfsync everysec --save ""), to try an
		// operator's setting, e.g. "--auto-aof-rewrite-percentage 400"
		srv = redistest.StartServer(b, redistest.WithArgs(strings.Fields(os.Getenv("FILL_REDIS_ARGS"))...))
		var err error
		rc, err = redis.Open(ctx, redis.Options{Addr: srv.Addr()})
		if err != nil {
			b.Fatal(err)
		}
		defer rc.Close()
	}
	dir := b.TempDir()
	var remote actors.Remote
	if rc != nil {
		remote = rc
	}
	n := startNode(b, dir, remote)
	if withRedis {
		info := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
		defer info.Close()
		n.redisInfo = func() map[string]float64 {
			reply, err := info.Info(ctx, "all").Result()
			if err != nil {
				return map[string]float64{}
			}
			return parseInfo(reply)
		}
	}
	if _, err := n.book.CreateShow(ctx, config()); err != nil {
		b.Fatal(err)
	}
	heap0 := heapInUse()
	b.ResetTimer()
	samples := fill(b, n, total)
	b.StopTimer()
	bs := buckets(samples)
	samples = nil
	if len(bs) == 0 {
		b.Fatal("no holds")
	}
	heap1 := heapInUse()
	doc, err := n.book.GetShow(ctx, show)
	if err != nil {
		b.Fatal(err)
	}
	live := doc.HoldsActive
	name := "pebble"
	if withRedis {
		name = "redis"
	}
	fmt.Printf("\nfill (%s): %d holds live (%d GA held, %d seated held), %d callers, GOMAXPROCS %d\n", name, live,
		doc.Sections[0].Held, doc.Sections[1].Held, callers, runtime.GOMAXPROCS(0))
	fmt.Printf("%9s %10s %9s %9s %9s %9s\n", "holds", "holds/s", "p50", "p99", "p99.9", "max")
	for _, x := range bs {
		fmt.Printf("%9d %10.0f %9s %9s %9s %9s\n", x.holds, x.perSec, x.p50.Round(10*time.Microsecond),
			x.p99.Round(10*time.Microsecond), x.p999.Round(10*time.Microsecond), x.mx.Round(10*time.Microsecond))
	}
	if r := retried.Load(); r > 0 {
		fmt.Printf("(%d tries answered 503 unavailable and were tried again; their latency counts from the first try)\n", r)
	}
	first, last := bs[0], bs[len(bs)-1]
	fmt.Printf("last/first: throughput %.2fx, p99 %.2fx, p99.9 %.2fx; slowest hold %s\n", last.perSec/first.perSec,
		float64(last.p99)/float64(first.p99), float64(last.p999)/float64(first.p999), slices.MaxFunc(bs, func(a, b bucket) int { return int(a.mx - b.mx) }).mx)
	perHold := float64(int64(heap1)-int64(heap0)) / float64(live)
	fmt.Printf("memory: process heap %d MiB -> %d MiB: %.0f B per live hold (node: show state, Pebble memtables and caches, everything)\n",
		heap0>>20, heap1>>20, perHold)
	b.ReportMetric(first.perSec, "first-holds/s")
	b.ReportMetric(last.perSec, "last-holds/s")
	b.ReportMetric(float64(first.p99.Microseconds()), "first-p99-µs")
	b.ReportMetric(float64(last.p99.Microseconds()), "last-p99-µs")
	b.ReportMetric(perHold, "heap-B/hold")
	n.stop(b)

	// the show's own state, as an actor holds it: load it alone
	st, err := pebble.Open(pebble.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	h0 := heapInUse()
	var prof *os.File
	if prefix := os.Getenv("FILL_PROFILE"); prefix != "" {
		if prof, err = os.Create(prefix + "-load.pprof"); err == nil {
			_ = pprof.StartCPUProfile(prof)
		}
	}
	t0 := time.Now()
	sh, err := actors.LoadShow(actors.NewPebbleJournal(st), show)
	loadTook := time.Since(t0)
	if prof != nil {
		pprof.StopCPUProfile()
		_ = prof.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	if got := sh.ActiveHolds(); got != live {
		b.Fatalf("recovered %d live holds from Pebble, the show answered %d", got, live)
	}
	h1 := heapInUse()
	fmt.Printf("memory: the show's state alone (loaded from Pebble): %.0f B per live hold\n", float64(int64(h1)-int64(h0))/float64(sh.ActiveHolds()))
	b.ReportMetric(float64(int64(h1)-int64(h0))/float64(sh.ActiveHolds()), "state-B/hold")
	runtime.KeepAlive(sh)
	sh = nil
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("recovery from Pebble: load rows + tail %s", loadTook.Round(time.Millisecond))
	// a restart: a node on the same disk answers its first read
	if prefix := os.Getenv("FILL_PROFILE"); prefix != "" {
		if prof, err = os.Create(prefix + "-restart.pprof"); err == nil {
			_ = pprof.StartCPUProfile(prof)
		}
	}
	took, opened := recoverNode(b, dir, remote)
	if prof != nil {
		pprof.StopCPUProfile()
		_ = prof.Close()
	}
	fmt.Printf("; restart until the show answers %s (opening the store %s)\n", took.Round(time.Millisecond), opened.Round(time.Millisecond))
	b.ReportMetric(took.Seconds(), "recover-pebble-s")
	if rc == nil {
		return
	}
	t0 = time.Now()
	rs, err := rc.Load(ctx, show)
	if err != nil {
		b.Fatal(err)
	}
	readTook := time.Since(t0)
	fmt.Printf("recovery from Redis alone: reading %d rows + %d records %s", len(rs.Rows), len(rs.Entries), readTook.Round(time.Millisecond))
	rs = redis.State{}
	runtime.GC() // that read's garbage is not the recovery's
	took = recoverFromRedis(b, n.redisInfo, remote, "")
	b.ReportMetric(took.Seconds(), "recover-redis-s")
	// redis-server rewrites its AOF as it grows (its default: at twice the
	// size after the last rewrite), so a rewrite the fill started may run
	// beside that recovery on these 2 CPUs: once none runs, once more
	if waitNoRewrite(n.redisInfo, time.Minute) {
		recoverFromRedis(b, n.redisInfo, remote, "recovery from Redis alone again, once no AOF rewrite ran")
	}
}

// recoverFromRedis times a node with an empty disk until the show answers
// (recoverNode), and prints it with what redis-server spent meanwhile: its
// own CPU (the reads) and its children's (an AOF rewrite running beside).
// label starts a line of its own (else the line goes on).
func recoverFromRedis(b *testing.B, info func() map[string]float64, remote actors.Remote, label string) time.Duration {
	fmt.Print(label)
	i0 := info()
	took, _ := recoverNode(b, b.TempDir(), remote) // a node with an empty disk
	i1 := info()
	cpu := func(m map[string]float64, suffix string) float64 {
		return m["used_cpu_user"+suffix] + m["used_cpu_sys"+suffix]
	}
	fmt.Printf("; empty node until the show answers %s (reading, restoring, writing it to the node's Pebble; "+
		"redis-server CPU meanwhile %.2f s, an AOF rewrite running at the start: %v, rewrite CPU meanwhile %.2f s)\n",
		took.Round(time.Millisecond), cpu(i1, "")-cpu(i0, ""), i0["aof_rewrite_in_progress"] > 0,
		max(0, cpu(i1, "_children")-cpu(i0, "_children")))
	return took
}

// waitNoRewrite waits until redis-server runs no AOF rewrite (true), at most
// for limit.
func waitNoRewrite(info func() map[string]float64, limit time.Duration) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if m := info(); len(m) > 0 && m["aof_rewrite_in_progress"] == 0 {
			return true
		}
	}
	return false
}

// recoverNode starts a node on dir and times until the show answers a read
// from its recovered state; and how long of it opening the store took.
func recoverNode(b *testing.B, dir string, remote actors.Remote) (time.Duration, time.Duration) {
	t0 := time.Now()
	n := startNode(b, dir, remote)
	doc, err := n.book.GetShow(context.Background(), show)
	took := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	if doc.HoldsActive == 0 {
		b.Fatal("recovered an empty show")
	}
	n.stop(b)
	return took, n.open
}
