package pipeline

import (
	"context"
	"encoding/binary"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DefaultRetention is how long dedupe keys are kept by default. A redelivery
// later than that is not recognized as one.
const DefaultRetention = 48 * time.Hour

// DefaultDedupePrefixes are the key prefixes a KVDedupe sweeps: the sandbox
// gateway's charge and refund keys and the notification keys.
var DefaultDedupePrefixes = []string{"gw/", "notify/"}

// Sweeper forgets dedupe keys older than its retention.
type Sweeper interface {
	// Sweep deletes the expired keys and returns how many it deleted.
	Sweep() (int, error)
}

// RunSweeper calls s.Sweep every interval (default an hour) until ctx is done.
func RunSweeper(ctx context.Context, s Sweeper, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = time.Hour
	}
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := s.Sweep(); err != nil {
			log.Warn("dedupe: sweep failed", "err", err)
		} else if n > 0 {
			log.Debug("dedupe: expired keys deleted", "n", n)
		}
	}
}

func retention(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultRetention
	}
	return d
}

func clock(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}

// MemDedupe is an in-memory Dedupe, for tests and nodes without a disk
// journal. Keys older than Retention are deleted by Sweep.
type MemDedupe struct {
	Retention time.Duration    // DefaultRetention when 0
	Now       func() time.Time // time.Now when nil

	mu sync.Mutex // protects m
	m  map[string]memEntry
}

type memEntry struct {
	val []byte
	at  time.Time
}

// NewMemDedupe returns an empty MemDedupe.
func NewMemDedupe() *MemDedupe { return &MemDedupe{m: map[string]memEntry{}} }

func (d *MemDedupe) Get(key string) ([]byte, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.m[key]
	return e.val, ok, nil
}

func (d *MemDedupe) PutIfAbsent(key string, val []byte) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.m[key]; ok {
		return false, nil
	}
	if d.m == nil {
		d.m = map[string]memEntry{}
	}
	d.m[key] = memEntry{val: append([]byte(nil), val...), at: clock(d.Now)}
	return true, nil
}

// Sweep deletes the keys stored more than Retention ago.
func (d *MemDedupe) Sweep() (int, error) {
	cut := clock(d.Now).Add(-retention(d.Retention))
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for k, e := range d.m {
		if e.at.Before(cut) {
			delete(d.m, k)
			n++
		}
	}
	return n, nil
}

// Len returns how many keys are kept.
func (d *MemDedupe) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}

// KVDedupe is a Dedupe in a KV store that stamps every value with the time
// it was stored, so Sweep can delete the keys older than Retention under
// Prefixes. Values stored before stamps existed are stamped by the first
// sweep that sees them, and expire one retention later.
type KVDedupe struct {
	KV        KV
	Retention time.Duration    // DefaultRetention when 0
	Prefixes  []string         // DefaultDedupePrefixes when nil
	Now       func() time.Time // time.Now when nil
}

// stampMagic starts a stamped value; unstamped values ("ok", "declined",
// "\x01") never start with it.
const stampMagic = 0xDE

func stamp(at time.Time, val []byte) []byte {
	b := make([]byte, 9, 9+len(val))
	b[0] = stampMagic
	binary.BigEndian.PutUint64(b[1:], uint64(at.UnixMilli()))
	return append(b, val...)
}

// unstamp splits a value into its stamp (Unix ms; ok false when it has
// none) and the value stored.
func unstamp(b []byte) (ms int64, val []byte, ok bool) {
	if len(b) < 9 || b[0] != stampMagic {
		return 0, b, false
	}
	return int64(binary.BigEndian.Uint64(b[1:9])), b[9:], true
}

func (d *KVDedupe) Get(key string) ([]byte, bool, error) {
	v, ok, err := d.KV.Get(key)
	if err != nil || !ok {
		return nil, ok, err
	}
	_, v, _ = unstamp(v)
	return v, true, nil
}

func (d *KVDedupe) PutIfAbsent(key string, val []byte) (bool, error) {
	return d.KV.PutIfAbsent(key, stamp(clock(d.Now), val))
}

// Sweep deletes the keys under Prefixes stored more than Retention ago.
func (d *KVDedupe) Sweep() (int, error) {
	now := clock(d.Now)
	cut := now.Add(-retention(d.Retention)).UnixMilli()
	prefixes := d.Prefixes
	if prefixes == nil {
		prefixes = DefaultDedupePrefixes
	}
	var expired []string
	restamp := map[string][]byte{}
	for _, p := range prefixes {
		err := d.KV.ScanKV(p, func(key string, val []byte) bool {
			if !strings.HasPrefix(key, p) {
				return true
			}
			ms, v, ok := unstamp(val)
			switch {
			case !ok:
				restamp[key] = stamp(now, v)
			case ms < cut:
				expired = append(expired, key)
			}
			return true
		})
		if err != nil {
			return 0, err
		}
	}
	for k, v := range restamp {
		if err := d.KV.Put(k, v, false); err != nil {
			return 0, err
		}
	}
	for lo := 0; lo < len(expired); lo += 1024 {
		if err := d.KV.DeleteKV(expired[lo:min(lo+1024, len(expired))]...); err != nil {
			return lo, err
		}
	}
	return len(expired), nil
}
