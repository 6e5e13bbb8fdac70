package pipeline

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// The Standard Webhooks reference vector (standard-webhooks and Svix test suites).
func TestSignStandardWebhooksVector(t *testing.T) {
	got, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		[]byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

func TestNewWebhookSecret(t *testing.T) {
	s := NewWebhookSecret()
	if k, err := secretKey(s); err != nil || len(k) != 24 || s == NewWebhookSecret() {
		t.Fatalf("secret %q: key %d bytes, err %v", s, len(k), err)
	}
}

func TestForbiddenAddr(t *testing.T) {
	for _, c := range []struct {
		ip      string
		refused bool
	}{
		{"127.0.0.1", true}, {"127.9.9.9", true}, {"::1", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.255", true}, {"192.168.1.1", true},
		{"fc00::1", true}, {"fd12:3456::1", true},
		{"169.254.169.254", true}, {"fe80::1", true},
		{"0.0.0.0", true}, {"::", true}, {"0.1.2.3", true},
		{"224.0.0.1", true}, {"239.255.255.250", true}, {"ff02::1", true},
		{"100.64.0.1", true}, {"100.127.255.254", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"64:ff9b::a00:1", true},
		{"255.255.255.255", true},
		{"93.184.216.34", false}, {"8.8.8.8", false}, {"172.32.0.1", false}, {"100.128.0.1", false},
		{"2606:4700::1111", false}, {"::ffff:8.8.8.8", false},
	} {
		why := ForbiddenAddr(netip.MustParseAddr(c.ip))
		if (why != "") != c.refused {
			t.Errorf("%s: refused %q, want refused=%v", c.ip, why, c.refused)
		}
	}
}

// fakeResolver answers from a table; its answers can change (DNS rebinding).
type fakeResolver struct {
	mu sync.Mutex
	m  map[string][]string
}

func (r *fakeResolver) set(host string, ips ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[host] = ips
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []netip.Addr
	for _, s := range r.m[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if len(out) == 0 {
		return nil, errors.New("no such host")
	}
	return out, nil
}

func TestCheckWebhookURL(t *testing.T) {
	r := &fakeResolver{m: map[string][]string{
		"public.example":   {"93.184.216.34"},
		"internal.example": {"10.0.0.5"},
		"mixed.example":    {"93.184.216.34", "127.0.0.1"},
		"localhost":        {"127.0.0.1", "::1"},
		"meta.example":     {"169.254.169.254"},
	}}
	for _, c := range []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://public.example/hook", false, true},
		{"http://93.184.216.34:8080/x", false, true},
		{"https://internal.example/hook", false, false},
		{"https://mixed.example/hook", false, false},
		{"http://localhost:9000/", false, false},
		{"http://127.0.0.1/", false, false},
		{"http://[::1]:80/", false, false},
		{"http://[::ffff:127.0.0.1]/", false, false},
		{"http://meta.example/latest", false, false},
		{"http://100.64.1.1/", false, false},
		{"http://0.0.0.0:8080/", false, false},
		{"ftp://public.example/", false, false},
		{"https://user:pw@public.example/", false, false},
		{"/relative", false, false},
		{"https://nowhere.example/", false, false},
		{"http://localhost:9000/", true, true},
		{"https://internal.example/hook", true, true},
	} {
		err := CheckWebhookURL(context.Background(), r, c.url, c.allowPrivate)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrWebhookURLForbidden) {
			t.Errorf("%s (allow private %v): err %v, want ok=%v", c.url, c.allowPrivate, err, c.ok)
		}
	}
}

// A host that resolved to a public address at registration and to loopback
// at delivery (DNS rebinding) is not called: the dialer checks the address
// it dials.
func TestWebhookDeliveryRefusesRebinding(t *testing.T) {
	called := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called <- struct{}{} }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	res := &fakeResolver{m: map[string][]string{"rebind.example": {"93.184.216.34"}}}
	w, _ := newTestWebhooks(t, res, false)
	h, err := w.Create(context.Background(), WebhookSpec{URL: "http://rebind.example:" + port + "/hook", Events: []string{"order.paid"}})
	if err != nil {
		t.Fatal(err)
	}
	res.set("rebind.example", "127.0.0.1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	if err := w.Handle(ctx, seatmap.Event{ID: "e1", Type: seatmap.EventPaid, Show: "s", OrderID: "s~o1", At: 1}); err != nil {
		t.Fatal(err)
	}
	waitWebhook(t, func() bool {
		ds, _ := w.Deliveries(ctx, h.ID)
		return len(ds) == 1 && len(ds[0].Attempts) >= 1
	})
	ds, _ := w.Deliveries(ctx, h.ID)
	if a := ds[0].Attempts[0]; !strings.Contains(a.Error, "webhook_url_forbidden") || a.StatusCode != 0 {
		t.Fatalf("attempt %+v: want a refused dial", a)
	}
	select {
	case <-called:
		t.Fatal("the loopback receiver was called")
	default:
	}
}

func newTestWebhooks(t *testing.T, r Resolver, allowPrivate bool) (*Webhooks, *pebble.Store) {
	t.Helper()
	st, err := pebble.Open(pebble.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Webhooks{KV: st, Resolver: r, AllowPrivate: allowPrivate, MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond}, st
}

func waitWebhook(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A failing receiver is retried with backoff until it answers 2xx; a
// delivery that still fails after MaxAge is dead, without holding up the
// others; a duplicate event makes no second delivery; pending deliveries
// resume after a restart.
func TestWebhookRetriesDeadAndResume(t *testing.T) {
	var mu sync.Mutex
	tries := map[string]int{}
	got := map[string]string{} // webhook-id → body
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		id := r.Header.Get("webhook-id")
		mu.Lock()
		defer mu.Unlock()
		tries[id]++
		if strings.Contains(string(b), "poison") || tries[id] <= 2 {
			w.WriteHeader(503)
			return
		}
		got[id] = string(b)
	}))
	defer srv.Close()
	dir := t.TempDir()
	st, err := pebble.Open(pebble.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w := &Webhooks{KV: st, AllowPrivate: true, MinBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		MaxAge: 400 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := w.Create(ctx, WebhookSpec{URL: srv.URL, Events: []string{"order.paid", "order.cancelled"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h.Secret, "whsec_") {
		t.Fatalf("secret %q", h.Secret)
	}
	if l, _ := w.List(ctx); len(l) != 1 || l[0].Secret != "" {
		t.Fatalf("list %+v shows a secret", l)
	}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	evs := []seatmap.Event{
		{ID: "p1", Type: seatmap.EventPaid, Show: "s", OrderID: "s~1", Token: "tok_secret", At: 1},
		{ID: "c1", Type: seatmap.EventCancelled, Show: "s", OrderID: "s~2", User: "poison", At: 2},
		{ID: "x1", Type: seatmap.EventExpired, Show: "s", OrderID: "s~3", At: 3}, // not subscribed
		{ID: "r1", Type: seatmap.EventPaymentRequested, Show: "s", OrderID: "s~1", At: 4},
	}
	for _, e := range evs {
		if err := w.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Handle(ctx, evs[0]); err != nil { // a redelivery by the relay
		t.Fatal(err)
	}
	waitWebhook(t, func() bool {
		ds, _ := w.Deliveries(ctx, h.ID)
		n := 0
		for _, d := range ds {
			if d.Status != DeliveryPending {
				n++
			}
		}
		return n == 2
	})
	ds, _ := w.Deliveries(ctx, h.ID)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries, want 2", len(ds))
	}
	for _, d := range ds {
		switch d.EventID {
		case "p1":
			if d.Status != DeliveryDelivered || len(d.Attempts) != 3 || d.Attempts[0].StatusCode != 503 ||
				d.Attempts[0].NextAt == nil || d.Attempts[2].StatusCode != 200 {
				t.Fatalf("paid delivery %+v", d)
			}
			if strings.Contains(got[d.ID], "tok_secret") || !strings.Contains(got[d.ID], `"type":"order.paid"`) {
				t.Fatalf("body %s", got[d.ID])
			}
		case "c1":
			if d.Status != DeliveryDead || len(d.Attempts) < 3 {
				t.Fatalf("poison delivery %+v", d)
			}
		}
	}
	// a pending delivery survives a restart
	cancel()
	<-done
	mu.Lock()
	tries = map[string]int{}
	mu.Unlock()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	if err := w.Handle(ctx2, seatmap.Event{ID: "p2", Type: seatmap.EventPaid, Show: "s", OrderID: "s~4", At: 5}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st2, err := pebble.Open(pebble.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	w2 := &Webhooks{KV: st2, AllowPrivate: true, MinBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}
	go w2.Run(ctx2)
	waitWebhook(t, func() bool {
		ds, _ := w2.Deliveries(ctx2, h.ID)
		for _, d := range ds {
			if d.EventID == "p2" && d.Status == DeliveryDelivered {
				return true
			}
		}
		return false
	})
}
