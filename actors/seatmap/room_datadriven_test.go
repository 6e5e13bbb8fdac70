package seatmap

import (
	"fmt"
	"strings"
)

// Printers of the room and the waitlist for the scenario files (datadriven_test.go).

func formatTicket(t *TicketView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ticket %s user=%s state=%s", t.ID, t.User, t.State)
	if t.Position > 0 {
		fmt.Fprintf(&b, " position=%d", t.Position)
	}
	if t.State == TicketWaiting {
		fmt.Fprintf(&b, " wait=%ds", t.EstimatedWaitSeconds)
	}
	if t.PassExpiresAt > 0 {
		fmt.Fprintf(&b, " pass_expires=%d", t.PassExpiresAt)
	}
	if t.State == TicketSoldOut {
		fmt.Fprintf(&b, " returns_possible=%d", t.ReturnsPossible)
	}
	return b.String()
}

func formatEntry(e *WaitlistEntryView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "entry %s user=%s qty=%d together=%v", e.ID, e.User, e.Quantity, e.Together)
	if e.Section != "" {
		fmt.Fprintf(&b, " section=%s", e.Section)
	}
	if e.Tier != "" {
		fmt.Fprintf(&b, " tier=%s", e.Tier)
	}
	fmt.Fprintf(&b, " state=%s", e.State)
	if e.Position > 0 {
		fmt.Fprintf(&b, " position=%d", e.Position)
	}
	if e.HoldID != "" {
		fmt.Fprintf(&b, " hold=%s seats=%v general=%s expires=%d", e.HoldID, e.Seats, fmtMap(e.General), e.OfferExpiresAt)
	}
	if e.OrderID != "" {
		fmt.Fprintf(&b, " order=%s", e.OrderID)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, " reason=%s", e.Reason)
	}
	return b.String()
}

func formatFacts(f *RoomFacts) string {
	var b strings.Builder
	if len(f.Expired) > 0 {
		fmt.Fprintf(&b, " expired=%v", f.Expired)
	}
	if f.Opened != nil {
		fmt.Fprintf(&b, " opened(order=%v)", f.Opened.Order)
	}
	for _, d := range f.Dropped {
		fmt.Fprintf(&b, " dropped=%d", d)
	}
	for _, o := range f.Offers {
		fmt.Fprintf(&b, " offer(entry=%d seats=%v", o.Entry, o.Seats)
		for _, g := range o.General {
			fmt.Fprintf(&b, " %s:%d", g.Section, g.N)
		}
		b.WriteByte(')')
	}
	if len(f.Suspended) > 0 {
		fmt.Fprintf(&b, " suspended=%v", f.Suspended)
	}
	if len(f.Admitted) > 0 {
		fmt.Fprintf(&b, " admitted=%v", f.Admitted)
	}
	return b.String()
}

var ticketStateNames = [...]string{tkWaiting: "waiting", tkAdmitted: "admitted", tkExpired: "expired"}

func roomPicture(s *Shard) string {
	r := s.room
	if r == nil {
		return "no room\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "opened=%v live=%d unconverted=%d limit=%d available=%d admits=%d\n", r.opened, r.live,
		r.unconverted, s.admitLimit(), s.totalAvailable(), r.admits)
	fmt.Fprintf(&b, "pool=%v front=%v line=%v\n", r.pool, r.front, r.line[r.head:])
	for _, t := range r.tickets {
		fmt.Fprintf(&b, "%d %s %s %s", t.num, t.id, t.user, ticketStateNames[t.state])
		if t.state == tkAdmitted {
			fmt.Fprintf(&b, " until=%d", t.passExpiresAt)
		}
		if t.held {
			b.WriteString(" held")
		}
		if t.done {
			b.WriteString(" done")
		}
		if t.firstAdmit > 0 {
			fmt.Fprintf(&b, " first=%d", t.firstAdmit)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func waitlistPicture(s *Shard) string {
	w := s.wl
	if w == nil {
		return "no waitlist\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "waiting=%d offered=%d accepted=%d lapsed=%d\n", w.nWaiting, len(w.offers), w.accepted, w.lapsed)
	for _, e := range w.entries {
		b.WriteString(formatEntry(&WaitlistEntryView{ID: e.id, User: e.user, Quantity: e.shape.q, Together: e.shape.together,
			Section: e.shape.section, Tier: e.shape.tier, State: entryStateNames[e.state], HoldID: e.holdID,
			Seats: e.seats, General: e.general, OfferExpiresAt: e.offerExpiresAt, OrderID: e.orderID, Reason: e.reason}))
		b.WriteByte('\n')
	}
	return b.String()
}
