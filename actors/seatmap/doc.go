// Package seatmap is the pure state machine of one shard of a show's seat map.
//
// It holds seats (one byte each), general-admission counters, holds, orders,
// per-user tallies and idempotency keys, and changes them only through Apply.
// It does no IO, starts no goroutines and never reads the clock: every command
// carries the instant it happens at (Command.Now, Unix milliseconds), and every
// consequence leaves as data through Ready, in the manner of etcd-io/raft.
//
// Callers' duties, in order:
//
//  1. Build a shard with New (a fresh show) or Restore (a snapshot), then Replay
//     journaled records in order. Replay of the same records always rebuilds
//     the same state, because Apply is deterministic.
//  2. Feed it commands with Apply, stamping Command.Now with a clock that never
//     goes backwards (Apply clamps it so it cannot). Generate hold and order IDs
//     outside (they must be unguessable) and pass them in the command.
//  3. After a batch of Apply calls, take Ready: write Ready.Records to the
//     journal and sync them before answering any command of the batch that
//     changed state, hand Ready.Events to the outbox in the same write, and arm
//     a timer for Ready.Deadline that calls Apply(Tick).
//  4. Never share a Shard between goroutines: it has no locks. The show actor is
//     its only owner.
//
// Invariants (checked after every Apply when built with the invariants tag or
// in tests, see invariants.go): for every section available + held + reserved +
// sold = capacity; every seat belongs to at most one live hold or order; user
// tallies equal the seats their holds and orders own.
package seatmap
