package actors

import (
	"encoding/json"
	"sort"
	"sync"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// Journal is the durable log of shard records and the outbox of order events.
// Implementations are safe for concurrent use by many shard actors; each shard
// appends from one goroutine at a time.
type Journal interface {
	// Append durably writes a shard's records and events as one atomic batch
	// and returns only once they are synced (or failed: then none is written).
	Append(shard string, recs []seatmap.Record, events []seatmap.Event) error
	// Load returns the shard's newest snapshot (nil if none) and every record after it, in order.
	Load(shard string) (snap []byte, recs []seatmap.Record, err error)
	// SaveSnapshot stores a snapshot at seq; records up to seq may be dropped.
	SaveSnapshot(shard string, seq uint64, snap []byte) error
	// Shards lists every shard that has state, for recovery at start.
	Shards() ([]string, error)
}

// MemJournal keeps everything in memory: for tests, benchmarks of the actor
// path without IO, and `--journal=off`.
type MemJournal struct {
	mu     sync.Mutex // protects following fields
	snaps  map[string][]byte
	recs   map[string][]seatmap.Record
	events []seatmap.Event
	outbox []pebble.OutboxEntry // not yet acknowledged, in id order
	nextID uint64
	fail   error
	epochs map[string]uint64
}

// NewMemJournal returns an empty in-memory journal.
func NewMemJournal() *MemJournal {
	return &MemJournal{snaps: map[string][]byte{}, recs: map[string][]seatmap.Record{}}
}

// FailWith makes every later Append fail with err (nil heals it), to test
// storage failures.
func (j *MemJournal) FailWith(err error) {
	j.mu.Lock()
	j.fail = err
	j.mu.Unlock()
}

func (j *MemJournal) Append(shard string, recs []seatmap.Record, events []seatmap.Event) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail != nil {
		return j.fail
	}
	j.recs[shard] = append(j.recs[shard], recs...)
	j.events = append(j.events, events...)
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		j.nextID++
		j.outbox = append(j.outbox, pebble.OutboxEntry{ID: j.nextID, Data: data})
	}
	return nil
}

// OutboxAfter returns up to limit unacknowledged events with ids above after.
func (j *MemJournal) OutboxAfter(after uint64, limit int) ([]pebble.OutboxEntry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	i := sort.Search(len(j.outbox), func(i int) bool { return j.outbox[i].ID > after })
	out := j.outbox[i:]
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return append([]pebble.OutboxEntry(nil), out...), nil
}

// AckOutbox forgets delivered events.
func (j *MemJournal) AckOutbox(ids ...uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	done := make(map[uint64]bool, len(ids))
	for _, id := range ids {
		done[id] = true
	}
	kept := j.outbox[:0]
	for _, e := range j.outbox {
		if !done[e.ID] {
			kept = append(kept, e)
		}
	}
	j.outbox = kept
	return nil
}

func (j *MemJournal) Load(shard string) ([]byte, []seatmap.Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.snaps[shard], append([]seatmap.Record(nil), j.recs[shard]...), nil
}

func (j *MemJournal) SaveSnapshot(shard string, seq uint64, snap []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.snaps[shard] = snap
	recs := j.recs[shard]
	i := sort.Search(len(recs), func(i int) bool { return recs[i].Seq > seq })
	j.recs[shard] = append([]seatmap.Record(nil), recs[i:]...)
	return nil
}

func (j *MemJournal) Shards() ([]string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for s := range j.recs {
		out = append(out, s)
	}
	for s := range j.snaps {
		if _, ok := j.recs[s]; !ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Events returns the order events appended so far.
func (j *MemJournal) Events() []seatmap.Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]seatmap.Event(nil), j.events...)
}

// LocalEpoch returns the Redis epoch of the activation that last wrote shard here.
func (j *MemJournal) LocalEpoch(shard string) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.epochs[shard], nil
}

// SetLocalEpoch records the epoch of the activation now writing shard.
func (j *MemJournal) SetLocalEpoch(shard string, epoch uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.epochs == nil {
		j.epochs = map[string]uint64{}
	}
	j.epochs[shard] = epoch
	return nil
}

// Reset drops the shard's records and snapshot.
func (j *MemJournal) Reset(shard string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.recs, shard)
	delete(j.snaps, shard)
	return nil
}
