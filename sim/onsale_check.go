package sim

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// saleChecker checks the on-sale's promises after every step of a
// simulated run, from what the simulation saw (answers, events, the
// recorded room facts) and from the seat map's public reads:
//
//   - passes follow the stock: unconverted passes <= ceil(available ×
//     admit_factor), so none holds nothing on a sold-out show; live passes
//     <= max_active;
//   - every returned seat is offered within the step that returned it: after
//     any step that can give seats back, no waiting waitlist entry fits the
//     available seats (fit computed here, from the seat states);
//   - no seat is in two live holds, offers or orders, and none in two paid
//     orders (a claim ledger kept from answers and events);
//   - the line is FIFO after opening: first admissions are the recorded
//     shuffle of the tickets that joined before opening, then every later
//     ticket in the order it joined.
type saleChecker struct {
	r           *saleRun
	factorMilli int64

	pass, offers, claims, fifo failList
	steps, fitChecks, made     int

	// room: ticket numbers are the order tickets were made
	tickets     uint32
	ticketFan   map[uint32]*fan
	joinedOpen  map[uint32]bool // made after opening
	opened      bool
	pool        []uint32
	firstAdmits []uint32
	admitted    map[uint32]bool

	// waitlist: entry numbers are the order entries were made
	entries uint32
	entryID map[uint32]string
	waiting map[string]seatmap.WaitlistEntryView // entries still waiting

	// claims: what holds each seat and general-admission unit
	seatOwner map[string]*claim
	gaClaims  map[string][]*claim
	holds     map[string]*claim
	orders    map[string]*claim
	gaCap     map[string]int
}

// claim is one hold or order's seats and the instant it ends (ms since the start).
type claim struct {
	id    string
	seats []string
	ga    map[string]int
	end   int64
}

const never = math.MaxInt64

func newSaleChecker(r *saleRun) *saleChecker {
	c := &saleChecker{r: r, ticketFan: map[uint32]*fan{}, joinedOpen: map[uint32]bool{}, admitted: map[uint32]bool{},
		entryID: map[uint32]string{}, waiting: map[string]seatmap.WaitlistEntryView{}, seatOwner: map[string]*claim{},
		gaClaims: map[string][]*claim{}, holds: map[string]*claim{}, orders: map[string]*claim{}, gaCap: map[string]int{}}
	c.factorMilli = int64(math.Round(r.p.factor * 1000))
	for _, s := range r.cfg.Sections {
		if s.GA() {
			c.gaCap[s.ID] = s.Capacity
		}
	}
	return c
}

func (c *saleChecker) joined(f *fan, ticket string) {
	c.tickets++
	c.ticketFan[c.tickets] = f
	c.joinedOpen[c.tickets] = c.opened
}

func (c *saleChecker) entryJoined(e seatmap.WaitlistEntryView) {
	c.entries++
	c.entryID[c.entries] = e.ID
	c.waiting[e.ID] = e
}

// step checks one applied command.
func (c *saleChecker) step(v *virtualSale, cmd seatmap.Command, rd seatmap.Ready) {
	c.steps++
	now := v.now_
	// orders that ended in this step end before its offers begin
	for _, e := range rd.Events {
		switch e.Type {
		case seatmap.EventExpired, seatmap.EventCancelled:
			if o := c.orders[e.OrderID]; o != nil {
				o.end = e.At - v.base
			}
		}
	}
	for _, rec := range rd.Records {
		f := seatmap.RecordRoomFacts(rec)
		if f == nil {
			continue
		}
		if f.Opened != nil {
			c.opened, c.pool = true, f.Opened.Order
		}
		for _, n := range f.Admitted {
			if !c.admitted[n] {
				c.admitted[n] = true
				c.firstAdmits = append(c.firstAdmits, n)
			}
		}
		for _, n := range f.Dropped {
			delete(c.waiting, c.entryID[n])
		}
		for _, o := range f.Offers {
			id := c.entryID[o.Entry]
			delete(c.waiting, id)
			ga := map[string]int{}
			for _, g := range o.General {
				ga[g.Section] += g.N
			}
			c.claim(v, &claim{id: id + ".offer", seats: o.Seats, ga: ga, end: now + c.r.p.offerTTL.Milliseconds()})
		}
	}
	if c.r.p.room {
		c.checkPasses(v, cmd)
	}
	switch cmd.Kind {
	case seatmap.KindTick, seatmap.KindRelease, seatmap.KindCancel, seatmap.KindPayResult, seatmap.KindWaitlistLeave:
		if len(c.waiting) > 0 && len(rd.Records) > 0 {
			c.checkOffered(v, cmd)
		}
	}
}

// checkPasses: the room's rule after every step.
func (c *saleChecker) checkPasses(v *virtualSale, cmd seatmap.Command) {
	q := v.shard.RoomStats()
	_, by := v.shard.Counts()
	avail := by[seatmap.Available]
	limit := int((int64(avail)*c.factorMilli + 999) / 1000)
	switch {
	case q.Unconverted > limit:
		c.pass.add("t=%s after %s: %d passes hold nothing, %d seats available × %.2f allow %d", v.now(), cmd.Kind,
			q.Unconverted, avail, c.r.p.factor, limit)
	case q.Live > c.r.p.maxActive:
		c.pass.add("t=%s: %d passes live, max_active %d", v.now(), q.Live, c.r.p.maxActive)
	}
}

// checkOffered: no waiting entry fits the seats available after a step that
// may have given seats back.
func (c *saleChecker) checkOffered(v *virtualSale, cmd seatmap.Command) {
	c.fitChecks++
	rows := map[string]map[string][]bool{} // section -> row -> available by seat number
	res := v.shard.Apply(seatmap.Command{Kind: seatmap.KindGetSeats, Now: v.base + v.now_})
	for _, s := range res.Seats {
		parts := strings.Split(s.ID, "-")
		n, _ := strconv.Atoi(parts[2])
		if rows[parts[0]] == nil {
			rows[parts[0]] = map[string][]bool{}
		}
		r := rows[parts[0]][parts[1]]
		for len(r) < n {
			r = append(r, false)
		}
		r[n-1] = s.State == seatmap.Available
		rows[parts[0]][parts[1]] = r
	}
	avail := map[string]int{}
	show := v.shard.Apply(seatmap.Command{Kind: seatmap.KindGetShow, Now: v.base + v.now_}).Show
	for _, s := range show.Sections {
		avail[s.ID] = s.Available
	}
	run := func(sec string, q int) bool {
		for _, r := range rows[sec] {
			k := 0
			for _, a := range r {
				k++
				if !a {
					k = 0
				}
				if k >= q {
					return true
				}
			}
		}
		return false
	}
	ids := make([]string, 0, len(c.waiting))
	for id := range c.waiting {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		e := c.waiting[id]
		for _, sec := range c.r.cfg.Sections {
			if e.Section != "" && sec.ID != e.Section || e.Tier != "" && sec.Tier != e.Tier {
				continue
			}
			fits := avail[sec.ID] >= e.Quantity
			if fits && e.Together && !sec.GA() {
				fits = run(sec.ID, e.Quantity)
			}
			if fits {
				c.offers.add("t=%s after %s: waiting entry %s (%d, together %v, tier %q) fits section %s, not offered",
					v.now(), cmd.Kind, id, e.Quantity, e.Together, e.Tier, sec.ID)
				return
			}
		}
	}
}

// claim records a new hold or offer, checking its seats are nobody's now.
func (c *saleChecker) claim(v *virtualSale, cl *claim) {
	c.made++
	now := v.now_
	for _, s := range cl.seats {
		if o := c.seatOwner[s]; o != nil && o.end > now {
			c.claims.add("t=%s: seat %s given to %s while %s holds it", v.now(), s, cl.id, o.id)
		}
		c.seatOwner[s] = cl
	}
	for sec, n := range cl.ga {
		live := c.gaClaims[sec][:0]
		used := 0
		for _, o := range c.gaClaims[sec] {
			if o.end > now {
				live = append(live, o)
				used += o.ga[sec]
			}
		}
		if used+n > c.gaCap[sec] {
			c.claims.add("t=%s: %d of section %s given to %s while %d of %d are taken", v.now(), n, sec, cl.id, used, c.gaCap[sec])
		}
		c.gaClaims[sec] = append(live, cl)
	}
	c.holds[cl.id] = cl
}

func (c *saleChecker) claimHold(v *virtualSale, h seatmap.HoldView) {
	c.claim(v, &claim{id: h.ID, seats: h.Seats, ga: h.General, end: h.ExpiresAt - v.base})
}

// ordered moves a hold's claim to its order (open until it expires or is
// cancelled; forever once paid).
func (c *saleChecker) ordered(v *virtualSale, hold, order string) {
	h := c.holds[hold]
	if h == nil {
		c.claims.add("t=%s: order %s of hold %s, which nobody was given", v.now(), order, hold)
		return
	}
	if h.end <= v.now_ {
		c.claims.add("t=%s: order %s of hold %s, which expired at %dms", v.now(), order, hold, h.end)
	}
	h.end = never
	h.id = order // the same seats, now the order's
	c.orders[order] = h
	delete(c.holds, hold)
}

// checks are the checker's results.
func (c *saleChecker) checks() []Check {
	out := []Check{}
	if c.r.p.room {
		out = append(out, c.pass.check("passes follow the stock", fmt.Sprintf("%d steps: unconverted passes never above ceil(available × %.2f), live passes never above %d",
			c.steps, c.r.p.factor, c.r.p.maxActive)))
		c.checkFIFO()
		out = append(out, c.fifo.check("FIFO after opening", fmt.Sprintf("%d first admissions: the recorded shuffle of the %d who joined before opening, then the rest in join order",
			len(c.firstAdmits), len(c.pool))))
	}
	out = append(out, c.offers.check("returned seats offered at once", fmt.Sprintf("%d steps that gave seats back with entries waiting: no waiting entry fit the available seats after any", c.fitChecks)),
		c.claims.check("no seat in two holds, offers or orders", fmt.Sprintf("%d holds and offers given, %d orders made of them", c.made, len(c.orders))))
	return out
}

// checkFIFO compares the first admissions with the order the line promises.
func (c *saleChecker) checkFIFO() {
	inPool := map[uint32]bool{}
	for _, n := range c.pool {
		if inPool[n] || c.joinedOpen[n] {
			c.fifo.add("ticket %d is in the opening shuffle twice or joined after opening", n)
		}
		inPool[n] = true
	}
	want := append([]uint32(nil), c.pool...)
	for n := uint32(1); n <= c.tickets; n++ {
		if !inPool[n] {
			if !c.joinedOpen[n] {
				c.fifo.add("ticket %d joined before opening and is not in the shuffle", n)
			}
			want = append(want, n)
		}
	}
	for i, n := range c.firstAdmits {
		if i >= len(want) || want[i] != n {
			c.fifo.add("admission %d is ticket %d (fan %d), the line says %d", i+1, n, c.ticketFan[n].id, want[i])
			return
		}
	}
}
