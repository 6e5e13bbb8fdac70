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
//     shard's journal at last+1, where last is the newest journal entry,
//     snapshot or rows seq.
//   - State rows (Batch.Rows) are the shard's state at Batch.RowsSeq, kept
//     incrementally: each Commit applies the changed rows, moves the rows seq
//     and deletes the journal entries up to it (those of a group that
//     straddles it go with the group, later: see Key layout), atomically
//     with its own entries. LoadState hands out the rows and the entries
//     after them: a shard's state costs no full snapshot, ever. ReplaceState writes a whole
//     state (a shard restored from elsewhere, or taken over from a snapshot);
//     IngestState does the same for rows in key order as ingested sstables
//     (no WAL, memtable or flush), as atomically. A gap, rewind or duplicate is refused with ErrSeqGap, which
//     also catches two activations of one shard writing on the same node.
//   - Outbox ids are assigned in Commit order, never reused across restarts
//     (as long as an id was made durable, acknowledged or deleted), and handed
//     to the relay only once durable: OutboxAfter never returns an entry whose
//     Commit has not completed its sync, and never returns an id while a
//     smaller id is still in flight or held (CommitHeld until Release), so a
//     relay that advances a cursor never skips an entry. Each entry carries
//     its origin (shard, journal seq), which DropShardAfter uses.
//   - After any write error the store is failed (ErrFailed): every later read
//     and write is refused. Pebble makes a batch readable before its WAL sync
//     returns, so after a failed write or sync the handle would show data
//     that may never become durable (the fsyncgate rule: a failed fsync is
//     fatal for the handle). Reopen closes the handle, opens the database from
//     disk and deletes what the failed writes may have left (journal entries
//     from the failed Commit's first seq on, its outbox entries and keys; a
//     key a failed Put or Batch.Put overwrote gets its previous value back)
//     before serving again; a restart recovers what was synced.
//
// # Callers' duties
//
//   - Each shard is written by one goroutine at a time (its actor): Commit,
//     SaveSnapshot and DeleteShard for one shard must not run concurrently.
//     Different shards may commit concurrently. One exception: a Commit of
//     rows only (no Entries, Outbox or Puts) whose RowsSeq is covered by
//     Commits that already returned may run beside the shard's next Commit
//     of entries (reserve orders them under the store's mutex; the rows'
//     trim and the new entries never overlap), but never beside
//     ReplaceState, IngestState, SaveSnapshot, DropShardAfter or DeleteShard
//     of the shard.
//   - A shard that restores a newer state from elsewhere (Redis) must
//     SaveSnapshot, ReplaceState or IngestState that state before committing entries after it.
//   - Rows given with a Commit describe the state at RowsSeq, which must be
//     durable already (entries of an earlier Commit, or of this one) and not
//     older than the stored rows seq. Rows that are not durable-backed must
//     never be given: a failed Commit's entries are deleted by Reopen, its
//     rows are not (they are the state of its RowsSeq, already durable).
//   - On an ErrFailed error, call Reopen (retry it while it fails, e.g. until
//     disk space is freed) and reload every shard from the store: never use
//     data read from the store before the failure, nor state built on a write
//     that failed. Reopen needs every other call to return first. Any
//     user of the store can fail it (the relay's AckOutbox, a Put of a
//     dedupe key): its owner sets OnFail to start the Reopen whoever failed
//     it (from another goroutine: OnFail runs inside the failing call).
//   - A journal that checkpoints to Redis commits with CommitHeld and calls
//     Release once Redis accepted the batch, or DropShardAfter and Abort when
//     Redis refused it or did not confirm. Holds live in memory: on activation
//     after a restart, drop what Redis does not have (DropShardAfter) before
//     the relay may send it.
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
//	'j' len shard seq(8)  -> journal entry (a Batch's only entry)
//	'j' len shard last(8) first(8)
//	                      -> a Batch's entries first..last, each uvarint(len)
//	                         data: one Pebble key for a group (issue 12)
//	's' len shard         -> seq(8) snapshot (whole state, the format before rows)
//	'r' len shard key     -> state row (Batch.Rows: the shard's state, kept incrementally)
//	'q' len shard         -> seq(8): the state rows are the state at this seq
//	'o' id(8)             -> 0xb1 len shard seq(8) event (origin header; ids
//	                         below meta outbox.header-from: the bare event)
//	'm' name              -> store metadata (highest acknowledged outbox id,
//	                         first outbox id with an origin header)
//	'k' key               -> small key/value (dedupe, node meta)
//
// A group's key sorts with the plain key of its last seq, so the journal's
// last seq is its last key's first number, a range deletion up to seq
// removes the groups that end by seq, and a group that straddles seq stays
// whole until a later deletion covers it (readers skip its older entries).
// Only DropShardAfter cuts a group, rewriting its kept part. Journals
// written before groups read as they were; a group is not readable by an
// older binary (its recovery stops with an error rather than misread it).
package pebble
