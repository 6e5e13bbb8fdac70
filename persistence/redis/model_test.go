package redis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// model is what Redis should hold for one shard.
type model struct {
	seq, base uint64
	snap      []byte
	epoch     uint64 // current activation
	writer    uint64 // activation that last wrote (0: none)
	totals    string // counts["totals"]
	countsAt  uint64 // its seq
}

// TestApplyMatchesModel drives one shard with random checkpoints (appends,
// snapshots inside and after entries, catch-ups, retries, gaps, stale
// epochs, re-activations) through a client that splits checkpoints into
// tiny calls, and compares every outcome and the stored state with a model.
// Re-run a failure with REDIS_MODEL_SEED=<seed>.
func TestApplyMatchesModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("REDIS_MODEL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (REDIS_MODEL_SEED=%d to re-run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	maxPer := 1 + rng.IntN(3)
	_, c := openServer(t, func(o *Options) { o.MaxEntriesPerCall = maxPer })
	ctx := context.Background()
	const shard = "model/0"
	m := model{epoch: activate(t, c, shard)}
	var sent []Checkpoint // applied checkpoints of the current activation
	var stale []uint64    // older epochs
	snapAt := func(seq uint64) []byte { return fmt.Appendf(nil, "S%d", seq) }

	for step := 0; step < 400; step++ {
		var cp Checkpoint
		var want string // "ok", "gap", "fenced"
		next := m
		switch op := rng.IntN(100); {
		case op < 45: // append, maybe with a snapshot inside or at the end, maybe counts
			k := 1 + uint64(rng.IntN(6))
			cp = Checkpoint{Shard: shard, Epoch: m.epoch, Entries: entries(shard, m.seq+1, m.seq+k)}
			next.seq += k
			if rng.IntN(3) == 0 {
				p := m.seq + 1 + uint64(rng.IntN(int(k)))
				cp.Snapshot, cp.SnapshotSeq = snapAt(p), p
				next.base, next.snap = p, snapAt(p)
			}
			if rng.IntN(2) == 0 {
				cp.Counts = map[string]string{"totals": strconv.Itoa(step)}
			}
			want = "ok"
		case op < 55: // snapshot alone within the journal
			p := m.base + uint64(rng.IntN(int(m.seq-m.base)+1))
			cp = Checkpoint{Shard: shard, Epoch: m.epoch, Snapshot: snapAt(p), SnapshotSeq: p}
			if m.snap == nil || p > m.base || string(m.snap) == string(snapAt(p)) {
				next.base, next.snap = p, snapAt(p)
			}
			want = "ok"
		case op < 62: // catch-up: a snapshot beyond Redis, maybe with entries after it
			p := m.seq + 1 + uint64(rng.IntN(20))
			k := uint64(rng.IntN(3))
			cp = Checkpoint{Shard: shard, Epoch: m.epoch, Snapshot: snapAt(p), SnapshotSeq: p, Entries: entries(shard, p+1, p+k)}
			if k == 0 {
				cp.Entries = nil
			}
			next.seq, next.base, next.snap = p+k, p, snapAt(p)
			want = "ok"
		case op < 72: // retry of an already applied checkpoint of this activation
			if len(sent) == 0 {
				continue
			}
			cp = sent[rng.IntN(len(sent))]
			want = "ok"
			next.writer = m.writer
		case op < 80: // gap
			g := m.seq + 2 + uint64(rng.IntN(5))
			cp = Checkpoint{Shard: shard, Epoch: m.epoch, Entries: entries(shard, g, g+uint64(rng.IntN(3)))}
			want = "gap"
		case op < 86: // re-activation
			stale = append(stale, m.epoch)
			m.epoch = activate(t, c, shard)
			sent = nil
			continue
		case op < 92: // a stale activation writes
			if len(stale) == 0 {
				continue
			}
			cp = Checkpoint{Shard: shard, Epoch: stale[rng.IntN(len(stale))], Entries: entries(shard, m.seq+1, m.seq+1)}
			want = "fenced"
		default: // overlap: fine for the last writer (a retry), a rewind for any other
			if m.seq == 0 {
				continue
			}
			from := m.seq - uint64(rng.IntN(int(min(m.seq, 3))))
			cp = Checkpoint{Shard: shard, Epoch: m.epoch, Entries: entries(shard, from, m.seq+1)}
			if m.writer == m.epoch {
				want, next.seq = "ok", m.seq+1
			} else {
				want = "gap"
			}
		}
		err := c.Apply(ctx, cp)[0]
		if testing.Verbose() {
			t.Logf("step %d want %s: first %v n %d snap %d: %v", step, want, firstSeq(cp), len(cp.Entries), cp.SnapshotSeq, err)
		}
		switch want {
		case "ok":
			if err != nil {
				t.Fatalf("step %d: %+v: %v", step, cp, err)
			}
			if next.writer == m.writer && want == "ok" && len(sent) > 0 && cpEqual(cp, sent) {
				// a retry changes nothing, not even the writer
			} else {
				next.writer = m.epoch
				sent = append(sent, cp)
			}
			if cp.Counts != nil {
				at := m.seq
				if len(cp.Entries) > 0 {
					at = cp.Entries[len(cp.Entries)-1].Seq
				} else if cp.Snapshot != nil {
					at = cp.SnapshotSeq
				}
				if at >= m.countsAt {
					next.totals, next.countsAt = cp.Counts["totals"], at
				}
			}
			m = next
		case "gap":
			wantGap(t, err, m.seq)
		case "fenced":
			wantFenced(t, err)
		}
		checkState(t, load(t, c, shard), shard, m.seq, m.base, m.snap)
		if counts, at, err := c.Counts(ctx, shard); err != nil || counts["totals"] != m.totals || at != m.countsAt {
			t.Fatalf("step %d: counts %v at %d (%v), want totals %q at %d", step, counts, at, err, m.totals, m.countsAt)
		}
	}
	t.Logf("final seq %d snapshot %d, %d calls max per checkpoint part", m.seq, m.base, maxPer)
}

// cpEqual reports whether cp is one of sent (same entries and snapshot).
func cpEqual(cp Checkpoint, sent []Checkpoint) bool {
	for _, s := range sent {
		if len(s.Entries) == len(cp.Entries) && s.SnapshotSeq == cp.SnapshotSeq && string(s.Snapshot) == string(cp.Snapshot) &&
			(len(s.Entries) == 0 || s.Entries[0].Seq == cp.Entries[0].Seq) {
			return true
		}
	}
	return false
}

func firstSeq(cp Checkpoint) uint64 {
	if len(cp.Entries) == 0 {
		return 0
	}
	return cp.Entries[0].Seq
}
