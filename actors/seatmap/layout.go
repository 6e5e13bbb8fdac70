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

// SeatStates appends the state of every seat (indexed as in SeatLayout) to
// dst[:0] and returns it: a copy the caller owns.
func (s *Shard) SeatStates(dst []SeatState) []SeatState {
	return append(dst[:0], s.seats...)
}

// Entries lists the seats of section (all sections when "") with their
// states in states, as KindGetSeats does; ok is false for an unknown section.
func (l *SeatLayout) Entries(states []SeatState, section string) (out []SeatEntry, ok bool) {
	for _, ls := range l.Sections {
		if section != "" && ls.ID != section {
			continue
		}
		ok = true
		for i, seat := range ls.Seats {
			out = append(out, SeatEntry{ID: ls.IDs[i], State: states[seat]})
		}
	}
	return out, ok || section == ""
}
