package seatmap

import (
	"encoding/json"
	"errors"
	"sort"

	"github.com/boxoffice/boxoffice/facts"
)

// Apply runs one command and returns its result. A command that changes
// state writes down what it decided as facts (see facts.go); they are queued
// as its record (with its sequence number) for Ready. Read-only and failed
// commands leave no record.
func (s *Shard) Apply(cmd Command) Result {
	if cmd.Now < s.lastNow {
		cmd.Now = s.lastNow // time never goes backwards inside the machine
	}
	s.lastNow = cmd.Now
	s.inv.reset()
	if cap(s.facts) > 1024 { // left by a big tick: memory follows live work
		s.facts = nil
	}
	clear(s.facts)
	s.facts = s.facts[:0]
	// a payment token never reaches the journal, Redis or a snapshot: the
	// payment_requested event alone carries it to the outbox
	s.payToken = cmd.Token
	res, changed := s.applyChecked(&cmd)
	s.payToken = ""
	if !roomKind(cmd.Kind) {
		checkChanged(changed, len(s.facts))
	}
	if s.roomAfter(&cmd, &res, changed) {
		changed = true
	}
	if changed && (s.room != nil || s.wl != nil) {
		s.roomRecord(&cmd, &res)
	}
	if len(s.facts) > 0 {
		s.record(cmd.Now)
		if !s.replaying {
			s.emitInventory(&cmd, s.seq)
		}
	}
	if s.factErr == nil { // a journaled fact that did not apply fails Replay instead
		checkInvariants(s)
	}
	return res
}

func fail(err error) (Result, bool) { return Result{Err: err}, false }

func (s *Shard) apply(c *Command) (Result, bool) {
	if c.Kind == KindCreate {
		return s.create(c)
	}
	if !s.created {
		return fail(ErrShowNotFound)
	}
	switch c.Kind {
	case KindHold:
		return s.hold(c)
	case KindRelease:
		return s.release(c)
	case KindExtend:
		return s.extend(c)
	case KindTick:
		return Result{}, s.tick(c.Now)
	case KindOrder:
		return s.order(c)
	case KindPay:
		return s.pay(c)
	case KindPayResult:
		return s.payResult(c)
	case KindCancel:
		return s.cancel(c)
	case KindNotified:
		return s.notified(c)
	case KindGetShow:
		v := s.showView()
		return Result{Show: &v}, false
	case KindGetSeats:
		return s.getSeats(c)
	case KindGetHold:
		return s.getHold(c)
	case KindGetOrder:
		o, ok := s.orders[c.OrderID]
		if !ok || !owns(c, o.user) {
			return fail(ErrOrderNotFound)
		}
		v := s.orderView(o)
		return Result{Order: &v}, false
	case KindQueueJoin:
		return s.queueJoin(c)
	case KindQueueGet:
		return s.queueGet(c)
	case KindWaitlistJoin:
		return s.waitlistJoin(c)
	case KindWaitlistGet:
		return s.waitlistGet(c)
	case KindWaitlistLeave:
		return s.waitlistLeave(c)
	case KindGetUsers:
		return Result{Users: s.users.asMap()}, false
	}
	return fail(errorf(ErrInvalidRequest, "unknown command kind %d", c.Kind))
}

func (s *Shard) create(c *Command) (Result, bool) {
	if c.Show == nil {
		return fail(errorf(ErrInvalidRequest, "create without a show"))
	}
	cfg := *c.Show
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	if s.shard >= cfg.Shards() {
		return fail(errorf(ErrInvalidRequest, "shard %d of a %d-shard show", s.shard, cfg.Shards()))
	}
	if s.created {
		v := s.showView()
		return Result{Err: ErrShowExists, Show: &v}, false
	}
	doc, err := json.Marshal(cfg)
	if err != nil {
		return fail(errorf(ErrInvalidRequest, "config: %v", err))
	}
	s.do(facts.Fact{Kind: facts.ShowCreated, Config: doc, At: c.Now})
	v := s.showView()
	return Result{Show: &v, Created: true}, true
}

func (s *Shard) showView() ShowView {
	v := ShowView{Config: s.cfg, Shard: s.shard, HoldsActive: s.activeHolds, Orders: len(s.orders),
		Queue: s.roomStats(), Waitlist: s.waitlistStats()}
	for _, sec := range s.sections {
		v.Sections = append(v.Sections, SectionView{ID: sec.id, Tier: sec.tier, Capacity: sec.cap,
			Available: sec.counts[Available], Held: sec.counts[Held], Reserved: sec.counts[Reserved], Sold: sec.counts[Sold]})
	}
	return v
}

func (s *Shard) getSeats(c *Command) (Result, bool) {
	var secs []*section
	if c.Section != "" {
		sec, ok := s.secByID[c.Section]
		if !ok {
			return fail(errorf(ErrUnknownSection, "no section %q", c.Section))
		}
		secs = []*section{sec}
	} else {
		secs = s.sections
	}
	var out []SeatEntry
	for _, sec := range secs {
		for _, r := range sec.rows {
			for i := 0; i < r.n; i++ {
				seat := r.base + uint32(i)
				out = append(out, SeatEntry{ID: s.seatID(seat), State: s.seats[seat]})
			}
		}
	}
	return Result{Seats: out}, false
}

// holdView is the view of the live hold in slot, whose id is id.
func (s *Shard) holdView(slot uint32, id string) HoldView {
	h := s.holds.at(slot)
	tk := s.takes.at(h.take)
	return HoldView{ID: id, Show: s.cfg.ID, User: s.users.name(h.user), Seats: s.seatIDs(tk.seats), General: generalView(tk),
		Quantity: int(h.quantity), Amount: tk.amount, CreatedAt: h.createdAt, ExpiresAt: h.expiresAt}
}

// convertedHoldView is the view of a hold that became order o, rebuilt from
// the order (the hold object left memory at conversion): the same view the
// hold answered before, with OrderID set.
func (s *Shard) convertedHoldView(o *order) HoldView {
	return HoldView{ID: o.holdID, Show: s.cfg.ID, User: o.user, Seats: o.seatIDs, General: generalMap(o.general),
		Quantity: o.quantity, Amount: o.amount, CreatedAt: o.holdCreatedAt, ExpiresAt: o.holdExpiresAt, OrderID: o.id}
}

// holdResult answers hold id found by lookupHold (live in slot, or
// converted into o).
func (s *Shard) holdResult(slot int, id string, o *order) Result {
	var v HoldView
	if slot >= 0 {
		v = s.holdView(uint32(slot), id)
	} else {
		v = s.convertedHoldView(o)
	}
	return Result{Hold: &v}
}

func (s *Shard) getHold(c *Command) (Result, bool) {
	slot, o, err := s.ownHold(c)
	if err != nil {
		return fail(err)
	}
	return s.holdResult(slot, c.HoldID, o), false
}

// lookupHold finds a hold: live (its slot, else -1), or converted into an
// order still in memory (o), else the reason it cannot: ErrHoldExpired for a
// hold that expired within HoldExpiredMemory, ErrHoldNotFound otherwise
// (never existed, released, or converted into an order that was archived).
func (s *Shard) lookupHold(id string) (int, *order, error) {
	if slot, ok := s.holds.get(id); ok {
		return int(slot), nil, nil
	}
	if oid, ok := s.holdOrder[id]; ok {
		return -1, s.orders[oid], nil
	}
	if _, ok := s.expiredHolds[id]; ok {
		return -1, nil, ErrHoldExpired
	}
	return -1, nil, ErrHoldNotFound
}

// holdUser is the user of the live hold in slot.
func (s *Shard) holdUser(slot int) string { return s.users.name(s.holds.at(uint32(slot)).user) }

// ownHold is lookupHold of c.HoldID for c's user: a hold of another user
// answers ErrHoldNotFound, as if it did not exist.
func (s *Shard) ownHold(c *Command) (int, *order, error) {
	slot, o, err := s.lookupHold(c.HoldID)
	switch {
	case errors.Is(err, ErrHoldExpired) && c.User != "" && s.expiredUsers[c.HoldID] != "" && s.expiredUsers[c.HoldID] != c.User:
		return -1, nil, ErrHoldNotFound // another user's expired hold is not theirs to learn about
	case err != nil:
		return -1, nil, err
	case slot >= 0 && !owns(c, s.holdUser(slot)), o != nil && !owns(c, o.user):
		return -1, nil, ErrHoldNotFound
	}
	return slot, o, nil
}

// liveHold returns the slot of c's live hold, or why there is none: a
// converted hold answers ErrInvalidState.
func (s *Shard) liveHold(c *Command) (uint32, error) {
	slot, o, err := s.ownHold(c)
	if err != nil {
		return 0, err
	}
	if o != nil {
		return 0, errorf(ErrInvalidState, "hold was converted into order %s", o.id)
	}
	return uint32(slot), nil
}

func (s *Shard) hold(c *Command) (Result, bool) {
	if c.HoldID == "" || c.User == "" {
		return fail(errorf(ErrInvalidRequest, "hold needs a hold id and a user"))
	}
	if c.IdemKey != "" { // a retried request under its idempotency key: the hold it made
		if e, ok := s.holdIdem[c.IdemKey]; ok {
			if e.hash != c.IdemHash {
				return fail(errorf(ErrIdempotencyMismatch, "idempotency key was used with another request"))
			}
			slot, o, err := s.lookupHold(e.id)
			if err != nil {
				return fail(err)
			}
			return s.holdResult(slot, e.id, o), false
		}
	}
	switch slot, o, err := s.lookupHold(c.HoldID); {
	case err == nil: // a retried command: the same hold again (live or converted)
		var user string
		if slot >= 0 {
			user = s.holdUser(slot)
		} else {
			user = o.user
		}
		if user != c.User {
			return fail(errorf(ErrInvalidRequest, "hold id already used"))
		}
		return s.holdResult(slot, c.HoldID, o), false
	case err == ErrHoldExpired:
		return fail(err)
	case s.releasedHold(c.HoldID, c.Now) && !s.replaying:
		// ids are made by the server: only a late copy of the command that
		// placed the hold, released since, can name it again (a legacy
		// record replayed is taken as it was acknowledged)
		return fail(errorf(ErrInvalidRequest, "hold id already used"))
	}
	var (
		seats   []uint32
		general []gaPart
		err     error
	)
	switch {
	case len(c.Seats) > 0:
		if c.Quantity != 0 || c.Section != "" || c.Tier != "" {
			return fail(errorf(ErrInvalidRequest, "give seats, or a quantity with a section or tier"))
		}
		seats, err = s.pickSpecific(c.Seats)
	case c.Quantity < 1 || c.Quantity > MaxQuantity:
		return fail(errorf(ErrInvalidRequest, "quantity must be in 1..%d", MaxQuantity))
	case c.Section != "" && c.Tier != "":
		return fail(errorf(ErrInvalidRequest, "give a section or a tier, not both"))
	case c.Section != "":
		sec, ok := s.secByID[c.Section]
		if !ok {
			return fail(errorf(ErrUnknownSection, "no section %q", c.Section))
		}
		if err = s.checkLimit(c.User, c.Quantity); err == nil {
			s.pick.secs[0] = sec
			seats, general, err = bestAvailable(s, s.pick.secs[:], c.Quantity)
		}
	case c.Tier != "":
		if _, ok := s.cfg.TierPrice(c.Tier); !ok {
			return fail(errorf(ErrUnknownTier, "no tier %q", c.Tier))
		}
		var secs []*section
		for _, sec := range s.sections {
			if sec.tier == c.Tier {
				secs = append(secs, sec)
			}
		}
		if err = s.checkLimit(c.User, c.Quantity); err == nil {
			seats, general, err = bestAvailable(s, secs, c.Quantity)
		}
	default:
		return fail(errorf(ErrInvalidRequest, "give seats, or a quantity with a section or tier"))
	}
	if err != nil {
		return fail(err)
	}
	qty := len(seats)
	for _, g := range general {
		qty += g.n
	}
	if err := s.checkLimit(c.User, qty); err != nil {
		return fail(err)
	}
	var amount int64
	for _, seat := range seats {
		sec, _ := s.locate(seat)
		amount += sec.price
	}
	for _, g := range general {
		amount += g.sec.price * int64(g.n)
	}
	s.do(facts.Fact{Kind: facts.HoldPlaced, ID: c.HoldID, User: c.User, Seats: seats, GA: s.factGA(general),
		Quantity: int64(qty), Amount: amount, At: c.Now, Until: c.Now + int64(s.cfg.HoldTTLSeconds)*1000,
		Key: c.IdemKey, Hash: c.IdemHash})
	v := &s.viewChunks.take(1)[0]
	*v = s.holdView(s.lastHold, c.HoldID)
	return Result{Hold: v, Created: true}, true
}

// bestAvailable is the best-available algorithm (best.go). Tests swap it to
// prove that replay never runs it.
var bestAvailable = (*Shard).pickBest

func (s *Shard) checkLimit(user string, qty int) error {
	if max := s.cfg.MaxSeatsPerUser; max > 0 && s.users.of(user)+qty > max {
		return errorf(ErrLimitExceeded, "user %q has %d of %d seats", user, s.users.of(user), max)
	}
	return nil
}

// pickSpecific resolves seat ids, sorted; all must exist and be available.
func (s *Shard) pickSpecific(ids []string) ([]uint32, error) {
	if len(ids) > MaxSeatsPerCommand {
		return nil, errorf(ErrInvalidRequest, "at most %d seats in one hold", MaxSeatsPerCommand)
	}
	p := seatPicks{seats: make([]uint32, len(ids)), ids: make([]string, len(ids))}
	for i, id := range ids {
		seat, ok := s.parseSeat(id)
		if !ok {
			return nil, &Error{Err: ErrUnknownSeat, Msg: "no seat " + quote(id), Seats: []string{id}}
		}
		p.seats[i], p.ids[i] = seat, id
	}
	if len(ids) > 1 {
		sort.Sort(p)
	}
	var taken []string
	for i, seat := range p.seats {
		if i > 0 && p.seats[i-1] == seat {
			return nil, errorf(ErrInvalidRequest, "seat %s is listed twice", p.ids[i])
		}
		if s.seats[seat] != Available {
			taken = append(taken, p.ids[i])
		}
	}
	if len(taken) > 0 {
		return nil, &Error{Err: ErrSeatsUnavailable, Msg: "some seats are taken", Seats: taken}
	}
	return p.seats, nil
}

// seatPicks sorts seats with their ids (the caller's strings, for errors).
type seatPicks struct {
	seats []uint32
	ids   []string
}

func (p seatPicks) Len() int           { return len(p.seats) }
func (p seatPicks) Less(i, j int) bool { return p.seats[i] < p.seats[j] }
func (p seatPicks) Swap(i, j int) {
	p.seats[i], p.seats[j] = p.seats[j], p.seats[i]
	p.ids[i], p.ids[j] = p.ids[j], p.ids[i]
}

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return `"` + s + `"`
}

func (s *Shard) release(c *Command) (Result, bool) {
	if _, err := s.liveHold(c); err != nil {
		return fail(err)
	}
	s.do(facts.Fact{Kind: facts.HoldReleased, ID: c.HoldID})
	return Result{}, true
}

// dropHold gives the seats of the live hold id (in slot) back and forgets it.
func (s *Shard) dropHold(slot uint32, id string) {
	h := s.holds.at(slot)
	tk := s.takes.at(h.take)
	s.moveSeats(tk.seats, tk.general, Available, Held)
	s.users.takeNum(h.user, int(h.quantity), true)
	s.takes.drop(h.take)
	s.dirty.hold(id, slot, h.key) // the slot no longer holds it at the flush: its row goes
	s.holds.remove(slot)
	s.compactUsers()
	s.activeHolds--
}

func (s *Shard) extend(c *Command) (Result, bool) {
	slot, err := s.liveHold(c)
	if err != nil {
		return fail(err)
	}
	if c.Seconds < 1 || c.Seconds > MaxHoldTTLSeconds {
		return fail(errorf(ErrInvalidRequest, "seconds must be in 1..%d", MaxHoldTTLSeconds))
	}
	at := c.Now + int64(c.Seconds)*1000
	if max := s.holds.at(slot).createdAt + MaxHoldLifetimeMs; at > max {
		at = max
	}
	s.do(facts.Fact{Kind: facts.HoldExtended, ID: c.HoldID, Until: at})
	v := s.holdView(slot, c.HoldID)
	return Result{Hold: &v}, true
}

// tick expires holds and orders that are due and forgets old memory. It
// reports whether anything changed.
func (s *Shard) tick(now int64) bool {
	changed := false
	for slot, ok := s.holds.first(); ok && s.holds.at(slot).expiresAt <= now; slot, ok = s.holds.first() {
		s.do(facts.Fact{Kind: facts.HoldExpired, ID: s.holds.id(slot)})
		changed = true
	}
	for len(s.orderTimers) > 0 && s.orderTimers[0].at <= now {
		t := s.orderTimers[0]
		o, live := s.orders[t.id]
		switch {
		case !live || o.tm != t || o.status == StatusPaymentProcessing:
			// cannot happen: an order's one timer leaves with it, and none is
			// armed while payment_processing
			s.orderTimers.disarm(t)
			continue
		case o.status == StatusPendingPayment:
			// arms its archive timer, which may be due in this same tick
			s.do(facts.Fact{Kind: facts.OrderExpired, ID: o.id, At: now})
		default:
			s.do(facts.Fact{Kind: facts.OrderArchived, ID: o.id})
		}
		changed = true
	}
	if s.dueToForget(now) {
		s.do(facts.Fact{Kind: facts.Forgotten, At: now - HoldExpiredMemory, Until: now - IdempotencyKeepMs})
		changed = true
	}
	return changed
}
