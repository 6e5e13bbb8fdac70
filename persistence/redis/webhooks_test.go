package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// TestWebhookStore: registrations and delivery records on one server and on
// a three-master Redis Cluster (every key in one slot).
func TestWebhookStore(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		_, c := openServer(t, nil)
		checkWebhookStore(t, c)
	})
	t.Run("cluster", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts a Redis Cluster")
		}
		cl := redistest.StartCluster(t)
		c := openClient(t, Options{ClusterAddrs: cl.Addrs(), Logger: testLogger(t),
			HealthInterval: 50 * time.Millisecond, HealthMinBackoff: 20 * time.Millisecond})
		slot := ""
		for _, key := range []string{whRegKey, whVerKey, whDelsPre + "wh_1", whTimePre + "wh_1", whDelsPre + "wh_2"} {
			s, err := cl.Nodes[0].Do("CLUSTER", "KEYSLOT", key)
			if err != nil {
				t.Fatal(err)
			}
			if slot != "" && s != slot {
				t.Fatalf("key %s in slot %s, others in %s", key, s, slot)
			}
			slot = s
		}
		checkWebhookStore(t, c)
	})
}

func checkWebhookStore(t *testing.T, c *Client) {
	ctx := context.Background()
	ver, regs, changed, err := c.WebhookRegistrations(ctx, "")
	if err != nil || !changed || len(regs) != 0 || ver != "" {
		t.Fatalf("empty store: %q %v %v %v", ver, regs, changed, err)
	}
	if ok, err := c.PutWebhook(ctx, "wh_1", []byte(`{"a":1}`), false); !ok || err != nil {
		t.Fatalf("put: %v %v", ok, err)
	}
	v1, regs, changed, err := c.WebhookRegistrations(ctx, ver)
	if err != nil || !changed || v1 == "" || string(regs["wh_1"]) != `{"a":1}` {
		t.Fatalf("after put: %q %q %v %v", v1, regs, changed, err)
	}
	if v, regs, changed, err := c.WebhookRegistrations(ctx, v1); err != nil || changed || regs != nil || v != v1 {
		t.Fatalf("unchanged: %q %v %v %v", v, regs, changed, err)
	}
	// onlyIfAbsent keeps the stored registration and the version
	if ok, err := c.PutWebhook(ctx, "wh_1", []byte(`{"a":2}`), true); ok || err != nil {
		t.Fatalf("put if absent over an existing id: %v %v", ok, err)
	}
	if _, _, changed, _ := c.WebhookRegistrations(ctx, v1); changed {
		t.Fatal("a refused put changed the version")
	}
	if ok, err := c.PutWebhook(ctx, "wh_2", []byte(`{"b":1}`), true); !ok || err != nil {
		t.Fatalf("put if absent: %v %v", ok, err)
	}

	// delivery records: only for a registered webhook; replaced in place;
	// the oldest beyond keep and those older than minCreated go
	if reg, err := c.PutWebhookDelivery(ctx, "wh_9", "m1", 1000, []byte("x"), 10, 0); reg || err != nil {
		t.Fatalf("record of an unregistered webhook: %v %v", reg, err)
	}
	for i := 1; i <= 5; i++ {
		if reg, err := c.PutWebhookDelivery(ctx, "wh_1", fmt.Sprintf("m%d", i), int64(1000*i), fmt.Appendf(nil, "r%d", i), 3, 0); !reg || err != nil {
			t.Fatalf("record %d: %v %v", i, reg, err)
		}
	}
	recs := deliveries(t, c, "wh_1", true)
	if !slices.Equal(recs, []string{"r3", "r4", "r5"}) {
		t.Fatalf("kept %v, want the newest 3", recs)
	}
	// a replaced record keeps its creation time: m3 stays the oldest
	if _, err := c.PutWebhookDelivery(ctx, "wh_1", "m3", 99999, []byte("r3b"), 3, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutWebhookDelivery(ctx, "wh_1", "m6", 6000, []byte("r6"), 3, 0); err != nil {
		t.Fatal(err)
	}
	if recs := deliveries(t, c, "wh_1", true); !slices.Equal(recs, []string{"r4", "r5", "r6"}) {
		t.Fatalf("after replacing m3 and adding m6: %v", recs)
	}
	if _, err := c.PutWebhookDelivery(ctx, "wh_1", "m7", 7000, []byte("r7"), 3, 5500); err != nil {
		t.Fatal(err)
	}
	if recs := deliveries(t, c, "wh_1", true); !slices.Equal(recs, []string{"r6", "r7"}) {
		t.Fatalf("after trimming before 5500: %v", recs)
	}
	if recs := deliveries(t, c, "wh_2", true); len(recs) != 0 {
		t.Fatalf("wh_2: %v", recs)
	}

	// delete: registration and records go, the version changes; a record
	// written late (another node) is not stored
	if ok, err := c.DeleteWebhook(ctx, "wh_1"); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, err := c.DeleteWebhook(ctx, "wh_1"); ok || err != nil {
		t.Fatalf("delete again: %v %v", ok, err)
	}
	if reg, err := c.PutWebhookDelivery(ctx, "wh_1", "m8", 8000, []byte("r8"), 3, 0); reg || err != nil {
		t.Fatalf("late record: %v %v", reg, err)
	}
	deliveries(t, c, "wh_1", false)
	v2, regs, changed, err := c.WebhookRegistrations(ctx, v1)
	if err != nil || !changed || v2 == v1 || len(regs) != 1 || regs["wh_2"] == nil {
		t.Fatalf("after delete: %q %q %v %v", v2, regs, changed, err)
	}
	if _, err := c.PutWebhook(ctx, "wh_1", []byte(`{"a":1}`), false); err != nil {
		t.Fatal(err)
	}
	if recs := deliveries(t, c, "wh_1", true); len(recs) != 0 {
		t.Fatalf("a re-registered id has the old records %v", recs)
	}

	for _, id := range []string{"", "wh_{x}", "a:b", "wh 1", string(make([]byte, 65))} {
		if _, err := c.PutWebhook(ctx, id, []byte("{}"), false); !errors.Is(err, ErrBadWebhookID) {
			t.Errorf("put %q: %v", id, err)
		}
		if _, err := c.DeleteWebhook(ctx, id); !errors.Is(err, ErrBadWebhookID) {
			t.Errorf("delete %q: %v", id, err)
		}
		if _, _, err := c.WebhookDeliveries(ctx, id); !errors.Is(err, ErrBadWebhookID) {
			t.Errorf("deliveries %q: %v", id, err)
		}
	}
	if _, err := c.PutWebhookDelivery(ctx, "wh_1", "m1", 1, nil, 0, 0); err == nil {
		t.Error("keep 0 accepted")
	}
}

// deliveries returns a webhook's records, sorted, and checks registered.
func deliveries(t *testing.T, c *Client, id string, registered bool) []string {
	t.Helper()
	reg, recs, err := c.WebhookDeliveries(context.Background(), id)
	if err != nil || reg != registered {
		t.Fatalf("deliveries of %s: registered %v, want %v: %v", id, reg, registered, err)
	}
	out := []string{}
	for _, r := range recs {
		out = append(out, string(r))
	}
	slices.Sort(out)
	return out
}

// While Redis does not answer, the webhook calls fail at once with
// ErrUnavailable.
func TestWebhookStoreUnavailable(t *testing.T) {
	srv, c := openServer(t, nil)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	defer srv.Cont()
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for c.Healthy() {
		if time.Now().After(deadline) {
			t.Fatal("still healthy 5 s after SIGSTOP")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if _, _, _, err := c.WebhookRegistrations(ctx, ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("registrations: %v", err)
	}
	if _, err := c.PutWebhook(ctx, "wh_1", []byte("{}"), false); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("put: %v", err)
	}
	if _, err := c.PutWebhookDelivery(ctx, "wh_1", "m", 1, []byte("{}"), 1, 0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("record: %v", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("calls took %v while unhealthy", d)
	}
}
