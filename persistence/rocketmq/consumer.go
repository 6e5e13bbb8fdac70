package rocketmq

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	rmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/boxoffice/boxoffice/facts"
)

// Handler handles one event. It is called from up to
// Options.ConsumeGoroutines goroutines at once. A nil error acknowledges the
// event; an error makes RocketMQ redeliver it later, up to
// Options.MaxReconsume times, then move it to the DLQ. ctx ends at
// Options.HandlerTimeout or when the consumer shuts down.
type Handler func(ctx context.Context, ev facts.Event) error

// Consumer is a clustering push consumer of one group on one topic: each
// event reaches one consumer of the group. Start and Shutdown may be called
// from any goroutine, each at most once taking effect; Metrics any time.
type Consumer struct {
	opts    Options
	handler Handler
	c       rmq.PushConsumer
	ctx     context.Context // ends at Shutdown; parent of handler contexts
	cancel  context.CancelFunc

	started     atomic.Bool
	closed      atomic.Bool
	handled     atomic.Uint64 // handler returned nil
	errors      atomic.Uint64 // handler returned an error (or panicked)
	redelivered atomic.Uint64 // deliveries of events seen before (reconsume > 0)
	dlq         atomic.Uint64 // events this consumer sent to the DLQ
	undecodable atomic.Uint64 // messages that were no event (sent to the DLQ)
}

// NewConsumer prepares a consumer; Start begins consumption. opts.Group is
// required. A new group starts at the first message the broker still has,
// so events published before its first start are not skipped.
func NewConsumer(opts Options, handler Handler) (*Consumer, error) {
	if handler == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrInvalidOptions)
	}
	opts, err := opts.normalize("")
	if err != nil {
		return nil, err
	}
	addrs, err := nameServers(context.Background(), opts.NameServer)
	if err != nil {
		return nil, err
	}
	quietLibrary()
	pc, err := rmq.NewPushConsumer(
		consumer.WithNameServer(addrs),
		consumer.WithGroupName(opts.Group),
		consumer.WithInstance(opts.Instance),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		consumer.WithMaxReconsumeTimes(int32(opts.MaxReconsume)),
		consumer.WithConsumeGoroutineNums(opts.ConsumeGoroutines),
		consumer.WithConsumeMessageBatchMaxSize(1),
		consumer.WithStrategy(allocateDistinct),
	)
	if err != nil {
		return nil, fmt.Errorf("rocketmq: new consumer: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consumer{opts: opts, handler: handler, c: pc, ctx: ctx, cancel: cancel}
	sel := consumer.MessageSelector{}
	if len(opts.Tags) > 0 {
		sel = consumer.MessageSelector{Type: consumer.TAG, Expression: strings.Join(opts.Tags, " || ")}
	}
	if err := pc.Subscribe(opts.Topic, sel, c.consume); err != nil {
		cancel()
		return nil, fmt.Errorf("rocketmq: subscribe %s: %w", opts.Topic, err)
	}
	return c, nil
}

// Start begins consumption. It fails when the topic has no route (it does
// not exist on any broker).
func (c *Consumer) Start() error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.started.Swap(true) {
		return nil
	}
	if err := c.c.Start(); err != nil {
		c.closed.Store(true)
		c.cancel()
		return fmt.Errorf("rocketmq: start consumer %s: %w", c.opts.Group, err)
	}
	return nil
}

// Shutdown stops consumption, cancels running handlers' contexts and
// persists the group's offsets. Events in flight are redelivered later.
func (c *Consumer) Shutdown() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.cancel()
	if !c.started.Load() {
		return nil
	}
	return c.c.Shutdown()
}

// Metrics returns counters since NewConsumer: "handled", "handler_errors",
// "redelivered", "dlq" (events sent to the DLQ by this consumer, counted
// again if the send to the DLQ itself had to be retried) and "undecodable".
func (c *Consumer) Metrics() map[string]float64 {
	return map[string]float64{
		"handled":        float64(c.handled.Load()),
		"handler_errors": float64(c.errors.Load()),
		"redelivered":    float64(c.redelivered.Load()),
		"dlq":            float64(c.dlq.Load()),
		"undecodable":    float64(c.undecodable.Load()),
	}
}

// consume is the library callback; it gets one message (batch size 1).
func (c *Consumer) consume(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	cc, _ := primitive.GetConcurrentlyCtx(ctx)
	result := consumer.ConsumeSuccess
	for _, m := range msgs {
		if m.ReconsumeTimes > 0 {
			c.redelivered.Add(1)
		}
		delayLevel, ok := c.handle(m)
		if ok {
			continue
		}
		result = consumer.ConsumeRetryLater
		if cc != nil {
			cc.DelayLevelWhenNextConsume = delayLevel
		}
	}
	return result, nil
}

// handle runs the handler on one message. When it fails it returns the delay
// level to send the message back with: -1 sends it to the DLQ.
func (c *Consumer) handle(m *primitive.MessageExt) (delayLevel int, ok bool) {
	ev, err := decodeEvent(m)
	if err != nil {
		c.undecodable.Add(1)
		c.dlq.Add(1)
		slog.Error("rocketmq: undecodable message sent to DLQ", "group", c.opts.Group, "msg_id", m.MsgId, "err", err)
		return -1, false
	}
	if err := c.call(ev); err != nil {
		c.errors.Add(1)
		if int(m.ReconsumeTimes) >= c.opts.MaxReconsume {
			c.dlq.Add(1)
			slog.Warn("rocketmq: event sent to DLQ", "group", c.opts.Group, "event", ev.ID,
				"deliveries", m.ReconsumeTimes+1, "err", err)
			return -1, false
		}
		return c.opts.RetryDelayLevel, false
	}
	c.handled.Add(1)
	return 0, true
}

// call runs the handler with a deadline, turning a panic into an error.
func (c *Consumer) call(ev facts.Event) (err error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.HandlerTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rocketmq: handler panicked: %v", r)
		}
	}()
	return c.handler(ctx, ev)
}
