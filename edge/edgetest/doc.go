// Package edgetest provides an in-memory edge.Backend built on the real pure
// core (actors/seatmap), for tests of the HTTP layer and of anything that
// drives it, without actors, journal, Redis or a broker; and NewServer, an
// edge server over an in-memory listener with a client.
//
// Hold and order ids are "<show>~<26 base32 chars of crypto/rand>" (NewID,
// ShowOfID), as the actors make them.
//
// Callers' duties: none beyond edge.Backend's contract. The backend reads the
// wall clock itself (time.Now) and runs no goroutines: before each command it
// applies a Tick so holds and orders expire on time, and it settles payments
// requested by PayOrder on the next command of the same show (token "tok_ok"
// succeeds, anything else fails), the way the payment consumer would. It keeps
// no journal: Ready is drained and dropped after each command.
package edgetest
