package pipeline

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Webhook errors.
var (
	// ErrWebhookNotFound: no webhook has the id asked for.
	ErrWebhookNotFound = errors.New("webhook_not_found")
	// ErrInvalidWebhook: a registration without url or events, with an
	// unknown event type or a malformed secret.
	ErrInvalidWebhook = seatmap.ErrInvalidRequest
)

// WebhookEventTypes are the event types a webhook may subscribe to.
var WebhookEventTypes = []string{"order.paid", "order.expired", "order.cancelled", "order.refund_requested",
	"show.sold_out", "show.available", seatmap.EventWaitlistOffered}

// WebhookType returns the webhook event type of an outbox event ("" when
// webhooks do not carry it): order events are "order."+type, show events
// already have their webhook type.
func WebhookType(e seatmap.Event) string {
	switch e.Type {
	case seatmap.EventPaid, seatmap.EventExpired, seatmap.EventCancelled, seatmap.EventRefund:
		return "order." + e.Type
	case "show.sold_out", "show.available", seatmap.EventWaitlistOffered:
		return e.Type
	}
	return ""
}

// Defaults of Webhooks.
const (
	DefaultWebhookMinBackoff = 5 * time.Second
	DefaultWebhookMaxBackoff = 2 * time.Hour
	DefaultWebhookMaxAge     = 24 * time.Hour
	DefaultWebhookTimeout    = 10 * time.Second
	DefaultWebhookWorkers    = 32
	// with Shared
	DefaultWebhookRefresh           = 250 * time.Millisecond
	DefaultWebhookDeliveriesKept    = 1000
	DefaultWebhookDeliveriesKeptFor = 7 * 24 * time.Hour
)

// Webhook is a registration. Secret is shown once, when it is created.
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// WebhookSpec is what POST /v1/webhooks asks for.
type WebhookSpec struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"` // generated when empty
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// Attempt is one try of a delivery.
type Attempt struct {
	At         time.Time  `json:"at"`
	StatusCode int        `json:"status_code,omitempty"`
	Error      string     `json:"error,omitempty"`
	DurationMs float64    `json:"duration_ms"`
	NextAt     *time.Time `json:"next_attempt_at,omitempty"` // when it failed and will be tried again
}

// Delivery is one event sent to one webhook; its ID is the webhook-id
// header, the same on every attempt.
type Delivery struct {
	ID        string          `json:"id"`
	Webhook   string          `json:"webhook"`
	EventID   string          `json:"event_id"`
	Type      string          `json:"type"`
	Status    string          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	NextAt    *time.Time      `json:"next_attempt_at,omitempty"`
	Attempts  []Attempt       `json:"attempts"`
	Payload   json.RawMessage `json:"payload"`
}

// kv keys
const (
	whRegPrefix  = "wh/reg/"  // + webhook id → Webhook (with secret); without Shared
	whDelPrefix  = "wh/del/"  // + webhook id + "/" + delivery id → Delivery
	whPendPrefix = "wh/pend/" // + delivery id → webhook id, while pending
	// with Shared:
	whMirPrefix   = "wh/mir/"   // + %020d sequence → webhook id + "/" + delivery id: a record to copy to Shared
	whKnownPrefix = "wh/known/" // + webhook id → "": a registration this node has seen (its local records go when it is gone)
)

// Webhooks registers webhooks and delivers events to them. As a Handler fed
// by the relay it turns each event into one durable delivery per subscribed
// webhook (and then lets the relay acknowledge the event); Run sends the
// deliveries, each retried alone with exponential backoff until MaxAge after
// its creation, then marked dead. Pending deliveries survive restarts.
//
// Without Shared, registrations and delivery records live in KV (one node).
// With Shared (a fleet), see webhooks_shared.go: registrations live in
// Shared and are cached here, and every delivery record is copied there.
type Webhooks struct {
	KV  KV
	Log *slog.Logger
	// Shared, when set, holds the registrations and a copy of every
	// delivery record, seen by every node (persistence/redis.Client). KV
	// keeps this node's pending deliveries and their records.
	Shared SharedWebhooks
	// RefreshEvery is how often the registrations are read from Shared
	// (DefaultWebhookRefresh).
	RefreshEvery time.Duration
	// DeliveriesKept and DeliveriesKeptFor bound the records kept in Shared
	// per webhook: the newest DeliveriesKept (DefaultWebhookDeliveriesKept),
	// none created longer ago than DeliveriesKeptFor
	// (DefaultWebhookDeliveriesKeptFor, and at least MaxAge + 1 h).
	DeliveriesKept    int
	DeliveriesKeptFor time.Duration
	// AllowPrivate lets webhook URLs resolve to loopback and private addresses.
	AllowPrivate bool
	// Resolver resolves webhook hosts; net.DefaultResolver when nil.
	Resolver Resolver
	// MinBackoff after the first failure, doubling up to MaxBackoff; a
	// delivery still failing MaxAge after its creation is dead.
	MinBackoff, MaxBackoff, MaxAge time.Duration
	Timeout                        time.Duration // of one attempt
	Workers                        int           // attempts in flight
	Now                            func() time.Time

	Delivered, Failed, Dead atomic.Int64

	once    sync.Once
	client  *http.Client
	wake    chan struct{}
	mirWake chan struct{} // asks the mirror loop to copy records to Shared now

	// regMu serializes reading and changing the registrations in Shared, so
	// that an older read never replaces a newer one in the cache.
	regMu    sync.Mutex
	migrated bool // local registrations were moved to Shared (under regMu)

	// mirMu is held shared by each writer of a mirror mark and the record
	// it marks, and exclusively by the mirror loop while it scans the marks:
	// a mark it finds has its record written.
	mirMu  sync.RWMutex
	mirSeq atomic.Uint64 // the last mirror mark's sequence

	mu         sync.Mutex // protects following fields
	hooks      map[string]Webhook
	queue      schedule
	loaded     bool   // pending deliveries (and, without Shared, registrations) read from KV
	regsLoaded bool   // hooks holds the registrations
	regsVer    string // with Shared: the version hooks were read at
}

func (w *Webhooks) init() {
	w.once.Do(func() {
		if w.Log == nil {
			w.Log = slog.Default()
		}
		if w.MinBackoff <= 0 {
			w.MinBackoff = DefaultWebhookMinBackoff
		}
		if w.MaxBackoff < w.MinBackoff {
			w.MaxBackoff = max(DefaultWebhookMaxBackoff, w.MinBackoff)
		}
		if w.MaxAge <= 0 {
			w.MaxAge = DefaultWebhookMaxAge
		}
		if w.Timeout <= 0 {
			w.Timeout = DefaultWebhookTimeout
		}
		if w.Workers <= 0 {
			w.Workers = DefaultWebhookWorkers
		}
		if w.Now == nil {
			w.Now = time.Now
		}
		d := &safeDialer{resolver: w.Resolver, allowPrivate: w.AllowPrivate}
		d.dialer.Timeout = w.Timeout
		w.client = &http.Client{
			Timeout: w.Timeout,
			Transport: &http.Transport{
				Proxy:               nil, // a proxy would dial what the dialer did not check
				DialContext:         d.DialContext,
				MaxIdleConnsPerHost: 4,
				IdleConnTimeout:     30 * time.Second,
				TLSHandshakeTimeout: w.Timeout,
			},
			// a redirect is a failed attempt: following it would leave the checked URL
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		w.wake = make(chan struct{}, 1)
		w.mirWake = make(chan struct{}, 1)
		w.hooks = map[string]Webhook{}
		if w.RefreshEvery <= 0 {
			w.RefreshEvery = DefaultWebhookRefresh
		}
		if w.DeliveriesKept <= 0 {
			w.DeliveriesKept = DefaultWebhookDeliveriesKept
		}
		if w.DeliveriesKeptFor <= 0 {
			w.DeliveriesKeptFor = DefaultWebhookDeliveriesKeptFor
		}
		w.DeliveriesKeptFor = max(w.DeliveriesKeptFor, w.MaxAge+time.Hour)
	})
}

// Load reads the registrations and the pending deliveries. Call it before
// the relay starts; Handle and Run call it if it was not. With Shared, a
// Shared that does not answer is not an error: events wait (the relay
// publishes them again, ErrSkipped) until the registrations are read.
func (w *Webhooks) Load() error {
	w.init()
	w.mu.Lock()
	err := w.loadLocked()
	w.mu.Unlock()
	if err != nil || w.Shared == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	if err := w.refresh(ctx); err != nil {
		w.Log.Warn("webhooks: registrations not read from Redis yet; events wait for them", "err", err)
	}
	return nil
}

func (w *Webhooks) loadLocked() error {
	if w.loaded {
		return nil
	}
	if w.Shared == nil {
		var bad error
		err := w.KV.ScanKV(whRegPrefix, func(_ string, val []byte) bool {
			var h Webhook
			if bad = json.Unmarshal(val, &h); bad != nil {
				return false
			}
			w.hooks[h.ID] = h
			return true
		})
		if err == nil {
			err = bad
		}
		if err != nil {
			return fmt.Errorf("webhooks: loading registrations: %w", err)
		}
		w.regsLoaded = true
	} else if err := w.loadMirrorSeq(); err != nil {
		return err
	}
	var pend []schedItem
	err := w.KV.ScanKV(whPendPrefix, func(key string, val []byte) bool {
		pend = append(pend, schedItem{delivery: strings.TrimPrefix(key, whPendPrefix), webhook: string(val)})
		return true
	})
	if err != nil {
		return fmt.Errorf("webhooks: loading pending deliveries: %w", err)
	}
	now := w.Now()
	for _, it := range pend {
		it.at = now // when it was due is in its record; try it now
		heap.Push(&w.queue, &it)
	}
	w.loaded = true
	if len(pend) > 0 {
		w.Log.Info("webhooks: resuming pending deliveries", "deliveries", len(pend))
	}
	return nil
}

// NewWebhookSecret returns "whsec_" + base64 of 24 random bytes.
func NewWebhookSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// secretKey returns the HMAC key of a "whsec_..." secret.
func secretKey(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") || len(k) < 24 || len(k) > 64 {
		return nil, &seatmap.Error{Err: ErrInvalidWebhook, Msg: `secret must be "whsec_" + base64 of 24 to 64 bytes`}
	}
	return k, nil
}

// Sign returns the webhook-signature header value of one attempt, per the
// Standard Webhooks specification: "v1," + base64(HMAC-SHA256(key,
// id + "." + timestamp + "." + body)), key the base64-decoded secret after
// "whsec_".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	k, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// Create registers a webhook and returns it with its secret (the only time
// it is shown).
func (w *Webhooks) Create(ctx context.Context, spec WebhookSpec) (Webhook, error) {
	w.init()
	if err := CheckWebhookURL(ctx, w.Resolver, spec.URL, w.AllowPrivate); err != nil {
		return Webhook{}, err
	}
	if len(spec.Events) == 0 {
		return Webhook{}, &seatmap.Error{Err: ErrInvalidWebhook, Msg: "events must name at least one of " + strings.Join(WebhookEventTypes, ", ")}
	}
	var events []string
	for _, e := range spec.Events {
		if !slices.Contains(WebhookEventTypes, e) {
			return Webhook{}, &seatmap.Error{Err: ErrInvalidWebhook, Msg: fmt.Sprintf("unknown event type %q; known: %s", e, strings.Join(WebhookEventTypes, ", "))}
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	if spec.Secret == "" {
		spec.Secret = NewWebhookSecret()
	} else if _, err := secretKey(spec.Secret); err != nil {
		return Webhook{}, err
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	h := Webhook{ID: "wh_" + hex.EncodeToString(id[:]), URL: spec.URL, Events: events, Secret: spec.Secret,
		CreatedAt: w.Now().UTC()}
	b, err := json.Marshal(h)
	if err != nil {
		return Webhook{}, err
	}
	if w.Shared != nil {
		if err := w.createShared(ctx, h, b); err != nil {
			return Webhook{}, err
		}
		return h, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.loadLocked(); err != nil {
		return Webhook{}, err
	}
	if err := w.KV.Put(whRegPrefix+h.ID, b, true); err != nil {
		return Webhook{}, err
	}
	w.hooks[h.ID] = h
	return h, nil
}

// List returns the webhooks, without their secrets, oldest first.
func (w *Webhooks) List(ctx context.Context) ([]Webhook, error) {
	w.init()
	if err := w.current(ctx); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.loadLocked(); err != nil {
		return nil, err
	}
	out := make([]Webhook, 0, len(w.hooks))
	for _, h := range w.hooks {
		h.Secret = ""
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Webhook) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Get returns a webhook without its secret.
func (w *Webhooks) Get(ctx context.Context, id string) (Webhook, error) {
	w.init()
	if err := w.current(ctx); err != nil {
		return Webhook{}, err
	}
	h, ok, err := w.hook(id)
	if err != nil {
		return Webhook{}, err
	}
	if !ok {
		return Webhook{}, &seatmap.Error{Err: ErrWebhookNotFound, Msg: "no webhook with this id"}
	}
	h.Secret = ""
	return h, nil
}

func (w *Webhooks) hook(id string) (Webhook, bool, error) {
	w.init()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.loadLocked(); err != nil {
		return Webhook{}, false, err
	}
	if !w.regsLoaded {
		return Webhook{}, false, errRegsNotRead
	}
	h, ok := w.hooks[id]
	return h, ok, nil
}

// Delete removes a webhook and its delivery records; its pending
// deliveries are dropped.
func (w *Webhooks) Delete(ctx context.Context, id string) error {
	w.init()
	if w.Shared != nil {
		return w.deleteShared(ctx, id)
	}
	if _, err := w.Get(ctx, id); err != nil {
		return err
	}
	w.mu.Lock()
	err := w.KV.DeleteKV(whRegPrefix + id)
	if err == nil {
		delete(w.hooks, id)
	}
	w.mu.Unlock()
	if err != nil {
		return err
	}
	return w.purgeLocal(id)
}

// purgeLocal deletes the delivery records of a webhook from KV; its
// pending marks are dropped when their attempt finds no webhook.
func (w *Webhooks) purgeLocal(id string) error {
	keys := []string{whKnownPrefix + id}
	if err := w.KV.ScanKV(whDelPrefix+id+"/", func(key string, _ []byte) bool {
		keys = append(keys, key)
		return true
	}); err != nil {
		return err
	}
	return w.KV.DeleteKV(keys...)
}

// Deliveries returns a webhook's deliveries with every attempt, oldest first.
func (w *Webhooks) Deliveries(ctx context.Context, id string) ([]Delivery, error) {
	w.init()
	if w.Shared != nil {
		return w.deliveriesShared(ctx, id)
	}
	if _, err := w.Get(ctx, id); err != nil {
		return nil, err
	}
	out := []Delivery{}
	var bad error
	err := w.KV.ScanKV(whDelPrefix+id+"/", func(_ string, val []byte) bool {
		var d Delivery
		if bad = json.Unmarshal(val, &d); bad != nil {
			return false
		}
		out = append(out, d)
		return true
	})
	if err == nil {
		err = bad
	}
	slices.SortStableFunc(out, func(a, b Delivery) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// deliveryID is the webhook-id of (event, webhook): the same for a
// redelivered event, so a duplicate from the relay makes no second delivery.
func deliveryID(eventID, webhookID string) string {
	s := sha256.Sum256([]byte(webhookID + "\x00" + eventID))
	return "msg_" + base64.RawURLEncoding.EncodeToString(s[:18])
}

// payload is the Standard Webhooks body: {"type","timestamp","data"}.
// It never carries the payment token.
func payload(typ string, e seatmap.Event) ([]byte, error) {
	type data struct {
		EventID  string   `json:"event_id"`
		Show     string   `json:"show"`
		Order    string   `json:"order,omitempty"`
		User     string   `json:"user,omitempty"`
		Amount   int64    `json:"amount,omitempty"`
		Quantity int      `json:"quantity,omitempty"`
		Seats    []string `json:"seats,omitempty"`
		Attempt  string   `json:"attempt,omitempty"`
		// waitlist.offered: the offer's hold and entry, and when it lapses
		Hold      string     `json:"hold,omitempty"`
		Entry     string     `json:"entry,omitempty"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
	}
	return json.Marshal(struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      data      `json:"data"`
	}{typ, time.UnixMilli(e.At).UTC(), data{EventID: e.ID, Show: e.Show, Order: e.OrderID, User: e.User,
		Amount: e.Amount, Quantity: e.Quantity, Seats: e.Seats, Attempt: e.Attempt, Hold: e.Hold, Entry: e.Entry,
		ExpiresAt: unixMsPtr(e.ExpiresAt)}})
}

// unixMsPtr is the instant ms, or nil for 0.
func unixMsPtr(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// Handle makes one durable delivery of e per webhook subscribed to its type
// and schedules it. It returns once they are stored; an error asks the relay
// to deliver e again.
func (w *Webhooks) Handle(ctx context.Context, e seatmap.Event) error {
	typ := WebhookType(e)
	if typ == "" {
		return nil
	}
	w.init()
	subs, err := w.subscribers(ctx, typ)
	if err != nil {
		return err
	}
	if len(subs) == 0 {
		return nil
	}
	body, err := payload(typ, e)
	if err != nil {
		return err
	}
	now := w.Now().UTC()
	for _, h := range subs {
		d := Delivery{ID: deliveryID(e.ID, h.ID), Webhook: h.ID, EventID: e.ID, Type: typ, Status: DeliveryPending,
			CreatedAt: now, NextAt: &now, Attempts: []Attempt{}, Payload: body}
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		stored, err := w.storeNew(h.ID, d.ID, b)
		if err != nil {
			return err
		}
		if stored {
			w.push(&schedItem{delivery: d.ID, webhook: h.ID, at: now})
		}
	}
	return nil
}

// subscribers returns the webhooks subscribed to typ. With Shared, until
// the registrations were read once, it tries to read them, and fails with
// ErrSkipped (the relay publishes the event again, counting no try).
func (w *Webhooks) subscribers(ctx context.Context, typ string) ([]Webhook, error) {
	w.mu.Lock()
	err := w.loadLocked()
	ready := w.regsLoaded
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !ready {
		c, cancel := context.WithTimeout(ctx, sharedTimeout)
		err := w.refresh(c)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%w: %w: %w", ErrSkipped, errRegsNotRead, err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var subs []Webhook
	for _, h := range w.hooks {
		if slices.Contains(h.Events, typ) {
			subs = append(subs, h)
		}
	}
	return subs, nil
}

// storeNew stores a new delivery record unless it exists (a duplicate
// event), with its pending mark and, with Shared, its mirror mark.
func (w *Webhooks) storeNew(webhook, delivery string, rec []byte) (stored bool, err error) {
	unlock := w.markMirror(webhook, delivery)
	defer unlock()
	// the pending mark first: a mark without a record is dropped on load,
	// a record without a mark would never be sent
	if err := w.KV.Put(whPendPrefix+delivery, []byte(webhook), true); err != nil {
		return false, err
	}
	return w.KV.PutIfAbsent(whDelPrefix+webhook+"/"+delivery, rec)
}

// storeRecord replaces a delivery record, with its mirror mark with Shared.
func (w *Webhooks) storeRecord(webhook, delivery string, rec []byte) error {
	unlock := w.markMirror(webhook, delivery)
	defer unlock()
	return w.KV.Put(whDelPrefix+webhook+"/"+delivery, rec, true)
}

func (w *Webhooks) push(it *schedItem) {
	w.mu.Lock()
	heap.Push(&w.queue, it)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run sends due deliveries until ctx is done, at most Workers at a time;
// with Shared it also refreshes the registrations and copies the delivery
// records there.
func (w *Webhooks) Run(ctx context.Context) {
	if err := w.Load(); err != nil {
		w.Log.Error("webhooks: not delivering", "err", err)
		return
	}
	sem := make(chan struct{}, w.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	if w.Shared != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.sharedLoops(ctx)
		}()
	}
	for ctx.Err() == nil {
		w.mu.Lock()
		var due *schedItem
		wait := time.Minute
		if len(w.queue) > 0 {
			if d := w.queue[0].at.Sub(w.Now()); d <= 0 {
				due = heap.Pop(&w.queue).(*schedItem)
			} else {
				wait = d
			}
		}
		w.mu.Unlock()
		if due == nil {
			t := time.NewTimer(wait)
			select {
			case <-w.wake:
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if next, again := w.attempt(ctx, due); again {
				due.at = next
				w.push(due)
			}
		}()
	}
}

// attempt tries a delivery once and stores the outcome; again reports that
// it stays pending, next when to try it again.
func (w *Webhooks) attempt(ctx context.Context, it *schedItem) (next time.Time, again bool) {
	key := whDelPrefix + it.webhook + "/" + it.delivery
	h, ok, err := w.hook(it.webhook)
	if err == nil && !ok {
		_ = w.KV.DeleteKV(whPendPrefix + it.delivery) // the webhook was deleted
		return time.Time{}, false
	}
	var d Delivery
	var raw []byte
	if err == nil {
		raw, ok, err = w.KV.Get(key)
		if err == nil && !ok {
			_ = w.KV.DeleteKV(whPendPrefix + it.delivery) // a mark whose record was never written
			return time.Time{}, false
		}
	}
	if err == nil {
		err = json.Unmarshal(raw, &d)
	}
	if err != nil {
		if !errors.Is(err, errRegsNotRead) { // that one is logged once, by Load and the refresh loop
			w.Log.Warn("webhooks: cannot read a delivery; trying later", "delivery", it.delivery, "err", err)
		}
		return w.Now().Add(w.MinBackoff), true
	}
	if d.Status != DeliveryPending {
		_ = w.KV.DeleteKV(whPendPrefix + it.delivery)
		return time.Time{}, false
	}
	start := w.Now()
	code, sendErr := w.send(ctx, h, d, start)
	if ctx.Err() != nil {
		return time.Time{}, false // stopping: the mark stays, the next start tries again
	}
	end := w.Now()
	a := Attempt{At: start.UTC(), StatusCode: code, DurationMs: float64(end.Sub(start).Microseconds()) / 1000}
	if sendErr != nil {
		a.Error = truncate(sendErr.Error(), 300)
	}
	switch {
	case sendErr == nil:
		d.Status, d.NextAt = DeliveryDelivered, nil
		w.Delivered.Add(1)
	default:
		w.Failed.Add(1)
		n := w.backoff(len(d.Attempts) + 1)
		if at := end.Add(n); at.Sub(d.CreatedAt) <= w.MaxAge {
			at = at.UTC()
			a.NextAt, d.NextAt = &at, &at
			next, again = at, true
		} else {
			d.Status, d.NextAt = DeliveryDead, nil
			w.Dead.Add(1)
			w.Log.Warn("webhooks: delivery is dead", "delivery", d.ID, "webhook", h.ID, "event", d.EventID,
				"attempts", len(d.Attempts)+1, "err", a.Error)
		}
	}
	d.Attempts = append(d.Attempts, a)
	b, _ := json.Marshal(d)
	if err := w.storeRecord(it.webhook, it.delivery, b); err != nil {
		w.Log.Warn("webhooks: cannot store a delivery attempt", "delivery", d.ID, "err", err)
		if !again {
			return end.Add(w.MinBackoff), true // the mark stays: it may be sent again (at least once)
		}
		return next, true
	}
	if _, ok, err := w.hook(h.ID); err == nil && !ok {
		// deleted during the attempt, after its records were: drop this one too
		_ = w.KV.DeleteKV(key, whPendPrefix+d.ID)
		return time.Time{}, false
	}
	if !again {
		if err := w.KV.DeleteKV(whPendPrefix + d.ID); err != nil {
			w.Log.Warn("webhooks: cannot clear a pending mark", "delivery", d.ID, "err", err)
		}
	}
	return next, again
}

// send POSTs a delivery once; nil when the receiver answered 2xx.
func (w *Webhooks) send(ctx context.Context, h Webhook, d Delivery, now time.Time) (int, error) {
	ts := now.Unix()
	sig, err := Sign(h.Secret, d.ID, ts, d.Payload)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "boxoffice-webhooks")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// backoff is the delay after the n-th failed attempt.
func (w *Webhooks) backoff(n int) time.Duration {
	d := w.MinBackoff
	for i := 1; i < n && d < w.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.MaxBackoff)
}

// Pending returns how many deliveries wait for an attempt.
func (w *Webhooks) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// schedule is a min-heap of deliveries by next attempt.
type schedItem struct {
	delivery, webhook string
	at                time.Time
}

type schedule []*schedItem

func (s schedule) Len() int           { return len(s) }
func (s schedule) Less(i, j int) bool { return s[i].at.Before(s[j].at) }
func (s schedule) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }
func (s *schedule) Push(x any)        { *s = append(*s, x.(*schedItem)) }
func (s *schedule) Pop() any {
	old := *s
	it := old[len(old)-1]
	*s = old[:len(old)-1]
	return it
}
