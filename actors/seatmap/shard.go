package seatmap

import (
	"sort"
	"strconv"
	"strings"

	"github.com/boxoffice/boxoffice/facts"
)

// row is one row of a seated section; its seats are seats[base : base+n].
type row struct {
	id    string
	base  uint32
	n     int
	avail int // available seats in the row, to skip full rows fast
	// the row's free blocks, summed up for best available (best.go), so that
	// a row that cannot take a block is skipped without scanning its seats;
	// recomputed when stale (a seat of the row changed)
	stale    bool
	maxBlock int    // the longest run of free seats
	lens     uint64 // bit l set: a run of exactly l free seats (l < 64)
}

// section is one section of this shard.
type section struct {
	idx    int // index in ShowConfig.Sections
	id     string
	tier   string
	price  int64
	ga     bool
	cap    int
	counts [numStates]int
	// archSold is how many of the Sold seats (or units) belong to paid orders
	// that left memory: they stay sold, owned by the archive.
	archSold int
	rows     []row          // config order
	order    []int          // row indices, closest to the stage first
	rowIdx   map[string]int // row id -> index in rows
}

// rowRef locates the row a global seat index falls in.
type rowRef struct {
	base uint32
	sec  *section
	row  int
}

// gaPart is a quantity of GA capacity in one section.
type gaPart struct {
	sec *section
	n   int
}

// holdTake is what a hold took: seats, and GA capacity (interned, see
// Shard.parts), for amount. A take of GA capacity alone is shared by every
// hold of that size in that section at that amount (Shard.newTake): most
// holds of a stadium's on-sale. A hold names its take by number
// (takeTable).
type holdTake struct {
	seats   []uint32
	general []gaPart
	amount  int64
	own     bool // a hold's own take, not a shared one
	// view is general as HoldView.General shows it, made once per take (see
	// generalView): every view of a shared take answers the same map, which
	// no one changes
	view map[string]int
}

// generalView is tk's GA parts as a HoldView shows them (nil without any),
// made at the take's first view and shared by the views after: a GA hold's
// answer allocates no map (issue 12: the map was a tenth of a hold's work on
// the show's serial path). Callers never change the map.
func generalView(tk *holdTake) map[string]int {
	if tk.view == nil && len(tk.general) > 0 {
		tk.view = generalMap(tk.general)
	}
	return tk.view
}

// takeKey names a shared take.
type takeKey struct {
	part   gaPart
	amount int64
}

// order is an order in memory: live (pending_payment, payment_processing) or
// terminal (paid, cancelled, expired) within its retention. A converted hold
// lives on inside its order (holdID, holdCreatedAt, holdExpiresAt).
type order struct {
	id            string
	holdID        string
	user          string
	seats         []uint32
	seatIDs       []string
	general       []gaPart
	quantity      int
	amount        int64
	status        string
	dueAt         int64
	createdAt     int64
	holdCreatedAt int64
	holdExpiresAt int64
	doneAt        int64 // when the order became terminal; it leaves memory at doneAt + ArchiveAfterMs
	history       []History
	events        int                 // events emitted so far; the next event id is id.(events+1)
	seen          map[string]struct{} // event ids already applied (payment results, notifications)
	attempt       string              // current payment attempt
	attempts      []string            // attempts requested, in order (at most MaxPayAttempts)
	refunds       []string            // attempts whose success was turned into a refund request
	idemKey       string
	tm            *timer // payment due while pending_payment, archive once terminal (points at tmv)
	tmv           timer
}

// terminal reports whether the order's status is final.
func (o *order) terminal() bool {
	return o.status == StatusPaid || o.status == StatusCancelled || o.status == StatusExpired
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// idemEntry remembers an idempotency key: the order (or hold) it made and the
// request's hash.
type idemEntry struct {
	id   string
	hash string
	at   int64
}

type idAt struct {
	id string
	at int64
}

// Shard is one shard of a show. See the package doc for the callers' duties.
type Shard struct {
	touched  uint32 // touchBatch's sink: what it loaded, so that the loads stay (prefetch.go)
	cfg      ShowConfig
	shard    int
	created  bool
	sections []*section
	secByID  map[string]*section
	seats    []SeatState
	rowRefs  []rowRef // sorted by base

	// seat views (seats_view.go): the chunks changed since the last view
	dirtyChunks []uint64
	viewed      bool

	holds        holdTable // live holds only (holdslab.go)
	activeHolds  int       // = holds.len()
	lastHold     uint32    // the slot of the hold placed last (applyHoldPlaced)
	expiredHolds map[string]int64
	expiredUsers map[string]string // the user of each expired hold (ownership of its 410)
	expiredFIFO  []idAt
	released     releasedIDs          // hold ids released within HoldReleasedMemory (released.go)
	orders       map[string]*order    // orders in memory (live, or terminal within retention)
	holdOrder    map[string]string    // converted hold id -> its order, while the order is in memory
	idem         map[string]idemEntry // order idempotency keys -> order id
	idemFIFO     []idAt
	holdIdem     map[string]idemEntry // hold idempotency keys -> hold id
	holdIdemFIFO []idAt
	users        userTable      // seats per user: live holds and orders, and archived sales
	archUsers    map[string]int // seats per user sold by orders that left memory

	orderTimers timerHeap
	takes       takeTable           // what live holds took (holdslab.go)
	gaIntern    map[gaPart][]gaPart // interned GA parts of holds (see parts)
	takeIntern  map[takeKey]uint32  // interned takes of GA capacity alone (see newTake)

	seq      uint64
	lastNow  int64
	ready    Ready
	lastTurn int // records of a busy recent turn taken by Ready (busyTurn); turnCap sizes the next turn from it

	inv       invTrack // what the command being applied changes (inventory.go)
	replaying bool     // inside Replay: accept legacy records (a pay without an attempt)

	room     *room        // the waiting room (room.go); nil without ShowConfig.Queue
	wl       *waitlist    // the waitlist (waitlist.go); nil until someone joins it
	factErr  error        // a journaled room fact that did not apply (Replay reports it)
	facts    []facts.Fact // the facts of the command being applied (facts.go)
	payToken string       // the payment token of the command being applied, for its event only
	dirty    dirtySet     // state rows changed since the last Ready (rows.go)
	// seatPages is the last SeatStates copy, seatsDirty its pages changed since
	seatPages  *SeatStates
	seatsDirty []bool
	rowsBase   uint64 // the seq of the state rows this shard was restored from (rows.go)

	// what commands hand out, in chunks (see chunks)
	factChunks    chunks[facts.Fact]
	gaChunks      chunks[GACount]
	sectionChunks chunks[SectionView]
	viewChunks    chunks[HoldView]
	markSet       []int32   // scratch of changedRows (dedupeMarks)
	relKeys       []idKey   // scratch of appendReleasedSet
	relOthers     []string  // scratch of appendReleasedSet
	relToken      []byte    // scratch of appendReleasedSet
	touchWords    []*uint32 // scratch of TouchRun: the index words to load
	// scratch of a pick (hold, pickBest): the one section named, the GA
	// part picked; a pick allocated both (an eighth of a GA hold's
	// allocations on the show's actor, issue 12)
	pick struct {
		secs [1]*section
		ga   [1]gaPart
	}
	// the GA part, its fact parts and the shared take found last (see
	// internedPart, factGA, newTake)
	last struct {
		part    gaPart
		parts   []gaPart
		factGA  []facts.GAPart
		takeKey takeKey
		take    uint32
	}
}

// New returns an empty shard number shardNo; it serves nothing until a
// KindCreate command gives it its show.
func New(shardNo int) *Shard {
	return &Shard{
		shard:        shardNo,
		secByID:      map[string]*section{},
		holds:        newHoldTable("", 0),
		expiredHolds: map[string]int64{},
		expiredUsers: map[string]string{},
		orders:       map[string]*order{},
		holdOrder:    map[string]string{},
		idem:         map[string]idemEntry{},
		holdIdem:     map[string]idemEntry{},
		users:        newUserTable(0),
		archUsers:    map[string]int{},
	}
}

// ShardNo is the shard's number within its show.
func (s *Shard) ShardNo() int { return s.shard }

// Created reports whether the shard has a show.
func (s *Shard) Created() bool { return s.created }

// Config returns the show config (valid once Created).
func (s *Shard) Config() ShowConfig { return s.cfg }

// Seq is the sequence number of the last state change.
func (s *Shard) Seq() uint64 { return s.seq }

// Now is the latest instant the shard has seen.
func (s *Shard) Now() int64 { return s.lastNow }

// build lays out the shard's sections from cfg.
func (s *Shard) build(cfg ShowConfig) {
	s.cfg = cfg
	s.created = true
	var next uint32
	for i := range cfg.Sections {
		if cfg.ShardOfSection(i) != s.shard {
			continue
		}
		cs := &cfg.Sections[i]
		price, _ := cfg.TierPrice(cs.Tier)
		sec := &section{idx: i, id: cs.ID, tier: cs.Tier, price: price, ga: cs.GA(), cap: cs.Seats()}
		sec.counts[Available] = sec.cap
		if !sec.ga {
			sec.rowIdx = make(map[string]int, len(cs.Rows))
			for ri, r := range cs.Rows {
				sec.rows = append(sec.rows, row{id: r.ID, base: next, n: r.Seats, avail: r.Seats, stale: true})
				sec.rowIdx[r.ID] = ri
				sec.order = append(sec.order, ri)
				s.rowRefs = append(s.rowRefs, rowRef{base: next, sec: sec, row: ri})
				next += uint32(r.Seats)
			}
			sort.SliceStable(sec.order, func(a, b int) bool {
				return rowLess(sec.rows[sec.order[a]].id, sec.rows[sec.order[b]].id)
			})
		}
		s.sections = append(s.sections, sec)
		s.secByID[sec.id] = sec
	}
	s.seats = make([]SeatState, next)
	s.buildRoom()
	s.gaIntern = map[gaPart][]gaPart{}
	s.takeIntern = map[takeKey]uint32{}
	s.holds.prefix = cfg.ID + "~"
	s.seatsDirty = make([]bool, (next+1<<seatPageBits-1)>>seatPageBits)
}

// locate returns the section and row of a global seat index.
func (s *Shard) locate(seat uint32) (*section, *row) {
	i := sort.Search(len(s.rowRefs), func(i int) bool { return s.rowRefs[i].base > seat }) - 1
	ref := s.rowRefs[i]
	return ref.sec, &ref.sec.rows[ref.row]
}

// seatID formats a global seat index as section-row-n.
func (s *Shard) seatID(seat uint32) string {
	sec, r := s.locate(seat)
	return sec.id + "-" + r.id + "-" + strconv.Itoa(int(seat-r.base)+1)
}

// parseSeat resolves a seat id. It accepts exactly section-row-n with n a
// decimal without leading zeros, so each seat has one spelling.
func (s *Shard) parseSeat(id string) (uint32, bool) {
	a := strings.IndexByte(id, '-')
	if a < 0 {
		return 0, false
	}
	b := strings.IndexByte(id[a+1:], '-')
	if b < 0 {
		return 0, false
	}
	b += a + 1
	secID, rowID, num := id[:a], id[a+1:b], id[b+1:]
	sec, ok := s.secByID[secID]
	if !ok || sec.ga {
		return 0, false
	}
	ri, ok := sec.rowIdx[rowID]
	if !ok {
		return 0, false
	}
	if num == "" || num[0] < '1' || num[0] > '9' || len(num) > 4 { // digits only: Atoi takes "+1"
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > sec.rows[ri].n {
		return 0, false
	}
	return sec.rows[ri].base + uint32(n-1), true
}

// setSeat moves one seat between states, keeping the counters.
func (s *Shard) setSeat(seat uint32, to SeatState) {
	sec, r := s.locate(seat)
	from := s.seats[seat]
	s.inv.seat(seat, sec, from, to)
	sec.counts[from]--
	sec.counts[to]++
	s.dirty.seat(seat &^ (facts.SeatRun - 1))
	s.seatsDirty[seat>>seatPageBits] = true
	if from == Available {
		r.avail--
	}
	if to == Available {
		r.avail++
	}
	r.stale = true
	s.seats[seat] = to
	s.markSeat(seat)
}

// moveSeats moves the seats and GA parts of a hold or order from one state to another.
func (s *Shard) moveSeats(seats []uint32, general []gaPart, to SeatState, from SeatState) {
	for _, seat := range seats {
		s.setSeat(seat, to)
	}
	for _, g := range general {
		s.inv.general(g.sec, g.n, from, to)
		g.sec.counts[from] -= g.n
		g.sec.counts[to] += g.n
	}
}

// parts returns the GA parts of a hold: one slice per (section, units),
// shared by every hold that has it, so a GA hold allocates none. Callers
// never change it.
func (s *Shard) parts(general []gaPart) []gaPart {
	if len(general) != 1 {
		return general
	}
	if p := s.internedPart(general[0]); p != nil {
		return p
	}
	s.gaIntern[general[0]] = general
	return general
}

// internedPart returns the interned parts of g, or nil. The last one found
// is kept at hand: an on-sale's holds ask for the same part again and again,
// twice a hold (issue 12: map lookups of the hold path).
func (s *Shard) internedPart(g gaPart) []gaPart {
	if s.last.parts != nil && s.last.part == g {
		return s.last.parts
	}
	p, ok := s.gaIntern[g]
	if ok {
		s.last.part, s.last.parts, s.last.factGA = g, p, nil
	}
	return p
}

// factGA is factParts of a hold's parts; the parts of the last interned part
// are made once and shared by the facts that name them (no one changes a
// fact's slices).
func (s *Shard) factGA(general []gaPart) []facts.GAPart {
	if len(general) != 1 || s.last.parts == nil || s.last.part != general[0] {
		return factParts(general)
	}
	if s.last.factGA == nil {
		s.last.factGA = factParts(general)
	}
	return s.last.factGA
}

// newTake returns the number of the take of seats and general (interned
// with parts) for amount: a take of one GA part and no seat is shared.
func (s *Shard) newTake(seats []uint32, general []gaPart, amount int64) uint32 {
	general = s.parts(general)
	if len(seats) > 0 || len(general) != 1 {
		return s.takes.add(holdTake{seats: seats, general: general, amount: amount}, true)
	}
	k := takeKey{general[0], amount}
	if s.last.take != 0 && s.last.takeKey == k { // shared takes stay: the number holds
		return s.last.take
	}
	t, ok := s.takeIntern[k]
	if !ok {
		t = s.takes.add(holdTake{general: general, amount: amount}, false)
		s.takeIntern[k] = t
	}
	s.last.takeKey, s.last.take = k, t
	return t
}

func (s *Shard) seatIDs(seats []uint32) []string {
	out := make([]string, len(seats))
	for i, seat := range seats {
		out[i] = s.seatID(seat)
	}
	return out
}

func generalMap(parts []gaPart) map[string]int {
	if len(parts) == 0 {
		return nil
	}
	m := make(map[string]int, len(parts))
	for _, g := range parts {
		m[g.sec.id] += g.n
	}
	return m
}

// Ready returns and clears what the commands applied since the last call ask
// the shell to do.
func (s *Shard) Ready() Ready { return s.takeReady(false) }

// ReadyDeferred is Ready with the values of its live holds' rows left to
// EncodeRows (nil until then): the shard captures what they are made of,
// and the caller encodes them beside, off the shard's goroutine. The caller
// must call EncodeRows once before anything reads Rows (or Ready's rows are
// deletions where holds live).
func (s *Shard) ReadyDeferred() Ready { return s.takeReady(true) }

func (s *Shard) takeReady(deferHolds bool) Ready {
	r := s.ready
	s.ready = Ready{}
	var held *[]heldRow
	if deferHolds {
		held = &r.held
	}
	r.Rows = s.changedRows(held)
	if r.Rows != nil {
		r.RowsSeq = s.seq
	}
	s.lastTurn = busyTurn(s.lastTurn, len(r.Records)) // the next turn is likely as busy: see Apply
	r.Deadline = s.nextDeadline()
	return r
}

// Advance hands a taken Ready back once the shell is done with it (its
// records written, its events handed on), so the core can reuse its buffers.
// The shell must not touch rd afterwards. Calling it is optional.
func (s *Shard) Advance(rd Ready) {
	if len(s.ready.Records) == 0 && len(s.ready.Events) == 0 {
		clear(rd.Records)
		clear(rd.Events)
		s.ready.Records, s.ready.Events = rd.Records[:0], rd.Events[:0]
	}
}

// busyTurn returns the records of a busy recent turn, given the last
// estimate and the turn just taken: a busier turn at once, a quieter one an
// eighth of the way, an empty one an eighth of the estimate. The Ready
// slices of the next turn get a quarter more than that (turnCap), so a turn
// a little busier than the last does not grow them by copying (growslice
// under record and emitInventory was 6-9% of Apply at 64 callers: issue 12,
// seventeenth round). A turn under a
// quarter of the estimate sets it to twice that turn: after a spike (a mass
// expiry) the next turns do not start with the spike's capacity.
func busyTurn(last, n int) int {
	switch {
	case n >= last:
		return n
	case n == 0:
		return last - (last+7)/8
	case 4*n < last:
		return 2 * n
	default:
		return last - (last-n+7)/8
	}
}

// turnCap is the capacity the next turn's Ready slices start with.
func (s *Shard) turnCap() int { return s.lastTurn + s.lastTurn/4 }

func (s *Shard) nextDeadline() int64 {
	d := int64(0)
	min := func(t int64) {
		if t > 0 && (d == 0 || t < d) {
			d = t
		}
	}
	min(s.holds.peek())
	min(s.orderTimers.peek())
	if len(s.expiredFIFO) > 0 {
		min(s.expiredFIFO[0].at + HoldExpiredMemory)
	}
	if at, ok := s.released.first(); ok {
		min(releasedDue(at))
	}
	if len(s.idemFIFO) > 0 {
		min(s.idemFIFO[0].at + IdempotencyKeepMs)
	}
	if len(s.holdIdemFIFO) > 0 {
		min(s.holdIdemFIFO[0].at + IdempotencyKeepMs)
	}
	min(s.roomDeadline())
	return d
}

// Counts returns the totals of the shard by state.
func (s *Shard) Counts() (capacity int, by [numStates]int) {
	for _, sec := range s.sections {
		capacity += sec.cap
		for st := range by {
			by[st] += sec.counts[st]
		}
	}
	return capacity, by
}

// Sections returns the counters of the shard's sections.
func (s *Shard) Sections() []SectionView { return s.showView().Sections }

// ActiveHolds is the number of holds not yet converted, released or expired.
func (s *Shard) ActiveHolds() int { return s.activeHolds }

// Size counts what the shard keeps in memory besides its seats: it is bounded
// by live work (live holds and orders, terminal orders within their
// retention, keys and expired holds within their memory) and the buyers of
// archived sales.
type Size struct {
	Holds, Orders, HoldIndex, ExpiredHolds, ReleasedHolds, IdemKeys, HoldIdemKeys, Users, ArchivedUsers, Timers int
}

// Size reports the shard's memory by map.
func (s *Shard) Size() Size {
	return Size{Holds: s.holds.len(), Orders: len(s.orders), HoldIndex: len(s.holdOrder),
		ExpiredHolds: len(s.expiredHolds), ReleasedHolds: s.released.len(), IdemKeys: len(s.idem), HoldIdemKeys: len(s.holdIdem),
		Users: s.users.len(), ArchivedUsers: len(s.archUsers), Timers: len(s.holds.timers) + len(s.orderTimers)}
}

// chunks hands out small slices of shared backing arrays, so that the
// values a command hands out (its record's facts, its inventory event's
// counters, its answer's view) cost one allocation per chunk, not one each
// (issue 12: those allocations were a fifth of a GA hold on the show's
// serial path). The shard never writes into a slice it handed out; a slice
// keeps its chunk alive as long as it lives (they are short-lived: a batch
// on its way to the journal, an answer on its way to the caller).
type chunks[T any] struct{ buf []T }

// chunkLen is the values per chunk.
const chunkLen = 64

// take returns n zero values (capacity n: appending copies), never nil.
func (c *chunks[T]) take(n int) []T {
	if n == 0 {
		return []T{}
	}
	if n > chunkLen/4 {
		return make([]T, n)
	}
	if cap(c.buf)-len(c.buf) < n {
		c.buf = make([]T, 0, chunkLen)
	}
	i := len(c.buf)
	c.buf = c.buf[:i+n]
	return c.buf[i : i+n : i+n]
}
