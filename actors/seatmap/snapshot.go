package seatmap

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/boxoffice/boxoffice/facts"
)

// snapshotVersion is bumped when the snapshot format changes incompatibly.
// Version 2 drops converted holds (their orders carry them) and adds
// payment attempts, archive timers, archived sales and hold idempotency keys;
// Restore still reads version 1.
const snapshotVersion = 2

type snapGA struct {
	Sec string `json:"s"`
	N   int    `json:"n"`
}

type snapHold struct {
	ID        string         `json:"id"`
	User      string         `json:"u"`
	Seats     []uint32       `json:"seats,omitempty"`
	General   []snapGA       `json:"ga,omitempty"`
	Quantity  int            `json:"q"`
	Amount    int64          `json:"a"`
	CreatedAt int64          `json:"c"`
	ExpiresAt int64          `json:"e"`
	OrderID   string         `json:"o,omitempty"` // version 1 only: a converted hold
	ga        []facts.GAPart // from state rows: GA parts by section index (instead of General)
}

type snapOrder struct {
	ID        string    `json:"id"`
	HoldID    string    `json:"h"`
	User      string    `json:"u"`
	Seats     []uint32  `json:"seats,omitempty"`
	General   []snapGA  `json:"ga,omitempty"`
	Quantity  int       `json:"q"`
	Amount    int64     `json:"a"`
	Status    string    `json:"st"`
	DueAt     int64     `json:"due"`
	CreatedAt int64     `json:"c"`
	History   []History `json:"hist"`
	Events    int       `json:"ev"`
	Seen      []string  `json:"seen,omitempty"`
	Token     string    `json:"tok,omitempty"` // read from old snapshots and ignored: payment tokens are no longer kept
	IdemKey   string    `json:"ik,omitempty"`
	// version 2
	HoldCreatedAt int64          `json:"hc,omitempty"`
	HoldExpiresAt int64          `json:"he,omitempty"`
	Done          int64          `json:"done,omitempty"`
	Attempt       string         `json:"att,omitempty"`
	Attempts      []string       `json:"atts,omitempty"`
	Refunds       []string       `json:"refs,omitempty"`
	ga            []facts.GAPart // from state rows: GA parts by section index (instead of General)
}

// snapIdem is an idempotency key; ID is the order (Idem) or the hold (HoldIdem) it made.
type snapIdem struct {
	Key  string `json:"k"`
	ID   string `json:"o"`
	Hash string `json:"h"`
	At   int64  `json:"t"`
}

type snapUser struct {
	User string `json:"u"`
	N    int    `json:"n"`
}

type snapshot struct {
	Version int         `json:"v"`
	Shard   int         `json:"shard"`
	Config  *ShowConfig `json:"config,omitempty"`
	Seq     uint64      `json:"seq"`
	Now     int64       `json:"now"`
	Seats   []byte      `json:"seats"`
	Holds   []snapHold  `json:"holds"`
	Expired []idAt      `json:"expired"`
	Orders  []snapOrder `json:"orders"`
	Idem    []snapIdem  `json:"idem"`
	// version 2
	HoldIdem  []snapIdem `json:"hidem,omitempty"`
	ArchSold  []snapGA   `json:"asold,omitempty"`  // per section: sold seats/units of archived orders
	ArchUsers []snapUser `json:"ausers,omitempty"` // per user: seats of archived paid orders
	// ExpiredUsers are the users of Expired, in the same order (absent in older snapshots: no ownership check)
	ExpiredUsers []string `json:"eusers,omitempty"`
	// the waiting room and the waitlist (room_snapshot.go); absent before them
	Room     *snapRoom     `json:"room,omitempty"`
	Waitlist *snapWaitlist `json:"waitlist,omitempty"`
}

func (e idAt) MarshalJSON() ([]byte, error) { return json.Marshal([2]any{e.id, e.at}) }
func (e *idAt) UnmarshalJSON(b []byte) error {
	var v [2]json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if err := json.Unmarshal(v[0], &e.id); err != nil {
		return err
	}
	return json.Unmarshal(v[1], &e.at)
}

func snapParts(parts []gaPart) []snapGA {
	var out []snapGA
	for _, g := range parts {
		out = append(out, snapGA{Sec: g.sec.id, N: g.n})
	}
	return out
}

// Snapshot encodes the whole state canonically (every state row, in key
// order, see Rows): the same state always gives the same bytes. Pending Ready
// output is not part of it (take Ready first). Restore reads it back.
func (s *Shard) Snapshot() ([]byte, error) { return facts.EncodeSnapshot(s.seq, s.Rows()), nil }

// legacySnapshot encodes the state in the JSON snapshot format of the
// version before state rows (which Restore still reads), for tests.
func (s *Shard) legacySnapshot() ([]byte, error) { return json.Marshal(s.snapshot()) }

func (s *Shard) snapshot() snapshot {
	sn := snapshot{Version: snapshotVersion, Shard: s.shard, Seq: s.seq, Now: s.lastNow, Seats: []byte{}}
	if s.created {
		cfg := s.cfg
		sn.Config = &cfg
		sn.Seats = make([]byte, len(s.seats))
		for i, st := range s.seats {
			sn.Seats[i] = byte(st)
		}
	}
	for slot := range s.holds.all() {
		h := s.holds.at(slot)
		tk := s.takes.at(h.take)
		sn.Holds = append(sn.Holds, snapHold{ID: s.holds.id(slot), User: s.users.name(h.user), Seats: tk.seats, General: snapParts(tk.general),
			Quantity: int(h.quantity), Amount: tk.amount, CreatedAt: h.createdAt, ExpiresAt: h.expiresAt})
	}
	sort.Slice(sn.Holds, func(i, j int) bool { return sn.Holds[i].ID < sn.Holds[j].ID })
	sn.Expired = append([]idAt{}, s.expiredFIFO...)
	sortIDAt(sn.Expired)
	for _, e := range sn.Expired {
		sn.ExpiredUsers = append(sn.ExpiredUsers, s.expiredUsers[e.id])
	}
	for _, o := range s.orders {
		so := snapOrder{ID: o.id, HoldID: o.holdID, User: o.user, Seats: o.seats, General: snapParts(o.general),
			Quantity: o.quantity, Amount: o.amount, Status: o.status, DueAt: o.dueAt, CreatedAt: o.createdAt,
			History: o.history, Events: o.events, IdemKey: o.idemKey,
			HoldCreatedAt: o.holdCreatedAt, HoldExpiresAt: o.holdExpiresAt, Done: o.doneAt,
			Attempt: o.attempt, Attempts: o.attempts, Refunds: o.refunds}
		for id := range o.seen {
			so.Seen = append(so.Seen, id)
		}
		sort.Strings(so.Seen)
		sn.Orders = append(sn.Orders, so)
	}
	sort.Slice(sn.Orders, func(i, j int) bool { return sn.Orders[i].ID < sn.Orders[j].ID })
	sn.Idem = snapKeys(s.idem)
	sn.HoldIdem = snapKeys(s.holdIdem)
	for _, sec := range s.sections {
		if sec.archSold > 0 {
			sn.ArchSold = append(sn.ArchSold, snapGA{Sec: sec.id, N: sec.archSold})
		}
	}
	for u, n := range s.archUsers {
		sn.ArchUsers = append(sn.ArchUsers, snapUser{User: u, N: n})
	}
	sort.Slice(sn.ArchUsers, func(i, j int) bool { return sn.ArchUsers[i].User < sn.ArchUsers[j].User })
	sn.Room, sn.Waitlist = s.snapRoom(), s.snapWaitlist()
	return sn
}

func snapKeys(m map[string]idemEntry) []snapIdem {
	var out []snapIdem
	for k, e := range m {
		out = append(out, snapIdem{Key: k, ID: e.id, Hash: e.hash, At: e.at})
	}
	sortKeys(out)
	return out
}

// sortKeys orders idempotency keys as their FIFO: by instant, then key.
func sortKeys(out []snapIdem) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].At != out[j].At {
			return out[i].At < out[j].At
		}
		return out[i].Key < out[j].Key
	})
}

func sortIDAt(v []idAt) {
	sort.Slice(v, func(i, j int) bool {
		if v[i].at != v[j].at {
			return v[i].at < v[j].at
		}
		return v[i].id < v[j].id
	})
}

// Restore rebuilds a shard from a Snapshot, or from a snapshot of the JSON
// format before state rows (versions 1 and 2). Counters, tallies and timers
// are recomputed from the seats, holds and orders, then the invariants are
// checked. The shard's RowsBase is the snapshot's seq.
func Restore(data []byte) (*Shard, error) {
	if !facts.IsLegacy(data) {
		seq, rows, err := facts.DecodeSnapshot(data)
		if err != nil {
			return nil, fmt.Errorf("seatmap: bad snapshot: %w", err)
		}
		r := NewRestorer()
		for _, row := range rows {
			if err := r.Add(row.Key, row.Value); err != nil {
				return nil, err
			}
		}
		s, err := r.Finish()
		if err == nil && s.seq != seq {
			err = fmt.Errorf("seatmap: snapshot at seq %d holds the state of seq %d", seq, s.seq)
		}
		return s, err
	}
	var sn snapshot
	if err := json.Unmarshal(data, &sn); err != nil {
		return nil, fmt.Errorf("seatmap: bad snapshot: %w", err)
	}
	if sn.Version != snapshotVersion && sn.Version != 1 {
		return nil, fmt.Errorf("seatmap: snapshot version %d, want %d", sn.Version, snapshotVersion)
	}
	s, err := restore(&sn)
	if err != nil {
		return nil, err
	}
	s.rowsBase = sn.Seq
	return s, nil
}

// restore builds a shard from a decoded snapshot (JSON, or state rows).
func restore(sn *snapshot) (*Shard, error) {
	s := New(sn.Shard)
	s.seq, s.lastNow = sn.Seq, sn.Now
	if sn.Config == nil {
		return s, nil
	}
	cfg := *sn.Config
	cfg.Normalize() // a version 1 config may name sections_per_shard and lack archive_after_seconds
	s.build(cfg)
	if err := s.restoreState(sn); err != nil {
		return nil, err
	}
	return s, nil
}

// restoreHold adds a live hold to a built shard being restored (its timer
// is ordered by restoreState).
func (s *Shard) restoreHold(id, user string, seats []uint32, general []gaPart, amount int64, quantity int32, createdAt, expiresAt int64) error {
	k, canon := s.holds.canonical(id)
	return s.restoreHoldTake(id, k, canon, user, s.newTake(seats, general, amount), quantity, createdAt, expiresAt)
}

// restoreHoldTake is restoreHold with the bits of id's token parsed
// already (token: id ends in a canonical token; see RowBatch) and its take
// made (newTake).
func (s *Shard) restoreHoldTake(id string, k idKey, token bool, user string, take uint32, quantity int32, createdAt, expiresAt int64) error {
	slot, ok := s.holds.addKeyed(id, k, token && s.holds.prefixed(id), holdSlot{take: take, quantity: quantity, createdAt: createdAt, expiresAt: expiresAt}, false)
	if !ok {
		s.takes.drop(take)
		return fmt.Errorf("seatmap: snapshot has hold %s twice", id)
	}
	s.holds.at(slot).user = s.users.addHold(user, int(quantity))
	s.activeHolds++
	s.addGA(s.takes.at(take).general, Held)
	return nil
}

// restoreState fills a built shard from sn (the holds already restored by
// restoreHold stay), and checks it.
func (s *Shard) restoreState(sn *snapshot) error {
	if len(sn.Seats) != len(s.seats) {
		return fmt.Errorf("seatmap: snapshot has %d seats, the config %d", len(sn.Seats), len(s.seats))
	}
	for i, b := range sn.Seats {
		if SeatState(b) >= numStates {
			return fmt.Errorf("seatmap: seat %d has state %d", i, b)
		}
		if SeatState(b) != Available {
			s.setSeat(uint32(i), SeatState(b))
		}
	}
	s.inv = invTrack{} // restoring is no change to report
	parts := func(in []snapGA, byIndex []facts.GAPart) ([]gaPart, error) {
		if byIndex != nil {
			return s.gaParts(byIndex)
		}
		var out []gaPart
		for _, g := range in {
			sec, ok := s.secByID[g.Sec]
			if !ok || !sec.ga {
				return nil, fmt.Errorf("seatmap: snapshot names GA section %q", g.Sec)
			}
			out = append(out, gaPart{sec: sec, n: g.N})
		}
		return out, nil
	}
	converted := map[string]snapHold{} // version 1: holds that became orders
	for _, sh := range sn.Holds {
		if sh.OrderID != "" {
			converted[sh.ID] = sh
			continue
		}
		gp, err := parts(sh.General, sh.ga)
		if err != nil {
			return err
		}
		if err := s.restoreHold(sh.ID, sh.User, sh.Seats, gp, sh.Amount, int32(sh.Quantity), sh.CreatedAt, sh.ExpiresAt); err != nil {
			return err
		}
	}
	s.holds.initTimers()
	for i, e := range sn.Expired {
		s.expiredHolds[e.id] = e.at
		s.expiredFIFO = append(s.expiredFIFO, e)
		if i < len(sn.ExpiredUsers) && sn.ExpiredUsers[i] != "" {
			s.expiredUsers[e.id] = sn.ExpiredUsers[i]
		}
	}
	for _, so := range sn.Orders {
		gp, err := parts(so.General, so.ga)
		if err != nil {
			return err
		}
		o := &order{id: so.ID, holdID: so.HoldID, user: so.User, seats: so.Seats, seatIDs: s.seatIDs(so.Seats), general: gp, quantity: so.Quantity,
			amount: so.Amount, status: so.Status, dueAt: so.DueAt, createdAt: so.CreatedAt, history: so.History,
			events: so.Events, idemKey: so.IdemKey, holdCreatedAt: so.HoldCreatedAt,
			holdExpiresAt: so.HoldExpiresAt, doneAt: so.Done, attempt: so.Attempt, attempts: so.Attempts, refunds: so.Refunds}
		for _, id := range so.Seen {
			s.see(o, id)
		}
		if sh, ok := converted[o.holdID]; ok && sn.Version == 1 {
			o.holdCreatedAt, o.holdExpiresAt = sh.CreatedAt, sh.ExpiresAt
		}
		if _, dup := s.orders[o.id]; dup {
			return fmt.Errorf("seatmap: snapshot has order %s twice", o.id)
		}
		if _, dup := s.holdOrder[o.holdID]; dup {
			return fmt.Errorf("seatmap: snapshot has two orders of hold %s", o.holdID)
		}
		s.orders[o.id] = o
		s.holdOrder[o.holdID] = o.id
		if o.terminal() {
			if sn.Version == 1 { // terminal since its last status entry
				for i := len(o.history) - 1; i >= 0; i-- {
					if o.history[i].Status == o.status {
						o.doneAt = o.history[i].At
						break
					}
				}
			}
			o.tm = s.orderTimers.arm(&o.tmv, o.id, o.doneAt+s.cfg.ArchiveAfterMs())
		}
		switch o.status {
		case StatusPendingPayment:
			o.tm = s.orderTimers.arm(&o.tmv, o.id, o.dueAt)
			fallthrough
		case StatusPaymentProcessing:
			s.users.add(o.user, o.quantity)
			s.addGA(gp, Reserved)
		case StatusPaid:
			s.users.add(o.user, o.quantity)
			s.addGA(gp, Sold)
		}
	}
	for _, e := range sn.Idem {
		s.idem[e.Key] = idemEntry{id: e.ID, hash: e.Hash, at: e.At}
		s.idemFIFO = append(s.idemFIFO, idAt{id: e.Key, at: e.At})
	}
	for _, e := range sn.HoldIdem {
		s.holdIdem[e.Key] = idemEntry{id: e.ID, hash: e.Hash, at: e.At}
		s.holdIdemFIFO = append(s.holdIdemFIFO, idAt{id: e.Key, at: e.At})
	}
	for _, g := range sn.ArchSold {
		sec, ok := s.secByID[g.Sec]
		if !ok || g.N <= 0 {
			return fmt.Errorf("seatmap: snapshot has %d archived sales in section %q", g.N, g.Sec)
		}
		sec.archSold = g.N
		if sec.ga {
			s.addGA([]gaPart{{sec: sec, n: g.N}}, Sold)
		}
	}
	for _, u := range sn.ArchUsers {
		if u.N <= 0 {
			return fmt.Errorf("seatmap: snapshot has %d archived seats of user %q", u.N, u.User)
		}
		s.archUsers[u.User] = u.N
		s.users.add(u.User, u.N)
	}
	if err := s.restoreRoom(sn.Room, sn.Waitlist); err != nil {
		return err
	}
	if err := s.checkRestored(); err != nil {
		return fmt.Errorf("seatmap: restored snapshot is inconsistent: %w", err)
	}
	s.dirty = dirtySet{} // restoring changes no row
	return nil
}

// fullCheckUpTo is the size (holds and orders) up to which a restore checks
// every invariant (CheckInvariants, O(state) with maps); past it, a
// production build checks the counters only (O(sections)), so that a
// stadium recovers in a second. Tests and the invariants build check all.
const fullCheckUpTo = 100_000

func (s *Shard) checkRestored() error {
	if invariantsBuild || s.holds.len()+len(s.orders) <= fullCheckUpTo {
		return s.CheckInvariants()
	}
	for _, sec := range s.sections {
		c := sec.counts
		if c[Available]+c[Held]+c[Reserved]+c[Sold] != sec.cap || min(c[0], c[1], c[2], c[3]) < 0 {
			return fmt.Errorf("section %s: %d+%d+%d+%d != capacity %d", sec.id, c[0], c[1], c[2], c[3], sec.cap)
		}
	}
	return nil
}

func (s *Shard) addGA(parts []gaPart, st SeatState) {
	for _, g := range parts {
		g.sec.counts[Available] -= g.n
		g.sec.counts[st] += g.n
	}
}

// Fingerprint is a short hash of the canonical state (every state row),
// for comparing replicas. It leaves out the latest instant seen, which reads
// and failed commands move without changing state.
func Fingerprint(s *Shard) string { return fingerprint(s, 0) }

// fingerprint is Fingerprint without the rows of kind skip (0: none).
func fingerprint(s *Shard, skip facts.RowKind) string {
	h := sha256.New()
	for _, r := range s.Rows() {
		if skip != 0 && r.Key[0] == byte(skip) {
			continue
		}
		if r.Key == facts.RowKey(facts.RowMeta, "") {
			m, _ := facts.DecodeMeta(r.Value)
			m.Now = 0
			r.Value = facts.EncodeMeta(m)
		}
		fmt.Fprintf(h, "%d:%s%d:", len(r.Key), r.Key, len(r.Value))
		h.Write(r.Value)
	}
	return fmt.Sprintf("seq=%d %s", s.seq, hex.EncodeToString(h.Sum(nil)[:8]))
}
