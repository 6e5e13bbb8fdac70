// Package pebble is the local durable store of a boxoffice node: one Pebble
// database per node, shared by every show shard actor, the outbox relay and
// the consumers' dedupe.
//
// The store keeps opaque bytes. Show actors encode their journal records and
// snapshots; the store orders them, makes them durable and gives them back.
//
// # What the store guarantees
//
//   - Commit writes all its batches (journal entries of several shards plus
//     outbox events) as ONE Pebble batch and waits for one WAL sync. A crash at
//     any point leaves either the whole Commit or none of it. Concurrent
//     Commits from many shard actors share WAL syncs (Pebble group commit).
//   - A Commit that returned nil survives a crash (unless Options.NoSync).
//   - Journal entries of a shard are contiguous: each Commit must continue the
//     shard's journal at last+1, where last is the newest journal entry or
//     snapshot seq. A gap, rewind or duplicate is refused with ErrSeqGap, which
//     also catches two activations of one shard writing on the same node.
//   - Outbox ids are assigned in Commit order, never reused across restarts
//     (as long as an id was made durable or acknowledged), and handed to the
//     relay only once durable: OutboxAfter never returns an entry whose Commit
//     has not completed its sync, and never returns an id while a smaller id is
//     still in flight, so a relay that advances a cursor never skips an entry.
//   - After any write error the store is failed (ErrFailed): every later write
//     is refused, because after a failed fsync nothing unsynced can be trusted.
//     The node must restart; recovery replays what was synced.
//
// # Callers' duties
//
//   - Each shard is written by one goroutine at a time (its actor): Commit,
//     SaveSnapshot and DeleteShard for one shard must not run concurrently.
//     Different shards may commit concurrently.
//   - A shard that restores a newer state from elsewhere (Redis) must
//     SaveSnapshot that state before committing entries after it.
//   - The outbox (OutboxAfter, AckOutbox) is read by one relay goroutine.
//   - Close is called after every other caller stopped; calls after Close
//     return ErrClosed.
//
// # Key layout
//
// One prefix byte per kind, shard names length-prefixed (uvarint) so that no
// shard's keys are a prefix of another's, numbers big-endian so that Pebble's
// byte order is numeric order:
//
//	'j' len shard seq(8)  -> journal entry
//	's' len shard         -> seq(8) snapshot
//	'o' id(8)             -> outbox event
//	'm' name              -> store metadata (highest acknowledged outbox id)
//	'k' key               -> small key/value (dedupe, node meta)
package pebble
