package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// TestSplitBrain: two nodes with --redis in one cluster. Node A runs in its
// own network namespace with two links to the host: a client link (the
// test's HTTP clients reach A through it) and a backend link (A's actor
// traffic and membership with node B, and A's Redis connections). Node B and
// Redis run on the host. For 15 s an nft ruleset inside A's namespace drops
// every packet on the backend link, so A loses Redis and B (connections hang:
// nothing is refused) but keeps its clients, while clients book specific
// seats of small shows through both nodes, retrying 503s.
//
// Required after healing: no seat in two acknowledged orders, every
// acknowledged order (and hold) readable through both nodes with its seats,
// and the counters add up. The test reports how many orders each node
// acknowledged during the cut and whether any collided.
func TestSplitBrain(t *testing.T) {
	if testing.Short() {
		t.Skip("two nodes, network namespace, 15 s partition")
	}
	requireRoot(t)
	requireTools(t, "ip", "nft")
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))

	// the namespace and its two links
	id := fmt.Sprintf("%d%d", os.Getpid()%1000, rng.Intn(100))
	ns, vc0, vc1, vb0, vb1 := "bosplit"+id, "boc0"+id, "boc1"+id, "bob0"+id, "bob1"+id
	sub := 10 + rng.Intn(240)
	clientHost, backHost := fmt.Sprintf("10.231.%d", sub), fmt.Sprintf("10.232.%d", sub)
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { // registered first: runs after the nodes are killed
		runQuiet("ip", "link", "del", vc0)
		runQuiet("ip", "link", "del", vb0)
		runQuiet("ip", "netns", "del", ns)
	})
	for _, l := range []struct{ root, inner, host string }{{vc0, vc1, clientHost}, {vb0, vb1, backHost}} {
		run(t, "ip", "link", "add", l.root, "type", "veth", "peer", "name", l.inner)
		run(t, "ip", "link", "set", l.inner, "netns", ns)
		run(t, "ip", "addr", "add", l.host+".1/24", "dev", l.root)
		run(t, "ip", "link", "set", l.root, "up")
		run(t, "ip", "netns", "exec", ns, "ip", "addr", "add", l.host+".2/24", "dev", l.inner)
		run(t, "ip", "netns", "exec", ns, "ip", "link", "set", l.inner, "up")
	}
	run(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
	nft := func(script string) {
		t.Helper()
		cmd := fmt.Sprintf("ip netns exec %s nft -f - <<'EOF'\n%s\nEOF", ns, script)
		if out, err := runQuiet("bash", "-c", cmd); err != nil {
			t.Fatalf("nft: %v\n%s", err, out)
		}
	}

	// Redis on the host, reachable from A through the backend link
	rs := redistest.StartServer(t, redistest.WithArgs("--bind", "127.0.0.1", backHost+".1", "--protected-mode", "no"))
	redisPort := rs.Addr()[len("127.0.0.1:"):]
	hA, hB := freePort(t), freePort(t)
	hosts := fmt.Sprintf("%s.2:%d,%s.1:%d", backHost, hA, backHost, hB)
	a := startServerIn(t, ns, fmt.Sprintf("%s.2:%d", clientHost, freePort(t)), t.TempDir(),
		"--cluster-host", backHost+".2", "--cluster-port", strconv.Itoa(freePort(t)), "--health-port", strconv.Itoa(hA),
		"--cluster-hosts", hosts, "--redis", backHost+".1:"+redisPort)
	b := startServerIn(t, "", freeAddr(t), t.TempDir(),
		"--cluster-host", backHost+".1", "--cluster-port", strconv.Itoa(freePort(t)), "--health-port", strconv.Itoa(hB),
		"--cluster-hosts", hosts, "--redis", rs.Addr())
	converge := func(what string) time.Duration {
		t.Helper()
		start := time.Now()
		deadline := start.Add(40 * time.Second)
		for ok := 0; ok < 3; {
			if clusterSees(a.base, b.base) && clusterSees(b.base, a.base) {
				ok++
			} else {
				ok = 0
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the nodes do not see each other's shows after 40 s: %s", what, lastProbe)
			}
			time.Sleep(100 * time.Millisecond)
		}
		return time.Since(start)
	}
	t.Logf("cluster converged in %v", converge("start").Round(time.Millisecond))

	const sections, rows, perRow = 1, 3, 20
	shows := []string{"sb0", "sb1", "sb2", "sb3"}
	for i, sh := range shows {
		createShowSized(t, []string{a.base, b.base}[i%2], sh, sections, rows, perRow)
	}
	for _, sh := range shows { // placed, and readable through both
		for _, base := range []string{a.base, b.base} {
			if code, err := getRetry(base+"/v1/shows/"+sh, nil); err != nil || code != 200 {
				t.Fatalf("show %s through %s: %d %v", sh, base, code, err)
			}
		}
	}
	t.Logf("shards active before the cut: A %d, B %d", shardsActive(a.base), shardsActive(b.base))

	l := &ledger{}
	bk := &booker{bases: []string{a.base, b.base}, shows: shows, seats: seatNames(sections, rows, perRow),
		perHold: 2, retry503: 20, pause: 100 * time.Millisecond, maxOps: 400, l: l}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(g int) { defer wg.Done(); bk.run(ctx, g, seed+int64(g)) }(g)
	}
	time.Sleep(500 * time.Millisecond)
	nft(fmt.Sprintf(`table inet bocut {
  chain in { type filter hook input priority 0; iifname %q drop; }
  chain out { type filter hook output priority 0; oifname %q drop; }
}`, vb1, vb1))
	tCut := time.Now()
	t.Logf("backend link of A cut at %s", tCut.Format("15:04:05.000"))
	time.Sleep(15 * time.Second)
	nft("delete table inet bocut")
	tHeal := time.Now()
	t.Logf("healed at %s (+%.2fs)", tHeal.Format("15:04:05.000"), tHeal.Sub(tCut).Seconds())
	time.Sleep(3 * time.Second)
	cancel()
	wg.Wait()
	t.Logf("cluster converged again %v after the clients stopped", converge("after healing").Round(time.Millisecond))

	// what each node acknowledged during the cut, and collisions among them
	holds, orders := l.acked()
	perNode := [2]int{}
	seatNodes := map[string]map[int]string{}
	for _, o := range orders {
		if o.End.Before(tCut) || o.End.After(tHeal) {
			continue
		}
		perNode[o.Node]++
		for _, s := range o.Seats {
			k := o.Show + "/" + s
			if seatNodes[k] == nil {
				seatNodes[k] = map[int]string{}
			}
			seatNodes[k][o.Node] = o.ID
		}
	}
	collided := 0
	for _, nodes := range seatNodes {
		if len(nodes) > 1 {
			collided++
		}
	}
	ops := writesOf(l.snapshot())
	var cutA, cutB []op
	for _, o := range ops {
		if o.Start.After(tCut) && o.Start.Before(tHeal) {
			if o.Node == 0 {
				cutA = append(cutA, o)
			} else {
				cutB = append(cutB, o)
			}
		}
	}
	t.Logf("during the cut: node A acknowledged %d orders (attempts %s), node B %d (attempts %s); %d seats ordered through both",
		perNode[0], summarize(cutA), perNode[1], summarize(cutB), collided)
	t.Logf("%d holds and %d orders acknowledged in all", len(holds), len(orders))
	if collided > 0 {
		t.Errorf("%d seats were acknowledged in orders through both sides of the partition", collided)
	}
	verifyAcked(t, "after healing", []string{a.base, b.base}, l, shows)
	for _, sh := range shows { // one show, one truth: both nodes answer the same counters
		var da, db showDoc
		getRetry(a.base+"/v1/shows/"+sh, &da)
		getRetry(b.base+"/v1/shows/"+sh, &db)
		if da.Totals != db.Totals {
			t.Errorf("show %s: node A says %+v, node B says %+v", sh, da.Totals, db.Totals)
		}
	}
	a.killHard()
	b.killHard()
}
