package fill

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/redis"
	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// BenchmarkRecoverRedis: the recovery of the fill's show with 1,000,000 live
// holds (FILL_HOLDS) from Redis alone, without the fill before it (a quick
// loop for that figure of BenchmarkFill): the show is built in memory as the
// fill leaves it (9 in 10 GA, fresh users, ids as Booking makes them), seeded
// to a real redis-server, and each iteration starts a node on an empty disk
// and times until the show answers a read. FILL_BENCH=1.
func BenchmarkRecoverRedis(b *testing.B) {
	if os.Getenv("FILL_BENCH") == "" {
		b.Skip("a show of 1,000,000 holds: FILL_BENCH=1")
	}
	total := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("FILL_HOLDS")); err == nil && v > 0 {
		total = v
	}
	actors.TuneGC() // as boxoffice serve runs
	ctx := context.Background()
	srv := redistest.StartServer(b)
	// timeouts for a shared, loaded machine: a timed-out HSCAN makes the node
	// serve reads only and try again, which times the machine, not recovery
	rc, err := redis.Open(ctx, redis.Options{Addr: srv.Addr(), ReadTimeout: 5 * time.Second, ProbeTimeout: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	sh := builtShow(b, total)
	epoch, err := rc.Activate(ctx, show)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := json.Marshal(config())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := rc.RegisterShow(ctx, show, raw); err != nil {
		b.Fatal(err)
	}
	all := sh.AllRows()
	rows := make([]redis.Row, len(all))
	for i, r := range all {
		rows[i] = redis.Row{Key: r.Key, Value: r.Value}
	}
	all, sh = nil, nil
	t0 := time.Now()
	if err := rc.Seed(ctx, redis.Seed{Shard: show, Epoch: epoch, Seq: 1 + uint64(total), Rows: rows, EventsSeq: 1 + uint64(total)}); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d rows in %s", len(rows), time.Since(t0).Round(time.Millisecond))
	rows = nil
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		cpu0 := cpuTime()
		b.StartTimer()
		took, _ := recoverNode(b, dir, rc)
		b.Logf("empty node until the show answers: %s (process CPU from the start to the node's stop: %s)",
			took.Round(time.Millisecond), (cpuTime() - cpu0).Round(time.Millisecond))
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "recover-redis-s")
}

// cpuTime is the CPU time the process used so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// builtShow is the fill's show with total live holds, built in memory.
func builtShow(b *testing.B, total int) *seatmap.Shard {
	sh := seatmap.New(0)
	cfg := config()
	now := time.Now().UnixMilli()
	if r := sh.Apply(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg, Now: now}); r.Err != nil {
		b.Fatal(r.Err)
	}
	var tok [16]byte
	for i := 1; i <= total; i++ {
		_, _ = rand.Read(tok[:])
		c := seatmap.Command{Kind: seatmap.KindHold, HoldID: show + "~" + idEncoding.EncodeToString(tok[:]), User: "u" + strconv.Itoa(i),
			Section: "ga", Quantity: 1, Now: now}
		if i%seatedIn == 0 {
			c.Section = "seated"
		}
		if r := sh.Apply(c); r.Err != nil {
			b.Fatal(r.Err)
		}
		if i%1024 == 0 {
			sh.Ready()
		}
	}
	sh.Ready()
	return sh
}
