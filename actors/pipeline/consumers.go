package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Handler consumes one event. It must be idempotent by event id and safe for
// concurrent use; an error asks for redelivery.
type Handler interface {
	Handle(ctx context.Context, e seatmap.Event) error
}

// Subscriber is a Handler that says which event types it acts on, so a
// transport can filter the others out before delivery (RocketMQ tags).
type Subscriber interface {
	EventTypes() []string
}

// Settler feeds consumer results back to the shards. actors.Booking implements it.
type Settler interface {
	SettlePayment(ctx context.Context, e seatmap.Event, success bool, eventID string) error
	RecordNotification(ctx context.Context, e seatmap.Event, channel string) error
}

// Dedupe is a small durable key/value store (persistence/pebble.Store).
type Dedupe interface {
	Get(key string) ([]byte, bool, error)
	PutIfAbsent(key string, val []byte) (bool, error)
}

// ErrDeclined is returned by a Gateway when the payment was refused.
var ErrDeclined = errors.New("payment declined")

// Gateway charges and refunds. Charge is idempotent by key: the same key
// charges once and answers the same result again. Safe for concurrent use.
type Gateway interface {
	Charge(ctx context.Context, key, orderID, token string, amountMinor int64) error
	Refund(ctx context.Context, key, orderID string, amountMinor int64) error
}

// Sandbox is the test payment gateway: "tok_ok" succeeds, "tok_slow" succeeds
// after SlowDelay, "tok_declined" and anything else are declined. It keeps
// its idempotency keys in Dedupe, so a redelivered charge is not charged twice
// even across restarts.
type Sandbox struct {
	Dedupe    Dedupe
	SlowDelay time.Duration
	Charges   atomic.Int64 // charges actually made (not replays)
	Refunds   atomic.Int64
}

func (s *Sandbox) Charge(ctx context.Context, key, orderID, token string, amount int64) error {
	if v, ok, err := s.Dedupe.Get("gw/charge/" + key); err != nil {
		return err
	} else if ok {
		if string(v) == "ok" {
			return nil
		}
		return ErrDeclined
	}
	result := "declined"
	switch token {
	case "tok_ok":
		result = "ok"
	case "tok_slow":
		select {
		case <-time.After(s.SlowDelay):
		case <-ctx.Done():
			return ctx.Err()
		}
		result = "ok"
	}
	if _, err := s.Dedupe.PutIfAbsent("gw/charge/"+key, []byte(result)); err != nil {
		return err
	}
	if result != "ok" {
		return ErrDeclined
	}
	s.Charges.Add(1)
	return nil
}

func (s *Sandbox) Refund(ctx context.Context, key, orderID string, amount int64) error {
	stored, err := s.Dedupe.PutIfAbsent("gw/refund/"+key, []byte("ok"))
	if stored {
		s.Refunds.Add(1)
	}
	return err
}

// Payment is the payment consumer.
type Payment struct {
	Gateway Gateway
	Settler Settler
	Log     *slog.Logger
}

// EventTypes are the events the payment consumer acts on.
func (p *Payment) EventTypes() []string {
	return []string{seatmap.EventPaymentRequested, seatmap.EventRefund}
}

// ChargeKey is the gateway's idempotency key of an order's charge: the order
// id and the payment attempt, or the event id for events without an attempt
// (written before attempts existed). A refund_requested event carries the
// attempt of the charge to refund, so it names the same key.
func ChargeKey(e seatmap.Event) string {
	if e.Attempt == "" {
		return e.ID
	}
	return e.OrderID + ":" + e.Attempt
}

func (p *Payment) Handle(ctx context.Context, e seatmap.Event) error {
	switch e.Type {
	case seatmap.EventPaymentRequested:
		key := ChargeKey(e)
		err := p.Gateway.Charge(ctx, key, e.OrderID, e.Token, e.Amount)
		if err != nil && !errors.Is(err, ErrDeclined) {
			return err // gateway trouble: redeliver
		}
		charged := err == nil
		err = p.Settler.SettlePayment(ctx, e, charged, e.ID)
		if !errors.Is(err, seatmap.ErrOrderNotFound) {
			return err
		}
		// No order takes this result (it left memory, or never existed):
		// every charge must end paid or refunded, so refund it here.
		if charged {
			if err := p.Gateway.Refund(ctx, key, e.OrderID, e.Amount); err != nil {
				return err // redeliver: the charge replays, the refund is tried again
			}
			p.log().Warn("payment: charged an order the node does not know; refunded", "order", e.OrderID, "key", key)
		}
		return nil
	case seatmap.EventRefund:
		return p.Gateway.Refund(ctx, ChargeKey(e), e.OrderID, e.Amount)
	}
	return nil
}

func (p *Payment) log() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}

// Channel sends one notification. Safe for concurrent use.
type Channel interface {
	Name() string
	Send(ctx context.Context, n Notification) error
}

// Notification is what a user is told.
type Notification struct {
	EventID string `json:"event_id"`
	OrderID string `json:"order"`
	Show    string `json:"show"`
	User    string `json:"user"`
	Kind    string `json:"kind"` // order_confirmed, order_expired, order_cancelled, waitlist_offered
	Text    string `json:"text"`
	At      string `json:"at"`
	Hold    string `json:"hold,omitempty"` // waitlist_offered: the hold to order
}

// FileChannel appends notifications as JSON lines to a file. It is
// idempotent by event id on its own: it remembers the event ids written in
// the last Retention (read back from the file on first use, aged by the
// notification's time), so a notification redelivered after a crash between
// writing the line and recording it is not written twice.
type FileChannel struct {
	Path      string
	Retention time.Duration    // how long ids are remembered; DefaultRetention when 0
	Now       func() time.Time // time.Now when nil

	mu    sync.Mutex           // protects following fields
	seen  map[string]time.Time // event ids written, and when; nil until loaded
	swept time.Time            // last time seen was swept
	fh    *os.File             // open for appending once loaded
}

func (f *FileChannel) Name() string { return "log" }

func (f *FileChannel) Send(_ context.Context, n Notification) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		if err := f.load(); err != nil {
			return err
		}
	}
	if _, dup := f.seen[n.EventID]; dup {
		return nil
	}
	if _, err = f.fh.Write(append(b, '\n')); err != nil {
		return err
	}
	now := clock(f.Now)
	f.seen[n.EventID] = now
	f.sweep(now)
	return nil
}

// sweep forgets the ids older than the retention, at most every 1/16 of it.
func (f *FileChannel) sweep(now time.Time) {
	ret := retention(f.Retention)
	if now.Sub(f.swept) < ret/16 {
		return
	}
	f.swept = now
	cut := now.Add(-ret)
	for id, at := range f.seen {
		if at.Before(cut) {
			delete(f.seen, id)
		}
	}
}

// Remembered returns how many event ids f remembers.
func (f *FileChannel) Remembered() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

// Close closes the file.
func (f *FileChannel) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fh == nil {
		return nil
	}
	err := f.fh.Close()
	f.fh, f.seen = nil, nil
	return err
}

// load reads the event ids of the last Retention already in the file (a
// line's age is its notification's time). A torn last line (a crash in the
// middle of a write) is cut off.
func (f *FileChannel) load() error {
	now := clock(f.Now)
	cut := now.Add(-retention(f.Retention))
	f.seen, f.swept = map[string]time.Time{}, now
	data, err := os.ReadFile(f.Path)
	if os.IsNotExist(err) {
		return f.open()
	} else if err != nil {
		return err
	}
	good := 0
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			break // torn line
		}
		var n Notification
		if json.Unmarshal(data[off:off+end], &n) == nil && n.EventID != "" {
			at, err := time.Parse(time.RFC3339Nano, n.At)
			if err != nil || at.After(now) {
				at = now
			}
			if !at.Before(cut) {
				f.seen[n.EventID] = at
			}
		}
		off += end + 1
		good = off
	}
	if good < len(data) {
		if err := os.Truncate(f.Path, int64(good)); err != nil {
			return err
		}
	}
	return f.open()
}

func (f *FileChannel) open() error {
	fh, err := os.OpenFile(f.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	f.fh = fh
	return nil
}

// Notify is the notification consumer.
type Notify struct {
	Channels []Channel
	Settler  Settler
	Dedupe   Dedupe
	Log      *slog.Logger
}

var notices = map[string][2]string{
	seatmap.EventPaid:      {"order_confirmed", "Your order %s is confirmed: %d seat(s)."},
	seatmap.EventExpired:   {"order_expired", "Your order %s expired unpaid; its %d seat(s) were released."},
	seatmap.EventCancelled: {"order_cancelled", "Your order %s was cancelled; its %d seat(s) were released."},
	// a waitlist offer: %s is the hold to order
	seatmap.EventWaitlistOffered: {"waitlist_offered", "Seats came back for you: hold %s has %d seat(s) in your name; order it before it lapses."},
}

// EventTypes are the events the notification consumer acts on.
func (n *Notify) EventTypes() []string {
	return []string{seatmap.EventPaid, seatmap.EventExpired, seatmap.EventCancelled, seatmap.EventWaitlistOffered}
}

func (n *Notify) Handle(ctx context.Context, e seatmap.Event) error {
	kind, ok := notices[e.Type]
	if !ok {
		return nil
	}
	for _, ch := range n.Channels {
		key := "notify/" + ch.Name() + "/" + e.ID
		if _, done, err := n.Dedupe.Get(key); err != nil {
			return err
		} else if done {
			continue // sent before: a redelivery
		}
		ref := e.OrderID
		if e.Type == seatmap.EventWaitlistOffered {
			ref = e.Hold
		}
		msg := Notification{EventID: e.ID, OrderID: e.OrderID, Show: e.Show, User: e.User, Kind: kind[0],
			Text: fmt.Sprintf(kind[1], ref, e.Quantity), At: time.UnixMilli(e.At).UTC().Format(time.RFC3339Nano),
			Hold: e.Hold}
		if err := ch.Send(ctx, msg); err != nil {
			return err
		}
		// an order's history records its notifications; an offer has no order yet
		if e.OrderID != "" {
			if err := n.Settler.RecordNotification(ctx, e, ch.Name()); err != nil {
				return err
			}
		}
		if _, err := n.Dedupe.PutIfAbsent(key, []byte{1}); err != nil {
			return err
		}
	}
	return nil
}
