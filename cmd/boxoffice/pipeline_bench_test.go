package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/rocketmq/rmqtest"
)

// BenchmarkOrderPipeline measures the order pipeline end to end in one
// process: b.N orders are created (hold + order) and paid through the booking
// core by 64 concurrent callers; the clock stops when every order is paid and
// its "order confirmed" notification is written. The events travel through
// the embedded relay, or through a real RocketMQ broker (sub-benchmark
// rocketmq, skipped when the broker cannot run). It also reports the latency
// of creating an order (hold + order), which the relay must not slow down.
func BenchmarkOrderPipeline(b *testing.B) {
	b.Run("embedded", func(b *testing.B) { benchPipeline(b, "") })
	b.Run("rocketmq", func(b *testing.B) {
		if err := rmqtest.Available(); err != nil {
			b.Skip(err)
		}
		br := rmqtest.StartBroker(b)
		benchPipeline(b, br.NameServer)
	})
}

func benchPipeline(b *testing.B, nameServer string) {
	data := b.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	cfg := &serveConfig{httpAddr: "127.0.0.1:0", dataDir: data, adminToken: "t", journal: "pebble",
		clusterHost: "127.0.0.1", rocketmq: nameServer, rmqTopic: "boxoffice_orders", consumers: true, holdAck: "synced"}
	n, err := startNode(cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	defer n.stop(log)
	n.booking.SetReady(true)
	ctx := context.Background()
	show := fmt.Sprintf("pipe%d", time.Now().UnixNano())
	sc := seatmap.ShowConfig{ID: show, Tiers: []seatmap.Tier{{ID: "std", Price: 100}},
		Sections: []seatmap.Section{{ID: "ga", Tier: "std", Capacity: b.N + 10}}}
	if _, err := n.booking.CreateShow(ctx, sc); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				t0 := time.Now()
				h, _, err := n.booking.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", i), Section: "ga", Quantity: 1})
				if err != nil {
					b.Error(err)
					return
				}
				o, _, err := n.booking.CreateOrder(ctx, seatmap.OrderRequest{Show: show, HoldID: h.ID})
				if err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
				if _, err := n.booking.PayOrder(ctx, "", o.ID, "tok_ok"); err != nil {
					b.Error(err)
					return
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	booked := time.Since(start)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		d, err := n.booking.GetShow(ctx, show)
		if err == nil && d.Totals.Sold == b.N {
			notes, _ := os.ReadFile(filepath.Join(data, "notifications.log"))
			if strings.Count(string(notes), "\n") >= b.N {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("pipeline did not finish: sold %d of %d", d.Totals.Sold, b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	total := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "order-p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "order-p99-µs")
	}
	b.ReportMetric(float64(b.N)/booked.Seconds(), "booked/s")
	b.ReportMetric(float64(b.N)/total.Seconds(), "orders-e2e/s")
}
