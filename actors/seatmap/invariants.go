package seatmap

import "fmt"

// CheckInvariants verifies the shard's state from scratch and returns the
// first violation. It costs O(seats + holds + orders): tests and the
// invariants build call it after every step; production calls it on demand
// (the simulator, /v1/admin endpoints).
func (s *Shard) CheckInvariants() error {
	if !s.created {
		return nil
	}
	owner := make(map[uint32]string)
	held := map[*section]int{}
	reserved := map[*section]int{}
	sold := map[*section]int{}
	users := map[string]int{}
	holdsOf := map[uint32]int32{} // live holds per user number
	claim := func(who string, seats []uint32, want SeatState) error {
		for _, seat := range seats {
			if prev, ok := owner[seat]; ok {
				return fmt.Errorf("seat %s belongs to %s and %s", s.seatID(seat), prev, who)
			}
			owner[seat] = who
			if s.seats[seat] != want {
				return fmt.Errorf("seat %s of %s is %s, want %s", s.seatID(seat), who, s.seats[seat], want)
			}
		}
		return nil
	}
	active := 0
	if err := s.checkHoldTable(); err != nil {
		return err
	}
	for slot := range s.holds.all() {
		active++
		h, id := s.holds.at(slot), s.holds.id(slot)
		if h.heapIdx < 0 || int(h.heapIdx) >= len(s.holds.timers) || s.holds.timers[h.heapIdx] != slot {
			return fmt.Errorf("hold %s: expiry timer not armed at %d", id, h.expiresAt)
		}
		if got, ok := s.holds.get(id); !ok || got != slot {
			return fmt.Errorf("hold %s: its id finds slot %d %v, not %d", id, got, ok, slot)
		}
		if h.take == 0 || h.take > s.takes.slab.n {
			return fmt.Errorf("hold %s took nothing", id)
		}
		tk := s.takes.at(h.take)
		if len(tk.seats) == 0 && len(tk.general) == 1 && s.takeIntern[takeKey{tk.general[0], tk.amount}] != h.take {
			return fmt.Errorf("hold %s: its GA take is not the shared one", id)
		}
		if tk.own == (len(tk.seats) == 0 && len(tk.general) == 1) {
			return fmt.Errorf("hold %s: its take is own %v with %d seats, %d GA parts", id, tk.own, len(tk.seats), len(tk.general))
		}
		if _, ok := s.holdOrder[id]; ok {
			return fmt.Errorf("hold %s is live and converted", id)
		}
		if err := claim("hold "+id, tk.seats, Held); err != nil {
			return err
		}
		for _, g := range tk.general {
			held[g.sec] += g.n
		}
		users[s.users.name(h.user)] += int(h.quantity)
		holdsOf[h.user]++
	}
	if active != s.activeHolds {
		return fmt.Errorf("activeHolds = %d, counted %d", s.activeHolds, active)
	}
	if len(s.holdOrder) != len(s.orders) {
		return fmt.Errorf("hold index has %d entries for %d orders", len(s.holdOrder), len(s.orders))
	}
	for _, o := range s.orders {
		if s.holdOrder[o.holdID] != o.id {
			return fmt.Errorf("order %s: hold index says hold %s is order %q", o.id, o.holdID, s.holdOrder[o.holdID])
		}
		armed := o.tm != nil && o.tm.idx >= 0
		switch {
		case o.status == StatusPendingPayment && (!armed || o.tm.at != o.dueAt):
			return fmt.Errorf("order %s: pending_payment without its due timer", o.id)
		case o.status == StatusPaymentProcessing && armed:
			return fmt.Errorf("order %s: a timer is armed while payment_processing", o.id)
		case o.terminal() && (!armed || o.tm.at != o.doneAt+s.cfg.ArchiveAfterMs()):
			return fmt.Errorf("order %s: %s without its archive timer", o.id, o.status)
		}
		if len(o.attempts) > MaxPayAttempts {
			return fmt.Errorf("order %s: %d payment attempts", o.id, len(o.attempts))
		}
		var want SeatState
		switch o.status {
		case StatusPendingPayment, StatusPaymentProcessing:
			want = Reserved
			for _, g := range o.general {
				reserved[g.sec] += g.n
			}
		case StatusPaid:
			want = Sold
			for _, g := range o.general {
				sold[g.sec] += g.n
			}
		default:
			continue
		}
		if err := claim("order "+o.id, o.seats, want); err != nil {
			return err
		}
		users[o.user] += o.quantity
	}
	for _, sec := range s.sections {
		c := sec.counts
		if c[Available]+c[Held]+c[Reserved]+c[Sold] != sec.cap {
			return fmt.Errorf("section %s: %d+%d+%d+%d != capacity %d", sec.id, c[0], c[1], c[2], c[3], sec.cap)
		}
		for st := range c {
			if c[st] < 0 {
				return fmt.Errorf("section %s: negative %s count", sec.id, SeatState(st))
			}
		}
		if sec.archSold < 0 || sec.archSold > c[Sold] {
			return fmt.Errorf("section %s: %d archived sales of %d sold", sec.id, sec.archSold, c[Sold])
		}
		if sec.ga {
			if c[Held] != held[sec] || c[Reserved] != reserved[sec] || c[Sold] != sold[sec]+sec.archSold {
				return fmt.Errorf("section %s: GA counts %v disagree with holds/orders (%d held, %d reserved, %d+%d sold)",
					sec.id, c, held[sec], reserved[sec], sold[sec], sec.archSold)
			}
			continue
		}
		var n [numStates]int
		archived := 0
		for ri := range sec.rows {
			r := &sec.rows[ri]
			avail := 0
			for i := 0; i < r.n; i++ {
				st := s.seats[r.base+uint32(i)]
				n[st]++
				if st == Available {
					avail++
				} else if _, ok := owner[r.base+uint32(i)]; !ok {
					if st != Sold {
						return fmt.Errorf("seat %s is %s but nobody owns it", s.seatID(r.base+uint32(i)), st)
					}
					archived++ // sold by an archived order
				}
			}
			if avail != r.avail {
				return fmt.Errorf("row %s-%s: avail %d, counted %d", sec.id, r.id, r.avail, avail)
			}
		}
		if n != c {
			return fmt.Errorf("section %s: counters %v, seats say %v", sec.id, c, n)
		}
		if archived != sec.archSold {
			return fmt.Errorf("section %s: %d sold seats without an order, %d archived sales", sec.id, archived, sec.archSold)
		}
	}
	for u, n := range s.archUsers {
		if n <= 0 {
			return fmt.Errorf("user %s: archived tally %d", u, n)
		}
		users[u] += n
	}
	if len(users) != s.users.len() {
		return fmt.Errorf("user tallies: %d users, counted %d", s.users.len(), len(users))
	}
	if err := s.users.check(holdsOf); err != nil {
		return err
	}
	for u, n := range users {
		if s.users.of(u) != n {
			return fmt.Errorf("user %s: tally %d, counted %d", u, s.users.of(u), n)
		}
		if max := s.cfg.MaxSeatsPerUser; max > 0 && n > max {
			return fmt.Errorf("user %s has %d seats, over the limit %d", u, n, max)
		}
	}
	if err := s.checkReleased(); err != nil {
		return err
	}
	return s.checkRoom()
}

// checkHoldTable checks the slab of holds: live and free slots, the index,
// the side table of ids and the timers account for each other.
func (s *Shard) checkHoldTable() error {
	t := &s.holds
	live, side := 0, 0
	for slot := uint32(0); slot < t.slab.n; slot++ {
		if t.at(slot).take == 0 {
			continue
		}
		live++
		if _, ok := t.sideIDs[slot]; ok {
			side++
		}
	}
	switch {
	case live != t.n:
		return fmt.Errorf("hold table: %d live slots, counted %d", t.n, live)
	case int(t.slab.n)-live != len(t.free):
		return fmt.Errorf("hold table: %d slots, %d live, %d free", t.slab.n, live, len(t.free))
	case t.index.n != live-side || len(t.side) != side || len(t.sideIDs) != side:
		return fmt.Errorf("hold table: %d live, %d indexed, %d/%d/%d in the side table", live, t.index.n, side, len(t.side), len(t.sideIDs))
	case len(t.timers) != live:
		return fmt.Errorf("hold table: %d timers for %d holds", len(t.timers), live)
	}
	for _, slot := range t.free {
		if slot >= t.slab.n || t.at(slot).take != 0 {
			return fmt.Errorf("hold table: free slot %d is live", slot)
		}
	}
	for i := range t.timers {
		if i > 0 && t.less(i, (i-1)/2) {
			return fmt.Errorf("hold table: timer %d is due before its parent", i)
		}
	}
	return nil
}

// check checks that the user entries count the live holds that name them
// (holdsOf, by number) and that the index finds each entry.
func (u *userTable) check(holdsOf map[uint32]int32) error {
	live := 0
	for num := uint32(0); num < u.slab.n; num++ {
		e := u.slab.at(num)
		if !u.live(num) {
			if e.holds != 0 || e.n != 0 {
				return fmt.Errorf("user entry %d (%s) is not indexed", num, e.name)
			}
			continue
		}
		live++
		if e.holds != holdsOf[num] {
			return fmt.Errorf("user %s: %d live holds noted, counted %d", e.name, e.holds, holdsOf[num])
		}
	}
	if live != u.len() || int(u.slab.n)-live != len(u.free) {
		return fmt.Errorf("user table: %d entries, %d live, %d indexed, %d free", u.slab.n, live, u.len(), len(u.free))
	}
	return nil
}

// invariantsPaused stops the invariants build's check after every Apply. A
// test sets it around a bulk setup of thousands of commands (each check is
// O(state)), and calls CheckInvariants itself where it matters. Tests of
// this package do not run in parallel; nothing else sets it.
var invariantsPaused bool
