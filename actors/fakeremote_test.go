package actors

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/boxoffice/boxoffice/persistence/redis"
)

// errFakeTimeout is what a call to an unreachable fake Redis returns (as a
// real client returns a deadline error).
var errFakeTimeout = errors.New("fake redis: i/o timeout")

// fakeRemote is an in-memory Redis with the checkpoint scripts' semantics
// (epoch fence, sequence continuity, retries of the last writer skipped,
// state rows that move the base and trim the log, seeds) and the faults of
// the real one: unreachable, a reply lost after the script applied, the
// tail of its writes lost (AOF everysec, a promoted replica).
type fakeRemote struct {
	mu     sync.Mutex // protects shows
	shows  map[string]*fakeShow
	down   atomic.Bool  // every call times out
	lose   atomic.Int64 // the next n calls apply, then lose their reply
	nonces atomic.Uint64
	seeds  atomic.Int64 // Seeds applied
	refuse atomic.Int64 // the next n checkpoints time out without applying (Redis stays healthy)
}

type fakeShow struct {
	fakeState
	history []fakeState // the state before each applied write, for loseTail
}

// fakeState is what Redis holds of a show.
type fakeState struct {
	epoch, writer uint64
	snap          []byte
	snapSeq       uint64
	log           []redis.Entry
	rows          map[string][]byte
	archive       map[string][]byte
}

func (s fakeState) clone() fakeState {
	c := s
	c.log = append([]redis.Entry(nil), s.log...)
	c.rows = maps.Clone(s.rows)
	c.archive = maps.Clone(s.archive)
	return c
}

// save keeps the state before a write (the writes a lost tail undoes).
func (s *fakeShow) save() { s.history = append(s.history, s.fakeState.clone()) }

func newFakeRemote() *fakeRemote { return &fakeRemote{shows: map[string]*fakeShow{}} }

func (f *fakeRemote) show(id string) *fakeShow {
	s := f.shows[id]
	if s == nil {
		s = &fakeShow{fakeState: fakeState{archive: map[string][]byte{}, rows: map[string][]byte{}}}
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
	st := redis.State{Epoch: s.epoch, Seq: s.seq(), Snapshot: s.snap, SnapshotSeq: s.snapSeq,
		Entries: append([]redis.Entry(nil), s.log...), HasSnapshot: s.snap != nil}
	if s.snap == nil {
		for _, k := range slices.Sorted(maps.Keys(s.rows)) {
			st.Rows = append(st.Rows, redis.Row{Key: k, Value: s.rows[k]})
		}
	}
	return st, nil
}

func (f *fakeRemote) LoadLog(ctx context.Context, id string) (redis.State, error) {
	st, err := f.Load(ctx, id)
	st.Rows = nil
	return st, err
}

func (f *fakeRemote) LoadMeta(ctx context.Context, id string) (redis.State, error) {
	st, err := f.Load(ctx, id)
	st.Snapshot, st.Entries, st.Rows = nil, nil, nil
	return st, err
}

func (f *fakeRemote) Seed(_ context.Context, sd redis.Seed) error {
	if f.down.Load() {
		return errFakeTimeout
	}
	f.mu.Lock()
	s := f.show(sd.Shard)
	if sd.Epoch != s.epoch {
		f.mu.Unlock()
		return &redis.FencedError{Shard: sd.Shard, Epoch: sd.Epoch, Stored: s.epoch}
	}
	s.save()
	f.seeds.Add(1)
	s.snap, s.log, s.snapSeq, s.writer, s.rows = nil, nil, sd.Seq, sd.Epoch, map[string][]byte{}
	for _, r := range sd.Rows {
		s.rows[r.Key] = r.Value
	}
	f.mu.Unlock()
	return f.reply(nil)
}

func (f *fakeRemote) Apply(_ context.Context, cps ...redis.Checkpoint) []error {
	errs := make([]error, len(cps))
	for i, cp := range cps {
		if f.down.Load() {
			errs[i] = errFakeTimeout
			continue
		}
		if f.refuse.Load() > 0 && f.refuse.Add(-1) >= 0 {
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
	gap := func(first uint64) error {
		return &redis.GapError{Shard: cp.Shard, Have: s.seq(), SnapshotSeq: s.snapSeq, First: first}
	}
	// check everything before writing anything, as the script does
	after := s.seq()
	if cp.Snapshot != nil && cp.SnapshotSeq > after {
		after = cp.SnapshotSeq
	}
	ents := cp.Entries
	if cp.Snapshot != nil {
		for len(ents) > 0 && ents[0].Seq <= cp.SnapshotSeq {
			ents = ents[1:]
		}
	}
	if len(ents) > 0 && (ents[0].Seq > after+1 || (ents[0].Seq <= after && !same)) {
		return gap(cp.Entries[0].Seq)
	}
	top := after
	if n := len(ents); n > 0 && ents[n-1].Seq > top {
		top = ents[n-1].Seq
	}
	if len(cp.Rows) > 0 || cp.RowsSeq > 0 {
		if cp.RowsSeq < s.snapSeq || cp.RowsSeq > top {
			return gap(cp.RowsSeq)
		}
		if cp.Snapshot == nil && s.snap != nil {
			return redis.ErrWholeSnapshot
		}
	}
	s.save()
	if cp.Snapshot != nil {
		switch {
		case cp.SnapshotSeq > s.seq():
			s.snap, s.snapSeq, s.log, s.rows = cp.Snapshot, cp.SnapshotSeq, nil, map[string][]byte{}
		case cp.SnapshotSeq >= s.snapSeq:
			s.log = s.log[cp.SnapshotSeq-s.snapSeq:]
			s.snap, s.snapSeq, s.rows = cp.Snapshot, cp.SnapshotSeq, map[string][]byte{}
		}
	}
	for len(ents) > 0 && ents[0].Seq <= s.seq() {
		ents = ents[1:] // a retry of what this writer stored
	}
	s.log = append(s.log, ents...)
	for k, v := range cp.Archive {
		s.archive[k] = v
	}
	for _, r := range cp.Rows {
		if r.Value == nil {
			delete(s.rows, r.Key)
		} else {
			s.rows[r.Key] = r.Value
		}
	}
	if cp.RowsSeq > s.snapSeq {
		s.log = append([]redis.Entry(nil), s.log[cp.RowsSeq-s.snapSeq:]...)
		s.snapSeq = cp.RowsSeq
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

// loseTail undoes the newest writes of a show until it holds at least n
// fewer records, as a Redis that restarted from an AOF a second old would.
func (f *fakeRemote) loseTail(id string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.show(id)
	target := s.seq() - min(uint64(n), s.seq())
	for s.seq() > target && len(s.history) > 0 {
		epoch := s.epoch // an Activate is not a write the tail loses here
		s.fakeState = s.history[len(s.history)-1]
		s.epoch = epoch
		s.history = s.history[:len(s.history)-1]
	}
}

func (f *fakeRemote) seq(id string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.show(id).seq()
}
