package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// Outbox is the durable source of events (persistence/pebble.Store). Read by
// the relay goroutine only.
type Outbox interface {
	OutboxAfter(after uint64, limit int) ([]pebble.OutboxEntry, error)
	AckOutbox(ids ...uint64) error
}

// Transport delivers a batch of events. It returns nil only when every event
// was accepted (handled, or durably stored by a broker). Called from the relay
// goroutine only.
type Transport interface {
	Publish(ctx context.Context, events []seatmap.Event) error
}

// Relay moves events from the outbox to a transport, at least once.
type Relay struct {
	Outbox    Outbox
	Transport Transport
	Log       *slog.Logger
	BatchSize int // default 512

	wake chan struct{}
	once sync.Once

	Delivered atomic.Int64 // events acknowledged
	Failures  atomic.Int64 // failed publish attempts
	failing   atomic.Bool
	lastOKMs  atomic.Int64
}

func (r *Relay) init() {
	r.once.Do(func() {
		r.wake = make(chan struct{}, 1)
		if r.BatchSize <= 0 {
			r.BatchSize = 512
		}
		if r.Log == nil {
			r.Log = slog.Default()
		}
	})
}

// Wake tells the relay there may be new events. Never blocks.
func (r *Relay) Wake() {
	r.init()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Status is "ok", or "degraded" while publishing fails.
func (r *Relay) Status() string {
	if r.failing.Load() {
		return "degraded"
	}
	return "ok"
}

// Run delivers until ctx is done.
func (r *Relay) Run(ctx context.Context) {
	r.init()
	backoff := 50 * time.Millisecond
	var cursor uint64
	for ctx.Err() == nil {
		n, err := r.step(ctx, &cursor)
		if err != nil {
			r.Failures.Add(1)
			if !r.failing.Swap(true) {
				r.Log.Warn("relay: delivery failing; events stay in the outbox", "err", err)
			}
			sleep(ctx, backoff)
			if backoff *= 2; backoff > 5*time.Second {
				backoff = 5 * time.Second
			}
			cursor = 0 // re-read from the oldest unacknowledged entry
			continue
		}
		if r.failing.Swap(false) {
			r.Log.Info("relay: delivering again")
		}
		backoff = 50 * time.Millisecond
		if n == 0 {
			select {
			case <-r.wake:
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
	}
}

// step delivers one batch after the cursor and reports how many it delivered.
func (r *Relay) step(ctx context.Context, cursor *uint64) (int, error) {
	entries, err := r.Outbox.OutboxAfter(*cursor, r.BatchSize)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	events := make([]seatmap.Event, 0, len(entries))
	ids := make([]uint64, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
		var ev seatmap.Event
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			r.Log.Error("relay: dropping an undecodable outbox entry", "id", e.ID, "err", err)
			continue
		}
		events = append(events, ev)
	}
	if err := r.Transport.Publish(ctx, events); err != nil {
		return 0, err
	}
	if err := r.Outbox.AckOutbox(ids...); err != nil {
		return 0, err
	}
	*cursor = ids[len(ids)-1]
	r.Delivered.Add(int64(len(events)))
	r.lastOKMs.Store(time.Now().UnixMilli())
	return len(events), nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// Local is the embedded transport: it hands each batch to in-process
// consumers, every order's events in order, different orders in parallel.
type Local struct {
	Handlers    []Handler
	Parallelism int // concurrent orders; default 64
}

func (l *Local) Publish(ctx context.Context, events []seatmap.Event) error {
	par := l.Parallelism
	if par <= 0 {
		par = 64
	}
	byOrder := map[string][]seatmap.Event{}
	var order []string
	for _, e := range events {
		if _, ok := byOrder[e.OrderID]; !ok {
			order = append(order, e.OrderID)
		}
		byOrder[e.OrderID] = append(byOrder[e.OrderID], e)
	}
	sem := make(chan struct{}, par)
	errs := make(chan error, len(order))
	var wg sync.WaitGroup
	for _, id := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(evs []seatmap.Event) {
			defer wg.Done()
			defer func() { <-sem }()
			for _, e := range evs {
				for _, h := range l.Handlers {
					if err := h.Handle(ctx, e); err != nil {
						errs <- err
						return
					}
				}
			}
		}(byOrder[id])
	}
	wg.Wait()
	close(errs)
	return <-errs
}
