// Package seatmap is the pure state machine of a show's seat map. A show is
// one shard (shard 0): ShowConfig.Shards is always 1.
//
// It holds seats (one byte each), general-admission counters, holds, orders,
// per-user tallies and idempotency keys, and changes them only through Apply.
// It does no IO, starts no goroutines and never reads the clock: every command
// carries the instant it happens at (Command.Now, Unix milliseconds), and every
// consequence leaves as data through Ready, in the manner of etcd-io/raft.
//
// Callers' duties, in order:
//
//  1. Build a shard with New (a fresh show), Restore (a snapshot) or a
//     Restorer (state rows), then Replay journaled records in order. A record
//     holds the facts a command decided (package facts): Replay applies them
//     and decides nothing (no best available, no limit, no validation), so
//     what was acknowledged is what recovers, whatever version of the rules
//     runs the recovery. Records of the format before facts (the command)
//     are decided again, as they always were. A loader may decode rows into
//     a RowBatch on a goroutine of its own (decoding touches no shard) and
//     hand the batch to Restorer.AddBatch: one goroutine at a time a batch.
//  2. Feed it commands with Apply, stamping Command.Now with a clock that never
//     goes backwards (Apply clamps it so it cannot). Generate hold and order IDs
//     outside (they must be unguessable) and pass them in the command.
//  3. After a batch of Apply calls, take Ready: write Ready.Records to the
//     journal and sync them before answering any command of the batch that
//     changed state, hand Ready.Events to the outbox and Ready.Archive to the
//     order archive in the same write, and arm a timer for Ready.Deadline that
//     calls Apply(Tick). Ready.Rows are the state rows the batch changed: a
//     store that applies them once the records are durable holds the state
//     without ever taking a full snapshot (rows.go). A caller that encodes
//     beside the shard takes ReadyDeferred instead and calls its EncodeRows
//     once, on any goroutine, before anything reads its Rows (the live
//     holds' row values are nil until then).
//  4. Never share a Shard between goroutines: it has no locks. The show actor is
//     its only owner. TouchRun, before a run of commands is applied, loads
//     the index words they will probe (optional; it changes nothing).
//  5. Serve orders the shard no longer knows from the archive: GET of an
//     archived order, and Result.ArchivedOrderID (an order idempotency key
//     naming an archived order). Commands for an archived order answer
//     ErrOrderNotFound; a payment success for one is the shell's to refund.
//
// Memory follows live work. A hold leaves memory when it is released (its id
// alone remembered for HoldReleasedMemory, so that a late copy of the command
// that placed it is refused; in the state rows, facts.RowReleasedAt: a row per
// millisecond of release; forgotten by the release facts and the Forgotten
// facts of ticks), when it converts into an order (the order carries it on:
// GET of the hold answers the hold's view with order_id) and when it expires
// (remembered as expired for HoldExpiredMemory). A terminal order (paid, cancelled, expired) leaves
// ShowConfig.ArchiveAfterSeconds after it ended, in the Tick due then, through
// Ready.Archive; a paid order's seats stay sold (owned by the archive, and
// counted in its buyer's tally). Idempotency keys leave after
// IdempotencyKeepMs. Replay evicts the same orders at the same records.
// Live holds and the users' tallies sit in slabs without pointers
// (holdslab.go): a freed slot is reused, and a slab an eighth full or less
// is compacted. Hold ids are kept as their 128 random bits when they have the
// form Booking gives them (show + "~" + 26 base32 characters); any other id
// works too, kept as a string beside.
//
// What Apply and Ready hand out is the caller's to read, never to change:
// records' facts, inventory events' counters and holds' views come in
// shared chunks, and a GA hold's view (HoldView.General) and fact parts are
// shared by the holds of one take. Apply never writes into them again.
//
// Payments: every charge ends paid or refunded. KindPay starts a payment
// attempt (Command.Attempt, the gateway's charge key is OrderID+":"+Attempt);
// KindPayResult settles one. A success that does not pay the order (another
// attempt, a duplicate charge, an order cancelled or expired meanwhile) emits
// refund_requested for that attempt, once.
//
// The waiting room and the waitlist (room.go, waitlist.go) are part of the
// same state: a show's tickets, passes, pool, line, waitlist entries and
// offers. They change only through Apply too (KindQueueJoin, KindQueueGet,
// KindWaitlistJoin, KindWaitlistGet, KindWaitlistLeave, and after every
// command that changed state: admissions, passes taken back or run out,
// offers of returned seats), and what they decide is recorded in the
// command's Room facts, which Replay applies without deciding again (a
// journaled fact that does not apply fails Replay). A waitlist offer is an
// ordinary hold in the entry's user's name, so the seat-level invariants
// below cover it.
//
// Invariants (checked after every Apply when built with the invariants tag or
// in tests, see invariants.go): for every section available + held + reserved +
// sold = capacity; every seat belongs to at most one live hold or order, or is
// sold by an archived order (counted per section); user tallies equal the seats
// their holds, orders and archived sales own; every pending or terminal order
// has its one timer armed; the room's passes that hold nothing stay at most
// ceil(available × admit_factor) and its live passes at most max_active;
// no waiting waitlist entry fits the available seats (every returned seat
// was offered in the step that returned it).
package seatmap
