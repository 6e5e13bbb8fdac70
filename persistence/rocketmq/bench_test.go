package rocketmq

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/facts"
)

// benchBatch is how many events one Publish carries, as one relay turn would.
const benchBatch = 256

// BenchmarkPublish measures acknowledged events per second through one
// producer, Publish calls of benchBatch events one after the other; the
// sub-benchmarks vary how many events go in one batch message.
func BenchmarkPublish(b *testing.B) {
	for _, maxBatch := range []int{1, 16, defaultMaxBatch} {
		b.Run(fmt.Sprintf("maxbatch=%d", maxBatch), func(b *testing.B) { benchPublish(b, maxBatch) })
	}
}

func benchPublish(b *testing.B, maxBatch int) {
	br := needBroker(b)
	topic := newTopic(b, br, 8)
	p := newProducer(b, Options{NameServer: br.NameServer, Topic: topic, MaxBatch: maxBatch})
	events := makeEvents(testRand(b), "bench", 1000, benchBatch/8+1)
	ctx := context.Background()
	if err := p.Publish(ctx, events[:1]); err != nil { // route lookup outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; {
		n := min(benchBatch, b.N-sent)
		lo := sent % (len(events) - benchBatch)
		if err := p.Publish(ctx, events[lo:lo+n]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkPublishConsume measures end to end: b.N events published (as in
// BenchmarkPublish) and handled by a consumer group; the clock stops when
// the last one was handled.
func BenchmarkPublishConsume(b *testing.B) {
	br := needBroker(b)
	topic := newTopic(b, br, 8)
	p := newProducer(b, Options{NameServer: br.NameServer, Topic: topic})
	events := makeEvents(testRand(b), "e2e", 1000, benchBatch/8+1)
	var handled atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	startConsumer(b, Options{NameServer: br.NameServer, Topic: topic, Group: topic + "_payment"},
		func(context.Context, facts.Event) error {
			if handled.Add(1) == target {
				close(done)
			}
			return nil
		})
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; {
		n := min(benchBatch, b.N-sent)
		lo := sent % (len(events) - benchBatch)
		if err := p.Publish(ctx, events[lo:lo+n]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatal(fmt.Sprintf("handled %d of %d", handled.Load(), b.N))
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
