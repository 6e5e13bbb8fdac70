package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
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

// Transport delivers a batch of events. It returns nil when every event was
// accepted (handled, or durably stored by a broker); *EventErrors when it
// knows the outcome of each event; any other error when it could deliver
// nothing (the broker is down): then no event counts a failed try. Called
// from the relay goroutine only.
type Transport interface {
	Publish(ctx context.Context, events []seatmap.Event) error
}

// ErrSkipped marks an event a transport did not try (an earlier event of its
// order failed, or the broker was unreachable): it is published again
// without counting a failed try.
var ErrSkipped = errors.New("not tried")

// EventErrors is a Publish outcome per event: Errs[i] is nil when events[i]
// was accepted, wraps ErrSkipped when it was not tried, and is its failure
// otherwise.
type EventErrors struct {
	Errs []error
}

func (e *EventErrors) Error() string {
	failed, skipped := 0, 0
	var first error
	for _, err := range e.Errs {
		switch {
		case err == nil:
		case errors.Is(err, ErrSkipped):
			skipped++
		default:
			failed++
			if first == nil {
				first = err
			}
		}
	}
	return fmt.Sprintf("%d of %d events failed, %d not tried; first: %v", failed, len(e.Errs), skipped, first)
}

// Unavailable returns the outcome of a Publish of n events that a broker did
// not acknowledge at the indexes failed (the others it stored): the failed
// ones are published again and do not count a try, since a broker that
// refuses is down rather than the event bad.
func Unavailable(n int, failed []int, cause error) error {
	errs := make([]error, n)
	for _, i := range failed {
		if i >= 0 && i < n {
			errs[i] = fmt.Errorf("%w: %w", ErrSkipped, cause)
		}
	}
	return &EventErrors{Errs: errs}
}

// Defaults of the relay's retry policy.
const (
	DefaultMaxAttempts = 10
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = time.Minute
)

// Relay moves events from the outbox to a transport, at least once. Each
// event is retried on its own, with exponential backoff; after MaxAttempts
// failed tries it becomes a dead letter and leaves the outbox. Events of one
// order are published in outbox order: those behind a failing event of the
// same order wait for it (delivered or dead), other orders flow on.
type Relay struct {
	Outbox    Outbox
	Transport Transport
	Log       *slog.Logger
	BatchSize int // default 512
	// MaxAttempts is how many failed tries make an event a dead letter
	// (default DefaultMaxAttempts).
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the delay before an event's next try:
	// MinBackoff after the first failure, doubling up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// DeadLetters stores dead letters; a MemDeadLetters when nil.
	DeadLetters DeadLetters
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	wake chan struct{}
	once sync.Once

	Delivered atomic.Int64 // events acknowledged
	Failures  atomic.Int64 // failed publish attempts and failed event tries
	DeadTotal atomic.Int64 // events that became dead letters since start
	deadNow   atomic.Int64 // dead letters stored
	retrying  atomic.Int64 // events waiting for a retry after a failed try
	failing   atomic.Bool  // the transport could deliver nothing last time
	partial   atomic.Bool  // some event failed or was not tried last time
	lastOKMs  atomic.Int64 // time of the last delivery, ms since 1970
	queuedNow atomic.Int64 // queued, for Metrics

	mu   sync.Mutex   // protects redo
	redo []DeadLetter // dead letters to deliver again, for the run loop

	// the run loop's own state
	queues  map[string][]*item // per order id, in outbox order
	queued  int
	cursor  uint64
	unacked []uint64        // delivered but not yet acknowledged in the outbox
	redoing map[string]bool // dead letter ids being delivered again
}

// item is one event the relay is delivering.
type item struct {
	entry   uint64 // outbox entry id; 0 for a dead letter delivered again
	deadID  string // the dead letter's id when delivered again
	ev      seatmap.Event
	tries   int       // failed tries
	skips   int       // publishes in a row that did not try it
	next    time.Time // no try before
	lastErr string
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
		if r.MaxAttempts <= 0 {
			r.MaxAttempts = DefaultMaxAttempts
		}
		if r.MinBackoff <= 0 {
			r.MinBackoff = DefaultMinBackoff
		}
		if r.MaxBackoff < r.MinBackoff {
			r.MaxBackoff = max(DefaultMaxBackoff, r.MinBackoff)
		}
		if r.DeadLetters == nil {
			r.DeadLetters = &MemDeadLetters{}
		}
		if r.Now == nil {
			r.Now = time.Now
		}
		r.queues = map[string][]*item{}
		r.redoing = map[string]bool{}
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

// Status is "ok", or "degraded" while publishing fails: the transport
// delivers nothing or not every event, or some event waits for a retry.
// Dead letters do not count: they left delivery.
func (r *Relay) Status() string {
	if r.failing.Load() || r.partial.Load() || r.retrying.Load() > 0 {
		return "degraded"
	}
	return "ok"
}

// Metrics returns the relay's figures for /metrics, safe from any
// goroutine: events delivered and failed tries since start (counters),
// events read from the outbox and not yet delivered (at most 16 batches are
// read ahead: more may wait in the outbox) and those of them waiting for a
// retry, and the time of the last delivery (Unix seconds; 0 before the
// first). Dead letters have their own (DeadLetterCounts).
func (r *Relay) Metrics() map[string]float64 {
	return map[string]float64{
		"relay_delivered_total":                 float64(r.Delivered.Load()),
		"relay_failures_total":                  float64(r.Failures.Load()),
		"relay_queued":                          float64(r.queuedNow.Load()),
		"relay_retrying":                        float64(r.retrying.Load()),
		"relay_last_delivery_timestamp_seconds": float64(r.lastOKMs.Load()) / 1e3,
	}
}

// ListDeadLetters returns the stored dead letters, oldest first.
func (r *Relay) ListDeadLetters(context.Context) ([]DeadLetter, error) {
	r.init()
	return r.DeadLetters.List()
}

// RetryDeadLetter hands a dead letter back to delivery; it stays stored
// until the transport accepts it (it is stored again, with its new tries, if
// it fails MaxAttempts times again). ErrDeadLetterNotFound when there is none.
func (r *Relay) RetryDeadLetter(_ context.Context, id string) error {
	r.init()
	d, ok, err := r.DeadLetters.Get(id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrDeadLetterNotFound, id)
	}
	r.mu.Lock()
	r.redo = append(r.redo, d)
	r.mu.Unlock()
	r.Wake()
	return nil
}

// DeadLetterCounts returns how many events became dead letters since start
// (a counter) and how many are stored now (a gauge).
func (r *Relay) DeadLetterCounts() (total, stored int64) {
	return r.DeadTotal.Load(), r.deadNow.Load()
}

// Run delivers until ctx is done.
func (r *Relay) Run(ctx context.Context) {
	r.init()
	if ds, err := r.DeadLetters.List(); err != nil {
		r.Log.Warn("relay: cannot count the dead letters", "err", err)
	} else {
		r.deadNow.Store(int64(len(ds)))
	}
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		wait, err := r.step(ctx)
		if err != nil {
			r.Failures.Add(1)
			if !r.failing.Swap(true) {
				r.Log.Warn("relay: delivery failing; events stay in the outbox", "err", err)
			}
			sleep(ctx, backoff)
			if backoff *= 2; backoff > 5*time.Second {
				backoff = 5 * time.Second
			}
			continue
		}
		if r.failing.Swap(false) {
			r.Log.Info("relay: delivering again")
		}
		backoff = 50 * time.Millisecond
		if wait > 0 {
			select {
			case <-r.wake:
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
	}
}

// Step runs one iteration of Run's loop: it delivers what is due and
// returns how long Run would wait for a Wake before the next step (0: step
// again at once), or the error after which Run backs off. The
// deterministic simulator (sim/vopr) drives a relay with it; anyone else
// calls Run.
func (r *Relay) Step(ctx context.Context) (time.Duration, error) {
	r.init()
	return r.step(ctx)
}

// step reads new outbox entries, publishes the events that are due, and
// returns how long to wait before the next step. An error means nothing
// could be read, acknowledged or published.
func (r *Relay) step(ctx context.Context) (time.Duration, error) {
	if len(r.unacked) > 0 {
		if err := r.Outbox.AckOutbox(r.unacked...); err != nil {
			return 0, err
		}
		r.unacked = r.unacked[:0]
	}
	r.takeRedo()
	more := false
	if r.queued < 16*r.BatchSize {
		n, err := r.read()
		if err != nil {
			return 0, err
		}
		more = n == r.BatchSize
	}
	now := r.Now()
	batch, wait := r.due(now)
	if len(batch) == 0 {
		if more {
			return 0, nil
		}
		return wait, nil
	}
	events := make([]seatmap.Event, len(batch))
	for i, it := range batch {
		events[i] = it.ev
	}
	err := r.Transport.Publish(ctx, events)
	if err != nil && ctx.Err() != nil {
		return 0, ctx.Err() // stopping: no event failed
	}
	var per *EventErrors
	switch {
	case err == nil:
	case errors.As(err, &per) && len(per.Errs) == len(batch):
	default:
		return 0, err // the transport delivered nothing
	}
	return 0, r.settle(batch, per, r.Now())
}

// takeRedo queues the dead letters asked to be delivered again.
func (r *Relay) takeRedo() {
	r.mu.Lock()
	redo := r.redo
	r.redo = nil
	r.mu.Unlock()
	for _, d := range redo {
		if r.redoing[d.ID] {
			continue
		}
		r.redoing[d.ID] = true
		r.enqueue(&item{deadID: d.ID, ev: d.Event})
	}
}

// read queues the outbox entries after the cursor and returns how many it read.
func (r *Relay) read() (int, error) {
	entries, err := r.Outbox.OutboxAfter(r.cursor, r.BatchSize)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	for _, e := range entries {
		var ev seatmap.Event
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			r.Log.Error("relay: dropping an undecodable outbox entry", "id", e.ID, "err", err)
			r.unacked = append(r.unacked, e.ID)
			continue
		}
		r.enqueue(&item{entry: e.ID, ev: ev})
	}
	r.cursor = entries[len(entries)-1].ID
	return len(entries), nil
}

func (r *Relay) enqueue(it *item) {
	r.queues[it.ev.OrderID] = append(r.queues[it.ev.OrderID], it)
	r.queued++
	r.queuedNow.Store(int64(r.queued))
}

// due returns the events to publish now: every queued event of each order
// whose oldest event is due, up to BatchSize; and, when there is none, how
// long until the next one is due.
func (r *Relay) due(now time.Time) ([]*item, time.Duration) {
	var batch []*item
	wait := time.Second
	for _, q := range r.queues {
		if d := q[0].next.Sub(now); d > 0 {
			wait = min(wait, d)
			continue
		}
		n := min(len(q), r.BatchSize-len(batch))
		batch = append(batch, q[:n]...)
		if len(batch) >= r.BatchSize {
			break
		}
	}
	return batch, wait
}

// settle applies the outcome of publishing batch (per is nil when every
// event was accepted).
func (r *Relay) settle(batch []*item, per *EventErrors, now time.Time) error {
	done := map[*item]bool{}
	var acks []uint64
	partial := false
	delivered := 0
	for i, it := range batch {
		var err error
		if per != nil {
			err = per.Errs[i]
		}
		switch {
		case err == nil:
			done[it] = true
			delivered++
			if it.entry != 0 {
				acks = append(acks, it.entry)
			} else if derr := r.DeadLetters.Delete(it.deadID); derr != nil {
				r.Log.Warn("relay: a dead letter was delivered but not deleted", "id", it.deadID, "err", derr)
			} else {
				delete(r.redoing, it.deadID)
				r.deadNow.Add(-1)
				r.Log.Info("relay: dead letter delivered", "id", it.deadID, "event", it.ev.ID)
			}
		case errors.Is(err, ErrSkipped):
			// not tried: again soon, backing off up to 5 s, no try counted
			it.skips++
			it.next = now.Add(min(r.MinBackoff<<min(it.skips-1, 16), 5*time.Second))
			partial = true
		default:
			partial = true
			it.skips = 0
			r.Failures.Add(1)
			it.tries++
			it.lastErr = err.Error()
			if it.tries >= r.MaxAttempts && r.bury(it, now) {
				done[it] = true
				if it.entry != 0 {
					acks = append(acks, it.entry)
				}
				continue
			}
			it.next = now.Add(r.backoff(it.tries))
		}
	}
	retrying := int64(0)
	for id, q := range r.queues {
		kept := q[:0]
		for _, it := range q {
			if !done[it] {
				kept = append(kept, it)
				if it.tries > 0 {
					retrying++
				}
			}
		}
		r.queued -= len(q) - len(kept)
		if len(kept) == 0 {
			delete(r.queues, id)
		} else {
			r.queues[id] = kept
		}
	}
	r.queuedNow.Store(int64(r.queued))
	r.retrying.Store(retrying)
	r.partial.Store(partial)
	r.Delivered.Add(int64(delivered))
	if delivered > 0 {
		r.lastOKMs.Store(now.UnixMilli())
	}
	if len(acks) > 0 {
		if err := r.Outbox.AckOutbox(acks...); err != nil {
			r.unacked = append(r.unacked, acks...)
			return err
		}
	}
	return nil
}

// bury stores it as a dead letter and reports whether that worked (if not,
// it stays in delivery and is tried again).
func (r *Relay) bury(it *item, now time.Time) bool {
	id := it.deadID
	if id == "" {
		id = strconv.FormatUint(it.entry, 10)
	}
	d := DeadLetter{ID: id, Event: it.ev, Attempts: it.tries, LastError: it.lastErr, DeadAt: now.UnixMilli()}
	if err := r.DeadLetters.Put(d); err != nil {
		r.Log.Error("relay: cannot store a dead letter; it stays in delivery", "event", it.ev.ID, "err", err)
		return false
	}
	r.DeadTotal.Add(1)
	if it.deadID == "" {
		r.deadNow.Add(1)
	} else {
		delete(r.redoing, it.deadID)
	}
	r.Log.Warn("relay: event is a dead letter", "id", id, "event", it.ev.ID, "type", it.ev.Type,
		"order", it.ev.OrderID, "attempts", it.tries, "err", truncate(it.lastErr, 200))
	return true
}

// backoff is the delay after the n-th failed try.
func (r *Relay) backoff(n int) time.Duration {
	d := r.MinBackoff
	for i := 1; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoff)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// Local is the embedded transport: it hands each batch to in-process
// consumers, every order's events in order, different orders in parallel.
// It reports per event: after a failed event, the later events of its order
// are not tried (ErrSkipped).
type Local struct {
	Handlers    []Handler
	Parallelism int // concurrent orders; default 64
}

func (l *Local) Publish(ctx context.Context, events []seatmap.Event) error {
	par := l.Parallelism
	if par <= 0 {
		par = 64
	}
	byOrder := map[string][]int{}
	var order []string
	for i, e := range events {
		if _, ok := byOrder[e.OrderID]; !ok {
			order = append(order, e.OrderID)
		}
		byOrder[e.OrderID] = append(byOrder[e.OrderID], i)
	}
	errs := make([]error, len(events)) // each index written by one goroutine
	var failed atomic.Bool
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, id := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(idx []int) {
			defer wg.Done()
			defer func() { <-sem }()
			for k, i := range idx {
				for _, h := range l.Handlers {
					if err := h.Handle(ctx, events[i]); err != nil {
						failed.Store(true)
						errs[i] = err
						for _, j := range idx[k+1:] {
							errs[j] = fmt.Errorf("%w: an earlier event of order %s failed", ErrSkipped, events[i].OrderID)
						}
						return
					}
				}
			}
		}(byOrder[id])
	}
	wg.Wait()
	if !failed.Load() {
		return nil
	}
	return &EventErrors{Errs: errs}
}
