package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// Write is one show's share of a journal batch.
type Write struct {
	Records []seatmap.Record // consecutive, continuing the show's journal
	// Encoded, when not nil, is Records encoded (facts.EncodeRecord, one
	// each, in order), made beside the writer (encodeRecords): a journal
	// that stores encoded records takes them instead of encoding again.
	Encoded [][]byte
	Events  []seatmap.Event     // outbox events of these records
	Archive []seatmap.OrderView // orders that left the actor's memory
	// Held keeps Events from the relay until the returned Held is released
	// (with Redis: until Redis accepted the records too).
	Held bool
	// Rows are changed state rows (a nil Value deletes one) that bring the
	// show's stored state to RowsSeq, written atomically with Records: the
	// records up to RowsSeq are then dropped. RowsSeq must not be older than
	// the stored rows, nor past the records (these included); the records up
	// to it must be durable and acknowledged already. The writer sends
	// records without rows, and its checkpointer rows without records (a
	// rows-only Write, beside the writer's next Append: see checkpointer).
	Rows    []facts.Row
	RowsSeq uint64
}

// Stored is what Load read of a show besides its state rows.
type Stored struct {
	Snapshot    []byte // a whole snapshot (of the format before rows), or nil
	SnapshotSeq uint64
	RowsSeq     uint64           // the seq the state rows are at (0: none)
	Records     []seatmap.Record // every record after max(SnapshotSeq, RowsSeq)
}

// Held is the outbox events of an Append made with Write.Held: Release hands
// them to the relay, Abort deletes them (their records were never
// acknowledged). Both are idempotent.
type Held interface {
	Release()
	Abort() error
}

// Journal is the durable log of show records, the outbox of order events and
// the archive of finished orders. Implementations are safe for concurrent use
// by many show actors; each show appends records from one goroutine at a
// time (its writer), and rows-only Writes from its checkpointer, possibly at
// the same time as the writer's Append (their rows describe records that
// returned from an Append before).
//
// A failed Append is fatal for the journal's handle: every later call fails
// until Recover reopened it from disk and dropped what the failed writes left
// (never read back what failed: it may be in memory and not on disk).
type Journal interface {
	// Append durably writes a show's records, events and archive as one
	// atomic batch and returns once synced. On error nothing may be assumed.
	Append(show string, w Write) (Held, error)
	// Load calls row (unless nil) with each state row of the show (key and
	// value valid during the call only) and returns the rest: a whole
	// snapshot if one is stored, the seqs, every record after them, in order.
	Load(show string, row func(key string, value []byte) error) (Stored, error)
	// SaveState stores rows as the show's whole state at seq (replacing
	// every row and the snapshot); records up to seq are dropped.
	SaveState(show string, seq uint64, rows []facts.Row) error
	// Shards lists every show that has state, for recovery at start.
	Shards() ([]string, error)
	// Recover reopens a failed journal from disk, dropping what failed
	// writes left; a no-op while healthy.
	Recover() error
	// Failed reports whether a write failed and Recover has not succeeded since.
	Failed() bool
	// DropAfter deletes the show's records after seq and the outbox events
	// they wrote: they were never acknowledged.
	DropAfter(show string, seq uint64) error
	// Archived returns an archived order.
	Archived(orderID string) ([]byte, bool, error)
	// LocalEpoch returns the Redis epoch of the activation that last wrote
	// the show here and the highest seq Redis accepted from it (0, 0: none).
	LocalEpoch(show string) (epoch, acked uint64, err error)
	// SetLocalEpoch records the epoch of the activation now writing the show
	// (synced) and the highest seq Redis accepted from it (acked may be
	// written unsynced: it only narrows what a lost Redis tail can be).
	SetLocalEpoch(show string, epoch, acked uint64, sync bool) error
	// Reset drops the show's records, snapshot and state rows.
	Reset(show string) error
}

// FailureNotifier is a Journal that can fail by calls outside the Journal
// interface: PebbleJournal's store is also the relay's outbox (AckOutbox)
// and the consumers' dedupe keys and dead letters. A write of theirs that
// fails the store fails the journal, and no show's write may follow to start
// its reopen (sim/vopr seed 74017701984531: the relay's AckOutbox failed on
// a node owning no show, whose journal then stayed failed and whose outbox
// was never delivered again). The Env registers Env.journalFailed with it.
type FailureNotifier interface {
	// OnFailed makes the journal call f (which must not block or call the
	// journal) whenever it fails.
	OnFailed(f func())
}

// ErrJournalFailed: a journal write failed; the journal refuses every call
// until Recover succeeds.
var ErrJournalFailed = errors.New("journal failed; recover it")

// MemJournal keeps everything in memory: for tests, benchmarks of the actor
// path without IO, and `--journal=memory`. It fails like Pebble: a failed
// Append (FailWith) is applied to memory before it fails, is visible to
// nothing once failed (every call errs until Recover), and Recover drops it.
type MemJournal struct {
	mu        sync.Mutex                   // protects following fields
	rows      map[string]map[string][]byte // show -> state rows
	rowsSeq   map[string]uint64
	recs      map[string][]seatmap.Record
	events    []seatmap.Event
	outbox    []memEntry // not yet acknowledged, in id order
	nextID    uint64
	fail      error
	failN     int           // with fail: how many more writes fail (0 = all)
	syncDelay time.Duration // how long an Append takes, as an fsync would
	failed    []memResidue  // what failed Appends left, until Recover
	epochs    map[string][2]uint64
	archive   map[string][]byte
}

type memEntry struct {
	pebble.OutboxEntry
	held bool
}

type memResidue struct {
	show     string
	firstSeq uint64
	ids      []uint64
}

// NewMemJournal returns an empty in-memory journal.
func NewMemJournal() *MemJournal {
	return &MemJournal{rows: map[string]map[string][]byte{}, rowsSeq: map[string]uint64{}, recs: map[string][]seatmap.Record{},
		epochs: map[string][2]uint64{}, archive: map[string][]byte{}}
}

// FailWith makes every later Append fail with err (nil heals the disk; the
// journal stays failed until Recover), to test storage failures.
func (j *MemJournal) FailWith(err error) {
	j.mu.Lock()
	j.fail, j.failN = err, 0
	j.mu.Unlock()
}

// SetSyncDelay makes every Append take d, as an fsync would.
func (j *MemJournal) SetSyncDelay(d time.Duration) {
	j.mu.Lock()
	j.syncDelay = d
	j.mu.Unlock()
}

// FailNext makes the next n Appends fail with err, then heals the disk (a
// transient fault: Recover succeeds afterwards).
func (j *MemJournal) FailNext(n int, err error) {
	j.mu.Lock()
	j.fail, j.failN = err, n
	j.mu.Unlock()
}

// failedWriteLocked returns the injected error and counts a FailNext write.
func (j *MemJournal) failedWriteLocked() error {
	err := j.fail
	if j.failN > 0 {
		if j.failN--; j.failN == 0 {
			j.fail = nil
		}
	}
	return err
}

func (j *MemJournal) checkLocked() error {
	if len(j.failed) > 0 {
		return ErrJournalFailed
	}
	return nil
}

func (j *MemJournal) Append(show string, w Write) (Held, error) {
	j.mu.Lock()
	if d := j.syncDelay; d > 0 {
		j.mu.Unlock()
		time.Sleep(d)
		j.mu.Lock()
	}
	defer j.mu.Unlock()
	if err := j.checkLocked(); err != nil {
		return nil, err
	}
	r := memResidue{show: show}
	if len(w.Records) > 0 {
		r.firstSeq = w.Records[0].Seq
	}
	if err := j.checkSeqLocked(show, w); err != nil {
		return nil, err
	}
	if err := j.checkRowsLocked(show, w); err != nil {
		return nil, err
	}
	j.recs[show] = append(j.recs[show], w.Records...)
	if len(w.Rows) > 0 || w.RowsSeq > 0 {
		j.applyRowsLocked(show, w.Rows)
		j.rowsSeq[show] = w.RowsSeq
		j.truncateBelowLocked(show, w.RowsSeq)
	}
	j.events = append(j.events, w.Events...)
	var lastSeq uint64
	if n := len(w.Records); n > 0 {
		lastSeq = w.Records[n-1].Seq
	}
	for _, e := range w.Events {
		data, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		j.nextID++
		j.outbox = append(j.outbox, memEntry{OutboxEntry: pebble.OutboxEntry{ID: j.nextID, Data: data, Shard: show, Seq: lastSeq}, held: w.Held})
		r.ids = append(r.ids, j.nextID)
	}
	for i := range w.Archive {
		j.archive[w.Archive[i].ID] = facts.EncodeArchived(&w.Archive[i])
	}
	if j.fail != nil { // like Pebble: applied in memory, then the sync fails
		j.failed = append(j.failed, r)
		return nil, j.failedWriteLocked()
	}
	if !w.Held {
		return nil, nil
	}
	return &memHeld{j: j, ids: r.ids}, nil
}

// checkSeqLocked refuses, as the Pebble store does (ErrSeqGap, nothing
// written, the store not failed), records that do not continue the show's
// journal (its last record, else its rows' seq): a failed Append then never
// held a record that was durable before it, and Recover drops only its own.
func (j *MemJournal) checkSeqLocked(show string, w Write) error {
	if len(w.Records) == 0 {
		return nil
	}
	last := j.rowsSeq[show]
	if recs := j.recs[show]; len(recs) > 0 {
		last = max(last, recs[len(recs)-1].Seq)
	}
	for i, r := range w.Records {
		if r.Seq != last+1+uint64(i) {
			return fmt.Errorf("%w: memjournal: %s: record %d, want %d", pebble.ErrSeqGap, show, r.Seq, last+1+uint64(i))
		}
	}
	return nil
}

// checkRowsLocked refuses rows older than the stored ones or past the records.
func (j *MemJournal) checkRowsLocked(show string, w Write) error {
	if len(w.Rows) == 0 && w.RowsSeq == 0 {
		return nil
	}
	last := j.rowsSeq[show]
	if recs := j.recs[show]; len(recs) > 0 {
		last = max(last, recs[len(recs)-1].Seq)
	}
	if n := len(w.Records); n > 0 {
		last = w.Records[n-1].Seq
	}
	if w.RowsSeq < j.rowsSeq[show] || w.RowsSeq > last {
		return fmt.Errorf("memjournal: %s: rows at %d, stored rows at %d, records to %d", show, w.RowsSeq, j.rowsSeq[show], last)
	}
	return nil
}

func (j *MemJournal) applyRowsLocked(show string, rows []facts.Row) {
	m := j.rows[show]
	if m == nil {
		m = map[string][]byte{}
		j.rows[show] = m
	}
	for _, r := range rows {
		if r.Value == nil {
			delete(m, r.Key)
		} else {
			m[r.Key] = r.Value
		}
	}
}

// truncateBelowLocked drops the records up to seq (the rows hold them).
func (j *MemJournal) truncateBelowLocked(show string, seq uint64) {
	recs := j.recs[show]
	i := sort.Search(len(recs), func(i int) bool { return recs[i].Seq > seq })
	j.recs[show] = append([]seatmap.Record(nil), recs[i:]...)
}

type memHeld struct {
	j   *MemJournal
	ids []uint64
}

func (h *memHeld) Release() {
	h.j.mu.Lock()
	defer h.j.mu.Unlock()
	for i := range h.j.outbox {
		for _, id := range h.ids {
			if h.j.outbox[i].ID == id {
				h.j.outbox[i].held = false
			}
		}
	}
}

func (h *memHeld) Abort() error { return h.j.AckOutbox(h.ids...) }

// Recover drops what failed Appends left and heals the journal, unless the
// disk still fails (FailWith not cleared).
func (j *MemJournal) Recover() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.failed) == 0 {
		return nil
	}
	if j.fail != nil {
		return j.failedWriteLocked()
	}
	for _, r := range j.failed {
		if r.firstSeq > 0 {
			j.truncateLocked(r.show, r.firstSeq-1)
		}
		j.dropIDsLocked(r.ids)
	}
	j.failed = nil
	return nil
}

func (j *MemJournal) Failed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.failed) > 0
}

func (j *MemJournal) truncateLocked(show string, seq uint64) {
	recs := j.recs[show]
	i := sort.Search(len(recs), func(i int) bool { return recs[i].Seq > seq })
	j.recs[show] = recs[:i:i]
}

func (j *MemJournal) dropIDsLocked(ids []uint64) {
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
}

func (j *MemJournal) DropAfter(show string, seq uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkLocked(); err != nil {
		return err
	}
	if j.rowsSeq[show] > seq {
		return &pebble.BelowSnapshotError{Shard: show, Base: j.rowsSeq[show], Seq: seq, Rows: true} // as the Pebble store refuses
	}
	j.truncateLocked(show, seq)
	var ids []uint64
	for _, e := range j.outbox {
		if e.Shard == show && e.Seq > seq {
			ids = append(ids, e.ID)
		}
	}
	j.dropIDsLocked(ids)
	return nil
}

// OutboxAfter returns up to limit unacknowledged events with ids above
// after, stopping below the first held one.
func (j *MemJournal) OutboxAfter(after uint64, limit int) ([]pebble.OutboxEntry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkLocked(); err != nil {
		return nil, err
	}
	var out []pebble.OutboxEntry
	for _, e := range j.outbox {
		if e.held {
			break
		}
		if e.ID > after {
			out = append(out, e.OutboxEntry)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// AckOutbox forgets delivered events.
func (j *MemJournal) AckOutbox(ids ...uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.dropIDsLocked(ids)
	return nil
}

func (j *MemJournal) Load(show string, row func(key string, value []byte) error) (Stored, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkLocked(); err != nil {
		return Stored{}, err
	}
	if row != nil {
		keys := make([]string, 0, len(j.rows[show]))
		for k := range j.rows[show] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := row(k, j.rows[show][k]); err != nil {
				return Stored{}, err
			}
		}
	}
	return Stored{RowsSeq: j.rowsSeq[show], Records: append([]seatmap.Record(nil), j.recs[show]...)}, nil
}

func (j *MemJournal) SaveState(show string, seq uint64, rows []facts.Row) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkLocked(); err != nil {
		return err
	}
	if seq < j.rowsSeq[show] {
		return fmt.Errorf("memjournal: %s: rows at %d, given %d", show, j.rowsSeq[show], seq)
	}
	delete(j.rows, show)
	j.applyRowsLocked(show, rows)
	j.rowsSeq[show] = seq
	j.truncateBelowLocked(show, seq)
	return nil
}

func (j *MemJournal) Shards() ([]string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for s := range j.recs {
		out = append(out, s)
	}
	for s := range j.rowsSeq {
		if _, ok := j.recs[s]; !ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Knows reports whether the journal holds anything of show: records, state
// rows, an epoch, archived orders, order events or outbox entries (the
// simulator asserts that an unknown show id leaves nothing).
func (j *MemJournal) Knows(show string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, recs := j.recs[show]
	_, rows := j.rows[show]
	_, rowsSeq := j.rowsSeq[show]
	_, epoch := j.epochs[show]
	if recs || rows || rowsSeq || epoch {
		return true
	}
	for id := range j.archive {
		if strings.HasPrefix(id, show+"~") {
			return true
		}
	}
	for _, e := range j.events {
		if e.Show == show {
			return true
		}
	}
	for _, e := range j.outbox {
		if e.Shard == show {
			return true
		}
	}
	return false
}

// Events returns the order events appended so far (failed Appends included).
func (j *MemJournal) Events() []seatmap.Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]seatmap.Event(nil), j.events...)
}

// OutboxEvents returns the events in the outbox now, held ones included,
// for tests.
func (j *MemJournal) OutboxEvents() []seatmap.Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []seatmap.Event
	for _, e := range j.outbox {
		var ev seatmap.Event
		if json.Unmarshal(e.Data, &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

func (j *MemJournal) Archived(orderID string) ([]byte, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	v, ok := j.archive[orderID]
	return v, ok, nil
}

func (j *MemJournal) LocalEpoch(show string) (uint64, uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e := j.epochs[show]
	return e[0], e[1], nil
}

func (j *MemJournal) SetLocalEpoch(show string, epoch, acked uint64, _ bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.checkLocked(); err != nil {
		return err
	}
	j.epochs[show] = [2]uint64{epoch, acked}
	return nil
}

// Reset drops the show's records and state rows.
func (j *MemJournal) Reset(show string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.recs, show)
	delete(j.rows, show)
	delete(j.rowsSeq, show)
	return nil
}

// memRegistry is the registry of a node without a durable one (tests).
type memRegistry struct {
	mu sync.Mutex // protects m
	m  map[string][]byte
}

func (r *memRegistry) Lookup(_ context.Context, show string) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[show]
	return v, ok, nil
}

func (r *memRegistry) List(_ context.Context) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.m))
	for id := range r.m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

func (r *memRegistry) Register(_ context.Context, show string, cfg []byte) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string][]byte{}
	}
	if _, ok := r.m[show]; ok {
		return false, nil
	}
	r.m[show] = append([]byte(nil), cfg...)
	return true, nil
}
