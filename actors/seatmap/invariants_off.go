//go:build !invariants

package seatmap

// checkInvariants is free in production builds: a full check is O(seats),
// too dear per step; CheckInvariants stays callable on demand.
func checkInvariants(*Shard) {}

// checkChanged is free in production builds (see invariants_on.go).
func checkChanged(bool, int) {}

// invariantsBuild reports whether this build checks every invariant after every step.
const invariantsBuild = false
