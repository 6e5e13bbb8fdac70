// Package actors is the shell around the pure seat map: one protoactor actor
// per shard of a show (cluster kind "shard", identity "<show>/<shard>"), and
// Booking, the client that routes API calls to those actors.
//
// The shard actor owns one seatmap.Shard and is its only writer. For each
// mailbox turn it (1) applies every queued command to the pure core, (2)
// writes the turn's records (facts: what was decided) and order events to the
// Journal as one synced batch, with the state rows earlier turns changed,
// (3) answers the commands of the turn, and (4) arms one timer for the core's
// next deadline. Nothing on a turn costs the size of the show: the state is
// checkpointed as the rows each turn changed (writer.go, rowSlots), never as
// a whole snapshot, and the seat view copies the pages of seats that changed. A self-addressed flush message marks the end of a
// turn: every command that arrived before it is in the batch, so under load a
// batch carries hundreds of commands and the sync costs little per command.
//
// Callers' duties, in order:
//
//  1. Start a cluster node (package cluster) with Kind(journal, ...) registered.
//  2. Build a Booking over that node; call Booking.Recover to activate every
//     shard the journal knows, so timers run and /readyz can turn ready.
//  3. Use Booking from any goroutine (it is safe for concurrent use). Commands
//     are idempotent by the ids Booking generates, so a retried request never
//     creates a second hold or order.
package actors
