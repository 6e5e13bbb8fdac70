package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"
)

// State is a shard as stored in Redis.
type State struct {
	Epoch       uint64 // the current epoch (0: never activated)
	Seq         uint64 // the newest stored seq (0: nothing stored)
	Snapshot    []byte // nil if none
	SnapshotSeq uint64
	Entries     []Entry // SnapshotSeq+1 .. Seq, in order
	// Writer is the epoch of the activation whose checkpoint Redis
	// accepted last (0: none yet).
	Writer uint64
	// EventsSeq is the highest Checkpoint.EventsSeq accepted: the events
	// of the records up to it are in their writers' outboxes.
	EventsSeq uint64
}

// Load reads a shard's epoch, seq, snapshot and the entries after it in one
// script, so the parts are consistent with each other. A shard Redis never
// saw loads as the zero State.
func (c *Client) Load(ctx context.Context, shard string) (State, error) {
	if c.closed.Load() {
		return State{}, ErrClosed
	}
	k, err := keysOf(shard)
	if err != nil {
		return State{}, err
	}
	cl := &call{script: c.scr.load, keys: []string{k.meta, k.snap, k.log}, group: shard}
	c.run(ctx, []*call{cl})
	res, err := cl.cmd.Slice()
	if err != nil {
		return State{}, fmt.Errorf("redis: load %s: %w", shard, err)
	}
	return parseState(shard, res)
}

// parseState decodes loadLua's reply.
func parseState(shard string, res []any) (State, error) {
	if len(res) != 8 {
		return State{}, fmt.Errorf("redis: load %s: unexpected reply of %d elements", shard, len(res))
	}
	var nums [3]uint64
	for i := range nums {
		s, _ := res[i].(string)
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return State{}, fmt.Errorf("%w: %s: field %d is %q", ErrCorrupt, shard, i, res[i])
		}
		nums[i] = n
	}
	st := State{Epoch: joinEpoch(nums[0], nums[1]), SnapshotSeq: nums[2]}
	var w [2]uint64
	for i := range w {
		s, _ := res[5+i].(string)
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return State{}, fmt.Errorf("%w: %s: writer field %d is %q", ErrCorrupt, shard, i, res[5+i])
		}
		w[i] = n
	}
	if w[0] != 0 || w[1] != 0 {
		st.Writer = joinEpoch(w[0], w[1])
	}
	s, _ := res[7].(string)
	ev, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return State{}, fmt.Errorf("%w: %s: evseq is %q", ErrCorrupt, shard, res[7])
	}
	st.EventsSeq = ev
	if s, ok := res[3].(string); ok {
		st.Snapshot = []byte(s)
	}
	log, _ := res[4].([]any)
	st.Seq = st.SnapshotSeq + uint64(len(log))
	st.Entries = make([]Entry, len(log))
	for i, e := range log {
		s, _ := e.(string)
		st.Entries[i] = Entry{Seq: st.SnapshotSeq + 1 + uint64(i), Data: []byte(s)}
	}
	return st, nil
}

// Counts returns the shard's read model (section id ->
// "available,held,reserved,sold", and "totals") and the seq of the last
// checkpoint that wrote it. A shard without counts returns an empty map and 0.
func (c *Client) Counts(ctx context.Context, shard string) (map[string]string, uint64, error) {
	if c.closed.Load() {
		return nil, 0, ErrClosed
	}
	k, err := keysOf(shard)
	if err != nil {
		return nil, 0, err
	}
	cl := &call{script: c.scr.counts, keys: []string{k.meta, k.counts}, group: shard}
	c.run(ctx, []*call{cl})
	res, err := cl.cmd.Slice()
	if err != nil {
		return nil, 0, fmt.Errorf("redis: counts %s: %w", shard, err)
	}
	if len(res) != 2 {
		return nil, 0, fmt.Errorf("redis: counts %s: unexpected reply of %d elements", shard, len(res))
	}
	s, _ := res[0].(string)
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: countsseq %q", ErrCorrupt, shard, res[0])
	}
	kv, _ := res[1].([]any)
	out := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		f, _ := kv[i].(string)
		v, _ := kv[i+1].(string)
		out[f] = v
	}
	return out, seq, nil
}

// Archived returns the order id as an accepted checkpoint of shard stored
// it in its Archive, and whether there is one.
func (c *Client) Archived(ctx context.Context, shard, id string) ([]byte, bool, error) {
	if c.closed.Load() {
		return nil, false, ErrClosed
	}
	k, err := keysOf(shard)
	if err != nil {
		return nil, false, err
	}
	cl := &call{script: c.scr.hget, keys: []string{k.archive}, args: []any{id}, group: shard}
	c.run(ctx, []*call{cl})
	return bytesReply(cl.cmd, "archived "+shard)
}

// bytesReply decodes a string-or-nil reply.
func bytesReply(cmd *goredis.Cmd, what string) ([]byte, bool, error) {
	s, err := cmd.Text()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis: %s: %w", what, err)
	}
	return []byte(s), true, nil
}
