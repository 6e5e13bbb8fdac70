package seatmap

import "strconv"

func (s *Shard) orderView(o *order) OrderView {
	h := make([]History, len(o.history))
	copy(h, o.history)
	return OrderView{ID: o.id, Show: s.cfg.ID, HoldID: o.holdID, User: o.user, Seats: o.seatIDs,
		General: generalMap(o.general), Quantity: o.quantity, Amount: o.amount, Status: o.status,
		PaymentDueAt: o.dueAt, CreatedAt: o.createdAt, History: h}
}

// emit queues an order event for the outbox.
func (s *Shard) emit(o *order, typ string, now int64) {
	o.events++
	s.ready.Events = append(s.ready.Events, Event{ID: o.id + "." + strconv.Itoa(o.events), Type: typ, Show: s.cfg.ID,
		Shard: s.shard, OrderID: o.id, User: o.user, Amount: o.amount, Quantity: o.quantity,
		Seats: o.seatIDs, Token: o.token, At: now})
}

func (s *Shard) setStatus(o *order, status string, now int64, detail string) {
	o.status = status
	o.history = append(o.history, History{Status: status, At: now, Detail: detail})
}

func (s *Shard) order(c *Command) (Result, bool) {
	if c.OrderID == "" || c.HoldID == "" {
		return fail(errorf(ErrInvalidRequest, "order needs an order id and a hold id"))
	}
	if c.IdemKey != "" {
		if e, ok := s.idem[c.IdemKey]; ok {
			if e.hash != c.IdemHash {
				return fail(errorf(ErrIdempotencyMismatch, "idempotency key was used with another request"))
			}
			v := s.orderView(s.orders[e.orderID])
			return Result{Order: &v}, false
		}
	}
	if o, ok := s.orders[c.OrderID]; ok { // a retried command
		if o.holdID != c.HoldID {
			return fail(errorf(ErrInvalidRequest, "order id already used"))
		}
		v := s.orderView(o)
		return Result{Order: &v}, false
	}
	h, err := s.findHold(c.HoldID)
	if err != nil {
		return fail(err)
	}
	if h.orderID != "" { // a hold converts into one order only
		o := s.orders[h.orderID]
		changed := s.rememberIdem(c, o.id)
		v := s.orderView(o)
		return Result{Order: &v}, changed
	}
	o := &order{id: c.OrderID, holdID: h.id, user: h.user, seats: h.seats, seatIDs: h.seatIDs, general: h.general,
		quantity: h.quantity, amount: h.amount, createdAt: c.Now,
		dueAt: c.Now + int64(s.cfg.PaymentTTLSeconds)*1000, idemKey: c.IdemKey}
	s.setStatus(o, StatusPendingPayment, c.Now, "")
	s.moveSeats(o.seats, o.general, Reserved, Held)
	h.orderID = o.id
	s.activeHolds--
	s.holdTimers.disarm(h.tm)
	s.orders[o.id] = o
	o.tm = s.orderTimers.arm(&o.tmv, o.id, o.dueAt)
	s.rememberIdem(c, o.id)
	s.emit(o, EventCreated, c.Now)
	v := s.orderView(o)
	return Result{Order: &v, Created: true}, true
}

// rememberIdem stores the command's idempotency key; it reports whether it stored one.
func (s *Shard) rememberIdem(c *Command, orderID string) bool {
	if c.IdemKey == "" {
		return false
	}
	s.idem[c.IdemKey] = idemEntry{orderID: orderID, hash: c.IdemHash, at: c.Now}
	s.idemFIFO = append(s.idemFIFO, idAt{id: c.IdemKey, at: c.Now})
	return true
}

func (s *Shard) pay(c *Command) (Result, bool) {
	o, ok := s.orders[c.OrderID]
	if !ok {
		return fail(ErrOrderNotFound)
	}
	if o.status != StatusPendingPayment {
		return fail(errorf(ErrInvalidState, "order is %s", o.status))
	}
	o.token = c.Token
	s.orderTimers.disarm(o.tm) // a payment in flight blocks expiry
	s.setStatus(o, StatusPaymentProcessing, c.Now, "")
	s.emit(o, EventPaymentRequested, c.Now)
	v := s.orderView(o)
	return Result{Order: &v}, true
}

// payResult settles a payment. It is idempotent by EventID: the same result
// twice changes nothing. A success for an order that is no longer waiting for
// its payment (expired or cancelled meanwhile) asks for a refund.
func (s *Shard) payResult(c *Command) (Result, bool) {
	o, ok := s.orders[c.OrderID]
	if !ok {
		return fail(ErrOrderNotFound)
	}
	if c.EventID == "" {
		return fail(errorf(ErrInvalidRequest, "payment result without an event id"))
	}
	if _, dup := o.seen[c.EventID]; dup {
		v := s.orderView(o)
		return Result{Order: &v}, false
	}
	s.see(o, c.EventID)
	switch {
	case o.status == StatusPaymentProcessing && c.Success:
		s.setStatus(o, StatusPaid, c.Now, "")
		s.moveSeats(o.seats, o.general, Sold, Reserved)
		s.emit(o, EventPaid, c.Now)
	case o.status == StatusPaymentProcessing:
		o.history = append(o.history, History{Status: EventPaymentFailed, At: c.Now})
		o.status = StatusPendingPayment
		s.emit(o, EventPaymentFailed, c.Now)
		if o.dueAt <= c.Now {
			s.expireOrder(o, c.Now)
		} else {
			o.tm = s.orderTimers.arm(&o.tmv, o.id, o.dueAt)
		}
	case c.Success && (o.status == StatusExpired || o.status == StatusCancelled):
		o.history = append(o.history, History{Status: EventRefund, At: c.Now, Detail: "paid after the order was " + o.status})
		s.emit(o, EventRefund, c.Now)
	default:
		// a late failure, or a result for an order already paid: nothing to do but remember it
	}
	v := s.orderView(o)
	return Result{Order: &v}, true
}

func (s *Shard) see(o *order, eventID string) {
	if o.seen == nil {
		o.seen = map[string]struct{}{}
	}
	o.seen[eventID] = struct{}{}
}

func (s *Shard) cancel(c *Command) (Result, bool) {
	o, ok := s.orders[c.OrderID]
	if !ok {
		return fail(ErrOrderNotFound)
	}
	if o.status == StatusCancelled {
		v := s.orderView(o)
		return Result{Order: &v}, false // a retried cancel
	}
	if o.status != StatusPendingPayment {
		return fail(errorf(ErrInvalidState, "order is %s", o.status))
	}
	s.setStatus(o, StatusCancelled, c.Now, "")
	s.orderTimers.disarm(o.tm)
	s.freeOrder(o)
	s.emit(o, EventCancelled, c.Now)
	v := s.orderView(o)
	return Result{Order: &v}, true
}

func (s *Shard) expireOrder(o *order, now int64) {
	s.setStatus(o, StatusExpired, now, "")
	s.freeOrder(o)
	s.emit(o, EventExpired, now)
}

// freeOrder gives a pending order's reserved seats back.
func (s *Shard) freeOrder(o *order) {
	s.moveSeats(o.seats, o.general, Available, Reserved)
	s.users[o.user] -= o.quantity
	if s.users[o.user] == 0 {
		delete(s.users, o.user)
	}
}

func (s *Shard) notified(c *Command) (Result, bool) {
	o, ok := s.orders[c.OrderID]
	if !ok {
		return fail(ErrOrderNotFound)
	}
	if c.EventID == "" {
		return fail(errorf(ErrInvalidRequest, "notification without an event id"))
	}
	if _, dup := o.seen["n:"+c.EventID]; dup {
		return Result{}, false
	}
	s.see(o, "n:"+c.EventID)
	o.history = append(o.history, History{Status: "notified", At: c.Now, Detail: c.Channel})
	return Result{}, true
}
