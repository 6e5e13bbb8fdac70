//go:build invariants

package seatmap

// checkInvariants runs after every Apply in this build (make test uses it):
// a violation panics, with the broken invariant in the message.
func checkInvariants(s *Shard) {
	if err := s.CheckInvariants(); err != nil {
		panic("seatmap invariant: " + err.Error())
	}
}
