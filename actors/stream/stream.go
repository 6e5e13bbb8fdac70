package stream

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// DefaultRing is how many events each show keeps for resumes.
const DefaultRing = 4096

// DefaultWindow is how often a show with readers closes a window: every
// event published in a window reaches every reader as one merged frame.
const DefaultWindow = 250 * time.Millisecond

// windowsKept is how many closed windows a show keeps: a reader further
// behind than that (12.5 s at the default window) is too slow.
const windowsKept = 50

// Hub holds the streams of the shows published on this node.
type Hub struct {
	Ring   int           // events kept per show; DefaultRing when 0
	Window time.Duration // DefaultWindow when 0

	mu    sync.Mutex // protects shows
	shows map[string]*Show
}

// Show returns show's stream, creating it.
func (h *Hub) Show(show string) *Show {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.shows[show]; ok {
		return s
	}
	if h.shows == nil {
		h.shows = map[string]*Show{}
	}
	n, w := h.Ring, h.Window
	if n <= 0 {
		n = DefaultRing
	}
	if w <= 0 {
		w = DefaultWindow
	}
	s := &Show{show: show, window: w, ring: make([]seatmap.InventoryEvent, n), wake: make(chan struct{}), secIdx: map[string]int{}}
	h.shows[show] = s
	return s
}

// Lookup returns show's stream, or nil when nothing was published for it here.
func (h *Hub) Lookup(show string) *Show {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.shows[show]
}

// Frame is one window's events merged, rendered once as a Server-Sent
// Event and shared by every reader: valid for a reader whose cursor is
// anywhere in [From, Seq], because it names the latest state (as of Seq) of
// everything that changed after From.
type Frame struct {
	From, Seq uint64
	SSE       []byte
}

// Merged is the data of an `event: inventory`: every event after After up
// to Seq merged: the latest state of each seat that changed, the latest
// counters of each touched GA section and section, the show's
// availability after the last event.
type Merged struct {
	Show      string                `json:"show"`
	Seq       uint64                `json:"seq"`
	After     uint64                `json:"after"`
	Events    int                   `json:"events"`
	Cause     string                `json:"cause"` // the events' cause when they share one, else "merged"
	Changes   []seatmap.SeatChange  `json:"changes"`
	GA        []seatmap.GACount     `json:"ga"`
	Sections  []seatmap.SectionView `json:"sections"`
	Available int                   `json:"available"`
	At        int64                 `json:"at"`
}

// Show is one show's stream. Safe for concurrent use; one publisher (the
// show's writer) at a time.
type Show struct {
	show   string
	window time.Duration

	mu    sync.Mutex               // protects following fields
	ring  []seatmap.InventoryEvent // circular, for resumes
	head  int                      // index of the oldest event
	n     int                      // events in the ring
	floor uint64                   // every event with seq > floor is in the ring
	last  uint64                   // seq of the state the stream has reached

	sections []seatmap.SectionView // every section's counters at last
	secIdx   map[string]int
	avail    int

	// windows, kept only while the show has readers (ticking):
	readers int
	ticking bool
	cut     uint64        // where the last window closed; the open one merges events after it
	open    *merger       // the open window
	wins    []Frame       // closed windows, oldest first, contiguous, the last one ends at cut
	wake    chan struct{} // closed when a window closes (or the stream resets)

	snap *snapshot // the shared snapshot of the open window, see Snapshot

	view atomic.Pointer[view] // what readers at a window's edge need, read without the lock
}

// view is an immutable copy of the closed windows, published at every
// window close (and reset) so that a thousand readers woken together do not
// queue on the lock the writer publishes under.
type view struct {
	cut     uint64
	last    uint64 // s.last when the view was made (ids beyond it are from the future)
	wins    []Frame
	wake    chan struct{}
	ticking bool
}

// publishView makes the view of the current windows; call with s.mu held.
func (s *Show) publishView() {
	s.view.Store(&view{cut: s.cut, last: s.last, wins: slices.Clone(s.wins), wake: s.wake, ticking: s.ticking})
}

// Reset starts the stream at seq with every section's counters (the show
// was activated, or created). Kept events stay only when seq is where the
// stream already is (a reload of the same durable state).
func (s *Show) Reset(seq uint64, sections []seatmap.SectionView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq != s.last {
		s.head, s.n, s.floor, s.last = 0, 0, seq, seq
		clear(s.ring)
		s.cut, s.wins, s.snap = seq, nil, nil
		if s.ticking {
			s.open = newMerger(s.show, seq)
		}
		s.wakeAll()
	}
	s.sections = append(s.sections[:0], sections...)
	clear(s.secIdx)
	s.avail = 0
	for i, sv := range s.sections {
		s.secIdx[sv.ID] = i
		s.avail += sv.Available
	}
}

// Publish appends durable events (in seq order). It does no encoding and
// wakes nobody: O(1) per event without readers, O(changes) with them.
func (s *Show) Publish(evs []seatmap.InventoryEvent) {
	if len(evs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range evs {
		ev := &evs[i]
		if ev.Seq <= s.last {
			continue // already published (a batch re-sent after a reload)
		}
		if s.n == len(s.ring) {
			s.floor = s.ring[s.head].Seq
			s.ring[s.head] = seatmap.InventoryEvent{}
			s.head = (s.head + 1) % len(s.ring)
			s.n--
		}
		s.ring[(s.head+s.n)%len(s.ring)] = *ev
		s.n++
		s.last = ev.Seq
		for _, sv := range ev.Sections {
			if j, ok := s.secIdx[sv.ID]; ok {
				s.sections[j] = sv
			} else {
				s.secIdx[sv.ID] = len(s.sections)
				s.sections = append(s.sections, sv)
			}
		}
		s.avail = ev.Available
		if s.ticking {
			s.open.add(ev)
		}
	}
}

// State returns the seq the stream has reached, every section's counters
// then and the show's total availability.
func (s *Show) State() (seq uint64, sections []seatmap.SectionView, available int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, append([]seatmap.SectionView(nil), s.sections...), s.avail
}

// Subscribe counts a reader in: while a show has readers, a ticker closes
// a window every Window. Call the returned function once the reader left.
func (s *Show) Subscribe() (leave func()) {
	s.mu.Lock()
	s.readers++
	if !s.ticking {
		s.ticking = true
		s.cut, s.wins, s.snap = s.last, nil, nil
		s.open = newMerger(s.show, s.last)
		s.publishView()
		go s.tick()
	}
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.readers--
			s.mu.Unlock()
		})
	}
}

// tick closes a window every s.window until the show has no reader.
func (s *Show) tick() {
	t := time.NewTicker(s.window)
	defer t.Stop()
	for range t.C {
		if !s.closeWindow() {
			return
		}
	}
}

// closeWindow closes the open window when it has events: merged, encoded
// once, kept, and every reader woken. It stops the ticking (and reports
// false) when the show has no reader left.
func (s *Show) closeWindow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readers == 0 {
		s.ticking, s.open, s.wins, s.snap = false, nil, nil, nil
		s.publishView()
		return false
	}
	if s.last == s.cut {
		return true
	}
	f := s.open.frame()
	s.open = newMerger(s.show, s.last)
	s.cut = s.last
	if len(s.wins) == windowsKept {
		copy(s.wins, s.wins[1:])
		s.wins = s.wins[:windowsKept-1]
	}
	s.wins = append(s.wins, f)
	s.snap = nil
	s.wakeAll()
	return true
}

func (s *Show) wakeAll() {
	close(s.wake)
	s.wake = make(chan struct{})
	s.publishView()
}

// Next appends to dst what a reader at cursor has not seen yet and returns
// it with the reader's new cursor and the channel closed at the next
// window. Nothing new: dst unchanged, wait on wake. A reader at a window's
// edge (every reader after its first frame) is given the shared frames of
// the windows after it. A reader that resumes (catchUp) from an id before
// the kept windows but still in the ring is given the ring's events, one
// frame each. ok is false when the cursor is neither (too far behind, or an
// id from the future: another node's, or before a reset): the reader needs
// a snapshot, or is dropped when it was streaming.
func (s *Show) Next(cursor uint64, catchUp bool, dst []byte) (out []byte, next uint64, ok bool, wake <-chan struct{}) {
	if v := s.view.Load(); v != nil && v.ticking && cursor <= v.last {
		if cursor >= v.cut {
			return dst, cursor, true, v.wake // in the open window
		}
		if i := windowAt(v.wins, cursor); i >= 0 {
			for _, w := range v.wins[i:] {
				dst = append(dst, w.SSE...)
			}
			return dst, v.wins[len(v.wins)-1].Seq, true, v.wake
		}
	}
	s.mu.Lock()
	wake = s.wake
	if cursor > s.last {
		s.mu.Unlock()
		return dst, cursor, false, wake
	}
	if cursor >= s.cut && s.ticking {
		s.mu.Unlock()
		return dst, cursor, true, wake // in the open window
	}
	if i := windowAt(s.wins, cursor); i >= 0 {
		for _, w := range s.wins[i:] {
			dst = append(dst, w.SSE...)
		}
		next = s.wins[len(s.wins)-1].Seq
		s.mu.Unlock()
		return dst, next, true, wake
	}
	if !catchUp || cursor < s.floor {
		s.mu.Unlock()
		return dst, cursor, false, wake
	}
	var evs []seatmap.InventoryEvent
	for i := 0; i < s.n; i++ {
		if ev := &s.ring[(s.head+i)%len(s.ring)]; ev.Seq > cursor {
			evs = append(evs, *ev)
		}
	}
	s.mu.Unlock()
	for i := range evs {
		m := newMerger(s.show, cursor)
		m.add(&evs[i])
		dst = m.appendSSE(dst)
		cursor = evs[i].Seq
	}
	return dst, cursor, true, wake
}

// windowAt is the index of the first window with something new for a
// reader at cursor (a frame is valid at From <= cursor <= Seq; at Seq it has
// nothing new), or -1 when cursor is before the first window or after all.
func windowAt(wins []Frame, cursor uint64) int {
	if len(wins) == 0 || cursor < wins[0].From {
		return -1
	}
	i := sort.Search(len(wins), func(i int) bool { return wins[i].Seq > cursor })
	if i == len(wins) {
		return -1
	}
	return i
}

// snapshot is a show's snapshot shared by the readers that start in one
// window: built once, by the first of them.
type snapshot struct {
	done chan struct{}
	seq  uint64
	data []byte
	err  error
}

// Snapshot returns a snapshot of the show (seq, and the data build renders
// for the stream's state at seq) shared by every reader that asks in the
// same window; build is called once per window at most, outside the lock.
// The cursor of a reader that starts from it is seq.
func (s *Show) Snapshot(build func(seq uint64, sections []seatmap.SectionView, available int) ([]byte, error)) (uint64, []byte, error) {
	s.mu.Lock()
	sn := s.snap
	if sn == nil || sn.seq < s.cut || !s.ticking {
		sn = &snapshot{done: make(chan struct{}), seq: s.last}
		secs, avail := append([]seatmap.SectionView(nil), s.sections...), s.avail
		if s.ticking {
			s.snap = sn
		}
		s.mu.Unlock()
		sn.data, sn.err = build(sn.seq, secs, avail)
		close(sn.done)
	} else {
		s.mu.Unlock()
		<-sn.done
	}
	return sn.seq, sn.data, sn.err
}

// merger merges events in seq order into one frame.
type merger struct {
	d     Merged
	seats map[string]int // seat -> index in d.Changes
	ga    map[string]int
	secs  map[string]int
}

func newMerger(show string, after uint64) *merger {
	return &merger{d: Merged{Show: show, After: after, Seq: after, Changes: []seatmap.SeatChange{}, GA: []seatmap.GACount{},
		Sections: []seatmap.SectionView{}}}
}

// add merges ev, the next event in seq order.
func (m *merger) add(ev *seatmap.InventoryEvent) {
	d := &m.d
	if d.Events == 0 {
		d.Cause = ev.Cause
		m.seats, m.ga, m.secs = map[string]int{}, map[string]int{}, map[string]int{}
	} else if d.Cause != ev.Cause {
		d.Cause = "merged"
	}
	d.Events++
	d.Seq, d.Available, d.At = ev.Seq, ev.Available, ev.At
	for _, c := range ev.Changes {
		if i, ok := m.seats[c.Seat]; ok {
			d.Changes[i] = c
		} else {
			m.seats[c.Seat] = len(d.Changes)
			d.Changes = append(d.Changes, c)
		}
	}
	for _, g := range ev.GA {
		if i, ok := m.ga[g.Section]; ok {
			d.GA[i] = g
		} else {
			m.ga[g.Section] = len(d.GA)
			d.GA = append(d.GA, g)
		}
	}
	for _, sv := range ev.Sections {
		if i, ok := m.secs[sv.ID]; ok {
			d.Sections[i] = sv
		} else {
			m.secs[sv.ID] = len(d.Sections)
			d.Sections = append(d.Sections, sv)
		}
	}
}

// frame renders the window.
func (m *merger) frame() Frame {
	return Frame{From: m.d.After, Seq: m.d.Seq, SSE: m.appendSSE(nil)}
}

// appendSSE appends the merge as `id: <seq>`, `event: inventory`, `data:`.
func (m *merger) appendSSE(dst []byte) []byte {
	data, err := json.Marshal(&m.d)
	if err != nil {
		return dst // a Merged always encodes
	}
	dst = append(dst, "id: "...)
	dst = strconv.AppendUint(dst, m.d.Seq, 10)
	dst = append(dst, "\nevent: inventory\ndata: "...)
	dst = append(dst, data...)
	return append(dst, "\n\n"...)
}
