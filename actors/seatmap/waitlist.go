package seatmap

import (
	"sort"

	"github.com/boxoffice/boxoffice/facts"
)

// The waitlist: on a sold-out show a user asks for Quantity seats (adjacent
// in one row when Together; general admission by count) in a section, a
// tier, or anywhere. Whenever a command gives seats back (a hold released or
// expired, an order cancelled or expired, an offer declined or lapsed), the
// same command offers them, in entry order, to every waiting entry they fit:
// an offer is a hold in the entry's user's name, with its own lifetime
// (waitlist.offer_ttl_seconds), announced by a waitlist.offered event. The
// user orders it like any hold; an offer that lapses or is declined gives
// its seats back, and they go to the next entry in that same step. An entry
// gets one offer. Offers are made before the waiting room sees the seats.
//
// Waiting entries are kept in FIFO groups of one shape (scope, quantity,
// together): when a group's first entry does not fit, none of the group
// does, so an offer round costs one fit per shape, not per entry.

// Internal entry states.
const (
	enWaiting uint8 = iota + 1
	enOffered
	enAccepted
	enLapsed
	enDeclined
	enCancelled
)

var entryStateNames = [...]string{enWaiting: EntryWaiting, enOffered: EntryOffered, enAccepted: EntryAccepted,
	enLapsed: EntryLapsed, enDeclined: EntryDeclined, enCancelled: EntryCancelled}

type waitlist struct {
	entries  []*wlEntry // by number - 1
	byID     map[string]uint32
	byUser   map[string]uint32 // each user's latest entry
	groups   map[wlShape]*wlGroup
	shapes   []wlShape // groups in creation order
	waiting  fenwick   // 1 per waiting entry, by number: positions
	nWaiting int
	offers   map[string]uint32 // offer hold id -> entry, while offered
	accepted int
	lapsed   int
}

type wlShape struct {
	section, tier string
	q             int
	together      bool
}

type wlGroup struct {
	q    []uint32 // entries in number order; q[head:] may wait
	head int
}

type wlEntry struct {
	id, user       string
	num            uint32
	shape          wlShape
	createdAt      int64
	state          uint8
	holdID         string
	seats          []string
	general        map[string]int
	offerExpiresAt int64
	orderID        string
	reason         string
}

func newWaitlist() *waitlist {
	return &waitlist{byID: map[string]uint32{}, byUser: map[string]uint32{}, groups: map[wlShape]*wlGroup{},
		offers: map[string]uint32{}}
}

// add appends a waiting entry.
func (w *waitlist) add(e *wlEntry) {
	w.entries = append(w.entries, e)
	w.byID[e.id], w.byUser[e.user] = e.num, e.num
	g := w.groups[e.shape]
	if g == nil {
		g = &wlGroup{}
		w.groups[e.shape] = g
		w.shapes = append(w.shapes, e.shape)
	}
	g.q = append(g.q, e.num)
	w.waiting.push(1)
	w.nWaiting++
}

// leave takes a waiting entry out of line.
func (w *waitlist) leave(e *wlEntry, state uint8) {
	e.state = state
	w.waiting.add(int(e.num), -1)
	w.nWaiting--
}

// head returns the first waiting entry of g (nil: none).
func (w *waitlist) head(g *wlGroup) *wlEntry {
	for g.head < len(g.q) {
		if e := w.entries[g.q[g.head]-1]; e.state == enWaiting {
			return e
		}
		g.head++
	}
	return nil
}

// waitlistJoin adds c.User's entry (the live one it has, on a retry).
func (s *Shard) waitlistJoin(c *Command) (Result, bool) {
	if c.Entry == "" || c.User == "" {
		return fail(errorf(ErrInvalidRequest, "a waitlist entry needs an id and a user"))
	}
	if c.Quantity < 1 || c.Quantity > MaxWaitlistQuantity {
		return fail(errorf(ErrInvalidRequest, "quantity must be in 1..%d", MaxWaitlistQuantity))
	}
	if c.Section != "" && c.Tier != "" {
		return fail(errorf(ErrInvalidRequest, "give a section or a tier, not both"))
	}
	if c.Section != "" {
		if _, ok := s.secByID[c.Section]; !ok {
			return fail(errorf(ErrUnknownSection, "no section %q", c.Section))
		}
	}
	if c.Tier != "" {
		if _, ok := s.cfg.TierPrice(c.Tier); !ok {
			return fail(errorf(ErrUnknownTier, "no tier %q", c.Tier))
		}
	}
	w := s.wl
	if w == nil {
		w = newWaitlist() // kept only once it has an entry
	}
	if n, ok := w.byUser[c.User]; ok {
		if e := w.entries[n-1]; e.state == enWaiting || e.state == enOffered {
			v := s.entryView(e, c.Now)
			return Result{Entry: &v}, false
		}
	}
	if _, ok := w.byID[c.Entry]; ok {
		return fail(errorf(ErrInvalidRequest, "entry id already used"))
	}
	if err := s.checkLimit(c.User, c.Quantity); err != nil {
		return fail(err)
	}
	if len(w.entries) >= MaxWaitlistEntries {
		return fail(errorf(ErrInvalidState, "the waitlist is full (%d entries)", MaxWaitlistEntries))
	}
	e := &wlEntry{id: c.Entry, user: c.User, num: uint32(len(w.entries) + 1), createdAt: c.Now, state: enWaiting,
		shape: wlShape{section: c.Section, tier: c.Tier, q: c.Quantity, together: c.Together}}
	if _, _, ok := s.fit(e.shape); ok {
		return fail(errorf(ErrNotSoldOut, "seats that fit are available: hold them"))
	}
	s.wl = w
	w.add(e)
	v := s.entryView(e, c.Now)
	return Result{Entry: &v, Created: true}, true
}

// waitlistEntry finds c.Entry for c.User.
func (s *Shard) waitlistEntry(c *Command) (*wlEntry, error) {
	if s.wl == nil {
		return nil, ErrEntryNotFound
	}
	n, ok := s.wl.byID[c.Entry]
	if !ok || !owns(c, s.wl.entries[n-1].user) {
		return nil, ErrEntryNotFound
	}
	return s.wl.entries[n-1], nil
}

func (s *Shard) waitlistGet(c *Command) (Result, bool) {
	e, err := s.waitlistEntry(c)
	if err != nil {
		return fail(err)
	}
	v := s.entryView(e, c.Now)
	return Result{Entry: &v}, false
}

// waitlistLeave takes an entry out of line; an offered entry declines its
// offer (the hold is released, and its seats go to the next entry).
func (s *Shard) waitlistLeave(c *Command) (Result, bool) {
	e, err := s.waitlistEntry(c)
	if err != nil {
		return fail(err)
	}
	changed := false
	switch e.state {
	case enWaiting:
		e.reason = "user"
		s.wl.leave(e, enCancelled)
		changed = true
	case enOffered:
		if slot, ok := s.holds.get(e.holdID); ok {
			s.dropHold(slot, e.holdID)
		}
		e.state = enDeclined
		delete(s.wl.offers, e.holdID)
		changed = true
	case enAccepted:
		return fail(errorf(ErrInvalidState, "the offer became order %s: cancel the order instead", e.orderID))
	}
	v := s.entryView(e, c.Now)
	return Result{Entry: &v}, changed
}

// waitlistEnded notes the offers whose hold is gone: ordered (accepted),
// expired (lapsed) or released (declined).
func (s *Shard) waitlistEnded(c *Command) {
	w := s.wl
	if len(w.offers) == 0 {
		return
	}
	switch c.Kind {
	case KindTick, KindRelease, KindOrder, KindWaitlistLeave:
	default:
		return
	}
	for id, n := range w.offers { // each entry on its own: the order of the map does not matter
		if _, live := s.holds.get(id); live {
			continue
		}
		e := w.entries[n-1]
		switch oid, ok := s.holdOrder[id]; {
		case ok:
			e.state, e.orderID = enAccepted, oid
			w.accepted++
		case s.expiredHolds[id] != 0:
			e.state = enLapsed
			w.lapsed++
		default:
			e.state = enDeclined
		}
		delete(w.offers, id)
	}
}

// waitlistOffer offers the seats a command gave back to the waiting entries
// they fit, first entry first, until none fits.
func (s *Shard) waitlistOffer(c *Command) {
	w := s.wl
	if s.replaying {
		if c.Room == nil {
			return
		}
		for _, n := range c.Room.Dropped {
			s.dropEntry(n)
		}
		for _, f := range c.Room.Offers {
			s.applyOffer(f, c.Now)
		}
		return
	}
	if w.nWaiting == 0 || !s.inv.returned {
		return
	}
	for {
		var heads []*wlEntry
		for _, sh := range w.shapes {
			if e := w.head(w.groups[sh]); e != nil {
				heads = append(heads, e)
			}
		}
		sort.Slice(heads, func(i, j int) bool { return heads[i].num < heads[j].num })
		offered := false
		for _, e := range heads {
			seats, general, ok := s.fit(e.shape)
			if !ok {
				continue
			}
			if s.checkLimit(e.user, e.shape.q) != nil {
				s.dropEntry(e.num)
				roomFactsOf(c).Dropped = append(roomFactsOf(c).Dropped, e.num)
				offered = true // its group's next entry may fit: look again
				break
			}
			f := OfferFact{Entry: e.num, Seats: s.seatIDs(seats)}
			for _, g := range general {
				f.General = append(f.General, OfferGA{Section: g.sec.id, N: g.n})
			}
			s.makeOffer(e, seats, f.Seats, general, c.Now)
			roomFactsOf(c).Offers = append(roomFactsOf(c).Offers, f)
			offered = true
			break
		}
		if !offered {
			return
		}
	}
}

// dropEntry takes a waiting entry out: its user is at the seat limit.
func (s *Shard) dropEntry(n uint32) {
	e := s.wl.entry(n)
	if e == nil || e.state != enWaiting {
		s.badFact("dropped waitlist entry %d is not waiting", n)
		return
	}
	e.reason = "limit_exceeded"
	s.wl.leave(e, enCancelled)
}

func (w *waitlist) entry(n uint32) *wlEntry {
	if n == 0 || int(n) > len(w.entries) {
		return nil
	}
	return w.entries[n-1]
}

// applyOffer makes a journaled offer.
func (s *Shard) applyOffer(f OfferFact, now int64) {
	e := s.wl.entry(f.Entry)
	if e == nil || e.state != enWaiting {
		s.badFact("offer to waitlist entry %d, which is not waiting", f.Entry)
		return
	}
	seats := make([]uint32, 0, len(f.Seats))
	for _, id := range f.Seats {
		seat, ok := s.parseSeat(id)
		if !ok || s.seats[seat] != Available {
			s.badFact("offer of seat %s, which is not available", quote(id))
			return
		}
		seats = append(seats, seat)
	}
	var general []gaPart
	for _, g := range f.General {
		sec, ok := s.secByID[g.Section]
		if !ok || !sec.ga || g.N < 1 || sec.counts[Available] < g.N {
			s.badFact("offer of %d in section %s, which is not available", g.N, quote(g.Section))
			return
		}
		general = append(general, gaPart{sec: sec, n: g.N})
	}
	s.makeOffer(e, seats, append([]string(nil), f.Seats...), general, now)
}

// makeOffer holds the seats for e's user and announces it.
func (s *Shard) makeOffer(e *wlEntry, seats []uint32, ids []string, general []gaPart, now int64) {
	qty := len(seats)
	for _, g := range general {
		qty += g.n
	}
	var amount int64
	for _, seat := range seats {
		sec, _ := s.locate(seat)
		amount += sec.price
	}
	for _, g := range general {
		amount += g.sec.price * int64(g.n)
	}
	// the offer's hold is part of the room's fact (RoomDecided), which
	// makes it again on replay: not a fact of its own
	f := facts.Fact{Kind: facts.HoldPlaced, ID: e.id + ".offer", User: e.user, Seats: seats, GA: factParts(general),
		Quantity: int64(qty), Amount: amount, At: now, Until: now + s.cfg.offerTTLMs()}
	if err := s.applyHoldPlaced(&f); err != nil {
		s.badFact("offer to waitlist entry %d: %v", e.num, err)
		return
	}
	w := s.wl
	w.leave(e, enOffered)
	e.holdID, e.seats, e.general, e.offerExpiresAt = f.ID, ids, generalMap(general), f.Until
	w.offers[f.ID] = e.num
	s.ready.Events = append(s.ready.Events, Event{ID: e.id + ".offered", Type: EventWaitlistOffered, Show: s.cfg.ID,
		Shard: s.shard, User: e.user, Amount: amount, Quantity: qty, Seats: ids, At: now, Hold: f.ID, Entry: e.id,
		ExpiresAt: f.Until})
}

// fit finds seats for a shape among the available ones: with together,
// adjacent in one row (fewest orphans, closest rows first) or GA by count;
// otherwise best available (which may split a row's block).
func (s *Shard) fit(sh wlShape) ([]uint32, []gaPart, bool) {
	secs := s.scope(sh)
	if !sh.together {
		seats, general, err := s.pickBest(secs, sh.q)
		return seats, general, err == nil
	}
	for pass := 1; pass <= 2; pass++ {
		for _, sec := range secs {
			if sec.counts[Available] < sh.q {
				continue
			}
			if sec.ga {
				return nil, []gaPart{{sec: sec, n: sh.q}}, true
			}
			if p := s.bestRun(sec, sh.q, pass == 2); p.ok {
				return run(p.start, sh.q), nil, true
			}
		}
	}
	return nil, nil, false
}

// scope lists the sections a shape may take seats from.
func (s *Shard) scope(sh wlShape) []*section {
	switch {
	case sh.section != "":
		if sec, ok := s.secByID[sh.section]; ok {
			return []*section{sec}
		}
		return nil
	case sh.tier != "":
		var out []*section
		for _, sec := range s.sections {
			if sec.tier == sh.tier {
				out = append(out, sec)
			}
		}
		return out
	}
	return s.sections
}

// entryView shows an entry.
func (s *Shard) entryView(e *wlEntry, now int64) WaitlistEntryView {
	v := WaitlistEntryView{ID: e.id, Show: s.cfg.ID, User: e.user, Quantity: e.shape.q, Together: e.shape.together,
		Section: e.shape.section, Tier: e.shape.tier, State: entryStateNames[e.state], CreatedAt: e.createdAt,
		HoldID: e.holdID, Seats: e.seats, General: e.general, OfferExpiresAt: e.offerExpiresAt, OrderID: e.orderID,
		Reason: e.reason}
	if e.state == enWaiting {
		v.Position = s.wl.waiting.prefix(int(e.num))
	}
	return v
}

// waitlistStats are the waitlist's figures (nil: never used).
func (s *Shard) waitlistStats() *WaitlistStats {
	w := s.wl
	if w == nil {
		return nil
	}
	return &WaitlistStats{Entries: len(w.entries), Waiting: w.nWaiting, Offered: len(w.offers), Accepted: w.accepted,
		Lapsed: w.lapsed}
}

// WaitlistStats returns the waitlist's figures, or nil when nobody joined it.
func (s *Shard) WaitlistStats() *WaitlistStats { return s.waitlistStats() }
