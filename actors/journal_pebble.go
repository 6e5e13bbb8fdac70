package actors

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// PebbleJournal keeps show records, the outbox and the order archive in a
// node's Pebble store. Records and archived orders are in the versioned
// binary format of package facts (records and orders of the JSON format
// before it still load); outbox events are JSON (the consumers' format).
type PebbleJournal struct {
	Store *pebble.Store
}

// NewPebbleJournal returns a Journal over store.
func NewPebbleJournal(store *pebble.Store) *PebbleJournal { return &PebbleJournal{Store: store} }

func archiveKey(orderID string) string { return "archive/" + orderID }

func (j *PebbleJournal) Append(show string, w Write) (Held, error) {
	b := pebble.Batch{Shard: show, Entries: make([]pebble.Entry, len(w.Records)), Outbox: make([][]byte, len(w.Events))}
	for i := range w.Records {
		b.Entries[i] = pebble.Entry{Seq: w.Records[i].Seq, Data: encodedRecord(w.Records, w.Encoded, i)}
	}
	for i, e := range w.Events {
		data, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		b.Outbox[i] = data
	}
	for i := range w.Archive {
		b.Puts = append(b.Puts, pebble.KV{Key: archiveKey(w.Archive[i].ID), Value: facts.EncodeArchived(&w.Archive[i])})
	}
	if len(w.Rows) > 0 || w.RowsSeq > 0 {
		b.Rows, b.RowsSeq = rowsKV(w.Rows), w.RowsSeq
	}
	if !w.Held {
		_, err := j.Store.Commit(b)
		return nil, err
	}
	_, t, err := j.Store.CommitHeld(b)
	if err != nil {
		return nil, err
	}
	return pebbleHeld{s: j.Store, t: t}, nil
}

type pebbleHeld struct {
	s *pebble.Store
	t *pebble.Ticket
}

func (h pebbleHeld) Release()     { h.s.Release(h.t) }
func (h pebbleHeld) Abort() error { return h.s.Abort(h.t) }

func rowsKV(rows []facts.Row) []pebble.KV {
	out := make([]pebble.KV, len(rows))
	for i, r := range rows {
		out[i] = pebble.KV{Key: r.Key, Value: r.Value}
	}
	return out
}

func (j *PebbleJournal) Load(show string, row func(key string, value []byte) error) (Stored, error) {
	st, err := j.Store.LoadState(show, row)
	if err != nil {
		return Stored{}, err
	}
	out := Stored{Snapshot: st.Snapshot, SnapshotSeq: st.SnapshotSeq, RowsSeq: st.RowsSeq, Records: make([]seatmap.Record, len(st.Entries))}
	for i, e := range st.Entries {
		if out.Records[i], err = facts.DecodeRecord(e.Seq, e.Data); err != nil {
			return Stored{}, fmt.Errorf("show %s record %d: %w", show, e.Seq, err)
		}
	}
	return out, nil
}

func (j *PebbleJournal) SaveState(show string, seq uint64, rows []facts.Row) error {
	return j.Store.ReplaceState(show, seq, rowsKV(rows))
}

// SaveSortedState is SaveState for rows in strictly ascending key order:
// the store writes them as one sstable and ingests it (Store.IngestState:
// no WAL, memtable or flush), with SaveState's outcome after a crash (the
// old state or the new one, whole).
func (j *PebbleJournal) SaveSortedState(show string, seq uint64, rows []facts.Row) error {
	return j.Store.IngestState(show, seq, rowsKV(rows))
}

func (j *PebbleJournal) Shards() ([]string, error) { return j.Store.Shards() }

func (j *PebbleJournal) Recover() error { return j.Store.Reopen() }

func (j *PebbleJournal) Failed() bool { return j.Store.Err() != nil }

// OnFailed makes the store call f whenever it fails, whichever of its users
// failed it (the relay, the consumers' dedupe keys and dead letters share
// it): see FailureNotifier.
func (j *PebbleJournal) OnFailed(f func()) { j.Store.OnFail(f) }

func (j *PebbleJournal) DropAfter(show string, seq uint64) error {
	return j.Store.DropShardAfter(show, seq)
}

func (j *PebbleJournal) Archived(orderID string) ([]byte, bool, error) {
	return j.Store.Get(archiveKey(orderID))
}

func epochKey(show string) string { return "epoch/" + show }

// LocalEpoch returns the Redis epoch of the activation that last wrote the
// show here and the highest seq Redis accepted from it.
func (j *PebbleJournal) LocalEpoch(show string) (uint64, uint64, error) {
	v, ok, err := j.Store.Get(epochKey(show))
	if err != nil || !ok {
		return 0, 0, err
	}
	e, a, _ := strings.Cut(string(v), ":")
	epoch, err := strconv.ParseUint(e, 10, 64)
	if err != nil {
		return 0, 0, err
	}
	var acked uint64
	if a != "" {
		if acked, err = strconv.ParseUint(a, 10, 64); err != nil {
			return 0, 0, err
		}
	}
	return epoch, acked, nil
}

// SetLocalEpoch records the epoch of the activation now writing the show
// here and the highest seq Redis accepted from it.
func (j *PebbleJournal) SetLocalEpoch(show string, epoch, acked uint64, sync bool) error {
	v := strconv.FormatUint(epoch, 10) + ":" + strconv.FormatUint(acked, 10)
	return j.Store.Put(epochKey(show), []byte(v), sync)
}

// Reset drops the show's local journal, snapshot and state rows.
func (j *PebbleJournal) Reset(show string) error { return j.Store.DeleteShard(show) }
