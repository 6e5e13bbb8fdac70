package seatmap

import (
	"fmt"
	"sort"
)

// Snapshot parts of the waiting room and the waitlist. Counters, timers,
// groups, positions and the pending stack are rebuilt on Restore.

type snapRoom struct {
	Opened   bool         `json:"opened,omitempty"`
	Seed     uint64       `json:"seed,omitempty"`
	OpenedAt int64        `json:"opened_at,omitempty"`
	Tickets  []snapTicket `json:"tickets,omitempty"`
	Pool     []uint32     `json:"pool,omitempty"`
	Line     []uint32     `json:"line,omitempty"` // still waiting, in order
	Front    []uint32     `json:"front,omitempty"`
	Admits   uint32       `json:"admits,omitempty"`
	First    uint32       `json:"first,omitempty"`
}

type snapTicket struct {
	ID         string `json:"id"`
	User       string `json:"u"`
	Joined     int64  `json:"j"`
	State      uint8  `json:"st"`
	FirstAdmit uint32 `json:"fa,omitempty"`
	LastAdmit  uint32 `json:"la,omitempty"`
	Admitted   int64  `json:"at,omitempty"`
	Expires    int64  `json:"exp,omitempty"`
	Held       bool   `json:"held,omitempty"`
	Done       bool   `json:"done,omitempty"`
}

type snapWaitlist struct {
	Entries  []snapEntry `json:"entries"`
	Accepted int         `json:"accepted,omitempty"`
	Lapsed   int         `json:"lapsed,omitempty"`
}

type snapEntry struct {
	ID       string         `json:"id"`
	User     string         `json:"u"`
	Section  string         `json:"sec,omitempty"`
	Tier     string         `json:"tier,omitempty"`
	Q        int            `json:"q"`
	Together bool           `json:"tog,omitempty"`
	Created  int64          `json:"c"`
	State    uint8          `json:"st"`
	Hold     string         `json:"h,omitempty"`
	Seats    []string       `json:"seats,omitempty"`
	General  map[string]int `json:"ga,omitempty"`
	Expires  int64          `json:"exp,omitempty"`
	Order    string         `json:"o,omitempty"`
	Reason   string         `json:"why,omitempty"`
}

func (s *Shard) snapRoom() *snapRoom {
	r := s.room
	if r == nil {
		return nil
	}
	sn := &snapRoom{Opened: r.opened, Seed: r.seed, OpenedAt: r.openedAt, Pool: r.pool, Front: r.front,
		Admits: r.admits, First: r.firstAdmits}
	for _, n := range r.line[r.head:] {
		if t := r.tickets[n-1]; t.where == inLine && t.state == tkWaiting {
			sn.Line = append(sn.Line, n)
		}
	}
	for _, t := range r.tickets {
		sn.Tickets = append(sn.Tickets, snapTicket{ID: t.id, User: t.user, Joined: t.joinedAt, State: t.state,
			FirstAdmit: t.firstAdmit, LastAdmit: t.lastAdmit, Admitted: t.admittedAt, Expires: t.passExpiresAt,
			Held: t.held, Done: t.done})
	}
	return sn
}

func (s *Shard) snapWaitlist() *snapWaitlist {
	w := s.wl
	if w == nil {
		return nil
	}
	sn := &snapWaitlist{Accepted: w.accepted, Lapsed: w.lapsed}
	for _, e := range w.entries {
		sn.Entries = append(sn.Entries, snapEntry{ID: e.id, User: e.user, Section: e.shape.section, Tier: e.shape.tier,
			Q: e.shape.q, Together: e.shape.together, Created: e.createdAt, State: e.state, Hold: e.holdID,
			Seats: e.seats, General: e.general, Expires: e.offerExpiresAt, Order: e.orderID, Reason: e.reason})
	}
	return sn
}

// restoreRoom rebuilds the room and the waitlist after the holds (offers
// are holds) were restored.
func (s *Shard) restoreRoom(sr *snapRoom, sw *snapWaitlist) error {
	if sr != nil {
		if s.room == nil {
			return fmt.Errorf("seatmap: snapshot has a waiting room, the config none")
		}
		if err := s.restoreTickets(sr); err != nil {
			return err
		}
	}
	if sw != nil {
		s.wl = newWaitlist()
		w := s.wl
		w.accepted, w.lapsed = sw.Accepted, sw.Lapsed
		for i, se := range sw.Entries {
			if se.State < enWaiting || se.State > enCancelled {
				return fmt.Errorf("seatmap: snapshot has waitlist entry %s in state %d", se.ID, se.State)
			}
			e := &wlEntry{id: se.ID, user: se.User, num: uint32(i + 1), createdAt: se.Created, state: enWaiting,
				shape: wlShape{section: se.Section, tier: se.Tier, q: se.Q, together: se.Together}, holdID: se.Hold,
				seats: se.Seats, general: se.General, offerExpiresAt: se.Expires, orderID: se.Order, reason: se.Reason}
			w.add(e)
			if se.State != enWaiting {
				w.leave(e, se.State)
			}
			if se.State == enOffered {
				w.offers[e.holdID] = e.num
			}
		}
	}
	return nil
}

func (s *Shard) restoreTickets(sr *snapRoom) error {
	r := s.room
	r.opened, r.seed, r.openedAt, r.admits, r.firstAdmits = sr.Opened, sr.Seed, sr.OpenedAt, sr.Admits, sr.First
	for i, st := range sr.Tickets {
		if st.State < tkWaiting || st.State > tkExpired {
			return fmt.Errorf("seatmap: snapshot has ticket %s in state %d", st.ID, st.State)
		}
		t := &ticket{id: st.ID, user: st.User, num: uint32(i + 1), joinedAt: st.Joined, state: st.State,
			firstAdmit: st.FirstAdmit, lastAdmit: st.LastAdmit, admittedAt: st.Admitted, passExpiresAt: st.Expires,
			held: st.Held, done: st.Done}
		r.tickets = append(r.tickets, t)
		r.byID[t.id], r.byUser[t.user] = t.num, t.num
		if t.state == tkAdmitted {
			t.tm = r.passTimers.arm(&t.tmv, t.id, t.passExpiresAt)
		}
		r.count(t, 1)
	}
	place := func(list []uint32, where uint8) ([]uint32, error) {
		out := make([]uint32, 0, len(list))
		for _, n := range list {
			t := r.ticket(n)
			if t == nil || t.state != tkWaiting || t.where != 0 {
				return nil, fmt.Errorf("seatmap: snapshot places ticket %d twice or while not waiting", n)
			}
			t.where = where
			if where == inLine {
				t.idx = len(out)
			}
			out = append(out, n)
		}
		return out, nil
	}
	var err error
	if r.pool, err = place(sr.Pool, inPool); err != nil {
		return err
	}
	if r.line, err = place(sr.Line, inLine); err != nil {
		return err
	}
	if r.front, err = place(sr.Front, inFront); err != nil {
		return err
	}
	if len(r.pool) == 0 {
		r.pool = nil
	}
	var live []*ticket
	for _, t := range r.tickets {
		if t.state == tkWaiting && t.where == 0 {
			return fmt.Errorf("seatmap: snapshot leaves waiting ticket %s out of line", t.id)
		}
		if t.isLive() && !t.held {
			live = append(live, t)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].lastAdmit < live[j].lastAdmit })
	for _, t := range live {
		r.pending = append(r.pending, pending{num: t.num, admit: t.lastAdmit})
	}
	return nil
}
