package pebble

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("pebble store: closed")

// ErrFailed wraps the first write error; once failed, the store refuses every
// read and write until Reopen (or a restart) recovers from what was synced.
var ErrFailed = errors.New("pebble store: failed")

// ErrSeqGap is returned when journal entries do not continue the shard's
// journal at last+1 (a gap, rewind or duplicate sequence number).
var ErrSeqGap = errors.New("pebble store: journal sequence does not continue")

// ErrInvalidShard is returned for an empty or over-long shard name.
var ErrInvalidShard = errors.New("pebble store: invalid shard name")

// ErrStaleSnapshot is returned by SaveSnapshot when a newer snapshot is stored.
var ErrStaleSnapshot = errors.New("pebble store: snapshot older than the stored one")

// ErrCorrupt is returned when a stored key or value cannot be decoded.
var ErrCorrupt = errors.New("pebble store: corrupt record")

// ErrBelowSnapshot is returned by DropShardAfter when the shard's snapshot is
// newer than the seq to keep.
var ErrBelowSnapshot = errors.New("pebble store: cannot drop below the shard's snapshot")

// BelowSnapshotError is the ErrBelowSnapshot of one shard: Base is the seq
// its snapshot or state rows hold (the least seq it can drop after).
type BelowSnapshotError struct {
	Shard     string
	Base, Seq uint64
	Rows      bool // state rows (else a whole snapshot) hold Base
}

func (e *BelowSnapshotError) Error() string {
	what := "snapshot"
	if e.Rows {
		what = "state rows"
	}
	return fmt.Sprintf("%v: shard %s: %s at %d, drop after %d", ErrBelowSnapshot, e.Shard, what, e.Base, e.Seq)
}

func (e *BelowSnapshotError) Is(target error) bool { return target == ErrBelowSnapshot }
