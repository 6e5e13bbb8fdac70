package actors

import (
	"encoding/json"
	"strconv"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// PebbleJournal keeps shard records and the outbox in a node's Pebble store.
// Records and events are JSON (the seatmap.Command form is the journal format).
type PebbleJournal struct {
	Store *pebble.Store
}

// NewPebbleJournal returns a Journal over store.
func NewPebbleJournal(store *pebble.Store) *PebbleJournal { return &PebbleJournal{Store: store} }

func (j *PebbleJournal) Append(shard string, recs []seatmap.Record, events []seatmap.Event) error {
	b := pebble.Batch{Shard: shard, Entries: make([]pebble.Entry, len(recs)), Outbox: make([][]byte, len(events))}
	for i, r := range recs {
		data, err := json.Marshal(r.Cmd)
		if err != nil {
			return err
		}
		b.Entries[i] = pebble.Entry{Seq: r.Seq, Data: data}
	}
	for i, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		b.Outbox[i] = data
	}
	_, err := j.Store.Commit(b)
	return err
}

func (j *PebbleJournal) Load(shard string) ([]byte, []seatmap.Record, error) {
	snap, _, entries, err := j.Store.LoadShard(shard)
	if err != nil {
		return nil, nil, err
	}
	recs := make([]seatmap.Record, len(entries))
	for i, e := range entries {
		recs[i].Seq = e.Seq
		if err := json.Unmarshal(e.Data, &recs[i].Cmd); err != nil {
			return nil, nil, err
		}
	}
	return snap, recs, nil
}

func (j *PebbleJournal) SaveSnapshot(shard string, seq uint64, snap []byte) error {
	return j.Store.SaveSnapshot(shard, seq, snap)
}

func (j *PebbleJournal) Shards() ([]string, error) { return j.Store.Shards() }

func epochKey(shard string) string { return "epoch/" + shard }

// LocalEpoch returns the Redis epoch of the activation that last wrote shard here (0: none).
func (j *PebbleJournal) LocalEpoch(shard string) (uint64, error) {
	v, ok, err := j.Store.Get(epochKey(shard))
	if err != nil || !ok {
		return 0, err
	}
	return strconv.ParseUint(string(v), 10, 64)
}

// SetLocalEpoch records (synced) the epoch of the activation now writing shard here.
func (j *PebbleJournal) SetLocalEpoch(shard string, epoch uint64) error {
	return j.Store.Put(epochKey(shard), []byte(strconv.FormatUint(epoch, 10)), true)
}

// Reset drops the shard's local journal and snapshot.
func (j *PebbleJournal) Reset(shard string) error { return j.Store.DeleteShard(shard) }
