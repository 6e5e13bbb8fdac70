package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// cluster3 is a cluster of boxoffice processes on loopback with one Redis;
// hosts names one more membership port than nodes started, for a join.
type cluster3 struct {
	t     testing.TB
	redis string
	hosts string
	ports []int // membership ports
	nodes []*proc
}

func newCluster(t testing.TB, started, slots int) *cluster3 {
	c := &cluster3{t: t, redis: redistest.StartServer(t).Addr()}
	var hs []string
	for i := 0; i < slots; i++ {
		p := freePort(t)
		c.ports = append(c.ports, p)
		hs = append(hs, fmt.Sprintf("127.0.0.1:%d", p))
	}
	c.hosts = strings.Join(hs, ",")
	c.nodes = make([]*proc, slots)
	for i := 0; i < started; i++ {
		c.start(i)
	}
	return c
}

func (c *cluster3) start(i int) *proc {
	c.nodes[i] = startServerIn(c.t, "", freeAddr(c.t), c.t.TempDir(), "--cluster-port", strconv.Itoa(freePort(c.t)),
		"--health-port", strconv.Itoa(c.ports[i]), "--cluster-hosts", c.hosts, "--redis", c.redis)
	return c.nodes[i]
}

// converge waits until shows created through each live node are readable
// through every other, three times in a row.
func (c *cluster3) converge(what string) time.Duration {
	c.t.Helper()
	start := time.Now()
	for ok := 0; ok < 3; {
		all := true
		for _, a := range c.live() {
			for _, b := range c.live() {
				if a != b && !sees(a, b) {
					all = false
				}
			}
		}
		if all {
			ok++
		} else {
			ok = 0
		}
		if time.Since(start) > 40*time.Second {
			c.t.Fatalf("%s: the nodes do not see each other's shows after 40 s: %s", what, lastProbe)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// sees is clusterSees with a pause between the create and the read: a node
// learns of a show created elsewhere at its next registry refresh (50 ms).
func sees(a, b string) bool {
	probeSeq++
	id := fmt.Sprintf("probe%d", probeSeq)
	code, _ := callC(fastClient, "POST", a+"/v1/shows", fmt.Sprintf(`{"id":%q,"tiers":[{"id":"s","price":1}],"sections":[{"id":"a","tier":"s","capacity":1}]}`, id),
		nil, "Authorization", "Bearer "+adminToken)
	if code != 201 {
		lastProbe = fmt.Sprintf("create via %s: %d", a, code)
		return false
	}
	time.Sleep(60 * time.Millisecond)
	code, err := callC(fastClient, "GET", b+"/v1/shows/"+id, "", nil)
	if code != 200 {
		lastProbe = fmt.Sprintf("read via %s: %d %v", b, code, err)
	}
	return code == 200
}

func (c *cluster3) live() []string {
	var out []string
	for _, n := range c.nodes {
		if n != nil && !n.exited() {
			out = append(out, n.base)
		}
	}
	return out
}

// failures counts the attempts in [from, to) that failed (transport error
// or 5xx), per node index.
func failures(ops []op, from, to time.Time) (n int, total int, sample []string) {
	for _, o := range ops {
		if o.Start.Before(from) || !o.Start.Before(to) {
			continue
		}
		total++
		if o.Err != nil || o.Code >= 500 {
			n++
			if len(sample) < 5 {
				sample = append(sample, fmt.Sprintf("%s %s via node %d at %s: %d %v", o.Kind, o.Show, o.Node,
					o.Start.Format("15:04:05.000"), o.Code, o.Err))
			}
		}
	}
	return
}

// firstOrders books, through each base and for each show, one order (a
// hold of 1 best-available seat, then its order) retrying every 503 and
// transport error, and returns how long after t0 the slowest one was
// acknowledged, and the longest single request.
func firstOrders(t *testing.T, bases, shows []string, t0 time.Time, l *ledger) (slowest, longest time.Duration, slowShow string) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for ni, base := range bases {
		for _, sh := range shows {
			wg.Add(1)
			go func(ni int, base, sh string) {
				defer wg.Done()
				deadline := time.Now().Add(20 * time.Second)
				for i := 0; time.Now().Before(deadline); i++ {
					var h holdDoc
					s := time.Now()
					code, err := callC(fastClient, "POST", base+"/v1/shows/"+sh+"/holds",
						fmt.Sprintf(`{"user":"probe%d-%d","section":"s0","quantity":1}`, ni, i), &h)
					d := time.Since(s)
					l.add(op{Kind: "hold", Node: ni, Client: -1, Show: sh, Start: s, End: time.Now(), Code: code, Err: err, ID: h.ID, Seats: h.Seats})
					if code == 201 {
						var od orderDoc
						s2 := time.Now()
						code, err = callC(fastClient, "POST", base+"/v1/orders", fmt.Sprintf(`{"show":%q,"hold":%q}`, sh, h.ID), &od,
							"Idempotency-Key", "p-"+h.ID)
						d = max(d, time.Since(s2))
						l.add(op{Kind: "order", Node: ni, Client: -1, Show: sh, HoldID: h.ID, Start: s2, End: time.Now(), Code: code, Err: err, ID: od.ID, Seats: od.Seats})
					}
					mu.Lock()
					longest = max(longest, d)
					if code == 201 {
						if took := time.Since(t0); took > slowest {
							slowest, slowShow = took, fmt.Sprintf("%s via %s", sh, base)
						}
						mu.Unlock()
						return
					}
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
				}
				t.Errorf("show %s: no order acknowledged through %s in 20 s", sh, base)
			}(ni, base, sh)
		}
	}
	wg.Wait()
	return
}

// TestThreeNodeCluster: three nodes with --redis on loopback, 12 shows,
// clients booking through all three. (1) SIGKILL of one node under load:
// every show takes an acknowledged order through each survivor within 3 s
// of the kill; nothing acknowledged is lost, no seat is in two orders, the
// counters add up. (2) SIGTERM of a second node under load: 0 failed
// requests through the survivor. (3) A new node joins under load: 0 failed
// requests.
func TestThreeNodeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	c := newCluster(t, 3, 4)
	t.Logf("3 nodes converged in %v", c.converge("start").Round(time.Millisecond))
	const rows, perRow = 10, 30
	var shows []string
	for i := 0; i < 12; i++ {
		shows = append(shows, fmt.Sprintf("k%d", i))
		createShowSized(t, c.nodes[i%3].base, shows[i], 1, rows, perRow)
	}
	for _, sh := range shows {
		for _, b := range c.live() {
			if code, err := getRetry(b+"/v1/shows/"+sh, nil); code != 200 {
				t.Fatalf("show %s via %s: %d %v", sh, b, code, err)
			}
		}
	}
	t.Logf("shards active: %d %d %d", shardsActive(c.nodes[0].base), shardsActive(c.nodes[1].base), shardsActive(c.nodes[2].base))
	l := &ledger{}
	load := func(ctx context.Context, bases []string, retry503 int, gseed int64) *sync.WaitGroup {
		bk := &booker{bases: bases, shows: shows, seats: seatNames(1, rows, perRow), perHold: 2, retry503: retry503,
			pause: 20 * time.Millisecond, maxOps: 1 << 20, l: l}
		var wg sync.WaitGroup
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func(g int) { defer wg.Done(); bk.run(ctx, g, gseed+int64(g)) }(g)
		}
		return &wg
	}

	// (1) SIGKILL of node 2 under load through all three
	ctx, cancel := context.WithCancel(context.Background())
	wg := load(ctx, []string{c.nodes[0].base, c.nodes[1].base, c.nodes[2].base}, 20, seed)
	time.Sleep(2 * time.Second)
	c.nodes[2].killHard()
	tKill := time.Now()
	slowest, longest, which := firstOrders(t, []string{c.nodes[0].base, c.nodes[1].base}, shows, tKill, l)
	t.Logf("FAILOVER after SIGKILL: every show took an order through both survivors within %v (slowest: %s); longest single request %v",
		slowest.Round(time.Millisecond), which, longest.Round(time.Millisecond))
	if slowest > 3*time.Second {
		t.Errorf("failover took %v, want <= 3 s", slowest)
	}
	if longest > max(slowest, 3*time.Second) {
		t.Errorf("a request hung %v, longer than the failover", longest)
	}
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	verifyAcked(t, "after SIGKILL", c.live(), l, shows)

	// (2) SIGTERM of node 1 under load through node 0
	ctx, cancel = context.WithCancel(context.Background())
	wg = load(ctx, []string{c.nodes[0].base}, 1, seed+100)
	time.Sleep(1500 * time.Millisecond)
	tTerm := time.Now()
	_ = c.nodes[1].cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.nodes[1].done:
	case <-time.After(20 * time.Second):
		t.Fatal("SIGTERM did not stop node 1 in 20 s")
	}
	t.Logf("node 1 left in %v", time.Since(tTerm).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	n, total, sample := failures(l.snapshot(), tTerm, time.Now())
	t.Logf("GRACEFUL LEAVE: %d failed of %d requests through the survivor %v", n, total, sample)
	if n > 0 {
		t.Errorf("graceful leave: %d failed requests: %v", n, sample)
	}

	// (3) node 3 joins under load through node 0
	ctx, cancel = context.WithCancel(context.Background())
	wg = load(ctx, []string{c.nodes[0].base}, 1, seed+200)
	time.Sleep(1500 * time.Millisecond)
	tJoin := time.Now()
	c.start(3)
	c.converge("join")
	t.Logf("node 3 joined and converged in %v; shards active: node0 %d, node3 %d", time.Since(tJoin).Round(time.Millisecond),
		shardsActive(c.nodes[0].base), shardsActive(c.nodes[3].base))
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	n, total, sample = failures(l.snapshot(), tJoin, time.Now())
	t.Logf("JOIN: %d failed of %d requests %v", n, total, sample)
	if n > 0 {
		t.Errorf("join: %d failed requests: %v", n, sample)
	}
	verifyAcked(t, "at the end", c.live(), l, shows)
	if os.Getenv("BOXOFFICE_KEEP") == "" {
		for _, p := range c.nodes {
			if p != nil && !p.exited() {
				p.killHard()
			}
		}
	}
}
