package redis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkApplyPipelined applies 1-entry checkpoints (128-byte entries) of
// distinct shards in groups of 64 or 256 per Apply (one round trip), from 1
// or 4 goroutines. Reports checkpoints/s.
func BenchmarkApplyPipelined(b *testing.B) {
	for _, group := range []int{64, 256} {
		for _, par := range []int{1, 4} {
			b.Run(fmt.Sprintf("group=%d/goroutines=%d", group, par), func(b *testing.B) {
				_, c := openServer(b, func(o *Options) { o.Logger = nil })
				ctx := context.Background()
				type shardState struct {
					name       string
					epoch, seq uint64
				}
				workers := make([][]shardState, par)
				for w := range workers {
					workers[w] = make([]shardState, group)
					for i := range workers[w] {
						name := fmt.Sprintf("bench-%d/%d", w, i)
						workers[w][i] = shardState{name: name, epoch: activate(b, c, name)}
					}
				}
				data := make([]byte, 128)
				rounds := (b.N + group*par - 1) / (group * par)
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for w := range workers {
					wg.Add(1)
					go func(shards []shardState) {
						defer wg.Done()
						cps := make([]Checkpoint, len(shards))
						for r := 0; r < rounds; r++ {
							for i := range shards {
								shards[i].seq++
								cps[i] = Checkpoint{Shard: shards[i].name, Epoch: shards[i].epoch,
									Entries: []Entry{{Seq: shards[i].seq, Data: data}}}
							}
							for _, err := range c.Apply(ctx, cps...) {
								if err != nil {
									b.Error(err)
									return
								}
							}
						}
					}(workers[w])
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				n := rounds * group * par
				b.ReportMetric(float64(n)/elapsed.Seconds(), "checkpoints/s")
				b.ReportMetric(c.Metrics()["apply_latency_p99_micros"], "p99-µs/Apply")
			})
		}
	}
}

// BenchmarkAllow measures the rate limiter: one round trip per call, from
// one goroutine and from GOMAXPROCS*4 goroutines. Reports allows/s.
func BenchmarkAllow(b *testing.B) {
	_, c := openServer(b, func(o *Options) { o.Logger = nil })
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			if _, _, err := c.Allow(ctx, fmt.Sprint("user-", i%1000), 100, 10, time.Now().UnixMilli()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "allows/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(4)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if _, _, err := c.Allow(ctx, fmt.Sprint("user-", i%1000), 100, 10, time.Now().UnixMilli()); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "allows/s")
	})
}
