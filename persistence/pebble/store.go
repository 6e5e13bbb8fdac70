package pebble

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configure Open.
type Options struct {
	// Dir is the database directory (created if missing). Required.
	Dir string
	// FS is the filesystem; nil means the disk. Tests pass vfs.NewCrashableMem().
	FS vfs.FS
	// NoSync skips WAL syncs: writes survive a process crash but not a machine
	// crash. For benchmarks and throwaway nodes only.
	NoSync bool
	// Logger receives Pebble's messages (informational ones at Debug). Nil
	// discards them.
	Logger *slog.Logger
	// Tune, if set, adjusts Pebble's options before every open (Open and
	// Reopen), after the store's own settings: the simulator (sim/vopr)
	// disables automatic compactions so that no background work touches its
	// seeded disk faults.
	Tune func(*pebble.Options)
	// IngestMinRows is the fewest rows IngestState writes as sstables
	// (smaller states go in one batch); 0: ingestMinRows. Tests lower it to
	// take the sstable path with a small state.
	IngestMinRows int

	// tune, if set, adjusts Pebble's options before Open (tests use it to
	// force small memtables and so flushes).
	tune func(*pebble.Options)
}

// Store is a node's durable store. All methods are safe for concurrent use,
// subject to the per-shard and relay duties stated in the package doc.
type Store struct {
	db  *pebble.DB           // nil after a Reopen that could not open the database
	opt Options              // as given to Open, for Reopen
	fs  vfs.FS               // opt.FS or the disk
	wo  *pebble.WriteOptions // Sync, or NoSync under Options.NoSync
	log *slog.Logger
	// popts are the options of the open database (IngestState's sstables
	// are written with them); set by openDB, under closeMu held exclusively
	popts *pebble.Options
	// ingestStep, if not nil, is called between IngestState's steps (tests)
	ingestStep func(step string)

	closeMu sync.RWMutex // held shared by every operation, exclusively by Close and Reopen
	closed  bool         // protected by closeMu

	// failure is the first write error since Open or the last successful
	// Reopen; nil while the store is healthy. Cleared only by Reopen (holding
	// closeMu exclusively).
	failure atomic.Pointer[error]
	// onFail is called when the store fails (see OnFail); nil: none
	onFail atomic.Pointer[func()]

	residueMu sync.Mutex // protects following fields
	// residue is what failed writes may have left in the database; Reopen
	// deletes it before clearing the failure.
	residue residue

	mu sync.Mutex // protects following fields
	// lastSeq is the newest journal or snapshot seq per shard, loaded lazily
	// from the database on a shard's first write since Open or Reopen.
	lastSeq map[string]uint64
	// rowsSeq is the seq of each shard's state rows (0: none), loaded lazily
	// like lastSeq.
	rowsSeq map[string]uint64
	// nextOutboxID is the next outbox id to assign.
	nextOutboxID uint64
	// inflight holds, in id order, the outbox id ranges of Commits that have
	// not completed yet and of held Commits not yet released.
	inflight []*Ticket
	// durableOutboxID is the highest outbox id such that every Commit holding
	// an id at or below it has completed (synced and visible) and is not held.
	durableOutboxID uint64
	// outboxHeaderFrom is the first outbox id whose value carries the origin
	// header (smaller ids were written by an older store, without it).
	outboxHeaderFrom uint64

	ackMu sync.Mutex // serializes outbox deletions (AckOutbox, Abort, DropShardAfter); protects following fields
	// ackedOutboxID is the highest outbox id ever acknowledged or deleted
	// (persisted in metaAckedOutboxID).
	ackedOutboxID uint64

	outboxLen atomic.Int64 // outbox entries written and not acknowledged

	kvMu sync.Mutex // protects following fields
	// kvPending holds the keys a PutIfAbsent is writing, until synced.
	kvPending map[string]*pendingPut

	metrics storeMetrics
}

// Open opens (or creates) the store in opt.Dir and recovers the outbox id
// counter. It replays Pebble's WAL, so what was synced before a crash is back.
func Open(opt Options) (*Store, error) {
	if opt.Dir == "" {
		return nil, errors.New("pebble store: Options.Dir is required")
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fs := opt.FS
	if fs == nil {
		fs = vfs.Default
	}
	s := &Store{
		opt:       opt,
		fs:        fs,
		wo:        pebble.Sync,
		log:       log,
		lastSeq:   make(map[string]uint64),
		rowsSeq:   make(map[string]uint64),
		kvPending: make(map[string]*pendingPut),
	}
	if opt.NoSync {
		s.wo = pebble.NoSync
	}
	db, err := s.openDB()
	if err != nil {
		return nil, err
	}
	s.db = db
	scan, err := recoverOutbox(db)
	if err == nil {
		s.outboxHeaderFrom, err = initOutboxFormat(db, scan)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.ackedOutboxID = scan.acked
	s.outboxLen.Store(scan.n)
	s.durableOutboxID = max(scan.last, scan.acked)
	s.nextOutboxID = max(s.durableOutboxID+1, s.outboxHeaderFrom)
	return s, nil
}

// openDB opens the Pebble database with the store's options. Each call builds
// fresh options (the block cache of a closed database is released with it).
func (s *Store) openDB() (*pebble.DB, error) {
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref() // the DB holds its own reference
	popts := &pebble.Options{
		FS:                 syncCountingFS{FS: s.fs, syncs: &s.metrics.walSyncs, syncMicros: &s.metrics.walSyncMicros},
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             slogLogger{l: s.log},
		EventListener:      eventListener(s.log),
		// a block cache and a large memtable keep the hot journal tail, outbox
		// and dedupe keys in memory; bloom filters make lookups of absent
		// dedupe keys (the common case) skip the files that cannot hold them
		Cache:        cache,
		MemTableSize: 64 << 20,
	}
	for i := range popts.Levels {
		popts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	if s.opt.tune != nil {
		s.opt.tune(popts)
	}
	if s.opt.Tune != nil {
		s.opt.Tune(popts)
	}
	popts.EnsureDefaults()
	s.popts = popts
	db, err := pebble.Open(s.opt.Dir, popts)
	if err != nil {
		return nil, fmt.Errorf("pebble store: open %s: %w", s.opt.Dir, err)
	}
	s.removeIngestLeftovers()
	return db, nil
}

// cacheBytes is the Pebble block cache of a node's store.
const cacheBytes = 256 << 20

// Close closes the database. Callers stop writing first; later calls return
// ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	if s.db == nil {
		return nil // a failed Reopen already closed it
	}
	if s.Err() != nil {
		return closeFailed(s.db)
	}
	return s.db.Close()
}

// Err returns nil while the store is healthy, or the ErrFailed-wrapped first
// write error since Open or the last successful Reopen (for readiness checks).
// While Err is not nil every read and write returns it; Reopen clears it.
func (s *Store) Err() error {
	if p := s.failure.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrFailed, *p)
	}
	return nil
}

// begin guards an operation against Close and Reopen and refuses it while the
// store is failed (a failed handle must not be read: it may return the data of
// the failed write). end must follow a nil return.
func (s *Store) begin() error {
	if err := s.beginAny(); err != nil {
		return err
	}
	if err := s.Err(); err != nil {
		s.end()
		return err
	}
	return nil
}

// beginAny is begin without the failed-store check (metrics, Abort).
func (s *Store) beginAny() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) end() { s.closeMu.RUnlock() }

// afterRead returns err, or the store's failure if it failed while the read
// ran (the read may have seen the failed write's data).
func (s *Store) afterRead(err error) error {
	if ferr := s.Err(); ferr != nil {
		return ferr
	}
	return err
}

// fail records r as residue of a failed write and err as the store's failure
// (the first one wins), and returns the error to hand to the caller.
func (s *Store) fail(err error, r *residue) error {
	if r != nil {
		s.residueMu.Lock()
		s.residue.add(r)
		s.residueMu.Unlock()
	}
	if s.failure.CompareAndSwap(nil, &err) {
		s.log.Error("pebble store failed; refusing reads and writes until Reopen", "err", err)
		if f := s.onFail.Load(); f != nil {
			(*f)()
		}
	}
	return s.Err()
}

// OnFail makes the store call f each time it fails (a healthy store's first
// failed write or sync, whoever made it: a journal Commit, the relay's
// AckOutbox, a Put of a dedupe key or a dead letter), so that its owner can
// start a Reopen although the call that failed was not its own. f runs on
// the failing call's goroutine while that call holds the store: it must not
// block or call the store (start the Reopen elsewhere). A later OnFail
// replaces f; nil removes it. It is not called for a failure before it was
// set: check Err after setting it.
func (s *Store) OnFail(f func()) {
	if f == nil {
		s.onFail.Store(nil)
		return
	}
	s.onFail.Store(&f)
}

// commitBatch commits b with the store's write options, counts synced writes,
// and fails the store on error, recording residueOf() (residueOf may be nil)
// as the residue to delete on Reopen; residueOf runs only on failure, so that
// the fast path does not build it. It closes b unless the commit failed
// (Pebble forbids reusing a failed batch and may still reference it).
func (s *Store) commitBatch(b *pebble.Batch, residueOf func() *residue) error {
	if err := s.apply(b, s.wo); err != nil {
		var r *residue
		if residueOf != nil {
			r = residueOf()
		}
		return s.fail(err, r)
	}
	_ = b.Close()
	if s.wo.Sync {
		s.metrics.syncedWrites.Add(1)
	}
	return nil
}

// recoverFatal, deferred, turns Pebble's fatal error (a panic raised by
// slogLogger.Fatalf) into *err; any other panic goes on.
func recoverFatal(err *error) {
	if r := recover(); r != nil {
		f, ok := r.(pebbleFatal)
		if !ok {
			panic(r)
		}
		*err = f
	}
}

// apply commits b, turning Pebble's fatal commit error (a panic raised by
// slogLogger.Fatalf) into an error.
func (s *Store) apply(b *pebble.Batch, wo *pebble.WriteOptions) (err error) {
	defer recoverFatal(&err)
	return b.Commit(wo)
}

// Metrics returns counters and gauges of the store and of Pebble, for export.
// Counters count since Open; commit latency quantiles are over all Commits
// since Open, within 12.5%.
func (s *Store) Metrics() map[string]float64 {
	m := &s.metrics
	out := map[string]float64{
		"commits_total":              float64(m.commits.Load()),
		"commit_batches_total":       float64(m.batches.Load()),
		"journal_entries_total":      float64(m.entries.Load()),
		"outbox_entries_total":       float64(m.outboxEntries.Load()),
		"commit_bytes_total":         float64(m.commitBytes.Load()),
		"synced_writes_total":        float64(m.syncedWrites.Load()),
		"wal_syncs_total":            float64(m.walSyncs.Load()),
		"wal_sync_seconds_total":     float64(m.walSyncMicros.Load()) / 1e6,
		"snapshots_total":            float64(m.snapshots.Load()),
		"outbox_acked_total":         float64(m.acked.Load()),
		"outbox_len":                 float64(s.outboxLen.Load()),
		"commit_latency_p50_micros":  float64(m.commitLatencyMicros.quantile(0.50)),
		"commit_latency_p99_micros":  float64(m.commitLatencyMicros.quantile(0.99)),
		"commit_latency_mean_micros": m.commitLatencyMicros.mean(),
		"commit_latency_max_micros":  float64(m.commitLatencyMaxMicros.Load()),
		"reopens_total":              float64(m.reopens.Load()),
		"failed":                     0,
	}
	if syncs := m.walSyncs.Load(); syncs > 0 {
		out["synced_writes_per_wal_sync"] = float64(m.syncedWrites.Load()) / float64(syncs)
	}
	if s.Err() != nil {
		out["failed"] = 1
	}
	s.mu.Lock()
	out["outbox_next_id"] = float64(s.nextOutboxID)
	out["outbox_durable_id"] = float64(s.durableOutboxID)
	s.mu.Unlock()
	if s.beginAny() == nil {
		var pm *pebble.Metrics
		if s.db != nil && s.Err() == nil {
			pm = s.db.Metrics()
		}
		s.end()
		if pm == nil {
			return out
		}
		out["pebble_flushes_total"] = float64(pm.Flush.Count)
		out["pebble_ingests_total"] = float64(pm.Ingest.Count)
		out["pebble_compactions_total"] = float64(pm.Compact.Count)
		out["pebble_compaction_debt_bytes"] = float64(pm.Compact.EstimatedDebt)
		out["pebble_read_amp"] = float64(pm.ReadAmp())
		out["pebble_disk_usage_bytes"] = float64(pm.DiskSpaceUsage())
		out["pebble_memtable_bytes"] = float64(pm.MemTable.Size)
		out["pebble_wal_bytes_written"] = float64(pm.WAL.BytesWritten)
		var compacted uint64
		for i := range pm.Levels {
			compacted += pm.Levels[i].TableBytesCompacted
		}
		out["pebble_flush_bytes_total"] = float64(pm.Levels[0].TableBytesFlushed) // sstables written by flushes
		out["pebble_compacted_bytes_total"] = float64(compacted)                  // sstables written by compactions
		out["pebble_compaction_seconds_total"] = pm.Compact.Duration.Seconds()
		out["pebble_l0_files"] = float64(pm.Levels[0].TablesCount)
		out["pebble_l0_sublevels"] = float64(pm.Levels[0].Sublevels)
		out["pebble_flushes_in_progress"] = float64(pm.Flush.NumInProgress)
		out["pebble_compactions_in_progress"] = float64(pm.Compact.NumInProgress)
	}
	return out
}
