package pebble

import (
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
	Outbox [][]byte
}

// outboxTicket tracks one Commit's outbox id range until it completes.
type outboxTicket struct {
	last uint64 // highest id of the range
	done bool   // the Commit synced (protected by Store.mu)
}

// Commit writes all batches as ONE Pebble batch and waits for one WAL sync
// (unless Options.NoSync); concurrent Commits share syncs. It returns the
// outbox ids assigned, in the order of the batches and their Outbox slices.
// Ids increase across the node in the order Commits reserve them.
//
// Errors: ErrClosed, ErrSeqGap, ErrInvalidShard, an ErrFailed store, or a
// read error while checking the journal: nothing was written. If the write
// itself fails, the store becomes failed (ErrFailed) and this Commit may or
// may not survive a crash; its events are never handed to the relay.
func (s *Store) Commit(batches ...Batch) ([]uint64, error) {
	start := time.Now()
	if err := s.beginWrite(); err != nil {
		return nil, err
	}
	defer s.end()
	sz, err := checkBatches(batches)
	if err != nil || sz.entries+sz.outbox == 0 {
		return nil, err
	}
	firstID, ticket, err := s.reserve(batches, sz.outbox)
	if err != nil {
		return nil, err
	}
	b := s.db.NewBatchWithSize(sz.batchBytes)
	ids := buildBatch(b, batches, firstID, sz.outbox)
	if err := s.commitBatch(b); err != nil {
		return nil, err // ticket stays in flight: the relay stops below it
	}
	s.complete(ticket)
	s.outboxLen.Add(int64(sz.outbox))
	s.recordCommit(len(batches), sz, time.Since(start))
	return ids, nil
}

// commitSize counts what a Commit writes.
type commitSize struct {
	entries, outbox int // journal entries, outbox events
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
			sz.batchBytes += len(o) + 20
		}
		sz.entries += len(bt.Entries)
		sz.outbox += len(bt.Outbox)
	}
	return sz, nil
}

// reserve checks that every batch continues its shard's journal, advances the
// shards' last seqs and reserves nOutbox ids, all under mu so that two
// Commits never reserve the same seq or id.
func (s *Store) reserve(batches []Batch, nOutbox int) (firstID uint64, t *outboxTicket, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A Commit may carry several batches of one shard: check them in order
	// against a small overlay before changing anything.
	type proposal struct {
		shard string
		last  uint64
	}
	var overlay []proposal
	for i := range batches {
		bt := &batches[i]
		if len(bt.Entries) == 0 {
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
				return 0, nil, err
			}
			overlay = append(overlay, proposal{bt.Shard, last})
			k = len(overlay) - 1
		}
		if got := bt.Entries[0].Seq; got != overlay[k].last+1 {
			return 0, nil, fmt.Errorf("%w: shard %s: first seq %d, want %d",
				ErrSeqGap, bt.Shard, got, overlay[k].last+1)
		}
		overlay[k].last = bt.Entries[len(bt.Entries)-1].Seq
	}
	for _, p := range overlay {
		s.lastSeq[p.shard] = p.last
	}
	if nOutbox == 0 {
		return 0, nil, nil
	}
	firstID = s.nextOutboxID
	s.nextOutboxID += uint64(nOutbox)
	t = &outboxTicket{last: s.nextOutboxID - 1}
	s.inflight = append(s.inflight, t)
	return firstID, t, nil
}

// complete marks t's Commit done and advances the durable outbox id over
// every leading completed Commit.
func (s *Store) complete(t *outboxTicket) {
	if t == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.done = true
	n := 0
	for n < len(s.inflight) && s.inflight[n].done {
		s.durableOutboxID = s.inflight[n].last
		n++
	}
	if n > 0 {
		clear(s.inflight[:n])
		s.inflight = s.inflight[n:]
	}
}

// lastSeqLocked returns the shard's newest journal or snapshot seq, reading
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
	s.lastSeq[shard] = last
	return last, nil
}

// buildBatch writes the journal and outbox keys of batches into b and
// returns the outbox ids, starting at firstID.
func buildBatch(b *pebble.Batch, batches []Batch, firstID uint64, nOutbox int) []uint64 {
	var ids []uint64
	if nOutbox > 0 {
		ids = make([]uint64, 0, nOutbox)
	}
	key := make([]byte, 0, 64)
	id := firstID
	for i := range batches {
		bt := &batches[i]
		for _, e := range bt.Entries {
			key = appendJournalKey(key[:0], bt.Shard, e.Seq)
			_ = b.Set(key, e.Data, nil) // Set on an uncommitted batch cannot fail
		}
		for _, o := range bt.Outbox {
			key = appendOutboxKey(key[:0], id)
			_ = b.Set(key, o, nil)
			ids = append(ids, id)
			id++
		}
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
