//go:build invariants

package seatmap

// checkInvariants runs after every Apply in this build (make test uses it):
// a violation panics, with the broken invariant in the message.
func checkInvariants(s *Shard) {
	if invariantsPaused {
		return
	}
	if err := s.CheckInvariants(); err != nil {
		panic("seatmap invariant: " + err.Error())
	}
}

// checkChanged panics when a command reported a change without facts, or
// facts without a change.
func checkChanged(changed bool, nFacts int) {
	if changed != (nFacts > 0) {
		panic("seatmap: a command changed state without facts, or wrote facts without a change")
	}
}

// invariantsBuild reports whether this build checks every invariant after every step.
const invariantsBuild = true
