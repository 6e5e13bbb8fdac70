package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// fakeClock is an injected clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// memKV is the KV of the store (Get/Put/PutIfAbsent/ScanKV/DeleteKV) in
// memory.
type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (k *memKV) Get(key string) ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	return append([]byte(nil), v...), ok, nil
}

func (k *memKV) Put(key string, val []byte, _ bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[key] = append([]byte(nil), val...)
	return nil
}

func (k *memKV) PutIfAbsent(key string, val []byte) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[key]; ok {
		return false, nil
	}
	k.m[key] = append([]byte(nil), val...)
	return true, nil
}

func (k *memKV) ScanKV(prefix string, fn func(string, []byte) bool) error {
	k.mu.Lock()
	var keys []string
	for key := range k.m {
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	vals := make([][]byte, len(keys))
	for i, key := range keys {
		vals[i] = k.m[key]
	}
	k.mu.Unlock()
	for i, key := range keys {
		if !fn(key, append([]byte(nil), vals[i]...)) {
			break
		}
	}
	return nil
}

func (k *memKV) DeleteKV(keys ...string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range keys {
		delete(k.m, key)
	}
	return nil
}

var _ KV = (*memKV)(nil)

func TestMemDedupeExpires(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	d := &MemDedupe{Now: clk.Now, Retention: 48 * time.Hour}
	d.PutIfAbsent("gw/charge/a", []byte("ok"))
	clk.Add(47 * time.Hour)
	d.PutIfAbsent("notify/log/b", []byte{1})
	if n, _ := d.Sweep(); n != 0 || d.Len() != 2 {
		t.Fatalf("swept %d, kept %d: nothing is 48 h old yet", n, d.Len())
	}
	clk.Add(2 * time.Hour)
	if n, _ := d.Sweep(); n != 1 || d.Len() != 1 {
		t.Fatalf("swept %d, kept %d", n, d.Len())
	}
	if _, ok, _ := d.Get("gw/charge/a"); ok {
		t.Fatal("an expired key is still there")
	}
	if v, ok, _ := d.Get("notify/log/b"); !ok || v[0] != 1 {
		t.Fatal("a recent key was swept")
	}
}

func TestKVDedupeExpires(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	kv := &memKV{m: map[string][]byte{
		"gw/charge/legacy": []byte("declined"), // stored before stamps
		"deadletter/x":     []byte("{}"),       // not a dedupe key: never swept
	}}
	d := &KVDedupe{KV: kv, Now: clk.Now} // default retention, 48 h
	if v, ok, _ := d.Get("gw/charge/legacy"); !ok || string(v) != "declined" {
		t.Fatalf("legacy value %q %v", v, ok)
	}
	gw := &Sandbox{Dedupe: d}
	if err := gw.Charge(context.Background(), "o:1", "o", "tok_ok", 100); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.Sweep(); n != 0 {
		t.Fatalf("swept %d fresh keys", n)
	}
	clk.Add(24 * time.Hour)
	d.PutIfAbsent("notify/log/o.3", []byte{1})
	clk.Add(25 * time.Hour) // the charge is 49 h old, the legacy key was stamped 49 h ago
	if n, err := d.Sweep(); err != nil || n != 2 {
		t.Fatalf("swept %d (%v), want the charge and the legacy key", n, err)
	}
	if _, ok, _ := d.Get("gw/charge/o:1"); ok {
		t.Fatal("the old charge key is still there")
	}
	if _, ok, _ := d.Get("notify/log/o.3"); !ok {
		t.Fatal("a 25 h old key was swept")
	}
	if _, ok, _ := kv.Get("deadletter/x"); !ok {
		t.Fatal("a key outside the dedupe prefixes was swept")
	}
	// a replay within the retention is still recognized as one
	if err := gw.Charge(context.Background(), "o:2", "o", "tok_ok", 1); err != nil {
		t.Fatal(err)
	}
	if err := gw.Charge(context.Background(), "o:2", "o", "tok_declined", 1); err != nil || gw.Charges.Load() != 2 {
		t.Fatalf("replay: %v, charges %d", err, gw.Charges.Load())
	}
}

func TestKVDeadLetters(t *testing.T) {
	s := &KVDeadLetters{KV: &memKV{m: map[string][]byte{}}}
	for _, id := range []string{"100", "9", "20"} {
		if err := s.Put(DeadLetter{ID: id, Event: seatmap.Event{ID: "e" + id}, Attempts: 10, LastError: "x", DeadAt: 1}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.List()
	if err != nil || len(ds) != 3 || ds[0].ID != "9" || ds[1].ID != "20" || ds[2].ID != "100" || ds[2].Event.ID != "e100" {
		t.Fatalf("list %+v %v", ds, err)
	}
	if d, ok, _ := s.Get("20"); !ok || d.Attempts != 10 {
		t.Fatalf("get %+v %v", d, ok)
	}
	for _, id := range []string{"21", "abc", ""} {
		if _, ok, err := s.Get(id); ok || err != nil {
			t.Fatalf("get %q: %v %v", id, ok, err)
		}
	}
	if err := s.Delete("20"); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.List(); len(ds) != 2 {
		t.Fatalf("after delete %+v", ds)
	}
	m := &MemDeadLetters{}
	for _, id := range []string{"100", "9", "20"} {
		m.Put(DeadLetter{ID: id})
	}
	if ds, _ := m.List(); ds[0].ID != "9" || ds[2].ID != "100" {
		t.Fatalf("mem list %+v", ds)
	}
}

// TestFileChannelForgets: the ids a FileChannel remembers are bounded by
// the retention, in the process and when read back from the file.
func TestFileChannelForgets(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1e9, 0).UTC()}
	path := filepath.Join(t.TempDir(), "n.log")
	ctx := context.Background()
	at := func() string { return clk.Now().Format(time.RFC3339Nano) }
	f := &FileChannel{Path: path, Now: clk.Now, Retention: 48 * time.Hour}
	for i := 0; i < 10; i++ {
		f.Send(ctx, Notification{EventID: "old" + itoa(i), At: at()})
	}
	clk.Add(30 * time.Hour)
	f.Send(ctx, Notification{EventID: "mid", At: at()})
	clk.Add(19 * time.Hour) // "old*" are 49 h old
	f.Send(ctx, Notification{EventID: "new", At: at()})
	if n := f.Remembered(); n != 2 {
		t.Fatalf("remembers %d ids, want 2 (mid, new)", n)
	}
	f.Send(ctx, Notification{EventID: "new", At: at()}) // still a duplicate
	f.Close()
	g := &FileChannel{Path: path, Now: clk.Now, Retention: 48 * time.Hour} // the next process
	g.Send(ctx, Notification{EventID: "mid", At: at()})
	if n := g.Remembered(); n != 2 {
		t.Fatalf("read back %d ids, want 2", n)
	}
	g.Close()
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != 12 {
		t.Fatalf("%d lines, want 12:\n%s", n, data)
	}
}

// gwRec records the keys a Gateway is called with.
type gwRec struct {
	Sandbox
	mu              sync.Mutex
	charged, refund []string
}

func (g *gwRec) Charge(ctx context.Context, key, order, token string, amount int64) error {
	g.mu.Lock()
	g.charged = append(g.charged, key)
	g.mu.Unlock()
	return g.Sandbox.Charge(ctx, key, order, token, amount)
}

func (g *gwRec) Refund(ctx context.Context, key, order string, amount int64) error {
	g.mu.Lock()
	g.refund = append(g.refund, key)
	g.mu.Unlock()
	return g.Sandbox.Refund(ctx, key, order, amount)
}

// attemptSettler records the attempts it is given and can answer order_not_found.
type attemptSettler struct {
	settler
	attempts []string
	err      error
}

func (s *attemptSettler) SettlePayment(ctx context.Context, e seatmap.Event, ok bool, id string) error {
	s.mu.Lock()
	s.attempts = append(s.attempts, e.Attempt)
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.settler.SettlePayment(ctx, e, ok, id)
}

// TestPaymentChargeKeyPerAttempt: a charge's key is the order and the
// attempt; a refund names the same key; a charge whose order the node does
// not know is refunded by the consumer.
func TestPaymentChargeKeyPerAttempt(t *testing.T) {
	ctx := context.Background()
	gw := &gwRec{Sandbox: Sandbox{Dedupe: NewMemDedupe()}}
	st := &attemptSettler{settler: *newSettler()}
	p := &Payment{Gateway: gw, Settler: st}
	pay := func(id, order, attempt, token string) seatmap.Event {
		return seatmap.Event{ID: id, Type: seatmap.EventPaymentRequested, OrderID: order, Attempt: attempt, Token: token, Amount: 100}
	}
	// attempt 1 declined, attempt 2 paid: two charges, two keys
	for _, e := range []seatmap.Event{pay("o.2", "o", "1", "tok_declined"), pay("o.4", "o", "2", "tok_ok"), pay("o.4", "o", "2", "tok_ok")} {
		if err := p.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(gw.charged, ","); got != "o:1,o:2,o:2" || gw.Charges.Load() != 1 {
		t.Fatalf("charge keys %s, charges %d", got, gw.Charges.Load())
	}
	if got := strings.Join(st.attempts, ","); got != "1,2,2" || !st.settled["o.4"] || st.settled["o.2"] {
		t.Fatalf("settled attempts %s, results %v", got, st.settled)
	}
	// an old event without an attempt keys on its event id
	if err := p.Handle(ctx, pay("old.2", "old", "", "tok_ok")); err != nil || gw.charged[3] != "old.2" {
		t.Fatalf("%v %v", err, gw.charged)
	}
	// a late success refunded: the refund names the charge
	if err := p.Handle(ctx, seatmap.Event{ID: "o.7", Type: seatmap.EventRefund, OrderID: "o", Attempt: "2", Amount: 100}); err != nil {
		t.Fatal(err)
	}
	if len(gw.refund) != 1 || gw.refund[0] != "o:2" || gw.Refunds.Load() != 1 {
		t.Fatalf("refunds %v", gw.refund)
	}

	// the node does not know the order: a successful charge is refunded, a declined one dropped
	st.err = &seatmap.Error{Err: seatmap.ErrOrderNotFound, Msg: "no order gone"}
	for rep := 0; rep < 2; rep++ {
		if err := p.Handle(ctx, pay("gone.2", "gone", "1", "tok_ok")); err != nil {
			t.Fatalf("order_not_found must not ask for redelivery: %v", err)
		}
		if err := p.Handle(ctx, pay("gone2.2", "gone2", "1", "tok_declined")); err != nil {
			t.Fatal(err)
		}
	}
	if gw.Refunds.Load() != 2 || gw.refund[1] != "gone:1" || len(gw.refund) != 3 || gw.refund[2] != "gone:1" {
		t.Fatalf("refunds %d %v: want gone:1 refunded once (called twice)", gw.Refunds.Load(), gw.refund)
	}
	// other settle errors still ask for redelivery, and refund nothing
	st.err = errors.New("shard unavailable")
	if err := p.Handle(ctx, pay("x.2", "x", "1", "tok_ok")); err == nil || len(gw.refund) != 3 {
		t.Fatalf("%v %v", err, gw.refund)
	}
}
