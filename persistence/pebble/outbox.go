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
	Data []byte
}

// OutboxAfter returns up to limit (all if limit <= 0) durable outbox entries
// with id > after, in id order. An entry is returned only once its Commit has
// synced and every smaller id's Commit has completed, so a relay advancing its
// cursor to the last id it received never skips an entry. Data slices are the
// caller's. Called by the relay goroutine.
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
		id, err := decodeSeq(it.Key()[1:])
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("outbox: %w", err)
		}
		val, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, err
		}
		out = append(out, OutboxEntry{ID: id, Data: append([]byte{}, val...)})
	}
	return out, it.Close()
}

// AckOutbox deletes the given outbox entries (the transport acknowledged
// them) in one synced batch. Unknown or already deleted ids are ignored.
// Called by the relay goroutine.
func (s *Store) AckOutbox(ids ...uint64) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.beginWrite(); err != nil {
		return err
	}
	defer s.end()
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
			return err
		}
		_ = closer.Close()
		_ = b.Delete(key, nil)
		n++
		highest = max(highest, id)
	}
	if n == 0 {
		_ = b.Close()
		return nil
	}
	if highest > s.ackedOutboxID {
		_ = b.Set(metaAckedOutboxID, binary.BigEndian.AppendUint64(nil, highest), nil)
	}
	if err := s.commitBatch(b); err != nil {
		return err
	}
	s.ackedOutboxID = highest
	s.outboxLen.Add(-n)
	s.metrics.acked.Add(uint64(n))
	return nil
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

// recoverOutbox counts the outbox and sets the id counter past both the last
// stored id and the highest id ever acknowledged. Called by Open.
func (s *Store) recoverOutbox() error {
	val, closer, err := s.db.Get(metaAckedOutboxID)
	switch {
	case isNotFound(err):
	case err != nil:
		return err
	default:
		s.ackedOutboxID, err = decodeSeq(val)
		_ = closer.Close()
		if err != nil {
			return fmt.Errorf("outbox meta: %w", err)
		}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixOutbox}, UpperBound: []byte{prefixOutbox + 1}})
	if err != nil {
		return err
	}
	var n int64
	var last uint64
	for valid := it.First(); valid; valid = it.Next() {
		n++
		if last, err = decodeSeq(it.Key()[1:]); err != nil {
			_ = it.Close()
			return fmt.Errorf("outbox: %w", err)
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	s.outboxLen.Store(n)
	s.durableOutboxID = max(last, s.ackedOutboxID)
	s.nextOutboxID = s.durableOutboxID + 1
	return nil
}
