package pebble

import (
	"io"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// CrashableMem is a crashable in-memory filesystem (vfs.NewCrashableMem)
// for tests that take crash clones while a store runs on it. Pebble
// v2.1.7's MemFS read-locks its clone lock twice in Link, ReuseForWrite and
// Lock (cockroachdb/pebble#5993, fixed after that release): a CrashClone
// that comes between the two read locks waits for the first, and the second
// waits for it, for ever (TestIngestStateCrash hung so, a crash clone taken
// while Pebble linked an ingested sstable). Here those three (any number at
// once) and CrashClone (alone) exclude each other. Tests only.
type CrashableMem struct {
	*vfs.MemFS
	mu *sync.RWMutex // Link, ReuseForWrite and Lock share it; CrashClone holds it alone
}

// NewCrashableMem returns an empty CrashableMem.
func NewCrashableMem() CrashableMem {
	return CrashableMem{MemFS: vfs.NewCrashableMem(), mu: new(sync.RWMutex)}
}

// Link implements vfs.FS.
func (m CrashableMem) Link(oldname, newname string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.MemFS.Link(oldname, newname)
}

// ReuseForWrite implements vfs.FS.
func (m CrashableMem) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.MemFS.ReuseForWrite(oldname, newname, c)
}

// Lock implements vfs.FS.
func (m CrashableMem) Lock(name string) (io.Closer, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.MemFS.Lock(name)
}

// CrashClone is vfs.MemFS.CrashClone, never while a Link, ReuseForWrite or
// Lock runs; the clone is a CrashableMem of its own.
func (m CrashableMem) CrashClone(cfg vfs.CrashCloneCfg) CrashableMem {
	m.mu.Lock()
	defer m.mu.Unlock()
	return CrashableMem{MemFS: m.MemFS.CrashClone(cfg), mu: new(sync.RWMutex)}
}
