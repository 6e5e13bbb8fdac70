package actors

import (
	"errors"
	"fmt"

	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// DropUnaccepted drops, with Redis, every show's local records and outbox
// events after the seq Redis accepted from this node as far as it knows
// (its LocalEpoch acked seq). Call it once when the node starts, before
// any show activates on it (before it joins the cluster) and before the
// relay starts: an outbox event is held until Redis accepted its records,
// but holding does not survive a restart, and the show may never be
// activated here again (another node owns it now) to drop what Redis
// refused; a live activation's writer runs ahead of its acked seq, so this
// must not run beside one. Whatever Redis did accept of the dropped tail is taken back
// with its events by the next activation (this node's: Redis ahead of its
// journal; another's: the entries after Checkpoint.EventsSeq). A show this
// node never activated with Redis keeps its journal. Without Redis it does
// nothing.
func (e *Env) DropUnaccepted() error {
	e.defaults() // watch the journal from the start: the relay may fail it before any show activates
	if e.Remote == nil {
		return nil
	}
	shows, err := e.Journal.Shards()
	if err != nil {
		return err
	}
	for _, show := range shows {
		le, acked, err := e.Journal.LocalEpoch(show)
		if err != nil {
			return fmt.Errorf("show %s: %w", show, err)
		}
		if le == 0 {
			continue
		}
		err = e.Journal.DropAfter(show, acked)
		// state rows or a snapshot newer than acked hold only records Redis
		// accepted (rows reach Redis before the journal; a crash came between
		// storing them and recording the acked seq): drop after them instead
		var below *pebble.BelowSnapshotError
		if errors.As(err, &below) && below.Base > acked {
			err = e.Journal.DropAfter(show, below.Base)
		}
		if err != nil {
			return fmt.Errorf("show %s: dropping what Redis did not accept: %w", show, err)
		}
	}
	return nil
}
