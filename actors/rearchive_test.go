package actors

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// TestFailedReArchiveKeepsArchivedOrder: an order's archive is written
// locally, durably; the show goes back to a state before its archive record
// (a restore from Redis whose local copy failed half-way) and archives it
// again, and that write's sync fails. The journal is reopened from disk: the
// first, durable archive must still answer. Reopen deleted it (a failed
// Batch.Put was undone by deleting its key), and once Redis then lost its
// copy the acknowledged order was gone (VOPR seed 244629668889926:
// "acknowledged order ... is not in the owner's state: order_not_found").
func TestFailedReArchiveKeepsArchivedOrder(t *testing.T) {
	var failSync atomic.Bool
	fs := errorfs.Wrap(vfs.NewCrashableMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			if failSync.Load() {
				return errors.New("injected sync failure")
			}
		}
		return nil
	}))
	st, err := pebble.Open(pebble.Options{Dir: "db", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	j := NewPebbleJournal(st)
	o := seatmap.OrderView{ID: "s~o1", Show: "s", Status: string(seatmap.StatusExpired), User: "u1", Quantity: 1}
	if _, err := j.Append("s", Write{Archive: []seatmap.OrderView{o}}); err != nil {
		t.Fatal(err)
	}
	failSync.Store(true)
	if _, err := j.Append("s", Write{Archive: []seatmap.OrderView{o}}); err == nil {
		t.Fatal("the second archive write succeeded despite the failed sync")
	}
	failSync.Store(false)
	if err := j.Recover(); err != nil {
		t.Fatal(err)
	}
	raw, ok, err := j.Archived(o.ID)
	if err != nil || !ok {
		t.Fatalf("archived order after the reopen: ok=%v err=%v, want the durable archive", ok, err)
	}
	got, _, err := facts.DecodeArchived(raw)
	if err != nil || got.ID != o.ID {
		t.Fatalf("archived order: %+v %v", got, err)
	}
}
