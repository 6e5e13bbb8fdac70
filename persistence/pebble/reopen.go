package pebble

import (
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// residue is what failed writes may have left in the database: Pebble makes a
// batch visible before its WAL sync returns, and the failed batch may also be
// in the WAL file or a flushed sstable, so it may come back after a reopen.
type residue struct {
	// journal maps a shard to the first seq a failed Commit wrote for it:
	// every entry from there on is residue (the shard's writer stops at its
	// first failed Commit, so nothing later can have succeeded).
	journal map[string]uint64
	outbox  []uint64 // outbox ids of failed Commits and of aborted held Commits
	kv      []string // keys of failed Puts, PutIfAbsents and Batch.Puts
	// kvPrev maps the key of a failed Put that overwrote a value to that
	// value: Reopen puts it back (after deleting kv)
	kvPrev map[string][]byte
}

func (r *residue) add(o *residue) {
	for shard, seq := range o.journal {
		if r.journal == nil {
			r.journal = make(map[string]uint64)
		}
		if cur, ok := r.journal[shard]; !ok || seq < cur {
			r.journal[shard] = seq
		}
	}
	r.outbox = append(r.outbox, o.outbox...)
	r.kv = append(r.kv, o.kv...)
	for key, v := range o.kvPrev {
		if r.kvPrev == nil {
			r.kvPrev = make(map[string][]byte)
		}
		if _, ok := r.kvPrev[key]; !ok { // the first failed Put saw the value to restore
			r.kvPrev[key] = v
		}
	}
}

func (r *residue) empty() bool {
	return len(r.journal) == 0 && len(r.outbox) == 0 && len(r.kv) == 0 && len(r.kvPrev) == 0
}

// commitResidue is the residue of a failed Commit of batches with outbox ids
// ids; prev holds the values its Puts overwrote (put back by Reopen).
func commitResidue(batches []Batch, ids []uint64, prev map[string][]byte) *residue {
	r := &residue{outbox: ids}
	for i := range batches {
		bt := &batches[i]
		if len(bt.Entries) > 0 {
			r.add(&residue{journal: map[string]uint64{bt.Shard: bt.Entries[0].Seq}})
		}
		for _, kv := range bt.Puts {
			if v, ok := prev[kv.Key]; ok {
				r.add(&residue{kvPrev: map[string][]byte{kv.Key: v}})
			} else {
				r.kv = append(r.kv, kv.Key)
			}
		}
	}
	return r
}

// Reopen makes a failed store usable again. After a failed write or sync the
// Pebble handle cannot be trusted (the failed batch is readable from it,
// durable or not), so Reopen closes it, opens the database again from disk,
// and in one synced batch deletes what every failed write may have left:
//
//   - the journal entries of each failed Commit's shards from the first seq
//     that Commit wrote on;
//   - the outbox entries of failed Commits and of held Commits aborted while
//     the store was failed;
//   - the keys of failed Puts, PutIfAbsents and Batch.Puts; a failed Put or
//     Batch.Put over a value puts that value back (an archive key can be
//     written again: an order archived again after its show went back to an
//     older state, e.g. restored from Redis; deleting it lost the only copy
//     of an acknowledged order once Redis lost its own).
//
// A failed SaveSnapshot is not undone: its batch (new snapshot plus journal
// truncation) is atomic, and with or without it the shard loads the same
// state, so either outcome is kept. Failed AckOutbox, DeleteShard,
// DropShardAfter and DeleteKV calls are not undone either (each outcome is
// acceptable); callers redo them as needed.
//
// Then Reopen resets the in-memory state (journal seqs, outbox counters,
// pending keys) from the database and clears the failure. Held Commits that
// had succeeded stay held (Release and Abort keep working). If the open or the
// deletion fails, the store stays failed and keeps the list, so Reopen can be
// retried (e.g. once disk space was freed). On a healthy store Reopen does
// nothing. Callers must reload whatever they read from the store before the
// failure.
func (s *Store) Reopen() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.Err() == nil {
		return nil
	}
	if s.db != nil {
		if err := closeFailed(s.db); err != nil {
			s.log.Warn("pebble store: closing the failed database", "err", err)
		}
		s.db = nil
	}
	db, err := s.openDB()
	if err != nil {
		s.log.Error("pebble store: reopen failed", "err", err)
		return fmt.Errorf("%w: reopen: %w", ErrFailed, err)
	}
	s.residueMu.Lock()
	res := s.residue
	s.residueMu.Unlock()
	scan, err := s.purge(db, &res)
	if err != nil {
		if cerr := closeFailed(db); cerr != nil {
			s.log.Warn("pebble store: closing the reopened database", "err", cerr)
		}
		s.log.Error("pebble store: reopen failed", "err", err)
		return fmt.Errorf("%w: reopen: %w", ErrFailed, err)
	}
	s.db = db
	s.resetState(scan)
	s.residueMu.Lock()
	s.residue = residue{}
	s.residueMu.Unlock()
	s.failure.Store(nil)
	s.metrics.reopens.Add(1)
	s.log.Info("pebble store reopened", "journals", len(res.journal), "outbox", len(res.outbox), "keys", len(res.kv))
	return nil
}

// purge deletes res from db in one synced batch, then scans the outbox.
func (s *Store) purge(db *pebble.DB, res *residue) (outboxScan, error) {
	if !res.empty() {
		b := db.NewBatch()
		for shard, first := range res.journal {
			prefix := appendShardPrefix(nil, prefixJournal, shard)
			_ = b.DeleteRange(appendJournalKey(nil, shard, first), prefixEnd(prefix), nil)
		}
		for _, id := range res.outbox {
			_ = b.Delete(appendOutboxKey(nil, id), nil)
		}
		for _, key := range res.kv {
			_ = b.Delete(kvKey(key), nil)
		}
		for key, v := range res.kvPrev {
			_ = b.Set(kvKey(key), v, nil)
		}
		if err := s.apply(b, pebble.Sync); err != nil {
			return outboxScan{}, fmt.Errorf("delete residue of failed writes: %w", err)
		}
		_ = b.Close()
	}
	return recoverOutbox(db)
}

// resetState rebuilds the in-memory state after a reopen. Requires closeMu
// held exclusively (no operation runs).
func (s *Store) resetState(scan outboxScan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSeq = make(map[string]uint64)
	s.rowsSeq = make(map[string]uint64)
	// Commits that had not completed have failed (none runs now): their
	// entries are purged. Completed ones stay, held ones keep blocking the
	// relay until released.
	s.inflight = slices.DeleteFunc(s.inflight, func(t *Ticket) bool { return !t.done })
	s.advanceLocked()
	s.ackMu.Lock()
	s.ackedOutboxID = scan.acked
	s.ackMu.Unlock()
	s.outboxLen.Store(scan.n)
	if len(s.inflight) == 0 {
		s.durableOutboxID = max(s.durableOutboxID, scan.last, scan.acked)
	}
	s.nextOutboxID = max(s.nextOutboxID, scan.last+1, scan.acked+1)
	s.kvMu.Lock()
	s.kvPending = make(map[string]*pendingPut)
	s.kvMu.Unlock()
}

// closeFailed closes a database whose writes failed, turning a panic of
// Pebble's close into an error.
func closeFailed(db *pebble.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble close panicked: %v", r)
		}
	}()
	return db.Close()
}
