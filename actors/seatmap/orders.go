package seatmap

import (
	"regexp"
	"strconv"

	"github.com/boxoffice/boxoffice/facts"
)

var attemptRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidAttempt reports whether id may name a payment attempt. The charge key
// OrderID+":"+Attempt stays unambiguous because an attempt has no ':'.
func ValidAttempt(id string) bool { return attemptRe.MatchString(id) }

func (s *Shard) orderView(o *order) OrderView {
	h := make([]History, len(o.history))
	copy(h, o.history)
	return OrderView{ID: o.id, Show: s.cfg.ID, HoldID: o.holdID, User: o.user, Seats: o.seatIDs,
		General: generalMap(o.general), Quantity: o.quantity, Amount: o.amount, Status: o.status,
		PaymentDueAt: o.dueAt, CreatedAt: o.createdAt, History: h, Attempt: o.attempt}
}

// emit queues an order event for the outbox; attempt names the payment
// attempt the event is about ("" for none).
func (s *Shard) emit(o *order, typ string, now int64, attempt string) {
	s.emitToken(o, typ, now, attempt, "")
}

// emitToken is emit with a payment token: only payment_requested carries one,
// the token of its own pay command. The shard keeps no token: it reaches the
// outbox in this event alone (see Apply, which strips it from the record).
func (s *Shard) emitToken(o *order, typ string, now int64, attempt, token string) {
	o.events++
	s.ready.Events = append(s.ready.Events, Event{ID: o.id + "." + strconv.Itoa(o.events), Type: typ, Show: s.cfg.ID,
		Shard: s.shard, OrderID: o.id, User: o.user, Amount: o.amount, Quantity: o.quantity,
		Seats: o.seatIDs, Token: token, At: now, Attempt: attempt})
}

// owns reports whether the command's caller may see the object of user owner:
// a command without a user (the consumers' callbacks, journal records written
// before ownership, tokenless mode) may see everything.
func owns(c *Command, owner string) bool { return c.User == "" || c.User == owner }

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
			o, ok := s.orders[e.id]
			if !ok { // the order left memory through Ready.Archive: the shell has it
				return Result{ArchivedOrderID: e.id}, false
			}
			if !owns(c, o.user) {
				return fail(ErrHoldNotFound)
			}
			v := s.orderView(o)
			return Result{Order: &v}, false
		}
	}
	if o, ok := s.orders[c.OrderID]; ok { // a retried command
		if o.holdID != c.HoldID || !owns(c, o.user) {
			return fail(errorf(ErrInvalidRequest, "order id already used"))
		}
		v := s.orderView(o)
		return Result{Order: &v}, false
	}
	_, conv, err := s.ownHold(c)
	if err != nil {
		return fail(err)
	}
	if conv != nil { // a hold converts into one order only
		changed := false
		if c.IdemKey != "" {
			s.do(facts.Fact{Kind: facts.OrderKeyRemembered, ID: conv.id, Key: c.IdemKey, Hash: c.IdemHash, At: c.Now})
			changed = true
		}
		v := s.orderView(conv)
		return Result{Order: &v}, changed
	}
	s.do(facts.Fact{Kind: facts.OrderCreated, ID: c.OrderID, HoldID: c.HoldID, At: c.Now,
		Until: c.Now + int64(s.cfg.PaymentTTLSeconds)*1000, Key: c.IdemKey, Hash: c.IdemHash})
	v := s.orderView(s.orders[c.OrderID])
	return Result{Order: &v, Created: true}, true
}

// rememberIdem stores an order idempotency key.
func (s *Shard) rememberIdem(key, hash, orderID string, at int64) {
	s.idem[key] = idemEntry{id: orderID, hash: hash, at: at}
	s.idemFIFO = append(s.idemFIFO, idAt{id: key, at: at})
	s.dirty.orderKeys = append(s.dirty.orderKeys, key)
}

// pay starts payment attempt c.Attempt. The same attempt again (a retried
// request) answers the order as it is, whatever became of that attempt: an
// attempt id is never charged twice.
func (s *Shard) pay(c *Command) (Result, bool) {
	o, ok := s.orders[c.OrderID]
	if !ok || !owns(c, o.user) {
		return fail(ErrOrderNotFound)
	}
	switch {
	case c.Attempt == "" && s.replaying:
		// a journal record from before payment attempts: the order's attempt is ""
	case !ValidAttempt(c.Attempt):
		return fail(errorf(ErrInvalidRequest, "pay needs an attempt id matching [A-Za-z0-9._-]{1,64}"))
	case has(o.attempts, c.Attempt) || has(o.refunds, c.Attempt):
		v := s.orderView(o)
		return Result{Order: &v}, false
	}
	if o.status != StatusPendingPayment {
		return fail(errorf(ErrInvalidState, "order is %s", o.status))
	}
	if len(o.attempts) >= MaxPayAttempts {
		return fail(errorf(ErrInvalidState, "the order had %d payment attempts already", MaxPayAttempts))
	}
	s.do(facts.Fact{Kind: facts.PaymentStarted, ID: o.id, Attempt: c.Attempt, At: c.Now})
	v := s.orderView(o)
	return Result{Order: &v}, true
}

// payResult settles payment attempt c.Attempt. It is idempotent by Attempt
// and EventID: the same result twice changes nothing. A success that does not pay the
// order (another attempt, a duplicate charge of a paid order, an order
// expired or cancelled meanwhile) asks for a refund of that attempt, once per
// attempt. A failure that does not match the current attempt in flight
// changes nothing but is remembered.
func (s *Shard) payResult(c *Command) (Result, bool) {
	o, ok := s.orders[c.OrderID]
	if !ok {
		return fail(ErrOrderNotFound)
	}
	if c.EventID == "" {
		return fail(errorf(ErrInvalidRequest, "payment result without an event id"))
	}
	if c.Attempt != "" && !ValidAttempt(c.Attempt) {
		return fail(errorf(ErrInvalidRequest, "bad attempt id"))
	}
	key := c.EventID // a result is the same result when its attempt and event id are
	if c.Attempt != "" {
		key = c.Attempt + "|" + c.EventID // an attempt has no '|'; "" keeps the old key
	}
	if _, dup := o.seen[key]; dup {
		v := s.orderView(o)
		return Result{Order: &v}, false
	}
	current := c.Attempt == o.attempt
	noop := !c.Success || (current && o.status == StatusPaid) || has(o.refunds, c.Attempt)
	if !(current && o.status == StatusPaymentProcessing) && noop && len(o.seen) >= maxSeen {
		// a result that changes nothing, past the dedupe memory's bound: answer
		// it without remembering it (it is idempotent anyway)
		v := s.orderView(o)
		return Result{Order: &v}, false
	}
	s.do(facts.Fact{Kind: facts.ResultSeen, ID: o.id, Key: key})
	switch {
	case current && o.status == StatusPaymentProcessing && c.Success:
		s.do(facts.Fact{Kind: facts.OrderPaid, ID: o.id, Attempt: c.Attempt, At: c.Now})
	case current && o.status == StatusPaymentProcessing:
		s.do(facts.Fact{Kind: facts.PaymentFailed, ID: o.id, Attempt: c.Attempt, At: c.Now})
		if o.dueAt <= c.Now {
			s.do(facts.Fact{Kind: facts.OrderExpired, ID: o.id, At: c.Now})
		}
	case !c.Success:
		// a failure of an attempt no longer in flight: nothing to undo
	case current && o.status == StatusPaid:
		// the charge that paid the order, reported again
	case has(o.refunds, c.Attempt):
		// refunded already
	default:
		var why string
		switch {
		case o.status == StatusPaid:
			why = "the order was paid by attempt " + o.attempt
		case o.status == StatusExpired || o.status == StatusCancelled:
			why = "paid after the order was " + o.status
		case current:
			why = "paid after the attempt failed"
		default:
			why = "not the order's current attempt"
		}
		s.do(facts.Fact{Kind: facts.RefundRequested, ID: o.id, Attempt: c.Attempt, At: c.Now,
			Detail: "attempt " + c.Attempt + ": " + why})
	}
	v := s.orderView(o)
	return Result{Order: &v}, true
}

// maxSeen bounds an order's memory of results and notifications that changed
// nothing. Results that change the order are always remembered; they are
// bounded by its attempts (MaxPayAttempts) and by real charges (refunds).
const maxSeen = 256

func (s *Shard) see(o *order, eventID string) {
	if o.seen == nil {
		o.seen = map[string]struct{}{}
	}
	o.seen[eventID] = struct{}{}
}

func (s *Shard) cancel(c *Command) (Result, bool) {
	o, ok := s.orders[c.OrderID]
	if !ok || !owns(c, o.user) {
		return fail(ErrOrderNotFound)
	}
	if o.status == StatusCancelled {
		v := s.orderView(o)
		return Result{Order: &v}, false // a retried cancel
	}
	if o.status != StatusPendingPayment {
		return fail(errorf(ErrInvalidState, "order is %s", o.status))
	}
	s.do(facts.Fact{Kind: facts.OrderCancelled, ID: o.id, At: c.Now})
	v := s.orderView(o)
	return Result{Order: &v}, true
}

func (s *Shard) expireOrder(o *order, now int64) {
	s.setStatus(o, StatusExpired, now, "")
	s.freeOrder(o)
	s.emit(o, EventExpired, now, "")
	s.finish(o, now)
}

// finish notes that o became terminal at now and arms its archive timer:
// at now + ArchiveAfterMs a tick moves it out of memory (see archive).
func (s *Shard) finish(o *order, now int64) {
	o.doneAt = now
	s.orderTimers.disarm(o.tm)
	o.tm = s.orderTimers.arm(&o.tmv, o.id, now+s.cfg.ArchiveAfterMs())
}

// archive moves a terminal order out of memory: its final view leaves through
// Ready.Archive, and the shard forgets it, its converted hold and its dedupe
// memory. A paid order's seats stay sold, owned by the archive (archSold,
// archUsers), so counters, the per-user limit and the invariants still hold.
func (s *Shard) archive(o *order) {
	if o.status == StatusPaid {
		for _, seat := range o.seats {
			sec, _ := s.locate(seat)
			sec.archSold++
		}
		for _, g := range o.general {
			g.sec.archSold += g.n
		}
		s.archUsers[o.user] += o.quantity
	}
	s.ready.Archive = append(s.ready.Archive, s.orderView(o))
	s.orderTimers.disarm(o.tm)
	delete(s.orders, o.id)
	delete(s.holdOrder, o.holdID)
	s.markArchived(o)
}

// freeOrder gives a pending order's reserved seats back.
func (s *Shard) freeOrder(o *order) {
	s.moveSeats(o.seats, o.general, Available, Reserved)
	s.users.take(o.user, o.quantity)
	s.compactUsers()
}

func (s *Shard) notified(c *Command) (Result, bool) {
	o, ok := s.orders[c.OrderID]
	if !ok {
		return fail(ErrOrderNotFound)
	}
	if c.EventID == "" {
		return fail(errorf(ErrInvalidRequest, "notification without an event id"))
	}
	if !s.ownEvent(o, c.EventID) { // so notifications are bounded by the order's events
		return fail(errorf(ErrInvalidRequest, "%s is not an event of order %s", quote(c.EventID), o.id))
	}
	if _, dup := o.seen["n:"+c.EventID]; dup {
		return Result{}, false
	}
	s.do(facts.Fact{Kind: facts.Notified, ID: o.id, Key: c.EventID, Channel: c.Channel, At: c.Now})
	return Result{}, true
}

// ownEvent reports whether id is one of the events o emitted: o.id + "." + n
// with n in 1..o.events, written the one way emit writes it.
func (s *Shard) ownEvent(o *order, id string) bool {
	if len(id) <= len(o.id)+1 || id[:len(o.id)] != o.id || id[len(o.id)] != '.' {
		return false
	}
	num := id[len(o.id)+1:]
	n, err := strconv.Atoi(num)
	return err == nil && n >= 1 && n <= o.events && strconv.Itoa(n) == num
}
