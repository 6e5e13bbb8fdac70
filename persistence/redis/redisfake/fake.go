package redisfake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis"
)

// ErrTimeout is what a call that got no reply returns (as the real client
// returns a deadline error): it may or may not have applied.
var ErrTimeout = errors.New("redisfake: i/o timeout")

const nonceBits = 20

func ctrOf(e uint64) uint64 { return e >> nonceBits }

// maxUndo bounds how many recent writes LoseWrites can take back.
const maxUndo = 1024

// Server is the data of one Redis: every show's epoch, lease, snapshot, log,
// writer, counts and archive. Safe for concurrent use.
type Server struct {
	// Now is the clock of the lease TTLs (time.Now when nil). Set it before
	// the first call.
	Now func() time.Time

	mu      sync.Mutex // protects following fields
	shows   map[string]*show
	configs map[string][]byte // the show registry: {show:ID}:config and the index boxoffice:shows
	nonce   uint64
	undo    []func() // the inverse of each recent write, newest last
	writes  int64    // writes applied
}

type show struct {
	ctr, nonce uint64 // the current epoch
	wctr, wnon uint64 // the activation that wrote last
	snap       []byte
	snapSeq    uint64
	log        []redis.Entry
	lease      string
	leaseUntil time.Time
	counts     map[string]string
	countsSeq  uint64
	evSeq      uint64
	archive    map[string][]byte
	// rows are the state rows (at snapSeq, when snap is nil); never written
	// in place (copied on write), so that a recorded show keeps its own
	rows map[string][]byte
}

// NewServer returns an empty Redis.
func NewServer() *Server { return &Server{shows: map[string]*show{}, configs: map[string][]byte{}} }

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// get returns the show's keys, creating them empty (reads of a show Redis
// never saw answer the zero state).
func (s *Server) get(id string) *show {
	sh := s.shows[id]
	if sh == nil {
		sh = &show{counts: map[string]string{}, archive: map[string][]byte{}}
		s.shows[id] = sh
	}
	return sh
}

// record keeps the inverse of a write for LoseWrites: the show's fields as
// they were (slices are never written in place, only appended to or
// re-sliced) and the previous values of the map fields it changes.
func (s *Server) record(id string, existed bool, before show, counts map[string]*string, archive map[string][]byte) {
	s.writes++
	u := func() {
		if !existed {
			delete(s.shows, id)
			return
		}
		cur := s.shows[id]
		c, a := cur.counts, cur.archive
		*cur = before
		cur.counts, cur.archive = c, a
		for k, v := range counts {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = *v
			}
		}
		for k, v := range archive {
			if v == nil {
				delete(a, k)
			} else {
				a[k] = v
			}
		}
	}
	if len(s.undo) == maxUndo {
		s.undo = append(s.undo[:0], s.undo[1:]...)
	}
	s.undo = append(s.undo, u)
}

// LoseWrites takes back the newest n writes of the whole server (at most
// the last 1024), as a Redis restarted from an AOF that missed its last
// fsync, or a replica promoted before it got them, would. It returns how
// many it took back.
func (s *Server) LoseWrites(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, len(s.undo))
	for i := 0; i < n; i++ {
		u := s.undo[len(s.undo)-1]
		s.undo = s.undo[:len(s.undo)-1]
		u()
	}
	return n
}

// LoseTail drops the newest n log entries of a show (and nothing else).
func (s *Server) LoseTail(id string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.get(id)
	n = min(n, len(sh.log))
	sh.log = sh.log[:len(sh.log)-n]
}

// Seq is the show's stored seq.
func (s *Server) Seq(id string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh := s.shows[id]; sh != nil {
		return sh.seq()
	}
	return 0
}

// PutSnapshot stores a show as the format before state rows left it: a
// whole snapshot at snapSeq and the log after it, written last by epoch
// (which is also the current one). For tests of that format's upgrade.
func (s *Server) PutSnapshot(id string, epoch uint64, snap []byte, snapSeq uint64, log []redis.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.get(id)
	sh.ctr, sh.nonce = epoch>>nonceBits, epoch&(1<<nonceBits-1)
	sh.wctr, sh.wnon = sh.ctr, sh.nonce
	sh.snap, sh.snapSeq, sh.rows = snap, snapSeq, nil
	sh.log = append([]redis.Entry(nil), log...)
}

// Written reports whether a write left any key of show id (a read of a show
// Redis never saw leaves none, as on a real server).
func (s *Server) Written(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shows[id]
	return sh != nil && (sh.ctr != 0 || sh.wctr != 0 || sh.snap != nil || sh.snapSeq != 0 || len(sh.log) > 0 ||
		sh.lease != "" || len(sh.counts) > 0 || sh.countsSeq != 0 || sh.evSeq != 0 || len(sh.archive) > 0 || len(sh.rows) > 0)
}

// Keys is how many shows the server has any key of.
func (s *Server) Keys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.shows)
}

// Writes is how many writes the server applied.
func (s *Server) Writes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

func (sh *show) seq() uint64 { return sh.snapSeq + uint64(len(sh.log)) }

func (sh *show) epoch() uint64 { return sh.ctr<<nonceBits | sh.nonce }

func (sh *show) leaseHeld(now time.Time) (string, time.Duration) {
	if sh.lease == "" || !now.Before(sh.leaseUntil) {
		return "", 0
	}
	return sh.lease, sh.leaseUntil.Sub(now)
}

func leaseValue(ctr, nonce uint64) string {
	return strconv.FormatUint(ctr, 10) + ":" + strconv.FormatUint(nonce, 10)
}

// activate takes the next epoch; with a lease TTL it also takes the lease
// when it is free, expired or prev's, else reports how long it has left.
func (s *Server) activate(id string, lease bool, prev uint64, ttl time.Duration) (uint64, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, existed := s.shows[id]
	sh := s.get(id)
	before := *sh
	s.nonce = s.nonce%(1<<nonceBits-1) + 1
	sh.ctr++
	sh.nonce = s.nonce
	var wait time.Duration
	if lease {
		now := s.now()
		p := ""
		if prev != 0 {
			p = leaseValue(ctrOf(prev), prev&(1<<nonceBits-1))
		}
		if cur, left := sh.leaseHeld(now); cur != "" && cur != p {
			// PTTL in whole milliseconds, as the script reports it
			wait = left.Truncate(time.Millisecond)
		}
		if wait == 0 {
			sh.lease, sh.leaseUntil = leaseValue(sh.ctr, sh.nonce), now.Add(ttl.Truncate(time.Millisecond))
		}
	}
	s.record(id, existed, before, nil, nil)
	return sh.epoch(), wait
}

func (s *Server) renew(id string, epoch uint64, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, existed := s.shows[id]
	sh := s.get(id)
	if sh.epoch() != epoch {
		if !existed {
			delete(s.shows, id)
		}
		return &redis.FencedError{Shard: id, Epoch: epoch, Stored: sh.epoch()}
	}
	before := *sh
	sh.lease, sh.leaseUntil = leaseValue(sh.ctr, sh.nonce), s.now().Add(ttl.Truncate(time.Millisecond))
	s.record(id, existed, before, nil, nil)
	return nil
}

func (s *Server) release(id string, epoch uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shows[id]
	if sh == nil {
		return false
	}
	if cur, _ := sh.leaseHeld(s.now()); cur == "" || cur != leaseValue(ctrOf(epoch), epoch&(1<<nonceBits-1)) {
		return false
	}
	before := *sh
	sh.lease = ""
	s.record(id, true, before, nil, nil)
	return true
}

func (s *Server) load(id string) redis.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shows[id]
	if sh == nil {
		return redis.State{}
	}
	st := redis.State{Epoch: sh.epoch(), Seq: sh.seq(), Snapshot: sh.snap, SnapshotSeq: sh.snapSeq,
		Entries: append([]redis.Entry(nil), sh.log...), HasSnapshot: sh.snap != nil}
	if sh.snap == nil {
		for _, k := range slices.Sorted(maps.Keys(sh.rows)) {
			st.Rows = append(st.Rows, redis.Row{Key: k, Value: sh.rows[k]})
		}
	}
	if sh.wctr != 0 || sh.wnon != 0 {
		st.Writer = sh.wctr<<nonceBits | sh.wnon
	}
	st.EventsSeq = sh.evSeq
	return st
}

// apply is applyLua for a whole checkpoint: every check before any write.
func (s *Server) apply(cp redis.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, existed := s.shows[cp.Shard]
	sh := s.get(cp.Shard)
	if sh.epoch() != cp.Epoch {
		if !existed {
			delete(s.shows, cp.Shard)
		}
		return &redis.FencedError{Shard: cp.Shard, Epoch: cp.Epoch, Stored: sh.epoch()}
	}
	before := *sh
	var undoCounts map[string]*string
	var undoArchive map[string][]byte
	wrote := false
	defer func() {
		if wrote {
			s.record(cp.Shard, existed, before, undoCounts, undoArchive)
		}
	}()
	if cp.LeaseTTL >= time.Millisecond { // set once the epoch check passed, even if a gap follows
		sh.lease, sh.leaseUntil = leaseValue(sh.ctr, sh.nonce), s.now().Add(cp.LeaseTTL.Truncate(time.Millisecond))
		wrote = true
	}
	ents := cp.Entries
	if cp.Snapshot != nil { // the client does not send entries the snapshot covers
		for len(ents) > 0 && ents[0].Seq <= cp.SnapshotSeq {
			ents = ents[1:]
		}
	}
	seq, base := sh.seq(), sh.snapSeq
	same := sh.wctr == sh.ctr && sh.wnon == sh.nonce
	gap := &redis.GapError{Shard: cp.Shard, Have: seq, SnapshotSeq: base, LastWriter: sh.wctr<<nonceBits | sh.wnon}
	if len(cp.Entries) > 0 {
		gap.First = cp.Entries[0].Seq
	}
	snapKind, after := 0, seq
	if cp.Snapshot != nil {
		switch {
		case cp.SnapshotSeq > seq:
			snapKind, after = 1, cp.SnapshotSeq
		case cp.SnapshotSeq >= base:
			snapKind = 2
		}
	}
	if n := len(ents); n > 0 {
		first := ents[0].Seq
		if first > after+1 || (first <= after && !same) {
			return gap
		}
	}
	if len(cp.Rows) > 0 || cp.RowsSeq > 0 {
		top := after
		if n := len(ents); n > 0 && ents[n-1].Seq > top {
			top = ents[n-1].Seq
		}
		if cp.RowsSeq < base || cp.RowsSeq > top {
			return gap
		}
		if snapKind == 0 && sh.snap != nil {
			return fmt.Errorf("%w: %s (stored snapshot at %d)", redis.ErrWholeSnapshot, cp.Shard, base)
		}
	}
	switch snapKind {
	case 1:
		sh.snap, sh.snapSeq, sh.log, sh.rows = cp.Snapshot, cp.SnapshotSeq, nil, nil
		seq = cp.SnapshotSeq
	case 2:
		sh.snap, sh.rows = cp.Snapshot, nil
		sh.log = sh.log[cp.SnapshotSeq-base:]
		sh.snapSeq = cp.SnapshotSeq
	}
	if n := len(ents); n > 0 {
		if last := ents[n-1].Seq; last > seq {
			sh.log = append(sh.log[:len(sh.log):len(sh.log)], ents[seq+1-ents[0].Seq:]...)
			seq = last
		}
	}
	if len(cp.Rows) > 0 || cp.RowsSeq > 0 {
		if len(cp.Rows) > 0 {
			rows := maps.Clone(sh.rows)
			if rows == nil {
				rows = map[string][]byte{}
			}
			for _, r := range cp.Rows {
				if len(r.Value) == 0 { // the script reads an empty value as a deletion
					delete(rows, r.Key)
				} else {
					rows[r.Key] = r.Value
				}
			}
			sh.rows = rows
		}
		if cp.RowsSeq > sh.snapSeq {
			sh.log = sh.log[cp.RowsSeq-sh.snapSeq:]
			sh.snapSeq = cp.RowsSeq
		}
	}
	sh.wctr, sh.wnon = sh.ctr, sh.nonce
	sh.evSeq = max(sh.evSeq, cp.EventsSeq)
	wrote = true
	at := seq
	if len(ents) > 0 {
		at = ents[len(ents)-1].Seq
	} else if cp.Snapshot != nil {
		at = cp.SnapshotSeq
	}
	if len(cp.Counts) > 0 && at >= sh.countsSeq {
		undoCounts = map[string]*string{}
		for k, v := range cp.Counts {
			if old, ok := sh.counts[k]; ok {
				undoCounts[k] = &old
			} else {
				undoCounts[k] = nil
			}
			sh.counts[k] = v
		}
		sh.countsSeq = at
	}
	if len(cp.Archive) > 0 {
		undoArchive = map[string][]byte{}
		for k, v := range cp.Archive {
			undoArchive[k] = sh.archive[k]
			sh.archive[k] = v
		}
	}
	return nil
}

// seed is seedLua: under the epoch check, the state becomes the seed's rows
// at its seq; the snapshot and the log go; the caller is the last writer.
func (s *Server) seed(sd redis.Seed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, existed := s.shows[sd.Shard]
	sh := s.get(sd.Shard)
	if sh.epoch() != sd.Epoch {
		if !existed {
			delete(s.shows, sd.Shard)
		}
		return &redis.FencedError{Shard: sd.Shard, Epoch: sd.Epoch, Stored: sh.epoch()}
	}
	for _, r := range sd.Rows {
		if r.Value == nil {
			return fmt.Errorf("%w: %s: seed row %q without a value", redis.ErrBadCheckpoint, sd.Shard, r.Key)
		}
	}
	before := *sh
	undoCounts := map[string]*string{}
	for k, v := range sd.Counts {
		if old, ok := sh.counts[k]; ok {
			undoCounts[k] = &old
		} else {
			undoCounts[k] = nil
		}
		sh.counts[k] = v
	}
	if sd.LeaseTTL >= time.Millisecond {
		sh.lease, sh.leaseUntil = leaseValue(sh.ctr, sh.nonce), s.now().Add(sd.LeaseTTL.Truncate(time.Millisecond))
	}
	rows := make(map[string][]byte, len(sd.Rows))
	for _, r := range sd.Rows {
		rows[r.Key] = r.Value
	}
	sh.snap, sh.log, sh.rows, sh.snapSeq = nil, nil, rows, sd.Seq
	sh.wctr, sh.wnon, sh.countsSeq = sh.ctr, sh.nonce, sd.Seq
	sh.evSeq = max(sh.evSeq, sd.EventsSeq)
	s.record(sd.Shard, existed, before, undoCounts, nil)
	return nil
}

func (s *Server) counts(id string) (map[string]string, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	sh := s.shows[id]
	if sh == nil {
		return out, 0
	}
	for k, v := range sh.counts {
		out[k] = v
	}
	return out, sh.countsSeq
}

func (s *Server) archived(id, order string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shows[id]
	if sh == nil {
		return nil, false
	}
	v, ok := sh.archive[order]
	return v, ok
}

// Client is one node's connection to a Server. It implements actors.Remote
// and actors.Leaser. Safe for concurrent use.
type Client struct {
	srv *Server

	mu      sync.Mutex // protects following fields
	down    bool       // every call times out, unapplied
	lose    int        // the next n calls apply, then lose their reply
	probing bool       // Healthy is false from a failed call until Probe
	healthy bool
	// onCall, when set, decides the fate of each call: drop (times out,
	// unapplied) or lose its reply (applied, then times out)
	onCall func(op, show string) (drop, loseReply bool)
}

// Client opens a connection to the server.
func (s *Server) Client() *Client { return &Client{srv: s, healthy: true} }

// Server is the server the client talks to.
func (c *Client) Server() *Server { return c.srv }

// SetDown cuts the client off (true: every call times out, nothing is
// applied) or reconnects it.
func (c *Client) SetDown(down bool) {
	c.mu.Lock()
	c.down = down
	c.mu.Unlock()
}

// LoseReplies makes the next n calls apply, then time out.
func (c *Client) LoseReplies(n int) {
	c.mu.Lock()
	c.lose = n
	c.mu.Unlock()
}

// OnCall sets a function that decides each call's fate (the simulator's
// network): drop it unapplied, or lose its reply after it applied.
func (c *Client) OnCall(f func(op, show string) (drop, loseReply bool)) {
	c.mu.Lock()
	c.onCall = f
	c.mu.Unlock()
}

// SetProbing switches to the real client's health rule: a failed call
// makes the client unhealthy (calls then fail at once with
// redis.ErrUnavailable, unsent) until Probe succeeds. Off: Healthy is
// false exactly while the client is down.
func (c *Client) SetProbing(on bool) {
	c.mu.Lock()
	c.probing, c.healthy = on, true
	c.mu.Unlock()
}

// Probe is the client's health PING: it succeeds unless the client is
// down. It reports whether the client is healthy now.
func (c *Client) Probe() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.healthy = !c.down
	return c.healthy
}

// Healthy is false from the first failed call until a probe succeeds (with
// SetProbing), else while the client is down.
func (c *Client) Healthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.probing {
		return !c.down
	}
	return c.healthy
}

// begin decides a call's fate: err is returned at once (unsent or dropped);
// lost means apply, then answer ErrTimeout.
func (c *Client) begin(op, show string) (err error, lost bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.probing && !c.healthy {
		return redis.ErrUnavailable, false
	}
	drop, lose := c.down, false
	if !drop && c.onCall != nil {
		drop, lose = c.onCall(op, show)
	}
	if !drop && !lose && c.lose > 0 {
		c.lose--
		lose = true
	}
	if drop || lose {
		c.healthy = false
	}
	if drop {
		return ErrTimeout, false
	}
	return nil, lose
}

func reply(lost bool, err error) error {
	if lost {
		return ErrTimeout
	}
	return err
}

// Activate takes the show's next epoch (fencing every older one).
func (c *Client) Activate(_ context.Context, id string) (uint64, error) {
	err, lost := c.begin("activate", id)
	if err != nil {
		return 0, err
	}
	e, _ := c.srv.activate(id, false, 0, 0)
	if lost {
		return 0, ErrTimeout
	}
	return e, nil
}

// Load reads the show's epoch, snapshot or state rows, and log.
func (c *Client) Load(_ context.Context, id string) (redis.State, error) {
	err, lost := c.begin("load", id)
	if err != nil || lost {
		return redis.State{}, reply(true, err)
	}
	return c.srv.load(id), nil
}

// LoadRows is Load that hands every state row to row as well: those named
// in first before the others, each once. The fake reads in one step: it is
// never written to while read.
func (c *Client) LoadRows(_ context.Context, id string, first []string, row func(key string, value []byte) error) (redis.State, error) {
	err, lost := c.begin("load", id)
	if err != nil || lost {
		return redis.State{}, reply(true, err)
	}
	st := c.srv.load(id)
	byKey := make(map[string]int, len(first))
	for i, r := range st.Rows {
		byKey[r.Key] = i
	}
	given := make(map[int]bool, len(first))
	for _, k := range first {
		if i, ok := byKey[k]; ok && !given[i] {
			given[i] = true
			if err := row(k, st.Rows[i].Value); err != nil {
				return redis.State{}, err
			}
		}
	}
	for i, r := range st.Rows {
		if !given[i] {
			if err := row(r.Key, r.Value); err != nil {
				return redis.State{}, err
			}
		}
	}
	return st, nil
}

// LoadLog is Load without the state rows (loadLua alone).
func (c *Client) LoadLog(_ context.Context, id string) (redis.State, error) {
	err, lost := c.begin("load", id)
	if err != nil || lost {
		return redis.State{}, reply(true, err)
	}
	st := c.srv.load(id)
	st.Rows = nil
	return st, nil
}

// LoadMeta reads where the show is (metaLua): epoch, seq, snapshot seq and
// whether a whole snapshot is stored.
func (c *Client) LoadMeta(_ context.Context, id string) (redis.State, error) {
	err, lost := c.begin("meta", id)
	if err != nil || lost {
		return redis.State{}, reply(true, err)
	}
	st := c.srv.load(id)
	return redis.State{Epoch: st.Epoch, Seq: st.Seq, SnapshotSeq: st.SnapshotSeq, HasSnapshot: st.HasSnapshot}, nil
}

// Seed replaces the show's whole state (seedPartLua and seedLua). The fake
// applies it in one step: a real Seed cut short leaves the old state whole
// too, only a stage behind.
func (c *Client) Seed(_ context.Context, sd redis.Seed) error {
	if sd.Epoch == 0 || sd.Epoch&(1<<nonceBits-1) == 0 {
		return redis.ErrBadCheckpoint
	}
	for _, r := range sd.Rows { // as the real client, before sending
		if r.Value == nil {
			return fmt.Errorf("%w: %s: seed row %q without a value", redis.ErrBadCheckpoint, sd.Shard, r.Key)
		}
	}
	err, lost := c.begin("seed", sd.Shard)
	if err != nil {
		return err
	}
	return reply(lost, c.srv.seed(sd))
}

// Apply applies each checkpoint atomically (applyLua).
func (c *Client) Apply(_ context.Context, cps ...redis.Checkpoint) []error {
	errs := make([]error, len(cps))
	for i, cp := range cps {
		if err := cp.Validate(); err != nil { // as the real client, before sending
			errs[i] = err
			continue
		}
		err, lost := c.begin("apply", cp.Shard)
		if err != nil {
			errs[i] = err
			continue
		}
		errs[i] = reply(lost, c.srv.apply(cp))
	}
	return errs
}

// Counts returns the show's read model and its seq.
func (c *Client) Counts(_ context.Context, id string) (map[string]string, uint64, error) {
	err, lost := c.begin("counts", id)
	if err != nil || lost {
		return nil, 0, reply(true, err)
	}
	m, seq := c.srv.counts(id)
	return m, seq, nil
}

// Archived returns an archived order of the show.
func (c *Client) Archived(_ context.Context, id, order string) ([]byte, bool, error) {
	err, lost := c.begin("archived", id)
	if err != nil || lost {
		return nil, false, reply(true, err)
	}
	v, ok := c.srv.archived(id, order)
	return v, ok, nil
}

// ActivateLease is Activate with the show's lease (activateLeaseLua).
func (c *Client) ActivateLease(_ context.Context, id string, prev uint64, ttl time.Duration) (uint64, time.Duration, error) {
	err, lost := c.begin("activate_lease", id)
	if err != nil {
		return 0, 0, err
	}
	e, wait := c.srv.activate(id, true, prev, ttl)
	if lost {
		return 0, 0, ErrTimeout
	}
	return e, wait, nil
}

// RenewLease renews the lease of epoch, unless it was fenced.
func (c *Client) RenewLease(_ context.Context, id string, epoch uint64, ttl time.Duration) error {
	err, lost := c.begin("renew_lease", id)
	if err != nil {
		return err
	}
	return reply(lost, c.srv.renew(id, epoch, ttl))
}

// ReleaseLease drops epoch's lease if it holds it.
func (c *Client) ReleaseLease(_ context.Context, id string, epoch uint64) (bool, error) {
	err, lost := c.begin("release_lease", id)
	if err != nil {
		return false, err
	}
	ok := c.srv.release(id, epoch)
	if lost {
		return false, ErrTimeout
	}
	return ok, nil
}

// Describe is a one-line view of a show for traces.
func (s *Server) Describe(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shows[id]
	if sh == nil {
		return "redis: no keys"
	}
	var b strings.Builder
	b.WriteString("redis: epoch ")
	b.WriteString(leaseValue(sh.ctr, sh.nonce))
	b.WriteString(" seq ")
	b.WriteString(strconv.FormatUint(sh.seq(), 10))
	b.WriteString(" snap ")
	b.WriteString(strconv.FormatUint(sh.snapSeq, 10))
	b.WriteString(" writer ")
	b.WriteString(leaseValue(sh.wctr, sh.wnon))
	if cur, left := sh.leaseHeld(s.now()); cur != "" {
		b.WriteString(" lease " + cur + " for " + left.String())
	}
	return b.String()
}

// RegisterShow stores a show's config unless it is registered (SET NX, then
// SADD to the index).
func (c *Client) RegisterShow(_ context.Context, show string, cfg []byte) (bool, error) {
	err, lost := c.begin("register_show", show)
	if err != nil {
		return false, err
	}
	c.srv.mu.Lock()
	_, had := c.srv.configs[show]
	if !had {
		c.srv.configs[show] = append([]byte(nil), cfg...)
	}
	c.srv.mu.Unlock()
	return !had, reply(lost, nil)
}

// ShowConfig returns a registered show's config (GET).
func (c *Client) ShowConfig(_ context.Context, show string) ([]byte, bool, error) {
	err, lost := c.begin("show_config", show)
	if err != nil || lost {
		return nil, false, reply(true, err)
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	cfg, ok := c.srv.configs[show]
	return append([]byte(nil), cfg...), ok, nil
}

// ShowIDs returns every registered show id (SMEMBERS of the index).
func (c *Client) ShowIDs(context.Context) ([]string, error) {
	err, lost := c.begin("show_ids", "")
	if err != nil || lost {
		return nil, reply(true, err)
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	ids := make([]string, 0, len(c.srv.configs))
	for id := range c.srv.configs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}
