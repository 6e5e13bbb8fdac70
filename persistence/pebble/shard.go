package pebble

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// LoadShard returns the shard's latest snapshot (nil if none), its seq (0 if
// none) and every journal entry after it (and after the state rows' seq), in
// seq order. It reads one consistent Pebble snapshot. Data slices are the
// caller's. A shard kept as state rows needs LoadState.
func (s *Store) LoadShard(shard string) (snap []byte, snapSeq uint64, entries []Entry, err error) {
	st, err := s.LoadState(shard, nil)
	return st.Snapshot, st.SnapshotSeq, st.Entries, err
}

// State is what LoadState read of a shard besides its rows.
type State struct {
	Snapshot    []byte  // the snapshot of the format before rows, or nil
	SnapshotSeq uint64  // its seq (0: none)
	RowsSeq     uint64  // the seq of the state rows (0: none)
	Entries     []Entry // every journal entry after max(SnapshotSeq, RowsSeq), in order
}

// LoadState reads the shard from one consistent Pebble snapshot: it calls
// row (unless nil) with each state row, in key order (key and value are
// valid during the call only), and returns the snapshot, the seqs and the
// journal entries after them (copies).
func (s *Store) LoadState(shard string, row func(key string, value []byte) error) (State, error) {
	if err := checkShard(shard); err != nil {
		return State{}, err
	}
	if err := s.begin(); err != nil {
		return State{}, err
	}
	defer s.end()
	view := s.db.NewSnapshot()
	defer view.Close()
	var st State
	var err error
	st.SnapshotSeq, st.Snapshot, err = s.readSnapshot(view, shard, true)
	if err == nil {
		st.RowsSeq, err = readRowsSeq(view, shard)
	}
	if err == nil && row != nil {
		err = scanRows(view, shard, row)
	}
	if err == nil {
		st.Entries, err = readJournal(view, shard, max(st.SnapshotSeq, st.RowsSeq))
	}
	if err = s.afterRead(err); err != nil {
		return State{}, err
	}
	return st, nil
}

// scanRows calls fn with each state row of the shard, in key order.
func scanRows(r pebble.Reader, shard string, fn func(key string, value []byte) error) error {
	prefix := appendShardPrefix(nil, prefixRows, shard)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		val, err := it.ValueAndErr()
		if err == nil {
			err = fn(string(it.Key()[len(prefix):]), val)
		}
		if err != nil {
			_ = it.Close()
			return err
		}
	}
	return it.Close()
}

// ReplaceState stores rows as the shard's whole state at seq, in one synced
// batch: every other state row and the snapshot go, and the journal entries
// <= seq. seq may be past the journal's end (a state restored from
// elsewhere): the next Commit then continues at seq+1. A state older than
// the stored rows is refused (ErrStaleSnapshot). Like SaveSnapshot, a failed
// ReplaceState is not undone by Reopen: the shard then has the new state or
// the old one with its journal.
func (s *Store) ReplaceState(shard string, seq uint64, rows []KV) error {
	if err := checkShard(shard); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := s.advanceForState(shard, seq); err != nil {
		return err
	}
	size := 64
	for _, r := range rows {
		size += len(shard) + len(r.Key) + len(r.Value) + 24
	}
	b := s.db.NewBatchWithSize(size)
	rp := appendShardPrefix(nil, prefixRows, shard)
	_ = b.DeleteRange(rp, prefixEnd(rp), nil)
	_ = b.Delete(snapshotKey(shard), nil)
	jp := appendShardPrefix(nil, prefixJournal, shard)
	end := prefixEnd(jp)
	if seq < math.MaxUint64 {
		end = binary.BigEndian.AppendUint64(slices.Clip(jp), seq+1)
	}
	_ = b.DeleteRange(jp, end, nil)
	key := make([]byte, 0, 64)
	for _, r := range rows {
		if r.Value != nil {
			key = appendRowKey(key[:0], shard, r.Key)
			_ = b.Set(key, r.Value, nil)
		}
	}
	_ = b.Set(rowsSeqKey(shard), binary.BigEndian.AppendUint64(nil, seq), nil)
	if err := s.commitBatch(b, nil); err != nil {
		return err
	}
	s.metrics.snapshots.Add(1)
	return nil
}

// advanceForState refuses a state older than the stored rows and moves the
// shard's last seq to at least seq and its rows seq to seq.
func (s *Store) advanceForState(shard string, seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.rowsSeqLocked(shard)
	if err != nil {
		return err
	}
	if seq < rows {
		return fmt.Errorf("%w: shard %s: rows at %d, given %d", ErrStaleSnapshot, shard, rows, seq)
	}
	last, err := s.lastSeqLocked(shard)
	if err != nil {
		return err
	}
	s.lastSeq[shard] = max(last, seq)
	s.rowsSeq[shard] = seq
	return nil
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
		first, last, group, err := decodeJournalSuffix(it.Key()[len(prefix):])
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("journal of %s: %w", shard, err)
		}
		val, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, err
		}
		if !group {
			entries = append(entries, Entry{Seq: last, Data: append([]byte{}, val...)})
			continue
		}
		// a group straddling after (kept whole by the deletions up to it):
		// its entries past after
		if entries, err = appendGroupEntries(entries, first, last, append([]byte{}, val...), after); err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("journal of %s: %w", shard, err)
		}
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

// Shards returns, sorted, every shard that has a journal entry, snapshot or
// state rows.
func (s *Store) Shards() ([]string, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	view := s.db.NewSnapshot()
	defer view.Close()
	var shards []string
	for _, kind := range []byte{prefixJournal, prefixSnapshot, prefixRowsSeq} {
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

// DeleteShard deletes the shard's journal, snapshot and state rows in one
// synced batch.
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
	rp := appendShardPrefix(nil, prefixRows, shard)
	b := s.db.NewBatch()
	_ = b.DeleteRange(prefix, prefixEnd(prefix), nil)
	_ = b.DeleteRange(rp, prefixEnd(rp), nil)
	_ = b.Delete(snapshotKey(shard), nil)
	_ = b.Delete(rowsSeqKey(shard), nil)
	if err := s.commitBatch(b, nil); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.lastSeq, shard)
	delete(s.rowsSeq, shard)
	s.mu.Unlock()
	return nil
}

// DropShardAfter deletes, in one synced batch, the shard's journal entries
// with seq > seq and the outbox entries whose origin is the shard with Seq >
// seq (records a Redis checkpoint refused or did not confirm: never
// acknowledged). The shard's next Commit continues at min(seq, last)+1. It
// scans the whole outbox. Refused with a *BelowSnapshotError (ErrBelowSnapshot)
// if the shard's snapshot or state rows are newer than seq. Held Commits whose entries it deleted are still
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
		return &BelowSnapshotError{Shard: shard, Base: snapSeq, Seq: seq}
	}
	rowsSeq, err := readRowsSeq(s.db, shard)
	if err != nil {
		return err
	}
	if rowsSeq > seq {
		return &BelowSnapshotError{Shard: shard, Base: rowsSeq, Seq: seq, Rows: true}
	}
	ids, err := s.outboxOf(shard, seq)
	if err != nil {
		return err
	}
	kept, err := s.groupCut(shard, seq)
	if err != nil {
		return err
	}
	dropJournal := func(b *pebble.Batch) {
		if seq < math.MaxUint64 {
			prefix := appendShardPrefix(nil, prefixJournal, shard)
			_ = b.DeleteRange(appendJournalKey(nil, shard, seq+1), prefixEnd(prefix), nil)
			for _, kv := range kept { // below the deleted range: kept
				_ = b.Set(kv.key, kv.value, nil)
			}
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

// groupCut returns what the deletion of the shard's journal after seq must
// write back: when a group straddles seq (first <= seq < last), its entries
// up to seq, as a group ending at seq (or a plain entry).
func (s *Store) groupCut(shard string, seq uint64) ([]journalKV, error) {
	if seq == math.MaxUint64 {
		return nil, nil
	}
	prefix := appendShardPrefix(nil, prefixJournal, shard)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: appendJournalKey(nil, shard, seq+1), UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.First() {
		return nil, it.Error()
	}
	first, last, group, err := decodeJournalSuffix(it.Key()[len(prefix):])
	if err != nil || !group || first > seq {
		return nil, err
	}
	val, err := it.ValueAndErr()
	if err != nil {
		return nil, err
	}
	entries, err := appendGroupEntries(nil, first, last, val, 0)
	if err != nil {
		return nil, fmt.Errorf("journal of %s: %w", shard, err)
	}
	entries = entries[:seq-first+1]
	if len(entries) == 1 {
		return []journalKV{{appendJournalKey(nil, shard, seq), slices.Clone(entries[0].Data)}}, nil
	}
	return []journalKV{{appendGroupKey(nil, shard, first, seq), appendGroupValue(nil, entries)}}, nil
}

// journalKV is a journal key and its value.
type journalKV struct{ key, value []byte }

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
