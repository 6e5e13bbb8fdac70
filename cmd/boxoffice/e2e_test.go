package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests build the real binary and run it as a separate
// process, so that SIGKILL is real.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "boxoffice-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "boxoffice")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		panic(fmt.Sprintf("go build: %v\n%s", err, out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const adminToken = "e2e-token"

type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	base string
	log  *bytes.Buffer
	mu   sync.Mutex // protects log
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs `boxoffice serve` on dataDir and waits until /readyz is 200.
func startServer(t testing.TB, dataDir string, extra ...string) *server {
	addr := freeAddr(t)
	args := append([]string{"serve", "--http", addr, "--data", dataDir, "--admin-token", adminToken,
		"--user-rate", "-1", "--log-level", "info"}, extra...)
	cmd := exec.Command(binPath, args...)
	s := &server{t: t, cmd: cmd, base: "http://" + addr, log: &bytes.Buffer{}}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server %s log:\n%s", s.base, s.logs())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			s.kill()
			t.Fatalf("server not ready in time; log:\n%s", s.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		s.kill()
		s.t.Fatalf("SIGTERM did not stop the server")
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

// call does one request and decodes the JSON answer into out (if not nil).
func call(method, url, body string, out any, hdr ...string) (int, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding %q: %w", b, err)
		}
	}
	return resp.StatusCode, nil
}

type showDoc struct {
	Totals struct{ Capacity, Available, Held, Reserved, Sold int }
}

type holdDoc struct {
	ID    string
	Seats []string
}

type orderDoc struct {
	ID      string
	Status  string
	Seats   []string
	History []struct{ Status string }
}

func createShow(t testing.TB, base, id string, payTTL int) {
	body := fmt.Sprintf(`{"id":%q,"name":"e2e","payment_ttl_seconds":%d,"hold_ttl_seconds":600,
		"tiers":[{"id":"std","price":5000}],
		"sections":[{"id":"a","tier":"std","rows":[{"id":"1","seats":50},{"id":"2","seats":50},{"id":"3","seats":50}]},
		            {"id":"pit","tier":"std","capacity":100}]}`, id, payTTL)
	if code, err := call("POST", base+"/v1/shows", body, nil, "Authorization", "Bearer "+adminToken); err != nil || code != 201 {
		t.Fatalf("create show: %d %v", code, err)
	}
}

// TestKillKeepsOrders is the durable-orders acceptance test: 100 orders, half
// paid with tok_ok, SIGKILL, restart on the same data: every acknowledged
// order is there with its status, the totals match, and an ordered seat
// cannot be held again.
func TestKillKeepsOrders(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	createShow(t, s.base, "kill", 900)
	var orders []orderDoc
	for i := 0; i < 100; i++ {
		var h holdDoc
		if code, err := call("POST", s.base+"/v1/shows/kill/holds", fmt.Sprintf(`{"user":"u%d","section":"a","quantity":1}`, i), &h); err != nil || code != 201 {
			t.Fatalf("hold %d: %d %v", i, code, err)
		}
		var o orderDoc
		if code, err := call("POST", s.base+"/v1/orders", fmt.Sprintf(`{"show":"kill","hold":%q}`, h.ID), &o); err != nil || code != 201 {
			t.Fatalf("order %d: %d %v", i, code, err)
		}
		if i%2 == 0 {
			if code, err := call("POST", s.base+"/v1/orders/"+o.ID+"/pay", `{"payment_token":"tok_ok"}`, &o); err != nil || code != 202 {
				t.Fatalf("pay %d: %d %v", i, code, err)
			}
		}
		orders = append(orders, o)
	}
	// let the payment consumer settle the payments, then kill
	waitFor(t, 10*time.Second, func() bool {
		var d showDoc
		call("GET", s.base+"/v1/shows/kill", "", &d)
		return d.Totals.Sold == 50
	})
	// the embedded relay's figures: 100 created, 50 payment_requested, 50 paid
	waitFor(t, 10*time.Second, func() bool { return metrics(s.base)["boxoffice_relay_delivered_total"] >= 200 })
	if m := metrics(s.base); m["boxoffice_relay_failures_total"] != 0 || m["boxoffice_relay_last_delivery_timestamp_seconds"] < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Fatalf("relay figures: failures %v, last delivery %v", m["boxoffice_relay_failures_total"], m["boxoffice_relay_last_delivery_timestamp_seconds"])
	}
	s.kill()

	s = startServer(t, data)
	defer s.stop()
	var d showDoc
	if _, err := call("GET", s.base+"/v1/shows/kill", "", &d); err != nil {
		t.Fatal(err)
	}
	if d.Totals.Sold != 50 || d.Totals.Reserved != 50 || d.Totals.Held != 0 {
		t.Fatalf("totals after restart: %+v", d.Totals)
	}
	for i, o := range orders {
		var got orderDoc
		if code, err := call("GET", s.base+"/v1/orders/"+o.ID, "", &got); err != nil || code != 200 {
			t.Fatalf("order %d after restart: %d %v", i, code, err)
		}
		want := "pending_payment"
		if i%2 == 0 {
			want = "paid"
		}
		if got.Status != want {
			t.Fatalf("order %d: %s, want %s", i, got.Status, want)
		}
		if i < 5 {
			var e struct{ Error struct{ Code string } }
			code, _ := call("POST", s.base+"/v1/shows/kill/holds", fmt.Sprintf(`{"user":"x","seats":[%q]}`, got.Seats[0]), &e)
			if code != 409 || e.Error.Code != "seats_unavailable" {
				t.Fatalf("ordered seat %s could be held again: %d %s", got.Seats[0], code, e.Error.Code)
			}
		}
	}
	notes, _ := os.ReadFile(filepath.Join(data, "notifications.log"))
	if n := strings.Count(string(notes), `"order_confirmed"`); n != 50 {
		t.Fatalf("%d order_confirmed notifications, want 50", n)
	}
}

// TestExpiry: a hold with a 1 s TTL frees its seats about a second after its
// expiry and ordering it then gives 410; an unpaid order expires at its due
// time, its seats return and a notification is logged.
func TestExpiry(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	defer s.stop()
	body := `{"id":"exp","hold_ttl_seconds":1,"payment_ttl_seconds":1,"tiers":[{"id":"std","price":100}],
		"sections":[{"id":"a","tier":"std","rows":[{"id":"1","seats":10}]}]}`
	if code, _ := call("POST", s.base+"/v1/shows", body, nil, "Authorization", "Bearer "+adminToken); code != 201 {
		t.Fatalf("create: %d", code)
	}
	var h1, h2 holdDoc
	call("POST", s.base+"/v1/shows/exp/holds", `{"user":"u1","seats":["a-1-1"]}`, &h1)
	call("POST", s.base+"/v1/shows/exp/holds", `{"user":"u2","seats":["a-1-2"]}`, &h2)
	var o orderDoc
	if code, _ := call("POST", s.base+"/v1/orders", fmt.Sprintf(`{"show":"exp","hold":%q}`, h2.ID), &o); code != 201 {
		t.Fatalf("order: %d", code)
	}
	start := time.Now()
	waitFor(t, 3*time.Second, func() bool {
		var d showDoc
		call("GET", s.base+"/v1/shows/exp", "", &d)
		return d.Totals.Available == 10
	})
	t.Logf("hold and order released %v after creation (TTL 1 s)", time.Since(start))
	var e struct{ Error struct{ Code string } }
	if code, _ := call("POST", s.base+"/v1/orders", fmt.Sprintf(`{"show":"exp","hold":%q}`, h1.ID), &e); code != 410 || e.Error.Code != "hold_expired" {
		t.Fatalf("order of an expired hold: %d %s", code, e.Error.Code)
	}
	waitFor(t, 3*time.Second, func() bool {
		notes, _ := os.ReadFile(filepath.Join(data, "notifications.log"))
		return strings.Contains(string(notes), `"order_expired"`)
	})
	var got orderDoc
	call("GET", s.base+"/v1/orders/"+o.ID, "", &got)
	if got.Status != "expired" {
		t.Fatalf("order status %s", got.Status)
	}
}

// TestKillLoop kills the server with SIGKILL at random moments under load,
// restarts it on the same data, and checks that every acknowledged order is
// still there (at least as far along as acknowledged), that the totals add up
// and that reserved + sold equal the live orders' seats.
func TestKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("kill loop is long")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	data := t.TempDir()
	s := startServer(t, data)
	var mu sync.Mutex
	acked := map[string]string{}
	var shows []string
	for round := 0; round < 5; round++ {
		show := fmt.Sprintf("loop%d", round)
		createShow(t, s.base, show, 900)
		shows = append(shows, show)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
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
					if code, err := call("POST", s.base+"/v1/shows/"+show+"/holds", fmt.Sprintf(`{"user":"g%di%d","section":"a","quantity":1}`, g, i), &h); err != nil || code != 201 {
						if err != nil {
							return // the server died
						}
						continue
					}
					var o orderDoc
					if code, err := call("POST", s.base+"/v1/orders", fmt.Sprintf(`{"show":%q,"hold":%q}`, show, h.ID), &o); err != nil || code != 201 {
						continue
					}
					mu.Lock()
					acked[o.ID] = "pending_payment"
					mu.Unlock()
					if i%3 == 0 {
						if code, err := call("POST", s.base+"/v1/orders/"+o.ID+"/cancel", "", &o); err == nil && code == 200 {
							mu.Lock()
							acked[o.ID] = "cancelled"
							mu.Unlock()
						}
					}
				}
			}(g)
		}
		time.Sleep(time.Duration(200+rng.Intn(600)) * time.Millisecond)
		s.kill()
		close(stop)
		wg.Wait()
		s = startServer(t, data)
		reserved := 0
		for _, sh := range shows {
			var d showDoc
			if code, err := call("GET", s.base+"/v1/shows/"+sh, "", &d); err != nil || code != 200 {
				t.Fatalf("round %d: show %s after restart: %d %v", round, sh, code, err)
			}
			tt := d.Totals
			if tt.Available+tt.Held+tt.Reserved+tt.Sold != tt.Capacity {
				t.Fatalf("round %d: show %s totals %+v", round, sh, tt)
			}
			reserved += tt.Reserved
		}
		mu.Lock()
		pending := 0
		for id, want := range acked {
			var got orderDoc
			if code, err := call("GET", s.base+"/v1/orders/"+id, "", &got); err != nil || code != 200 {
				mu.Unlock()
				t.Fatalf("round %d: acknowledged order %s lost: %d %v", round, id, code, err)
			}
			if want == "cancelled" && got.Status != "cancelled" {
				mu.Unlock()
				t.Fatalf("round %d: order %s acknowledged cancelled, recovered %s", round, id, got.Status)
			}
			if got.Status == "pending_payment" {
				pending++
			}
		}
		mu.Unlock()
		if reserved < pending {
			t.Fatalf("round %d: %d pending orders but only %d seats reserved", round, pending, reserved)
		}
		t.Logf("round %d: %d orders acknowledged so far, %d pending, %d seats reserved", round, len(acked), pending, reserved)
	}
	s.stop()
	if len(acked) == 0 {
		t.Fatal("no order acknowledged: the test proved nothing")
	}
}

func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
