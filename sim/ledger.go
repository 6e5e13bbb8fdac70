package sim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Check is the result of one invariant check.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// maxListed bounds how many failures a Check's detail spells out.
const maxListed = 5

// maxSeatMapShows bounds how many shows' seat maps check reads (spread
// evenly over the shows); counters are checked for every show.
const maxSeatMapShows = 200

// ledger records, per show, the seats the harness won and still owns, so the
// invariant checks can compare them with what the server says. It is safe
// for concurrent use. The ceiling run (a no-op server that grants
// everything) records into one too, unchecked, so that the client costs the
// same against both servers.
type ledger struct {
	mu         sync.Mutex // protects following fields
	shows      map[string]*showLedger
	order      []string // show ids in the order they were added
	doubles    []string // seats won by two live holds, found while recording
	doubleSeen int
}

// showLedger is what the harness owns in one show.
type showLedger struct {
	cfg     seatmap.ShowConfig
	seats   map[string]string // seat id -> id of the live hold that owns it
	general map[string]int    // GA section -> units owned
	holds   map[string]seatmap.HoldView
	ordered int // holds converted to orders (or maybe converted): their seats may be reserved or sold
	// maybeMore bounds the seats the server may have taken beyond those won:
	// holds and releases whose outcome is unknown (no answer, 5xx).
	maybeMore int
}

func newLedger() *ledger { return &ledger{shows: map[string]*showLedger{}} }

// addShow starts tracking a show the harness created.
func (l *ledger) addShow(cfg seatmap.ShowConfig) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shows[cfg.ID] = &showLedger{cfg: cfg, seats: map[string]string{}, general: map[string]int{},
		holds: map[string]seatmap.HoldView{}}
	l.order = append(l.order, cfg.ID)
}

// won records a granted hold. A seat already owned by another live hold is a
// double booking: it is remembered and reported by check.
func (l *ledger) won(h seatmap.HoldView) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.shows[h.Show]
	if s == nil {
		return
	}
	for _, seat := range h.Seats {
		if prev, ok := s.seats[seat]; ok && prev != h.ID {
			l.doubleSeen++
			if len(l.doubles) < maxListed {
				l.doubles = append(l.doubles, fmt.Sprintf("%s/%s in holds %s and %s", h.Show, seat, prev, h.ID))
			}
			continue
		}
		s.seats[seat] = h.ID
	}
	for sec, q := range h.General {
		s.general[sec] += q
	}
	s.holds[h.ID] = h
}

// unknownHold records a hold attempt without a clear answer: it may have
// taken up to quantity seats.
func (l *ledger) unknownHold(show string, quantity int) {
	l.update(show, func(s *showLedger) { s.maybeMore += quantity })
}

// ordered records that a hold was (or may have been) turned into an order.
func (l *ledger) ordered(show string) {
	l.update(show, func(s *showLedger) { s.ordered++ })
}

// releasing records that a release of hold is about to be sent. The hold's
// seats leave the ledger now, before the server can free them (another
// buyer may win them at once), and count as maybe taken until
// releaseDone says the server freed them. It returns the hold's size.
func (l *ledger) releasing(show, hold string) int {
	n := 0
	l.update(show, func(s *showLedger) {
		h, ok := s.holds[hold]
		if !ok {
			return
		}
		delete(s.holds, hold)
		for _, seat := range h.Seats {
			if s.seats[seat] == hold {
				delete(s.seats, seat)
			}
		}
		for sec, q := range h.General {
			s.general[sec] -= q
		}
		n = heldCount(h)
		s.maybeMore += n
	})
	return n
}

// releaseDone records the answer to a release of n seats: freed says the
// server confirmed the hold is gone; otherwise they stay maybe taken.
func (l *ledger) releaseDone(show string, n int, freed bool) {
	if freed {
		l.update(show, func(s *showLedger) { s.maybeMore -= n })
	}
}

func (l *ledger) update(show string, f func(*showLedger)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.shows[show]; s != nil {
		f(s)
	}
}

// owned is the number of seats and units the harness holds in s.
func (s *showLedger) owned() int {
	n := len(s.seats)
	for _, q := range s.general {
		n += q
	}
	return n
}

// failList collects failure descriptions, keeping the first few.
type failList struct {
	n     int
	first []string
}

func (f *failList) add(format string, a ...any) {
	f.n++
	if len(f.first) < maxListed {
		f.first = append(f.first, fmt.Sprintf(format, a...))
	}
}

func (f *failList) check(name, okDetail string) Check {
	if f.n == 0 {
		return Check{Name: name, OK: true, Detail: okDetail}
	}
	d := strings.Join(f.first, "; ")
	if f.n > len(f.first) {
		d += fmt.Sprintf("; and %d more", f.n-len(f.first))
	}
	return Check{Name: name, OK: false, Detail: d}
}

// check compares every tracked show with the target and returns one Check
// per invariant: no seat in two live holds, counters add up to capacity,
// seats taken equal seats won, and the seat map agrees.
func (l *ledger) check(ctx context.Context, t Target) []Check {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sum, taken, seatMap failList
	var seatsOwned, holds, uncertain, mapped int
	every := max(1, (len(l.order)+maxSeatMapShows-1)/maxSeatMapShows)
	for i, id := range l.order {
		s := l.shows[id]
		seatsOwned += s.owned()
		holds += len(s.holds)
		if s.maybeMore > 0 {
			uncertain++
		}
		st, err := t.GetShow(ctx, id)
		if err != nil {
			sum.add("%s: GET show: %v", id, err)
			continue
		}
		checkCounters(id, s, st, &sum)
		checkTaken(id, s, st, &taken)
		if i%every == 0 {
			mapped++
			checkSeatMap(ctx, t, id, s, &seatMap)
		}
	}
	doubles := failList{n: l.doubleSeen, first: l.doubles}
	note := ""
	if uncertain > 0 {
		note = fmt.Sprintf(" (%d shows had requests of unknown outcome: checked as bounds)", uncertain)
	}
	return []Check{
		doubles.check("no seat in two holds/orders", fmt.Sprintf("%d seats/units in %d live holds, all distinct", seatsOwned, holds)),
		sum.check("counters add up to capacity", fmt.Sprintf("%d shows: available+held+reserved+sold = capacity in every section and in total", len(l.order))),
		taken.check("seats taken = seats won", fmt.Sprintf("held+reserved+sold equals the %d seats/units the harness won%s", seatsOwned, note)),
		seatMap.check("seat map agrees", fmt.Sprintf("every seat won is taken and no other seat is (%d of %d shows' seat maps read)", mapped, len(l.order))),
	}
}

// checkCounters: per section and in total, available+held+reserved+sold = capacity = configured capacity.
func checkCounters(id string, s *showLedger, st ShowState, f *failList) {
	var tot seatmap.Totals
	for _, sec := range st.Sections {
		if n := sec.Available + sec.Held + sec.Reserved + sec.Sold; n != sec.Capacity {
			f.add("%s/%s: %d+%d+%d+%d = %d, capacity %d", id, sec.ID, sec.Available, sec.Held, sec.Reserved, sec.Sold, n, sec.Capacity)
		}
		tot.Capacity += sec.Capacity
		tot.Available += sec.Available
		tot.Held += sec.Held
		tot.Reserved += sec.Reserved
		tot.Sold += sec.Sold
	}
	if tot != st.Totals {
		f.add("%s: totals %+v differ from the sum of sections %+v", id, st.Totals, tot)
	}
	if want := capacityOf(s.cfg); st.Totals.Capacity != want {
		f.add("%s: capacity %d, configured %d", id, st.Totals.Capacity, want)
	}
	if n := st.Totals.Available + st.Totals.Held + st.Totals.Reserved + st.Totals.Sold; n != st.Totals.Capacity {
		f.add("%s: totals %d+%d+%d+%d = %d, capacity %d", id, st.Totals.Available, st.Totals.Held, st.Totals.Reserved, st.Totals.Sold, n, st.Totals.Capacity)
	}
}

// checkTaken: held+reserved+sold equals the seats won (within the bounds of
// unknown outcomes); with no orders placed, held alone does.
func checkTaken(id string, s *showLedger, st ShowState, f *failList) {
	owned := s.owned()
	taken := st.Totals.Held + st.Totals.Reserved + st.Totals.Sold
	if taken < owned || taken > owned+s.maybeMore {
		f.add("%s: server has %d seats taken, harness won %d (up to %d more of unknown outcome)", id, taken, owned, s.maybeMore)
	}
	if s.ordered == 0 && s.maybeMore == 0 && st.Totals.Held != owned {
		f.add("%s: server has %d seats held, harness holds %d", id, st.Totals.Held, owned)
	}
	if s.maybeMore > 0 {
		return
	}
	for _, sec := range st.Sections {
		if g, ok := s.general[sec.ID]; ok || isGA(s.cfg, sec.ID) {
			if n := sec.Held + sec.Reserved + sec.Sold; n != g {
				f.add("%s/%s: %d GA units taken, harness won %d", id, sec.ID, n, g)
			}
		}
	}
}

func isGA(cfg seatmap.ShowConfig, section string) bool {
	i := cfg.SectionIndex(section)
	return i >= 0 && cfg.Sections[i].GA()
}

// checkSeatMap: every seat the harness owns is taken in the seat map, and
// (when every outcome is known) no other seat is.
func checkSeatMap(ctx context.Context, t Target, id string, s *showLedger, f *failList) {
	for _, sec := range s.cfg.Sections {
		if sec.GA() {
			continue
		}
		m, err := t.Seats(ctx, id, sec.ID)
		if err != nil {
			f.add("%s/%s: GET seats: %v", id, sec.ID, err)
			continue
		}
		if len(m) != sec.Seats() {
			f.add("%s/%s: seat map lists %d seats, section has %d", id, sec.ID, len(m), sec.Seats())
		}
		var takenNotOurs []string
		for seat, state := range m {
			_, ours := s.seats[seat]
			if ours && state == seatmap.Available.String() {
				f.add("%s: seat %s won by hold %s is %s", id, seat, s.seats[seat], state)
			}
			if !ours && state != seatmap.Available.String() {
				takenNotOurs = append(takenNotOurs, seat)
			}
		}
		if len(takenNotOurs) > 0 && s.maybeMore == 0 {
			sort.Strings(takenNotOurs)
			f.add("%s/%s: %d seats taken that the harness did not win (%s...)", id, sec.ID, len(takenNotOurs), takenNotOurs[0])
		}
	}
}

// allOK reports whether every check passed.
func allOK(cs []Check) bool {
	for _, c := range cs {
		if !c.OK {
			return false
		}
	}
	return true
}
