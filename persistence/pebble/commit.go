package pebble

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Entry is one journal record of a shard.
type Entry struct {
	Seq  uint64
	Data []byte
}

// Batch is one shard's share of a Commit.
type Batch struct {
	// Shard is the shard identity, e.g. "show/abc/0". Required when Entries
	// is not empty.
	Shard string
	// Entries are journal records with Seq = last+1, last+2, ... continuing
	// the shard's journal (last = newest entry or snapshot seq; 0 for a new
	// shard).
	Entries []Entry
	// Outbox are order events for the relay, written in the same atomic batch.
	// Each is stored with its origin: Shard and the batch's last entry seq
	// (0 without entries).
	Outbox [][]byte
	// Puts are key/value pairs written in the same atomic batch, readable by
	// Get (e.g. terminal orders archived with their records).
	Puts []KV
	// Rows change the shard's state rows (a nil Value deletes the row), which
	// then hold its state at RowsSeq: the journal entries up to RowsSeq are
	// deleted in the same batch. RowsSeq must not be older than the stored
	// rows seq nor newer than the shard's last entry (this batch's included).
	Rows    []KV
	RowsSeq uint64
}

// KV is one key/value pair of Batch.Puts.
type KV struct {
	Key   string
	Value []byte
}

// Ticket tracks one Commit's outbox id range until the relay may see it: until
// the Commit completes and, for CommitHeld, until Release or Abort. Its fields
// are protected by Store.mu.
type Ticket struct {
	first, last uint64 // the id range; empty (first > last) without events
	done        bool   // the Commit synced
	held        bool   // CommitHeld, neither released nor aborted yet
	finished    bool   // Release or Abort was called
}

// Commit writes all batches as ONE Pebble batch and waits for one WAL sync
// (unless Options.NoSync); concurrent Commits share syncs. It returns the
// outbox ids assigned, in the order of the batches and their Outbox slices.
// Ids increase across the node in the order Commits reserve them.
//
// Errors: ErrClosed, ErrSeqGap, ErrInvalidShard, an ErrFailed store, or a
// read error while checking the journal: nothing was written. If the write
// itself fails, the store becomes failed (ErrFailed): nothing can be read
// until Reopen, which deletes whatever this Commit left; its events are never
// handed to the relay.
func (s *Store) Commit(batches ...Batch) ([]uint64, error) {
	ids, _, err := s.commit(batches, false)
	return ids, err
}

// CommitHeld is Commit, except that its outbox entries stay invisible to
// OutboxAfter (which stops below the lowest held id) until Release(t); Abort(t)
// deletes them instead. For a journal that also checkpoints to Redis: the
// events must not reach the relay before Redis accepted the batch. t is never
// nil when err is nil. A held Commit survives Reopen still held; it is not
// held across a restart (recovery must drop what Redis refused, see
// DropShardAfter, before the relay starts).
func (s *Store) CommitHeld(batches ...Batch) (ids []uint64, t *Ticket, err error) {
	return s.commit(batches, true)
}

func (s *Store) commit(batches []Batch, held bool) ([]uint64, *Ticket, error) {
	start := time.Now()
	if err := s.begin(); err != nil {
		return nil, nil, err
	}
	defer s.end()
	sz, err := checkBatches(batches)
	if err != nil {
		return nil, nil, err
	}
	if sz.entries+sz.outbox+sz.puts+sz.rows == 0 {
		if held {
			return nil, &Ticket{first: 1, finished: true}, nil
		}
		return nil, nil, nil
	}
	// the values the Puts overwrite, read before the batch is visible: a
	// failed Commit puts them back (a key can be written again, e.g. an order
	// archived again after its show went back to an older state)
	var prev map[string][]byte
	if sz.puts > 0 {
		if prev, err = s.putsPrev(batches); err != nil {
			return nil, nil, err
		}
	}
	firstID, ticket, trims, err := s.reserve(batches, sz.outbox, held)
	if err != nil {
		return nil, nil, err
	}
	b := s.db.NewBatchWithSize(sz.batchBytes)
	ids := buildBatch(b, batches, firstID, sz.outbox, trims)
	if err := s.commitBatch(b, func() *residue { return commitResidue(batches, ids, prev) }); err != nil {
		return nil, nil, err // ticket stays in flight: the relay stops below it until Reopen
	}
	s.complete(ticket)
	s.outboxLen.Add(int64(sz.outbox))
	s.recordCommit(len(batches), sz, time.Since(start))
	return ids, ticket, nil
}

// putsPrev reads the values the batches' Puts overwrite (keys without one
// are left out). Requires begin.
func (s *Store) putsPrev(batches []Batch) (map[string][]byte, error) {
	var prev map[string][]byte
	for i := range batches {
		for _, kv := range batches[i].Puts {
			v, had, err := s.getLocked(kv.Key)
			if err != nil {
				return nil, err
			}
			if had {
				if prev == nil {
					prev = make(map[string][]byte)
				}
				if _, ok := prev[kv.Key]; !ok {
					prev[kv.Key] = v
				}
			}
		}
	}
	return prev, nil
}

// Release lets the relay see the outbox entries of a CommitHeld (once every
// smaller id is visible too). Idempotent; a no-op after Abort; safe from any
// goroutine, also while the store is failed or closed.
func (s *Store) Release(t *Ticket) {
	if t == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.finished {
		return
	}
	t.finished = true
	t.held = false
	s.advanceLocked()
}

// Abort deletes the outbox entries of a CommitHeld, in one synced batch, and
// ends the hold; the relay never sees them. Idempotent (later calls and calls
// after Release return nil); safe from any goroutine. If the store is failed,
// or fails while deleting, Abort returns the ErrFailed error and the entries
// are deleted by Reopen (they stay invisible until then); the ticket is done
// either way. On a closed store it returns ErrClosed and the ticket stays
// held.
func (s *Store) Abort(t *Ticket) error {
	if t == nil {
		return nil
	}
	if err := s.beginAny(); err != nil {
		return err
	}
	defer s.end()
	s.mu.Lock()
	if t.finished {
		s.mu.Unlock()
		return nil
	}
	t.finished = true // Release is now a no-op; the hold stays until deleted
	s.mu.Unlock()
	var ids []uint64
	for id := t.first; id <= t.last && id != 0; id++ {
		ids = append(ids, id)
	}
	var err error
	if len(ids) > 0 {
		res := &residue{outbox: ids}
		if err = s.Err(); err != nil {
			s.fail(err, res)
		} else {
			_, err = s.deleteOutbox(ids, nil, res)
		}
	}
	s.mu.Lock()
	t.held = false
	s.advanceLocked()
	s.mu.Unlock()
	return err
}

// commitSize counts what a Commit writes.
type commitSize struct {
	entries, outbox int // journal entries, outbox events
	puts            int // key/value pairs
	rows            int // state rows and rows seqs
	payloadBytes    int // bytes of Data and Outbox
	batchBytes      int // estimated Pebble batch size
}

// checkBatches validates shard names and the contiguity of entries within
// each batch, and sizes the write.
func checkBatches(batches []Batch) (sz commitSize, err error) {
	sz.batchBytes = 32
	for i := range batches {
		bt := &batches[i]
		if len(bt.Entries) > 0 {
			if err := checkShard(bt.Shard); err != nil {
				return sz, err
			}
		}
		for j := 1; j < len(bt.Entries); j++ {
			if bt.Entries[j].Seq != bt.Entries[j-1].Seq+1 {
				return sz, fmt.Errorf("%w: shard %s: seq %d follows %d in one batch",
					ErrSeqGap, bt.Shard, bt.Entries[j].Seq, bt.Entries[j-1].Seq)
			}
		}
		for _, e := range bt.Entries {
			sz.payloadBytes += len(e.Data)
			sz.batchBytes += len(bt.Shard) + len(e.Data) + 24
		}
		for _, o := range bt.Outbox {
			sz.payloadBytes += len(o)
			sz.batchBytes += len(o) + len(bt.Shard) + 32
		}
		for _, kv := range bt.Puts {
			sz.payloadBytes += len(kv.Value)
			sz.batchBytes += len(kv.Key) + len(kv.Value) + 24
		}
		if len(bt.Rows) > 0 || bt.RowsSeq > 0 {
			if err := checkShard(bt.Shard); err != nil {
				return sz, err
			}
			sz.rows += len(bt.Rows) + 1
		}
		for _, kv := range bt.Rows {
			sz.payloadBytes += len(kv.Value)
			sz.batchBytes += len(bt.Shard) + len(kv.Key) + len(kv.Value) + 24
		}
		sz.entries += len(bt.Entries)
		sz.outbox += len(bt.Outbox)
		sz.puts += len(bt.Puts)
	}
	return sz, nil
}

// trim is the journal range [from, to] a batch's rows make obsolete.
type trim struct {
	shard    string
	from, to uint64
}

// reserve checks that every batch continues its shard's journal and that
// its rows seq is in range, advances the shards' last seqs and rows seqs and
// reserves nOutbox ids, all under mu so that two Commits never reserve the
// same seq or id. The ticket is nil without outbox events unless held.
func (s *Store) reserve(batches []Batch, nOutbox int, held bool) (firstID uint64, t *Ticket, trims []trim, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A Commit may carry several batches of one shard: check them in order
	// against a small overlay before changing anything.
	type proposal struct {
		shard      string
		last, rows uint64
	}
	var overlay []proposal
	for i := range batches {
		bt := &batches[i]
		if len(bt.Entries) == 0 && len(bt.Rows) == 0 && bt.RowsSeq == 0 {
			continue
		}
		k := -1
		for j := range overlay {
			if overlay[j].shard == bt.Shard {
				k = j
			}
		}
		if k < 0 {
			last, err := s.lastSeqLocked(bt.Shard)
			if err != nil {
				return 0, nil, nil, err
			}
			rows, err := s.rowsSeqLocked(bt.Shard)
			if err != nil {
				return 0, nil, nil, err
			}
			overlay = append(overlay, proposal{bt.Shard, last, rows})
			k = len(overlay) - 1
		}
		p := &overlay[k]
		if len(bt.Entries) > 0 {
			if got := bt.Entries[0].Seq; got != p.last+1 {
				return 0, nil, nil, fmt.Errorf("%w: shard %s: first seq %d, want %d", ErrSeqGap, bt.Shard, got, p.last+1)
			}
			p.last = bt.Entries[len(bt.Entries)-1].Seq
		}
		if len(bt.Rows) > 0 || bt.RowsSeq > 0 {
			if bt.RowsSeq < p.rows || bt.RowsSeq > p.last {
				return 0, nil, nil, fmt.Errorf("%w: shard %s: rows at seq %d, stored rows at %d, journal at %d",
					ErrSeqGap, bt.Shard, bt.RowsSeq, p.rows, p.last)
			}
			if bt.RowsSeq > p.rows {
				trims = append(trims, trim{shard: bt.Shard, from: p.rows + 1, to: bt.RowsSeq})
			}
			p.rows = bt.RowsSeq
		}
	}
	for _, p := range overlay {
		s.lastSeq[p.shard] = p.last
		s.rowsSeq[p.shard] = p.rows
	}
	if nOutbox == 0 {
		if held {
			return 0, &Ticket{first: 1, done: true, finished: true}, trims, nil
		}
		return 0, nil, trims, nil
	}
	firstID = s.nextOutboxID
	s.nextOutboxID += uint64(nOutbox)
	t = &Ticket{first: firstID, last: s.nextOutboxID - 1, held: held}
	s.inflight = append(s.inflight, t)
	return firstID, t, trims, nil
}

// complete marks t's Commit done and advances the durable outbox id.
func (s *Store) complete(t *Ticket) {
	if t == nil || t.last < t.first {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.done = true
	s.advanceLocked()
}

// advanceLocked advances the durable outbox id over every leading completed,
// not held Commit. Requires mu.
func (s *Store) advanceLocked() {
	n := 0
	for n < len(s.inflight) && s.inflight[n].done && !s.inflight[n].held {
		s.durableOutboxID = s.inflight[n].last
		n++
	}
	if n > 0 {
		clear(s.inflight[:n])
		s.inflight = s.inflight[n:]
	}
}

// lastSeqLocked returns the shard's newest journal, snapshot or rows seq, reading
// the database on the shard's first use since Open. Requires mu.
func (s *Store) lastSeqLocked(shard string) (uint64, error) {
	if last, ok := s.lastSeq[shard]; ok {
		return last, nil
	}
	snapSeq, _, err := s.readSnapshot(s.db, shard, false)
	if err != nil {
		return 0, err
	}
	prefix := appendShardPrefix(nil, prefixJournal, shard)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	last := snapSeq
	if it.Last() {
		seq, err := decodeSeq(it.Key()[len(prefix):])
		if err != nil {
			_ = it.Close()
			return 0, err
		}
		last = max(last, seq)
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	rows, err := s.rowsSeqLocked(shard)
	if err != nil {
		return 0, err
	}
	last = max(last, rows)
	s.lastSeq[shard] = last
	return last, nil
}

// rowsSeqLocked returns the seq the shard's state rows are at (0: none),
// reading the database on the shard's first use since Open. Requires mu.
func (s *Store) rowsSeqLocked(shard string) (uint64, error) {
	if q, ok := s.rowsSeq[shard]; ok {
		return q, nil
	}
	q, err := readRowsSeq(s.db, shard)
	if err != nil {
		return 0, err
	}
	s.rowsSeq[shard] = q
	return q, nil
}

// readRowsSeq reads the shard's rows seq (0 when it has no rows).
func readRowsSeq(r pebble.Reader, shard string) (uint64, error) {
	val, closer, err := r.Get(rowsSeqKey(shard))
	if isNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	q, err := decodeSeq(val)
	if err != nil {
		return 0, fmt.Errorf("rows seq of %s: %w", shard, err)
	}
	return q, nil
}

// buildBatch writes the journal, outbox, key/value and row keys of batches
// into b, and the journal deletions of trims, and returns the outbox ids,
// starting at firstID.
func buildBatch(b *pebble.Batch, batches []Batch, firstID uint64, nOutbox int, trims []trim) []uint64 {
	var ids []uint64
	if nOutbox > 0 {
		ids = make([]uint64, 0, nOutbox)
	}
	key := make([]byte, 0, 64)
	var val []byte
	id := firstID
	for i := range batches {
		bt := &batches[i]
		switch n := len(bt.Entries); {
		case n == 1:
			key = appendJournalKey(key[:0], bt.Shard, bt.Entries[0].Seq)
			_ = b.Set(key, bt.Entries[0].Data, nil) // Set on an uncommitted batch cannot fail
		case n > 1:
			// one key for the batch's entries: a memtable insert per group,
			// not per entry (issue 12: the inserts were a third of a
			// writer's CPU), written straight into the batch
			key = appendGroupKey(key[:0], bt.Shard, bt.Entries[0].Seq, bt.Entries[n-1].Seq)
			op := b.SetDeferred(len(key), groupValueLen(bt.Entries))
			copy(op.Key, key)
			appendGroupValue(op.Value[:0], bt.Entries)
			_ = op.Finish()
		}
		var origin uint64
		if n := len(bt.Entries); n > 0 {
			origin = bt.Entries[n-1].Seq
		}
		for _, o := range bt.Outbox {
			key = appendOutboxKey(key[:0], id)
			val = appendOutboxValue(val[:0], bt.Shard, origin, o)
			_ = b.Set(key, val, nil) // the batch copies val
			ids = append(ids, id)
			id++
		}
		for _, kv := range bt.Puts {
			key = append(append(key[:0], prefixKV), kv.Key...)
			_ = b.Set(key, kv.Value, nil)
		}
		for _, kv := range bt.Rows {
			key = appendRowKey(key[:0], bt.Shard, kv.Key)
			if kv.Value == nil {
				_ = b.Delete(key, nil)
			} else {
				_ = b.Set(key, kv.Value, nil)
			}
		}
		if len(bt.Rows) > 0 || bt.RowsSeq > 0 {
			_ = b.Set(rowsSeqKey(bt.Shard), binary.BigEndian.AppendUint64(nil, bt.RowsSeq), nil)
		}
	}
	for _, t := range trims {
		// one range per Commit, never overlapping the last: the journal's
		// range tombstones stay few and disjoint
		_ = b.DeleteRange(appendJournalKey(nil, t.shard, t.from), appendJournalKey(nil, t.shard, t.to+1), nil)
	}
	return ids
}

func (s *Store) recordCommit(nBatches int, sz commitSize, took time.Duration) {
	m := &s.metrics
	m.commits.Add(1)
	m.batches.Add(uint64(nBatches))
	m.entries.Add(uint64(sz.entries))
	m.outboxEntries.Add(uint64(sz.outbox))
	m.commitBytes.Add(uint64(sz.payloadBytes))
	micros := uint64(took.Microseconds())
	m.commitLatencyMicros.observe(micros)
	storeMax(&m.commitLatencyMaxMicros, micros)
}

// isNotFound reports whether err is Pebble's not-found.
func isNotFound(err error) bool { return errors.Is(err, pebble.ErrNotFound) }
