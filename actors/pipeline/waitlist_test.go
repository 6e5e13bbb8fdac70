package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

type recChannel struct{ sent []Notification }

func (c *recChannel) Name() string { return "rec" }
func (c *recChannel) Send(_ context.Context, n Notification) error {
	c.sent = append(c.sent, n)
	return nil
}

// orderOnlySettler fails like the node does for an event without an order.
type orderOnlySettler struct{ recorded int }

func (s *orderOnlySettler) SettlePayment(context.Context, seatmap.Event, bool, string) error {
	return nil
}
func (s *orderOnlySettler) RecordNotification(_ context.Context, e seatmap.Event, _ string) error {
	if e.OrderID == "" {
		return seatmap.ErrOrderNotFound
	}
	s.recorded++
	return nil
}

var offered = seatmap.Event{ID: "gala~e1.offered", Type: seatmap.EventWaitlistOffered, Show: "gala", User: "wes",
	Quantity: 2, Seats: []string{"s0-1-1", "s0-1-2"}, Hold: "gala~e1.offer", Entry: "gala~e1", At: 1000, ExpiresAt: 301000}

// TestNotifyWaitlistOffer: an offer is notified once through every channel,
// naming the hold to order, and is not recorded in an order's history (it
// has none): a redelivery sends nothing again.
func TestNotifyWaitlistOffer(t *testing.T) {
	ch, st := &recChannel{}, &orderOnlySettler{}
	n := &Notify{Channels: []Channel{ch}, Settler: st, Dedupe: &MemDedupe{}}
	for i := 0; i < 2; i++ {
		if err := n.Handle(context.Background(), offered); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if len(ch.sent) != 1 || ch.sent[0].Kind != "waitlist_offered" || ch.sent[0].Hold != offered.Hold ||
		ch.sent[0].User != "wes" || !strings.Contains(ch.sent[0].Text, offered.Hold) {
		t.Fatalf("sent %+v", ch.sent)
	}
	if st.recorded != 0 {
		t.Fatalf("an offer was recorded in an order's history")
	}
	found := false
	for _, typ := range n.EventTypes() {
		found = found || typ == seatmap.EventWaitlistOffered
	}
	if !found {
		t.Fatal("the notification consumer does not subscribe to waitlist.offered")
	}
}

// TestWebhookWaitlistOffered: waitlist.offered is a webhook event type whose
// payload names the hold, the entry and the offer's expiry.
func TestWebhookWaitlistOffered(t *testing.T) {
	if WebhookType(offered) != "waitlist.offered" {
		t.Fatalf("webhook type %q", WebhookType(offered))
	}
	hooks := &Webhooks{KV: &memKV{m: map[string][]byte{}}, AllowPrivate: true}
	if _, err := hooks.Create(context.Background(), WebhookSpec{URL: "http://127.0.0.1:1/h", Events: []string{"waitlist.offered"}}); err != nil {
		t.Fatalf("a webhook for waitlist.offered: %v", err)
	}
	b, err := payload(WebhookType(offered), offered)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Type string `json:"type"`
		Data struct {
			Hold, Entry, User string
			ExpiresAt         string `json:"expires_at"`
			Seats             []string
			Quantity          int
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "waitlist.offered" || p.Data.Hold != offered.Hold || p.Data.Entry != offered.Entry ||
		p.Data.ExpiresAt != "1970-01-01T00:05:01Z" || p.Data.Quantity != 2 || len(p.Data.Seats) != 2 {
		t.Fatalf("payload %s", b)
	}
}
