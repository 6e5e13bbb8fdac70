package sim

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Sustained-throughput scenarios: holds (hold then release at once) and
// orders (hold then order). Both use big venues, so a run measures the
// steady rate of durable writes rather than a sell-out.

// defaultBigSeats is the default --seats of holds and orders.
const defaultBigSeats = 50_000

// Shape of a bigShow: sections of bigRows rows of bigPerRow seats.
const (
	bigRows   = 10
	bigPerRow = 50
)

// bigShow is a venue of about seats seats in sections "s0", "s1", ... of
// bigRows×bigPerRow seats (the last one may be smaller), one tier, no
// per-user limit, so the show is split into shards of
// seatmap.DefaultShardSects sections (a 50,000-seat show: 100 sections on 4
// shards). Its creation body stays under the API's 64 KiB limit up to
// maxLoadSeats seats.
func bigShow(id string, seats int) seatmap.ShowConfig {
	cfg := seatmap.ShowConfig{ID: id, Name: "big venue " + id, HoldTTLSeconds: simHoldTTLSeconds,
		PaymentTTLSeconds: simPaymentTTLSeconds, Tiers: []seatmap.Tier{{ID: "std", Price: 5000}}}
	for i := 0; seats > 0; i++ {
		sec := seatmap.Section{ID: "s" + strconv.Itoa(i), Tier: "std"}
		for r := 1; r <= bigRows && seats > 0; r++ {
			k := min(seats, bigPerRow)
			seats -= k
			sec.Rows = append(sec.Rows, seatmap.Row{ID: strconv.Itoa(r), Seats: k})
		}
		cfg.Sections = append(cfg.Sections, sec)
	}
	return cfg
}

// bigRequest is a best-available request for 1-4 seats in a random section.
func bigRequest(w *worker, cfg seatmap.ShowConfig, user string) seatmap.HoldRequest {
	return seatmap.HoldRequest{Show: cfg.ID, User: user, Section: cfg.Sections[w.rng.IntN(len(cfg.Sections))].ID,
		Quantity: 1 + w.rng.IntN(4)}
}

// holdsLoad: each arrival is a new user who holds 1-4 seats best-available
// in a random section of one big show, and releases the hold as soon as it
// is granted. Seats come back at once, so the show never sells out and the
// run measures holds (and releases) per second: every hold and every
// release is one journaled, synced command.
type holdsLoad struct {
	cfg seatmap.ShowConfig
}

func (s *holdsLoad) endpoints() []string { return []string{epHold, epRelease, epCreateShow} }

func (s *holdsLoad) setup(ctx context.Context, e *env) error {
	s.cfg = bigShow(e.runID+"-holds", e.params.seats)
	return createShow(ctx, e, s.cfg)
}

func (s *holdsLoad) arrival(ctx context.Context, e *env, w *worker, i int64, intended time.Time) {
	h, ok := hold(ctx, e, intended, bigRequest(w, s.cfg, "u"+strconv.FormatInt(i, 10)))
	if !ok {
		return
	}
	n := e.led.releasing(h.Show, h.ID)
	status, err := e.send(ctx, epRelease, time.Now(), releaseCall(h.Show, h.ID), nil)
	e.led.releaseDone(h.Show, n, err == nil || status == 404)
}

// gaShow is one show with one general-admission section "ga" of seats
// places: one shard, one actor (issue 12's hot show).
func gaShow(id string, seats int) seatmap.ShowConfig {
	return seatmap.ShowConfig{ID: id, Name: "hot show " + id, HoldTTLSeconds: simHoldTTLSeconds,
		PaymentTTLSeconds: simPaymentTTLSeconds, Tiers: []seatmap.Tier{{ID: "ga", Price: 5000}},
		Sections: []seatmap.Section{{ID: "ga", Tier: "ga", Capacity: seats}}}
}

// gaHoldsLoad: each arrival is a new user who holds one general-admission
// place of one show (one actor: everything goes through its serial path)
// and releases the hold as soon as it is granted, as holdsLoad does.
type gaHoldsLoad struct {
	cfg seatmap.ShowConfig
}

func (s *gaHoldsLoad) endpoints() []string { return []string{epHold, epRelease, epCreateShow} }

func (s *gaHoldsLoad) setup(ctx context.Context, e *env) error {
	s.cfg = gaShow(e.runID+"-ga", e.params.seats)
	return createShow(ctx, e, s.cfg)
}

func (s *gaHoldsLoad) arrival(ctx context.Context, e *env, w *worker, i int64, intended time.Time) {
	req := seatmap.HoldRequest{Show: s.cfg.ID, User: "u" + strconv.FormatInt(i, 10), Section: "ga", Quantity: 1}
	h, ok := hold(ctx, e, intended, req)
	if !ok {
		return
	}
	n := e.led.releasing(h.Show, h.ID)
	status, err := e.send(ctx, epRelease, time.Now(), releaseCall(h.Show, h.ID), nil)
	e.led.releaseDone(h.Show, n, err == nil || status == 404)
}

// ordersLoad: each arrival is a new user who holds 1-4 seats best-available
// in a random section of a big show and turns the hold into an order at
// once (POST /v1/orders with an Idempotency-Key). Orders keep their seats,
// so each show takes at most seats/4 arrivals; the next arrivals go to a
// new show, created on first use (its creation is timed under
// create_show). The order endpoint's rate is the durable order rate.
type ordersLoad struct {
	pool *showPool
}

func (s *ordersLoad) endpoints() []string { return []string{epHold, epOrder, epCreateShow} }

func (s *ordersLoad) setup(ctx context.Context, e *env) error {
	_, err := s.pool.get(ctx, e, 0, s.show(e))
	return err
}

func (s *ordersLoad) show(e *env) func(int64) seatmap.ShowConfig {
	return func(k int64) seatmap.ShowConfig {
		return bigShow(e.runID+"-orders-"+strconv.FormatInt(k, 10), e.params.seats)
	}
}

// perShow is how many arrivals one show takes: never more seats than it has.
func (s *ordersLoad) perShow(e *env) int64 { return int64(max(e.params.seats/4, 1)) }

func (s *ordersLoad) arrival(ctx context.Context, e *env, w *worker, i int64, intended time.Time) {
	cfg, err := s.pool.get(ctx, e, i/s.perShow(e), s.show(e))
	if err != nil {
		return
	}
	h, ok := hold(ctx, e, intended, bigRequest(w, cfg, "u"+strconv.FormatInt(i, 10)))
	if !ok {
		return
	}
	e.led.ordered(cfg.ID)
	e.send(ctx, epOrder, time.Now(), orderCall(cfg.ID, h.ID), nil)
}

// checkBigSeats validates --seats for the big-venue scenarios.
func checkBigSeats(seats int) error {
	if seats < 4 || seats > maxLoadSeats {
		return fmt.Errorf("--seats must be in 4..%d", maxLoadSeats)
	}
	return nil
}
