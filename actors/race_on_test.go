//go:build race

package actors

// raceEnabled: the race detector is on; it adds allocations, so tests that
// count allocations skip that check.
const raceEnabled = true
