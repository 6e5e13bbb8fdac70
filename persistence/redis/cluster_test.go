package redis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// TestCluster runs checkpoints of many shards through a three-master Redis
// Cluster: one pipelined Apply spans every node, each script's keys are in
// one slot, fencing, counts, NOSCRIPT recovery and the rate limiter work.
func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	c := openClient(t, Options{ClusterAddrs: cl.Addrs(), Logger: testLogger(t),
		HealthInterval: 50 * time.Millisecond, HealthMinBackoff: 20 * time.Millisecond})
	ctx := context.Background()

	const nShards = 24
	shards := make([]string, nShards)
	epochs := map[string]uint64{}
	slots := map[string]bool{}
	for i := range shards {
		shards[i] = fmt.Sprintf("show-%d/%d", i/4, i%4)
		k, err := keysOf(shards[i])
		if err != nil {
			t.Fatal(err)
		}
		slot := ""
		for _, key := range k.list() {
			r, err := cl.Nodes[0].Do("CLUSTER", "KEYSLOT", key)
			if err != nil {
				t.Fatal(err)
			}
			if slot != "" && r != slot {
				t.Fatalf("%s: key %s in slot %s, other keys in %s", shards[i], key, r, slot)
			}
			slot = r
		}
		slots[slot] = true
		epochs[shards[i]] = activate(t, c, shards[i])
	}
	if len(slots) < nShards/2 {
		t.Fatalf("%d shards use only %d slots", nShards, len(slots))
	}
	nodes := nodesHolding(t, cl, shards)
	if nodes < 3 {
		t.Fatalf("shards landed on %d of 3 masters; the test needs all", nodes)
	}

	apply := func(from, to uint64) {
		t.Helper()
		var cps []Checkpoint
		for _, s := range shards {
			cps = append(cps, Checkpoint{Shard: s, Epoch: epochs[s], Entries: entries(s, from, to),
				Counts: map[string]string{"totals": fmt.Sprint(to)}})
		}
		mustApply(t, c, cps...)
	}
	apply(1, 3)
	apply(4, 5)
	for _, node := range cl.Nodes {
		if _, err := node.Do("SCRIPT", "FLUSH"); err != nil {
			t.Fatal(err)
		}
	}
	apply(6, 8) // NOSCRIPT on every node: reload everywhere, retry
	for _, s := range shards {
		st := load(t, c, s)
		checkState(t, st, s, 8, 0, nil)
		if st.Epoch != epochs[s] {
			t.Fatalf("%s: epoch %d, want %d", s, st.Epoch, epochs[s])
		}
		if m, seq, err := c.Counts(ctx, s); err != nil || m["totals"] != "8" || seq != 8 {
			t.Fatalf("%s counts: %v %d %v", s, m, seq, err)
		}
	}
	// fencing across the cluster
	s := shards[5]
	old := epochs[s]
	epochs[s] = activate(t, c, s)
	wantFenced(t, c.Apply(ctx, Checkpoint{Shard: s, Epoch: old, Entries: entries(s, 9, 9)})[0])
	mustApply(t, c, Checkpoint{Shard: s, Epoch: epochs[s], Entries: entries(s, 9, 9), Snapshot: []byte("S9"), SnapshotSeq: 9})
	checkState(t, load(t, c, s), s, 9, 9, []byte("S9"))
	// state rows, in their buckets (the same slot): seeded, written, read
	s = shards[6]
	var rows []Row
	for i := 0; i < 500; i++ {
		rows = append(rows, Row{Key: fmt.Sprintf("h%04d", i), Value: []byte(fmt.Sprint(i))})
	}
	if err := c.Seed(ctx, Seed{Shard: s, Epoch: epochs[s], Seq: 8, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, c, Checkpoint{Shard: s, Epoch: epochs[s], Entries: entries(s, 9, 9), RowsSeq: 9,
		Rows: []Row{{"h0001", nil}, {"h0002", []byte("two")}}})
	st, err := c.LoadRows(ctx, s, []string{"h0003"}, func(string, []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range st.Rows {
		got[r.Key] = string(r.Value)
	}
	if _, ok := got["h0001"]; ok || len(got) != len(rows)-1 || len(st.Rows) != len(got) || got["h0002"] != "two" || got["h0003"] != "3" {
		t.Fatalf("%s rows: %d read, %d distinct (want %d), h0002 %q", s, len(st.Rows), len(got), len(rows)-1, got["h0002"])
	}
	// the rate limiter is one key: any slot
	granted := 0
	for i := 0; i < 5; i++ {
		if ok, _, err := c.Allow(ctx, "cluster-user", 1, 3, 1000); err != nil {
			t.Fatal(err)
		} else if ok {
			granted++
		}
	}
	if granted != 3 {
		t.Fatalf("granted %d of burst 3", granted)
	}
	if !c.Healthy() {
		t.Fatal("cluster client unhealthy")
	}
}

// nodesHolding counts the masters that own at least one shard's slot.
func nodesHolding(t *testing.T, cl *redistest.Cluster, shards []string) int {
	t.Helper()
	used := 0
	for _, n := range cl.Nodes {
		for _, s := range shards {
			k, _ := keysOf(s)
			// a key this node owns answers; others answer -MOVED
			r, err := n.Do("EXISTS", k.meta)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r, "-MOVED") {
				used++
				break
			}
		}
	}
	return used
}
