package seatmap

// SeatLayout names a shard's seats in the order the seat map lists them:
// per seated section, each seat's index into the shard's seat states and its
// id. It depends on the config only, so it is built once per shard and may
// be shared (it is never modified).
type SeatLayout struct {
	Sections []LayoutSection
}

// LayoutSection is one section of a SeatLayout; GA sections have no seats.
type LayoutSection struct {
	ID    string
	Seats []uint32 // indexes into SeatStates
	IDs   []string // the seats' ids, same order
}

// SeatLayout builds the shard's layout (empty before the show is created).
func (s *Shard) SeatLayout() *SeatLayout {
	l := &SeatLayout{}
	for _, sec := range s.sections {
		ls := LayoutSection{ID: sec.id}
		for _, r := range sec.rows {
			for i := 0; i < r.n; i++ {
				seat := r.base + uint32(i)
				ls.Seats = append(ls.Seats, seat)
				ls.IDs = append(ls.IDs, s.seatID(seat))
			}
		}
		l.Sections = append(l.Sections, ls)
	}
	return l
}

// seatPageBits sizes the pages of SeatStates: 4,096 seats.
const seatPageBits = 12

// SeatStates is an immutable copy of a shard's seat states (indexed as in
// SeatLayout), in pages that copies taken one after the other share when
// no seat of theirs changed: taking one costs what changed, not the show.
type SeatStates struct {
	pages [][]SeatState
}

// At returns the state of seat i.
func (v *SeatStates) At(i uint32) SeatState { return v.pages[i>>seatPageBits][i&(1<<seatPageBits-1)] }

// Len is the number of seats.
func (v *SeatStates) Len() int {
	if len(v.pages) == 0 {
		return 0
	}
	return (len(v.pages)-1)<<seatPageBits + len(v.pages[len(v.pages)-1])
}

// SeatStates returns a copy of the state of every seat: the pages that
// changed since the last call are copied, the others shared with the copy
// it returned (which stays valid and unchanged).
func (s *Shard) SeatStates() *SeatStates {
	n := (len(s.seats) + 1<<seatPageBits - 1) >> seatPageBits
	v := &SeatStates{pages: make([][]SeatState, n)}
	last := s.seatPages
	for p := range v.pages {
		if last != nil && len(last.pages) == n && !s.seatsDirty[p] {
			v.pages[p] = last.pages[p]
			continue
		}
		from := p << seatPageBits
		v.pages[p] = append([]SeatState(nil), s.seats[from:min(from+1<<seatPageBits, len(s.seats))]...)
	}
	clear(s.seatsDirty)
	s.seatPages = v
	return v
}

// Entries lists the seats of section (all sections when "") with their
// states in states, as KindGetSeats does; ok is false for an unknown section.
func (l *SeatLayout) Entries(states *SeatStates, section string) (out []SeatEntry, ok bool) {
	for _, ls := range l.Sections {
		if section != "" && ls.ID != section {
			continue
		}
		ok = true
		for i, seat := range ls.Seats {
			out = append(out, SeatEntry{ID: ls.IDs[i], State: states.At(seat)})
		}
	}
	return out, ok || section == ""
}
