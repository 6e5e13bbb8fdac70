package redis

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrFenced: the checkpoint's epoch is not the shard's current epoch in
	// Redis. Another activation took the shard (or Redis lost the epoch the
	// caller holds); the caller must stop writing and serving the shard.
	ErrFenced = errors.New("redis: shard fenced by another activation")
	// ErrGap: the checkpoint does not continue the sequence stored in Redis
	// (errors.Is target of *GapError).
	ErrGap = errors.New("redis: checkpoint does not continue the stored sequence")
	// ErrBadShard: the shard identity is neither a show id (1 to 64 of
	// [A-Za-z0-9._-]) nor "SHOW/N" without '{' and '}'.
	ErrBadShard = errors.New("redis: bad shard identity")
	// ErrBadCheckpoint: the checkpoint is malformed (epoch 0, entries not
	// consecutive, seq 0); nothing was sent.
	ErrBadCheckpoint = errors.New("redis: malformed checkpoint")
	// ErrCorrupt: a stored field that must be a number is not; someone wrote
	// the shard's keys by hand.
	ErrCorrupt = errors.New("redis: stored shard state is inconsistent")
	// ErrUnavailable: the client is unhealthy (Redis did not answer its last
	// probe), so the call failed at once and nothing was sent.
	ErrUnavailable = errors.New("redis: unavailable (not healthy); nothing sent")
	// ErrNotReplicated: the checkpoint was applied on the primary, but WAIT
	// saw fewer than Options.WaitReplicas replicas acknowledge it in
	// Options.WaitTimeout; a failover may lose it. It is stored: resending it
	// is a recognised retry.
	ErrNotReplicated = errors.New("redis: checkpoint not acknowledged by enough replicas")
	// ErrBadWebhookID: a webhook id is not 1 to 64 of [A-Za-z0-9_-].
	ErrBadWebhookID = errors.New("redis: bad webhook id")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("redis: client closed")
	// ErrChangedWhileRead: the shard was written to while its rows were read
	// (LoadRows): what was read is of no one state; read again.
	ErrChangedWhileRead = errors.New("redis: shard written to while read")
	// ErrWholeSnapshot: a checkpoint brought state rows to a shard whose
	// stored state is a whole snapshot (the format before rows); nothing was
	// written. Seed the shard's rows first.
	ErrWholeSnapshot = errors.New("redis: the stored state is a whole snapshot; seed state rows first")
)

// FencedError is returned when a checkpoint's epoch differs from the stored
// one. errors.Is(err, ErrFenced) holds.
type FencedError struct {
	Shard  string
	Epoch  uint64 // the checkpoint's epoch
	Stored uint64 // the shard's current epoch in Redis (0: never activated, or lost)
}

func (e *FencedError) Error() string {
	why := "a newer activation owns it"
	if e.Stored < e.Epoch {
		why = "Redis does not know this epoch (it lost data); activate again"
	}
	return fmt.Sprintf("redis: shard %s fenced: checkpoint epoch %d, stored epoch %d: %s", e.Shard, e.Epoch, e.Stored, why)
}

func (e *FencedError) Is(target error) bool { return target == ErrFenced }

// GapError is returned when a checkpoint does not continue what Redis holds.
// errors.Is(err, ErrGap) holds. The caller catches up by sending the entries
// after Have (or, if it no longer has them, a snapshot alone), then resends.
//
// Have is the stored seq. Compared with what the caller knows Redis
// acknowledged: Have below it means Redis lost data (BEHIND); Have above it
// with LastWriter == the caller's epoch means an earlier reply was lost after
// Redis applied the checkpoint (AHEAD under the caller's own epoch: those
// entries are the caller's own, nothing to resend up to Have).
type GapError struct {
	Shard       string
	Have        uint64 // the stored sequence: entries must start at Have+1
	SnapshotSeq uint64 // the stored snapshot's sequence
	First       uint64 // the checkpoint's first entry seq
	// LastWriter is the epoch of the activation that wrote the stored seq (0:
	// none yet). The shard's current epoch is the checkpoint's own: a
	// checkpoint of another epoch gets ErrFenced, not a gap.
	LastWriter uint64
}

func (e *GapError) Error() string {
	return fmt.Sprintf("redis: shard %s: checkpoint starts at seq %d but Redis has seq %d (snapshot %d, written by epoch %d)",
		e.Shard, e.First, e.Have, e.SnapshotSeq, e.LastWriter)
}

func (e *GapError) Is(target error) bool { return target == ErrGap }
