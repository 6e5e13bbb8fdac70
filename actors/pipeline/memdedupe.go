package pipeline

import "sync"

// MemDedupe is an in-memory Dedupe, for tests and nodes without a disk journal.
type MemDedupe struct {
	mu sync.Mutex // protects m
	m  map[string][]byte
}

// NewMemDedupe returns an empty MemDedupe.
func NewMemDedupe() *MemDedupe { return &MemDedupe{m: map[string][]byte{}} }

func (d *MemDedupe) Get(key string) ([]byte, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.m[key]
	return v, ok, nil
}

func (d *MemDedupe) PutIfAbsent(key string, val []byte) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.m[key]; ok {
		return false, nil
	}
	d.m[key] = append([]byte(nil), val...)
	return true, nil
}
