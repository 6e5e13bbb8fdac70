package edgetest

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
)

// idEncoding spells random ids in lowercase base32 without padding.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// okToken is the payment token that the simulated payment provider accepts.
const okToken = "tok_ok"

// MemBackend is an in-memory edge.Backend: one seatmap.Shard per show, each
// behind its own mutex. It is safe for concurrent use.
type MemBackend struct {
	mu    sync.Mutex // protects following fields
	shows map[string]*memShow
	// Now returns the current instant in Unix ms; tests may replace it before
	// first use to control expiry. Defaults to the wall clock.
	Now func() int64
}

// memShow is one show: a single shard and the payments waiting to settle.
type memShow struct {
	mu       sync.Mutex // protects following fields
	shard    *seatmap.Shard
	payments []seatmap.Event // payment_requested events not yet settled
	events   []seatmap.Event // other events, for Events
}

var _ edge.Backend = (*MemBackend)(nil)

// NewMemBackend returns an empty in-memory backend that uses the wall clock.
func NewMemBackend() edge.Backend { return NewMem() }

// NewMem is NewMemBackend with the concrete type, for tests that set Now.
func NewMem() *MemBackend {
	return &MemBackend{shows: map[string]*memShow{}, Now: func() int64 { return time.Now().UnixMilli() }}
}

// NewID returns a hold or order id of show in the actors' format:
// "<show>~<128 random bits, base32>".
func NewID(show string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return show + "~" + idEncoding.EncodeToString(b[:])
}

// randomAttempt returns a fresh payment attempt id.
func randomAttempt() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return idEncoding.EncodeToString(b[:])
}

// ShowOfID returns the show encoded in a hold or order id, or "".
func ShowOfID(id string) string {
	i := strings.IndexByte(id, '~')
	if i <= 0 {
		return ""
	}
	return id[:i]
}

func (m *MemBackend) show(id string) (*memShow, error) {
	m.mu.Lock()
	s, ok := m.shows[id]
	m.mu.Unlock()
	if !ok {
		return nil, seatmap.ErrShowNotFound
	}
	return s, nil
}

// run applies cmd to the show after expiring what is due and settling
// requested payments. It holds the show's lock.
func (m *MemBackend) run(ctx context.Context, show string, cmd seatmap.Command) (seatmap.Result, error) {
	if err := ctx.Err(); err != nil {
		return seatmap.Result{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: err.Error()}
	}
	s, err := m.show(show)
	if err != nil {
		return seatmap.Result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.Now()
	s.settle(now)
	s.shard.Apply(seatmap.Command{Kind: seatmap.KindTick, Now: now})
	cmd.Now = now
	res := s.shard.Apply(cmd)
	s.drain()
	return res, res.Err
}

// settle applies the results of the payments requested so far.
func (s *memShow) settle(now int64) {
	for len(s.payments) > 0 {
		ev := s.payments[0]
		s.payments = s.payments[1:]
		s.shard.Apply(seatmap.Command{Kind: seatmap.KindPayResult, Now: now, OrderID: ev.OrderID,
			EventID: ev.ID, Success: ev.Token == okToken, Attempt: ev.Attempt})
		s.drain()
	}
}

// drain takes Ready, keeping payment requests for settle and dropping the rest.
func (s *memShow) drain() {
	for _, ev := range s.shard.Ready().Events {
		if ev.Type == seatmap.EventPaymentRequested {
			s.payments = append(s.payments, ev)
		} else if len(s.events) < 10_000 {
			s.events = append(s.events, ev)
		}
	}
}

// CreateShow implements edge.Backend. The show always gets one shard.
func (m *MemBackend) CreateShow(ctx context.Context, cfg seatmap.ShowConfig) (seatmap.ShowDoc, error) {
	if err := ctx.Err(); err != nil {
		return seatmap.ShowDoc{}, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: err.Error()}
	}
	cfg.Normalize()
	if n := len(cfg.Sections); n > 0 && n <= seatmap.MaxSections {
		cfg.SectionsPerShard = n
	}
	if err := cfg.Validate(); err != nil {
		return seatmap.ShowDoc{}, err
	}
	cfg.Tiers = append([]seatmap.Tier(nil), cfg.Tiers...)
	secs := make([]seatmap.Section, len(cfg.Sections))
	for i, sec := range cfg.Sections {
		sec.Rows = append([]seatmap.Row(nil), sec.Rows...)
		secs[i] = sec
	}
	cfg.Sections = secs
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.shows[cfg.ID]; ok {
		return seatmap.ShowDoc{}, seatmap.ErrShowExists
	}
	sh := seatmap.New(0)
	res := sh.Apply(seatmap.Command{Kind: seatmap.KindCreate, Now: m.Now(), Show: &cfg})
	if res.Err != nil {
		return seatmap.ShowDoc{}, res.Err
	}
	ms := &memShow{shard: sh}
	ms.drain()
	m.shows[cfg.ID] = ms
	return seatmap.MergeShow([]seatmap.ShowView{*res.Show}), nil
}

// GetShow implements edge.Backend.
func (m *MemBackend) GetShow(ctx context.Context, show string) (seatmap.ShowDoc, error) {
	res, err := m.run(ctx, show, seatmap.Command{Kind: seatmap.KindGetShow})
	if err != nil {
		return seatmap.ShowDoc{}, err
	}
	return seatmap.MergeShow([]seatmap.ShowView{*res.Show}), nil
}

// Seats implements edge.Backend.
func (m *MemBackend) Seats(ctx context.Context, show, section string) ([]seatmap.SeatEntry, error) {
	res, err := m.run(ctx, show, seatmap.Command{Kind: seatmap.KindGetSeats, Section: section})
	return res.Seats, err
}

// Hold implements edge.Backend.
func (m *MemBackend) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, bool, error) {
	res, err := m.run(ctx, req.Show, seatmap.Command{Kind: seatmap.KindHold, HoldID: NewID(req.Show),
		User: req.User, Seats: req.Seats, Section: req.Section, Tier: req.Tier, Quantity: req.Quantity,
		IdemKey: req.IdemKey, IdemHash: req.IdemHash, Ticket: req.Ticket})
	if err != nil {
		return seatmap.HoldView{}, false, err
	}
	return *res.Hold, res.Created || req.IdemKey == "", nil
}

// GetHold implements edge.Backend.
func (m *MemBackend) GetHold(ctx context.Context, user string, show, hold string) (seatmap.HoldView, error) {
	res, err := m.run(ctx, show, seatmap.Command{Kind: seatmap.KindGetHold, HoldID: hold, User: user})
	if err != nil {
		return seatmap.HoldView{}, err
	}
	return *res.Hold, nil
}

// ReleaseHold implements edge.Backend.
func (m *MemBackend) ReleaseHold(ctx context.Context, user string, show, hold string) error {
	_, err := m.run(ctx, show, seatmap.Command{Kind: seatmap.KindRelease, HoldID: hold, User: user})
	return err
}

// ExtendHold implements edge.Backend.
func (m *MemBackend) ExtendHold(ctx context.Context, user string, show, hold string, seconds int) (seatmap.HoldView, error) {
	res, err := m.run(ctx, show, seatmap.Command{Kind: seatmap.KindExtend, HoldID: hold, Seconds: seconds, User: user})
	if err != nil {
		return seatmap.HoldView{}, err
	}
	return *res.Hold, nil
}

// CreateOrder implements edge.Backend.
func (m *MemBackend) CreateOrder(ctx context.Context, req seatmap.OrderRequest) (seatmap.OrderView, bool, error) {
	res, err := m.run(ctx, req.Show, seatmap.Command{Kind: seatmap.KindOrder, OrderID: NewID(req.Show),
		HoldID: req.HoldID, IdemKey: req.IdemKey, IdemHash: req.IdemHash, User: req.User})
	if err != nil {
		return seatmap.OrderView{}, false, err
	}
	return *res.Order, res.Created, nil
}

// orderCmd runs an order command on the show named by the order id.
func (m *MemBackend) orderCmd(ctx context.Context, cmd seatmap.Command) (seatmap.OrderView, error) {
	show := ShowOfID(cmd.OrderID)
	if show == "" {
		return seatmap.OrderView{}, seatmap.ErrOrderNotFound
	}
	res, err := m.run(ctx, show, cmd)
	if errors.Is(err, seatmap.ErrShowNotFound) {
		err = seatmap.ErrOrderNotFound
	}
	if err != nil {
		return seatmap.OrderView{}, err
	}
	return *res.Order, nil
}

// GetOrder implements edge.Backend.
func (m *MemBackend) GetOrder(ctx context.Context, user string, order string) (seatmap.OrderView, error) {
	return m.orderCmd(ctx, seatmap.Command{Kind: seatmap.KindGetOrder, OrderID: order, User: user})
}

// PayOrder implements edge.Backend. The payment settles on the show's next command.
func (m *MemBackend) PayOrder(ctx context.Context, user string, order, token string) (seatmap.OrderView, error) {
	return m.orderCmd(ctx, seatmap.Command{Kind: seatmap.KindPay, OrderID: order, Token: token, Attempt: randomAttempt(), User: user})
}

// CancelOrder implements edge.Backend.
func (m *MemBackend) CancelOrder(ctx context.Context, user string, order string) (seatmap.OrderView, error) {
	return m.orderCmd(ctx, seatmap.Command{Kind: seatmap.KindCancel, OrderID: order, User: user})
}

// Status implements edge.Backend: always ready.
func (m *MemBackend) Status() (bool, map[string]string) {
	return true, map[string]string{"actors": "ok"}
}

// Gauges implements edge.Backend: seat counts and active holds over all shows.
func (m *MemBackend) Gauges() map[string]float64 {
	m.mu.Lock()
	shows := make([]*memShow, 0, len(m.shows))
	for _, s := range m.shows {
		shows = append(shows, s)
	}
	m.mu.Unlock()
	g := map[string]float64{"shows": float64(len(shows)), "holds_active": 0, "seats_available": 0,
		"seats_held": 0, "seats_reserved": 0, "seats_sold": 0}
	for _, s := range shows {
		s.mu.Lock()
		_, by := s.shard.Counts()
		g["holds_active"] += float64(s.shard.ActiveHolds())
		s.mu.Unlock()
		g["seats_available"] += float64(by[seatmap.Available])
		g["seats_held"] += float64(by[seatmap.Held])
		g["seats_reserved"] += float64(by[seatmap.Reserved])
		g["seats_sold"] += float64(by[seatmap.Sold])
	}
	return g
}
