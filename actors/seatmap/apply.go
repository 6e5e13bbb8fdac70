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

func (s *Shard) holdView(h *hold) HoldView {
	return HoldView{ID: h.id, Show: s.cfg.ID, User: h.user, Seats: s.seatIDs(h.take.seats), General: generalMap(h.take.general),
		Quantity: int(h.quantity), Amount: h.take.amount, CreatedAt: h.createdAt, ExpiresAt: h.expiresAt}
}

// convertedHoldView is the view of a hold that became order o, rebuilt from
// the order (the hold object left memory at conversion): the same view the
// hold answered before, with OrderID set.
func (s *Shard) convertedHoldView(o *order) HoldView {
	return HoldView{ID: o.holdID, Show: s.cfg.ID, User: o.user, Seats: o.seatIDs, General: generalMap(o.general),
		Quantity: o.quantity, Amount: o.amount, CreatedAt: o.holdCreatedAt, ExpiresAt: o.holdExpiresAt, OrderID: o.id}
}

// holdResult answers a hold found by lookupHold (live, or converted into o).
func (s *Shard) holdResult(h *hold, o *order) Result {
	var v HoldView
	if h != nil {
		v = s.holdView(h)
	} else {
		v = s.convertedHoldView(o)
	}
	return Result{Hold: &v}
}

func (s *Shard) getHold(c *Command) (Result, bool) {
	h, o, err := s.ownHold(c)
	if err != nil {
		return fail(err)
	}
	return s.holdResult(h, o), false
}

// lookupHold finds a hold: live (h), or converted into an order still in
// memory (o), else the reason it cannot: ErrHoldExpired for a hold that
// expired within HoldExpiredMemory, ErrHoldNotFound otherwise (never existed,
// released, or converted into an order that was archived).
func (s *Shard) lookupHold(id string) (*hold, *order, error) {
	if h, ok := s.holds.get(id); ok {
		return h, nil, nil
	}
	if oid, ok := s.holdOrder[id]; ok {
		return nil, s.orders[oid], nil
	}
	if _, ok := s.expiredHolds[id]; ok {
		return nil, nil, ErrHoldExpired
	}
	return nil, nil, ErrHoldNotFound
}

// ownHold is lookupHold of c.HoldID for c's user: a hold of another user
// answers ErrHoldNotFound, as if it did not exist.
func (s *Shard) ownHold(c *Command) (*hold, *order, error) {
	h, o, err := s.lookupHold(c.HoldID)
	switch {
	case errors.Is(err, ErrHoldExpired) && c.User != "" && s.expiredUsers[c.HoldID] != "" && s.expiredUsers[c.HoldID] != c.User:
		return nil, nil, ErrHoldNotFound // another user's expired hold is not theirs to learn about
	case err != nil:
		return nil, nil, err
	case h != nil && !owns(c, h.user), o != nil && !owns(c, o.user):
		return nil, nil, ErrHoldNotFound
	}
	return h, o, nil
}

// liveHold returns c's live hold, or why there is none: a converted hold
// answers ErrInvalidState.
func (s *Shard) liveHold(c *Command) (*hold, error) {
	h, o, err := s.ownHold(c)
	if err != nil {
		return nil, err
	}
	if o != nil {
		return nil, errorf(ErrInvalidState, "hold was converted into order %s", o.id)
	}
	return h, nil
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
			h, o, err := s.lookupHold(e.id)
			if err != nil {
				return fail(err)
			}
			return s.holdResult(h, o), false
		}
	}
	switch h, o, err := s.lookupHold(c.HoldID); {
	case err == nil: // a retried command: the same hold again (live or converted)
		var user string
		if h != nil {
			user = h.user
		} else {
			user = o.user
		}
		if user != c.User {
			return fail(errorf(ErrInvalidRequest, "hold id already used"))
		}
		return s.holdResult(h, o), false
	case err == ErrHoldExpired:
		return fail(err)
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
			seats, general, err = bestAvailable(s, []*section{sec}, c.Quantity)
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
	s.do(facts.Fact{Kind: facts.HoldPlaced, ID: c.HoldID, User: c.User, Seats: seats, GA: factParts(general),
		Quantity: int64(qty), Amount: amount, At: c.Now, Until: c.Now + int64(s.cfg.HoldTTLSeconds)*1000,
		Key: c.IdemKey, Hash: c.IdemHash})
	h, _ := s.holds.get(c.HoldID)
	v := s.holdView(h)
	return Result{Hold: &v, Created: true}, true
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
	h, err := s.liveHold(c)
	if err != nil {
		return fail(err)
	}
	s.do(facts.Fact{Kind: facts.HoldReleased, ID: h.id})
	return Result{}, true
}

// dropHold gives a live hold's seats back and forgets it.
func (s *Shard) dropHold(h *hold) {
	s.moveSeats(h.take.seats, h.take.general, Available, Held)
	s.users.take(h.user, int(h.quantity))
	s.holds.del(h.id)
	s.activeHolds--
	s.holdTimers.disarm(h)
	s.dirty.holds = append(s.dirty.holds, h.id)
}

func (s *Shard) extend(c *Command) (Result, bool) {
	h, err := s.liveHold(c)
	if err != nil {
		return fail(err)
	}
	if c.Seconds < 1 || c.Seconds > MaxHoldTTLSeconds {
		return fail(errorf(ErrInvalidRequest, "seconds must be in 1..%d", MaxHoldTTLSeconds))
	}
	at := c.Now + int64(c.Seconds)*1000
	if max := h.createdAt + MaxHoldLifetimeMs; at > max {
		at = max
	}
	s.do(facts.Fact{Kind: facts.HoldExtended, ID: h.id, Until: at})
	v := s.holdView(h)
	return Result{Hold: &v}, true
}

// tick expires holds and orders that are due and forgets old memory. It
// reports whether anything changed.
func (s *Shard) tick(now int64) bool {
	changed := false
	for len(s.holdTimers) > 0 && s.holdTimers[0].expiresAt <= now {
		s.do(facts.Fact{Kind: facts.HoldExpired, ID: s.holdTimers[0].id})
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
