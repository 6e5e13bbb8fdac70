package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// The on-sale simulation's fans. A fan is a small state machine driven by
// a saleAPI: the pure core in simulated time (onsale_virtual.go) or a
// server over HTTP in real time (onsale_http.go). Each fan has at most one
// call in flight.

// saleParams shape one on-sale run.
type saleParams struct {
	fans, seats int
	room        bool // a waiting room in front of the holds
	// arrivals: preShare of the fans arrive in the preOpen before opening
	// (uniformly), the rest after it, exponentially with mean arrivalMean
	// (cut at arrivalMax)
	preOpen, arrivalMean, arrivalMax time.Duration
	preShare                         float64
	horizon                          time.Duration // the run ends this long after opening
	// the show and the room
	maxActive                          int
	factor                             float64
	passTTL, holdTTL, payTTL, offerTTL time.Duration
	// fans' behaviour
	poll, waitPoll        time.Duration // room ticket polls, waitlist entry polls
	think, checkout       time.Duration // after admission, before the hold; after the hold, before the order (means)
	abandon, decline      float64       // share of fans who abandon their hold, whose card is declined
	retryPay              float64       // share of declined fans who pay again with a good card
	waitlistShare, accept float64       // share of unserved fans who join the waitlist; of offers accepted
	patience              time.Duration // how long a fan keeps trying (no room: refreshing holds; room: polling a sold-out ticket)
	retryEvery            time.Duration // without a room: between hold attempts
	gateway               time.Duration // payment gateway latency
	seed                  uint64
}

// fullSale is the on-sale: 100,000 fans, 20,000 seats.
func fullSale(room bool, seed uint64) saleParams {
	return saleParams{fans: 100_000, seats: 20_000, room: room, preOpen: 10 * time.Minute, preShare: 0.05,
		arrivalMean: 90 * time.Second, arrivalMax: 5 * time.Minute, horizon: 40 * time.Minute,
		maxActive: 2000, factor: 0.5, passTTL: 5 * time.Minute, holdTTL: 5 * time.Minute, payTTL: 5 * time.Minute,
		offerTTL: 2 * time.Minute, poll: 5 * time.Second, waitPoll: 15 * time.Second, think: 5 * time.Second,
		checkout: 20 * time.Second, abandon: 0.10, decline: 0.08, retryPay: 0.5, waitlistShare: 0.6, accept: 0.8,
		patience: 10 * time.Minute, retryEvery: 3 * time.Second, gateway: 2 * time.Second, seed: seed}
}

// scaled shrinks a run to fans fans and seats seats, and its times by k.
func (p saleParams) scaled(fans, seats int, k float64) saleParams {
	p.fans, p.seats = fans, seats
	s := func(d time.Duration) time.Duration { return time.Duration(float64(d) * k) }
	p.preOpen, p.arrivalMean, p.arrivalMax, p.horizon = s(p.preOpen), s(p.arrivalMean), s(p.arrivalMax), s(p.horizon)
	p.passTTL, p.holdTTL, p.payTTL, p.offerTTL = s(p.passTTL), s(p.holdTTL), s(p.payTTL), s(p.offerTTL)
	p.poll, p.waitPoll, p.think, p.checkout = s(p.poll), s(p.waitPoll), s(p.think), s(p.checkout)
	p.patience, p.retryEvery, p.gateway = s(p.patience), s(p.retryEvery), s(p.gateway)
	p.maxActive = max(1, int(float64(p.maxActive)*float64(seats)/20_000))
	return p
}

// saleShow lays out a show of about seats seats: a general-admission floor
// (a fifth) and four seated sections of rows, in three tiers.
func saleShowConfig(id string, p saleParams, opensAt time.Time) seatmap.ShowConfig {
	ga := p.seats / 5
	perRow := 100
	if p.seats < 20_000 {
		perRow = min(20, (p.seats-ga)/4)
	}
	rows := max(1, (p.seats-ga)/4/perRow)
	cfg := seatmap.ShowConfig{ID: id, Name: "on-sale " + id, HoldTTLSeconds: secs(p.holdTTL), PaymentTTLSeconds: secs(p.payTTL),
		MaxSeatsPerUser: 6, Tiers: []seatmap.Tier{{ID: "vip", Price: 15000}, {ID: "std", Price: 6000}, {ID: "ga", Price: 4000}},
		Waitlist: &seatmap.WaitlistConfig{OfferTTLSeconds: secs(p.offerTTL)}}
	for i, name := range []string{"a", "b", "c", "d"} {
		tier := "std"
		if i == 0 {
			tier = "vip"
		}
		sec := seatmap.Section{ID: name, Tier: tier}
		for r := 1; r <= rows; r++ {
			sec.Rows = append(sec.Rows, seatmap.Row{ID: fmt.Sprint(r), Seats: perRow})
		}
		cfg.Sections = append(cfg.Sections, sec)
	}
	cfg.Sections = append(cfg.Sections, seatmap.Section{ID: "floor", Tier: "ga", Capacity: p.seats - 4*rows*perRow})
	if p.room {
		cfg.Queue = &seatmap.QueueConfig{OpensAt: opensAt.UTC().Format(time.RFC3339Nano), PassTTLSeconds: secs(p.passTTL),
			MaxActive: p.maxActive, AdmitFactor: p.factor}
	}
	return cfg
}

func secs(d time.Duration) int { return max(1, int(math.Round(d.Seconds()))) }

// ticketInfo is what a fan learns from its ticket.
type ticketInfo struct {
	ID, State, Pass string
	Position        int
	ReturnsPossible int
}

// saleAPI is the show as the fans use it. A call answers through done,
// at once (simulated time) or later (HTTP); the fan makes its next call from
// done or from a function passed to after.
type saleAPI interface {
	now() time.Duration // since the run started
	after(d time.Duration, fn func())
	join(f *fan, done func(ticketInfo, error))
	ticket(f *fan, done func(ticketInfo, error))
	hold(f *fan, req seatmap.HoldRequest, done func(seatmap.HoldView, error))
	order(f *fan, hold string, done func(seatmap.OrderView, error))
	pay(f *fan, order, token string, done func(seatmap.OrderView, error))
	getOrder(f *fan, order string, done func(seatmap.OrderView, error))
	waitJoin(f *fan, req seatmap.WaitlistRequest, done func(seatmap.WaitlistEntryView, error))
	waitGet(f *fan, entry string, done func(seatmap.WaitlistEntryView, error))
}

// fan is one fan and what became of it.
type fan struct {
	id     int
	user   string
	arrive time.Duration
	party  int
	// preferences: a section, else a tier; together for parties
	section, tier string
	together      bool
	abandon       bool   // holds, never orders
	card          string // tok_ok, or a declined one
	retryPay      bool
	waitlist      bool
	accept        bool
	rng           *rand.Rand

	sale  *saleRun
	api   saleAPI
	show  string
	tk    ticketInfo
	entry string

	// outcome
	admittedAt   time.Duration // first admission seen (-1: never)
	firstTryAt   time.Duration // first hold attempt (-1: never)
	heldAt       time.Duration // first hold won (-1: never)
	tries        int
	foundNothing bool // admitted (or, without a room, tried) and never held
	paid         bool
	viaWaitlist  bool
	offers       int
	seatsPaid    int
	gaveUp       string
	returns      []timedCount // seats this fan gave back, and when
}

// timedCount is n seats at an instant (since the run's start).
type timedCount struct {
	at time.Duration
	n  int
}

// gaveBack notes n seats that come back at Unix ms ms (a hold or offer
// expiring, an order unpaid at its due time).
func (f *fan) gaveBack(ms int64, n int) {
	f.returns = append(f.returns, timedCount{at: time.Duration(ms-f.sale.startMs) * time.Millisecond, n: n})
}

// saleRun is the shared state of one run's fans.
type saleRun struct {
	p       saleParams
	startMs int64         // Unix ms of the run's start
	opensAt time.Duration // since the run's start
	cfg     seatmap.ShowConfig
	fans    []*fan
	metrics *saleMetrics
	errMu   sync.Mutex // protects errs
	errs    errorCounts
}

// errorCounts counts unexpected answers by code (a fan goes on without them).
type errorCounts map[string]int

func (e errorCounts) add(err error) {
	code := seatmap.ErrorCode(err)
	var a *APIError
	if errors.As(err, &a) {
		code = a.Code
	}
	e[code]++
}

// fail counts an unexpected answer (fans of an HTTP run call it concurrently).
func (r *saleRun) fail(err error) {
	r.errMu.Lock()
	r.errs.add(err)
	r.errMu.Unlock()
}

// newFans draws the fans of a run from its seed (the same seed gives the
// same fans, with or without the room).
func newFans(r *saleRun, api saleAPI) {
	p := r.p
	rng := rand.New(rand.NewPCG(p.seed, p.seed^0x0ffa11))
	for i := 0; i < p.fans; i++ {
		f := &fan{id: i, user: fmt.Sprintf("fan%06d", i), sale: r, api: api, show: r.cfg.ID, admittedAt: -1,
			firstTryAt: -1, heldAt: -1, rng: rand.New(rand.NewPCG(p.seed+uint64(i)*7919, uint64(i)))}
		if rng.Float64() < p.preShare {
			f.arrive = time.Duration(rng.Float64() * float64(p.preOpen))
		} else {
			a := time.Duration(rng.ExpFloat64() * float64(p.arrivalMean))
			f.arrive = r.opensAt + min(a, p.arrivalMax)
		}
		switch x := rng.Float64(); {
		case x < 0.15:
			f.party = 1
		case x < 0.55:
			f.party = 2
		case x < 0.70:
			f.party = 3
		case x < 0.95:
			f.party = 4
		default:
			f.party = 6
		}
		f.together = f.party > 1 && rng.Float64() < 0.7
		switch x := rng.Float64(); {
		case x < 0.15:
			f.section = "a"
		case x < 0.45:
			f.section = []string{"b", "c", "d"}[rng.IntN(3)]
		case x < 0.70:
			f.tier = "std"
		default:
			f.section = "floor"
		}
		f.abandon = rng.Float64() < p.abandon
		f.card = "tok_ok"
		if rng.Float64() < p.decline {
			f.card = "tok_declined"
		}
		f.retryPay = rng.Float64() < p.retryPay
		f.waitlist = rng.Float64() < p.waitlistShare
		f.accept = rng.Float64() < p.accept
		r.fans = append(r.fans, f)
	}
}

// jitter draws around d: uniformly in [d/2, 3d/2).
func (f *fan) jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(f.rng.Float64()*float64(d))
}

// ended reports whether the run's horizon passed.
func (f *fan) ended() bool { return f.api.now() >= f.sale.opensAt+f.sale.p.horizon }

// start is the fan's arrival.
func (f *fan) start() {
	if f.sale.p.room {
		f.api.join(f, f.joined)
		return
	}
	// without a room, fans who came early refresh at the on-sale instant
	wait := f.sale.opensAt - f.api.now()
	if wait > 0 {
		f.api.after(wait+time.Duration(f.rng.Float64()*float64(2*time.Second)), f.shop)
		return
	}
	f.shop()
}

func (f *fan) joined(tk ticketInfo, err error) {
	if err != nil {
		f.sale.fail(err)
		f.gaveUp = "join failed"
		return
	}
	f.seen(tk)
}

// seen acts on a ticket's state.
func (f *fan) seen(tk ticketInfo) {
	f.tk = tk
	switch {
	case f.ended():
		return
	case tk.State == seatmap.TicketAdmitted:
		if f.admittedAt < 0 {
			f.admittedAt = f.api.now()
		}
		f.api.after(f.jitter(f.sale.p.think), f.shop)
	case tk.State == seatmap.TicketSoldOut && (tk.ReturnsPossible == 0 || f.waitlist):
		f.soldOut()
	case tk.State == seatmap.TicketSoldOut && f.api.now()-f.arrive > f.sale.p.patience:
		f.gaveUp = "sold out"
	case tk.State == seatmap.TicketExpired:
		f.api.join(f, f.joined) // the pass ran out unused: a new ticket
	default: // waiting
		f.api.after(f.jitter(f.sale.p.poll), func() { f.api.ticket(f, f.polled) })
	}
}

func (f *fan) polled(tk ticketInfo, err error) {
	if err != nil {
		f.sale.fail(err)
		f.api.after(f.jitter(f.sale.p.poll), func() { f.api.ticket(f, f.polled) })
		return
	}
	f.seen(tk)
}

// requests lists the holds a fan tries, in order: its section (or tier),
// then its tier, then anywhere in the other tiers.
func (f *fan) requests() []seatmap.HoldRequest {
	base := seatmap.HoldRequest{Show: f.show, User: f.user, Quantity: f.party, Ticket: f.tk.Pass}
	var out []seatmap.HoldRequest
	add := func(section, tier string) {
		r := base
		r.Section, r.Tier = section, tier
		out = append(out, r)
	}
	tier := f.tier
	if f.section != "" {
		add(f.section, "")
		tier = f.sale.tierOf(f.section)
	}
	add("", tier)
	for _, t := range []string{"std", "ga", "vip"} {
		if t != tier {
			add("", t)
		}
	}
	return out
}

// tierOf returns a section's tier.
func (r *saleRun) tierOf(section string) string {
	for _, s := range r.cfg.Sections {
		if s.ID == section {
			return s.Tier
		}
	}
	return ""
}

// shop tries the fan's holds in order.
func (f *fan) shop() {
	if f.ended() {
		return
	}
	if f.firstTryAt < 0 {
		f.firstTryAt = f.api.now()
	}
	f.try(f.requests(), 0)
}

func (f *fan) try(reqs []seatmap.HoldRequest, i int) {
	f.tries++
	f.api.hold(f, reqs[i], func(h seatmap.HoldView, err error) {
		switch {
		case err == nil:
			if f.heldAt < 0 {
				f.heldAt = f.api.now()
			}
			f.held(h)
		case errors.Is(err, seatmap.ErrSoldOut) || errors.Is(err, seatmap.ErrSeatsUnavailable):
			if i+1 < len(reqs) {
				f.try(reqs, i+1)
				return
			}
			f.nothing()
		case errors.Is(err, seatmap.ErrQueueRequired):
			f.tk.Pass = ""
			f.api.ticket(f, f.polled) // suspended or expired: back to the ticket
		case errors.Is(err, seatmap.ErrLimitExceeded):
			f.gaveUp = "seat limit"
		default:
			f.sale.fail(err)
			f.api.after(f.jitter(f.sale.p.retryEvery), f.shop)
		}
	})
}

// nothing: every request of a round found no seats.
func (f *fan) nothing() {
	p := f.sale.p
	if !p.room && f.api.now()-f.firstTryAt < p.patience && f.heldAt < 0 {
		f.api.after(f.jitter(p.retryEvery), f.shop) // refresh and try again
		return
	}
	if f.heldAt < 0 {
		f.foundNothing = true
	}
	f.soldOut()
}

// soldOut: the fan joins the waitlist, or leaves.
func (f *fan) soldOut() {
	if !f.waitlist || f.ended() {
		f.gaveUp = "sold out"
		return
	}
	req := seatmap.WaitlistRequest{Show: f.show, User: f.user, Quantity: f.party, Together: f.together}
	if f.section != "" {
		req.Tier = f.sale.tierOf(f.section)
	} else {
		req.Tier = f.tier
	}
	f.api.waitJoin(f, req, func(e seatmap.WaitlistEntryView, err error) {
		switch {
		case err == nil:
			f.entry = e.ID
			f.waitSeen(e)
		case errors.Is(err, seatmap.ErrNotSoldOut) && f.tk.Pass != "" || errors.Is(err, seatmap.ErrNotSoldOut) && !f.sale.p.room:
			f.api.after(f.jitter(f.sale.p.retryEvery), f.shop) // seats came back: try them
		case errors.Is(err, seatmap.ErrNotSoldOut):
			f.api.ticket(f, f.polled) // seats came back: the room will admit
		default:
			if !errors.Is(err, seatmap.ErrLimitExceeded) {
				f.sale.fail(err)
			}
			f.gaveUp = "waitlist refused"
		}
	})
}

func (f *fan) waitSeen(e seatmap.WaitlistEntryView) {
	switch {
	case f.ended():
	case e.State == seatmap.EntryWaiting:
		f.api.after(f.jitter(f.sale.p.waitPoll), func() {
			f.api.waitGet(f, f.entry, func(e seatmap.WaitlistEntryView, err error) {
				if err != nil {
					f.sale.fail(err)
					return
				}
				f.waitSeen(e)
			})
		})
	case e.State == seatmap.EntryOffered:
		f.offers++
		if !f.accept {
			f.gaveUp = "let the offer lapse"
			f.gaveBack(e.OfferExpiresAt, e.Quantity)
			return
		}
		f.viaWaitlist = true
		if f.heldAt < 0 {
			f.heldAt = f.api.now()
		}
		f.api.after(f.jitter(f.sale.p.checkout/2), func() { f.ordering(e.HoldID) })
	default:
		f.gaveUp = "waitlist " + e.State
	}
}

// held: the fan has seats; it orders them, or walks away.
func (f *fan) held(h seatmap.HoldView) {
	if f.abandon {
		f.gaveUp = "abandoned the hold"
		f.gaveBack(h.ExpiresAt, heldCount(h))
		return
	}
	f.api.after(f.jitter(f.sale.p.checkout), func() { f.ordering(h.ID) })
}

func (f *fan) ordering(hold string) {
	f.api.order(f, hold, func(o seatmap.OrderView, err error) {
		if err != nil {
			f.sale.fail(err)
			f.gaveUp = "order failed"
			return
		}
		f.paying(o.ID, f.card)
	})
}

func (f *fan) paying(order, card string) {
	f.api.pay(f, order, card, func(o seatmap.OrderView, err error) {
		if err != nil {
			f.sale.fail(err)
			f.gaveUp = "pay failed"
			return
		}
		f.api.after(f.sale.p.gateway*2, func() { f.api.getOrder(f, order, func(o seatmap.OrderView, err error) { f.settled(o, card, err) }) })
	})
}

func (f *fan) settled(o seatmap.OrderView, card string, err error) {
	switch {
	case err != nil:
		f.sale.fail(err)
	case o.Status == seatmap.StatusPaid:
		f.paid, f.seatsPaid = true, o.Quantity
	case o.Status == seatmap.StatusPaymentProcessing:
		f.api.after(f.sale.p.gateway, func() { f.api.getOrder(f, o.ID, func(o seatmap.OrderView, err error) { f.settled(o, card, err) }) })
	case o.Status == seatmap.StatusPendingPayment && card != "tok_ok" && f.retryPay:
		f.api.after(f.jitter(f.sale.p.checkout/2), func() { f.paying(o.ID, "tok_ok") })
	default:
		f.gaveUp = "payment declined"
		f.gaveBack(o.PaymentDueAt, o.Quantity)
	}
}
