package pebble

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// LoadShard returns the shard's latest snapshot (nil if none), its seq (0 if
// none) and every journal entry after it, in seq order. It reads one
// consistent Pebble snapshot. Data slices are the caller's.
func (s *Store) LoadShard(shard string) (snap []byte, snapSeq uint64, entries []Entry, err error) {
	if err := checkShard(shard); err != nil {
		return nil, 0, nil, err
	}
	if err := s.begin(); err != nil {
		return nil, 0, nil, err
	}
	defer s.end()
	view := s.db.NewSnapshot()
	defer view.Close()
	snapSeq, snap, err = s.readSnapshot(view, shard, true)
	if err != nil {
		return nil, 0, nil, err
	}
	entries, err = readJournal(view, shard, snapSeq)
	if err = s.afterRead(err); err != nil {
		return nil, 0, nil, err
	}
	return snap, snapSeq, entries, nil
}

// readSnapshot reads the shard's snapshot seq and, if withData, a copy of its
// data. No snapshot reads as seq 0, nil data.
func (s *Store) readSnapshot(r pebble.Reader, shard string, withData bool) (seq uint64, data []byte, err error) {
	val, closer, err := r.Get(snapshotKey(shard))
	if isNotFound(err) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	defer closer.Close()
	if seq, err = decodeSeq(val); err != nil {
		return 0, nil, fmt.Errorf("snapshot of %s: %w", shard, err)
	}
	if withData {
		data = append([]byte{}, val[8:]...)
	}
	return seq, data, nil
}

// readJournal returns copies of the shard's journal entries after seq.
func readJournal(r pebble.Reader, shard string, after uint64) ([]Entry, error) {
	prefix := appendShardPrefix(nil, prefixJournal, shard)
	if after == math.MaxUint64 {
		return nil, nil
	}
	it, err := r.NewIter(&pebble.IterOptions{
		LowerBound: binary.BigEndian.AppendUint64(slices.Clip(prefix), after+1),
		UpperBound: prefixEnd(prefix),
	})
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for valid := it.First(); valid; valid = it.Next() {
		seq, err := decodeSeq(it.Key()[len(prefix):])
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("journal of %s: %w", shard, err)
		}
		val, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, err
		}
		entries = append(entries, Entry{Seq: seq, Data: append([]byte{}, val...)})
	}
	return entries, it.Close()
}

// SaveSnapshot stores snap as the shard's state at seq and deletes its
// journal entries <= seq, in one synced batch. seq may be past the journal's
// end (a state restored from elsewhere): the next Commit then continues at
// seq+1. A snapshot older than the stored one is refused (ErrStaleSnapshot).
// A failed SaveSnapshot is not undone by Reopen: the shard then has either the
// new snapshot or the old one with its journal (see Reopen).
func (s *Store) SaveSnapshot(shard string, seq uint64, snap []byte) error {
	if err := checkShard(shard); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := s.advanceForSnapshot(shard, seq); err != nil {
		return err
	}
	prefix := appendShardPrefix(nil, prefixJournal, shard)
	end := prefixEnd(prefix)
	if seq < math.MaxUint64 {
		end = binary.BigEndian.AppendUint64(slices.Clip(prefix), seq+1)
	}
	b := s.db.NewBatchWithSize(len(snap) + 2*len(prefix) + 64)
	val := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(snap)), seq)
	_ = b.Set(snapshotKey(shard), append(val, snap...), nil)
	_ = b.DeleteRange(prefix, end, nil)
	if err := s.commitBatch(b, nil); err != nil {
		return err
	}
	s.metrics.snapshots.Add(1)
	return nil
}

// advanceForSnapshot refuses a stale snapshot and moves the shard's last seq
// to at least seq.
func (s *Store) advanceForSnapshot(shard string, seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, _, err := s.readSnapshot(s.db, shard, false)
	if err != nil {
		return err
	}
	if seq < stored {
		return fmt.Errorf("%w: shard %s: stored %d, given %d", ErrStaleSnapshot, shard, stored, seq)
	}
	last, err := s.lastSeqLocked(shard)
	if err != nil {
		return err
	}
	s.lastSeq[shard] = max(last, seq)
	return nil
}

// Shards returns, sorted, every shard that has a journal entry or snapshot.
func (s *Store) Shards() ([]string, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	view := s.db.NewSnapshot()
	defer view.Close()
	var shards []string
	for _, kind := range []byte{prefixJournal, prefixSnapshot} {
		var err error
		if shards, err = appendShards(shards, view, kind); err != nil {
			return nil, err
		}
	}
	slices.Sort(shards)
	return slices.Compact(shards), s.afterRead(nil)
}

// appendShards appends the distinct shards that have keys of kind, skipping
// over each shard's keys with one seek.
func appendShards(shards []string, r pebble.Reader, kind byte) ([]string, error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte{kind}, UpperBound: []byte{kind + 1}})
	if err != nil {
		return nil, err
	}
	for valid := it.First(); valid; {
		shard, _, err := decodeShardKey(it.Key())
		if err != nil {
			_ = it.Close()
			return nil, err
		}
		shards = append(shards, shard)
		next := prefixEnd(appendShardPrefix(nil, kind, shard))
		if next == nil {
			break
		}
		valid = it.SeekGE(next)
	}
	return shards, it.Close()
}

// DeleteShard deletes the shard's journal and snapshot in one synced batch.
// The shard's next Commit starts again at seq 1. A failed DeleteShard is not
// undone by Reopen; the caller repeats it.
func (s *Store) DeleteShard(shard string) error {
	if err := checkShard(shard); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	prefix := appendShardPrefix(nil, prefixJournal, shard)
	b := s.db.NewBatch()
	_ = b.DeleteRange(prefix, prefixEnd(prefix), nil)
	_ = b.Delete(snapshotKey(shard), nil)
	if err := s.commitBatch(b, nil); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.lastSeq, shard)
	s.mu.Unlock()
	return nil
}

// DropShardAfter deletes, in one synced batch, the shard's journal entries
// with seq > seq and the outbox entries whose origin is the shard with Seq >
// seq (records a Redis checkpoint refused or did not confirm: never
// acknowledged). The shard's next Commit continues at min(seq, last)+1. It
// scans the whole outbox. Refused with ErrBelowSnapshot if the shard's
// snapshot is newer than seq. Held Commits whose entries it deleted are still
// to be Released or Aborted. A failed DropShardAfter is not undone by Reopen;
// the caller repeats it.
func (s *Store) DropShardAfter(shard string, seq uint64) error {
	if err := checkShard(shard); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	snapSeq, _, err := s.readSnapshot(s.db, shard, false)
	if err != nil {
		return err
	}
	if snapSeq > seq {
		return fmt.Errorf("%w: shard %s: snapshot at %d, drop after %d", ErrBelowSnapshot, shard, snapSeq, seq)
	}
	ids, err := s.outboxOf(shard, seq)
	if err != nil {
		return err
	}
	dropJournal := func(b *pebble.Batch) {
		if seq < math.MaxUint64 {
			prefix := appendShardPrefix(nil, prefixJournal, shard)
			_ = b.DeleteRange(appendJournalKey(nil, shard, seq+1), prefixEnd(prefix), nil)
		}
	}
	if _, err := s.deleteOutbox(ids, dropJournal, nil); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.lastSeq, shard) // reloaded from the database by the next write
	s.mu.Unlock()
	return nil
}

// outboxOf returns the ids of the outbox entries of shard with Seq > after.
func (s *Store) outboxOf(shard string, after uint64) ([]uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: appendOutboxKey(nil, s.outboxHeaderFrom),
		UpperBound: []byte{prefixOutbox + 1},
	})
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for valid := it.First(); valid; valid = it.Next() {
		e, err := s.outboxEntry(it)
		if err != nil {
			_ = it.Close()
			return nil, err
		}
		if e.Shard == shard && e.Seq > after {
			ids = append(ids, e.ID)
		}
	}
	return ids, it.Close()
}
