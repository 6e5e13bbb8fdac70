package redis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// epochNonceBits is how many low bits of an epoch are the activation's
// random nonce; the high bits count activations.
const epochNonceBits = 20

const nonceMask = 1<<epochNonceBits - 1

// splitEpoch returns an epoch's activation counter and nonce.
func splitEpoch(e uint64) (ctr, nonce uint64) { return e >> epochNonceBits, e & nonceMask }

// joinEpoch is the inverse of splitEpoch.
func joinEpoch(ctr, nonce uint64) uint64 { return ctr<<epochNonceBits | nonce }

// Activate fences the shard: it atomically takes the shard's next epoch and
// returns it. From then on Apply refuses (ErrFenced) every checkpoint that
// does not carry exactly this epoch, until the next Activate.
//
// Epochs grow with each activation (the high bits count activations); their
// low 20 bits are random, so that two activations still differ if Redis lost
// an INCR in a crash (appendfsync everysec) and handed out the same counter
// twice.
func (c *Client) Activate(ctx context.Context, shard string) (uint64, error) {
	if c.closed.Load() {
		return 0, ErrClosed
	}
	k, err := keysOf(shard)
	if err != nil {
		return 0, err
	}
	nonce := 1 + rand.Uint64N(nonceMask) // 1 .. 2^20-1
	cl := &call{script: c.scr.activate, keys: []string{k.meta, k.rows, k.rowsOld}, args: []any{nonce}, group: shard}
	c.run(ctx, []*call{cl})
	ctr, err := cl.cmd.Int64()
	if err != nil {
		return 0, fmt.Errorf("redis: activate %s: %w", shard, err)
	}
	return joinEpoch(uint64(ctr), nonce), nil
}

// Entry is one journal record: its sequence number and opaque bytes.
type Entry struct {
	Seq  uint64
	Data []byte
}

// Checkpoint is what one shard sends in one Apply. All fields but Shard and
// Epoch are optional.
type Checkpoint struct {
	Shard string // a show id, or the older "SHOW/N"
	Epoch uint64 // from Activate
	// Entries are consecutive (Seq n, n+1, ...) and continue the stored
	// journal: Entries[0].Seq == stored seq + 1. Entries the same activation
	// already stored (a retry) are skipped.
	Entries []Entry
	// Snapshot, when not nil, is the shard's state at SnapshotSeq. It
	// replaces the stored snapshot and drops the journal entries <=
	// SnapshotSeq. When SnapshotSeq is beyond everything Redis holds (a
	// catch-up after Redis was down or lost data), it replaces the whole
	// stored state and the stored seq becomes SnapshotSeq. Entries <=
	// SnapshotSeq in the same checkpoint are covered by it and not sent.
	// A snapshot older than the stored one is ignored.
	Snapshot    []byte
	SnapshotSeq uint64
	// Counts, when not empty, are HSET into the shard's read model (section
	// id -> "available,held,reserved,sold", and "totals"); fields not given
	// keep their values. They are as of the checkpoint's last seq (its last
	// entry, else its snapshot, else the stored seq) and are ignored if
	// stored counts are newer (a late retry). Counts(shard) returns them with
	// that seq.
	Counts map[string]string
	// Archive, when not empty, is HSET into the shard's archive (order id ->
	// terminal order as JSON) in the same script as the rest, under the same
	// epoch and seq checks: only if the checkpoint is accepted. Archived
	// returns one. Like entries, a large archive is split into consecutive
	// calls (MaxEntriesPerCall, MaxBytesPerCall) that apply as a prefix.
	Archive map[string][]byte
	// LeaseTTL, when > 0, renews the activation's lease on the shard (see
	// ActivateLease) for this long, in the same script, once the epoch
	// check passed.
	LeaseTTL time.Duration
	// EventsSeq, when above the stored one, is stored (State.EventsSeq):
	// the writer's durable outbox holds the events of every record up to
	// it, so an activation that restores the shard from Redis emits the
	// events of the entries after it (their writer's journal never got
	// them). Stored only if the checkpoint is accepted.
	EventsSeq uint64
	// Rows, with RowsSeq > 0, change the shard's state rows (a nil Value
	// deletes a row), which then hold its state at RowsSeq: the log keeps
	// the entries after RowsSeq only (the stored snapshot seq becomes
	// RowsSeq). RowsSeq must lie between the stored snapshot seq and the seq
	// after the checkpoint's entries, and the shard must not hold a whole
	// snapshot (ErrWholeSnapshot: Seed first). Rows travel in the
	// checkpoint's last call, whatever their size, so they apply atomically
	// with the trim of the log. Not with Snapshot.
	Rows    []Row
	RowsSeq uint64
}

// Row is one state row: a key unique within the shard and its value (nil:
// delete the row).
type Row struct {
	Key   string
	Value []byte
}

// Apply applies several shards' checkpoints in one round trip per Redis
// node: one atomic script per checkpoint (or per MaxEntriesPerCall entries),
// pipelined by EVALSHA. errs[i] is Checkpoint i's outcome: nil, a
// *FencedError (errors.Is ErrFenced), a *GapError (errors.Is ErrGap), a
// validation error, ErrUnavailable (the client is unhealthy: nothing was
// sent), or a connection error or timeout (then the checkpoint may or may not
// have been applied, maybe later still; resend it, a retry is recognised).
// With Options.WaitReplicas, an applied checkpoint that too few replicas
// acknowledged gets an error wrapping ErrNotReplicated.
//
// Checkpoints of one shard must be given in seq order, within one Apply and
// across calls: one caller at a time per shard.
func (c *Client) Apply(ctx context.Context, cps ...Checkpoint) []error {
	errs := make([]error, len(cps))
	if c.closed.Load() {
		for i := range errs {
			errs[i] = ErrClosed
		}
		return errs
	}
	var calls []*call
	owner := make([]int, 0, len(cps)) // owner[j]: the checkpoint of calls[j]
	for i, cp := range cps {
		parts, err := c.buildCalls(cp)
		if err != nil {
			errs[i] = err
			continue
		}
		for _, p := range parts {
			calls = append(calls, p)
			owner = append(owner, i)
		}
	}
	var w waitResult
	if len(calls) > 0 {
		start := time.Now()
		w = c.runWait(ctx, calls, c.opt.WaitReplicas > 0)
		c.met.observe(time.Since(start))
	}
	for j, cl := range calls {
		if i := owner[j]; errs[i] == nil {
			errs[i] = c.applyResult(cps[i], cl)
		}
	}
	if c.opt.WaitReplicas > 0 && len(calls) > 0 {
		for i, err := range errs {
			if err != nil {
				continue
			}
			if w.err != nil {
				errs[i] = fmt.Errorf("%w: %s: WAIT failed: %v", ErrNotReplicated, cps[i].Shard, w.err)
			} else if w.acked < int64(c.opt.WaitReplicas) {
				errs[i] = fmt.Errorf("%w: %s: %d of %d replicas acknowledged within %v", ErrNotReplicated, cps[i].Shard, w.acked, c.opt.WaitReplicas, c.opt.WaitTimeout)
			}
		}
	}
	for _, err := range errs {
		if err == nil {
			c.met.applies.Add(1)
		} else {
			c.met.applyErrors.Add(1)
		}
	}
	return errs
}

// applyResult interprets one apply script reply.
func (c *Client) applyResult(cp Checkpoint, cl *call) error {
	res, err := cl.cmd.Int64Slice()
	if err != nil {
		return fmt.Errorf("redis: apply %s: %w", cp.Shard, err)
	}
	if len(res) < 3 {
		return fmt.Errorf("redis: apply %s: unexpected reply %v", cp.Shard, res)
	}
	switch res[0] {
	case 0:
		return nil
	case 1:
		c.met.fenced.Add(1)
		return &FencedError{Shard: cp.Shard, Epoch: cp.Epoch, Stored: joinEpoch(uint64(res[1]), uint64(res[2]))}
	case 3:
		return fmt.Errorf("%w: %s (stored snapshot at %d)", ErrWholeSnapshot, cp.Shard, res[2])
	case 2:
		c.met.gaps.Add(1)
		first := uint64(0)
		if len(cp.Entries) > 0 {
			first = cp.Entries[0].Seq
		}
		g := &GapError{Shard: cp.Shard, Have: uint64(res[1]), SnapshotSeq: uint64(res[2]), First: first}
		if len(res) == 5 {
			g.LastWriter = joinEpoch(uint64(res[3]), uint64(res[4]))
		}
		return g
	}
	return fmt.Errorf("redis: apply %s: unexpected status %d", cp.Shard, res[0])
}

// buildCalls validates a checkpoint and turns it into one or more script
// calls. Entries covered by the snapshot are dropped, so the snapshot comes
// first and goes with the first call; the rest are split by
// MaxEntriesPerCall and MaxBytesPerCall; the counts go with the last call
// that has entries; the archive fills that call up to the limits, then
// further calls.
func (c *Client) buildCalls(cp Checkpoint) ([]*call, error) {
	k, err := keysOf(cp.Shard)
	if err != nil {
		return nil, err
	}
	if err := cp.Validate(); err != nil {
		return nil, err
	}
	ents := cp.Entries
	if cp.Snapshot != nil {
		for len(ents) > 0 && ents[0].Seq <= cp.SnapshotSeq {
			ents = ents[1:]
		}
	}
	ranges := splitEntries(ents, c.opt.MaxEntriesPerCall, c.opt.MaxBytesPerCall)
	var arch [][]any // archive pairs per call, from the last entries call on
	if len(cp.Archive) > 0 {
		r := ranges[len(ranges)-1]
		arch = splitArchive(cp.Archive, r[1]-r[0], entriesSize(ents[r[0]:r[1]]), c.opt.MaxEntriesPerCall, c.opt.MaxBytesPerCall)
	}
	ctr, nonce := splitEpoch(cp.Epoch)
	keys := k.list()
	calls := make([]*call, 0, len(ranges)+max(0, len(arch)-1))
	for p, r := range ranges {
		ents := ents[r[0]:r[1]]
		var snap []byte
		if p == 0 {
			snap = cp.Snapshot
		}
		var counts map[string]string
		var archive []any
		var rows rowArgs
		if p == len(ranges)-1 {
			counts = cp.Counts
			if len(arch) > 0 {
				archive = arch[0]
			}
			if len(arch) <= 1 {
				rows = rowArgs{rows: cp.Rows, seq: cp.RowsSeq}
			}
		}
		calls = append(calls, &call{script: c.scr.apply, keys: keys, args: applyArgs(ctr, nonce, ents, snap, cp.SnapshotSeq, counts, archive, rows, p > 0, 0, cp.EventsSeq, cp.LeaseTTL), group: cp.Shard})
	}
	if len(arch) > 1 {
		reached := uint64(0) // the seq the calls before reach
		if len(ents) > 0 {
			reached = ents[len(ents)-1].Seq
		} else if cp.Snapshot != nil {
			reached = cp.SnapshotSeq
		}
		for i, a := range arch[1:] {
			var rows rowArgs
			if i == len(arch)-2 { // the last call
				rows = rowArgs{rows: cp.Rows, seq: cp.RowsSeq}
			}
			calls = append(calls, &call{script: c.scr.apply, keys: keys, args: applyArgs(ctr, nonce, nil, nil, 0, nil, a, rows, true, reached, cp.EventsSeq, cp.LeaseTTL), group: cp.Shard})
		}
	}
	return calls, nil
}

// entriesSize is what splitEntries counts for ents.
func entriesSize(ents []Entry) int {
	n := 0
	for _, e := range ents {
		n += len(e.Data) + 16
	}
	return n
}

// splitArchive lays out the archive as id/JSON pairs per call: the first
// call already holds n items of size bytes; each call gets at most maxN
// items and (unless a single one is larger) maxBytes bytes. Ids are sorted,
// so that a resent checkpoint splits alike.
func splitArchive(a map[string][]byte, n, size, maxN, maxBytes int) [][]any {
	ids := make([]string, 0, len(a))
	for id := range a {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := [][]any{nil}
	for _, id := range ids {
		sz := len(id) + len(a[id]) + 16
		if n > 0 && (n >= maxN || size+sz > maxBytes) {
			out = append(out, nil)
			n, size = 0, 0
		}
		out[len(out)-1] = append(out[len(out)-1], id, a[id])
		n++
		size += sz
	}
	return out
}

// Validate checks what can be checked without Redis (Apply does, before
// sending anything; a fake of Redis must refuse the same).
func (cp Checkpoint) Validate() error {
	if cp.Epoch == 0 || cp.Epoch&nonceMask == 0 {
		return fmt.Errorf("%w: %s: epoch %d did not come from Activate", ErrBadCheckpoint, cp.Shard, cp.Epoch)
	}
	if cp.Snapshot == nil && cp.SnapshotSeq != 0 {
		return fmt.Errorf("%w: %s: SnapshotSeq %d without Snapshot", ErrBadCheckpoint, cp.Shard, cp.SnapshotSeq)
	}
	if len(cp.Rows) > 0 && cp.RowsSeq == 0 {
		return fmt.Errorf("%w: %s: rows without a RowsSeq", ErrBadCheckpoint, cp.Shard)
	}
	if cp.RowsSeq > 0 && cp.Snapshot != nil {
		return fmt.Errorf("%w: %s: rows and a snapshot in one checkpoint", ErrBadCheckpoint, cp.Shard)
	}
	for i, e := range cp.Entries {
		if e.Seq == 0 || (i > 0 && e.Seq != cp.Entries[i-1].Seq+1) {
			return fmt.Errorf("%w: %s: entry %d has seq %d, entries must be consecutive from 1 on", ErrBadCheckpoint, cp.Shard, i, e.Seq)
		}
	}
	return nil
}

// splitEntries returns [from, to) index ranges of at most maxN entries and
// (unless a single entry is larger) maxBytes bytes; at least one range, maybe
// empty.
func splitEntries(ents []Entry, maxN, maxBytes int) [][2]int {
	if len(ents) == 0 {
		return [][2]int{{0, 0}}
	}
	var out [][2]int
	from, size := 0, 0
	for i, e := range ents {
		n := len(e.Data) + 16
		if i > from && (i-from >= maxN || size+n > maxBytes) {
			out = append(out, [2]int{from, i})
			from, size = i, 0
		}
		size += n
	}
	return append(out, [2]int{from, len(ents)})
}

// rowArgs are the state rows of a call (in its last call only).
type rowArgs struct {
	rows []Row
	seq  uint64
}

// applyArgs lays out ARGV for applyLua. archive holds id/value pairs;
// reached is, for a continuation without entries, the seq the calls before
// it reach; evSeq (EventsSeq) is the last argument but one, lease (ms, 0:
// none) always the last.
func applyArgs(ctr, nonce uint64, ents []Entry, snap []byte, snapSeq uint64, counts map[string]string, archive []any, rows rowArgs, cont bool, reached, evSeq uint64, lease time.Duration) []any {
	first := uint64(0)
	if len(ents) > 0 {
		first = ents[0].Seq
	}
	kind, snapArg := "0", []byte{}
	switch {
	case snap != nil:
		kind, snapArg = "1", snap
	case cont:
		kind, snapSeq = "2", 0
	default:
		snapSeq = 0
	}
	last := first + uint64(len(ents)) - 1
	if len(ents) == 0 {
		last = 0
		if cont {
			last = reached
		}
	}
	args := make([]any, 0, 14+len(ents)+2*len(counts)+len(archive)+3*len(rows.rows))
	args = append(args, ctr, nonce, first, len(ents), kind, snapSeq, snapArg, len(counts), last, len(archive)/2, len(rows.rows), rows.seq)
	for _, e := range ents {
		args = append(args, e.Data)
	}
	for f, v := range counts {
		args = append(args, f, v)
	}
	args = append(args, archive...)
	for _, r := range rows.rows {
		v := r.Value
		if v == nil {
			v = []byte{} // the script reads an empty value as a deletion
		}
		args = append(args, rowBucket(r.Key), r.Key, v)
	}
	return append(args, evSeq, lease.Milliseconds())
}
