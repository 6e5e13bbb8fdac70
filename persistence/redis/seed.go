package redis

import (
	"context"
	"fmt"
	"time"
)

// Seed is a shard's whole state, to replace what Redis holds of it.
type Seed struct {
	Shard  string
	Epoch  uint64 // from Activate
	Seq    uint64 // the state's seq: the stored seq becomes Seq
	Rows   []Row  // every state row (Values not nil)
	Counts map[string]string
	// LeaseTTL, when > 0, renews the activation's lease as Checkpoint does.
	LeaseTTL time.Duration
	// EventsSeq is stored as Checkpoint.EventsSeq is (when above the
	// stored one): the seeding node's outbox holds the events up to it.
	EventsSeq uint64
}

// Seed replaces a shard's stored state with s, under the epoch check: rows
// are staged in calls of at most MaxEntriesPerCall rows and MaxBytesPerCall
// bytes, then one call swaps them in, drops the snapshot and the log, and
// makes the caller the last writer at s.Seq. Until that last call the old
// state stays whole; a Seed cut short leaves it (and a stage the next Seed
// empties). It costs the size of the state: for an activation that found
// Redis without its rows (lost, behind, or holding a whole snapshot of the
// format before rows), never for a checkpoint. Errors as Apply's.
func (c *Client) Seed(ctx context.Context, s Seed) error {
	if c.closed.Load() {
		return ErrClosed
	}
	k, err := keysOf(s.Shard)
	if err != nil {
		return err
	}
	if s.Epoch == 0 || s.Epoch&nonceMask == 0 {
		return fmt.Errorf("%w: %s: epoch %d did not come from Activate", ErrBadCheckpoint, s.Shard, s.Epoch)
	}
	ctr, nonce := splitEpoch(s.Epoch)
	var calls []*call
	fresh := "1"
	stageKeys := append([]string{k.meta, k.stage}, k.bucketKeys("stage")...)
	for from := 0; from < len(s.Rows); {
		size, to := 0, from
		for to < len(s.Rows) && to-from < c.opt.MaxEntriesPerCall && (to == from || size+len(s.Rows[to].Value) < c.opt.MaxBytesPerCall) {
			if s.Rows[to].Value == nil {
				return fmt.Errorf("%w: %s: seed row %q without a value", ErrBadCheckpoint, s.Shard, s.Rows[to].Key)
			}
			size += len(s.Rows[to].Key) + len(s.Rows[to].Value) + 16
			to++
		}
		calls = append(calls, &call{script: c.scr.seedPart, keys: stageKeys, args: seedPartArgs(ctr, nonce, fresh, s.Rows[from:to]), group: s.Shard})
		fresh, from = "0", to
	}
	staged := "0"
	if len(s.Rows) > 0 {
		staged = "1"
	}
	args := []any{ctr, nonce, s.Seq, staged, len(s.Counts)}
	for f, v := range s.Counts {
		args = append(args, f, v)
	}
	args = append(args, s.EventsSeq, s.LeaseTTL.Milliseconds())
	keys := append([]string{k.meta, k.snap, k.log, k.counts, k.rowsOld, k.stage, k.lease}, k.bucketKeys("rows")...)
	calls = append(calls, &call{script: c.scr.seed, keys: append(keys, k.bucketKeys("stage")...), args: args, group: s.Shard})
	// a few calls per round trip: a whole show is far more than a client's
	// write timeout lets one pipeline carry
	for from := 0; from < len(calls); from += seedCallsPerTrip {
		part := calls[from:min(from+seedCallsPerTrip, len(calls))]
		start := time.Now()
		c.run(ctx, part)
		c.met.observe(time.Since(start))
		if err := c.seedResult(s, part); err != nil {
			return err
		}
	}
	return nil
}

// seedCallsPerTrip is how many Seed calls share a round trip.
const seedCallsPerTrip = 4

func (c *Client) seedResult(s Seed, calls []*call) error {
	for _, cl := range calls {
		res, err := cl.cmd.Int64Slice()
		if err != nil {
			return fmt.Errorf("redis: seed %s: %w", s.Shard, err)
		}
		if len(res) == 3 && res[0] == 1 {
			c.met.fenced.Add(1)
			return &FencedError{Shard: s.Shard, Epoch: s.Epoch, Stored: joinEpoch(uint64(res[1]), uint64(res[2]))}
		}
		if len(res) == 0 || res[0] != 0 {
			return fmt.Errorf("redis: seed %s: unexpected reply %v", s.Shard, res)
		}
	}
	return nil
}

// seedPartArgs lays out ARGV for seedPartLua: the rows as bucket/key/value
// triples, a bucket's rows one after another.
func seedPartArgs(ctr, nonce uint64, fresh string, rows []Row) []any {
	var by [rowBuckets][]Row
	for _, r := range rows {
		b := rowBucket(r.Key)
		by[b] = append(by[b], r)
	}
	args := make([]any, 0, 3+3*len(rows))
	args = append(args, ctr, nonce, fresh)
	for b := range by {
		for _, r := range by[b] {
			args = append(args, b, r.Key, r.Value)
		}
	}
	return args
}
