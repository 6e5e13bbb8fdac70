package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// ErrDeadLetterNotFound: no dead letter has the id asked for.
var ErrDeadLetterNotFound = errors.New("dead_letter_not_found")

// DeadLetter is an event the relay gave up on after Relay.MaxAttempts failed
// tries. It left the outbox; it is delivered again only when an operator asks
// (Relay.RetryDeadLetter).
type DeadLetter struct {
	ID        string        `json:"id"` // the outbox entry id it had, in decimal
	Event     seatmap.Event `json:"event"`
	Attempts  int           `json:"attempts"`   // failed tries of its last round
	LastError string        `json:"last_error"` // the last try's error
	DeadAt    int64         `json:"dead_at"`    // Unix ms
}

// DeadLetters stores dead letters by id. Safe for concurrent use.
type DeadLetters interface {
	// Put stores d, replacing a dead letter with the same id.
	Put(d DeadLetter) error
	Get(id string) (DeadLetter, bool, error)
	// List returns every dead letter, oldest outbox entry first.
	List() ([]DeadLetter, error)
	// Delete removes a dead letter; a missing one is not an error.
	Delete(id string) error
}

// KV is the durable key/value store the kv-backed DeadLetters and Dedupe need
// (persistence/pebble.Store, once it has ScanKV and DeleteKV).
type KV interface {
	Get(key string) ([]byte, bool, error)
	Put(key string, val []byte, sync bool) error
	PutIfAbsent(key string, val []byte) (bool, error)
	// ScanKV calls fn with every key with the prefix and a copy of its
	// value, in key order, until fn returns false; fn must not call the store.
	ScanKV(prefix string, fn func(key string, val []byte) bool) error
	// DeleteKV deletes keys; missing keys are not an error.
	DeleteKV(keys ...string) error
}

// MemDeadLetters keeps dead letters in memory (tests, nodes without a disk).
type MemDeadLetters struct {
	mu sync.Mutex // protects m
	m  map[string]DeadLetter
}

func (m *MemDeadLetters) Put(d DeadLetter) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]DeadLetter{}
	}
	m.m[d.ID] = d
	return nil
}

func (m *MemDeadLetters) Get(id string) (DeadLetter, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.m[id]
	return d, ok, nil
}

func (m *MemDeadLetters) List() ([]DeadLetter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]DeadLetter, 0, len(m.m))
	for _, d := range m.m {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b DeadLetter) int { return compareIDs(a.ID, b.ID) })
	return out, nil
}

func (m *MemDeadLetters) Delete(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, id)
	return nil
}

// compareIDs orders decimal ids numerically (shorter first), others after.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// deadLetterPrefix is the kv prefix of dead letters.
const deadLetterPrefix = "deadletter/"

// KVDeadLetters keeps dead letters in a KV store as JSON, one key each
// ("deadletter/" + the id zero-padded to 20 digits, so a scan lists them in
// outbox order).
type KVDeadLetters struct {
	KV KV
}

func dlKey(id string) (string, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrDeadLetterNotFound, id)
	}
	return fmt.Sprintf("%s%020d", deadLetterPrefix, n), nil
}

func (k *KVDeadLetters) Put(d DeadLetter) error {
	key, err := dlKey(d.ID)
	if err != nil {
		return err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return k.KV.Put(key, b, true)
}

func (k *KVDeadLetters) Get(id string) (DeadLetter, bool, error) {
	key, err := dlKey(id)
	if err != nil {
		return DeadLetter{}, false, nil
	}
	b, ok, err := k.KV.Get(key)
	if err != nil || !ok {
		return DeadLetter{}, false, err
	}
	var d DeadLetter
	if err := json.Unmarshal(b, &d); err != nil {
		return DeadLetter{}, false, fmt.Errorf("dead letter %s: %w", id, err)
	}
	return d, true, nil
}

func (k *KVDeadLetters) List() ([]DeadLetter, error) {
	var out []DeadLetter
	var bad error
	err := k.KV.ScanKV(deadLetterPrefix, func(key string, val []byte) bool {
		var d DeadLetter
		if err := json.Unmarshal(val, &d); err != nil {
			bad = fmt.Errorf("dead letter %s: %w", key, err)
			return false
		}
		out = append(out, d)
		return true
	})
	if err == nil {
		err = bad
	}
	return out, err
}

func (k *KVDeadLetters) Delete(id string) error {
	key, err := dlKey(id)
	if err != nil {
		return nil
	}
	return k.KV.DeleteKV(key)
}
