package pebble

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// OutboxEntry is one order event waiting for the relay.
type OutboxEntry struct {
	ID   uint64
	Data []byte // the event bytes as given to Commit
	// Shard and Seq are the origin of the event: the Batch that wrote it and
	// that batch's last journal seq (0 when the batch had no entries). Entries
	// written by a store older than the origin header have Shard "" and Seq 0.
	Shard string
	Seq   uint64
}

// outboxMagic starts the value of every outbox entry with id >=
// Store.outboxHeaderFrom: magic, uvarint(len(shard)), shard, seq(8), data.
// Older entries hold the bare data; the id boundary (persisted in
// metaOutboxHeaderFrom) tells the two apart whatever the data bytes are, and
// the magic byte checks it.
const outboxMagic byte = 0xb1

// appendOutboxValue appends the header and data of an outbox entry.
func appendOutboxValue(dst []byte, shard string, seq uint64, data []byte) []byte {
	dst = append(dst, outboxMagic)
	dst = binary.AppendUvarint(dst, uint64(len(shard)))
	dst = append(dst, shard...)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	return append(dst, data...)
}

// decodeOutboxValue splits an outbox value into origin and data (aliasing
// val). Entries below headerFrom have no header.
func decodeOutboxValue(id, headerFrom uint64, val []byte) (shard string, seq uint64, data []byte, err error) {
	if id < headerFrom {
		return "", 0, val, nil
	}
	if len(val) < 1 || val[0] != outboxMagic {
		return "", 0, nil, fmt.Errorf("%w: outbox entry %d has no header", ErrCorrupt, id)
	}
	n, w := binary.Uvarint(val[1:])
	if w <= 0 || uint64(len(val)-1-w) < n+8 {
		return "", 0, nil, fmt.Errorf("%w: outbox entry %d has a bad header", ErrCorrupt, id)
	}
	rest := val[1+w:]
	shard = string(rest[:n])
	seq = binary.BigEndian.Uint64(rest[n : n+8])
	return shard, seq, rest[n+8:], nil
}

// OutboxAfter returns up to limit (all if limit <= 0) durable outbox entries
// with id > after, in id order. An entry is returned only once its Commit has
// synced and every smaller id's Commit has completed and is not held, so a
// relay advancing its cursor to the last id it received never skips an entry.
// Data slices are the caller's. Called by the relay goroutine.
func (s *Store) OutboxAfter(after uint64, limit int) ([]OutboxEntry, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	s.mu.Lock()
	durable := s.durableOutboxID
	s.mu.Unlock()
	if after >= durable {
		return nil, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: appendOutboxKey(nil, after+1),
		UpperBound: appendOutboxKey(nil, durable+1),
	})
	if err != nil {
		return nil, err
	}
	var out []OutboxEntry
	for valid := it.First(); valid && (limit <= 0 || len(out) < limit); valid = it.Next() {
		e, err := s.outboxEntry(it)
		if err != nil {
			_ = it.Close()
			return nil, err
		}
		e.Data = append([]byte{}, e.Data...)
		out = append(out, e)
	}
	return out, s.afterRead(it.Close())
}

// outboxEntry decodes the iterator's entry; Data aliases the iterator.
func (s *Store) outboxEntry(it *pebble.Iterator) (OutboxEntry, error) {
	id, err := decodeSeq(it.Key()[1:])
	if err != nil {
		return OutboxEntry{}, fmt.Errorf("outbox: %w", err)
	}
	val, err := it.ValueAndErr()
	if err != nil {
		return OutboxEntry{}, err
	}
	shard, seq, data, err := decodeOutboxValue(id, s.outboxHeaderFrom, val)
	return OutboxEntry{ID: id, Data: data, Shard: shard, Seq: seq}, err
}

// AckOutbox deletes the given outbox entries (the transport acknowledged
// them) in one synced batch. Unknown or already deleted ids are ignored.
// Called by the relay goroutine.
func (s *Store) AckOutbox(ids ...uint64) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	n, err := s.deleteOutbox(ids, nil, nil)
	if err == nil {
		// counted only here: Abort and DropShardAfter delete unsent events
		s.metrics.acked.Add(uint64(n))
	}
	return err
}

// deleteOutbox deletes the existing entries among ids in one synced batch,
// raising the persisted highest deleted id, and returns how many it deleted.
// extra, if not nil, adds more deletions to the batch. If the write fails the
// store fails with residue r (nil: none). Requires begin.
func (s *Store) deleteOutbox(ids []uint64, extra func(*pebble.Batch), r *residue) (int64, error) {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	b := s.db.NewBatchWithSize(len(ids)*12 + 64)
	var n int64
	highest := s.ackedOutboxID
	key := make([]byte, 0, 9)
	for _, id := range ids {
		key = appendOutboxKey(key[:0], id)
		_, closer, err := s.db.Get(key)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			_ = b.Close()
			return 0, err
		}
		_ = closer.Close()
		_ = b.Delete(key, nil)
		n++
		highest = max(highest, id)
	}
	if extra != nil {
		extra(b)
	}
	if b.Empty() {
		_ = b.Close()
		return 0, nil
	}
	if highest > s.ackedOutboxID {
		_ = b.Set(metaAckedOutboxID, binary.BigEndian.AppendUint64(nil, highest), nil)
	}
	if err := s.commitBatch(b, func() *residue { return r }); err != nil {
		return 0, err
	}
	s.ackedOutboxID = highest
	s.outboxLen.Add(-n)
	return n, nil
}

// OutboxLen returns the number of outbox entries written by completed
// Commits and not yet acknowledged. It reads a counter.
func (s *Store) OutboxLen() (int, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.end()
	return int(s.outboxLen.Load()), nil
}

// outboxScan is what recoverOutbox found.
type outboxScan struct {
	n     int64  // outbox entries
	last  uint64 // highest stored outbox id (0: none)
	acked uint64 // highest id ever acknowledged or deleted
}

// recoverOutbox counts the outbox of db and reads its highest id and the
// highest acknowledged id. Called by Open and Reopen.
func recoverOutbox(db *pebble.DB) (scan outboxScan, err error) {
	if scan.acked, err = readMetaSeq(db, metaAckedOutboxID); err != nil {
		return scan, err
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixOutbox}, UpperBound: []byte{prefixOutbox + 1}})
	if err != nil {
		return scan, err
	}
	for valid := it.First(); valid; valid = it.Next() {
		scan.n++
		if scan.last, err = decodeSeq(it.Key()[1:]); err != nil {
			_ = it.Close()
			return scan, fmt.Errorf("outbox: %w", err)
		}
	}
	return scan, it.Close()
}

// initOutboxFormat returns the first outbox id written with the origin
// header, persisting it (synced) on the first Open by a store that writes
// headers: every id stored or acknowledged before has no header.
func initOutboxFormat(db *pebble.DB, scan outboxScan) (uint64, error) {
	from, err := readMetaSeq(db, metaOutboxHeaderFrom)
	if err != nil || from != 0 {
		return from, err
	}
	from = max(scan.last, scan.acked) + 1
	if err := db.Set(metaOutboxHeaderFrom, binary.BigEndian.AppendUint64(nil, from), pebble.Sync); err != nil {
		return 0, fmt.Errorf("outbox format: %w", err)
	}
	return from, nil
}

// readMetaSeq reads a number stored under a meta key (0 if absent).
func readMetaSeq(r pebble.Reader, key []byte) (uint64, error) {
	val, closer, err := r.Get(key)
	if isNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	seq, err := decodeSeq(val)
	if err != nil {
		return 0, fmt.Errorf("meta %s: %w", key[1:], err)
	}
	return seq, nil
}
