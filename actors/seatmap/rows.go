package seatmap

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/boxoffice/boxoffice/facts"
)

// State rows. The shard's durable state is a set of keyed rows (package
// facts: one per live hold, order, expired hold, idempotency key, row of
// seats, archived tally, plus the config and the position). Every fact marks
// the rows it changes; Ready hands out the changed rows, encoded, so a
// checkpoint costs what the turn changed, never the size of the show. A store
// that applies each Ready's rows once its records are durable holds the state
// at Ready.RowsSeq, and recovery is a scan of the rows plus the records after
// them (Restorer). Rows hands out every row (a full checkpoint, for a store
// that has none yet).

// dirtySet lists the rows changed since the last Ready. Lists may repeat an
// item; changedRows deduplicates.
type dirtySet struct {
	config, meta bool
	room         bool     // the room row (room_facts.go)
	seats        []uint32 // first seat of each changed run of seats (facts.SeatRun)
	archSold     []int    // sections (config index)
	archUsers    []string
	holds        []holdMark
	expired      []string
	orders       []string
	orderKeys    []string
	holdKeys     []string
	releasedAt   []int64 // milliseconds with released hold ids remembered or forgotten (released.go)
	// legacyReleased: ids of the rows of released hold ids of the format
	// before facts.RowReleasedAt, a restore read (delete: rewritten by ms)
	legacyReleased []string
}

// holdMark is a changed hold's row: its id, and the slot and key it had
// when marked (key zero for an id of the side table): changedRows finds the
// hold there without a lookup by id when the slot still holds that key (a
// live hold's key is unique), else by id (it left, or moved: a compaction);
// issue 12: the lookup was a cache miss per hold on the show's serial path.
type holdMark struct {
	id     string
	key    idKey
	slot   uint32
	placed bool // the hold was placed in this turn: its row is New
}

// hold marks the row of hold id, live in slot under key (or leaving it).
func (d *dirtySet) hold(id string, slot uint32, key idKey) {
	d.holds = append(d.holds, holdMark{id: id, key: key, slot: slot})
}

// placedHold marks the row of hold id, placed in slot under key.
func (d *dirtySet) placedHold(id string, slot uint32, key idKey) {
	d.holds = append(d.holds, holdMark{id: id, key: key, slot: slot, placed: true})
}

// compareMarks orders marks as their ids compare: canonical keys compare
// as their ids do (holdslab.go), and two canonical ids of one shard share
// its prefix; any other pair compares its ids.
func compareMarks(a, b holdMark) int {
	if a.key != (idKey{}) && b.key != (idKey{}) {
		switch {
		case a.key.less(b.key):
			return -1
		case b.key.less(a.key):
			return 1
		}
		return 0
	}
	return strings.Compare(a.id, b.id)
}

// dedupeMarks drops repeated marks, in place. When every mark has its key
// (the usual case: canonical ids), it keeps the first of each in the order
// they came, by a hash set of the keys in scratch (O(n): sorting a group's
// hundreds of ids was a tenth of a flush); otherwise it sorts them by id.
func dedupeMarks(l []holdMark, scratch *[]int32) []holdMark {
	if len(l) < 2 {
		return l
	}
	for _, m := range l {
		if m.key == (idKey{}) {
			slices.SortFunc(l, compareMarks)
			n := 0
			for i := range l {
				if n > 0 && l[n-1].id == l[i].id {
					l[n-1].placed = l[n-1].placed || l[i].placed
					continue
				}
				l[n] = l[i]
				n++
			}
			clear(l[n:])
			return l[:n]
		}
	}
	return firstOfEach(l, func(m *holdMark) idKey { return m.key }, scratch) // a hold's placing mark is its first
}

// firstOfEach keeps the first item of each key in l, in order, in place, by
// a hash set of the keys in scratch. Every item has a key (a canonical id's).
func firstOfEach[T any](l []T, key func(*T) idKey, scratch *[]int32) []T {
	size := 4
	for size < 2*len(l) {
		size *= 2
	}
	if cap(*scratch) < size {
		*scratch = make([]int32, size)
	}
	set := (*scratch)[:size]
	clear(set)
	mask := uint64(size - 1)
	n := 0
	for j := range l {
		k := key(&l[j])
		i := (k.hi ^ k.lo) * 0x9e3779b97f4a7c15 >> 32 & mask // keys are random bits
		for ; set[i] != 0 && key(&l[set[i]-1]) != k; i = (i + 1) & mask {
		}
		if set[i] != 0 {
			continue // a repeat (same key, same id)
		}
		l[n] = l[j]
		n++
		set[i] = int32(n)
	}
	clear(l[n:])
	if size > 1<<14 {
		*scratch = nil // left by a long replay: memory follows live work
	}
	return l[:n]
}

// appendMarkedRows appends the rows of the marked holds to rows: a live
// hold's from its slot when the slot still holds its key, else (gone) a
// deletion. The rows' keys share one string and their values a few byte
// arrays (two allocations per hold row less, on the actor's flush: issue
// 12); a consumer that keeps a row keeps its neighbours' bytes too, as a
// journal group does until it is written. With held non-nil a live hold's
// value is left nil and its data captured into *held (ReadyDeferred).
func (s *Shard) appendMarkedRows(rows []facts.Row, marks []holdMark, held *[]heldRow) []facts.Row {
	if len(marks) == 0 {
		return rows
	}
	var vals byteArena
	if held == nil {
		vals.hint = min(len(marks)*holdRowGuess, arenaChunk)
	} else if *held == nil {
		*held = make([]heldRow, 0, len(marks))
	}
	first := len(rows)
	for _, m := range marks {
		r := facts.Row{New: m.placed}
		if slot, ok := s.markedSlot(m); ok {
			if h := s.heldRowAt(slot); held == nil {
				r.Value = h.encode(&vals)
			} else {
				h.at = len(rows)
				*held = append(*held, h)
			}
		}
		rows = append(rows, r)
	}
	setRowKeys(rows[first:], facts.RowHold, func(i int) string { return marks[i].id })
	return rows
}

// setRowKeys sets the key of each of rows to kind and id(i), all of them
// slices of one string (an allocation per row less: issue 12).
func setRowKeys(rows []facts.Row, kind facts.RowKind, id func(i int) string) {
	keyLen := 0
	for i := range rows {
		keyLen += 1 + len(id(i))
	}
	var keys strings.Builder // its String copies nothing
	keys.Grow(keyLen)
	for i := range rows {
		keys.WriteByte(byte(kind))
		keys.WriteString(id(i))
	}
	all, at := keys.String(), 0
	for i := range rows {
		n := 1 + len(id(i))
		rows[i].Key = all[at : at+n]
		at += n
	}
}

// markedSlot returns the slot of a marked hold that is live: its mark's
// slot when that still holds its key, else by its id.
func (s *Shard) markedSlot(m holdMark) (uint32, bool) {
	if m.key != (idKey{}) && m.slot < s.holds.slab.n {
		if h := s.holds.at(m.slot); h.take != 0 && h.key == m.key {
			return m.slot, true
		}
	}
	return s.holds.get(m.id)
}

// byteArena hands out byte slices from shared arrays of hint bytes (or
// what one slice needs, if more).
type byteArena struct {
	buf  []byte
	hint int
}

// arenaChunk caps the arrays of a byteArena; holdRowGuess is about the
// size of a GA hold's row value (~50 B with a short user name).
const (
	arenaChunk   = 8 << 10
	holdRowGuess = 56
)

// appendTo returns an empty slice with room for n bytes: append to it, then
// keep the result.
func (a *byteArena) appendTo(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(n, a.hint))
	}
	return a.buf[len(a.buf) : len(a.buf) : len(a.buf)+n]
}

// keep takes v (from appendTo(n), appended to) into the arena and returns
// it with its capacity cut to its length (an append by its user copies).
func (a *byteArena) keep(v []byte, n int) []byte {
	if len(v) <= n { // written in place
		a.buf = a.buf[:len(a.buf)+len(v)]
	}
	return v[:len(v):len(v)]
}

func (d *dirtySet) seat(base uint32) {
	if n := len(d.seats); n == 0 || d.seats[n-1] != base {
		d.seats = append(d.seats, base)
	}
}

func (d *dirtySet) empty() bool {
	return !d.config && !d.meta && !d.room && len(d.seats)+len(d.archSold)+len(d.archUsers)+len(d.holds)+len(d.expired)+
		len(d.orders)+len(d.orderKeys)+len(d.holdKeys)+len(d.releasedAt)+len(d.legacyReleased) == 0
}

// markArchived marks the rows a terminal order's archiving changes.
func (s *Shard) markArchived(o *order) {
	s.dirty.orders = append(s.dirty.orders, o.id)
	if o.status != StatusPaid {
		return
	}
	s.dirty.archUsers = append(s.dirty.archUsers, o.user)
	for _, seat := range o.seats {
		sec, _ := s.locate(seat)
		s.dirty.archSold = append(s.dirty.archSold, sec.idx)
	}
	for _, g := range o.general {
		s.dirty.archSold = append(s.dirty.archSold, g.sec.idx)
	}
}

// RowsBase is the seq of the state rows the shard was restored from (0 for
// a new shard): the changed rows Ready hands out since cover every change
// after it. A store whose rows are older must take every row (Rows) instead.
func (s *Shard) RowsBase() uint64 { return s.rowsBase }

// changedRows encodes the rows changed since the last call, and forgets them.
// With held non-nil, the live holds' row values are captured into *held
// instead of encoded (ReadyDeferred).
func (s *Shard) changedRows(held *[]heldRow) []facts.Row {
	d := &s.dirty
	if d.empty() {
		return nil
	}
	rows := make([]facts.Row, 0, 3+len(d.seats)+len(d.archSold)+len(d.archUsers)+len(d.holds)+len(d.expired)+
		len(d.orders)+len(d.orderKeys)+len(d.holdKeys)+len(d.releasedAt)+len(d.legacyReleased)) // at most: no growth copies
	if d.config {
		rows = append(rows, s.configRow())
	}
	if d.meta {
		rows = append(rows, s.metaRow())
	}
	if d.room && s.hasRoom() {
		rows = append(rows, s.roomRow())
	}
	for _, base := range dedupe(d.seats) {
		rows = append(rows, s.seatRow(base))
	}
	for _, i := range dedupe(d.archSold) {
		rows = append(rows, s.archSoldRow(s.sectionAt(i)))
	}
	for _, u := range dedupe(d.archUsers) {
		rows = append(rows, s.archUserRow(u))
	}
	rows = s.appendMarkedRows(rows, dedupeMarks(d.holds, &s.markSet), held)
	for _, id := range dedupe(d.expired) {
		rows = append(rows, s.expiredRow(id))
	}
	for _, id := range dedupe(d.orders) {
		rows = append(rows, s.orderRow(id))
	}
	for _, k := range dedupe(d.orderKeys) {
		rows = append(rows, keyRow(facts.RowOrderKey, k, s.idem))
	}
	for _, k := range dedupe(d.holdKeys) {
		rows = append(rows, keyRow(facts.RowHoldKey, k, s.holdIdem))
	}
	rows = s.appendReleasedAtRows(rows, dedupe(d.releasedAt), true)
	for _, id := range d.legacyReleased {
		rows = append(rows, facts.Row{Key: facts.RowKey(facts.RowReleased, id)})
	}
	*d = dirtySet{seats: reuse(d.seats), archSold: reuse(d.archSold), archUsers: reuse(d.archUsers),
		holds: reuse(d.holds), expired: reuse(d.expired), orders: reuse(d.orders), orderKeys: reuse(d.orderKeys),
		holdKeys: reuse(d.holdKeys), releasedAt: reuse(d.releasedAt)}
	return rows
}

// reuse empties l for the next turn, keeping a small backing array (a big
// one, left by a long replay, goes: memory follows live work).
func reuse[T any](l []T) []T {
	if cap(l) > 4096 {
		return nil
	}
	clear(l)
	return l[:0]
}

// dedupe sorts l and drops repeats, in place.
func dedupe[T int | int64 | uint32 | string](l []T) []T {
	if len(l) < 2 {
		return l
	}
	slices.Sort(l)
	return slices.Compact(l)
}

// Rows returns every state row of the shard, in key order: a full
// checkpoint at Seq (a snapshot; see AllRows for a store).
func (s *Shard) Rows() []facts.Row {
	rows := s.AllRows()
	slices.SortFunc(rows, func(a, b facts.Row) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return rows
}

// AllRows returns every state row of the shard, in no order: a full
// checkpoint at Seq, for a store that orders what it takes (Pebble, Redis).
// It costs the size of the state; the shell calls it only to seed a store
// that has no rows yet (or older ones than RowsBase).
func (s *Shard) AllRows() []facts.Row {
	rows := make([]facts.Row, 0, 2+s.holds.len()+len(s.orders)+len(s.expiredHolds)+s.released.len())
	rows = append(rows, s.metaRow())
	if !s.created {
		return rows
	}
	rows = append(rows, s.configRow())
	if s.hasRoom() {
		rows = append(rows, s.roomRow())
	}
	for base := 0; base < len(s.seats); base += facts.SeatRun {
		if !allAvailable(s.seats[base:min(base+facts.SeatRun, len(s.seats))]) {
			rows = append(rows, s.seatRow(uint32(base)))
		}
	}
	for _, sec := range s.sections {
		if sec.archSold > 0 {
			rows = append(rows, s.archSoldRow(sec))
		}
	}
	for u := range s.archUsers {
		rows = append(rows, s.archUserRow(u))
	}
	for slot := range s.holds.all() {
		rows = append(rows, s.holdRowAt(slot, s.holds.id(slot)))
	}
	for id := range s.expiredHolds {
		rows = append(rows, s.expiredRow(id))
	}
	for id := range s.orders {
		rows = append(rows, s.orderRow(id))
	}
	for k := range s.idem {
		rows = append(rows, keyRow(facts.RowOrderKey, k, s.idem))
	}
	for k := range s.holdIdem {
		rows = append(rows, keyRow(facts.RowHoldKey, k, s.holdIdem))
	}
	return s.appendReleasedRows(rows)
}

func allAvailable(states []SeatState) bool {
	for _, st := range states {
		if st != Available {
			return false
		}
	}
	return true
}

func (s *Shard) configRow() facts.Row {
	doc, err := json.Marshal(s.cfg)
	if err != nil {
		panic("seatmap: the config does not marshal: " + err.Error()) // it came from JSON
	}
	return facts.Row{Key: facts.RowKey(facts.RowConfig, ""), Value: facts.EncodeConfig(doc)}
}

func (s *Shard) metaRow() facts.Row {
	return facts.Row{Key: facts.RowKey(facts.RowMeta, ""), Value: facts.EncodeMeta(facts.MetaRow{Seq: s.seq, Now: s.lastNow,
		Shard: int32(s.shard), Holds: int64(s.holds.len()), Orders: int64(len(s.orders)), Users: int64(s.users.len())})}
}

// seatRow is the row of the run of seats from base (a multiple of facts.SeatRun).
func (s *Shard) seatRow(base uint32) facts.Row {
	run := s.seats[base:min(int(base)+facts.SeatRun, len(s.seats))]
	states := make([]byte, len(run))
	for i, st := range run {
		states[i] = byte(st)
	}
	return facts.Row{Key: facts.RowIndexKey(facts.RowSeats, base), Value: facts.EncodeSeats(states)}
}

func (s *Shard) archSoldRow(sec *section) facts.Row {
	r := facts.Row{Key: facts.RowIndexKey(facts.RowArchSold, uint32(sec.idx))}
	if sec.archSold > 0 {
		r.Value = facts.EncodeCount(int64(sec.archSold))
	}
	return r
}

func (s *Shard) archUserRow(u string) facts.Row {
	r := facts.Row{Key: facts.RowKey(facts.RowArchUser, u)}
	if n := s.archUsers[u]; n > 0 {
		r.Value = facts.EncodeCount(int64(n))
	}
	return r
}

func (s *Shard) holdRow(id string) facts.Row {
	if slot, ok := s.holds.get(id); ok {
		return s.holdRowAt(slot, id)
	}
	return facts.Row{Key: facts.RowKey(facts.RowHold, id)}
}

// holdRowAt is the row of the live hold id in slot.
func (s *Shard) holdRowAt(slot uint32, id string) facts.Row {
	return facts.Row{Key: facts.RowKey(facts.RowHold, id), Value: s.holdValueAt(slot, nil)}
}

// holdValueAt encodes the row value of the live hold in slot.
func (s *Shard) holdValueAt(slot uint32, arena *byteArena) []byte {
	h := s.heldRowAt(slot)
	return h.encode(arena)
}

// heldRow is what a live hold's row value is made of, captured at a Ready:
// values, and slices the shard never writes into again (a take's seats and
// GA parts live as they were made until the take is dropped; a section's idx
// never changes), so that another goroutine may encode it while the shard
// goes on (Ready.EncodeRows).
type heldRow struct {
	at        int // its row in Ready.Rows
	user      string
	seats     []uint32
	general   []gaPart
	quantity  int32
	amount    int64
	createdAt int64
	expiresAt int64
}

func (s *Shard) heldRowAt(slot uint32) heldRow {
	h := s.holds.at(slot)
	tk := s.takes.at(h.take)
	return heldRow{user: s.users.name(h.user), seats: tk.seats, general: tk.general, quantity: h.quantity,
		amount: tk.amount, createdAt: h.createdAt, expiresAt: h.expiresAt}
}

// encode encodes the row value: into arena, or its own array when arena is
// nil.
func (h *heldRow) encode(arena *byteArena) []byte {
	var gaBuf [2]facts.GAPart // on the stack: factParts allocated one a row
	ga := gaBuf[:0]
	for _, g := range h.general {
		ga = append(ga, facts.GAPart{Section: uint32(g.sec.idx), N: uint32(g.n)})
	}
	hr := facts.HoldRow{User: h.user, Seats: h.seats, GA: ga, Quantity: int64(h.quantity),
		Amount: h.amount, CreatedAt: h.createdAt, ExpiresAt: h.expiresAt}
	n := 48 + len(h.user) + 4*len(h.seats) + 16*len(h.general)
	if arena == nil {
		return facts.AppendHold(make([]byte, 0, n), &hr)
	}
	return arena.keep(facts.AppendHold(arena.appendTo(n), &hr), n)
}

func (s *Shard) expiredRow(id string) facts.Row {
	r := facts.Row{Key: facts.RowKey(facts.RowExpired, id)}
	if at, ok := s.expiredHolds[id]; ok {
		r.Value = facts.EncodeExpired(facts.ExpiredRow{At: at, User: s.expiredUsers[id]})
	}
	return r
}

func (s *Shard) orderRow(id string) facts.Row {
	r := facts.Row{Key: facts.RowKey(facts.RowOrder, id)}
	o, ok := s.orders[id]
	if !ok {
		return r
	}
	or := facts.OrderRow{HoldID: o.holdID, User: o.user, Seats: o.seats, GA: factParts(o.general),
		Quantity: int64(o.quantity), Amount: o.amount, Status: o.status, DueAt: o.dueAt, CreatedAt: o.createdAt,
		History: o.history, Events: int64(o.events), IdemKey: o.idemKey, HoldCreatedAt: o.holdCreatedAt,
		HoldExpiresAt: o.holdExpiresAt, DoneAt: o.doneAt, Attempt: o.attempt, Attempts: o.attempts, Refunds: o.refunds}
	for k := range o.seen {
		or.Seen = append(or.Seen, k)
	}
	slices.Sort(or.Seen)
	r.Value = facts.EncodeOrder(&or)
	return r
}

func keyRow(kind facts.RowKind, key string, m map[string]idemEntry) facts.Row {
	r := facts.Row{Key: facts.RowKey(kind, key)}
	if e, ok := m[key]; ok {
		r.Value = facts.EncodeKey(facts.KeyRow{ID: e.id, Hash: e.hash, At: e.at})
	}
	return r
}

// Restorer rebuilds a shard from its state rows, given in any order (a
// store's key order is the fast one: config and position first, so holds
// are built as they come, without buffering).
// Callers' duties: Add every row of one consistent state, then Finish once.
type Restorer struct {
	sn      snapshot // what is not built as it comes
	doc     []byte
	meta    *facts.MetaRow
	s       *Shard      // built once the config and the position are known
	pending []facts.Row // hold rows that came before them (copies)
	// decoded hold rows (AddBatch) that came before them, their GA parts
	pendingHolds []batchHold
	pendingGA    []facts.GAPart
	shared       sharedTake // the last shared take (AddBatch)
	seats        map[uint32][]byte
	archSold     map[uint32]int
	expUsers     map[string]string
	released     []idAt // released hold ids and when
	// legacyReleased: those of them in rows of the format before
	// facts.RowReleasedAt (the first Ready after Finish rewrites them)
	legacyReleased []idAt
	n              int
	hold           facts.HoldRow // scratch: its GA array is reused (gaParts copies or interns it)
}

// NewRestorer returns an empty Restorer.
func NewRestorer() *Restorer {
	return &Restorer{seats: map[uint32][]byte{}, archSold: map[uint32]int{}, expUsers: map[string]string{}}
}

// Rows is how many rows were added.
func (r *Restorer) Rows() int { return r.n }

// Add takes one row. It copies what it keeps: key and value may be reused
// by the caller afterwards.
func (r *Restorer) Add(key string, value []byte) error {
	kind, id, err := facts.SplitRowKey(key)
	if err != nil {
		return err
	}
	r.n++
	if err := r.add(kind, id, value); err != nil {
		return fmt.Errorf("seatmap: row %q: %w", key, err)
	}
	return nil
}

func (r *Restorer) add(kind facts.RowKind, id string, value []byte) error {
	sn := &r.sn
	switch kind {
	case facts.RowConfig:
		doc, err := facts.DecodeConfig(value)
		if err != nil {
			return err
		}
		r.doc = append([]byte(nil), doc...)
		return r.build()
	case facts.RowMeta:
		m, err := facts.DecodeMeta(value)
		if err != nil {
			return err
		}
		r.meta = &m
		return r.build()
	case facts.RowSeats, facts.RowArchSold:
		i, err := facts.RowIndex(id)
		if err != nil {
			return err
		}
		if kind == facts.RowArchSold {
			n, err := facts.DecodeCount(value)
			r.archSold[i] = int(n)
			return err
		}
		st, err := facts.DecodeSeats(value)
		r.seats[i] = append([]byte(nil), st...)
		return err
	case facts.RowRoom:
		doc, err := facts.DecodeConfig(value)
		if err != nil {
			return err
		}
		var rs roomState
		if err := json.Unmarshal(doc, &rs); err != nil {
			return err
		}
		sn.Room, sn.Waitlist = rs.Room, rs.Waitlist
		return nil
	case facts.RowArchUser:
		n, err := facts.DecodeCount(value)
		sn.ArchUsers = append(sn.ArchUsers, snapUser{User: id, N: int(n)})
		return err
	case facts.RowHold:
		if r.s == nil {
			r.pending = append(r.pending, facts.Row{Key: string(kind) + id, Value: append([]byte(nil), value...)})
			return nil
		}
		return r.addHold(id, value)
	case facts.RowExpired:
		e, err := facts.DecodeExpired(value)
		sn.Expired = append(sn.Expired, idAt{id: id, at: e.At})
		r.expUsers[id] = e.User
		return err
	case facts.RowOrder:
		o, err := facts.DecodeOrder(value)
		if err != nil {
			return err
		}
		sn.Orders = append(sn.Orders, snapOrder{ID: id, HoldID: o.HoldID, User: o.User, Seats: o.Seats, ga: o.GA,
			Quantity: int(o.Quantity), Amount: o.Amount, Status: o.Status, DueAt: o.DueAt, CreatedAt: o.CreatedAt,
			History: o.History, Events: int(o.Events), Seen: o.Seen, IdemKey: o.IdemKey, HoldCreatedAt: o.HoldCreatedAt,
			HoldExpiresAt: o.HoldExpiresAt, Done: o.DoneAt, Attempt: o.Attempt, Attempts: o.Attempts, Refunds: o.Refunds})
	case facts.RowOrderKey, facts.RowHoldKey:
		k, err := facts.DecodeKey(value)
		e := snapIdem{Key: id, ID: k.ID, Hash: k.Hash, At: k.At}
		if kind == facts.RowOrderKey {
			sn.Idem = append(sn.Idem, e)
		} else {
			sn.HoldIdem = append(sn.HoldIdem, e)
		}
		return err
	case facts.RowReleasedAt:
		at, err := facts.RowMs(id)
		if err != nil {
			return err
		}
		return facts.DecodeReleasedSet(value, func(id string) { r.released = append(r.released, idAt{id: id, at: at}) })
	case facts.RowReleased: // a store's of the format before RowReleasedAt
		e, err := facts.DecodeReleased(value)
		r.released = append(r.released, idAt{id: id, at: e.At})
		r.legacyReleased = append(r.legacyReleased, idAt{id: id, at: e.At})
		return err
	}
	return nil
}

// build builds the shard once the config and the position are known, its
// tables sized for the position's counts, and adds the holds that waited.
func (r *Restorer) build() error {
	if r.s != nil || r.doc == nil || r.meta == nil {
		return nil
	}
	var cfg ShowConfig
	if err := json.Unmarshal(r.doc, &cfg); err != nil {
		return fmt.Errorf("config row: %w", err)
	}
	cfg.Normalize()
	s := New(int(r.meta.Shard))
	s.holds = newHoldTable("", int(r.meta.Holds))
	s.users = newUserTable(int(r.meta.Users))
	s.orders = make(map[string]*order, r.meta.Orders)
	s.build(cfg)
	r.s, r.sn.Config = s, &cfg
	for _, row := range r.pending {
		if err := r.addHold(row.Key[1:], row.Value); err != nil {
			return err
		}
	}
	r.pending = nil
	for i := range r.pendingHolds {
		h := &r.pendingHolds[i]
		if err := r.addDecoded(h, r.pendingGA[h.gaFrom:h.gaTo]); err != nil {
			return fmt.Errorf("seatmap: row %q: %w", string(facts.RowHold)+h.id, err)
		}
	}
	r.pendingHolds, r.pendingGA = nil, nil
	return nil
}

func (r *Restorer) addHold(id string, value []byte) error {
	hr := &r.hold
	if err := facts.DecodeHold(value, hr); err != nil {
		return err
	}
	gp, err := r.s.gaParts(hr.GA)
	if err != nil {
		return err
	}
	for _, seat := range hr.Seats {
		if int(seat) >= len(r.s.seats) {
			return fmt.Errorf("hold %s: no seat %d", id, seat)
		}
	}
	return r.s.restoreHold(id, hr.User, hr.Seats, gp, hr.Amount, int32(hr.Quantity), hr.CreatedAt, hr.ExpiresAt)
}

// Finish builds the shard. Its RowsBase is the rows' seq.
func (r *Restorer) Finish() (*Shard, error) {
	if r.meta == nil {
		if r.n > 0 {
			return nil, fmt.Errorf("seatmap: state rows without a position")
		}
		return New(0), nil
	}
	s, sn := r.s, &r.sn
	if s == nil { // a shard that was never created
		if len(r.pending) > 0 || len(r.pendingHolds) > 0 || r.doc != nil {
			return nil, fmt.Errorf("seatmap: state rows without a config")
		}
		s = New(int(r.meta.Shard))
	} else {
		sn.Seats = make([]byte, len(s.seats))
		for base, st := range r.seats {
			if int(base)+len(st) > len(sn.Seats) {
				return nil, fmt.Errorf("seatmap: seat row at %d past the show's %d seats", base, len(sn.Seats))
			}
			copy(sn.Seats[base:], st)
		}
		for i, n := range r.archSold {
			sec := s.sectionAt(int(i))
			if sec == nil {
				return nil, fmt.Errorf("seatmap: archived sales of section %d", i)
			}
			sn.ArchSold = append(sn.ArchSold, snapGA{Sec: sec.id, N: n})
		}
		sortIDAt(sn.Expired)
		for _, e := range sn.Expired {
			sn.ExpiredUsers = append(sn.ExpiredUsers, r.expUsers[e.id])
		}
		sortKeys(sn.Idem)
		sortKeys(sn.HoldIdem)
		sn.Version = snapshotVersion
		if err := s.restoreState(sn); err != nil {
			return nil, err
		}
		s.restoreReleased(r.released)
		for _, e := range r.legacyReleased {
			s.dirty.legacyReleased = append(s.dirty.legacyReleased, e.id)
			s.dirty.releasedMs(e.at)
		}
	}
	s.seq, s.lastNow, s.rowsBase = r.meta.Seq, r.meta.Now, r.meta.Seq
	return s, nil
}
