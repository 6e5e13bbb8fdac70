package sim

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// loadParams are the scenario knobs of boxoffice load.
type loadParams struct {
	users    int     // seat-race: users per seat; flash-sale/mixed: users per sale
	seats    int     // flash-sale/browse/mixed/holds/orders: seats per show
	payShare float64 // flash-sale/mixed: share of won holds that are ordered and paid
}

// raceSeatsPerRow and raceRows shape the shows of the seat-race load: each
// show has raceRows*raceSeatsPerRow seats, one per round.
const (
	raceRows        = 10
	raceSeatsPerRow = 100
)

// env is what arrivals share during one run. Safe for concurrent use.
type env struct {
	c      *httpClient
	rec    *recorder
	led    *ledger
	runID  string
	params loadParams
}

// send performs c, records its latency since since under endpoint ep, and
// returns the status (0 when no answer came) and error.
func (e *env) send(ctx context.Context, ep string, since time.Time, c call, out any) (int, error) {
	status, err := e.c.do(ctx, c, out)
	e.rec.record(e.rec.index(ep), status, time.Since(since))
	return status, err
}

// definite reports whether a status settles an operation's outcome: an answer
// that is 2xx or 4xx. No answer or a 5xx may or may not have taken effect.
func definite(status int) bool { return status >= 200 && status <= 499 }

// scenario is one load scenario. setup is called once, before any arrival;
// then arrival is called concurrently by every worker, so implementations
// keep shared state behind locks or atomics.
type scenario interface {
	// endpoints lists every endpoint the scenario may record, in report order.
	endpoints() []string
	// setup creates what the scenario needs before the clock starts.
	setup(ctx context.Context, e *env) error
	// arrival performs arrival i.
	arrival(ctx context.Context, e *env, w *worker, i int64, intended time.Time)
}

// scenarioNames lists the scenarios of boxoffice load.
var scenarioNames = []string{"seat-race", "flash-sale", "browse", "mixed", "holds", "ga-holds", "orders"}

func newScenario(name string) (scenario, error) {
	switch name {
	case "seat-race":
		return &seatRaceLoad{pool: newShowPool()}, nil
	case "flash-sale":
		return &flashSaleLoad{pool: newShowPool()}, nil
	case "browse":
		return &browseLoad{}, nil
	case "mixed":
		return &mixedLoad{sale: flashSaleLoad{pool: newShowPool()}}, nil
	case "holds":
		return &holdsLoad{}, nil
	case "ga-holds":
		return &gaHoldsLoad{}, nil
	case "orders":
		return &ordersLoad{pool: newShowPool()}, nil
	}
	return nil, fmt.Errorf("unknown scenario %q (want one of %v)", name, scenarioNames)
}

// showPool creates numbered shows on first use, once each, while arrivals run.
type showPool struct {
	mu    sync.Mutex // protects shows
	shows map[int64]*poolShow
}

// poolShow is one show of a pool; done closes when its creation finished.
type poolShow struct {
	done chan struct{}
	cfg  seatmap.ShowConfig // set before done closes
	err  error              // set before done closes
}

func newShowPool() *showPool { return &showPool{shows: map[int64]*poolShow{}} }

// get returns show k, creating it with newCfg(k) if it is the first to ask;
// later askers wait for that creation.
func (p *showPool) get(ctx context.Context, e *env, k int64, newCfg func(int64) seatmap.ShowConfig) (seatmap.ShowConfig, error) {
	p.mu.Lock()
	s := p.shows[k]
	creator := s == nil
	if creator {
		s = &poolShow{done: make(chan struct{})}
		p.shows[k] = s
	}
	p.mu.Unlock()
	if creator {
		s.cfg = newCfg(k)
		s.err = createShow(ctx, e, s.cfg)
		close(s.done)
	}
	select {
	case <-s.done:
		return s.cfg, s.err
	case <-ctx.Done():
		return seatmap.ShowConfig{}, ctx.Err()
	}
}

// ready returns show k if it was created successfully, without waiting.
func (p *showPool) ready(k int64) (seatmap.ShowConfig, bool) {
	p.mu.Lock()
	s := p.shows[k]
	p.mu.Unlock()
	if s == nil {
		return seatmap.ShowConfig{}, false
	}
	select {
	case <-s.done:
		return s.cfg, s.err == nil
	default:
		return seatmap.ShowConfig{}, false
	}
}

// createShow creates cfg and starts tracking it in the ledger.
func createShow(ctx context.Context, e *env, cfg seatmap.ShowConfig) error {
	if _, err := e.send(ctx, epCreateShow, time.Now(), createShowCall(cfg), nil); err != nil {
		return fmt.Errorf("create show %s: %w", cfg.ID, err)
	}
	e.led.addShow(cfg)
	return nil
}

// hold sends one hold request and records its outcome in the ledger.
func hold(ctx context.Context, e *env, since time.Time, req seatmap.HoldRequest) (seatmap.HoldView, bool) {
	var hj holdJSON
	status, err := e.send(ctx, epHold, since, holdCall(req), &hj)
	h := hj.view()
	switch {
	case err == nil:
		e.led.won(h)
		return h, true
	case status >= 200 && status <= 299, !definite(status):
		// granted but unreadable, or no clear answer: it may hold seats
		e.led.unknownHold(req.Show, req.Quantity+len(req.Seats))
	}
	return h, false
}

// seatRaceLoad: users-per-seat users race for each seat in turn; arrival i
// is user i%N of round i/N, whose seat is seat round%1000 of show round/1000.
type seatRaceLoad struct {
	pool *showPool
}

func (s *seatRaceLoad) endpoints() []string { return []string{epHold, epCreateShow} }

func (s *seatRaceLoad) setup(ctx context.Context, e *env) error {
	_, err := s.pool.get(ctx, e, 0, s.show(e))
	return err
}

func (s *seatRaceLoad) show(e *env) func(int64) seatmap.ShowConfig {
	return func(k int64) seatmap.ShowConfig {
		return raceShow(e.runID+"-race-"+strconv.FormatInt(k, 10), raceRows, raceSeatsPerRow)
	}
}

func (s *seatRaceLoad) arrival(ctx context.Context, e *env, w *worker, i int64, intended time.Time) {
	round := i / int64(e.params.users)
	cfg, err := s.pool.get(ctx, e, round/(raceRows*raceSeatsPerRow), s.show(e))
	if err != nil {
		return
	}
	seat := raceSeat(int(round%(raceRows*raceSeatsPerRow)), raceSeatsPerRow)
	hold(ctx, e, intended, seatmap.HoldRequest{Show: cfg.ID, User: "u" + strconv.FormatInt(i, 10), Seats: []string{seat}})
}

// flashSaleLoad: sale after sale of seats seats; arrival i is user i%U of
// sale i/U, asking for 1-4 seats best-available; a share of the winners
// order and pay.
type flashSaleLoad struct {
	pool *showPool
}

func (s *flashSaleLoad) endpoints() []string {
	return []string{epHold, epOrder, epPay, epCreateShow}
}

func (s *flashSaleLoad) setup(ctx context.Context, e *env) error {
	_, err := s.pool.get(ctx, e, 0, s.show(e))
	return err
}

func (s *flashSaleLoad) show(e *env) func(int64) seatmap.ShowConfig {
	return func(k int64) seatmap.ShowConfig {
		return saleShow(e.runID+"-sale-"+strconv.FormatInt(k, 10), e.params.seats)
	}
}

func (s *flashSaleLoad) arrival(ctx context.Context, e *env, w *worker, i int64, intended time.Time) {
	s.buy(ctx, e, w, i, intended)
}

// buy is one flash-sale user; it returns the hold when one was won and not ordered.
func (s *flashSaleLoad) buy(ctx context.Context, e *env, w *worker, i int64, intended time.Time) (seatmap.HoldView, bool) {
	users := int64(e.params.users)
	cfg, err := s.pool.get(ctx, e, i/users, s.show(e))
	if err != nil {
		return seatmap.HoldView{}, false
	}
	req := flashRequest(w.rng, cfg, "u"+strconv.FormatInt(i%users, 10))
	h, ok := hold(ctx, e, intended, req)
	if !ok {
		return h, false
	}
	if w.rng.Float64() >= e.params.payShare {
		return h, true
	}
	e.led.ordered(cfg.ID)
	var o orderJSON
	if _, err := e.send(ctx, epOrder, time.Now(), orderCall(cfg.ID, h.ID), &o); err != nil {
		return seatmap.HoldView{}, false
	}
	e.send(ctx, epPay, time.Now(), payCall(o.ID), nil)
	return seatmap.HoldView{}, false
}

// current returns the show of the sale that buyer i belongs to, if created.
func (s *flashSaleLoad) current(i int64, users int) (seatmap.ShowConfig, bool) {
	return s.pool.ready(i / int64(users))
}

// browseLoad: reads of one show, half show documents, half seat maps of a
// random seated section. A third of the seats is held at setup.
type browseLoad struct {
	cfg seatmap.ShowConfig
}

func (s *browseLoad) endpoints() []string {
	return []string{epGetShow, epGetSeats, epHold, epCreateShow}
}

func (s *browseLoad) setup(ctx context.Context, e *env) error {
	s.cfg = saleShow(e.runID+"-browse", e.params.seats)
	if err := createShow(ctx, e, s.cfg); err != nil {
		return err
	}
	for u := 0; u < e.params.seats/12; u++ {
		hold(ctx, e, time.Now(), seatmap.HoldRequest{Show: s.cfg.ID, User: "pre" + strconv.Itoa(u),
			Tier: s.cfg.Tiers[u%len(s.cfg.Tiers)].ID, Quantity: 4})
	}
	return nil
}

func (s *browseLoad) arrival(ctx context.Context, e *env, w *worker, i int64, intended time.Time) {
	browse(ctx, e, w, s.cfg, intended)
}

// browse reads the show document or the seat map of one seated section.
func browse(ctx context.Context, e *env, w *worker, cfg seatmap.ShowConfig, intended time.Time) {
	if w.rng.IntN(2) == 0 {
		e.send(ctx, epGetShow, intended, getShowCall(cfg.ID), nil)
		return
	}
	for {
		sec := cfg.Sections[w.rng.IntN(len(cfg.Sections))]
		if !sec.GA() {
			e.send(ctx, epGetSeats, intended, seatsCall(cfg.ID, sec.ID), nil)
			return
		}
	}
}

// mixedLoad: 60% browsing the current sale's show, 35% flash-sale buyers,
// 5% releases of holds won earlier (browsing when there is none).
type mixedLoad struct {
	sale  flashSaleLoad
	buyer atomic.Int64 // buyers so far: the next buyer's number

	mu         sync.Mutex // protects releasable
	releasable []seatmap.HoldView
}

func (s *mixedLoad) endpoints() []string {
	return []string{epGetShow, epGetSeats, epHold, epOrder, epPay, epRelease, epCreateShow}
}

func (s *mixedLoad) setup(ctx context.Context, e *env) error { return s.sale.setup(ctx, e) }

func (s *mixedLoad) arrival(ctx context.Context, e *env, w *worker, i int64, intended time.Time) {
	r := w.rng.Float64()
	switch {
	case r < 0.35:
		if h, ok := s.sale.buy(ctx, e, w, s.buyer.Add(1)-1, intended); ok {
			s.mu.Lock()
			if len(s.releasable) < 10_000 {
				s.releasable = append(s.releasable, h)
			}
			s.mu.Unlock()
		}
		return
	case r < 0.40:
		if s.release(ctx, e, intended) {
			return
		}
	}
	cfg, ok := s.sale.current(s.buyer.Load(), e.params.users)
	if !ok {
		cfg, ok = s.sale.current(0, e.params.users)
	}
	if ok {
		browse(ctx, e, w, cfg, intended)
	}
}

// release releases the latest hold won and not ordered; false when there is none.
func (s *mixedLoad) release(ctx context.Context, e *env, intended time.Time) bool {
	s.mu.Lock()
	k := len(s.releasable)
	if k == 0 {
		s.mu.Unlock()
		return false
	}
	h := s.releasable[k-1]
	s.releasable = s.releasable[:k-1]
	s.mu.Unlock()
	n := e.led.releasing(h.Show, h.ID)
	status, err := e.send(ctx, epRelease, intended, releaseCall(h.Show, h.ID), nil)
	e.led.releaseDone(h.Show, n, err == nil || status == 404) // 404: the hold is gone either way
	return true
}
