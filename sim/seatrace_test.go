package sim

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
)

const testAdmin = "test-admin-token"

// startEdge serves the real HTTP layer over an in-memory backend on a
// loopback port and returns its URL.
func startEdge(t *testing.T) string {
	t.Helper()
	return startEdgeOn(t, edgetest.NewMemBackend())
}

// startEdgeOn serves the edge over b on a loopback port until the test ends
// and returns its root URL.
func startEdgeOn(t *testing.T, b edge.Backend) string {
	t.Helper()
	srv := edge.New(b, edge.Options{AdminToken: testAdmin, UserRate: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends at Shutdown
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

func requireChecks(t *testing.T, cs []Check) {
	t.Helper()
	if len(cs) == 0 {
		t.Fatal("no checks ran")
	}
	for _, c := range cs {
		if !c.OK {
			t.Errorf("check %q failed: %s", c.Name, c.Detail)
		}
	}
}

func TestOneSeatRaceInProcess(t *testing.T) {
	tg := NewInProcessTarget(edgetest.NewMemBackend())
	for _, users := range []int{5, 10, 20, 50, 200, 1000} {
		rounds := 4
		row := runRace(context.Background(), tg, newRunID("t"), users, rounds)
		if row.winners != rounds || row.losers != rounds*(users-1) || row.errors != 0 {
			t.Fatalf("%d users: winners %d losers %d errors %d, want %d, %d, 0", users, row.winners, row.losers, row.errors, rounds, rounds*(users-1))
		}
		if row.latency.Count() != uint64(users*rounds) {
			t.Fatalf("%d users: %d latencies recorded, want %d", users, row.latency.Count(), users*rounds)
		}
		requireChecks(t, row.checks)
	}
}

// lyingTarget grants one extra hold of a seat someone else already won: a
// double booking the checks must catch.
type lyingTarget struct {
	Target
	mu   sync.Mutex // protects lied
	lied bool
}

func (l *lyingTarget) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, error) {
	h, err := l.Target.Hold(ctx, req)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil && !l.lied {
		// the first refusal becomes a win: whichever answer came first, the
		// round now has two winners of its seat
		l.lied = true
		return seatmap.HoldView{ID: req.Show + "~fake", Show: req.Show, User: req.User, Seats: req.Seats,
			Quantity: len(req.Seats)}, nil
	}
	return h, err
}

func TestOneSeatRaceCatchesDoubleBooking(t *testing.T) {
	tg := &lyingTarget{Target: NewInProcessTarget(edgetest.NewMemBackend())}
	row := runRace(context.Background(), tg, newRunID("t"), 20, 2)
	failed := map[string]bool{}
	for _, c := range row.checks {
		if !c.OK {
			failed[c.Name] = true
		}
	}
	for _, name := range []string{"exactly one winner per round", "no seat in two holds/orders"} {
		if !failed[name] {
			t.Errorf("check %q passed despite a double booking; checks: %+v", name, row.checks)
		}
	}
}

func TestFlashSaleInProcess(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	tg := NewInProcessTarget(edgetest.NewMemBackend())
	row := runFlash(context.Background(), tg, newRunID("t"), 3000, 600, seed)
	requireChecks(t, row.checks)
	if row.winners+row.losers+row.errors != 3000 || row.errors != 0 {
		t.Fatalf("winners %d + losers %d + errors %d, want 3000 answers and no error", row.winners, row.losers, row.errors)
	}
	// 3000 users asking 1-4 seats each cannot all fit in 600 seats
	if row.winners == 0 || row.losers == 0 || row.winners > 600 {
		t.Fatalf("winners %d losers %d: want both, and at most 600 winners", row.winners, row.losers)
	}
	if !strings.Contains(row.note, "600 seats") {
		t.Fatalf("note %q does not report the capacity", row.note)
	}
}

func TestSeatRaceMainInProcess(t *testing.T) {
	var out bytes.Buffer
	code := SeatRaceMain([]string{"--users", "5,20", "--rounds", "3", "--flash-users", "800", "--seed", "42"}, &out, edgetest.NewMemBackend)
	t.Log(out.String())
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"seed 42", "one-seat race", "flash sale", "p99", "[ok] no seat in two holds/orders"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := strings.Count(out.String(), "  ok\n"); n != 3 {
		t.Errorf("%d rows with invariants ok, want 3", n)
	}
}

func TestSeatRaceMainHTTP(t *testing.T) {
	url := startEdge(t)
	var out bytes.Buffer
	code := SeatRaceMain([]string{"--target", url, "--admin-token", testAdmin, "--users", "5,50", "--rounds", "3",
		"--flash-users", "1000"}, &out, nil)
	t.Log(out.String())
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "against "+url) {
		t.Errorf("output does not name the target")
	}
}

func TestSeatRaceMainUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--users", "0"},
		{"--users", "5,x"},
		{"--target", "http://10.0.0.1:8080"},
		{"--target", "http://example.com"},
	} {
		var out bytes.Buffer
		if code := SeatRaceMain(args, &out, edgetest.NewMemBackend); code != 2 {
			t.Errorf("%v: exit %d, want 2 (output %q)", args, code, out.String())
		}
	}
	var out bytes.Buffer
	SeatRaceMain([]string{"--target", "http://192.168.1.1"}, &out, nil)
	if !strings.Contains(out.String(), "refusing host") {
		t.Errorf("non-loopback refusal is not clear: %q", out.String())
	}
}

func TestParseLoopbackTarget(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080": "127.0.0.1:8080", "http://localhost:99": "127.0.0.1:99",
		"http://[::1]:8080": "[::1]:8080", "http://127.1.2.3": "127.1.2.3:80", "http://127.0.0.1:8080/": "127.0.0.1:8080",
	} {
		addr, _, err := parseLoopbackTarget(in)
		if err != nil || addr != want {
			t.Errorf("%s: %q, %v; want %q", in, addr, err, want)
		}
	}
	for _, in := range []string{"http://10.0.0.1", "http://example.com", "https://127.0.0.1", "127.0.0.1:80",
		"http://127.0.0.1.example.com", "http://127.0.0.1:80/v1"} {
		if _, _, err := parseLoopbackTarget(in); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
}

func TestSaleShowShape(t *testing.T) {
	for _, n := range []int{12, 100, 599, 600, 601, 5000} {
		cfg := saleShow("x"+strconv.Itoa(n), n)
		cfg.Normalize()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%d seats: %v", n, err)
		}
		if got := capacityOf(cfg); got != n {
			t.Fatalf("saleShow(%d) has %d seats", n, got)
		}
	}
}
