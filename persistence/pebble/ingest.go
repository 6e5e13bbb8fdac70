package pebble

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// ingestMinRows is the fewest rows IngestState writes as sstables; a
// smaller state goes in one batch (ReplaceState): an ingest costs a file,
// its sync, a manifest edit and a directory sync, whatever its size.
const ingestMinRows = 4096

// ingestSeq names the sstables IngestState builds before Pebble links them.
var ingestSeq atomic.Uint64

// IngestState stores rows, which must be in strictly ascending key order,
// as the shard's whole state at seq, like ReplaceState (every other state
// row and the snapshot go, and the journal entries <= seq), but writes it as
// sstables that Pebble ingests: no WAL, no memtable, no flush. The rows are
// cut into ingestParts consecutive key ranges, each written to its own
// sstable on its own goroutine (1,000,000 rows: 0.31 s against 0.50 s for
// ReplaceState's batch, BenchmarkWholeState). The files hold the whole
// change: range deletions of the shard's journal up to seq and of its rows
// (each file over its own key range: the files do not overlap), a deletion
// of its snapshot, the rows' seq key and the rows. Pebble gives an ingested
// file's keys a sequence number above every key in the database, and a
// range deletion deletes only keys below its own: the old rows go, the new
// stay. The files are ingested by one Ingest, atomic and durable on return:
// a crash leaves the old state or the new one, as ReplaceState's batch does
// (TestIngestStateCrash). Rows out of order or fewer than ingestMinRows
// (Options.IngestMinRows) go by ReplaceState. A state older than the stored rows is refused
// (ErrStaleSnapshot). A failed IngestState fails the store handle.
//
// Callers' duty, as for every write of a shard: no other write of the
// shard runs meanwhile.
func (s *Store) IngestState(shard string, seq uint64, rows []KV) error {
	least := s.opt.IngestMinRows
	if least <= 0 {
		least = ingestMinRows
	}
	if len(rows) < max(least, ingestParts) || !sortedKV(rows) {
		return s.ReplaceState(shard, seq, rows)
	}
	if err := checkShard(shard); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := s.advanceForState(shard, seq); err != nil {
		return err
	}
	if err := s.ingestState(shard, seq, rows); err != nil {
		return s.fail(fmt.Errorf("pebble store: ingest state of %s: %w", shard, err), nil)
	}
	s.metrics.snapshots.Add(1)
	return nil
}

// ingestParts is how many sstables IngestState writes at once (one
// goroutine each), over consecutive key ranges: a node has 2 CPUs or more.
const ingestParts = 2

// ingestTableFormat is the format of IngestState's sstables: the row-block
// format, which this machine writes in about half the CPU of the columnar
// one (BenchmarkWholeState, bench/README.md); compactions rewrite them in
// the database's format.
const ingestTableFormat = sstable.TableFormatPebblev4

// ingestState writes the sstables of IngestState beside the database, each
// synced, and ingests them in one Ingest (one version edit: all or none).
// Part i holds rows[i*n/parts:(i+1)*n/parts] and the rows range deletion
// over its own key range, so the files do not overlap; the first also holds
// the journal range deletion and the rows' seq key, the last the snapshot's
// deletion.
func (s *Store) ingestState(shard string, seq uint64, rows []KV) error {
	rp := appendShardPrefix(nil, prefixRows, shard)
	bounds := make([][]byte, ingestParts+1) // part i's rows deletion: [bounds[i], bounds[i+1])
	bounds[0], bounds[ingestParts] = rp, prefixEnd(rp)
	for i := 1; i < ingestParts; i++ {
		bounds[i] = appendRowKey(nil, shard, rows[i*len(rows)/ingestParts].Key)
	}
	paths := make([]string, ingestParts)
	errs := make([]error, ingestParts)
	var wg sync.WaitGroup
	for i := range ingestParts {
		paths[i] = s.fs.PathJoin(s.opt.Dir, fmt.Sprintf("%s%d.sst", ingestFilePrefix, ingestSeq.Add(1)))
		defer func() { _ = s.fs.Remove(paths[i]) }() // Pebble linked it (or failed)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.writeIngestPart(paths[i], shard, seq, i, rows[i*len(rows)/ingestParts:(i+1)*len(rows)/ingestParts], bounds[i], bounds[i+1])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if hook := s.ingestStep; hook != nil {
		hook("written")
	}
	return s.ingest(paths)
}

// writeIngestPart writes part i of IngestState's sstables to path, synced.
func (s *Store) writeIngestPart(path, shard string, seq uint64, i int, rows []KV, lo, hi []byte) (err error) {
	f, err := s.fs.Create(path, "")
	if err != nil {
		return err
	}
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(f), s.popts.MakeWriterOptions(0, ingestTableFormat))
	defer func() {
		if w != nil {
			_ = w.Close()
		}
	}()
	// range deletions, in key order: the journal up to seq ('j'), the rows ('r')
	if i == 0 {
		jp := appendShardPrefix(nil, prefixJournal, shard)
		jend := prefixEnd(jp)
		if seq < math.MaxUint64 {
			jend = binary.BigEndian.AppendUint64(slices.Clip(jp), seq+1)
		}
		if err := w.DeleteRange(jp, jend); err != nil {
			return err
		}
	}
	if err := w.DeleteRange(lo, hi); err != nil {
		return err
	}
	// points, in key order: the rows' seq ('q'), the rows ('r'), the snapshot ('s')
	if i == 0 {
		if err := w.Set(rowsSeqKey(shard), binary.BigEndian.AppendUint64(nil, seq)); err != nil {
			return err
		}
	}
	key := make([]byte, 0, 64)
	for _, r := range rows {
		if r.Value == nil {
			continue
		}
		key = appendRowKey(key[:0], shard, r.Key)
		if err := w.Set(key, r.Value); err != nil {
			return err
		}
	}
	if i == ingestParts-1 {
		if err := w.Delete(snapshotKey(shard)); err != nil {
			return err
		}
	}
	err, w = w.Close(), nil // syncs the file
	return err
}

// ingest ingests the sstables at paths, turning Pebble's fatal error (a panic
// raised by slogLogger.Fatalf) into an error.
func (s *Store) ingest(paths []string) (err error) {
	defer recoverFatal(&err)
	return s.db.Ingest(context.Background(), paths)
}

// ingestFilePrefix names the sstables IngestState writes in the database's
// directory before Pebble links them.
const ingestFilePrefix = "state-ingest-"

// removeIngestLeftovers removes the sstables of an IngestState a crash
// interrupted (Pebble ignores files it does not name).
func (s *Store) removeIngestLeftovers() {
	names, err := s.fs.List(s.opt.Dir)
	if err != nil {
		return
	}
	for _, n := range names {
		if strings.HasPrefix(n, ingestFilePrefix) {
			_ = s.fs.Remove(s.fs.PathJoin(s.opt.Dir, n))
		}
	}
}

// sortedKV reports whether rows' keys are strictly ascending.
func sortedKV(rows []KV) bool {
	for i := 1; i < len(rows); i++ {
		if strings.Compare(rows[i-1].Key, rows[i].Key) >= 0 {
			return false
		}
	}
	return true
}
