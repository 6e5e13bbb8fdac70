package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint that verifies Standard Webhooks signatures
// on its own (not with the server's code) and fails the first tries of each
// delivery.
type receiver struct {
	secret   []byte
	failures int // answered 500 to this many first attempts of each webhook-id

	mu       sync.Mutex
	attempts map[string]int    // webhook-id → attempts seen
	got      map[string]string // webhook-id → "type order" of the accepted delivery
	bad      []string          // problems found
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts, sigs := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	sec, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		rc.bad = append(rc.bad, fmt.Sprintf("bad id %q or timestamp %q", id, ts))
		w.WriteHeader(400)
		return
	}
	m := hmac.New(sha256.New, rc.secret)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	want := m.Sum(nil)
	ok := false
	for _, s := range strings.Fields(sigs) { // "v1,<b64> v1,<b64>..."
		v, b64, _ := strings.Cut(s, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if v == "v1" && err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		rc.bad = append(rc.bad, "bad signature "+sigs+" of "+id)
		w.WriteHeader(401)
		return
	}
	rc.attempts[id]++
	if rc.attempts[id] <= rc.failures {
		w.WriteHeader(500)
		return
	}
	var p struct {
		Type string
		Data struct{ Order string }
	}
	if err := json.Unmarshal(body, &p); err != nil {
		rc.bad = append(rc.bad, "bad body "+string(body))
	}
	if strings.Contains(string(body), "tok_") {
		rc.bad = append(rc.bad, "a payment token in "+string(body))
	}
	rc.got[id] = p.Type + " " + p.Data.Order
	w.WriteHeader(204)
}

func (rc *receiver) snapshot() (map[string]string, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]string{}
	for k, v := range rc.got {
		out[k] = v
	}
	return out, append([]string(nil), rc.bad...)
}

// TestWebhooks is the webhook acceptance test: the real binary delivers
// order.paid, order.cancelled and order.expired to a real HTTP receiver that
// verifies every signature and fails the first two tries of each delivery;
// every event arrives once accepted, none is missing or unexpected, and
// GET /v1/webhooks/{id}/deliveries lists the failed attempts. A node
// without --webhook-allow-private refuses the loopback receiver.
func TestWebhooks(t *testing.T) {
	auth := []string{"Authorization", "Bearer " + adminToken}
	s := startServer(t, t.TempDir(), "--webhook-allow-private", "--webhook-min-backoff", "100ms")
	defer s.stop()
	rc := &receiver{failures: 2, attempts: map[string]int{}, got: map[string]string{}}
	recv := httptest.NewServer(rc)
	defer recv.Close()

	var hook struct{ ID, Secret string }
	reg := fmt.Sprintf(`{"url":%q,"events":["order.paid","order.cancelled","order.expired"]}`, recv.URL+"/hooks")
	if code, err := call("POST", s.base+"/v1/webhooks", reg, &hook, auth...); err != nil || code != 201 || !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("register: %d %v %+v", code, err, hook)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(hook.Secret, "whsec_"))
	if err != nil || len(key) != 24 {
		t.Fatalf("secret %q: %v", hook.Secret, err)
	}
	rc.mu.Lock()
	rc.secret = key
	rc.mu.Unlock()
	var listed struct{ Webhooks []map[string]any }
	if code, _ := call("GET", s.base+"/v1/webhooks", "", &listed, auth...); code != 200 || len(listed.Webhooks) != 1 || listed.Webhooks[0]["secret"] != nil {
		t.Fatalf("list: %d %+v", code, listed)
	}

	createShow(t, s.base, "wh", 900)
	createShow(t, s.base, "whx", 1) // its orders expire after a second
	want := map[string]bool{}       // "type order"
	order := func(show string, i int) string {
		var h holdDoc
		if code, err := call("POST", s.base+"/v1/shows/"+show+"/holds", fmt.Sprintf(`{"user":"u%d","section":"a","quantity":1}`, i), &h); err != nil || code != 201 {
			t.Fatalf("hold: %d %v", code, err)
		}
		var o orderDoc
		if code, err := call("POST", s.base+"/v1/orders", fmt.Sprintf(`{"show":%q,"hold":%q}`, show, h.ID), &o); err != nil || code != 201 {
			t.Fatalf("order: %d %v", code, err)
		}
		return o.ID
	}
	for i := 0; i < 4; i++ {
		id := order("wh", i)
		if code, err := call("POST", s.base+"/v1/orders/"+id+"/pay", `{"payment_token":"tok_ok"}`, nil); err != nil || code != 202 {
			t.Fatalf("pay: %d %v", code, err)
		}
		want["order.paid "+id] = true
		id = order("wh", 10+i)
		if code, err := call("POST", s.base+"/v1/orders/"+id+"/cancel", "", nil); err != nil || code != 200 {
			t.Fatalf("cancel: %d %v", code, err)
		}
		want["order.cancelled "+id] = true
		if i < 3 {
			want["order.expired "+order("whx", 20+i)] = true
		}
	}
	waitFor(t, 30*time.Second, func() bool {
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
			t.Fatalf("unexpected delivery %s: %s (want %v)", id, ev, want)
		}
		seen[ev] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("received %v, want %v", seen, want)
	}

	var ds struct {
		Deliveries []struct {
			ID, Type, Status string
			Attempts         []struct {
				StatusCode    int     `json:"status_code"`
				DurationMs    float64 `json:"duration_ms"`
				NextAttemptAt *string `json:"next_attempt_at"`
			}
		}
	}
	if code, err := call("GET", s.base+"/v1/webhooks/"+hook.ID+"/deliveries", "", &ds, auth...); err != nil || code != 200 {
		t.Fatalf("deliveries: %d %v", code, err)
	}
	if len(ds.Deliveries) != len(want) {
		t.Fatalf("%d deliveries listed, want %d", len(ds.Deliveries), len(want))
	}
	for _, d := range ds.Deliveries {
		a := d.Attempts
		if d.Status != "delivered" || got[d.ID] == "" || len(a) != 3 || a[0].StatusCode != 500 || a[1].StatusCode != 500 ||
			a[0].NextAttemptAt == nil || a[2].StatusCode != 204 || a[2].NextAttemptAt != nil {
			t.Fatalf("delivery %+v", d)
		}
	}
	if code, _ := call("DELETE", s.base+"/v1/webhooks/"+hook.ID, "", nil, auth...); code != 204 {
		t.Fatalf("delete: %d", code)
	}

	// without --webhook-allow-private the loopback receiver is refused
	s2 := startServer(t, t.TempDir())
	defer s2.stop()
	var e struct{ Error struct{ Code string } }
	if code, _ := call("POST", s2.base+"/v1/webhooks", reg, &e, auth...); code != 400 || e.Error.Code != "webhook_url_forbidden" {
		t.Fatalf("loopback receiver without --webhook-allow-private: %d %+v", code, e)
	}
}
