package vopr

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Payment tokens the clients pay with: what the simulated gateway does.
const (
	tokOK       = "tok_ok"       // charged
	tokDeclined = "tok_declined" // declined
	tokLate     = "tok_late"     // charged, but the gateway's answer is lost (succeeds late: the redelivery learns it)
)

// errGateway is the gateway being unreachable or timing out.
var errGateway = errors.New("gateway: timeout")

// charge is what the gateway did under one idempotency key.
type charge struct {
	key, order string
	amount     int64
	ok         bool // charged (not declined)
	refunded   bool
	at         int64
}

// gateway is the payment provider: idempotent by key like a real one, and
// failing like one (unreachable, a charge whose answer is lost).
type gateway struct {
	w       *world
	charges map[string]*charge
	keys    []string // in charge order, for deterministic checks
}

func (g *gateway) Charge(_ context.Context, key, orderID, token string, amount int64) error {
	w := g.w
	if w.s.chance(w.cfg.pGatewayDown) {
		return errGateway
	}
	c := g.charges[key]
	if c == nil {
		c = &charge{key: key, order: orderID, amount: amount, ok: token == tokOK || token == tokLate, at: w.s.now}
		g.charges[key] = c
		g.keys = append(g.keys, key)
		if token == tokLate || w.s.chance(w.cfg.pGatewayLate) {
			return errGateway // charged; the answer is lost
		}
	}
	if !c.ok {
		return pipeline.ErrDeclined
	}
	return nil
}

func (g *gateway) Refund(_ context.Context, key, orderID string, amount int64) error {
	w := g.w
	if w.s.chance(w.cfg.pGatewayDown) {
		return errGateway
	}
	if c := g.charges[key]; c != nil && c.ok {
		c.refunded = true
	}
	return nil
}

// notifier is the notification channel: it records what each order was told.
type notifier struct {
	w    *world
	sent map[string][]string // order id -> notification kinds, in order
	seen map[string]bool     // event ids
}

func (n *notifier) Name() string { return "log" }

func (n *notifier) Send(_ context.Context, m pipeline.Notification) error {
	if n.w.s.chance(n.w.cfg.pNotifyFail) {
		return errors.New("notification channel: unavailable")
	}
	if !n.seen[m.EventID] {
		n.seen[m.EventID] = true
		n.sent[m.OrderID] = append(n.sent[m.OrderID], m.Kind)
	}
	return nil
}

// settler is the consumers' way back to the shows (Booking's SettlePayment
// and RecordNotification): a call routed from the relay's node to the show's
// owner, made by the node's relay process.
type settler struct{ n *node }

func (s *settler) SettlePayment(_ context.Context, e seatmap.Event, success bool, eventID string) error {
	cmd := seatmap.Command{Kind: seatmap.KindPayResult, OrderID: e.OrderID, EventID: eventID, Success: success,
		Attempt: e.Attempt}
	return s.call(e, cmd)
}

func (s *settler) RecordNotification(_ context.Context, e seatmap.Event, channel string) error {
	cmd := seatmap.Command{Kind: seatmap.KindNotified, OrderID: e.OrderID, EventID: e.ID, Channel: channel}
	return s.call(e, cmd)
}

// call is Booking.showCall, then Booking.settledInArchive for an order the
// show no longer knows.
func (s *settler) call(e seatmap.Event, cmd seatmap.Command) error {
	n := s.n
	if n.relayP == nil {
		return errors.New("no relay")
	}
	_, err := n.w.invoke(n.relayP, n, e.Show, cmd, 5*time.Second)
	if !errors.Is(err, seatmap.ErrOrderNotFound) {
		return err
	}
	o, aerr := n.w.model.lookupArchive(n, e.OrderID)
	switch {
	case aerr != nil:
		return aerr
	case o != nil && actors.ArchivedTakes(*o, e):
		return nil
	}
	return err
}

// transport is pipeline.Local made sequential: each order's events in
// order through every handler, an order's later events skipped after a
// failure; orders in a deterministic order (the relay's batch comes from a
// map). It may deliver an event twice (at least once).
type transport struct {
	n        *node
	handlers []pipeline.Handler
}

func (t *transport) Publish(ctx context.Context, events []seatmap.Event) error {
	w := t.n.w
	idx := make([]int, len(events))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return events[idx[a]].OrderID < events[idx[b]].OrderID })
	errs := make([]error, len(events))
	failed := false
	skip := ""
	for _, i := range idx {
		e := events[i]
		if skip != "" && e.OrderID == skip {
			errs[i] = fmt.Errorf("%w: an earlier event of order %s failed", pipeline.ErrSkipped, skip)
			continue
		}
		skip = ""
		w.s.trace.add(w.s.now, w.s.steps, t.n.id, "  consume", e.Type+" "+e.ID)
		for times := 1 + boolInt(w.s.chance(w.cfg.pDupDelivery)); times > 0; times-- {
			for _, h := range t.handlers {
				if err := h.Handle(ctx, e); err != nil {
					errs[i], failed, skip = err, true, e.OrderID
					break
				}
			}
			if errs[i] != nil {
				break
			}
		}
	}
	if !failed {
		return nil
	}
	return &pipeline.EventErrors{Errs: errs}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
