package seatmap

import (
	"encoding/json"
	"fmt"

	"github.com/boxoffice/boxoffice/facts"
)

// Facts. A command is decided once, live: Apply validates it, checks limits,
// picks seats, and writes down what it decided as facts (package facts) with
// do, which applies each fact to the state at once. The facts of one command
// form its Record. Replay applies a record's facts and nothing else: the
// decisions are not taken again, so a new version of the rules (best
// available, limits, validation) recovers exactly what was acknowledged.
// Live and replay share the appliers below, so they cannot drift apart.

// do records f as a fact of the command being applied, and applies it. The
// command's decision code must have made sure it applies (applyFact fails
// only on a journal that does not fit the state).
func (s *Shard) do(f facts.Fact) {
	s.facts = append(s.facts, f)
	if err := s.applyFact(&s.facts[len(s.facts)-1]); err != nil {
		panic("seatmap: a live fact did not apply: " + err.Error())
	}
}

// Replay applies a journaled record during recovery. Records must come in
// sequence order. A record of facts decides nothing: its facts are applied
// as they are. A legacy record (a command, from before facts) is decided
// again, as it always was; one that does not apply means the journal and the
// code disagree. Replay discards Ready events (they were delivered to the
// outbox when the record was first written) and archived orders, keeps the
// deadline and the changed rows.
func (s *Shard) Replay(rec Record) error {
	if rec.Seq <= s.seq {
		return nil // already in the snapshot
	}
	if rec.Seq != s.seq+1 {
		return errorf(ErrInvalidState, "journal gap: have seq %d, next record is %d", s.seq, rec.Seq)
	}
	s.replaying = true
	defer func() { s.replaying = false }()
	var err error
	if rec.Legacy != nil {
		err = s.applyLegacy(rec)
	} else {
		err = s.applyRecord(&rec)
	}
	s.ready.Records, s.ready.Events, s.ready.Archive, s.ready.Inventory = nil, nil, nil, nil
	return err
}

// ApplyRecord applies a record that another activation wrote (Redis took it,
// its reply was lost) as if it were applied here: its order events and
// archived orders come out through Ready, with the record itself. It decides
// nothing either (a legacy record excepted, as in Replay).
func (s *Shard) ApplyRecord(rec Record) error {
	if rec.Seq != s.seq+1 {
		return errorf(ErrInvalidState, "journal gap: have seq %d, next record is %d", s.seq, rec.Seq)
	}
	if rec.Legacy != nil {
		return s.applyLegacy(rec)
	}
	if err := s.applyRecord(&rec); err != nil {
		return err
	}
	s.ready.Records = append(s.ready.Records, rec)
	return nil
}

// applyLegacy decides a command of the format before facts again.
func (s *Shard) applyLegacy(rec Record) error {
	var cmd Command
	if err := json.Unmarshal(rec.Legacy, &cmd); err != nil {
		return errorf(ErrInvalidState, "record %d: %v", rec.Seq, err)
	}
	res := s.Apply(cmd)
	if s.seq != rec.Seq {
		if res.Err != nil {
			return errorf(ErrInvalidState, "record %d (%s) did not apply: %v", rec.Seq, cmd.Kind, res.Err)
		}
		return errorf(ErrInvalidState, "record %d (%s) changed nothing on replay", rec.Seq, cmd.Kind)
	}
	return nil
}

// applyRecord applies the facts of rec.
func (s *Shard) applyRecord(rec *Record) error {
	if len(rec.Facts) == 0 {
		return errorf(ErrInvalidState, "record %d has no facts", rec.Seq)
	}
	if rec.At > s.lastNow {
		s.lastNow = rec.At
	}
	s.inv.reset()
	for i := range rec.Facts {
		if err := s.applyFact(&rec.Facts[i]); err != nil {
			return errorf(ErrInvalidState, "record %d: fact %d (%s): %v", rec.Seq, i, rec.Facts[i].Kind, err)
		}
	}
	s.seq = rec.Seq
	s.dirty.meta = true
	return nil
}

// record closes the command being applied: its facts become the next record.
func (s *Shard) record(now int64) {
	s.seq++
	if s.ready.Records == nil && s.lastTurn > 1 {
		s.ready.Records = make([]Record, 0, s.turnCap())
	}
	fs := s.factChunks.take(len(s.facts))
	copy(fs, s.facts)
	s.ready.Records = append(s.ready.Records, Record{Seq: s.seq, At: now, Facts: fs})
	s.dirty.meta = true
}

// applyFact applies one fact to the state. It decides nothing; it fails only
// when the fact names something the state does not have.
func (s *Shard) applyFact(f *facts.Fact) error {
	if f.Kind != facts.ShowCreated && !s.created {
		return fmt.Errorf("no show")
	}
	switch f.Kind {
	case facts.ShowCreated:
		return s.applyCreated(f)
	case facts.RoomDecided:
		return s.applyRoomFact(f)
	case facts.HoldPlaced:
		return s.applyHoldPlaced(f)
	case facts.HoldReleased, facts.HoldExtended, facts.HoldExpired:
		slot, ok := s.holds.get(f.ID)
		if !ok {
			return fmt.Errorf("no live hold %q", f.ID)
		}
		switch f.Kind {
		case facts.HoldReleased:
			s.dropHold(slot, f.ID)
			s.rememberReleased(f.ID, s.lastNow) // the record's time, live and replayed
		case facts.HoldExtended:
			s.holds.at(slot).expiresAt = f.Until
			s.holds.reset(slot)
			s.dirty.hold(f.ID, slot, s.holds.at(slot).key)
		default:
			s.expireHold(slot, f.ID)
		}
		return nil
	case facts.OrderCreated:
		return s.applyOrderCreated(f)
	case facts.OrderKeyRemembered:
		s.rememberIdem(f.Key, f.Hash, f.ID, f.At)
		return nil
	case facts.Forgotten:
		s.forget(f.At, f.Until)
		return nil
	}
	o, ok := s.orders[f.ID]
	if !ok {
		return fmt.Errorf("no order %q", f.ID)
	}
	s.dirty.orders = append(s.dirty.orders, o.id)
	switch f.Kind {
	case facts.PaymentStarted:
		s.startPayment(o, f.Attempt, f.At)
	case facts.ResultSeen:
		s.see(o, f.Key)
	case facts.OrderPaid:
		s.setStatus(o, StatusPaid, f.At, "")
		s.moveSeats(o.seats, o.general, Sold, Reserved)
		s.emit(o, EventPaid, f.At, f.Attempt)
		s.finish(o, f.At)
	case facts.PaymentFailed:
		o.history = append(o.history, History{Status: EventPaymentFailed, At: f.At})
		o.status = StatusPendingPayment
		s.emit(o, EventPaymentFailed, f.At, f.Attempt)
		o.tm = s.orderTimers.arm(&o.tmv, o.id, o.dueAt)
	case facts.RefundRequested:
		o.refunds = append(o.refunds, f.Attempt)
		o.history = append(o.history, History{Status: EventRefund, At: f.At, Detail: f.Detail})
		s.emit(o, EventRefund, f.At, f.Attempt)
	case facts.OrderCancelled:
		s.setStatus(o, StatusCancelled, f.At, "")
		s.freeOrder(o)
		s.emit(o, EventCancelled, f.At, "")
		s.finish(o, f.At)
	case facts.OrderExpired:
		s.expireOrder(o, f.At)
	case facts.OrderArchived:
		s.archive(o)
	case facts.Notified:
		s.see(o, "n:"+f.Key)
		o.history = append(o.history, History{Status: "notified", At: f.At, Detail: f.Channel})
	default:
		return fmt.Errorf("unknown fact kind %d", f.Kind)
	}
	return nil
}

func (s *Shard) applyCreated(f *facts.Fact) error {
	if s.created {
		return fmt.Errorf("the show exists")
	}
	var cfg ShowConfig
	if err := json.Unmarshal(f.Config, &cfg); err != nil {
		return fmt.Errorf("config: %v", err)
	}
	cfg.Normalize() // fills what the document leaves out; never changes a value given
	s.build(cfg)
	s.dirty.config, s.dirty.meta = true, true
	return nil
}

// gaParts resolves a fact's GA parts against the show's sections.
func (s *Shard) gaParts(in []facts.GAPart) ([]gaPart, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) == 1 { // the common case: an interned part, no allocation
		if sec := s.sectionAt(int(in[0].Section)); sec != nil && sec.ga {
			if p := s.internedPart(gaPart{sec: sec, n: int(in[0].N)}); p != nil {
				return p, nil
			}
		}
	}
	out := make([]gaPart, len(in))
	for i, g := range in {
		sec := s.sectionAt(int(g.Section))
		if sec == nil || !sec.ga {
			return nil, fmt.Errorf("section %d is not a GA section", g.Section)
		}
		out[i] = gaPart{sec: sec, n: int(g.N)}
	}
	return out, nil
}

// sectionAt returns the section with config index i, or nil.
func (s *Shard) sectionAt(i int) *section {
	if i < 0 || i >= len(s.sections) || s.sections[i].idx != i {
		for _, sec := range s.sections {
			if sec.idx == i {
				return sec
			}
		}
		return nil
	}
	return s.sections[i]
}

func factParts(parts []gaPart) []facts.GAPart {
	if len(parts) == 0 {
		return nil
	}
	out := make([]facts.GAPart, len(parts))
	for i, g := range parts {
		out[i] = facts.GAPart{Section: uint32(g.sec.idx), N: uint32(g.n)}
	}
	return out
}

func (s *Shard) applyHoldPlaced(f *facts.Fact) error {
	for _, seat := range f.Seats {
		if int(seat) >= len(s.seats) {
			return fmt.Errorf("no seat %d", seat)
		}
	}
	general, err := s.gaParts(f.GA)
	if err != nil {
		return err
	}
	take := s.newTake(f.Seats, general, f.Amount)
	slot, ok := s.holds.add(f.ID, holdSlot{take: take, quantity: int32(f.Quantity), createdAt: f.At, expiresAt: f.Until}, true)
	if !ok {
		s.takes.drop(take)
		return fmt.Errorf("hold %q exists", f.ID)
	}
	s.holds.at(slot).user = s.users.addHold(f.User, int(f.Quantity))
	tk := s.takes.at(take)
	s.moveSeats(tk.seats, tk.general, Held, Available)
	s.lastHold = slot
	s.activeHolds++
	s.dirty.placedHold(f.ID, slot, s.holds.at(slot).key)
	if f.Key != "" {
		s.holdIdem[f.Key] = idemEntry{id: f.ID, hash: f.Hash, at: f.At}
		s.holdIdemFIFO = append(s.holdIdemFIFO, idAt{id: f.Key, at: f.At})
		s.dirty.holdKeys = append(s.dirty.holdKeys, f.Key)
	}
	return nil
}

// expireHold drops the live hold id (in slot) at its expiry and remembers
// it as expired.
func (s *Shard) expireHold(slot uint32, id string) {
	h := s.holds.at(slot)
	at, user := h.expiresAt, s.users.name(h.user)
	s.dropHold(slot, id)
	s.expiredHolds[id] = at
	s.expiredUsers[id] = user
	s.expiredFIFO = append(s.expiredFIFO, idAt{id: id, at: at})
	s.dirty.expired = append(s.dirty.expired, id)
}

func (s *Shard) applyOrderCreated(f *facts.Fact) error {
	slot, ok := s.holds.get(f.HoldID)
	if !ok {
		return fmt.Errorf("no live hold %q", f.HoldID)
	}
	if _, ok := s.orders[f.ID]; ok {
		return fmt.Errorf("order %q exists", f.ID)
	}
	h := s.holds.at(slot)
	tk := s.takes.at(h.take)
	o := &order{id: f.ID, holdID: f.HoldID, user: s.users.name(h.user), seats: tk.seats, seatIDs: s.seatIDs(tk.seats), general: tk.general,
		quantity: int(h.quantity), amount: tk.amount, createdAt: f.At, holdCreatedAt: h.createdAt, holdExpiresAt: h.expiresAt,
		dueAt: f.Until, idemKey: f.Key}
	s.setStatus(o, StatusPendingPayment, f.At, "")
	s.moveSeats(o.seats, o.general, Reserved, Held)
	// the hold leaves memory; the order carries it on (see convertedHoldView)
	// and its seats stay in the user's tally
	s.users.takeNum(h.user, 0, true)
	s.takes.drop(h.take)
	key := h.key
	s.holds.remove(slot)
	s.activeHolds--
	s.holdOrder[f.HoldID] = o.id
	s.orders[o.id] = o
	o.tm = s.orderTimers.arm(&o.tmv, o.id, o.dueAt)
	s.dirty.hold(f.HoldID, slot, key)
	s.dirty.orders = append(s.dirty.orders, o.id)
	if f.Key != "" {
		s.rememberIdem(f.Key, f.Hash, o.id, f.At)
	}
	s.emit(o, EventCreated, f.At, "")
	return nil
}

// startPayment moves o to payment_processing for attempt ("" only in
// records from before attempts).
func (s *Shard) startPayment(o *order, attempt string, at int64) {
	o.attempt = attempt
	if attempt != "" {
		o.attempts = append(o.attempts, attempt)
	}
	s.orderTimers.disarm(o.tm) // a payment in flight blocks expiry
	s.setStatus(o, StatusPaymentProcessing, at, "")
	s.emitToken(o, EventPaymentRequested, at, o.attempt, s.payToken)
}

// forget drops the expired holds that expired at or before holdsAt, the
// idempotency keys made at or before keysAt, and the hold ids released
// HoldReleasedMemory or more before the tick that recorded the fact (at
// holdsAt+HoldExpiredMemory: older Forgotten facts say it alike).
func (s *Shard) forget(holdsAt, keysAt int64) {
	s.forgetReleased(holdsAt + HoldExpiredMemory)
	for len(s.expiredFIFO) > 0 && s.expiredFIFO[0].at <= holdsAt {
		id := s.expiredFIFO[0].id
		delete(s.expiredHolds, id)
		delete(s.expiredUsers, id)
		s.dirty.expired = append(s.dirty.expired, id)
		s.expiredFIFO = s.expiredFIFO[1:]
	}
	s.dirty.orderKeys = expireKeys(s.idem, &s.idemFIFO, keysAt, s.dirty.orderKeys)
	s.dirty.holdKeys = expireKeys(s.holdIdem, &s.holdIdemFIFO, keysAt, s.dirty.holdKeys)
}

// expireKeys forgets the keys made at or before at, appending them to dirty.
func expireKeys(m map[string]idemEntry, fifo *[]idAt, at int64, dirty []string) []string {
	q := *fifo
	n := 0
	for n < len(q) && q[n].at <= at {
		if e, ok := m[q[n].id]; ok && e.at == q[n].at {
			delete(m, q[n].id)
			dirty = append(dirty, q[n].id)
		}
		q[n] = idAt{}
		n++
	}
	*fifo = q[n:]
	return dirty
}

// dueToForget reports whether a tick at now has expired holds, keys or
// released hold ids to forget.
func (s *Shard) dueToForget(now int64) bool {
	return s.releasedDueBy(now) || len(s.expiredFIFO) > 0 && s.expiredFIFO[0].at+HoldExpiredMemory <= now ||
		len(s.idemFIFO) > 0 && s.idemFIFO[0].at+IdempotencyKeepMs <= now ||
		len(s.holdIdemFIFO) > 0 && s.holdIdemFIFO[0].at+IdempotencyKeepMs <= now
}
