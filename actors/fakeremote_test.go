package actors

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/boxoffice/boxoffice/persistence/redis"
)

// errFakeTimeout is what a call to an unreachable fake Redis returns (as a
// real client returns a deadline error).
var errFakeTimeout = errors.New("fake redis: i/o timeout")

// fakeRemote is an in-memory Redis with the checkpoint scripts' semantics
// (epoch fence, sequence continuity, retries of the last writer skipped) and
// the faults of the real one: unreachable, a reply lost after the script
// applied, the tail of the log lost (AOF everysec, a promoted replica).
type fakeRemote struct {
	mu     sync.Mutex // protects shows
	shows  map[string]*fakeShow
	down   atomic.Bool  // every call times out
	lose   atomic.Int64 // the next n calls apply, then lose their reply
	nonces atomic.Uint64
}

type fakeShow struct {
	epoch, writer uint64
	snap          []byte
	snapSeq       uint64
	log           []redis.Entry
	archive       map[string][]byte
}

func newFakeRemote() *fakeRemote { return &fakeRemote{shows: map[string]*fakeShow{}} }

func (f *fakeRemote) show(id string) *fakeShow {
	s := f.shows[id]
	if s == nil {
		s = &fakeShow{archive: map[string][]byte{}}
		f.shows[id] = s
	}
	return s
}

func (s *fakeShow) seq() uint64 { return s.snapSeq + uint64(len(s.log)) }

func (f *fakeRemote) Healthy() bool { return !f.down.Load() }

// reply turns a call that applied into a lost reply when asked to.
func (f *fakeRemote) reply(err error) error {
	if f.lose.Load() > 0 && f.lose.Add(-1) >= 0 {
		return errFakeTimeout
	}
	return err
}

func (f *fakeRemote) Activate(_ context.Context, id string) (uint64, error) {
	if f.down.Load() {
		return 0, errFakeTimeout
	}
	f.mu.Lock()
	s := f.show(id)
	s.epoch = (epochCounter(s.epoch)+1)<<20 | f.nonces.Add(1)&(1<<20-1)
	e := s.epoch
	f.mu.Unlock()
	return e, f.reply(nil)
}

func (f *fakeRemote) Load(_ context.Context, id string) (redis.State, error) {
	if f.down.Load() {
		return redis.State{}, errFakeTimeout
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.show(id)
	return redis.State{Epoch: s.epoch, Seq: s.seq(), Snapshot: s.snap, SnapshotSeq: s.snapSeq,
		Entries: append([]redis.Entry(nil), s.log...)}, nil
}

func (f *fakeRemote) Apply(_ context.Context, cps ...redis.Checkpoint) []error {
	errs := make([]error, len(cps))
	for i, cp := range cps {
		if f.down.Load() {
			errs[i] = errFakeTimeout
			continue
		}
		errs[i] = f.reply(f.apply(cp))
	}
	return errs
}

func (f *fakeRemote) apply(cp redis.Checkpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.show(cp.Shard)
	if cp.Epoch != s.epoch {
		return &redis.FencedError{Shard: cp.Shard, Epoch: cp.Epoch, Stored: s.epoch}
	}
	same := s.writer == cp.Epoch
	if cp.Snapshot != nil {
		switch {
		case cp.SnapshotSeq > s.seq():
			s.snap, s.snapSeq, s.log = cp.Snapshot, cp.SnapshotSeq, nil
		case cp.SnapshotSeq >= s.snapSeq:
			s.log = s.log[cp.SnapshotSeq-s.snapSeq:]
			s.snap, s.snapSeq = cp.Snapshot, cp.SnapshotSeq
		}
	}
	ents := cp.Entries
	for len(ents) > 0 && ents[0].Seq <= s.seq() {
		if !same {
			return &redis.GapError{Shard: cp.Shard, Have: s.seq(), SnapshotSeq: s.snapSeq, First: cp.Entries[0].Seq}
		}
		ents = ents[1:] // a retry of what this writer stored
	}
	if len(ents) > 0 && ents[0].Seq != s.seq()+1 {
		return &redis.GapError{Shard: cp.Shard, Have: s.seq(), SnapshotSeq: s.snapSeq, First: ents[0].Seq}
	}
	s.log = append(s.log, ents...)
	for k, v := range cp.Archive {
		s.archive[k] = v
	}
	s.writer = cp.Epoch
	return nil
}

func (f *fakeRemote) Archived(_ context.Context, show, id string) ([]byte, bool, error) {
	if f.down.Load() {
		return nil, false, errFakeTimeout
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.show(show).archive[id]
	return v, ok, nil
}

// loseTail drops the newest n log entries of a show, as a Redis that
// restarted from an AOF a second old would.
func (f *fakeRemote) loseTail(id string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.show(id)
	if n > len(s.log) {
		n = len(s.log)
	}
	s.log = s.log[:len(s.log)-n]
}

func (f *fakeRemote) seq(id string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.show(id).seq()
}
