//go:build invariants

package seatmap

// invariantsOn: this build checks every step and panics on a violation.
const invariantsOn = true

func checkInvariants(s *Shard) {
	if err := s.CheckInvariants(); err != nil {
		panic("seatmap invariant: " + err.Error())
	}
}
