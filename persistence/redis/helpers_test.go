package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// testLogger writes the client's logs to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// openServer starts a real redis-server and opens a client on it.
func openServer(t testing.TB, mod func(*Options)) (*redistest.Server, *Client) {
	t.Helper()
	srv := redistest.StartServer(t)
	opt := Options{Addr: srv.Addr(), Logger: testLogger(t),
		HealthInterval: 50 * time.Millisecond, HealthMinBackoff: 20 * time.Millisecond, HealthMaxBackoff: 200 * time.Millisecond}
	if mod != nil {
		mod(&opt)
	}
	return srv, openClient(t, opt)
}

func openClient(t testing.TB, opt Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// entries returns consecutive entries from..to whose data names the shard
// and seq, so that a mixed-up entry is visible.
func entries(shard string, from, to uint64) []Entry {
	var out []Entry
	for s := from; s <= to; s++ {
		out = append(out, Entry{Seq: s, Data: entryData(shard, s)})
	}
	return out
}

func entryData(shard string, seq uint64) []byte { return fmt.Appendf(nil, "%s#%d", shard, seq) }

func activate(t testing.TB, c *Client, shard string) uint64 {
	t.Helper()
	e, err := c.Activate(context.Background(), shard)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mustApply applies checkpoints and fails on any error.
func mustApply(t testing.TB, c *Client, cps ...Checkpoint) {
	t.Helper()
	for i, err := range c.Apply(context.Background(), cps...) {
		if err != nil {
			t.Fatalf("checkpoint %d (%s): %v", i, cps[i].Shard, err)
		}
	}
}

func load(t testing.TB, c *Client, shard string) State {
	t.Helper()
	st, err := c.Load(context.Background(), shard)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// checkState compares a loaded state with the expected snapshot and the
// entries derived by entryData.
func checkState(t testing.TB, st State, shard string, seq, snapSeq uint64, snap []byte) {
	t.Helper()
	if st.Seq != seq || st.SnapshotSeq != snapSeq || !bytes.Equal(st.Snapshot, snap) || (snap == nil) != (st.Snapshot == nil) {
		t.Fatalf("%s: got seq %d snapshot %d %q, want seq %d snapshot %d %q", shard, st.Seq, st.SnapshotSeq, st.Snapshot, seq, snapSeq, snap)
	}
	if uint64(len(st.Entries)) != seq-snapSeq {
		t.Fatalf("%s: %d entries, want %d", shard, len(st.Entries), seq-snapSeq)
	}
	for i, e := range st.Entries {
		want := snapSeq + 1 + uint64(i)
		if e.Seq != want || !bytes.Equal(e.Data, entryData(shard, want)) {
			t.Fatalf("%s: entry %d is seq %d %q, want seq %d %q", shard, i, e.Seq, e.Data, want, entryData(shard, want))
		}
	}
}

func wantGap(t testing.TB, err error, have uint64) {
	t.Helper()
	var g *GapError
	if !errors.As(err, &g) || !errors.Is(err, ErrGap) || g.Have != have {
		t.Fatalf("got %v, want a GapError with Have %d", err, have)
	}
}

func wantFenced(t testing.TB, err error) {
	t.Helper()
	var f *FencedError
	if !errors.As(err, &f) || !errors.Is(err, ErrFenced) {
		t.Fatalf("got %v, want ErrFenced", err)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
