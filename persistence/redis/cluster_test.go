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
