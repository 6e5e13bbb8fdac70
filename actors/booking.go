package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/boxoffice/boxoffice/actors/stream"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Placement resolves show identities to actors. *cluster.Node implements it.
// Safe for concurrent use.
type Placement interface {
	PID(identity, kind string) (*actor.PID, error)
	Forget(identity, kind string, pid *actor.PID)
	Local(pid *actor.PID) bool
}

// BookingOptions tune a Booking.
type BookingOptions struct {
	// RequestTimeout bounds one call to a show when the caller's context has no deadline.
	RequestTimeout time.Duration
	// MaxInflight bounds the commands waiting on one show from this node; past it,
	// calls fail fast with ErrUnavailable instead of queueing (a bounded mailbox).
	MaxInflight int64
	// Components reports extra parts for Status ("redis", "rocketmq", "relay"...).
	Components func() map[string]string
}

// Booking routes API calls to show actors. It implements edge.Backend and is
// safe for concurrent use.
type Booking struct {
	place Placement
	root  *actor.RootContext
	env   *Env
	opt   BookingOptions

	ready    atomic.Bool
	inflight sync.Map // show -> *atomic.Int64, for shows the registry knows
	shows    sync.Map // show id -> *seatmap.ShowConfig (immutable once created)
	// legacyPeers: member address -> true for a node of the version before
	// the binary messages (it answered a binary command in JSON); commands to
	// it go as JSON.
	legacyPeers sync.Map
}

// legacyPeer reports whether pid's node reads only JSON messages.
func (b *Booking) legacyPeer(pid *actor.PID) bool {
	_, ok := b.legacyPeers.Load(pid.Address)
	return ok
}

// NewBooking returns a Booking over place. env must be the one the show kind was built with.
func NewBooking(place Placement, system *actor.ActorSystem, env *Env, opt BookingOptions) *Booking {
	env.defaults()
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = 5 * time.Second
	}
	if opt.MaxInflight <= 0 {
		opt.MaxInflight = 20_000
	}
	wakeOnDeadLetter(system)
	return &Booking{place: place, root: system.Root, env: env, opt: opt}
}

// Recover activates every show the journal knows, so each rebuilds its state
// and re-arms its timers, and records each in the registry (a journal of an
// older version may predate it); then it marks the node ready. A show whose
// recovery fails is named by Status and retried by its actor with backoff;
// it does not keep the node from serving the others.
func (b *Booking) Recover(ctx context.Context) error {
	shows, err := b.env.Journal.Shards()
	if err != nil {
		return err
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, id := range shows {
		wg.Add(1)
		sem <- struct{}{}
		go func(id string) {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := b.call(ctx, id, seatmap.Command{Kind: seatmap.KindGetShow})
			if err != nil {
				if !errors.Is(err, seatmap.ErrShowNotFound) {
					b.env.Log.Error("show did not recover; its actor retries", "show", id, "err", err)
				}
				return
			}
			if raw, err := json.Marshal(res.Show.Config); err == nil {
				if _, err := b.env.Registry.Register(ctx, id, raw); err != nil {
					b.env.Log.Warn("registering a recovered show failed", "show", id, "err", err)
				}
			}
		}(id)
	}
	wg.Wait()
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

// Topology is what a Placement may also offer (cluster.Node does): a
// channel closed at the next membership change, and whether a PID's member
// is still in the membership. With it a call never waits on a member that
// left: it re-resolves at once.
type Topology interface {
	Changed() <-chan struct{}
	// Moved reports whether pid, an activation of identity, is on a member
	// that left or no longer owns identity.
	Moved(identity string, pid *actor.PID) bool
}

// movedPrefix starts the message of every 503 that means "not here, not
// now: resolve the show again" (the activation was fenced, is stopping,
// cannot prove its lease, or its node is leaving). Such a command was not
// applied, so call retries it on a fresh resolution until its deadline; a
// caller sees it only when the show found no owner in time.
const movedPrefix = "show moved: "

func moved(msg string) seatmap.Result { return unavailable(movedPrefix + msg) }

// isMoved reports whether err is a movedPrefix 503.
func isMoved(err error) bool {
	return errors.Is(err, seatmap.ErrUnavailable) && strings.HasPrefix(seatmap.ErrorMessage(err), movedPrefix)
}

// call sends one command to a show's actor and waits for its result. Commands are
// idempotent, so a dead or moved activation is retried (with backoff, until the
// call's deadline) on a fresh one. Errors of the command itself come back as
// seatmap errors.
func (b *Booking) call(ctx context.Context, identity string, cmd seatmap.Command) (seatmap.Result, error) {
	now := time.Now() // the first attempt's: one clock read per call
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now.Add(b.opt.RequestTimeout)
	}
	if !now.Before(deadline) {
		return seatmap.Result{}, seatmap.ErrUnavailable
	}
	n := b.counter(identity)
	if n.Add(1) > b.opt.MaxInflight {
		n.Add(-1)
		return seatmap.Result{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "show overloaded"}
	}
	defer n.Add(-1)
	topo, _ := b.place.(Topology)
	var lastErr error
	for attempt := 0; ; attempt++ {
		var changed <-chan struct{}
		if topo != nil {
			changed = topo.Changed()
		}
		if attempt > 0 && !b.pause(attempt, deadline, changed) {
			if lastErr == nil {
				lastErr = &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "show did not answer in time"}
			}
			return seatmap.Result{}, lastErr
		}
		if attempt > 0 {
			now = time.Now()
		}
		remaining := deadline.Sub(now)
		pid, err := b.place.PID(identity, KindShow)
		if err != nil {
			lastErr = &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: err.Error()}
			continue
		}
		if b.place.Local(pid) {
			res, err := b.callLocal(pid, cmd, deadline)
			if errors.Is(err, errStopped) {
				b.place.Forget(identity, KindShow, pid)
				lastErr = &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "show activation stopped"}
				continue
			}
			if err != nil {
				return res, err
			}
			if isMoved(res.Err) {
				b.place.Forget(identity, KindShow, pid)
				lastErr = res.Err
				continue
			}
			return res, res.Err
		}
		msg, err := encodeRequest(cmd)
		if b.legacyPeer(pid) {
			msg, err = encodeRequestJSON(cmd)
		}
		if err != nil {
			return seatmap.Result{}, err
		}
		out, err := b.waitRemote(b.root.RequestFuture(pid, msg, min(remaining, remoteAttempt)), identity, pid, topo, changed)
		if errors.Is(err, actor.ErrDeadLetter) || errors.Is(err, errMemberLeft) ||
			(errors.Is(err, actor.ErrTimeout) && time.Until(deadline) > 0) {
			// the activation stopped, or its member left the cluster
			b.place.Forget(identity, KindShow, pid)
			lastErr = &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "show did not answer: " + err.Error()}
			continue
		}
		if err != nil {
			b.place.Forget(identity, KindShow, pid)
			return seatmap.Result{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "show did not answer: " + err.Error()}
		}
		m, ok := out.(*wrapperspb.BytesValue)
		if !ok {
			return seatmap.Result{}, fmt.Errorf("actors: unexpected answer %T", out)
		}
		res, legacy, err := decodeResult(m.Value)
		if err != nil {
			return seatmap.Result{}, err
		}
		if legacy && !b.legacyPeer(pid) && errors.Is(res.Err, seatmap.ErrInvalidRequest) {
			// a node of the version before could not read the binary command
			// (so it decided nothing): ask it again in its JSON
			b.legacyPeers.Store(pid.Address, true)
			continue
		}
		if isMoved(res.Err) {
			b.place.Forget(identity, KindShow, pid)
			lastErr = res.Err
			continue
		}
		return res, res.Err
	}
}

// errMemberLeft: the member of the PID a call waited on left the cluster
// or no longer owns the show.
var errMemberLeft = errors.New("the show's activation moved off its member")

// remoteAttempt bounds one remote attempt: a message that reached an
// activation as it stopped is never answered, and the command is retried
// (idempotent) on a fresh resolution.
const remoteAttempt = 2 * time.Second

// waitRemote waits for a remote answer; when the topology changes and pid's
// member is gone or no longer owns the show, it stops waiting (errMemberLeft).
func (b *Booking) waitRemote(f *actor.Future, identity string, pid *actor.PID, topo Topology, changed <-chan struct{}) (any, error) {
	if topo == nil {
		return f.Result()
	}
	type result struct {
		v   any
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f.Result()
		ch <- result{v, err}
	}()
	for {
		select {
		case r := <-ch:
			return r.v, r.err
		case <-changed:
			if topo.Moved(identity, pid) {
				return nil, errMemberLeft
			}
			changed = topo.Changed()
		}
	}
}

// pause waits before retry attempt (1, 2, ...): 2, 4, 8 ... up to 100 ms, or
// less when the topology changes meanwhile. It reports false when the
// deadline comes first.
func (b *Booking) pause(attempt int, deadline time.Time, changed <-chan struct{}) bool {
	d := min(time.Duration(1<<min(attempt, 7))*time.Millisecond, 100*time.Millisecond)
	left := time.Until(deadline)
	if left <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-changed:
	}
	return true
}

// errStopped: the local activation is gone (its process is dead).
var errStopped = errors.New("activation stopped")

// config returns the show's config from the cache or the registry. An id the
// registry does not know answers ErrShowNotFound without activating anything.
func (b *Booking) config(ctx context.Context, show string) (*seatmap.ShowConfig, error) {
	return KnownShow(ctx, b.env.Registry, &b.shows, show)
}

// KnownShow is the gate every call to a show passes before anything is sent
// to its actor (Booking's showCall, Seats): the show's config from cache
// (show id -> *seatmap.ShowConfig) or from reg, which fills the cache; an id
// reg does not know answers ErrShowNotFound, a failing reg ErrUnavailable.
// The simulator (sim/vopr) routes its clients through it.
func KnownShow(ctx context.Context, reg Registry, cache *sync.Map, show string) (*seatmap.ShowConfig, error) {
	if c, ok := cache.Load(show); ok {
		return c.(*seatmap.ShowConfig), nil
	}
	if !seatmap.ValidShowID(show) {
		return nil, seatmap.ErrShowNotFound
	}
	raw, ok, err := reg.Lookup(ctx, show)
	if err != nil {
		return nil, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "show registry: " + err.Error()}
	}
	if !ok {
		return nil, seatmap.ErrShowNotFound
	}
	var cfg seatmap.ShowConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("actors: registry entry of %s: %w", show, err)
	}
	cache.Store(show, &cfg)
	return &cfg, nil
}

// ListShows returns the config of every registered show, sorted by id
// (edge.ShowLister). It reads the registry only: no show is activated.
func (b *Booking) ListShows(ctx context.Context) ([]seatmap.ShowConfig, error) {
	ids, err := b.env.Registry.List(ctx)
	if err != nil {
		return nil, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "show registry: " + err.Error()}
	}
	out := make([]seatmap.ShowConfig, 0, len(ids))
	for _, id := range ids {
		cfg, err := b.config(ctx, id)
		if errors.Is(err, seatmap.ErrShowNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *cfg)
	}
	return out, nil
}

// CreateShow registers the show, then creates its actor's state. A show
// exists once its registry entry does; a create that failed after
// registering is completed by the next create with the same config.
func (b *Booking) CreateShow(ctx context.Context, cfg seatmap.ShowConfig) (seatmap.ShowDoc, error) {
	if cfg.ID == "" {
		cfg.ID = NewShowID()
	}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return seatmap.ShowDoc{}, err
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return seatmap.ShowDoc{}, err
	}
	created, err := b.env.Registry.Register(ctx, cfg.ID, raw)
	if err != nil {
		return seatmap.ShowDoc{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "show registry: " + err.Error()}
	}
	if !created {
		have, ok, err := b.env.Registry.Lookup(ctx, cfg.ID)
		if err != nil {
			return seatmap.ShowDoc{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "show registry: " + err.Error()}
		}
		if !ok || string(have) != string(raw) {
			return seatmap.ShowDoc{}, seatmap.ErrShowExists
		}
	}
	c := cfg
	if _, err := b.call(ctx, cfg.ID, seatmap.Command{Kind: seatmap.KindCreate, Show: &c}); err != nil {
		return seatmap.ShowDoc{}, err
	}
	b.shows.Store(cfg.ID, &cfg)
	return b.GetShow(ctx, cfg.ID)
}

// showCall runs cmd on a known show.
func (b *Booking) showCall(ctx context.Context, show string, cmd seatmap.Command) (seatmap.Result, error) {
	if _, err := b.config(ctx, show); err != nil {
		return seatmap.Result{}, err
	}
	return b.call(ctx, show, cmd)
}

func (b *Booking) GetShow(ctx context.Context, show string) (seatmap.ShowDoc, error) {
	res, err := b.showCall(ctx, show, seatmap.Command{Kind: seatmap.KindGetShow})
	if err != nil {
		return seatmap.ShowDoc{}, err
	}
	return seatmap.MergeShow([]seatmap.ShowView{*res.Show}), nil
}

func (b *Booking) Seats(ctx context.Context, show, section string) ([]seatmap.SeatEntry, error) {
	cfg, err := b.config(ctx, show)
	if err != nil {
		return nil, err
	}
	if section != "" && cfg.SectionIndex(section) < 0 {
		return nil, &seatmap.Error{Err: seatmap.ErrUnknownSection, Msg: fmt.Sprintf("no section %q", section)}
	}
	// the copy the show's actor published at the end of its last turn, when
	// it runs on this node and is healthy: no message to the actor
	if _, broken := b.env.broken.Load(show); !broken {
		if v := b.env.seatsViewOf(show); v != nil {
			if list, ok := v.layout.EntriesOf(v.states, section); ok {
				return list, nil
			}
		}
	}
	res, err := b.call(ctx, show, seatmap.Command{Kind: seatmap.KindGetSeats, Section: section})
	if err != nil {
		return nil, err
	}
	return res.Seats, nil
}

// Hold places a hold: specific seats, best available in a section, or a
// quantity in a tier, all or nothing, in one step of the show's actor. With
// an idempotency key, a retry answers the hold the first call made
// (created=false).
func (b *Booking) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, bool, error) {
	cmd := seatmap.Command{Kind: seatmap.KindHold, User: req.User, Seats: req.Seats, Section: req.Section,
		Tier: req.Tier, Quantity: req.Quantity, HoldID: newID(req.Show), IdemKey: req.IdemKey, IdemHash: req.IdemHash,
		Ticket: req.Ticket}
	res, err := b.showCall(ctx, req.Show, cmd)
	if err != nil {
		return seatmap.HoldView{}, false, err
	}
	return *res.Hold, res.Created || req.IdemKey == "", nil
}

// holdCmd runs cmd on the hold id of show.
func (b *Booking) holdCmd(ctx context.Context, show, id string, cmd seatmap.Command) (seatmap.Result, error) {
	if s, err := parseID(id); err != nil || s != show {
		return seatmap.Result{}, seatmap.ErrHoldNotFound
	}
	cmd.HoldID = id
	res, err := b.showCall(ctx, show, cmd)
	if errors.Is(err, seatmap.ErrShowNotFound) {
		return res, seatmap.ErrHoldNotFound
	}
	return res, err
}

func (b *Booking) GetHold(ctx context.Context, user, show, hold string) (seatmap.HoldView, error) {
	res, err := b.holdCmd(ctx, show, hold, seatmap.Command{Kind: seatmap.KindGetHold, User: user})
	if err != nil {
		return seatmap.HoldView{}, err
	}
	return *res.Hold, nil
}

func (b *Booking) ReleaseHold(ctx context.Context, user, show, hold string) error {
	_, err := b.holdCmd(ctx, show, hold, seatmap.Command{Kind: seatmap.KindRelease, User: user})
	return err
}

func (b *Booking) ExtendHold(ctx context.Context, user, show, hold string, seconds int) (seatmap.HoldView, error) {
	res, err := b.holdCmd(ctx, show, hold, seatmap.Command{Kind: seatmap.KindExtend, Seconds: seconds, User: user})
	if err != nil {
		return seatmap.HoldView{}, err
	}
	return *res.Hold, nil
}

// CreateOrder converts a hold into an order of the same show.
func (b *Booking) CreateOrder(ctx context.Context, req seatmap.OrderRequest) (seatmap.OrderView, bool, error) {
	if s, err := parseID(req.HoldID); err != nil || s != req.Show {
		return seatmap.OrderView{}, false, seatmap.ErrHoldNotFound
	}
	cmd := seatmap.Command{Kind: seatmap.KindOrder, HoldID: req.HoldID, OrderID: newID(req.Show),
		IdemKey: req.IdemKey, IdemHash: req.IdemHash, User: req.User}
	res, err := b.showCall(ctx, req.Show, cmd)
	if errors.Is(err, seatmap.ErrShowNotFound) {
		err = seatmap.ErrHoldNotFound
	}
	if err != nil {
		return seatmap.OrderView{}, false, err
	}
	return *res.Order, res.Created, nil
}

func (b *Booking) orderCmd(ctx context.Context, id string, cmd seatmap.Command) (seatmap.OrderView, error) {
	show, err := parseID(id)
	if err != nil {
		return seatmap.OrderView{}, seatmap.ErrOrderNotFound
	}
	cmd.OrderID = id
	res, err := b.showCall(ctx, show, cmd)
	if errors.Is(err, seatmap.ErrShowNotFound) {
		return seatmap.OrderView{}, seatmap.ErrOrderNotFound
	}
	if errors.Is(err, seatmap.ErrOrderNotFound) && cmd.Kind == seatmap.KindGetOrder {
		o, err := b.archived(ctx, show, id)
		if err == nil && cmd.User != "" && o.User != cmd.User {
			return seatmap.OrderView{}, seatmap.ErrOrderNotFound // another user's: as if it did not exist
		}
		return o, err
	}
	if err != nil {
		return seatmap.OrderView{}, err
	}
	return *res.Order, nil
}

// archived reads an order that left its actor's memory (paid, cancelled or
// expired a while ago) from the archive.
func (b *Booking) archived(ctx context.Context, show, id string) (seatmap.OrderView, error) {
	raw, ok, err := b.env.Archived(ctx, show, id)
	if err != nil {
		return seatmap.OrderView{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "order archive: " + err.Error()}
	}
	if !ok {
		return seatmap.OrderView{}, seatmap.ErrOrderNotFound
	}
	o, err := decodeArchived(raw)
	if err != nil {
		return seatmap.OrderView{}, fmt.Errorf("actors: archived order %s: %w", id, err)
	}
	return o, nil
}

// decodeArchived decodes an archived order: the binary format, or the JSON
// of the format before it.
func decodeArchived(raw []byte) (seatmap.OrderView, error) {
	o, legacy, err := facts.DecodeArchived(raw)
	if legacy {
		err = json.Unmarshal(raw, &o)
	}
	return o, err
}

func (b *Booking) GetOrder(ctx context.Context, user, order string) (seatmap.OrderView, error) {
	return b.orderCmd(ctx, order, seatmap.Command{Kind: seatmap.KindGetOrder, User: user})
}

// PayOrder starts a payment attempt with a fresh attempt id: the gateway's
// charge key is the order id and the attempt, so no two attempts or orders
// share a charge.
func (b *Booking) PayOrder(ctx context.Context, user, order, token string) (seatmap.OrderView, error) {
	return b.orderCmd(ctx, order, seatmap.Command{Kind: seatmap.KindPay, Token: token, Attempt: randomToken(), User: user})
}

func (b *Booking) CancelOrder(ctx context.Context, user, order string) (seatmap.OrderView, error) {
	return b.orderCmd(ctx, order, seatmap.Command{Kind: seatmap.KindCancel, User: user})
}

// SettlePayment feeds a payment result back to the order's show (the payment
// consumer's path; idempotent by eventID). For an order that left memory it
// answers nil when the archived order was paid by this very attempt (a
// redelivered result whose first answer was lost: nothing to refund), and
// ErrOrderNotFound otherwise (the consumer refunds a success).
func (b *Booking) SettlePayment(ctx context.Context, e seatmap.Event, success bool, eventID string) error {
	cmd := seatmap.Command{Kind: seatmap.KindPayResult, OrderID: e.OrderID, EventID: eventID, Success: success,
		Attempt: e.Attempt}
	_, err := b.showCall(ctx, e.Show, cmd)
	if errors.Is(err, seatmap.ErrOrderNotFound) {
		return b.settledInArchive(ctx, e, err)
	}
	return err
}

// settledInArchive answers a payment result or a notification for an order
// the show no longer knows, from the archive: nil when the archived order
// already took it (ArchivedTakes), else notFound.
func (b *Booking) settledInArchive(ctx context.Context, e seatmap.Event, notFound error) error {
	o, err := b.archived(ctx, e.Show, e.OrderID)
	switch {
	case errors.Is(err, seatmap.ErrOrderNotFound):
		return notFound
	case err != nil:
		return err
	case ArchivedTakes(o, e):
		return nil
	}
	return notFound
}

// ArchivedTakes reports whether an archived (finished) order needs nothing
// more for event e: a payment_requested whose attempt paid it (its result,
// redelivered, must not be refunded), or a notification of its own (the
// order is final; its history cannot change any more).
func ArchivedTakes(o seatmap.OrderView, e seatmap.Event) bool {
	if e.Type == seatmap.EventPaymentRequested {
		return o.Status == seatmap.StatusPaid && o.Attempt == e.Attempt
	}
	return e.OrderID == o.ID
}

// RecordNotification adds a sent notification to the order's history
// (idempotent by eventID); an order that left memory takes none (nil).
func (b *Booking) RecordNotification(ctx context.Context, e seatmap.Event, channel string) error {
	cmd := seatmap.Command{Kind: seatmap.KindNotified, OrderID: e.OrderID, EventID: e.ID, Channel: channel}
	_, err := b.showCall(ctx, e.Show, cmd)
	if errors.Is(err, seatmap.ErrOrderNotFound) {
		return b.settledInArchive(ctx, e, err)
	}
	return err
}

// Status reports readiness and each component's health.
// Streams is the node's inventory streams (the SSE stream's source).
func (b *Booking) Streams() *stream.Hub { return b.env.Streams }

func (b *Booking) Status() (bool, map[string]string) {
	comp := map[string]string{"actors": "ok", "journal": "ok"}
	if b.env.Stats.Recovering.Load() > 0 {
		comp["actors"] = "degraded"
	}
	if broken := b.env.Broken(); len(broken) > 0 {
		names := make([]string, 0, len(broken))
		for show := range broken {
			names = append(names, show)
		}
		sort.Strings(names)
		comp["actors"] = "degraded"
		comp["shows_recovering"] = strings.Join(names, ",") // their recovery failed and is retried
	}
	if b.env.Journal.Failed() {
		comp["journal"] = "degraded"
	}
	if b.env.Stats.Fenced.Load() > 0 {
		comp["shows_moved"] = strconv.FormatInt(b.env.Stats.Fenced.Load(), 10) // activations fenced by newer ones
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
		"shards_fenced_total":   float64(s.Fenced.Load()), "redis_writes_refused_total": float64(s.RemoteSkipped.Load()), "redis_data_loss_total": float64(s.RemoteDataLoss.Load()),
		"journal_checkpoints_total": float64(s.Checkpoints.Load()), "journal_checkpoint_rows_total": float64(s.CheckpointRows.Load()),
		"journal_checkpoint_errors_total": float64(s.CheckpointErrors.Load()),
	}
}

// PerfStats are the actor numbers of the performance monitor (perf.Source):
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
