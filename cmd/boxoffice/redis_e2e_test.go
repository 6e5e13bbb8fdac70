package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// TestRedisLostDisk: orders are placed on a node with --redis; the node is
// killed with SIGKILL and its data directory deleted; a new node on an empty
// --data with the same Redis serves every acknowledged order with its status,
// the totals match, and ordered seats cannot be held again.
func TestRedisLostDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	t.Run("single", func(t *testing.T) {
		rs := redistest.StartServer(t)
		lostDisk(t, "--redis", rs.Addr())
	})
	t.Run("cluster", func(t *testing.T) { // three masters: shards' keys spread over slots
		rc := redistest.StartCluster(t)
		lostDisk(t, "--redis-cluster", strings.Join(rc.Addrs(), ","))
	})
}

func lostDisk(t *testing.T, redisFlags ...string) {
	data := t.TempDir()
	s := startServer(t, data, redisFlags...)
	createShow(t, s.base, "lost", 900)
	orders := placeOrders(t, s.base, "lost", 0, 100, 2)
	waitPaid(t, s.base, orders, 2, 30*time.Second)
	var before showDoc
	call("GET", s.base+"/v1/shows/lost", "", &before)
	s.kill()
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}

	s = startServer(t, t.TempDir(), redisFlags...)
	defer s.stop()
	var after showDoc
	if code, err := call("GET", s.base+"/v1/shows/lost", "", &after); err != nil || code != 200 {
		t.Fatalf("show after the disk was lost: %d %v", code, err)
	}
	if after.Totals != before.Totals || after.Totals.Sold != 50 || after.Totals.Reserved != 50 {
		t.Fatalf("totals %+v, before %+v", after.Totals, before.Totals)
	}
	for i, id := range orders {
		var o orderDoc
		if code, err := call("GET", s.base+"/v1/orders/"+id, "", &o); err != nil || code != 200 {
			t.Fatalf("order %d lost: %d %v", i, code, err)
		}
		want := map[bool]string{true: "paid", false: "pending_payment"}[i%2 == 0]
		if o.Status != want {
			t.Fatalf("order %d: %s, want %s", i, o.Status, want)
		}
		if i < 3 {
			var e struct{ Error struct{ Code string } }
			code, _ := call("POST", s.base+"/v1/shows/lost/holds", fmt.Sprintf(`{"user":"x","seats":[%q]}`, o.Seats[0]), &e)
			if code != 409 {
				t.Fatalf("ordered seat %s held again: %d %s", o.Seats[0], code, e.Error.Code)
			}
		}
	}
}

// TestRedisDownUnderLoad: Redis is killed for 10 s while clients book (its
// port refuses connections); writes answer 503 (nothing is acknowledged on
// the local journal alone), /readyz says degraded, writes resume once it is
// back, and Redis holds everything acknowledged (a node started on an empty
// disk finds it all).
func TestRedisDownUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server; 10 s outage")
	}
	rs := redistest.StartServer(t)
	data := t.TempDir()
	s := startServer(t, data, "--redis", rs.Addr())
	body := `{"id":"outage","tiers":[{"id":"std","price":100}],"sections":[{"id":"pit","tier":"std","capacity":100000}]}`
	if code, err := call("POST", s.base+"/v1/shows", body, nil, "Authorization", "Bearer "+adminToken); err != nil || code != 201 {
		t.Fatalf("create show: %d %v", code, err)
	}
	var mu sync.Mutex
	var acked []string
	var ackedAt []time.Time
	var failures, refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var h holdDoc
				code, err := call("POST", s.base+"/v1/shows/outage/holds", fmt.Sprintf(`{"user":"g%di%d","section":"pit","quantity":1}`, g, i), &h)
				if err != nil || code != 201 {
					switch code {
					case 409:
					case 503:
						refused.Add(1)
					default:
						failures.Add(1)
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				var o orderDoc
				if code, err := call("POST", s.base+"/v1/orders", fmt.Sprintf(`{"show":"outage","hold":%q}`, h.ID), &o); err == nil && code == 201 {
					mu.Lock()
					acked = append(acked, o.ID)
					ackedAt = append(ackedAt, time.Now())
					mu.Unlock()
				} else if code == 503 {
					refused.Add(1)
				} else {
					failures.Add(1)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}(g)
	}
	time.Sleep(time.Second)
	if err := rs.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	waitFor(t, 5*time.Second, func() bool { return readyStatus(s.base) == "degraded" })
	time.Sleep(10 * time.Second)
	restartAt := time.Now()
	if err := rs.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, func() bool { return readyStatus(s.base) == "ok" })
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	duringOutage, after := 0, 0
	for _, at := range ackedAt {
		switch {
		case at.After(killedAt.Add(time.Second)) && at.Before(restartAt):
			duringOutage++
		case at.After(restartAt):
			after++
		}
	}
	if duringOutage > 0 {
		t.Fatalf("%d orders acknowledged while Redis was down: without Redis nothing may be acknowledged", duringOutage)
	}
	if after == 0 || refused.Load() == 0 {
		t.Fatalf("writes after Redis came back: %d acknowledged; %d refused during the outage", after, refused.Load())
	}
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d requests failed around the outage with something other than 503", f)
	}
	time.Sleep(time.Second) // the last catch-up
	s.kill()
	s = startServer(t, t.TempDir(), "--redis", rs.Addr()) // Redis alone
	defer s.stop()
	for _, id := range acked {
		var o orderDoc
		if code, err := call("GET", s.base+"/v1/orders/"+id, "", &o); err != nil || code != 200 {
			t.Fatalf("order %s acknowledged but not in Redis: %d %v", id, code, err)
		}
	}
	t.Logf("%d orders acknowledged (%d after Redis came back), %d writes refused with 503 while it was down; all recovered from Redis alone", len(acked), after, refused.Load())
}

func readyStatus(base string) string {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var r struct{ Status string }
	json.NewDecoder(resp.Body).Decode(&r)
	return r.Status
}
