package main

import (
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// TestWebhooksCluster: two nodes with --redis. A webhook registered through
// node A is listed by node B at once; from 1 s later both nodes deliver the
// events of the shows they own to it (a real receiver verifying every
// signature and failing each delivery's first try), each event accepted
// once; GET /v1/webhooks/{id}/deliveries lists every delivery of both nodes
// on either node; a delete through node B stops node A's deliveries within
// 1 s.
func TestWebhooksCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes")
	}
	start := time.Now()
	auth := []string{"Authorization", "Bearer " + adminToken}
	rs := redistest.StartServer(t)
	h1, h2 := freePort(t), freePort(t)
	hosts := fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", h1, h2)
	node := func(health int) *server {
		return startServer(t, t.TempDir(), "--cluster-port", strconv.Itoa(freePort(t)), "--health-port", strconv.Itoa(health),
			"--cluster-hosts", hosts, "--redis", rs.Addr(), "--webhook-allow-private", "--webhook-min-backoff", "100ms")
	}
	a, b := node(h1), node(h2)
	defer a.stop()
	defer b.stop()
	deadline := time.Now().Add(30 * time.Second)
	for ok := 0; ok < 3; {
		if clusterSees(a.base, b.base) && clusterSees(b.base, a.base) {
			ok++
		} else {
			ok = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes do not see each other's shows: %s", lastProbe)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("converged after %v", time.Since(start).Round(time.Millisecond))

	// shows until each node owns at least two (a show's events leave
	// through its owner's outbox, so each node must deliver)
	var shows []string
	owned := map[*server][]string{}
	for i := 0; len(owned[a]) < 2 || len(owned[b]) < 2; i++ {
		if i == 24 {
			t.Fatalf("24 shows, owned %d by node A and %d by node B", len(owned[a]), len(owned[b]))
		}
		id := fmt.Sprintf("wc%d", i)
		ca, cb := shardsActive(a.base), shardsActive(b.base)
		createShow(t, []*server{a, b}[i%2].base, id, 900)
		shows = append(shows, id)
		var da, db int
		waitFor(t, 5*time.Second, func() bool {
			da, db = shardsActive(a.base)-ca, shardsActive(b.base)-cb
			return da+db > 0
		})
		switch {
		case da == 1 && db == 0:
			owned[a] = append(owned[a], id)
		case da == 0 && db == 1:
			owned[b] = append(owned[b], id)
		}
	}
	t.Logf("shows %v: node A owns %v, node B owns %v", shows, owned[a], owned[b])

	rc := &receiver{failures: 1, attempts: map[string]int{}, got: map[string]string{}}
	recv := httptest.NewServer(rc)
	defer recv.Close()
	var hook struct{ ID, Secret string }
	reg := fmt.Sprintf(`{"url":%q,"events":["order.paid","order.cancelled"]}`, recv.URL+"/hooks")
	if code, err := call("POST", a.base+"/v1/webhooks", reg, &hook, auth...); err != nil || code != 201 {
		t.Fatalf("register on node A: %d %v", code, err)
	}
	registered := time.Now()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(hook.Secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = key
	rc.mu.Unlock()
	var listed struct{ Webhooks []struct{ ID string } }
	if code, _ := call("GET", b.base+"/v1/webhooks", "", &listed, auth...); code != 200 || len(listed.Webhooks) != 1 || listed.Webhooks[0].ID != hook.ID {
		t.Fatalf("list on node B right after the registration on node A: %d %+v", code, listed)
	}
	time.Sleep(time.Second - time.Since(registered))

	want := map[string]bool{} // "type order"
	var paidOrders []string
	for i, sh := range shows {
		via := []*server{a, b}[i%2].base
		id := clusterOrder(t, via, sh, fmt.Sprintf("p%d", i))
		if code, err := call("POST", via+"/v1/orders/"+id+"/pay", `{"payment_token":"tok_ok"}`, nil); err != nil || code != 202 {
			t.Fatalf("pay %s: %d %v", id, code, err)
		}
		want["order.paid "+id] = true
		paidOrders = append(paidOrders, id)
		id = clusterOrder(t, via, sh, fmt.Sprintf("c%d", i))
		if code, err := call("POST", via+"/v1/orders/"+id+"/cancel", "", nil); err != nil || code != 200 {
			t.Fatalf("cancel %s: %d %v", id, code, err)
		}
		want["order.cancelled "+id] = true
	}
	waitFor(t, 20*time.Second, func() bool {
		got, bad := rc.snapshot()
		if len(bad) > 0 {
			t.Fatalf("receiver: %v", bad)
		}
		return len(got) >= len(want)
	})
	time.Sleep(300 * time.Millisecond) // anything unexpected would arrive now
	got, bad := rc.snapshot()
	if len(bad) > 0 {
		t.Fatalf("receiver: %v", bad)
	}
	seen := map[string]bool{}
	for id, ev := range got {
		if !want[ev] || seen[ev] {
			t.Fatalf("unexpected delivery %s: %s", id, ev)
		}
		seen[ev] = true
	}
	t.Logf("%d events delivered by both nodes, %v after the registration", len(seen), time.Since(registered).Round(time.Millisecond))

	// every node lists every node's deliveries
	for name, s := range map[string]*server{"A": a, "B": b} {
		var ds struct {
			Deliveries []struct {
				ID, Status string
				Attempts   []struct {
					StatusCode int `json:"status_code"`
				}
			}
		}
		waitFor(t, 5*time.Second, func() bool {
			ds.Deliveries = nil
			code, err := call("GET", s.base+"/v1/webhooks/"+hook.ID+"/deliveries", "", &ds, auth...)
			if err != nil || code != 200 {
				t.Fatalf("deliveries on node %s: %d %v", name, code, err)
			}
			n := 0
			for _, d := range ds.Deliveries {
				if d.Status == "delivered" {
					n++
				}
			}
			return n == len(want)
		})
		if len(ds.Deliveries) != len(want) {
			t.Fatalf("node %s lists %d deliveries, want %d", name, len(ds.Deliveries), len(want))
		}
		for _, d := range ds.Deliveries {
			if got[d.ID] == "" || len(d.Attempts) != 2 || d.Attempts[0].StatusCode != 500 || d.Attempts[1].StatusCode != 204 {
				t.Fatalf("node %s lists %+v", name, d)
			}
		}
	}

	// a delete through node B: node A knows at once, and delivers nothing
	// more from 1 s later
	if code, _ := call("DELETE", b.base+"/v1/webhooks/"+hook.ID, "", nil, auth...); code != 204 {
		t.Fatalf("delete on node B: %d", code)
	}
	deleted := time.Now()
	if code, _ := call("GET", a.base+"/v1/webhooks/"+hook.ID, "", nil, auth...); code != 404 {
		t.Fatalf("get on node A after the delete on node B: %d", code)
	}
	time.Sleep(time.Second - time.Since(deleted))
	_, before := rc.total()
	var late []string
	for i, sh := range shows {
		via := []*server{a, b}[i%2].base
		id := clusterOrder(t, via, sh, fmt.Sprintf("q%d", i))
		if code, err := call("POST", via+"/v1/orders/"+id+"/pay", `{"payment_token":"tok_ok"}`, nil); err != nil || code != 202 {
			t.Fatalf("pay %s: %d %v", id, code, err)
		}
		late = append(late, id)
	}
	for _, id := range late { // their order.paid events have left the outboxes
		waitFor(t, 10*time.Second, func() bool {
			var o orderDoc
			code, _ := call("GET", a.base+"/v1/orders/"+id, "", &o)
			return code == 200 && o.Status == "paid"
		})
	}
	time.Sleep(500 * time.Millisecond)
	if n, after := rc.total(); after != before {
		t.Fatalf("%d attempts after the delete (%d events accepted)", after-before, n)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// clusterOrder holds a seat of show's pit through base and orders it,
// retrying 503 (a show may move while the cluster settles).
func clusterOrder(t *testing.T, base, show, user string) string {
	t.Helper()
	for try := 0; try < 50; try++ {
		var h holdDoc
		code, err := call("POST", base+"/v1/shows/"+show+"/holds", fmt.Sprintf(`{"user":%q,"section":"pit","quantity":1}`, user), &h)
		if code == 503 {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil || code != 201 {
			t.Fatalf("hold on %s via %s: %d %v", show, base, code, err)
		}
		var o orderDoc
		for ; try < 50; try++ {
			code, err = call("POST", base+"/v1/orders", fmt.Sprintf(`{"show":%q,"hold":%q}`, show, h.ID), &o, "Idempotency-Key", "o-"+h.ID)
			if code != 503 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil || code != 201 {
			t.Fatalf("order on %s via %s: %d %v", show, base, code, err)
		}
		return o.ID
	}
	t.Fatalf("hold on %s via %s: 503 for 5 s", show, base)
	return ""
}

// total returns how many deliveries the receiver accepted and how many
// attempts it saw.
func (rc *receiver) total() (accepted, attempts int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, n := range rc.attempts {
		attempts += n
	}
	return len(rc.got), attempts
}
