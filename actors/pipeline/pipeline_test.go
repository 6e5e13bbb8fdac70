package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// settler records what the consumers report back.
type settler struct {
	mu       sync.Mutex
	settled  map[string]bool // event id -> success
	notified map[string]int  // event id -> times recorded
	failNext atomic.Int64
}

func newSettler() *settler {
	return &settler{settled: map[string]bool{}, notified: map[string]int{}}
}

func (s *settler) SettlePayment(_ context.Context, e seatmap.Event, ok bool, id string) error {
	if s.failNext.Add(-1) >= 0 {
		return errors.New("shard unavailable")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settled[id] = ok
	return nil
}

func (s *settler) RecordNotification(_ context.Context, e seatmap.Event, ch string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notified[e.ID]++
	return nil
}

func TestPaymentIdempotent(t *testing.T) {
	ctx := context.Background()
	st := newSettler()
	gw := &Sandbox{Dedupe: NewMemDedupe(), SlowDelay: time.Millisecond}
	p := &Payment{Gateway: gw, Settler: st}
	cases := []struct {
		token string
		ok    bool
	}{{"tok_ok", true}, {"tok_slow", true}, {"tok_declined", false}, {"tok_unknown", false}}
	for i, c := range cases {
		e := seatmap.Event{ID: "o" + string(rune('a'+i)) + ".2", Type: seatmap.EventPaymentRequested, OrderID: "o", Token: c.token, Amount: 100}
		for rep := 0; rep < 3; rep++ { // redelivered twice
			if err := p.Handle(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if got, seen := st.settled[e.ID]; !seen || got != c.ok {
			t.Fatalf("%s: settled %v (seen %v), want %v", c.token, got, seen, c.ok)
		}
	}
	if n := gw.Charges.Load(); n != 2 {
		t.Fatalf("%d charges for 2 successful payments delivered 3 times each", n)
	}
	// a settle that fails is an error (redelivery), and the retry does not charge again
	st.failNext.Store(1)
	e := seatmap.Event{ID: "retry.2", Type: seatmap.EventPaymentRequested, OrderID: "retry", Token: "tok_ok"}
	if err := p.Handle(ctx, e); err == nil {
		t.Fatal("a failed settle must ask for redelivery")
	}
	if err := p.Handle(ctx, e); err != nil || !st.settled["retry.2"] {
		t.Fatalf("retry: %v %v", err, st.settled["retry.2"])
	}
	if n := gw.Charges.Load(); n != 3 {
		t.Fatalf("charges %d, want 3", n)
	}
	for i := 0; i < 2; i++ {
		_ = p.Handle(ctx, seatmap.Event{ID: "late.5", Type: seatmap.EventRefund, OrderID: "late", Amount: 100})
	}
	if n := gw.Refunds.Load(); n != 1 {
		t.Fatalf("refunds %d, want 1", n)
	}
}

func TestNotifyOncePerEvent(t *testing.T) {
	ctx := context.Background()
	st := newSettler()
	path := filepath.Join(t.TempDir(), "notifications.log")
	n := &Notify{Channels: []Channel{&FileChannel{Path: path}}, Settler: st, Dedupe: NewMemDedupe()}
	events := []seatmap.Event{
		{ID: "o1.3", Type: seatmap.EventPaid, OrderID: "o1", Quantity: 2},
		{ID: "o2.2", Type: seatmap.EventExpired, OrderID: "o2", Quantity: 1},
		{ID: "o3.2", Type: seatmap.EventCancelled, OrderID: "o3", Quantity: 1},
		{ID: "o4.1", Type: seatmap.EventCreated, OrderID: "o4"}, // no notice for this one
	}
	for rep := 0; rep < 2; rep++ {
		for _, e := range events {
			if err := n.Handle(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d notification lines, want 3:\n%s", len(lines), b)
	}
	for _, want := range []string{"order_confirmed", "order_expired", "order_cancelled"} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("no %s notification", want)
		}
	}
	if st.notified["o1.3"] != 1 || st.notified["o4.1"] != 0 {
		t.Fatalf("recorded %v", st.notified)
	}
}

// flakyTransport fails while down and records what it delivered.
type flakyTransport struct {
	mu   sync.Mutex
	down atomic.Bool
	got  map[string]int
}

func (f *flakyTransport) Publish(_ context.Context, evs []seatmap.Event) error {
	if f.down.Load() {
		return errors.New("broker down")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range evs {
		f.got[e.ID]++
	}
	return nil
}

func (f *flakyTransport) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

// TestRelayAtLeastOnce: events written to the Pebble outbox reach the
// transport; while the transport is down they stay in the outbox, the relay
// reports degraded, and everything arrives once it is back.
func TestRelayAtLeastOnce(t *testing.T) {
	st, err := pebble.Open(pebble.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr := &flakyTransport{got: map[string]int{}}
	r := &Relay{Outbox: st, Transport: tr, BatchSize: 7}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	put := func(from, to int) {
		var out [][]byte
		for i := from; i < to; i++ {
			out = append(out, []byte(`{"id":"e`+itoa(i)+`","type":"created","order":"o`+itoa(i%5)+`"}`))
		}
		if _, err := st.Commit(pebble.Batch{Outbox: out}); err != nil {
			t.Fatal(err)
		}
		r.Wake()
	}
	put(0, 50)
	waitFor(t, func() bool { return tr.count() == 50 })
	tr.down.Store(true)
	put(50, 80)
	waitFor(t, func() bool { return r.Status() == "degraded" })
	if n, _ := st.OutboxLen(); n != 30 {
		t.Fatalf("outbox holds %d events while the transport is down, want 30", n)
	}
	tr.down.Store(false)
	// acknowledged after the transport took them: wait for the outbox too
	waitFor(t, func() bool { n, _ := st.OutboxLen(); return tr.count() == 80 && r.Status() == "ok" && n == 0 })
	if total, _ := r.DeadLetterCounts(); total != 0 {
		t.Fatalf("%d dead letters from a transport outage", total)
	}
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFileChannelIdempotentAcrossRestart: a notification written before a
// crash (but not yet recorded as sent) is not written again by a new process,
// and a torn last line is cut off.
func TestFileChannelIdempotentAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.log")
	ctx := context.Background()
	a := &FileChannel{Path: path}
	if err := a.Send(ctx, Notification{EventID: "e1", Kind: "order_confirmed"}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"event_id":"e2","ki`) // a crash in the middle of a write
	f.Close()
	b := &FileChannel{Path: path} // the next process
	for _, id := range []string{"e1", "e2", "e2"} {
		if err := b.Send(ctx, Notification{EventID: id, Kind: "order_confirmed"}); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"e1"`) || !strings.Contains(lines[1], `"e2"`) {
		t.Fatalf("file:\n%s", data)
	}
}
