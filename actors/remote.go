package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/redis"
)

// Remote is the optional second checkpoint of every shard (Redis): each
// journal batch is applied there too, so a shard can resume on a node that
// lost its disk, and an epoch fences out an older activation.
// persistence/redis.Client implements it; safe for concurrent use.
type Remote interface {
	Activate(ctx context.Context, shard string) (uint64, error)
	Load(ctx context.Context, shard string) (redis.State, error)
	Apply(ctx context.Context, cps ...redis.Checkpoint) []error
	Healthy() bool
}

// ErrFenced: a newer activation of the shard owns it; this one stops serving.
var ErrFenced = errors.New("shard fenced by a newer activation")

// maxBacklog bounds the records kept for a Redis that is behind; past it the
// writer forgets them and catches Redis up with a snapshot instead.
const maxBacklog = 100_000

const remoteTimeout = 5 * time.Second

// remoteInit tells the writer, in order with the batches, the epoch this
// activation holds and how far Redis is.
type remoteInit struct {
	epoch     uint64 // 0: not activated (Redis was unreachable)
	remoteSeq uint64
	localSeq  uint64
}

// fenced tells the actor Redis refused its epoch.
type fenced struct{ err error }

// needSnapshot asks the actor for a snapshot to catch Redis up.
type needSnapshot struct{}

// EpochJournal is a Journal that also remembers, per shard, the Redis epoch
// of the activation that last wrote it, and can drop a shard's local state.
// With Redis, the shard actors need it to tell a local journal that is ahead
// of Redis because this node kept serving while Redis was down (its writes
// were acknowledged: keep them) from one that is ahead because this node's
// activation was fenced out (its last writes were refused: drop them).
type EpochJournal interface {
	Journal
	LocalEpoch(shard string) (uint64, error)
	SetLocalEpoch(shard string, epoch uint64) error
	Reset(shard string) error
}

// activateRemote fences older activations and chooses the state to serve:
// when this node's journal was written by the activation Redis last knew (the
// same epoch), the newer of the two by sequence; otherwise Redis's, because
// another activation owned the shard since and anything this node holds
// beyond it was never acknowledged. It records the new epoch locally before
// the shard serves.
func (a *shardActor) activateRemote(local *seatmap.Shard, n int) (*seatmap.Shard, remoteInit, error) {
	r := a.env.Remote
	ej, _ := a.env.Journal.(EpochJournal)
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	prev, err := r.Load(ctx, a.identity) // who owned it before us
	var epoch uint64
	if err == nil {
		epoch, err = r.Activate(ctx, a.identity)
	}
	if err != nil {
		a.log.Warn("redis unreachable at activation; serving from the local journal", "err", err)
		return local, remoteInit{localSeq: local.Seq()}, nil
	}
	st, err := r.Load(ctx, a.identity)
	if err != nil {
		a.log.Warn("redis load failed at activation; serving from the local journal", "err", err)
		return local, remoteInit{epoch: epoch, localSeq: local.Seq()}, nil
	}
	init := remoteInit{epoch: epoch, remoteSeq: st.Seq, localSeq: local.Seq()}
	lastWriter := true // this node's journal was written by the owner Redis knew last
	if ej != nil {
		le, err := ej.LocalEpoch(a.identity)
		if err != nil {
			return nil, init, err
		}
		lastWriter = le == prev.Epoch || (local.Seq() == 0 && le == 0)
	}
	keepLocal := st.Seq <= local.Seq() && (lastWriter || st.Seq == 0)
	if keepLocal {
		return local, init, a.recordEpoch(ej, epoch)
	}
	sh, err := shardFromRemote(st, n)
	if err != nil {
		return nil, init, fmt.Errorf("restoring from redis: %w", err)
	}
	snap, err := sh.Snapshot()
	if err != nil {
		return nil, init, err
	}
	if ej != nil && local.Seq() > 0 {
		if err := ej.Reset(a.identity); err != nil { // drop what this node wrote after it lost the shard
			return nil, init, err
		}
	}
	if err := a.env.Journal.SaveSnapshot(a.identity, sh.Seq(), snap); err != nil {
		return nil, init, fmt.Errorf("storing the state restored from redis: %w", err)
	}
	a.log.Info("shard restored from redis", "seq", sh.Seq(), "local_seq", local.Seq(), "local_was_last_writer", lastWriter)
	init.localSeq = sh.Seq()
	return sh, init, a.recordEpoch(ej, epoch)
}

func (a *shardActor) recordEpoch(ej EpochJournal, epoch uint64) error {
	if ej == nil {
		return nil
	}
	return ej.SetLocalEpoch(a.identity, epoch)
}

func shardFromRemote(st redis.State, n int) (*seatmap.Shard, error) {
	sh := seatmap.New(n)
	var err error
	if st.Snapshot != nil {
		if sh, err = seatmap.Restore(st.Snapshot); err != nil {
			return nil, err
		}
	}
	for _, e := range st.Entries {
		var cmd seatmap.Command
		if err := json.Unmarshal(e.Data, &cmd); err != nil {
			return nil, err
		}
		if err := sh.Replay(seatmap.Record{Seq: e.Seq, Cmd: cmd}); err != nil {
			return nil, err
		}
	}
	return sh, nil
}

// counts is the shard's read model for Redis: section -> "a,h,r,s".
func counts(sh *seatmap.Shard) map[string]string {
	secs := sh.Sections()
	m := make(map[string]string, len(secs)+1)
	var t [4]int
	for _, s := range secs {
		m[s.ID] = fmt.Sprintf("%d,%d,%d,%d", s.Available, s.Held, s.Reserved, s.Sold)
		t[0] += s.Available
		t[1] += s.Held
		t[2] += s.Reserved
		t[3] += s.Sold
	}
	m["totals"] = strconv.Itoa(t[0]) + "," + strconv.Itoa(t[1]) + "," + strconv.Itoa(t[2]) + "," + strconv.Itoa(t[3])
	return m
}

// remoteState is the writer's view of Redis for its shard. Only the writer
// goroutine touches it.
type remoteState struct {
	epoch     uint64
	remoteSeq uint64        // Redis holds everything up to here
	localSeq  uint64        // the local journal holds everything up to here
	backlog   []redis.Entry // journaled here, not yet in Redis (after remoteSeq)
	needSnap  bool          // the backlog was dropped: only a snapshot can catch Redis up
	asked     bool          // a snapshot was asked for and not yet received
	fenced    bool
	counts    map[string]string
}

// remoteAppend queues journaled records for Redis and tries to apply them. It
// returns ErrFenced when Redis refused this activation; any other trouble
// leaves the records queued (Redis is down or behind: the node serves on the
// local journal alone, degraded).
func (w *writer) remoteAppend(recs []seatmap.Record, cnt map[string]string) error {
	rs := &w.rs
	if rs.fenced {
		return ErrFenced
	}
	for _, r := range recs {
		data, err := json.Marshal(r.Cmd)
		if err != nil {
			return err
		}
		if !rs.needSnap {
			rs.backlog = append(rs.backlog, redis.Entry{Seq: r.Seq, Data: data})
		}
		rs.localSeq = r.Seq
	}
	if cnt != nil {
		rs.counts = cnt
	}
	if len(rs.backlog) > maxBacklog {
		rs.backlog, rs.needSnap = nil, true
	}
	return w.remoteSync()
}

// remoteSync brings Redis up to date if it is reachable.
func (w *writer) remoteSync() error {
	rs := &w.rs
	r := w.env.Remote
	if rs.fenced {
		return ErrFenced
	}
	if !r.Healthy() {
		w.env.Stats.RemoteSkipped.Add(1)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	if rs.epoch == 0 { // activated while Redis was down: take the shard over now, if nobody else did
		prev, err := r.Load(ctx, w.identity)
		if err != nil {
			return nil
		}
		ej, _ := w.env.Journal.(EpochJournal)
		if ej != nil {
			le, err := ej.LocalEpoch(w.identity)
			if err != nil {
				return nil
			}
			if prev.Seq > 0 && le != prev.Epoch {
				rs.fenced = true // another activation owned the shard meanwhile
				return fmt.Errorf("%w: redis epoch %d is not this node's last (%d)", ErrFenced, prev.Epoch, le)
			}
		}
		epoch, err := r.Activate(ctx, w.identity)
		if err != nil {
			return nil
		}
		st, err := r.Load(ctx, w.identity)
		if err != nil {
			return nil
		}
		if st.Seq > rs.localSeq {
			// someone else wrote ahead of us while Redis was unreachable
			rs.fenced = true
			return fmt.Errorf("%w: redis holds seq %d, this activation only %d", ErrFenced, st.Seq, rs.localSeq)
		}
		if ej != nil {
			if err := ej.SetLocalEpoch(w.identity, epoch); err != nil {
				return nil
			}
		}
		rs.epoch, rs.remoteSeq = epoch, st.Seq
		if len(rs.backlog) == 0 || rs.backlog[0].Seq > st.Seq+1 {
			rs.needSnap = true
		}
	}
	if rs.needSnap {
		if !rs.asked {
			rs.asked = true
			w.root.Send(w.self, &needSnapshot{})
		}
		return nil
	}
	if len(rs.backlog) == 0 && rs.counts == nil {
		return nil
	}
	cp := redis.Checkpoint{Shard: w.identity, Epoch: rs.epoch, Entries: rs.backlog, Counts: rs.counts}
	return w.remoteApply(ctx, cp)
}

func (w *writer) remoteApply(ctx context.Context, cp redis.Checkpoint) error {
	rs := &w.rs
	start := time.Now()
	err := w.env.Remote.Apply(ctx, cp)[0]
	w.env.Stats.RemoteMicros.Add(time.Since(start).Microseconds())
	var gap *redis.GapError
	switch {
	case err == nil:
		if n := len(cp.Entries); n > 0 {
			rs.remoteSeq = cp.Entries[n-1].Seq
		}
		if cp.Snapshot != nil && cp.SnapshotSeq > rs.remoteSeq {
			rs.remoteSeq = cp.SnapshotSeq
		}
		rs.backlog = trimBacklog(rs.backlog, rs.remoteSeq)
		rs.counts = nil
		return nil
	case errors.Is(err, redis.ErrFenced):
		rs.fenced = true
		return fmt.Errorf("%w: %v", ErrFenced, err)
	case errors.As(err, &gap):
		// Redis is behind what we have queued: a snapshot catches it up
		rs.backlog, rs.needSnap = nil, true
		if !rs.asked {
			rs.asked = true
			w.root.Send(w.self, &needSnapshot{})
		}
		return nil
	default:
		w.env.Log.Warn("redis checkpoint failed; queued for later", "shard", w.identity, "err", err)
		return nil
	}
}

func trimBacklog(b []redis.Entry, upTo uint64) []redis.Entry {
	i := 0
	for i < len(b) && b[i].Seq <= upTo {
		i++
	}
	if i == len(b) {
		return nil
	}
	return b[i:]
}

// remoteSnapshot sends a snapshot to Redis (a periodic one, or a catch-up).
func (w *writer) remoteSnapshot(seq uint64, snap []byte, cnt map[string]string) {
	rs := &w.rs
	rs.asked = false // if this one cannot go, the next sync asks again
	if rs.fenced || rs.epoch == 0 || !w.env.Remote.Healthy() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	// the snapshot covers everything up to seq; what came after stays queued
	cp := redis.Checkpoint{Shard: w.identity, Epoch: rs.epoch, Snapshot: snap, SnapshotSeq: seq, Counts: cnt}
	if err := w.remoteApply(ctx, cp); err != nil {
		w.root.Send(w.self, &fenced{err: err})
		return
	}
	if rs.remoteSeq >= seq {
		rs.needSnap = false
	}
}
