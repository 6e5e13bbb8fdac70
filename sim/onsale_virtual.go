package sim

import (
	"container/heap"
	"fmt"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// virtualSale runs an on-sale on the pure seat map in simulated time: one
// goroutine, a heap of timed events, the core's deadlines armed as ticks
// (as the show actor does), a payment gateway that answers after its
// latency. Seeded, so a run is exactly repeatable.
type virtualSale struct {
	r      *saleRun
	shard  *seatmap.Shard
	base   int64 // Unix ms of the run's start
	now_   int64 // ms since the start
	events eventHeap
	seq    uint64
	tickAt int64 // the armed tick (ms since the start), or -1
	ids    int
	check  *saleChecker // nil: no checks
}

type timedEvent struct {
	at  int64
	seq uint64
	fn  func()
}

type eventHeap []timedEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(timedEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = timedEvent{}
	*h = old[:len(old)-1]
	return e
}

func (v *virtualSale) now() time.Duration { return time.Duration(v.now_) * time.Millisecond }

func (v *virtualSale) after(d time.Duration, fn func()) { v.at(v.now_+max(d.Milliseconds(), 0), fn) }

func (v *virtualSale) at(ms int64, fn func()) {
	v.seq++
	heap.Push(&v.events, timedEvent{at: ms, seq: v.seq, fn: fn})
}

func (v *virtualSale) newID(prefix string) string {
	v.ids++
	return fmt.Sprintf("%s~%s%d", v.r.cfg.ID, prefix, v.ids)
}

// runVirtual runs one on-sale in simulated time, with the checks when check.
func runVirtual(p saleParams, check bool) *saleResult {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &saleRun{p: p, opensAt: p.preOpen, metrics: &saleMetrics{}, errs: errorCounts{}}
	r.cfg = saleShowConfig("onsale", p, start.Add(p.preOpen))
	v := &virtualSale{r: r, shard: seatmap.New(0), base: start.UnixMilli(), tickAt: -1}
	r.startMs = v.base
	if check {
		v.check = newSaleChecker(r)
	}
	cfg := r.cfg
	if res := v.apply(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); res.Err != nil {
		panic("onsale: create: " + res.Err.Error())
	}
	newFans(r, v)
	for _, f := range r.fans {
		v.at(f.arrive.Milliseconds(), f.start)
	}
	end := (r.opensAt + p.horizon).Milliseconds()
	for v.events.Len() > 0 {
		e := heap.Pop(&v.events).(timedEvent)
		if e.at > end {
			break
		}
		v.now_ = e.at
		e.fn()
	}
	v.now_ = end
	return r.result("in-process (simulated time)", v.check)
}

// apply runs one command at the current instant and does what its Ready
// asks: ticks, payments; it records the figures and feeds the checker.
func (v *virtualSale) apply(c seatmap.Command) seatmap.Result {
	c.Now = v.base + v.now_
	res := v.shard.Apply(c)
	pt := v.r.metrics.at(v.now())
	pt.Commands++
	if c.Kind.ReadOnly() {
		pt.Reads++
	}
	rd := v.shard.Ready()
	pt.Writes += len(rd.Records)
	if v.check != nil {
		v.check.step(v, c, rd)
	}
	for _, e := range rd.Events {
		if e.Type == seatmap.EventPaymentRequested {
			e := e
			v.after(v.r.p.gateway, func() {
				v.apply(seatmap.Command{Kind: seatmap.KindPayResult, OrderID: e.OrderID, EventID: e.ID + ".r",
					Success: e.Token == "tok_ok", Attempt: e.Attempt})
			})
		}
	}
	if d := rd.Deadline; d > 0 && d-v.base != v.tickAt {
		at := max(d-v.base, v.now_)
		v.tickAt = at
		v.at(at, func() {
			if v.tickAt != at {
				return // superseded
			}
			v.tickAt = -1
			v.apply(seatmap.Command{Kind: seatmap.KindTick})
		})
	}
	v.sample(pt)
	return res
}

// sample records the show's state at the end of the step.
func (v *virtualSale) sample(pt *salePoint) {
	_, by := v.shard.Counts()
	pt.Available, pt.Sold, pt.HeldReserved = by[seatmap.Available], by[seatmap.Sold], by[seatmap.Held]+by[seatmap.Reserved]
	if q := v.shard.RoomStats(); q != nil {
		pt.Waiting, pt.Live, pt.Unconverted = q.Waiting, q.Live, q.Unconverted
	}
	if w := v.shard.WaitlistStats(); w != nil {
		pt.WaitlistWaiting = w.Waiting
	}
	pt.sampled = true
}

func (v *virtualSale) join(f *fan, done func(ticketInfo, error)) {
	res := v.apply(seatmap.Command{Kind: seatmap.KindQueueJoin, User: f.user, Ticket: v.newID("t")})
	if res.Err == nil && res.Created && v.check != nil {
		v.check.joined(f, res.Ticket.ID)
	}
	done(v.ticketOf(res))
}

func (v *virtualSale) ticketOf(res seatmap.Result) (ticketInfo, error) {
	if res.Err != nil {
		return ticketInfo{}, res.Err
	}
	t := res.Ticket
	tk := ticketInfo{ID: t.ID, State: t.State, Position: t.Position, ReturnsPossible: t.ReturnsPossible}
	if t.State == seatmap.TicketAdmitted {
		tk.Pass = t.ID // in process, the pass is the ticket (the edge signs it over HTTP)
	}
	return tk, nil
}

func (v *virtualSale) ticket(f *fan, done func(ticketInfo, error)) {
	done(v.ticketOf(v.apply(seatmap.Command{Kind: seatmap.KindQueueGet, User: f.user, Ticket: f.tk.ID})))
}

func (v *virtualSale) hold(f *fan, req seatmap.HoldRequest, done func(seatmap.HoldView, error)) {
	res := v.apply(seatmap.Command{Kind: seatmap.KindHold, User: req.User, HoldID: v.newID("h"), Section: req.Section,
		Tier: req.Tier, Quantity: req.Quantity, Ticket: req.Ticket})
	pt := v.r.metrics.at(v.now())
	if res.Err != nil {
		pt.HoldsRefused++
		done(seatmap.HoldView{}, res.Err)
		return
	}
	pt.Holds++
	if v.check != nil {
		v.check.claimHold(v, *res.Hold)
	}
	done(*res.Hold, nil)
}

func (v *virtualSale) order(f *fan, hold string, done func(seatmap.OrderView, error)) {
	res := v.apply(seatmap.Command{Kind: seatmap.KindOrder, User: f.user, HoldID: hold, OrderID: v.newID("o")})
	if res.Err != nil {
		done(seatmap.OrderView{}, res.Err)
		return
	}
	if v.check != nil && res.Created {
		v.check.ordered(v, hold, res.Order.ID)
	}
	done(*res.Order, nil)
}

func (v *virtualSale) pay(f *fan, order, token string, done func(seatmap.OrderView, error)) {
	res := v.apply(seatmap.Command{Kind: seatmap.KindPay, User: f.user, OrderID: order, Token: token, Attempt: v.newID("a")[len(v.r.cfg.ID)+1:]})
	if res.Err != nil {
		done(seatmap.OrderView{}, res.Err)
		return
	}
	done(*res.Order, nil)
}

func (v *virtualSale) getOrder(f *fan, order string, done func(seatmap.OrderView, error)) {
	res := v.apply(seatmap.Command{Kind: seatmap.KindGetOrder, User: f.user, OrderID: order})
	if res.Err != nil {
		done(seatmap.OrderView{}, res.Err)
		return
	}
	done(*res.Order, nil)
}

func (v *virtualSale) waitJoin(f *fan, req seatmap.WaitlistRequest, done func(seatmap.WaitlistEntryView, error)) {
	res := v.apply(seatmap.Command{Kind: seatmap.KindWaitlistJoin, User: req.User, Entry: v.newID("e"),
		Quantity: req.Quantity, Together: req.Together, Section: req.Section, Tier: req.Tier})
	if res.Err != nil {
		done(seatmap.WaitlistEntryView{}, res.Err)
		return
	}
	if v.check != nil && res.Created {
		v.check.entryJoined(*res.Entry)
	}
	done(*res.Entry, nil)
}

func (v *virtualSale) waitGet(f *fan, entry string, done func(seatmap.WaitlistEntryView, error)) {
	res := v.apply(seatmap.Command{Kind: seatmap.KindWaitlistGet, User: f.user, Entry: entry})
	if res.Err != nil {
		done(seatmap.WaitlistEntryView{}, res.Err)
		return
	}
	done(*res.Entry, nil)
}
