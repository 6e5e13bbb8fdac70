package vopr

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	cpebble "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// Disk kinds a seed runs on (Options.Disk, VOPR_DISK).
const (
	DiskAuto   = ""       // from the seed: Pebble for one seed in pebbleShare
	DiskMem    = "mem"    // actors.MemJournal
	DiskPebble = "pebble" // the production journal on a crashable in-memory FS
)

// pebbleShare: one seed in pebbleShare runs on Pebble under DiskAuto.
const pebbleShare = 4

// usePebble reports whether a seed runs on Pebble. The choice is a hash of
// the seed, not a draw from the scheduler's generator, so that a seed's run
// on the fake disk is what it was before Pebble seeds existed.
func usePebble(seed uint64, disk string) bool {
	switch disk {
	case DiskMem:
		return false
	case DiskPebble:
		return true
	case DiskAuto:
		z := seed + 0x9e3779b97f4a7c15 // splitmix64
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return (z^(z>>31))%pebbleShare == 0
	}
	panic(fmt.Sprintf("vopr: unknown disk %q (want %q or %q)", disk, DiskMem, DiskPebble))
}

// diskFromEnv is VOPR_DISK (mem, pebble; unset: from the seed).
func diskFromEnv() string { return os.Getenv("VOPR_DISK") }

// disk is a node's journal as the simulator drives it: the shell's Journal,
// the relay's outbox, the checker's look at what it holds, and the faults.
type disk interface {
	actors.Journal
	pipeline.Outbox
	// Knows reports whether anything of show is stored (unknown.go).
	Knows(show string) bool
	// FailNext fails the next n writes, then heals.
	FailNext(n int, err error)
	// FailWith fails every write until called with nil.
	FailWith(err error)
	// crash returns what the restarted node finds on the disk (keeping or
	// dropping what failed writes left); the receiver is dead afterwards.
	crash(keepFailed bool) disk
	// kind names the disk for the result line.
	kind() string
	// close releases the disk at the end of a seed (a Pebble store's
	// goroutines would otherwise outlive it: hundreds of seeds in one
	// process slowed to a crawl, 941 stores left open after 527 seeds).
	close()
}

// memDisk is actors.MemJournal, the fake disk.
type memDisk struct{ *actors.MemJournal }

func (d memDisk) crash(keepFailed bool) disk { return memDisk{d.MemJournal.Crash(keepFailed)} }
func (d memDisk) kind() string               { return DiskMem }
func (d memDisk) close()                     {}

// pebbleDisk is the production journal (actors.PebbleJournal over
// persistence/pebble) on vfs.NewCrashableMem wrapped with errorfs, whose
// injector the simulator's seeded faults arm.
//
// Determinism: a seed must replay exactly although Pebble runs goroutines
// (the WAL flusher, flushes, file deletion). The injector fails only writes
// and syncs of WAL files (*.log) issued while a journal call of the
// simulator runs (the WAL flusher writes and syncs a synced commit while its
// caller waits); automatic compactions are off and the memtable is large, so
// that a seed's data is never flushed by a background job between steps;
// every write is synced (SetLocalEpoch's unsynced acked seq is written
// synced here: the WAL flusher would write it at a moment of its own, so
// what a crash keeps of it would not replay), so that between steps the
// WAL holds nothing unsynced except what a failed sync left. A crash is a
// CrashClone keeping all (keepFailed) or none of the unsynced data.
type pebbleDisk struct {
	w   *world
	j   *actors.PebbleJournal
	mem *vfs.MemFS
	inj *walInjector
}

// walInjector is the errorfs.Injector of a pebbleDisk.
type walInjector struct {
	mu sync.Mutex // protects following fields
	// armed: a journal call of the simulator is running
	armed bool
	// appending: that call is an Append (FailNext fails only Appends, as
	// MemJournal.FailNext does)
	appending bool
	// failAll: every WAL write and sync fails (FailWith)
	failAll error
	// failNext: how many more journal calls fail (FailNext), with failErr,
	// at their first WAL write (failSync false) or sync (failSync true)
	failNext int
	failErr  error
	failSync bool
	fired    bool // this call failed an op
	// injected counts the ops failed (the run's count, for the stats)
	injected *atomic.Int64
}

func (i *walInjector) String() string { return "vopr wal injector" }

func (i *walInjector) MaybeError(op errorfs.Op) error {
	if !strings.HasSuffix(op.Path, ".log") {
		return nil
	}
	write := op.Kind == errorfs.OpFileWrite || op.Kind == errorfs.OpFileWriteAt
	sync := op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo
	if !write && !sync {
		return nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.armed {
		return nil
	}
	if i.failAll != nil {
		i.injected.Add(1)
		i.fired = true
		return i.failAll
	}
	if i.failNext > 0 && i.appending && (i.fired || sync == i.failSync) {
		i.injected.Add(1)
		i.fired = true
		return i.failErr
	}
	return nil
}

func (i *walInjector) arm(appending bool) {
	i.mu.Lock()
	i.armed, i.appending, i.fired = true, appending, false
	i.mu.Unlock()
}

func (i *walInjector) disarm() {
	i.mu.Lock()
	if i.fired && i.failNext > 0 && i.failAll == nil {
		i.failNext--
	}
	i.armed, i.appending, i.fired = false, false, false
	i.mu.Unlock()
}

// ingestMinRows is a world's Pebble IngestMinRows: 1 for half the seeds
// (a bit of the seed mixed otherwise than usePebble mixes it),
// else 0 (the store's default). No draw of the world's random stream: the
// other seeds replay as before.
func ingestMinRows(seed uint64) int {
	z := seed + 0x632be59bd9b4e019 // another splitmix64 stream than usePebble's
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	if (z^(z>>31))&2 != 0 {
		return 1
	}
	return 0
}

// pebbleTune: no automatic compactions, a memtable no seed fills, and no
// write stall for L0's depth: without compactions nothing would ever end one
// (each ingest of a show's restored copy adds sublevels to L0; seed
// 91907836354961 stalled in its seventh one, in Pebble's makeRoomForWrite,
// once in a batch of seeds: TestVOPRIngestsRestoredCopies).
func pebbleTune(o *cpebble.Options) {
	o.DisableAutomaticCompactions = true
	o.MemTableSize = 256 << 20
	o.L0StopWritesThreshold = 1 << 30
}

func openPebbleDisk(w *world, mem *vfs.MemFS) *pebbleDisk {
	w.pebbleOpens++
	inj := &walInjector{injected: &w.walOpsFailed}
	st, err := pebble.Open(pebble.Options{Dir: "db", FS: errorfs.Wrap(mem, inj), Tune: pebbleTune, IngestMinRows: w.ingestMinRows})
	if err != nil {
		panic(fmt.Sprintf("vopr: open pebble: %v", err))
	}
	return &pebbleDisk{w: w, j: actors.NewPebbleJournal(st), mem: mem, inj: inj}
}

func newPebbleDisk(w *world) *pebbleDisk { return openPebbleDisk(w, vfs.NewCrashableMem()) }

func (d *pebbleDisk) kind() string { return DiskPebble }

func (d *pebbleDisk) close() { _ = d.j.Store.Close() }

// call runs f as one journal call: the injector is armed meanwhile.
func (d *pebbleDisk) call(f func()) { d.callAs(false, f) }

func (d *pebbleDisk) callAs(appending bool, f func()) {
	d.inj.arm(appending)
	defer d.inj.disarm()
	f()
}

func (d *pebbleDisk) FailNext(n int, err error) {
	d.inj.mu.Lock()
	d.inj.failNext, d.inj.failErr = n, err
	d.inj.mu.Unlock()
}

// failSyncNext chooses whether the FailNext writes fail at the WAL's sync
// (the write reached the file) or at its write.
func (d *pebbleDisk) failSyncNext(sync bool) {
	d.inj.mu.Lock()
	d.inj.failSync = sync
	d.inj.mu.Unlock()
}

func (d *pebbleDisk) FailWith(err error) {
	d.inj.mu.Lock()
	d.inj.failAll = err
	d.inj.mu.Unlock()
}

func (d *pebbleDisk) crash(keepFailed bool) disk {
	pct := 0
	if keepFailed {
		pct = 100
	}
	// the generator decides nothing at 0 and 100 percent
	clone := d.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rand.New(rand.NewPCG(1, 2))})
	_ = d.j.Store.Close()
	return openPebbleDisk(d.w, clone)
}

func (d *pebbleDisk) Append(show string, w actors.Write) (h actors.Held, err error) {
	d.callAs(true, func() { h, err = d.j.Append(show, w) })
	if h != nil {
		h = pebbleDiskHeld{d: d, h: h}
	}
	return h, err
}

type pebbleDiskHeld struct {
	d *pebbleDisk
	h actors.Held
}

func (h pebbleDiskHeld) Release() { h.d.call(h.h.Release) }
func (h pebbleDiskHeld) Abort() (err error) {
	h.d.call(func() { err = h.h.Abort() })
	return err
}

func (d *pebbleDisk) Load(show string, row func(key string, value []byte) error) (st actors.Stored, err error) {
	d.call(func() { st, err = d.j.Load(show, row) })
	return st, err
}

func (d *pebbleDisk) SaveState(show string, seq uint64, rows []facts.Row) (err error) {
	d.call(func() { err = d.j.SaveState(show, seq, rows) })
	return err
}

// SaveSortedState runs with the injector disarmed: an ingest whose key span
// overlaps the memtable rotates the WAL, and a failed write or sync of the
// old WAL there makes Pebble panic with DB.mu released, so that its own
// deferred unlock aborts the process ("fatal error: sync: unlock of unlocked
// mutex", cockroachdb/pebble#5601, #5225, #2300; seen in a batch of seeds
// from 205070854277064, not again alone: Pebble's background flushes make
// the moment vary). No store handle can recover that; a node's process
// exits, as the simulator's crashes around the call model (simJournal).
func (d *pebbleDisk) SaveSortedState(show string, seq uint64, rows []facts.Row) (err error) {
	before := d.j.Store.Metrics()["pebble_ingests_total"]
	err = d.j.SaveSortedState(show, seq, rows)
	if d.j.Store.Metrics()["pebble_ingests_total"] > before {
		d.w.ingests++
	}
	return err
}

func (d *pebbleDisk) Shards() (s []string, err error) {
	d.call(func() { s, err = d.j.Shards() })
	return s, err
}

func (d *pebbleDisk) Recover() (err error) {
	d.call(func() { err = d.j.Recover() })
	return err
}

func (d *pebbleDisk) Failed() bool { return d.j.Failed() }

// OnFailed: the store tells the shell when anything failed it (the relay's
// AckOutbox too), as in production.
func (d *pebbleDisk) OnFailed(f func()) { d.j.OnFailed(f) }

func (d *pebbleDisk) DropAfter(show string, seq uint64) (err error) {
	d.call(func() { err = d.j.DropAfter(show, seq) })
	return err
}

func (d *pebbleDisk) Archived(id string) (b []byte, ok bool, err error) {
	d.call(func() { b, ok, err = d.j.Archived(id) })
	return b, ok, err
}

func (d *pebbleDisk) LocalEpoch(show string) (e, a uint64, err error) {
	d.call(func() { e, a, err = d.j.LocalEpoch(show) })
	return e, a, err
}

// SetLocalEpoch always syncs (see pebbleDisk).
func (d *pebbleDisk) SetLocalEpoch(show string, epoch, acked uint64, _ bool) (err error) {
	d.call(func() { err = d.j.SetLocalEpoch(show, epoch, acked, true) })
	return err
}

func (d *pebbleDisk) Reset(show string) (err error) {
	d.call(func() { err = d.j.Reset(show) })
	return err
}

func (d *pebbleDisk) OutboxAfter(after uint64, limit int) (es []pebble.OutboxEntry, err error) {
	d.call(func() { es, err = d.j.Store.OutboxAfter(after, limit) })
	return es, err
}

func (d *pebbleDisk) AckOutbox(ids ...uint64) (err error) {
	d.call(func() { err = d.j.Store.AckOutbox(ids...) })
	return err
}

// Knows looks for show's records, snapshot, rows, epoch, archived orders and outbox entries.
// A failed store cannot be read: it answers false then.
func (d *pebbleDisk) Knows(show string) bool {
	s := d.j.Store
	rows := 0
	st, _ := s.LoadState(show, func(string, []byte) error { rows++; return nil })
	if rows > 0 || st.Snapshot != nil || st.SnapshotSeq > 0 || st.RowsSeq > 0 || len(st.Entries) > 0 {
		return true
	}
	if e, _, _ := d.j.LocalEpoch(show); e > 0 {
		return true
	}
	if _, ok, _ := s.Get("epoch/" + show); ok {
		return true
	}
	found := false
	_ = s.ScanKV("archive/"+show+"~", func(string, []byte) bool { found = true; return false })
	if found {
		return true
	}
	es, _ := s.OutboxAfter(0, 1<<30)
	for _, e := range es {
		if e.Shard == show {
			return true
		}
	}
	return false
}
