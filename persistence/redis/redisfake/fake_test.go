package redisfake_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis"
	"github.com/boxoffice/boxoffice/persistence/redis/redisfake"
	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// store is what both Redis implementations offer.
type store interface {
	Activate(ctx context.Context, show string) (uint64, error)
	Load(ctx context.Context, show string) (redis.State, error)
	LoadMeta(ctx context.Context, show string) (redis.State, error)
	LoadLog(ctx context.Context, show string) (redis.State, error)
	Seed(ctx context.Context, s redis.Seed) error
	Apply(ctx context.Context, cps ...redis.Checkpoint) []error
	Counts(ctx context.Context, show string) (map[string]string, uint64, error)
	Archived(ctx context.Context, show, id string) ([]byte, bool, error)
	ActivateLease(ctx context.Context, show string, prev uint64, ttl time.Duration) (uint64, time.Duration, error)
	RenewLease(ctx context.Context, show string, epoch uint64, ttl time.Duration) error
	ReleaseLease(ctx context.Context, show string, epoch uint64) (bool, error)
}

// side is one implementation and the epochs it handed out, per show, in
// order (nonces differ between the two; the i-th epochs correspond).
type side struct {
	name   string
	s      store
	epochs map[string][]uint64
}

func (sd *side) epoch(show string, i int) uint64 {
	es := sd.epochs[show]
	if i < 0 || i >= len(es) {
		return 1<<20 | 77 // never handed out
	}
	return es[i]
}

// TestMatchesRealRedis runs random sequences of every call (activations
// with and without leases, renewals and releases of current and stale
// epochs, checkpoints that append, retry, skip ahead, carry snapshots older
// and newer than the stored seq, state rows at valid and invalid RowsSeq,
// counts and archives, seeds of the whole state, from current and stale
// epochs; Load, LoadMeta and LoadLog) against a real redis-server and the
// fake, and compares each answer (the error's kind and fields, epochs'
// counters, lease waits, the rows) and then the stored state. Re-run a failure with REDISFAKE_SEED=<seed>.
func TestMatchesRealRedis(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("REDISFAKE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (REDISFAKE_SEED=%d to re-run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	srv := redistest.StartServer(t)
	ctx := context.Background()
	real, err := redis.Open(ctx, redis.Options{Addr: srv.Addr(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	sides := []*side{{name: "redis-server", s: real, epochs: map[string][]uint64{}},
		{name: "fake", s: redisfake.NewServer().Client(), epochs: map[string][]uint64{}}}
	shows := []string{fmt.Sprintf("diff%d-a", seed%1000), fmt.Sprintf("diff%d-b", seed%1000)}
	const steps = 1500
	reached := map[string]int{} // the state-row cases this run reached
	for step := 0; step < steps; step++ {
		show := shows[rng.IntN(len(shows))]
		op := rng.IntN(100)
		n := len(sides[1].epochs[show])
		ei := n - 1 // usually the current epoch, sometimes a stale or unknown one
		if r := rng.IntN(10); r == 0 && n > 1 {
			ei = rng.IntN(n - 1)
		} else if r == 1 {
			ei = n + 3
		}
		var outs [2]string
		switch {
		case op < 6: // activate
			for i, sd := range sides {
				e, err := sd.s.Activate(ctx, show)
				sd.epochs[show] = append(sd.epochs[show], e)
				outs[i] = fmt.Sprintf("activate ctr %d %s", e>>20, kind(err))
			}
		case op < 12: // activate with a lease
			ttl := []time.Duration{40 * time.Millisecond, 5 * time.Second}[rng.IntN(2)]
			pi := ei
			if rng.IntN(2) == 0 {
				pi = -1 // no previous epoch
			}
			for i, sd := range sides {
				prev := uint64(0)
				if pi >= 0 {
					prev = sd.epoch(show, pi)
				}
				e, wait, err := sd.s.ActivateLease(ctx, show, prev, ttl)
				sd.epochs[show] = append(sd.epochs[show], e)
				outs[i] = fmt.Sprintf("activate_lease ctr %d waits %v %s", e>>20, wait > 0, kind(err))
			}
		case op < 18:
			ttl := []time.Duration{40 * time.Millisecond, 5 * time.Second}[rng.IntN(2)]
			for i, sd := range sides {
				outs[i] = "renew " + kind(sd.s.RenewLease(ctx, show, sd.epoch(show, ei), ttl))
			}
		case op < 21:
			for i, sd := range sides {
				ok, err := sd.s.ReleaseLease(ctx, show, sd.epoch(show, ei))
				outs[i] = fmt.Sprintf("release %v %s", ok, kind(err))
			}
		case op < 24: // let short leases run out
			time.Sleep(60 * time.Millisecond)
			continue
		case op < 30:
			for i, sd := range sides {
				st, err := sd.s.Load(ctx, show)
				outs[i] = "load " + describe(st) + " " + kind(err)
			}
		case op < 33:
			for i, sd := range sides {
				m, seq, err := sd.s.Counts(ctx, show)
				outs[i] = fmt.Sprintf("counts %v @%d %s", sortedMap(m), seq, kind(err))
			}
		case op < 36:
			id := "o" + strconv.Itoa(rng.IntN(8))
			for i, sd := range sides {
				v, ok, err := sd.s.Archived(ctx, show, id)
				outs[i] = fmt.Sprintf("archived %q %v %s", v, ok, kind(err))
			}
		case op < 39:
			for i, sd := range sides {
				st, err := sd.s.LoadMeta(ctx, show)
				outs[i] = "load_meta " + describe(st) + " " + kind(err)
			}
		case op < 42:
			for i, sd := range sides {
				st, err := sd.s.LoadLog(ctx, show)
				outs[i] = "load_log " + describe(st) + " " + kind(err)
			}
		case op < 47: // a seed of the whole state
			st, err := sides[1].s.Load(ctx, show)
			if err != nil {
				t.Fatal(err)
			}
			sd0 := randomSeed(rng, show, st.Seq, step)
			for i, sd := range sides {
				seed := sd0
				seed.Epoch = sd.epoch(show, ei)
				outs[i] = fmt.Sprintf("seed %d rows at %d %s", len(seed.Rows), seed.Seq, kind(sd.s.Seed(ctx, seed)))
			}
			reached["seed "+strings.Fields(outs[0])[5]]++
		default: // a checkpoint
			st, err := sides[1].s.Load(ctx, show)
			if err != nil {
				t.Fatal(err)
			}
			cp := randomCheckpoint(rng, show, st.Seq, step)
			for i, sd := range sides {
				c := cp
				c.Epoch = sd.epoch(show, ei)
				outs[i] = "apply " + kind(sd.s.Apply(ctx, c)[0])
			}
			if cp.RowsSeq > 0 {
				reached["rows "+strings.Fields(outs[0])[1]]++
			}
			outs[0] = fmt.Sprintf("%s (entries from %d, %d; snapshot at %d)", outs[0], first(cp), len(cp.Entries), cp.SnapshotSeq)
			outs[1] = fmt.Sprintf("%s (entries from %d, %d; snapshot at %d)", outs[1], first(cp), len(cp.Entries), cp.SnapshotSeq)
		}
		if outs[0] != outs[1] {
			t.Fatalf("step %d on %s (epoch #%d):\n  redis-server: %s\n  fake:         %s", step, show, ei, outs[0], outs[1])
		}
		if strings.HasPrefix(outs[0], "load") && !strings.Contains(outs[0], "rows {}") {
			reached["rows loaded"]++
		}
	}
	t.Logf("state-row cases reached: %v", reached)
	for _, c := range []string{"seed ok", "seed fenced(stored", "rows ok", "rows bad", "rows loaded"} {
		if reached[c] == 0 {
			t.Errorf("seed %d: no step reached %q", seed, c)
		}
	}
	for _, show := range shows {
		var states [2]string
		for i, sd := range sides {
			st, err := sd.s.Load(ctx, show)
			m, seq, err2 := sd.s.Counts(ctx, show)
			states[i] = fmt.Sprintf("%s %v counts %v @%d %v", describe(st), err, sortedMap(m), seq, err2)
		}
		if states[0] != states[1] {
			t.Fatalf("final state of %s:\n  redis-server: %s\n  fake:         %s", show, states[0], states[1])
		}
	}
}

func first(cp redis.Checkpoint) uint64 {
	if len(cp.Entries) == 0 {
		return 0
	}
	return cp.Entries[0].Seq
}

// randomCheckpoint continues seq, retries, or skips ahead, with maybe a
// snapshot (older, inside, or newer than seq), counts and an archive.
func randomCheckpoint(rng *rand.Rand, show string, seq uint64, step int) redis.Checkpoint {
	cp := redis.Checkpoint{Shard: show}
	from := seq + 1
	switch r := rng.IntN(10); {
	case r == 0 && seq > 2: // a retry of entries already stored
		from = seq - uint64(rng.IntN(2))
	case r == 1: // a gap
		from = seq + 2 + uint64(rng.IntN(3))
	}
	n := rng.IntN(5)
	for s := from; s < from+uint64(n); s++ {
		cp.Entries = append(cp.Entries, redis.Entry{Seq: s, Data: fmt.Appendf(nil, "%s#%d", show, s)})
	}
	if rng.IntN(5) == 0 {
		top := seq + uint64(n) + uint64(rng.IntN(4))
		if top > 0 {
			cp.SnapshotSeq = 1 + uint64(rng.IntN(int(top)))
			cp.Snapshot = fmt.Appendf(nil, "S%d@%d", cp.SnapshotSeq, step)
		}
	}
	if rng.IntN(3) == 0 {
		cp.Counts = map[string]string{"totals": strconv.Itoa(step)}
		if rng.IntN(2) == 0 {
			cp.Counts["s"+strconv.Itoa(rng.IntN(3))] = strconv.Itoa(step)
		}
	}
	if rng.IntN(4) == 0 {
		cp.Archive = map[string][]byte{"o" + strconv.Itoa(rng.IntN(8)): fmt.Appendf(nil, "A%d", step)}
	}
	if rng.IntN(3) == 0 {
		cp.LeaseTTL = 5 * time.Second
	}
	if rng.IntN(2) == 0 {
		cp.EventsSeq = uint64(rng.IntN(int(seq) + 2))
	}
	if rng.IntN(3) == 0 { // state rows, usually at a valid seq, sometimes with a snapshot (refused)
		top := seq + uint64(n)
		cp.RowsSeq = uint64(rng.IntN(int(top) + 3))
		if cp.RowsSeq == 0 {
			cp.RowsSeq = 1
		}
		cp.Rows = randomRows(rng, step, true)
		if cp.Snapshot != nil && rng.IntN(4) != 0 {
			cp.Snapshot, cp.SnapshotSeq = nil, 0
		}
	}
	return cp
}

// randomRows changes rows of a small key set: new values, and deletes
// (nil) when deletes.
func randomRows(rng *rand.Rand, step int, deletes bool) []redis.Row {
	var rows []redis.Row
	for k := range 12 {
		if rng.IntN(3) != 0 {
			continue
		}
		r := redis.Row{Key: "h" + strconv.Itoa(k), Value: fmt.Appendf(nil, "R%d.%d", k, step)}
		if deletes && rng.IntN(3) == 0 {
			r.Value = nil
		}
		rows = append(rows, r)
	}
	return rows
}

// randomSeed is a whole state at a seq around the stored one (or zero).
func randomSeed(rng *rand.Rand, show string, seq uint64, step int) redis.Seed {
	sd := redis.Seed{Shard: show, Seq: seq + uint64(rng.IntN(4)), Rows: randomRows(rng, step, rng.IntN(10) == 0)}
	if rng.IntN(6) == 0 && seq > 0 {
		sd.Seq = seq - 1
	}
	if rng.IntN(3) == 0 {
		sd.Counts = map[string]string{"totals": "seed" + strconv.Itoa(step)}
	}
	if rng.IntN(3) == 0 {
		sd.LeaseTTL = 5 * time.Second
	}
	if rng.IntN(2) == 0 {
		sd.EventsSeq = uint64(rng.IntN(int(sd.Seq) + 2))
	}
	return sd
}

// kind describes an error by its kind and the fields both sides share.
func kind(err error) string {
	var fe *redis.FencedError
	var ge *redis.GapError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &fe):
		return fmt.Sprintf("fenced(stored ctr %d)", fe.Stored>>20)
	case errors.As(err, &ge):
		return fmt.Sprintf("gap(have %d snap %d first %d writer ctr %d)", ge.Have, ge.SnapshotSeq, ge.First, ge.LastWriter>>20)
	case errors.Is(err, redis.ErrBadCheckpoint):
		return "bad checkpoint"
	case errors.Is(err, redis.ErrWholeSnapshot):
		return "whole snapshot"
	}
	return "error " + err.Error()
}

func describe(st redis.State) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "ctr %d writer ctr %d events %d seq %d snap %d %q whole %v [", st.Epoch>>20, st.Writer>>20, st.EventsSeq,
		st.Seq, st.SnapshotSeq, st.Snapshot, st.HasSnapshot)
	for _, e := range st.Entries {
		fmt.Fprintf(&b, "%d:%s ", e.Seq, e.Data)
	}
	b.WriteString("] rows {")
	rows := slices.Clone(st.Rows) // HSCAN returns them in no order
	slices.SortFunc(rows, func(a, b redis.Row) int { return strings.Compare(a.Key, b.Key) })
	for _, r := range rows {
		fmt.Fprintf(&b, "%s=%s ", r.Key, r.Value)
	}
	b.WriteString("}")
	return b.String()
}

func sortedMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := reflect.ValueOf(m).MapKeys()
	ss := make([]string, len(keys))
	for i, k := range keys {
		ss[i] = k.String()
	}
	for i := range ss { // insertion sort: tiny maps
		for j := i; j > 0 && ss[j] < ss[j-1]; j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
	var b bytes.Buffer
	for _, k := range ss {
		fmt.Fprintf(&b, "%s=%s ", k, m[k])
	}
	return b.String()
}

// The fake's own faults: LoseWrites takes back whole writes (the epoch, the
// log, the archive), a lost reply applied, a cut client applies nothing, and
// with probing a failed call leaves the client unhealthy until a probe.
func TestFaults(t *testing.T) {
	ctx := context.Background()
	srv := redisfake.NewServer()
	c := srv.Client()
	e1, _ := c.Activate(ctx, "x")
	ent := func(s uint64) redis.Entry { return redis.Entry{Seq: s, Data: []byte{byte(s)}} }
	if err := c.Apply(ctx, redis.Checkpoint{Shard: "x", Epoch: e1, Entries: []redis.Entry{ent(1), ent(2)}})[0]; err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(ctx, redis.Checkpoint{Shard: "x", Epoch: e1, Entries: []redis.Entry{ent(3)},
		Archive: map[string][]byte{"o": []byte("v")}})[0]; err != nil {
		t.Fatal(err)
	}
	e2, _ := c.Activate(ctx, "x")
	if got := srv.LoseWrites(2); got != 2 { // the second activation and the last checkpoint
		t.Fatalf("lost %d writes", got)
	}
	st, _ := c.Load(ctx, "x")
	if st.Seq != 2 || st.Epoch != e1 {
		t.Fatalf("after losing 2 writes: seq %d epoch %d, want 2 and %d (not %d)", st.Seq, st.Epoch, e1, e2)
	}
	if _, ok, _ := c.Archived(ctx, "x", "o"); ok {
		t.Fatal("the archive of a lost write is still there")
	}
	c.LoseReplies(1)
	if err := c.Apply(ctx, redis.Checkpoint{Shard: "x", Epoch: e1, Entries: []redis.Entry{ent(3)}})[0]; !errors.Is(err, redisfake.ErrTimeout) {
		t.Fatalf("lost reply: %v", err)
	}
	if srv.Seq("x") != 3 {
		t.Fatal("a call whose reply was lost did not apply")
	}
	c.SetProbing(true)
	c.SetDown(true)
	if err := c.Apply(ctx, redis.Checkpoint{Shard: "x", Epoch: e1, Entries: []redis.Entry{ent(4)}})[0]; !errors.Is(err, redisfake.ErrTimeout) {
		t.Fatalf("cut off: %v", err)
	}
	if srv.Seq("x") != 3 || c.Healthy() {
		t.Fatalf("cut off: seq %d healthy %v", srv.Seq("x"), c.Healthy())
	}
	c.SetDown(false)
	if err := c.Apply(ctx, redis.Checkpoint{Shard: "x", Epoch: e1, Entries: []redis.Entry{ent(4)}})[0]; !errors.Is(err, redis.ErrUnavailable) {
		t.Fatalf("unhealthy before a probe: %v", err)
	}
	if !c.Probe() {
		t.Fatal("probe failed")
	}
	if err := c.Apply(ctx, redis.Checkpoint{Shard: "x", Epoch: e1, Entries: []redis.Entry{ent(4)}})[0]; err != nil {
		t.Fatal(err)
	}
}
