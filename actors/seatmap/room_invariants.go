package seatmap

import "fmt"

// checkRoom verifies the waiting room and the waitlist from scratch (part
// of CheckInvariants):
//
//   - the room's counters match its tickets; live passes <= max_active;
//     unconverted passes <= ceil(available × admit_factor), so a sold-out
//     show has no live pass that holds nothing;
//   - every waiting ticket is in exactly one place (pool before opening,
//     line or front after); every admitted one has its expiry armed;
//   - the waitlist's counters and positions match its entries; every
//     offered entry's hold is live and its user's;
//   - no waiting entry fits the available seats: every seat that came back
//     was offered in the step that gave it back.
func (s *Shard) checkRoom() error {
	if err := s.checkTickets(); err != nil {
		return err
	}
	return s.checkWaitlist()
}

func (s *Shard) checkTickets() error {
	r := s.room
	if r == nil {
		return nil
	}
	live, unconv, admitted := 0, 0, 0
	seen := make([]uint8, len(r.tickets)+1) // where each ticket waits
	mark := func(list []uint32, where uint8) error {
		for _, n := range list {
			t := r.ticket(n)
			if t == nil || t.where != where || t.state != tkWaiting {
				return fmt.Errorf("room: ticket %d listed where it does not wait", n)
			}
			// t != nil: n indexes seen
			if seen[n] != 0 {
				return fmt.Errorf("room: ticket %d waits twice", n)
			}
			seen[n] = where
		}
		return nil
	}
	if err := mark(r.pool, inPool); err != nil {
		return err
	}
	if r.head > len(r.line) {
		return fmt.Errorf("room: line head %d past its end %d", r.head, len(r.line))
	}
	for i, n := range r.line[r.head:] {
		t := r.ticket(n)
		if t == nil || t.where != inLine || t.idx != r.head+i {
			return fmt.Errorf("room: line slot %d names ticket %d, which is not there", r.head+i, n)
		}
	}
	if err := mark(r.line[r.head:], inLine); err != nil {
		return err
	}
	if err := mark(r.front, inFront); err != nil {
		return err
	}
	for i, t := range r.tickets {
		if t.num != uint32(i+1) || r.byID[t.id] != t.num || r.byUser[t.user] < t.num {
			return fmt.Errorf("room: ticket %s is not indexed as number %d", t.id, i+1)
		}
		if latest := r.byUser[t.user]; latest != t.num && t.state != tkExpired {
			return fmt.Errorf("room: user %s has ticket %s, not expired, and a later one", t.user, t.id)
		}
		switch t.state {
		case tkWaiting:
			if seen[t.num] == 0 {
				return fmt.Errorf("room: waiting ticket %s is in no line", t.id)
			}
		case tkAdmitted:
			admitted++
			if t.tm == nil || t.tm.idx < 0 || t.tm.at != t.passExpiresAt {
				return fmt.Errorf("room: admitted ticket %s has no expiry armed at %d", t.id, t.passExpiresAt)
			}
		}
		if t.isLive() {
			live++
			if !t.held {
				unconv++
			}
		}
	}
	if len(r.byID) != len(r.tickets) || len(r.byUser) > len(r.tickets) {
		return fmt.Errorf("room: %d tickets, %d ids, %d users", len(r.tickets), len(r.byID), len(r.byUser))
	}
	if !r.opened && (admitted > 0 || len(r.line) > 0) {
		return fmt.Errorf("room: not open, with %d admitted and %d in line", admitted, len(r.line))
	}
	if r.opened && len(r.pool) > 0 {
		return fmt.Errorf("room: open with %d tickets in the pool", len(r.pool))
	}
	if len(r.passTimers) != admitted {
		return fmt.Errorf("room: %d pass timers for %d admitted tickets", len(r.passTimers), admitted)
	}
	if live != r.live || unconv != r.unconverted {
		return fmt.Errorf("room: counters live=%d unconverted=%d, counted %d and %d", r.live, r.unconverted, live, unconv)
	}
	if live > r.maxActive {
		return fmt.Errorf("room: %d passes live, max_active %d", live, r.maxActive)
	}
	if limit := s.admitLimit(); unconv > limit {
		return fmt.Errorf("room: %d unconverted passes, over ceil(%d available × %.3f) = %d",
			unconv, s.totalAvailable(), float64(r.factorMilli)/1000, limit)
	}
	return nil
}

func (s *Shard) checkWaitlist() error {
	w := s.wl
	if w == nil {
		return nil
	}
	waiting, offered := 0, 0
	shapes := map[wlShape]bool{}
	for i, e := range w.entries {
		if e.num != uint32(i+1) || w.byID[e.id] != e.num {
			return fmt.Errorf("waitlist: entry %s is not indexed as number %d", e.id, i+1)
		}
		if n := w.byUser[e.user]; n < e.num {
			return fmt.Errorf("waitlist: user %s's latest entry is %d, not %d", e.user, n, e.num)
		}
		if got := w.waiting.prefix(i+1) - w.waiting.prefix(i); (got == 1) != (e.state == enWaiting) {
			return fmt.Errorf("waitlist: entry %s (%s) counts %d in the positions", e.id, entryStateNames[e.state], got)
		}
		switch e.state {
		case enWaiting:
			waiting++
			shapes[e.shape] = true
		case enOffered:
			offered++
			slot, ok := s.holds.get(e.holdID)
			if !ok || s.holdUser(int(slot)) != e.user || int(s.holds.at(slot).quantity) != e.shape.q || w.offers[e.holdID] != e.num {
				return fmt.Errorf("waitlist: offered entry %s has no live hold %s of its own", e.id, e.holdID)
			}
		}
	}
	if waiting != w.nWaiting || offered != len(w.offers) {
		return fmt.Errorf("waitlist: %d waiting, %d offers; counted %d and %d", w.nWaiting, len(w.offers), waiting, offered)
	}
	for sh := range shapes { // each shape on its own: the order does not matter
		if _, _, ok := s.fit(sh); ok {
			return fmt.Errorf("waitlist: a waiting entry for %d seats (section %q, tier %q, together %v) fits seats that are available",
				sh.q, sh.section, sh.tier, sh.together)
		}
	}
	return nil
}
