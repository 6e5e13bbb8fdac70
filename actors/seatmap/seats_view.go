package seatmap

// seatChunk is how many seats one chunk of a SeatsView holds.
const seatChunk = 1024

// SeatsView is an immutable copy of a shard's seat states (indexed as in
// SeatLayout), kept in chunks that successive views share: a view costs a
// copy of the chunks whose seats changed since the previous view, not of
// every seat, so publishing one per turn is not O(seats) on the turn.
type SeatsView struct {
	chunks []*[seatChunk]SeatState
	n      int
}

// Len is how many seats the view has.
func (v *SeatsView) Len() int { return v.n }

// State is seat's state in the view.
func (v *SeatsView) State(seat uint32) SeatState {
	return v.chunks[seat/seatChunk][seat%seatChunk]
}

// SeatsView returns a view of the seat states now. prev is the view this
// shard returned last (or nil): the chunks it holds that did not change
// since are shared with it. A shard's first view copies every chunk, so a
// prev from another shard (a reloaded show) is never trusted.
func (s *Shard) SeatsView(prev *SeatsView) *SeatsView {
	n := len(s.seats)
	nc := (n + seatChunk - 1) / seatChunk
	v := &SeatsView{chunks: make([]*[seatChunk]SeatState, nc), n: n}
	fresh := prev == nil || !s.viewed || prev.n != n
	for c := 0; c < nc; c++ {
		if !fresh && !s.chunkDirty(c) {
			v.chunks[c] = prev.chunks[c]
			continue
		}
		ch := new([seatChunk]SeatState)
		copy(ch[:], s.seats[c*seatChunk:min(n, (c+1)*seatChunk)])
		v.chunks[c] = ch
	}
	clear(s.dirtyChunks)
	s.viewed = true
	return v
}

// markSeat notes that seat's chunk changed since the last view.
func (s *Shard) markSeat(seat uint32) {
	c := seat / seatChunk
	w := int(c / 64)
	for len(s.dirtyChunks) <= w {
		s.dirtyChunks = append(s.dirtyChunks, 0)
	}
	s.dirtyChunks[w] |= 1 << (c % 64)
}

func (s *Shard) chunkDirty(c int) bool {
	w := c / 64
	return w < len(s.dirtyChunks) && s.dirtyChunks[w]&(1<<(uint(c)%64)) != 0
}

// EntriesOf lists the seats of section (all sections when "") with their
// states in v, as KindGetSeats does; ok is false for an unknown section.
func (l *SeatLayout) EntriesOf(v *SeatsView, section string) (out []SeatEntry, ok bool) {
	for _, ls := range l.Sections {
		if section != "" && ls.ID != section {
			continue
		}
		ok = true
		for i, seat := range ls.Seats {
			out = append(out, SeatEntry{ID: ls.IDs[i], State: v.State(seat)})
		}
	}
	return out, ok || section == ""
}
