package pebble

import "github.com/cockroachdb/pebble/v2"

// pendingPut is a PutIfAbsent being synced; callers racing for the same key
// wait on done and then read err.
type pendingPut struct {
	done chan struct{}
	err  error // set before done is closed
}

// Get returns a copy of the value stored under key (by Put, PutIfAbsent or
// Batch.Puts). It may observe a value whose Put has not finished syncing; if
// that Put fails, the value is deleted by Reopen.
func (s *Store) Get(key string) ([]byte, bool, error) {
	if err := s.begin(); err != nil {
		return nil, false, err
	}
	defer s.end()
	val, closer, err := s.db.Get(kvKey(key))
	if isNotFound(err) {
		return nil, false, s.afterRead(nil)
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte{}, val...)
	_ = closer.Close()
	if err := s.afterRead(nil); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// Put stores val under key, waiting for a WAL sync if sync (and not
// Options.NoSync). If it fails, Reopen puts back the value key held before
// (or deletes key if it held none): a failed Put never happened. Put reads
// that value first (a memtable or block cache lookup, usually).
func (s *Store) Put(key string, val []byte, sync bool) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	prev, had, err := s.getLocked(key)
	if err != nil {
		return err
	}
	undo := func() *residue {
		if had {
			return &residue{kvPrev: map[string][]byte{key: prev}}
		}
		return &residue{kv: []string{key}}
	}
	b := s.db.NewBatchWithSize(len(key) + len(val) + 32)
	_ = b.Set(kvKey(key), val, nil)
	if !sync || !s.wo.Sync {
		if err := s.apply(b, pebble.NoSync); err != nil {
			return s.fail(err, undo())
		}
		return b.Close()
	}
	return s.commitBatch(b, undo)
}

// getLocked reads key's value (a copy) between begin and end.
func (s *Store) getLocked(key string) ([]byte, bool, error) {
	val, closer, err := s.db.Get(kvKey(key))
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte{}, val...)
	_ = closer.Close()
	return out, true, nil
}

// PutIfAbsent stores val under key, synced, unless key already holds a value.
// stored reports whether this call stored it. Concurrent callers for one key
// are serialized: exactly one stores, and the others return only once that
// value is durable (so a consumer that sees a duplicate can safely skip it).
// It is not atomic with respect to a concurrent Put of the same key. If it
// fails, Reopen deletes key.
func (s *Store) PutIfAbsent(key string, val []byte) (stored bool, err error) {
	if err := s.begin(); err != nil {
		return false, err
	}
	defer s.end()
	s.kvMu.Lock()
	if p, ok := s.kvPending[key]; ok {
		s.kvMu.Unlock()
		<-p.done
		return false, p.err
	}
	_, closer, err := s.db.Get(kvKey(key))
	if err == nil {
		_ = closer.Close()
		s.kvMu.Unlock()
		return false, nil
	}
	if !isNotFound(err) {
		s.kvMu.Unlock()
		return false, err
	}
	p := &pendingPut{done: make(chan struct{})}
	s.kvPending[key] = p
	s.kvMu.Unlock()

	b := s.db.NewBatchWithSize(len(key) + len(val) + 32)
	_ = b.Set(kvKey(key), val, nil)
	p.err = s.commitBatch(b, func() *residue { return &residue{kv: []string{key}} })

	s.kvMu.Lock()
	delete(s.kvPending, key)
	s.kvMu.Unlock()
	close(p.done)
	return p.err == nil, p.err
}

// ScanKV calls fn with each key starting with prefix and a copy of its value,
// in key order, until fn returns false. It reads one consistent view; fn must
// not call the store.
func (s *Store) ScanKV(prefix string, fn func(key string, val []byte) bool) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	lower := kvKey(prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		val, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return err
		}
		if s.Err() != nil {
			break // do not hand out what the failed handle shows
		}
		if !fn(string(it.Key()[1:]), append([]byte{}, val...)) {
			break
		}
	}
	return s.afterRead(it.Close())
}

// DeleteKV deletes keys (absent ones are ignored) in one synced batch, e.g.
// expired dedupe keys. A failed DeleteKV is not undone by Reopen: the keys may
// or may not be gone.
func (s *Store) DeleteKV(keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	b := s.db.NewBatch()
	for _, k := range keys {
		_ = b.Delete(kvKey(k), nil)
	}
	return s.commitBatch(b, nil)
}
