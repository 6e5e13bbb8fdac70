package seatmap

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"sort"
)

// The waiting room (ShowConfig.Queue) lives in the show's shard, beside the
// stock it admits to: admission is decided in the same step as the holds,
// expiries and returns that change the stock, journaled with them, fenced
// with them, and recovered with them. There is nothing to keep in step
// across actors, and a failover moves the room with the show.
//
// A user joins once (KindQueueJoin) and gets a ticket. Tickets that join
// before the room opens wait in a pool; the first command at or after
// opens_at shuffles the pool (a seed hashed from the pool's random ticket
// ids; the seed and the order it gave are recorded) into the line, and later
// tickets join the line's end: first come, first served.
//
// The rule, kept after every command that changed state:
//
//	live passes            <= max_active
//	unconverted            <= ceil(available × admit_factor)
//
// where a pass is live while admitted, not expired, and its user has not
// ordered, and unconverted counts the live passes whose user holds nothing
// yet. The room admits the next waiting ticket while both stay true after
// admitting it; when the stock falls under the rule (others took the seats,
// or the show sold out) it takes back the passes admitted last that hold
// nothing, and puts their tickets first in line. So a sold-out show has no
// pass live that holds nothing, and the room starts again by itself when
// seats come back (holds expire, orders are cancelled or expire). Returned
// seats go to the waitlist first (waitlist.go); the room sees only what the
// waitlist could not use.
//
// Decisions (the opening shuffle, passes that ran out, offers, suspensions,
// admissions) are recorded in the command as RoomFacts; Replay applies them
// and decides nothing.

// Where a waiting ticket waits.
const (
	inPool  uint8 = iota + 1 // joined before opening
	inLine                   // line[idx]
	inFront                  // suspended: before the line
)

// Ticket states (internal).
const (
	tkWaiting uint8 = iota + 1
	tkAdmitted
	tkExpired
)

type room struct {
	opensAt     int64
	passTTLMs   int64
	maxActive   int
	factorMilli int64

	opened   bool
	seed     uint64
	openedAt int64

	tickets []*ticket // by number - 1
	byID    map[string]uint32
	byUser  map[string]uint32
	pool    []uint32 // joined before opening, in join order
	line    []uint32 // joined (or shuffled in) after opening; line[head:] waits
	head    int
	front   []uint32  // suspended tickets, before the line, by first admission
	pending []pending // admissions by lastAdmit; suspension takes the newest unconverted (lazily pruned)

	passTimers  timerHeap
	live        int // passes live: admitted, not expired, not done
	unconverted int // live passes whose user holds nothing
	admits      uint32
	firstAdmits uint32
}

type pending struct{ num, admit uint32 }

type ticket struct {
	id, user      string
	num           uint32
	joinedAt      int64
	state         uint8
	where         uint8 // while waiting
	idx           int   // in line, while where == inLine
	firstAdmit    uint32
	lastAdmit     uint32
	admittedAt    int64
	passExpiresAt int64
	held          bool // the user held seats with this pass
	done          bool // the user ordered: the pass no longer counts as live
	tm            *timer
	tmv           timer
}

func (t *ticket) isLive() bool { return t.state == tkAdmitted && !t.done }

// count adds d to the room's counters for t's part in them: call with -1
// before changing t and +1 after.
func (r *room) count(t *ticket, d int) {
	if t.isLive() {
		r.live += d
		if !t.held {
			r.unconverted += d
		}
	}
}

// buildRoom sets up the waiting room of a show that has one.
func (s *Shard) buildRoom() {
	q := s.cfg.Queue
	if q == nil {
		return
	}
	s.room = &room{opensAt: q.opensAtMs(), passTTLMs: int64(q.PassTTLSeconds) * 1000, maxActive: q.MaxActive,
		factorMilli: q.factorMilli(), byID: map[string]uint32{}, byUser: map[string]uint32{}}
}

// roomFactsOf returns the command's RoomFacts, allocating them.
func roomFactsOf(c *Command) *RoomFacts {
	if c.Room == nil {
		c.Room = &RoomFacts{}
	}
	return c.Room
}

// applyChecked applies c after the room's check of a hold's pass.
func (s *Shard) applyChecked(c *Command) (Result, bool) {
	if !s.replaying {
		c.Room = nil // decided here, never taken from a caller
		if err := s.passCheck(c); err != nil {
			return fail(err)
		}
	}
	return s.apply(c)
}

// passCheck refuses a hold on a show with a room unless c.Ticket is the
// caller's admitted ticket with a pass still valid. A retried hold (its id
// or idempotency key known) answers as before, pass or not.
func (s *Shard) passCheck(c *Command) error {
	r := s.room
	if r == nil || c.Kind != KindHold || !s.created {
		return nil
	}
	if _, ok := s.holdIdem[c.IdemKey]; ok && c.IdemKey != "" {
		return nil
	}
	if _, _, err := s.lookupHold(c.HoldID); err == nil || err == ErrHoldExpired {
		return nil
	}
	n, ok := r.byID[c.Ticket]
	if c.Ticket == "" || !ok {
		return errorf(ErrQueueRequired, "this show has a waiting room: join it and hold with the pass it gives")
	}
	t := r.tickets[n-1]
	switch {
	case t.user != c.User:
		return errorf(ErrQueueRequired, "the pass is not this user's")
	case t.state == tkExpired || t.state == tkAdmitted && t.passExpiresAt <= c.Now:
		return errorf(ErrQueueRequired, "the pass expired: join the queue again")
	case t.state != tkAdmitted:
		return errorf(ErrQueueRequired, "the ticket is not admitted")
	}
	return nil
}

// roomAfter runs the room and the waitlist after a command that changed
// state (and after every tick): marks, expiries, opening, offers,
// suspensions, admissions. It reports whether it recorded anything.
func (s *Shard) roomAfter(c *Command, res *Result, changed bool) bool {
	if s.room == nil && s.wl == nil {
		return false
	}
	if !changed && c.Kind != KindTick {
		return false
	}
	s.roomMarks(c, res)
	if s.room != nil {
		s.roomExpire(c)
		s.roomOpen(c)
	}
	if s.wl != nil {
		s.waitlistEnded(c)
		s.waitlistOffer(c)
	}
	if s.room != nil {
		s.roomSuspend(c)
		s.roomAdmit(c)
	}
	if res.Ticket != nil { // the answer shows the ticket as the command left it
		v := s.ticketView(s.room.tickets[s.room.byID[res.Ticket.ID]-1], c.Now)
		res.Ticket = &v
	}
	if res.Entry != nil {
		v := s.entryView(s.wl.entries[s.wl.byID[res.Entry.ID]-1], c.Now)
		res.Entry = &v
	}
	return c.Room != nil
}

// roomMarks notes a hold made with a pass (its ticket is converted), and an
// order or a waitlist entry made by a ticket's user (the pass is done: the
// user bought, or gave up buying directly, and its slot goes to the next).
func (s *Shard) roomMarks(c *Command, res *Result) {
	r := s.room
	if r == nil || res.Err != nil {
		return
	}
	var user string
	switch {
	case c.Kind == KindHold && res.Created && res.Hold != nil:
		user = res.Hold.User
	case c.Kind == KindOrder && res.Created && res.Order != nil:
		user = res.Order.User
	case c.Kind == KindWaitlistJoin && res.Created && res.Entry != nil:
		user = res.Entry.User
	default:
		return
	}
	n, ok := r.byUser[user]
	if !ok {
		return
	}
	t := r.tickets[n-1]
	if t.state != tkAdmitted {
		return
	}
	r.count(t, -1)
	if c.Kind == KindHold {
		t.held = true
	} else {
		t.done = true
	}
	r.count(t, 1)
}

// roomExpire ends the passes due at c.Now.
func (s *Shard) roomExpire(c *Command) {
	r := s.room
	if s.replaying {
		if c.Room != nil {
			for _, n := range c.Room.Expired {
				s.expirePass(n)
			}
		}
		return
	}
	for {
		tm, ok := r.passTimers.popDue(c.Now)
		if !ok {
			return
		}
		n := r.byID[tm.id]
		s.expirePass(n)
		roomFactsOf(c).Expired = append(roomFactsOf(c).Expired, n)
	}
}

func (s *Shard) expirePass(n uint32) {
	t := s.room.ticket(n)
	if t == nil || t.state != tkAdmitted {
		s.badFact("expired pass of ticket %d, which is not admitted", n)
		return
	}
	s.room.count(t, -1)
	t.state = tkExpired
	s.room.passTimers.disarm(t.tm)
	s.room.count(t, 1)
}

// ticket returns ticket number n, or nil.
func (r *room) ticket(n uint32) *ticket {
	if n == 0 || int(n) > len(r.tickets) {
		return nil
	}
	return r.tickets[n-1]
}

// badFact records that a journaled fact did not apply (Replay reports it).
func (s *Shard) badFact(format string, a ...any) {
	if s.factErr == nil {
		s.factErr = errorf(ErrInvalidState, format, a...)
	}
}

// roomOpen opens the room when due: the pool is shuffled into the line.
func (s *Shard) roomOpen(c *Command) {
	r := s.room
	var op RoomOpening
	if s.replaying {
		if c.Room == nil || c.Room.Opened == nil || r.opened {
			return
		}
		op = *c.Room.Opened
	} else {
		if r.opened || c.Now < r.opensAt {
			return
		}
		op = s.shuffle()
		roomFactsOf(c).Opened = &op
	}
	if len(op.Order) != len(r.pool) {
		s.badFact("opening orders %d tickets, the pool has %d", len(op.Order), len(r.pool))
		return
	}
	r.opened, r.seed, r.openedAt = true, op.Seed, c.Now
	for _, n := range op.Order {
		t := r.ticket(n)
		if t == nil || t.where != inPool {
			s.badFact("opening orders ticket %d, which is not in the pool", n)
			continue
		}
		t.where, t.idx = inLine, len(r.line)
		r.line = append(r.line, n)
	}
	r.pool = nil
}

// shuffle orders the pool at random. The seed is a hash of the show and the
// pool's ticket ids, which are random and unknown to any one user, so nobody
// can predict or steer it; the order is recorded, so no later change of the
// shuffle can change it.
func (s *Shard) shuffle() RoomOpening {
	r := s.room
	h := sha256.New()
	h.Write([]byte(s.cfg.ID))
	for _, n := range r.pool {
		h.Write([]byte{0})
		h.Write([]byte(r.tickets[n-1].id))
	}
	seed := binary.BigEndian.Uint64(h.Sum(nil)[:8])
	order := append([]uint32(nil), r.pool...)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return RoomOpening{Seed: seed, Order: order}
}

// admitLimit is ceil(available × admit_factor): the unconverted passes
// the stock allows (none on a sold-out show; one at least while a seat is
// left, so the last seats sell too).
func (s *Shard) admitLimit() int {
	return int((int64(s.totalAvailable())*s.room.factorMilli + 999) / 1000)
}

// roomSuspend takes back the newest unconverted passes while the room is
// over its rule.
func (s *Shard) roomSuspend(c *Command) {
	r := s.room
	if s.replaying {
		if c.Room != nil {
			for _, n := range c.Room.Suspended {
				s.suspend(n)
			}
		}
		return
	}
	if r.unconverted == 0 {
		return
	}
	limit := s.admitLimit()
	for r.unconverted > limit {
		n := r.popPending()
		if n == 0 {
			s.badFact("%d unconverted passes and none pending", r.unconverted)
			return
		}
		s.suspend(n)
		roomFactsOf(c).Suspended = append(roomFactsOf(c).Suspended, n)
	}
}

// popPending returns the newest admitted ticket whose pass is live and
// unconverted, removing it from pending (0: none).
func (r *room) popPending() uint32 {
	for len(r.pending) > 0 {
		p := r.pending[len(r.pending)-1]
		r.pending = r.pending[:len(r.pending)-1]
		t := r.tickets[p.num-1]
		if t.lastAdmit == p.admit && t.isLive() && !t.held {
			return p.num
		}
	}
	return 0
}

func (s *Shard) suspend(n uint32) {
	r := s.room
	t := r.ticket(n)
	if t == nil || !t.isLive() || t.held {
		s.badFact("suspended ticket %d has no unconverted pass", n)
		return
	}
	r.count(t, -1)
	t.state, t.where, t.passExpiresAt = tkWaiting, inFront, 0
	r.passTimers.disarm(t.tm)
	i := sort.Search(len(r.front), func(i int) bool { return r.tickets[r.front[i]-1].firstAdmit > t.firstAdmit })
	r.front = append(r.front, 0)
	copy(r.front[i+1:], r.front[i:])
	r.front[i] = n
	r.count(t, 1)
}

// roomAdmit admits waiting tickets while the rule allows.
func (s *Shard) roomAdmit(c *Command) {
	r := s.room
	if s.replaying {
		if c.Room != nil {
			for _, n := range c.Room.Admitted {
				s.admit(n, c.Now)
			}
		}
		return
	}
	if !r.opened {
		return
	}
	limit := -1
	for r.live < r.maxActive {
		n := r.nextWaiting()
		if n == 0 {
			return
		}
		if limit < 0 {
			limit = s.admitLimit() // admissions leave the stock as it is
		}
		if r.unconverted+1 > limit {
			return
		}
		s.admit(n, c.Now)
		roomFactsOf(c).Admitted = append(roomFactsOf(c).Admitted, n)
	}
}

// nextWaiting is the ticket next in line (0: none).
func (r *room) nextWaiting() uint32 {
	if len(r.front) > 0 {
		return r.front[0]
	}
	for r.head < len(r.line) {
		if n := r.line[r.head]; r.tickets[n-1].where == inLine && r.tickets[n-1].state == tkWaiting {
			return n
		}
		r.head++
	}
	return 0
}

func (s *Shard) admit(n uint32, now int64) {
	r := s.room
	t := r.ticket(n)
	if t == nil || t.state != tkWaiting || t.where == inPool {
		s.badFact("admitted ticket %d is not waiting in line", n)
		return
	}
	if r.nextWaiting() != n {
		s.badFact("admitted ticket %d is not next in line", n)
		return
	}
	if t.where == inFront {
		r.front = append(r.front[:0], r.front[1:]...)
	} else {
		r.head++
	}
	r.count(t, -1)
	t.state, t.where, t.held, t.done = tkAdmitted, 0, false, false
	r.admits++
	t.lastAdmit = r.admits
	if t.firstAdmit == 0 {
		r.firstAdmits++
		t.firstAdmit = r.firstAdmits
	}
	t.admittedAt, t.passExpiresAt = now, now+r.passTTLMs
	t.tm = r.passTimers.arm(&t.tmv, t.id, t.passExpiresAt)
	r.pending = append(r.pending, pending{num: n, admit: t.lastAdmit})
	r.count(t, 1)
	if len(r.pending) > 1024 && len(r.pending) > 4*r.unconverted {
		r.prunePending()
	}
}

// prunePending drops the admissions that no longer hold an unconverted pass.
func (r *room) prunePending() {
	k := 0
	for _, p := range r.pending {
		t := r.tickets[p.num-1]
		if t.lastAdmit == p.admit && t.isLive() && !t.held {
			r.pending[k] = p
			k++
		}
	}
	clear(r.pending[k:])
	r.pending = r.pending[:k]
}

// roomDeadline is the room's next instant with work: a pass that runs out,
// or the opening.
func (s *Shard) roomDeadline() int64 {
	r := s.room
	if r == nil {
		return 0
	}
	d := r.passTimers.peek()
	if !r.opened && (d == 0 || r.opensAt < d) {
		d = max(r.opensAt, 1)
	}
	return d
}

// queueJoin gives c.User a ticket: the one it has, on a retry, unless its
// pass ran out; then a new one, at the end of the line.
func (s *Shard) queueJoin(c *Command) (Result, bool) {
	r := s.room
	if r == nil {
		return fail(errorf(ErrNoQueue, "this show has no waiting room: hold seats directly"))
	}
	if c.Ticket == "" || c.User == "" {
		return fail(errorf(ErrInvalidRequest, "joining the queue needs a ticket id and a user"))
	}
	if n, ok := r.byUser[c.User]; ok && r.tickets[n-1].state != tkExpired {
		v := s.ticketView(r.tickets[n-1], c.Now)
		return Result{Ticket: &v}, false
	}
	if _, ok := r.byID[c.Ticket]; ok {
		return fail(errorf(ErrInvalidRequest, "ticket id already used"))
	}
	if len(r.tickets) >= MaxTicketsPerShow {
		return fail(errorf(ErrInvalidState, "the waiting room is full (%d tickets)", MaxTicketsPerShow))
	}
	s.roomOpen(c) // a join at or after opens_at comes after the pool
	n := uint32(len(r.tickets) + 1)
	t := &ticket{id: c.Ticket, user: c.User, num: n, joinedAt: c.Now, state: tkWaiting}
	if r.opened {
		t.where, t.idx = inLine, len(r.line)
		r.line = append(r.line, n)
	} else {
		t.where = inPool
		r.pool = append(r.pool, n)
	}
	r.tickets = append(r.tickets, t)
	r.byID[t.id], r.byUser[t.user] = n, n
	v := s.ticketView(t, c.Now)
	return Result{Ticket: &v, Created: true}, true
}

// queueGet answers c.Ticket (of c.User, when set).
func (s *Shard) queueGet(c *Command) (Result, bool) {
	r := s.room
	if r == nil {
		return fail(ErrTicketNotFound)
	}
	n, ok := r.byID[c.Ticket]
	if !ok || !owns(c, r.tickets[n-1].user) {
		return fail(ErrTicketNotFound)
	}
	v := s.ticketView(r.tickets[n-1], c.Now)
	return Result{Ticket: &v}, false
}

// ticketView shows a ticket at now: a pass past its expiry is expired even
// before the tick that ends it.
func (s *Shard) ticketView(t *ticket, now int64) TicketView {
	r := s.room
	v := TicketView{ID: t.id, Show: s.cfg.ID, User: t.user, JoinedAt: t.joinedAt, OpensAt: r.opensAt}
	switch {
	case t.state == tkAdmitted && t.passExpiresAt > now:
		v.State, v.PassExpiresAt = TicketAdmitted, t.passExpiresAt
	case t.state != tkWaiting:
		v.State = TicketExpired
	default:
		v.Position = r.position(t)
		if avail := s.totalAvailable(); r.opened && avail == 0 {
			_, by := s.Counts()
			v.State, v.ReturnsPossible = TicketSoldOut, by[Held]+by[Reserved]
		} else {
			v.State, v.EstimatedWaitSeconds = TicketWaiting, s.estimateWait(v.Position, now)
		}
	}
	return v
}

// position is a waiting ticket's place (1 = next); in the pool, the pool's size.
func (r *room) position(t *ticket) int {
	switch t.where {
	case inPool:
		return len(r.pool)
	case inFront:
		for i, n := range r.front {
			if n == t.num {
				return i + 1
			}
		}
	case inLine:
		return len(r.front) + t.idx - r.head + 1
	}
	return 0
}

// estimateWait guesses the seconds until position pos is admitted: at the
// room's admission rate so far, or before any admission at max_active per
// pass lifetime; plus the time until opening.
func (s *Shard) estimateWait(pos int, now int64) int {
	r := s.room
	var ms int64
	if r.opened && r.admits > 0 && now > r.openedAt {
		ms = int64(pos) * (now - r.openedAt) / int64(r.admits)
	} else {
		ms = int64(pos) * r.passTTLMs / int64(r.maxActive)
	}
	if !r.opened && r.opensAt > now {
		ms += r.opensAt - now
	}
	return int((ms + 999) / 1000)
}

// roomStats are the room's figures (nil without a room).
func (s *Shard) roomStats() *QueueStats {
	r := s.room
	if r == nil {
		return nil
	}
	q := &QueueStats{OpensAt: r.opensAt, Opened: r.opened, Seed: r.seed, PassTTLSeconds: int(r.passTTLMs / 1000),
		MaxActive: r.maxActive, AdmitFactor: float64(r.factorMilli) / 1000, Tickets: len(r.tickets),
		Live: r.live, Unconverted: r.unconverted, AdmittedTotal: int(r.admits)}
	q.Waiting = len(r.pool) + len(r.front) + len(r.line) - r.head // the line loses tickets at its head only
	return q
}

// RoomStats returns the waiting room's figures, or nil for a show without one.
func (s *Shard) RoomStats() *QueueStats { return s.roomStats() }
