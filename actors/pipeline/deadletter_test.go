package pipeline

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// poisonHandler fails every event whose id starts with "poison" while
// poisoned, and records the order events were handled in.
type poisonHandler struct {
	poisoned atomic.Bool
	mu       sync.Mutex
	handled  []string // event ids, in the order handled successfully
	tries    map[string]int
}

func (h *poisonHandler) Handle(_ context.Context, e seatmap.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tries[e.ID]++
	if h.poisoned.Load() && strings.HasPrefix(e.ID, "poison") {
		return errors.New("gateway says no: malformed order")
	}
	h.handled = append(h.handled, e.ID)
	return nil
}

func (h *poisonHandler) snapshot() ([]string, map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := map[string]int{}
	for k, v := range h.tries {
		t[k] = v
	}
	return append([]string(nil), h.handled...), t
}

func (h *poisonHandler) has(id string) bool {
	got, _ := h.snapshot()
	for _, g := range got {
		if g == id {
			return true
		}
	}
	return false
}

func commitEvents(t *testing.T, st *pebble.Store, evs ...string) {
	t.Helper()
	var out [][]byte
	for _, e := range evs {
		out = append(out, []byte(e))
	}
	if _, err := st.Commit(pebble.Batch{Outbox: out}); err != nil {
		t.Fatal(err)
	}
}

func ev(id, order string) string {
	return `{"id":"` + id + `","type":"created","order":"` + order + `"}`
}

// TestRelayPoisonEventDoesNotBlock: one event that always fails does not
// stop the events after it. The other orders' events are delivered at once;
// the events of its own order wait behind it; after MaxAttempts tries it is
// a dead letter, out of the outbox, and the relay is not degraded any more;
// retried through the admin call, it is delivered and its dead letter goes.
func TestRelayPoisonEventDoesNotBlock(t *testing.T) {
	st, err := pebble.Open(pebble.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := &poisonHandler{tries: map[string]int{}}
	h.poisoned.Store(true)
	dl := &MemDeadLetters{}
	r := &Relay{Outbox: st, Transport: &Local{Handlers: []Handler{h}}, BatchSize: 3, MaxAttempts: 4,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, DeadLetters: dl}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	commitEvents(t, st, ev("poison.1", "p"), ev("p.2", "p"))
	var later []string
	for i := 0; i < 20; i++ {
		later = append(later, ev("g"+itoa(i)+".1", "g"+itoa(i%7)))
	}
	commitEvents(t, st, later...)
	go r.Run(ctx)
	r.Wake()

	// the other orders' events go through while the poison one is retried
	waitFor(t, func() bool { return h.has("g19.1") })
	if _, tries := h.snapshot(); tries["poison.1"] >= r.MaxAttempts || h.has("p.2") {
		t.Fatalf("the later events waited for the poison one (tries %d, p.2 delivered %v)", tries["poison.1"], h.has("p.2"))
	}
	if r.Status() != "degraded" {
		t.Fatalf("status %s while an event is retried, want degraded", r.Status())
	}
	// after MaxAttempts tries: a dead letter, and its order flows again
	waitFor(t, func() bool { return h.has("p.2") })
	got, tries := h.snapshot()
	if tries["poison.1"] != r.MaxAttempts {
		t.Fatalf("poison tried %d times, want %d", tries["poison.1"], r.MaxAttempts)
	}
	ds, _ := dl.List()
	if len(ds) != 1 || ds[0].Event.ID != "poison.1" || ds[0].Attempts != 4 || !strings.Contains(ds[0].LastError, "says no") || ds[0].DeadAt == 0 {
		t.Fatalf("dead letters %+v", ds)
	}
	if total, stored := r.DeadLetterCounts(); total != 1 || stored != 1 {
		t.Fatalf("counts %d %d", total, stored)
	}
	waitFor(t, func() bool { n, _ := st.OutboxLen(); return n == 0 && r.Status() == "ok" })
	if len(got) != 21 {
		t.Fatalf("delivered %d events, want 21: %v", len(got), got)
	}

	// retry through the admin call: unknown ids are refused, known ones redelivered
	if err := r.RetryDeadLetter(ctx, "12345"); !errors.Is(err, ErrDeadLetterNotFound) {
		t.Fatalf("retry of an unknown id: %v", err)
	}
	h.poisoned.Store(false)
	if err := r.RetryDeadLetter(ctx, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return h.has("poison.1") })
	waitFor(t, func() bool { _, stored := r.DeadLetterCounts(); return stored == 0 })
	if ds, _ := dl.List(); len(ds) != 0 {
		t.Fatalf("dead letters after a successful retry: %+v", ds)
	}
}

// TestRelayRetriedDeadLetterDiesAgain: a retried dead letter that fails
// again is stored again under its id, with its new tries.
func TestRelayRetriedDeadLetterDiesAgain(t *testing.T) {
	ob := &memOutbox{}
	h := &poisonHandler{tries: map[string]int{}}
	h.poisoned.Store(true)
	dl := &MemDeadLetters{}
	r := &Relay{Outbox: ob, Transport: &Local{Handlers: []Handler{h}}, MaxAttempts: 2,
		MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, DeadLetters: dl}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ob.add(ev("poison.1", "p"))
	go r.Run(ctx)
	waitFor(t, func() bool { total, _ := r.DeadLetterCounts(); return total == 1 })
	ds, _ := dl.List()
	if err := r.RetryDeadLetter(ctx, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { total, _ := r.DeadLetterCounts(); return total == 2 })
	_, tries := h.snapshot()
	again, _ := dl.List()
	if total, stored := r.DeadLetterCounts(); stored != 1 || tries["poison.1"] != 4 || len(again) != 1 || again[0].ID != ds[0].ID {
		t.Fatalf("stored %d (total %d), tries %d, dead letters %+v", stored, total, tries["poison.1"], again)
	}
}

// TestRelayBrokerDownKillsNothing: while the transport delivers nothing, or
// a broker refuses some events (Unavailable), no event counts a failed try.
func TestRelayBrokerDownKillsNothing(t *testing.T) {
	ob := &memOutbox{}
	tr := &partialTransport{got: map[string]int{}}
	tr.mode.Store(2) // refuse the odd indexes
	r := &Relay{Outbox: ob, Transport: tr, MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 40; i++ {
		ob.add(ev("e"+itoa(i), "o"+itoa(i)))
	}
	go r.Run(ctx)
	waitFor(t, func() bool { return ob.len() == 0 })
	if n := tr.publishes.Load(); n < 3 {
		t.Fatalf("%d publishes: the refused events were not published again", n)
	}
	if m := r.Metrics(); m["relay_delivered_total"] != 40 || m["relay_queued"] != 0 || m["relay_last_delivery_timestamp_seconds"] == 0 {
		t.Fatalf("figures after 40 delivered: %v", m)
	}
	tr.mode.Store(1) // down
	for i := 40; i < 50; i++ {
		ob.add(ev("e"+itoa(i), "o"+itoa(i)))
	}
	r.Wake()
	waitFor(t, func() bool { return r.Status() == "degraded" && r.Metrics()["relay_queued"] == 10 })
	if m := r.Metrics(); m["relay_failures_total"] < 1 || m["relay_delivered_total"] != 40 {
		t.Fatalf("figures while down: %v", m)
	}
	time.Sleep(50 * time.Millisecond)
	tr.mode.Store(0)
	waitFor(t, func() bool { return ob.len() == 0 && r.Status() == "ok" })
	if m := r.Metrics(); m["relay_delivered_total"] != 50 || m["relay_queued"] != 0 || m["relay_retrying"] != 0 {
		t.Fatalf("figures after all 50 delivered: %v", m)
	}
	if total, _ := r.DeadLetterCounts(); total != 0 {
		t.Fatalf("%d dead letters from a broker outage", total)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.got) != 50 {
		t.Fatalf("delivered %d of 50", len(tr.got))
	}
	for id, n := range tr.got {
		if n != 1 {
			t.Fatalf("%s stored %d times; an acknowledged event must not be published again", id, n)
		}
	}
}

func TestRelayBackoff(t *testing.T) {
	r := &Relay{}
	r.init()
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	for i, w := range want {
		if d := r.backoff(i + 1); d != w {
			t.Fatalf("backoff(%d) = %v, want %v", i+1, d, w)
		}
	}
	if d := r.backoff(30); d != time.Minute {
		t.Fatalf("backoff(30) = %v, want the 1 min cap", d)
	}
	if r.MaxAttempts != 10 {
		t.Fatalf("default MaxAttempts %d", r.MaxAttempts)
	}
}

// partialTransport: mode 0 accepts everything, 1 is down, 2 refuses the odd
// indexes of each batch as a broker would (Unavailable).
type partialTransport struct {
	mode      atomic.Int32
	publishes atomic.Int64
	mu        sync.Mutex
	got       map[string]int
}

func (p *partialTransport) Publish(_ context.Context, evs []seatmap.Event) error {
	p.publishes.Add(1)
	mode := p.mode.Load()
	if mode == 1 {
		return errors.New("broker down")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var failed []int
	for i, e := range evs {
		if mode == 2 && i%2 == 1 {
			failed = append(failed, i)
			continue
		}
		p.got[e.ID]++
	}
	if len(failed) > 0 {
		return Unavailable(len(evs), failed, errors.New("not acknowledged"))
	}
	return nil
}

// memOutbox is an in-memory Outbox.
type memOutbox struct {
	mu   sync.Mutex
	next uint64
	m    map[uint64][]byte
}

func (o *memOutbox) add(data string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[uint64][]byte{}
	}
	o.next++
	o.m[o.next] = []byte(data)
}

func (o *memOutbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.m)
}

func (o *memOutbox) OutboxAfter(after uint64, limit int) ([]pebble.OutboxEntry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ids []uint64
	for id := range o.m {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var out []pebble.OutboxEntry
	for _, id := range ids[:min(len(ids), limit)] {
		out = append(out, pebble.OutboxEntry{ID: id, Data: o.m[id]})
	}
	return out, nil
}

func (o *memOutbox) AckOutbox(ids ...uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range ids {
		delete(o.m, id)
	}
	return nil
}
