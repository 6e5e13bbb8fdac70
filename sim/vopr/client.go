package vopr

import (
	"errors"
	"fmt"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// errTimeout: the client got no answer in time (the outcome is unknown).
var errTimeout = errors.New("client timeout")

// clientTimeout is how long a client waits for an answer.
const clientTimeout = 3 * time.Second

// client is one user of the API with its own holds and orders: it holds
// (specific seats, best available, GA, by tier), releases, extends, orders,
// pays, cancels and reads, and retries after a timeout or a 503 with the
// same idempotency key, as the API's clients are told to.
type client struct {
	w      *world
	id     int
	user   string
	home   int // the node it usually talks to
	holds  []*holdFact
	orders []*orderFact
	keys   int
}

// do sends one command through a node (the edge and Booking of that node)
// over a network that delays, drops, duplicates and loses answers.
func (c *client) do(p *proc, show string, cmd seatmap.Command) (res seatmap.Result, err error) {
	w := c.w
	rec := w.lin.begin(c, show, cmd)
	defer func() { w.lin.end(rec, show, res, err) }()
	start := w.s.now
	entry := w.nodes[c.home]
	if !entry.alive || w.s.chance(0.2) {
		entry = w.nodes[w.s.rng.IntN(len(w.nodes))]
	}
	timeout := func() (seatmap.Result, error) {
		if left := start + int64(clientTimeout) - w.s.now; left > 0 {
			w.s.sleep(p, -1, time.Duration(left))
		}
		return seatmap.Result{}, errTimeout
	}
	w.s.sleep(p, -1, w.s.between(w.cfg.netMin, w.cfg.netMax))
	if !entry.alive || w.s.chance(w.cfg.pNetDrop) {
		return timeout()
	}
	if w.s.chance(w.cfg.pNetDup) { // the request arrives twice
		dup := cmd
		w.lin.duplicate(rec)
		w.s.spawn("duplicate request", entry.id, func(q *proc) {
			_, _ = w.showCall(q, entry, show, dup)
		})
	}
	res, err = w.showCall(p, entry, show, cmd)
	if err == nil && res.Err == nil && cmd.Kind == seatmap.KindOrder && res.ArchivedOrderID != "" {
		// Booking answers the archived copy of an order that left memory
		o, aerr := c.archived(entry, res.ArchivedOrderID)
		if aerr != nil {
			return seatmap.Result{}, aerr
		}
		res.Order = o
	}
	if errors.Is(err, seatmap.ErrOrderNotFound) && cmd.Kind == seatmap.KindGetOrder && entry.alive {
		o, aerr := c.archived(entry, cmd.OrderID) // Booking.orderCmd: the archive's answer
		res, err = seatmap.Result{Order: o}, aerr
	}
	if err == errConnLost || w.s.chance(w.cfg.pNetLoseReply) {
		return timeout()
	}
	w.s.sleep(p, -1, w.s.between(w.cfg.netMin, w.cfg.netMax))
	return res, err
}

// showCall is Booking's: the gate (unknown shows cost nothing), then the
// call to the show's actor.
func (w *world) showCall(p *proc, entry *node, show string, cmd seatmap.Command) (seatmap.Result, error) {
	if err := w.gate(entry, show, cmd); err != nil {
		return seatmap.Result{}, err
	}
	return w.invoke(p, entry, show, cmd, 2*time.Second)
}

// archived is Booking's archive read: the entry node's journal, then Redis.
func (c *client) archived(n *node, id string) (*seatmap.OrderView, error) {
	o, err := c.w.model.lookupArchive(n, id)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, seatmap.ErrOrderNotFound
	}
	return o, nil
}

// retry runs cmd until it gets an answer that is not a 503 or a timeout, at
// most tries times; mk builds each try's command (fresh ids, same key).
func (c *client) retry(p *proc, show string, tries int, mk func() seatmap.Command) (seatmap.Result, error) {
	var res seatmap.Result
	var err error
	for i := 0; i < tries; i++ {
		if i > 0 {
			c.w.s.sleep(p, -1, c.w.s.between(10*time.Millisecond, 300*time.Millisecond))
		}
		res, err = c.do(p, show, mk())
		if err == nil || !isUnavailable(err) {
			return res, err
		}
		if c.w.stopping {
			break
		}
	}
	return res, err
}

// run is the client's life.
func (c *client) run(p *proc) {
	w := c.w
	for !w.stopping {
		w.s.sleep(p, -1, w.s.between(0, w.cfg.think))
		if w.stopping {
			return
		}
		show := w.shows[w.s.rng.IntN(len(w.shows))]
		switch r := w.s.rng.IntN(100); {
		case r < 30:
			c.hold(p, show)
		case r < 37:
			c.release(p)
		case r < 42:
			c.extend(p)
		case r < 60:
			c.order(p)
		case r < 72:
			c.pay(p)
		case r < 78:
			c.cancel(p)
		case r < 97:
			c.read(p, show)
		default:
			c.unknown(p)
		}
	}
}

func (c *client) key(what string) string {
	c.keys++
	return fmt.Sprintf("%s-%s%d", c.user, what, c.keys)
}

// hold places a hold of a random kind.
func (c *client) hold(p *proc, show *showState) {
	w := c.w
	req := seatmap.Command{Kind: seatmap.KindHold, User: c.user}
	switch w.s.rng.IntN(4) {
	case 0: // specific seats
		n := 1 + w.s.rng.IntN(3)
		for i := 0; i < n; i++ {
			req.Seats = append(req.Seats, show.seats[w.s.rng.IntN(len(show.seats))])
		}
	case 1: // best available in a section
		req.Section, req.Quantity = []string{"a", "b"}[w.s.rng.IntN(2)], 1+w.s.rng.IntN(3)
	case 2: // general admission
		req.Section, req.Quantity = "ga", 1+w.s.rng.IntN(4)
	case 3: // by tier
		req.Tier, req.Quantity = []string{"std", "vip"}[w.s.rng.IntN(2)], 1+w.s.rng.IntN(3)
	}
	if w.s.chance(0.9) {
		req.IdemKey = c.key("h")
		req.IdemHash = describeCmd(req)
	}
	res, err := c.retry(p, show.id, 4, func() seatmap.Command {
		cmd := req
		cmd.HoldID = w.newID(show.id)
		return cmd
	})
	if err != nil {
		return
	}
	w.model.ackHold(show.id, res.Hold)
	if f := w.model.holds[res.Hold.ID]; res.Hold.OrderID == "" && !contains(c.holds, f) {
		c.holds = append(c.holds, f)
	}
}

func contains[T comparable](s []T, x T) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// pickHold returns one of the client's holds that may be live, or nil.
func (c *client) pickHold() *holdFact {
	now := c.w.maxClockMs()
	kept := c.holds[:0]
	for _, h := range c.holds {
		if !h.released && h.orderID == "" && now < h.expiresMin+2000 {
			kept = append(kept, h)
		}
	}
	clear(c.holds[len(kept):])
	c.holds = kept
	if len(c.holds) == 0 {
		return nil
	}
	return c.holds[c.w.s.rng.IntN(len(c.holds))]
}

func (c *client) release(p *proc) {
	h := c.pickHold()
	if h == nil {
		return
	}
	if h.endSentAt == 0 {
		h.endSentAt = c.w.s.now
	}
	_, err := c.retry(p, h.show, 3, func() seatmap.Command {
		return seatmap.Command{Kind: seatmap.KindRelease, HoldID: h.id, User: c.user}
	})
	if err == nil {
		h.released = true
	}
}

func (c *client) extend(p *proc) {
	h := c.pickHold()
	if h == nil {
		return
	}
	secs := 1 + c.w.s.rng.IntN(20)
	// until answered, the hold may expire at (the time it applies) + secs,
	// perhaps earlier than it was told: no earlier than now + secs
	h.expiresMin = min(h.expiresMin, c.w.nowMs()+int64(secs)*1000)
	res, err := c.retry(p, h.show, 3, func() seatmap.Command {
		return seatmap.Command{Kind: seatmap.KindExtend, HoldID: h.id, User: c.user, Seconds: secs}
	})
	if err == nil && res.Hold != nil {
		h.expiresMin = min(h.expiresMin, res.Hold.ExpiresAt)
	}
}

func (c *client) order(p *proc) {
	w := c.w
	h := c.pickHold()
	if h == nil {
		return
	}
	if h.endSentAt == 0 {
		h.endSentAt = w.s.now
	}
	key := c.key("o")
	res, err := c.retry(p, h.show, 4, func() seatmap.Command {
		return seatmap.Command{Kind: seatmap.KindOrder, HoldID: h.id, OrderID: w.newID(h.show), IdemKey: key,
			IdemHash: h.id, User: c.user}
	})
	if err != nil || res.Order == nil {
		return
	}
	f := w.model.ackOrder(res.Order)
	f.observe(w, res.Order)
	if !contains(c.orders, f) {
		c.orders = append(c.orders, f)
	}
}

// pickOrder returns one of the client's orders not known to be terminal.
func (c *client) pickOrder() *orderFact {
	kept := c.orders[:0]
	for _, o := range c.orders {
		if o.terminal == "" && o.cancelAcked == 0 {
			kept = append(kept, o)
		}
	}
	clear(c.orders[len(kept):])
	c.orders = kept
	if len(c.orders) == 0 {
		return nil
	}
	return c.orders[c.w.s.rng.IntN(len(c.orders))]
}

func (c *client) pay(p *proc) {
	w := c.w
	o := c.pickOrder()
	if o == nil {
		return
	}
	tok := tokOK
	switch r := w.s.rng.IntN(10); {
	case r < 2:
		tok = tokDeclined
	case r < 4:
		tok = tokLate
	}
	start := w.s.now
	res, err := c.retry(p, o.show, 2, func() seatmap.Command {
		att := w.newToken()
		o.attempts = append(o.attempts, att)
		if o.paySentAt == 0 {
			o.paySentAt = w.s.now
		}
		return seatmap.Command{Kind: seatmap.KindPay, OrderID: o.id, Token: tok, Attempt: att, User: c.user}
	})
	if err == nil && res.Order != nil {
		if o.payAckedAt == 0 {
			o.payAckedAt = w.s.now
		}
		w.model.checkOrderState(o, start, res.Order, "pay")
		o.observe(w, res.Order)
	}
}

func (c *client) cancel(p *proc) {
	w := c.w
	o := c.pickOrder()
	if o == nil {
		return
	}
	if o.cancelSentAt == 0 {
		o.cancelSentAt = w.s.now
	}
	res, err := c.retry(p, o.show, 3, func() seatmap.Command {
		return seatmap.Command{Kind: seatmap.KindCancel, OrderID: o.id, User: c.user}
	})
	if err == nil && res.Order != nil {
		if o.cancelAcked == 0 {
			o.cancelAcked = w.s.now
		}
		o.observe(w, res.Order)
	}
}

// read reads one of its holds or orders, or the show, or its seats.
func (c *client) read(p *proc, show *showState) {
	w := c.w
	start := w.s.now
	switch w.s.rng.IntN(4) {
	case 0:
		if h := c.pickHold(); h != nil {
			res, err := c.do(p, h.show, seatmap.Command{Kind: seatmap.KindGetHold, HoldID: h.id, User: c.user})
			w.model.checkHoldRead(h, start, res, err)
			if err == nil && res.Hold.OrderID != "" {
				w.model.observeConversion(h, res.Hold)
			}
		}
	case 1:
		var o *orderFact
		if len(c.orders) > 0 {
			o = c.orders[w.s.rng.IntN(len(c.orders))]
		} else if n := len(w.model.list); n > 0 {
			o = w.model.list[w.s.rng.IntN(n)]
		}
		if o != nil {
			res, err := c.do(p, o.show, seatmap.Command{Kind: seatmap.KindGetOrder, OrderID: o.id})
			w.model.checkOrderRead(o, start, res.Order, err)
			if err == nil {
				o.observe(w, res.Order)
			}
		}
	case 2:
		res, err := c.do(p, show.id, seatmap.Command{Kind: seatmap.KindGetShow})
		if err == nil && res.Show != nil {
			for _, s := range res.Show.Sections {
				if s.Available+s.Held+s.Reserved+s.Sold != s.Capacity {
					w.model.fail("GET show %s: section %s counters do not add up: %+v", show.id, s.ID, s)
				}
			}
		}
	case 3:
		_, _ = c.do(p, show.id, seatmap.Command{Kind: seatmap.KindGetSeats, Section: "a"})
	}
}
