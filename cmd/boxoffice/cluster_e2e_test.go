package main

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// TestTwoNodeCluster runs two boxoffice processes as one cluster (with Redis,
// so a shard placed on one node while the other was joining can move): shows
// created through one node are placed on both, and users racing for a seat
// through either node still get exactly one winner per seat.
func TestTwoNodeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes")
	}
	rs := redistest.StartServer(t)
	h1, h2 := freePort(t), freePort(t)
	hosts := fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", h1, h2)
	n1 := startServer(t, t.TempDir(), "--cluster-port", strconv.Itoa(freePort(t)), "--health-port", strconv.Itoa(h1), "--cluster-hosts", hosts, "--redis", rs.Addr())
	defer n1.stop()
	n2 := startServer(t, t.TempDir(), "--cluster-port", strconv.Itoa(freePort(t)), "--health-port", strconv.Itoa(h2), "--cluster-hosts", hosts, "--redis", rs.Addr())
	defer n2.stop()
	// membership settles within a few seconds; until then a node may place alone
	// membership converges by gossip: wait until shows created on either node
	// are seen by the other several times in a row
	deadline := time.Now().Add(30 * time.Second)
	for ok := 0; ok < 5; {
		if clusterSees(n1.base, n2.base) && clusterSees(n2.base, n1.base) {
			ok++
		} else {
			ok = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes do not see each other's shows: %s", lastProbe)
		}
		time.Sleep(100 * time.Millisecond)
	}
	const shows = 8
	for i := 0; i < shows; i++ {
		createShow(t, n1.base, fmt.Sprintf("c%d", i), 900)
	}
	for i := 0; i < shows; i++ {
		var wins int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for u := 0; u < 20; u++ {
			wg.Add(1)
			go func(u int) {
				defer wg.Done()
				base := []string{n1.base, n2.base}[u%2]
				// 503 is a documented answer (e.g. while a shard moves): clients retry it
				var code int
				var err error
				for try := 0; try < 50; try++ {
					code, err = call("POST", fmt.Sprintf("%s/v1/shows/c%d/holds", base, i), fmt.Sprintf(`{"user":"u%d","seats":["a-1-7"]}`, u), nil)
					if code != 503 {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil || (code != 201 && code != 409) {
					t.Errorf("show %d user %d: %d %v", i, u, code, err)
				}
				if code == 201 {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}(u)
		}
		wg.Wait()
		// Safety: never two winners, and the seat is held exactly once. A 503
		// answered while a shard moved can hide a hold that was made (its user
		// sees 503, then 409); so zero winners is possible, never two.
		if wins > 1 {
			t.Fatalf("show c%d: %d winners for one seat", i, wins)
		}
		var d showDoc
		code, err := 0, error(nil)
		for try := 0; try < 50; try++ {
			if code, err = call("GET", fmt.Sprintf("%s/v1/shows/c%d", n2.base, i), "", &d); code != 503 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil || code != 200 {
			t.Fatalf("show c%d: %d %v", i, code, err)
		}
		if d.Totals.Held != 1 {
			t.Fatalf("show c%d: %d seats held after the race, want 1", i, d.Totals.Held)
		}
		if wins == 0 {
			t.Logf("show c%d: the seat was taken by a hold whose answer was a 503", i)
		}
	}
	a, b := shardsActive(n1.base), shardsActive(n2.base)
	t.Logf("shards active: node1 %d, node2 %d", a, b)
	if a == 0 || b == 0 {
		t.Fatalf("all shards on one node (%d, %d): the cluster did not spread them", a, b)
	}
}

func freePort(t testing.TB) int {
	addr := freeAddr(t)
	p, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	return p
}

// shardsActive reads boxoffice_shards_active from a node's /metrics.
func shardsActive(base string) int {
	req, _ := httpGet(base + "/metrics")
	for _, line := range strings.Split(req, "\n") {
		if strings.HasPrefix(line, "boxoffice_shards_active ") {
			n, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return int(n)
		}
	}
	return 0
}

var (
	lastProbe string
	probeSeq  int
)

// clusterSees is true once a show created through one node is readable through the other.
func clusterSees(a, b string) bool {
	probeSeq++
	id := fmt.Sprintf("probe%d", probeSeq)
	call("POST", a+"/v1/shows", fmt.Sprintf(`{"id":%q,"tiers":[{"id":"s","price":1}],"sections":[{"id":"a","tier":"s","capacity":1}]}`, id),
		nil, "Authorization", "Bearer "+adminToken)
	var e struct {
		Error struct{ Code, Message string }
	}
	code, err := call("GET", b+"/v1/shows/"+id, "", &e)
	if code != 200 {
		lastProbe = fmt.Sprintf("%d %v %+v", code, err, e)
	}
	return err == nil && code == 200
}

func httpGet(url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return sb.String(), nil
}
