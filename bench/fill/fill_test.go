package fill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/boxoffice/boxoffice/persistence/redis"
	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
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
}

func startNode(b *testing.B, dir string, remote actors.Remote) *node {
	b.Helper()
	t0 := time.Now()
	st, err := pebble.Open(pebble.Options{Dir: dir})
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

// profileTenths writes CPU profiles of the first and the last tenth of the
// fill to prefix-first.pprof and prefix-last.pprof (FILL_PROFILE=prefix).
func profileTenths(prefix string, next *atomic.Int64, total int) (stop func()) {
	done := make(chan struct{})
	go func() {
		profile := func(name string, from, to int64) {
			for next.Load() < from {
				select {
				case <-done:
					return
				case <-time.After(time.Millisecond):
				}
			}
			f, err := os.Create(prefix + "-" + name + ".pprof")
			if err != nil {
				return
			}
			defer f.Close()
			if pprof.StartCPUProfile(f) != nil {
				return
			}
			defer pprof.StopCPUProfile()
			for next.Load() < to {
				select {
				case <-done:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}
		profile("first", 0, int64(total/10))
		profile("last", int64(total-total/10), int64(total))
	}()
	return func() { close(done) }
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
	if withRedis {
		srv := redistest.StartServer(b)
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
	took, _ = recoverNode(b, b.TempDir(), remote) // a node with an empty disk
	fmt.Printf("; empty node until the show answers %s (reading, restoring, writing it to the node's Pebble)\n", took.Round(time.Millisecond))
	b.ReportMetric(took.Seconds(), "recover-redis-s")
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
