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
	for h := range s.holds.all() {
		active++
		if h.heapIdx < 0 || int(h.heapIdx) >= len(s.holdTimers) || s.holdTimers[h.heapIdx] != h {
			return fmt.Errorf("hold %s: expiry timer not armed at %d", h.id, h.expiresAt)
		}
		if h.take == nil {
			return fmt.Errorf("hold %s took nothing", h.id)
		}
		if len(h.take.seats) == 0 && len(h.take.general) == 1 && s.takeIntern[takeKey{h.take.general[0], h.take.amount}] != h.take {
			return fmt.Errorf("hold %s: its GA take is not the shared one", h.id)
		}
		if _, ok := s.holdOrder[h.id]; ok {
			return fmt.Errorf("hold %s is live and converted", h.id)
		}
		if err := claim("hold "+h.id, h.take.seats, Held); err != nil {
			return err
		}
		for _, g := range h.take.general {
			held[g.sec] += g.n
		}
		users[h.user] += int(h.quantity)
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
	for u, n := range users {
		if s.users.of(u) != n {
			return fmt.Errorf("user %s: tally %d, counted %d", u, s.users.of(u), n)
		}
		if max := s.cfg.MaxSeatsPerUser; max > 0 && n > max {
			return fmt.Errorf("user %s has %d seats, over the limit %d", u, n, max)
		}
	}
	return s.checkRoom()
}
