package rocketmq

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	rmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/boxoffice/boxoffice/facts"
)

// Producer publishes order events to a topic. It is safe for concurrent use;
// events of one order keep their order only within one Publish call or
// across calls made one after the other (the outbox relay of a shard
// publishes one batch at a time).
type Producer struct {
	opts Options
	sel  *hashSelector
	p    rmq.Producer

	closed    atomic.Bool
	published atomic.Uint64 // events acknowledged
	failed    atomic.Uint64 // events not acknowledged
	batches   atomic.Uint64 // batch sends acknowledged
}

// PublishError reports the events of a Publish call that the broker did not
// acknowledge. The others were stored; publishing all again is also correct.
type PublishError struct {
	Failed []int // indexes into the events given to Publish, ascending
	Total  int   // how many events Publish was given
	Err    error // the first cause
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("rocketmq: %d of %d events not acknowledged: %v", len(e.Failed), e.Total, e.Err)
}

func (e *PublishError) Unwrap() error { return e.Err }

// NewProducer starts a producer. It does not contact the broker: the first
// Publish fetches the topic's route from the name server.
func NewProducer(opts Options) (*Producer, error) {
	opts, err := opts.normalize(DefaultProducerGroup)
	if err != nil {
		return nil, err
	}
	addrs, err := nameServers(context.Background(), opts.NameServer)
	if err != nil {
		return nil, err
	}
	quietLibrary()
	sel := &hashSelector{}
	p, err := rmq.NewProducer(
		producer.WithNameServer(addrs),
		producer.WithGroupName(opts.Group),
		producer.WithInstanceName(opts.Instance),
		producer.WithQueueSelector(sel),
		producer.WithSendMsgTimeout(opts.SendTimeout),
		// One retry inside the library: a dead broker fails fast, and the relay retries anyway.
		producer.WithRetry(1),
	)
	if err != nil {
		return nil, fmt.Errorf("rocketmq: new producer: %w", err)
	}
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("rocketmq: start producer: %w", err)
	}
	return &Producer{opts: opts, sel: sel, p: p}, nil
}

// Publish sends events and returns nil only when the broker acknowledged
// every one (SEND_OK). Events are grouped by queue (hash of the order id),
// and each group is sent as batches, one after the other, while the groups
// go in parallel. When a batch fails, the rest of its group is not sent (an
// order's later events never overtake earlier ones) and Publish returns a
// *PublishError naming the events to publish again. ctx bounds the call.
func (p *Producer) Publish(ctx context.Context, events []facts.Event) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if len(events) == 0 {
		return nil
	}
	msgs := make([]*primitive.Message, len(events))
	for i := range events {
		m, err := encodeEvent(p.opts.Topic, &events[i])
		if err != nil {
			return err
		}
		msgs[i] = m
	}
	start := 0
	if p.sel.queueCount.Load() == 0 {
		// The queue count is known after the first send: send one event alone.
		if err := p.send(ctx, msgs[:1]); err != nil {
			p.failed.Add(uint64(len(msgs)))
			return &PublishError{Failed: seq(0, len(msgs)), Total: len(msgs), Err: err}
		}
		start = 1
	}
	groups := groupByQueue(msgs[start:], int(p.sel.queueCount.Load()), start)

	var mu sync.Mutex // protects failed and firstErr
	var failed []int
	var firstErr error
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if notSent, err := p.sendGroup(ctx, msgs, g); err != nil {
				mu.Lock()
				failed = append(failed, notSent...)
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) == 0 {
		return nil
	}
	sort.Ints(failed)
	return &PublishError{Failed: failed, Total: len(msgs), Err: firstErr}
}

// sendGroup sends the messages at indexes idx (one queue) as batches in order;
// on failure it returns the indexes not acknowledged.
func (p *Producer) sendGroup(ctx context.Context, msgs []*primitive.Message, idx []int) ([]int, error) {
	for lo := 0; lo < len(idx); {
		hi := batchEnd(msgs, idx, lo, p.opts.MaxBatch, defaultMaxBatchBytes)
		batch := make([]*primitive.Message, 0, hi-lo)
		for _, i := range idx[lo:hi] {
			batch = append(batch, msgs[i])
		}
		if err := p.send(ctx, batch); err != nil {
			p.failed.Add(uint64(len(idx) - lo))
			return idx[lo:], err
		}
		lo = hi
	}
	return nil, nil
}

// send sends one batch (all messages in one queue) and checks the verdict.
func (p *Producer) send(ctx context.Context, batch []*primitive.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := p.p.SendSync(ctx, batch...)
	if err != nil {
		return fmt.Errorf("rocketmq: send %d events: %w", len(batch), err)
	}
	if res.Status != primitive.SendOK {
		return fmt.Errorf("%w: status %d for %d events", ErrNotAcknowledged, res.Status, len(batch))
	}
	p.published.Add(uint64(len(batch)))
	p.batches.Add(1)
	return nil
}

// Metrics returns counters since NewProducer: "published" and
// "publish_failed" (events), "batches" (acknowledged batch sends).
func (p *Producer) Metrics() map[string]float64 {
	return map[string]float64{
		"published":      float64(p.published.Load()),
		"publish_failed": float64(p.failed.Load()),
		"batches":        float64(p.batches.Load()),
	}
}

// Close stops the producer; Publish then returns ErrClosed.
func (p *Producer) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	return p.p.Shutdown()
}

// groupByQueue returns, per queue bucket (hash % queues), the indexes of msgs
// in their original order, offset by base. Buckets are returned in queue order.
func groupByQueue(msgs []*primitive.Message, queues, base int) [][]int {
	if queues <= 0 {
		queues = 1
	}
	buckets := make(map[int][]int)
	var order []int
	for i, m := range msgs {
		b := m.Queue.QueueId % queues
		if _, ok := buckets[b]; !ok {
			order = append(order, b)
		}
		buckets[b] = append(buckets[b], base+i)
	}
	sort.Ints(order)
	out := make([][]int, 0, len(order))
	for _, b := range order {
		out = append(out, buckets[b])
	}
	return out
}

// batchEnd returns hi such that idx[lo:hi] holds at most maxCount messages and
// at most maxBytes of body (always at least one message).
func batchEnd(msgs []*primitive.Message, idx []int, lo, maxCount, maxBytes int) int {
	size := 0
	hi := lo
	for hi < len(idx) && hi-lo < maxCount {
		size += len(msgs[idx[hi]].Body) + 200 // properties and framing, roughly
		if hi > lo && size > maxBytes {
			break
		}
		hi++
	}
	return hi
}

// seq returns lo, lo+1, ..., hi-1.
func seq(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}
