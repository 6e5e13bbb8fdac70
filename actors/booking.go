package actors

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Placement resolves shard identities to actors. *cluster.Node implements it.
// Safe for concurrent use.
type Placement interface {
	PID(identity, kind string) (*actor.PID, error)
	Forget(identity, kind string, pid *actor.PID)
	Local(pid *actor.PID) bool
}

// BookingOptions tune a Booking.
type BookingOptions struct {
	// RequestTimeout bounds one call to a shard when the caller's context has no deadline.
	RequestTimeout time.Duration
	// MaxInflight bounds the commands waiting on one shard from this node; past it,
	// calls fail fast with ErrUnavailable instead of queueing (a bounded mailbox).
	MaxInflight int64
	// Components reports extra parts for Status ("redis", "rocketmq", "relay"...).
	Components func() map[string]string
}

// Booking routes API calls to shard actors. It implements edge.Backend and is
// safe for concurrent use.
type Booking struct {
	place Placement
	root  *actor.RootContext
	env   *Env
	opt   BookingOptions

	ready    atomic.Bool
	inflight sync.Map // identity -> *atomic.Int64
	shows    sync.Map // show id -> *seatmap.ShowConfig (immutable once created)
}

// NewBooking returns a Booking over place. env must be the one the shard kind was built with.
func NewBooking(place Placement, system *actor.ActorSystem, env *Env, opt BookingOptions) *Booking {
	env.defaults()
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = 5 * time.Second
	}
	if opt.MaxInflight <= 0 {
		opt.MaxInflight = 20_000
	}
	return &Booking{place: place, root: system.Root, env: env, opt: opt}
}

// Recover activates every shard the journal knows, so each rebuilds its state
// and re-arms its timers, then marks the node ready.
func (b *Booking) Recover(ctx context.Context) error {
	shards, err := b.env.Journal.Shards()
	if err != nil {
		return err
	}
	sem := make(chan struct{}, 8)
	errs := make(chan error, len(shards))
	var wg sync.WaitGroup
	for _, id := range shards {
		wg.Add(1)
		sem <- struct{}{}
		go func(id string) {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := b.call(ctx, id, seatmap.Command{Kind: seatmap.KindGetShow}); err != nil && !errors.Is(err, seatmap.ErrShowNotFound) {
				errs <- fmt.Errorf("recover %s: %w", id, err)
			}
		}(id)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	b.ready.Store(true)
	return nil
}

// SetReady marks the node ready (or not) without recovery.
func (b *Booking) SetReady(ok bool) { b.ready.Store(ok) }

func (b *Booking) counter(identity string) *atomic.Int64 {
	if c, ok := b.inflight.Load(identity); ok {
		return c.(*atomic.Int64)
	}
	c, _ := b.inflight.LoadOrStore(identity, new(atomic.Int64))
	return c.(*atomic.Int64)
}

// call sends one command to a shard and waits for its result. Commands are
// idempotent, so a dead activation is retried (with backoff) on a fresh one. Errors of
// the command itself come back as seatmap errors.
func (b *Booking) call(ctx context.Context, identity string, cmd seatmap.Command) (seatmap.Result, error) {
	timeout := b.opt.RequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return seatmap.Result{}, seatmap.ErrUnavailable
	}
	n := b.counter(identity)
	if n.Add(1) > b.opt.MaxInflight {
		n.Add(-1)
		return seatmap.Result{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "shard overloaded"}
	}
	defer n.Add(-1)
	for attempt := 0; ; attempt++ {
		pid, err := b.place.PID(identity, KindShard)
		if err != nil {
			return seatmap.Result{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: err.Error()}
		}
		if b.place.Local(pid) {
			res, err := b.callLocal(pid, cmd, timeout)
			if errors.Is(err, errStopped) && attempt < 8 {
				b.place.Forget(identity, KindShard, pid)
				time.Sleep(time.Duration(1<<attempt) * time.Millisecond)
				continue
			}
			if err != nil {
				return res, err
			}
			return res, res.Err
		}
		msg, err := encodeRequest(cmd)
		if err != nil {
			return seatmap.Result{}, err
		}
		out, err := b.root.RequestFuture(pid, msg, timeout).Result()
		if errors.Is(err, actor.ErrDeadLetter) && attempt < 8 {
			// the activation stopped; placement may take a moment to notice
			b.place.Forget(identity, KindShard, pid)
			time.Sleep(time.Duration(1<<attempt) * time.Millisecond)
			continue
		}
		if err != nil {
			b.place.Forget(identity, KindShard, pid)
			return seatmap.Result{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "shard did not answer: " + err.Error()}
		}
		m, ok := out.(*wrapperspb.BytesValue)
		if !ok {
			return seatmap.Result{}, fmt.Errorf("actors: unexpected answer %T", out)
		}
		res, err := decodeResult(m.Value)
		if err != nil {
			return seatmap.Result{}, err
		}
		return res, res.Err
	}
}

// errStopped: the local activation is gone (its process is dead).
var errStopped = errors.New("activation stopped")

var replyPool = sync.Pool{New: func() any { return make(chan seatmap.Result, 1) }}

// callLocal sends to an activation in this process and waits on a channel:
// no future actor, no encoding.
func (b *Booking) callLocal(pid *actor.PID, cmd seatmap.Command, timeout time.Duration) (seatmap.Result, error) {
	ch := replyPool.Get().(chan seatmap.Result)
	if _, alive := b.root.ActorSystem().ProcessRegistry.Get(pid); !alive {
		replyPool.Put(ch)
		return seatmap.Result{}, errStopped
	}
	b.root.Send(pid, &request{cmd: cmd, reply: ch})
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case res := <-ch:
		replyPool.Put(ch)
		return res, nil
	case <-t.C:
		// the channel may still receive: leave it to the garbage collector
		return seatmap.Result{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "shard did not answer in time"}
	}
}

// fanout runs one command on several shards of a show in parallel.
func (b *Booking) fanout(ctx context.Context, show string, shards []int, mk func(shard int) seatmap.Command) ([]seatmap.Result, []error) {
	res := make([]seatmap.Result, len(shards))
	errs := make([]error, len(shards))
	if len(shards) == 1 {
		res[0], errs[0] = b.call(ctx, ShardIdentity(show, shards[0]), mk(shards[0]))
		return res, errs
	}
	var wg sync.WaitGroup
	for i, s := range shards {
		wg.Add(1)
		go func(i, s int) {
			defer wg.Done()
			res[i], errs[i] = b.call(ctx, ShardIdentity(show, s), mk(s))
		}(i, s)
	}
	wg.Wait()
	return res, errs
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// config returns the show's config, asking shard 0 once.
func (b *Booking) config(ctx context.Context, show string) (*seatmap.ShowConfig, error) {
	if c, ok := b.shows.Load(show); ok {
		return c.(*seatmap.ShowConfig), nil
	}
	if !seatmap.ValidShowID(show) {
		return nil, seatmap.ErrShowNotFound
	}
	res, err := b.call(ctx, ShardIdentity(show, 0), seatmap.Command{Kind: seatmap.KindGetShow})
	if err != nil {
		return nil, err
	}
	cfg := res.Show.Config
	b.shows.Store(show, &cfg)
	return &cfg, nil
}

func allShards(cfg *seatmap.ShowConfig) []int {
	out := make([]int, cfg.Shards())
	for i := range out {
		out[i] = i
	}
	return out
}

// CreateShow creates every shard of the show, shard 0 last: a show exists once its shard 0 does.
func (b *Booking) CreateShow(ctx context.Context, cfg seatmap.ShowConfig) (seatmap.ShowDoc, error) {
	if cfg.ID == "" {
		cfg.ID = NewShowID()
	}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return seatmap.ShowDoc{}, err
	}
	for n := cfg.Shards() - 1; n >= 0; n-- {
		c := cfg
		_, err := b.call(ctx, ShardIdentity(cfg.ID, n), seatmap.Command{Kind: seatmap.KindCreate, Show: &c})
		if err != nil && (n == 0 || !errors.Is(err, seatmap.ErrShowExists)) {
			return seatmap.ShowDoc{}, err
		}
	}
	b.shows.Store(cfg.ID, &cfg)
	return b.GetShow(ctx, cfg.ID)
}

func (b *Booking) GetShow(ctx context.Context, show string) (seatmap.ShowDoc, error) {
	cfg, err := b.config(ctx, show)
	if err != nil {
		return seatmap.ShowDoc{}, err
	}
	res, errs := b.fanout(ctx, show, allShards(cfg), func(int) seatmap.Command { return seatmap.Command{Kind: seatmap.KindGetShow} })
	if err := firstErr(errs); err != nil {
		return seatmap.ShowDoc{}, err
	}
	views := make([]seatmap.ShowView, len(res))
	for i, r := range res {
		views[i] = *r.Show
	}
	return seatmap.MergeShow(views), nil
}

func (b *Booking) Seats(ctx context.Context, show, section string) ([]seatmap.SeatEntry, error) {
	cfg, err := b.config(ctx, show)
	if err != nil {
		return nil, err
	}
	shards := allShards(cfg)
	if section != "" {
		i := cfg.SectionIndex(section)
		if i < 0 {
			return nil, &seatmap.Error{Err: seatmap.ErrUnknownSection, Msg: fmt.Sprintf("no section %q", section)}
		}
		shards = []int{cfg.ShardOfSection(i)}
	}
	res, errs := b.fanout(ctx, show, shards, func(int) seatmap.Command {
		return seatmap.Command{Kind: seatmap.KindGetSeats, Section: section}
	})
	if err := firstErr(errs); err != nil {
		return nil, err
	}
	var out []seatmap.SeatEntry
	for _, r := range res {
		out = append(out, r.Seats...)
	}
	return out, nil
}

// Hold places a hold. Specific seats on several shards are held with one id
// on each, all or nothing: a part that fails releases the parts that did not.
// A tier quantity goes to the first shard that can seat it whole.
func (b *Booking) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, error) {
	cfg, err := b.config(ctx, req.Show)
	if err != nil {
		return seatmap.HoldView{}, err
	}
	base := seatmap.Command{Kind: seatmap.KindHold, User: req.User, Section: req.Section, Tier: req.Tier, Quantity: req.Quantity}
	switch {
	case len(req.Seats) > 0:
		return b.holdSeats(ctx, cfg, base, req.Seats)
	case req.Section != "":
		i := cfg.SectionIndex(req.Section)
		if i < 0 {
			return seatmap.HoldView{}, &seatmap.Error{Err: seatmap.ErrUnknownSection, Msg: fmt.Sprintf("no section %q", req.Section)}
		}
		return b.holdOn(ctx, cfg, base, cfg.ShardOfSection(i))
	case req.Tier != "":
		if _, ok := cfg.TierPrice(req.Tier); !ok {
			return seatmap.HoldView{}, &seatmap.Error{Err: seatmap.ErrUnknownTier, Msg: fmt.Sprintf("no tier %q", req.Tier)}
		}
		var lastErr error = seatmap.ErrSoldOut
		for _, n := range tierShards(cfg, req.Tier) {
			h, err := b.holdOn(ctx, cfg, base, n)
			if !errors.Is(err, seatmap.ErrSoldOut) {
				return h, err
			}
			lastErr = err
		}
		return seatmap.HoldView{}, lastErr
	}
	// let the core explain what is missing
	return b.holdOn(ctx, cfg, base, 0)
}

func tierShards(cfg *seatmap.ShowConfig, tier string) []int {
	var out []int
	seen := map[int]bool{}
	for i, s := range cfg.Sections {
		if n := cfg.ShardOfSection(i); s.Tier == tier && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

func (b *Booking) holdOn(ctx context.Context, cfg *seatmap.ShowConfig, cmd seatmap.Command, shard int) (seatmap.HoldView, error) {
	cmd.HoldID = newID(cfg.ID, []int{shard})
	res, err := b.call(ctx, ShardIdentity(cfg.ID, shard), cmd)
	if err != nil {
		return seatmap.HoldView{}, err
	}
	return *res.Hold, nil
}

func (b *Booking) holdSeats(ctx context.Context, cfg *seatmap.ShowConfig, cmd seatmap.Command, seats []string) (seatmap.HoldView, error) {
	byShard := map[int][]string{}
	for _, id := range seats {
		sec := id
		for i := 0; i < len(id); i++ {
			if id[i] == '-' {
				sec = id[:i]
				break
			}
		}
		i := cfg.SectionIndex(sec)
		if i < 0 {
			return seatmap.HoldView{}, &seatmap.Error{Err: seatmap.ErrUnknownSeat, Msg: fmt.Sprintf("no seat %q", id), Seats: []string{id}}
		}
		n := cfg.ShardOfSection(i)
		byShard[n] = append(byShard[n], id)
	}
	shards := make([]int, 0, len(byShard))
	for n := range byShard {
		shards = append(shards, n)
	}
	sort.Ints(shards)
	cmd.HoldID = newID(cfg.ID, shards)
	res, errs := b.fanout(ctx, cfg.ID, shards, func(n int) seatmap.Command {
		c := cmd
		c.Seats = byShard[n]
		return c
	})
	if err := firstErr(errs); err != nil {
		b.abortHold(cfg.ID, shards, cmd.HoldID, errs)
		return seatmap.HoldView{}, mergeTaken(errs)
	}
	return mergeHolds(res), nil
}

// abortHold releases the parts of a cross-shard hold that succeeded.
func (b *Booking) abortHold(show string, shards []int, holdID string, errs []error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.opt.RequestTimeout)
	defer cancel()
	for i, n := range shards {
		if errs[i] == nil {
			_, _ = b.call(ctx, ShardIdentity(show, n), seatmap.Command{Kind: seatmap.KindRelease, HoldID: holdID})
		}
	}
}

// mergeTaken combines the parts' errors: all taken seats when seats were
// unavailable, else the first error.
func mergeTaken(errs []error) error {
	var taken []string
	for _, e := range errs {
		if errors.Is(e, seatmap.ErrSeatsUnavailable) {
			taken = append(taken, seatmap.TakenSeats(e)...)
		}
	}
	if len(taken) > 0 {
		return &seatmap.Error{Err: seatmap.ErrSeatsUnavailable, Msg: "some seats are taken", Seats: taken}
	}
	return firstErr(errs)
}

func mergeHolds(res []seatmap.Result) seatmap.HoldView {
	h := *res[0].Hold
	h.Seats = append([]string(nil), h.Seats...)
	h.General = map[string]int{}
	for k, v := range res[0].Hold.General {
		h.General[k] = v
	}
	for _, r := range res[1:] {
		p := r.Hold
		h.Seats = append(h.Seats, p.Seats...)
		for k, v := range p.General {
			h.General[k] += v
		}
		h.Quantity += p.Quantity
		h.Amount += p.Amount
		if p.ExpiresAt < h.ExpiresAt {
			h.ExpiresAt = p.ExpiresAt
		}
	}
	return h
}

// holdParts parses a hold id of show.
func holdParts(show, id string, notFound error) ([]int, error) {
	s, shards, err := parseID(id)
	if err != nil || s != show {
		return nil, notFound
	}
	return shards, nil
}

func (b *Booking) holdCmd(ctx context.Context, show, id string, cmd seatmap.Command) ([]seatmap.Result, error) {
	shards, err := holdParts(show, id, seatmap.ErrHoldNotFound)
	if err != nil {
		return nil, err
	}
	cfg, err := b.config(ctx, show)
	if err != nil {
		return nil, err
	}
	for _, n := range shards {
		if n >= cfg.Shards() {
			return nil, seatmap.ErrHoldNotFound
		}
	}
	cmd.HoldID = id
	res, errs := b.fanout(ctx, show, shards, func(int) seatmap.Command { return cmd })
	return res, firstErr(errs)
}

func (b *Booking) GetHold(ctx context.Context, show, hold string) (seatmap.HoldView, error) {
	res, err := b.holdCmd(ctx, show, hold, seatmap.Command{Kind: seatmap.KindGetHold})
	if err != nil {
		return seatmap.HoldView{}, err
	}
	return mergeHolds(res), nil
}

func (b *Booking) ReleaseHold(ctx context.Context, show, hold string) error {
	_, err := b.holdCmd(ctx, show, hold, seatmap.Command{Kind: seatmap.KindRelease})
	return err
}

func (b *Booking) ExtendHold(ctx context.Context, show, hold string, seconds int) (seatmap.HoldView, error) {
	res, err := b.holdCmd(ctx, show, hold, seatmap.Command{Kind: seatmap.KindExtend, Seconds: seconds})
	if err != nil {
		return seatmap.HoldView{}, err
	}
	return mergeHolds(res), nil
}

// CreateOrder converts a hold into an order whose id names the same shards.
func (b *Booking) CreateOrder(ctx context.Context, req seatmap.OrderRequest) (seatmap.OrderView, bool, error) {
	show, shards, err := parseID(req.HoldID)
	if err != nil || show != req.Show {
		return seatmap.OrderView{}, false, seatmap.ErrHoldNotFound
	}
	cfg, err := b.config(ctx, show)
	if err != nil {
		return seatmap.OrderView{}, false, err
	}
	for _, n := range shards {
		if n >= cfg.Shards() {
			return seatmap.OrderView{}, false, seatmap.ErrHoldNotFound
		}
	}
	cmd := seatmap.Command{Kind: seatmap.KindOrder, HoldID: req.HoldID, OrderID: newID(show, shards),
		IdemKey: req.IdemKey, IdemHash: req.IdemHash}
	res, errs := b.fanout(ctx, show, shards, func(int) seatmap.Command { return cmd })
	if err := firstErr(errs); err != nil {
		return seatmap.OrderView{}, false, err
	}
	return mergeOrders(res), res[0].Created, nil
}

func (b *Booking) orderCmd(ctx context.Context, id string, cmd seatmap.Command) (seatmap.OrderView, error) {
	show, shards, err := parseID(id)
	if err != nil {
		return seatmap.OrderView{}, seatmap.ErrOrderNotFound
	}
	cfg, err := b.config(ctx, show)
	if errors.Is(err, seatmap.ErrShowNotFound) {
		return seatmap.OrderView{}, seatmap.ErrOrderNotFound
	} else if err != nil {
		return seatmap.OrderView{}, err
	}
	for _, n := range shards {
		if n >= cfg.Shards() {
			return seatmap.OrderView{}, seatmap.ErrOrderNotFound
		}
	}
	cmd.OrderID = id
	res := make([]seatmap.Result, len(shards))
	if cmd.Kind.ReadOnly() {
		var errs []error
		res, errs = b.fanout(ctx, show, shards, func(int) seatmap.Command { return cmd })
		if err := firstErr(errs); err != nil {
			return seatmap.OrderView{}, err
		}
	} else {
		// state changes go part by part and stop at the first refusal
		for i, n := range shards {
			if res[i], err = b.call(ctx, ShardIdentity(show, n), cmd); err != nil {
				return seatmap.OrderView{}, err
			}
		}
	}
	return mergeOrders(res), nil
}

func (b *Booking) GetOrder(ctx context.Context, order string) (seatmap.OrderView, error) {
	return b.orderCmd(ctx, order, seatmap.Command{Kind: seatmap.KindGetOrder})
}

func (b *Booking) PayOrder(ctx context.Context, order, token string) (seatmap.OrderView, error) {
	return b.orderCmd(ctx, order, seatmap.Command{Kind: seatmap.KindPay, Token: token})
}

func (b *Booking) CancelOrder(ctx context.Context, order string) (seatmap.OrderView, error) {
	return b.orderCmd(ctx, order, seatmap.Command{Kind: seatmap.KindCancel})
}

// SettlePayment feeds a payment result back to the order's shard (the payment
// consumer's path; idempotent by eventID).
func (b *Booking) SettlePayment(ctx context.Context, e seatmap.Event, success bool, eventID string) error {
	cmd := seatmap.Command{Kind: seatmap.KindPayResult, OrderID: e.OrderID, EventID: eventID, Success: success}
	_, err := b.call(ctx, ShardIdentity(e.Show, e.Shard), cmd)
	return err
}

// RecordNotification adds a sent notification to the order's history (idempotent by eventID).
func (b *Booking) RecordNotification(ctx context.Context, e seatmap.Event, channel string) error {
	cmd := seatmap.Command{Kind: seatmap.KindNotified, OrderID: e.OrderID, EventID: e.ID, Channel: channel}
	_, err := b.call(ctx, ShardIdentity(e.Show, e.Shard), cmd)
	return err
}

// mergeOrders merges the parts of a cross-shard order; a single part is itself.
func mergeOrders(res []seatmap.Result) seatmap.OrderView {
	o := *res[0].Order
	for _, r := range res[1:] {
		p := r.Order
		o.Seats = append(append([]string(nil), o.Seats...), p.Seats...)
		g := map[string]int{}
		for k, v := range o.General {
			g[k] += v
		}
		for k, v := range p.General {
			g[k] += v
		}
		o.General = g
		o.Quantity += p.Quantity
		o.Amount += p.Amount
		if p.Status != o.Status && statusRank[p.Status] < statusRank[o.Status] {
			o.Status = p.Status
		}
		o.History = append(o.History, p.History...)
	}
	if len(res) > 1 {
		sort.SliceStable(o.History, func(i, j int) bool { return o.History[i].At < o.History[j].At })
	}
	return o
}

// statusRank orders statuses from least to most settled, for merging parts.
var statusRank = map[string]int{seatmap.StatusPaymentProcessing: 0, seatmap.StatusPendingPayment: 1,
	seatmap.StatusPaid: 2, seatmap.StatusExpired: 3, seatmap.StatusCancelled: 4}

// Status reports readiness and each component's health.
func (b *Booking) Status() (bool, map[string]string) {
	comp := map[string]string{"actors": "ok", "journal": "ok"}
	if b.env.Stats.Recovering.Load() > 0 {
		comp["actors"] = "degraded"
	}
	if last := b.env.Stats.LastJournalErrorMs.Load(); last > 0 && time.Now().UnixMilli()-last < 30_000 {
		comp["journal"] = "degraded"
	}
	if b.opt.Components != nil {
		for k, v := range b.opt.Components() {
			comp[k] = v
		}
	}
	return b.ready.Load(), comp
}

// Gauges are instantaneous values for /metrics.
func (b *Booking) Gauges() map[string]float64 {
	var depth int64
	b.inflight.Range(func(_, v any) bool {
		depth += v.(*atomic.Int64).Load()
		return true
	})
	av, he, re, so, holds, shards := b.env.Stats.Totals()
	s := b.env.Stats
	return map[string]float64{
		"mailbox_depth": float64(depth), "holds_active": float64(holds), "shards_active": float64(shards),
		"seats_available": float64(av), "seats_held": float64(he), "seats_reserved": float64(re), "seats_sold": float64(so),
		"commands_total": float64(s.Commands.Load()), "journal_batches_total": float64(s.Batches.Load()),
		"journal_records_total": float64(s.Records.Load()), "journal_errors_total": float64(s.JournalErrors.Load()),
		"journal_seconds_total": float64(s.JournalMicros.Load()) / 1e6,
		"shards_fenced_total":   float64(s.Fenced.Load()), "redis_checkpoints_deferred_total": float64(s.RemoteSkipped.Load()),
	}
}

// PerfStats are the actor numbers of the performance monitor (edge.PerfSource):
// counters end in _total.
func (b *Booking) PerfStats() map[string]float64 {
	s := b.env.Stats
	_, _, _, _, _, shards := s.Totals()
	return map[string]float64{
		"actor.shard.apply_seconds_total":   float64(s.ApplyMicros.Load()) / 1e6,
		"actor.shard.journal_seconds_total": float64(s.JournalMicros.Load()) / 1e6,
		"actor.shard.commands_total":        float64(s.Commands.Load()),
		"actor.shard.journal_batches_total": float64(s.Batches.Load()),
		"actor.shard.journal_records_total": float64(s.Records.Load()),
		"actor.shard.active":                float64(shards),
		"actor.shard.fenced_total":          float64(s.Fenced.Load()),
		"store.redis.seconds_total":         float64(s.RemoteMicros.Load()) / 1e6,
	}
}
