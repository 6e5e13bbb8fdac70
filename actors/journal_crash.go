package actors

import "maps"

// Crash returns what a node restarted after a crash finds of j on its disk:
// everything j synced, with no outbox event held any more (holding does not
// survive a restart: recovery drops what Redis refused). The writes that
// failed since the last Recover are on the disk too when keepFailed (a batch
// can reach the disk although its fsync failed, and a plain open replays
// it), and gone otherwise. j itself must not be used afterwards (the
// process that used it is dead). For the simulator (sim/vopr) and tests.
func (j *MemJournal) Crash(keepFailed bool) *MemJournal {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := NewMemJournal()
	for show, rows := range j.rows {
		n.rows[show] = maps.Clone(rows)
	}
	n.rowsSeq = maps.Clone(j.rowsSeq)
	for show, recs := range j.recs {
		n.recs[show] = append(recs[:0:0], recs...)
	}
	n.events = append(n.events, j.events...)
	n.outbox = append(n.outbox, j.outbox...)
	for i := range n.outbox {
		n.outbox[i].held = false
	}
	n.nextID = j.nextID
	n.epochs = maps.Clone(j.epochs)
	n.archive = maps.Clone(j.archive)
	if !keepFailed {
		for _, r := range j.failed {
			if r.firstSeq > 0 {
				n.truncateLocked(r.show, r.firstSeq-1)
			}
			n.dropIDsLocked(r.ids)
		}
	}
	return n
}

// Outbox returns how many events wait in the outbox (held ones included).
func (j *MemJournal) Outbox() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.outbox)
}
