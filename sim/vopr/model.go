package vopr

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
)

// The checker's knowledge: what clients were told (acknowledged commands
// and reads), with the times that bound what a later answer may say.

// holdFact is an acknowledged hold.
type holdFact struct {
	id, show, user string
	seats          []string
	general        map[string]int
	expiresMin     int64 // the earliest expiry a client was told (ms, seat map time)
	ackedAt        int64 // sim ns
	endSentAt      int64 // a release or an order of it was sent (0: none); it may have ended since
	released       bool  // a release was acknowledged
	orderID        string
}

// orderFact is an acknowledged order.
type orderFact struct {
	id, show, holdID, user string
	seats                  []string
	general                map[string]int
	amount                 int64
	dueAt                  int64 // ms
	ackedAt                int64
	paySentAt              int64    // first pay sent (0: none)
	cancelSentAt           int64    // first cancel sent
	cancelAcked            int64    // when a cancel was acknowledged (0: never)
	attempts               []string // attempts sent
	payAckedAt             int64    // first pay acknowledged
	attemptSeenAt          int64    // first answer that showed an attempt (0: none)
	terminal               string   // a terminal status a client saw (paid, cancelled, expired)
	terminalAt             int64
}

// model is every fact, per show.
type model struct {
	w      *world
	holds  map[string]*holdFact
	orders map[string]*orderFact
	live   []*holdFact  // holds that may still be live, in ack order
	list   []*orderFact // every order, in ack order
}

func newModel(w *world) *model {
	return &model{w: w, holds: map[string]*holdFact{}, orders: map[string]*orderFact{}}
}

// violation stops the run with a finding.
type violation struct{ msg string }

func (m *model) fail(format string, args ...any) {
	panic(violation{fmt.Sprintf(format, args...)})
}

// maxClockMs is the latest seat-map time any node can stamp now.
func (w *world) maxClockMs() int64 {
	ms := int64(0)
	for _, n := range w.nodes {
		ms = max(ms, n.clock.nowMs())
	}
	return ms
}

// ackHold records an acknowledged hold (a new one or a retry's answer).
func (m *model) ackHold(show string, h *seatmap.HoldView) {
	f := m.holds[h.ID]
	if f == nil {
		f = &holdFact{id: h.ID, show: show, user: h.User, seats: h.Seats, general: h.General,
			expiresMin: h.ExpiresAt, ackedAt: m.w.s.now}
		m.holds[h.ID] = f
		m.live = append(m.live, f)
	} else if !sameSeats(f.seats, f.general, h.Seats, h.General) {
		m.fail("hold %s answered with seats %v %v, first acknowledged with %v %v", h.ID, h.Seats, h.General, f.seats, f.general)
	}
	if h.OrderID != "" && f.orderID == "" {
		f.orderID = h.OrderID
	}
}

func (m *model) ackOrder(o *seatmap.OrderView) *orderFact {
	f := m.orders[o.ID]
	if f == nil {
		f = &orderFact{id: o.ID, show: o.Show, holdID: o.HoldID, user: o.User, seats: o.Seats, general: o.General,
			amount: o.Amount, dueAt: o.PaymentDueAt, ackedAt: m.w.s.now}
		m.orders[o.ID] = f
		m.list = append(m.list, f)
		if h := m.holds[o.HoldID]; h != nil {
			h.orderID = o.ID
		}
	}
	return f
}

func sameSeats(a []string, ag map[string]int, b []string, bg map[string]int) bool {
	if !slices.Equal(a, b) || len(ag) != len(bg) {
		return false
	}
	for k, v := range ag {
		if bg[k] != v {
			return false
		}
	}
	return true
}

// observeConversion records an order a read of hold f showed (its order
// command may have timed out): from then on the order must exist.
func (m *model) observeConversion(f *holdFact, h *seatmap.HoldView) {
	if m.orders[h.OrderID] != nil {
		return
	}
	o := &orderFact{id: h.OrderID, show: f.show, holdID: f.id, user: f.user, seats: h.Seats, general: h.General,
		ackedAt: m.w.s.now, paySentAt: -1, cancelSentAt: -1} // its later commands are unknown here
	m.orders[o.id] = o
	m.list = append(m.list, o)
	f.orderID = o.id
}

// holdMustLive reports whether an acknowledged hold must still be live at
// seat-map time nowMs, given what was sent before sim time t.
func (f *holdFact) mustLive(nowMs int64, t int64) bool {
	return !f.released && (f.endSentAt == 0 || f.endSentAt > t) && nowMs < f.expiresMin
}

// checkHoldRead checks a read of hold f that started at start.
func (m *model) checkHoldRead(f *holdFact, start int64, res seatmap.Result, err error) {
	if f.ackedAt >= start {
		return
	}
	if !f.mustLive(m.w.maxClockMs(), m.w.s.now) {
		return
	}
	if err != nil {
		if isUnavailable(err) {
			return
		}
		m.fail("read of hold %s (acknowledged at %s, live until %d) answered %v", f.id, fmtTime(f.ackedAt), f.expiresMin, err)
	}
	h := res.Hold
	if h.OrderID != "" || !sameSeats(f.seats, f.general, h.Seats, h.General) {
		m.fail("read of live hold %s answered %s", f.id, describeResult(res))
	}
}

// checkOrderRead checks a read of order f that started at start.
func (m *model) checkOrderRead(f *orderFact, start int64, o *seatmap.OrderView, err error) {
	if err != nil {
		if isUnavailable(err) {
			return
		}
		if f.ackedAt < start {
			m.fail("read of order %s (acknowledged at %s) answered %v", f.id, fmtTime(f.ackedAt), err)
		}
		return
	}
	m.checkOrderState(f, start, o, "read")
}

// checkOrderState checks an order's view against what clients were told
// before start.
func (m *model) checkOrderState(f *orderFact, start int64, o *seatmap.OrderView, what string) {
	if f.ackedAt >= start {
		return
	}
	bad := ""
	switch {
	case !sameSeats(f.seats, f.general, o.Seats, o.General):
		bad = fmt.Sprintf("seats %v %v, acknowledged with %v %v", o.Seats, o.General, f.seats, f.general)
	case f.terminal != "" && f.terminalAt < start && o.Status != f.terminal:
		bad = fmt.Sprintf("status %s after a client saw it %s at %s", o.Status, f.terminal, fmtTime(f.terminalAt))
	case f.cancelAcked != 0 && f.cancelAcked < start && o.Status != seatmap.StatusCancelled:
		bad = fmt.Sprintf("status %s after its cancel was acknowledged at %s", o.Status, fmtTime(f.cancelAcked))
	case f.payAckedAt != 0 && f.payAckedAt < start && o.Attempt == "":
		bad = "no payment attempt after a pay was acknowledged"
	case f.attemptSeenAt != 0 && f.attemptSeenAt < start && o.Attempt == "":
		bad = fmt.Sprintf("no payment attempt after an answer at %s showed one (a read of a write that never happened)", fmtTime(f.attemptSeenAt))
	case o.Attempt != "" && !slices.Contains(f.attempts, o.Attempt):
		bad = fmt.Sprintf("attempt %s that no client sent", o.Attempt)
	case f.paySentAt == 0 && f.cancelSentAt == 0 && o.Status != seatmap.StatusPendingPayment &&
		(o.Status != seatmap.StatusExpired || o.PaymentDueAt > m.w.maxClockMs()):
		bad = fmt.Sprintf("status %s without a pay or cancel (due %d, clocks at most %d)", o.Status, o.PaymentDueAt, m.w.maxClockMs())
	}
	if bad != "" {
		m.fail("%s of order %s (acknowledged at %s): %s", what, f.id, fmtTime(f.ackedAt), bad)
	}
}

// observe records what a client saw of an order: a terminal status, an
// attempt (attempts never go away).
func (f *orderFact) observe(w *world, o *seatmap.OrderView) {
	if o.Attempt != "" && f.attemptSeenAt == 0 {
		f.attemptSeenAt = w.s.now
	}
	switch o.Status {
	case seatmap.StatusPaid, seatmap.StatusCancelled, seatmap.StatusExpired:
		if f.terminal == "" {
			f.terminal, f.terminalAt = o.Status, w.s.now
		}
	}
}

func isUnavailable(err error) bool {
	return err == errConnLost || err == errTimeout || strings.Contains(seatmap.ErrorCode(err), "unavailable")
}

// checkOwner checks every fact against the state of the activation that
// owns show (when it serves): every acknowledged hold that must still be
// live is there with its seats, every acknowledged order is there (or
// archived) in a state its history allows, the seat map's invariants hold,
// and Redis's read model matches once it has every record. all: every
// order, else only the open ones.
func (m *model) checkOwner(show string, all bool) bool {
	w := m.w
	owner := w.nodes[w.owner[show]]
	if !owner.alive {
		return false
	}
	a := owner.acts[show]
	if a == nil || a.dead || a.stopped {
		return false
	}
	sh, serving := a.ss.State()
	if sh == nil || !serving || !sh.Created() {
		return false
	}
	// a failed Pebble store refuses reads (its archive too) until it is
	// reopened: the check waits for that, and the drain must see it done
	if _, ok := owner.journal.(*pebbleDisk); ok && owner.journal.Failed() {
		if all {
			m.fail("the journal of %s's owner (node%d) is still failed after the drain", show, owner.id)
		}
		return false
	}
	if err := sh.CheckInvariants(); err != nil {
		m.fail("invariants of %s on node%d: %v", show, owner.id, err)
	}
	now := sh.Now()
	for _, f := range m.live {
		if f.show != show {
			continue
		}
		if f.released { // its release was acknowledged: it is gone
			if res := sh.Apply(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: f.id, Now: now}); res.Err == nil {
				m.fail("hold %s is %s on the owner (node%d) after its release was acknowledged", f.id, describeResult(res), owner.id)
			}
			continue
		}
		if !f.mustLive(now, w.s.now) {
			continue
		}
		res := sh.Apply(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: f.id, Now: now})
		if res.Err != nil {
			m.fail("acknowledged hold %s (at %s, live until %d, seat-map time %d) is not in the owner's state (node%d): %v",
				f.id, fmtTime(f.ackedAt), f.expiresMin, now, owner.id, res.Err)
		}
		if res.Hold.OrderID != "" || !sameSeats(f.seats, f.general, res.Hold.Seats, res.Hold.General) {
			m.fail("acknowledged hold %s is %s on the owner", f.id, describeResult(res))
		}
	}
	for _, f := range m.list {
		if f.show != show || (!all && f.terminal != "") {
			continue
		}
		o, err := m.lookupOrder(owner, sh, f.id)
		if err != nil {
			m.fail("acknowledged order %s (at %s) is not in the owner's state (node%d): %v", f.id, fmtTime(f.ackedAt), owner.id, err)
		}
		m.checkOrderState(f, w.s.now+1, o, "the owner's state")
	}
	m.checkCounts(show, a)
	return true
}

// lookupOrder reads an order on the owner's state, then its archive (local
// journal, then Redis), as Booking's GET does.
func (m *model) lookupOrder(n *node, sh *seatmap.Shard, id string) (*seatmap.OrderView, error) {
	res := sh.Apply(seatmap.Command{Kind: seatmap.KindGetOrder, OrderID: id, Now: sh.Now()})
	if res.Err == nil {
		return res.Order, nil
	}
	o, err := m.archive(n, id, true)
	if err == nil && o == nil {
		err = res.Err
	}
	return o, err
}

// lookupArchive reads an archived order as node n can: its journal, then
// Redis (nil, nil: none).
func (m *model) lookupArchive(n *node, id string) (*seatmap.OrderView, error) {
	return m.archive(n, id, false)
}

// archive reads an archived order as Env.Archived does; the checker
// (direct) reads Redis whatever the network.
func (m *model) archive(n *node, id string, direct bool) (*seatmap.OrderView, error) {
	var raw []byte
	var ok bool
	var err error
	if direct && m.w.redis != nil { // Env.Archived's order, without the network
		raw, ok, _ = m.w.redis.Client().Archived(context.Background(), idShow(id), id)
		if !ok {
			raw, ok, err = n.journal.Archived(id)
		}
	} else {
		raw, ok, err = n.env.Archived(context.Background(), idShow(id), id)
	}
	if err != nil {
		return nil, &seatmap.Error{Err: seatmap.ErrUnavailable, Msg: "order archive: " + err.Error()}
	}
	if !ok {
		return nil, nil
	}
	o, _, err := facts.DecodeArchived(raw)
	if err != nil {
		return nil, err
	}
	return &o, nil
}

func idShow(id string) string {
	if i := strings.IndexByte(id, '~'); i > 0 {
		return id[:i]
	}
	return id
}

// checkCounts compares Redis's read model with the owner's counters when
// Redis has every record and the writer nothing queued.
func (m *model) checkCounts(show string, a *activation) {
	w := m.w
	if w.redis == nil || a.ss.WriterQueued() > 0 || a.writer != nil {
		return
	}
	sh, _ := a.ss.State()
	if w.redis.Seq(show) != sh.Seq() {
		return
	}
	got, _, err := w.redis.Client().Counts(context.Background(), show)
	if err != nil || len(got) == 0 {
		return
	}
	var t [4]int
	for _, s := range sh.Sections() {
		want := fmt.Sprintf("%d,%d,%d,%d", s.Available, s.Held, s.Reserved, s.Sold)
		if got[s.ID] != want {
			m.fail("redis counts of %s/%s are %q at seq %d, the owner has %q", show, s.ID, got[s.ID], sh.Seq(), want)
		}
		t[0] += s.Available
		t[1] += s.Held
		t[2] += s.Reserved
		t[3] += s.Sold
		if s.Available+s.Held+s.Reserved+s.Sold != s.Capacity {
			m.fail("counters of %s/%s do not add up to %d: %+v", show, s.ID, s.Capacity, s)
		}
	}
}

// prune forgets holds that can no longer be live.
func (m *model) prune() {
	now := m.w.maxClockMs()
	kept := m.live[:0]
	for _, f := range m.live {
		if f.orderID == "" && now < f.expiresMin+1000 {
			kept = append(kept, f)
		}
	}
	clear(m.live[len(kept):])
	m.live = kept
}
