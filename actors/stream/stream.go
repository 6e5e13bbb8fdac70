// Package stream fans a show's inventory events out to any number of
// readers (the SSE stream) without costing the show's actor anything per
// reader: the show's writer publishes each durable event once, in O(1), into
// a bounded per-show ring; each reader follows the ring with its own cursor
// and is woken by a channel that is closed on every publish. A reader that
// falls further behind than the ring is told so (Since reports !ok) and is
// dropped by its server; nobody ever waits for a reader.
package stream

import (
	"encoding/json"
	"strconv"
	"sync"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// DefaultRing is how many events each show keeps for readers and resumes.
const DefaultRing = 4096

// Frame is one published event: its seq and its JSON, encoded once.
type Frame struct {
	Seq  uint64
	Data []byte
	// SSE is the frame as a Server-Sent Event (id, event: inventory,
	// data), rendered once for every reader.
	SSE []byte
}

// Hub holds the streams of the shows published on this node.
type Hub struct {
	Ring int // events kept per show; DefaultRing when 0

	mu    sync.Mutex
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
	n := h.Ring
	if n <= 0 {
		n = DefaultRing
	}
	s := &Show{ring: make([]Frame, n), wake: make(chan struct{}), secIdx: map[string]int{}}
	h.shows[show] = s
	return s
}

// Lookup returns show's stream, or nil when nothing was published for it here.
func (h *Hub) Lookup(show string) *Show {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.shows[show]
}

// Show is one show's stream. Safe for concurrent use; one publisher (the
// show's writer) at a time.
type Show struct {
	mu    sync.Mutex
	ring  []Frame // circular
	head  int     // index of the oldest frame
	n     int     // frames in the ring
	floor uint64  // every event with seq > floor is in the ring
	last  uint64  // seq of the state the stream has reached
	wake  chan struct{}

	sections []seatmap.SectionView // every section's counters at last
	secIdx   map[string]int
	avail    int
}

// Reset starts the stream at seq with every section's counters (the show
// was activated, or created). Kept frames stay only when seq is where the
// stream already is (a reload of the same durable state).
func (s *Show) Reset(seq uint64, sections []seatmap.SectionView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq != s.last {
		s.head, s.n, s.floor, s.last = 0, 0, seq, seq
		clear(s.ring)
	}
	s.sections = append(s.sections[:0], sections...)
	clear(s.secIdx)
	s.avail = 0
	for i, sv := range s.sections {
		s.secIdx[sv.ID] = i
		s.avail += sv.Available
	}
}

// Publish appends durable events (in seq order) and wakes every reader.
func (s *Show) Publish(evs []seatmap.InventoryEvent) {
	if len(evs) == 0 {
		return
	}
	frames := make([]Frame, 0, len(evs))
	for i := range evs {
		data, err := json.Marshal(&evs[i])
		if err != nil {
			continue
		}
		seq := strconv.FormatUint(evs[i].Seq, 10)
		sse := make([]byte, 0, len(data)+len(seq)+40)
		sse = append(append(append(sse, "id: "...), seq...), "\nevent: inventory\ndata: "...)
		sse = append(append(sse, data...), "\n\n"...)
		frames = append(frames, Frame{Seq: evs[i].Seq, Data: data, SSE: sse})
	}
	s.mu.Lock()
	for i, f := range frames {
		if f.Seq <= s.last {
			continue // already published (a batch re-sent after a reload)
		}
		if s.n == len(s.ring) {
			s.floor = s.ring[s.head].Seq
			s.ring[s.head] = Frame{}
			s.head = (s.head + 1) % len(s.ring)
			s.n--
		}
		s.ring[(s.head+s.n)%len(s.ring)] = f
		s.n++
		s.last = f.Seq
		for _, sv := range evs[i].Sections {
			if j, ok := s.secIdx[sv.ID]; ok {
				s.sections[j] = sv
			} else {
				s.secIdx[sv.ID] = len(s.sections)
				s.sections = append(s.sections, sv)
			}
		}
		s.avail = evs[i].Available
	}
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// Since appends to dst the frames with seq > after and returns them, with
// the channel closed by the next publish. ok is false when events after
// `after` have left the ring (the reader is too far behind, or resumes from
// an id older than the ring): the reader needs a snapshot.
func (s *Show) Since(after uint64, dst []Frame) (frames []Frame, ok bool, wake <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if after < s.floor || after > s.last {
		return dst, false, s.wake
	}
	// frames are in seq order: skip those <= after
	i := 0
	for i < s.n && s.ring[(s.head+i)%len(s.ring)].Seq <= after {
		i++
	}
	for ; i < s.n; i++ {
		dst = append(dst, s.ring[(s.head+i)%len(s.ring)])
	}
	return dst, true, s.wake
}

// State returns the seq the stream has reached, every section's counters
// then and the show's total availability.
func (s *Show) State() (seq uint64, sections []seatmap.SectionView, available int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, append([]seatmap.SectionView(nil), s.sections...), s.avail
}
