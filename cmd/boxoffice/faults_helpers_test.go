package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Shared helpers of the fault tests (faults_*_e2e_test.go): privileges and
// tools, servers started inside network namespaces, a booking workload that
// records every attempt with its timing, and the checks run after recovery.

// requireRoot skips a test that mounts filesystems or builds namespaces.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mounts a filesystem / creates network namespaces); run as root")
	}
}

// requireTools skips when a command is missing (scripts/test-deps installs them).
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: run scripts/test-deps (it installs the Debian packages the fault tests need)", tool)
		}
	}
}

// run runs a command and fails the test with its output on error.
func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startServerIn is startServer for a node that listens on httpAddr and, when
// netns is not empty, runs inside that network namespace (`ip netns exec`
// execs the binary, so the process is the server itself). The server is
// SIGKILLed on cleanup if still running.
func startServerIn(t testing.TB, netns, httpAddr, dataDir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--http", httpAddr, "--data", dataDir, "--admin-token", adminToken,
		"--user-rate", "-1", "--log-level", "info"}, extra...)
	var cmd *exec.Cmd
	if netns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", netns, binPath}, args...)...)
	} else {
		cmd = exec.Command(binPath, args...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s := &server{t: t, cmd: cmd, base: "http://" + httpAddr, log: &bytes.Buffer{}}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); pw.Close(); close(exited) }()
	p := &proc{server: s, done: exited}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("server %s (data %s) log tail:\n%s", s.base, dataDir, tailLines(s.logs(), 60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := callC(fastClient, "GET", s.base+"/readyz", "", nil); code == 200 {
			return p
		}
		select {
		case <-exited:
			t.Fatalf("server %s exited before ready; log:\n%s", s.base, tailLines(s.logs(), 60))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s not ready in 30 s; log:\n%s", s.base, tailLines(s.logs(), 60))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// proc is a server started by startServerIn.
type proc struct {
	*server
	done chan struct{} // closed when the process has ended
}

// killHard SIGKILLs the server and waits for it.
func (p *proc) killHard() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// exited reports whether the server process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// fastClient bounds every request of the fault workloads: a request that
// hangs longer is an error, never a success.
var fastClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// callC is call with a chosen client.
func callC(c *http.Client, method, url, body string, out any, hdr ...string) (int, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding %q: %w", b, err)
		}
	}
	return resp.StatusCode, nil
}

// createShowSized creates a show of `sections` sections of `rows` rows of
// `seats` seats (seat names "s<i>-<row>-<n>").
func createShowSized(t testing.TB, base, id string, sections, rows, seats int) {
	t.Helper()
	var secs []string
	for s := 0; s < sections; s++ {
		var rs []string
		for r := 1; r <= rows; r++ {
			rs = append(rs, fmt.Sprintf(`{"id":"%d","seats":%d}`, r, seats))
		}
		secs = append(secs, fmt.Sprintf(`{"id":"s%d","tier":"std","rows":[%s]}`, s, strings.Join(rs, ",")))
	}
	body := fmt.Sprintf(`{"id":%q,"name":"faults","payment_ttl_seconds":3600,"hold_ttl_seconds":3600,
		"tiers":[{"id":"std","price":100}],"sections":[%s]}`, id, strings.Join(secs, ","))
	var code int
	var err error
	for try := 0; try < 50; try++ {
		code, err = callC(fastClient, "POST", base+"/v1/shows", body, nil, "Authorization", "Bearer "+adminToken)
		if code != 503 && err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || code != 201 {
		t.Fatalf("create show %s: %d %v", id, code, err)
	}
}

// seatNames lists the seats of a show made by createShowSized.
func seatNames(sections, rows, seats int) []string {
	var out []string
	for s := 0; s < sections; s++ {
		for r := 1; r <= rows; r++ {
			for n := 1; n <= seats; n++ {
				out = append(out, fmt.Sprintf("s%d-%d-%d", s, r, n))
			}
		}
	}
	return out
}

// op is one HTTP attempt of the workload.
type op struct {
	Kind       string // "hold", "order", "read"
	Node       int    // index of the node it went to
	Client     int
	Show       string
	Start, End time.Time
	Code       int
	Err        error
	ID         string   // hold id or order id of a success
	HoldID     string   // for an order: the hold it converts
	Seats      []string // requested (hold) or returned (order) seats
	OrderID    string   // for a hold whose order was acknowledged
}

func (o *op) write() bool   { return o.Kind != "read" }
func (o *op) success() bool { return o.Err == nil && o.Code >= 200 && o.Code < 300 }

// ledger records every attempt of the workload.
type ledger struct {
	mu  sync.Mutex
	ops []op
}

func (l *ledger) add(o op) {
	l.mu.Lock()
	l.ops = append(l.ops, o)
	l.mu.Unlock()
}

func (l *ledger) snapshot() []op {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]op(nil), l.ops...)
}

// ackedHolds and ackedOrders: id -> the successful attempt.
func (l *ledger) acked() (holds, orders map[string]op) {
	holds, orders = map[string]op{}, map[string]op{}
	for _, o := range l.snapshot() {
		if !o.success() || o.ID == "" {
			continue
		}
		switch o.Kind {
		case "hold":
			holds[o.ID] = o
		case "order":
			orders[o.ID] = o
		}
	}
	for id, o := range orders {
		if h, ok := holds[o.HoldID]; ok {
			h.OrderID = id
			holds[o.HoldID] = h
		}
	}
	return holds, orders
}

// booker is the booking workload: each client holds specific seats then
// orders the hold, recording every attempt.
type booker struct {
	bases    []string // nodes; client g books through bases[g%len(bases)]
	shows    []string
	seats    []string // seat names of every show
	perHold  int      // seats per hold: 1..perHold
	retry503 int      // attempts of a request answered 503 (0 or 1: no retry)
	pause    time.Duration
	maxOps   int // bound per client
	l        *ledger
}

func (b *booker) run(ctx context.Context, g int, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	base := b.bases[g%len(b.bases)]
	node := g % len(b.bases)
	for i := 0; i < b.maxOps && ctx.Err() == nil; i++ {
		show := b.shows[rng.Intn(len(b.shows))]
		n := 1 + rng.Intn(b.perHold)
		start := rng.Intn(len(b.seats) - n + 1)
		seats := append([]string(nil), b.seats[start:start+n]...)
		quoted := make([]string, n)
		for k, s := range seats {
			quoted[k] = strconv.Quote(s)
		}
		body := fmt.Sprintf(`{"user":"c%d-%d","seats":[%s]}`, g, i, strings.Join(quoted, ","))
		var h holdDoc
		code := b.attempt(ctx, op{Kind: "hold", Node: node, Client: g, Show: show, Seats: seats}, "POST",
			base+"/v1/shows/"+show+"/holds", body, &h, func(o *op) { o.ID = h.ID })
		if code == 201 && h.ID != "" {
			var od orderDoc
			b.attempt(ctx, op{Kind: "order", Node: node, Client: g, Show: show, HoldID: h.ID}, "POST", base+"/v1/orders",
				fmt.Sprintf(`{"show":%q,"hold":%q}`, show, h.ID), &od, func(o *op) { o.ID, o.Seats = od.ID, od.Seats },
				"Idempotency-Key", "k-"+h.ID)
		}
		if b.pause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(b.pause):
			}
		}
	}
}

// attempt sends one write, retrying a 503 up to b.retry503 times (100 ms
// apart), and records each attempt.
func (b *booker) attempt(ctx context.Context, tmpl op, method, url, body string, out any, fill func(*op), hdr ...string) int {
	tries := b.retry503
	if tries < 1 {
		tries = 1
	}
	code := 0
	for try := 0; try < tries; try++ {
		o := tmpl
		o.Start = time.Now()
		o.Code, o.Err = callC(fastClient, method, url, body, out, hdr...)
		o.End = time.Now()
		if o.success() {
			fill(&o)
		}
		b.l.add(o)
		code = o.Code
		if code != 503 || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return code
}

// reader issues GET /v1/shows/{show} until ctx ends, recording each.
func reader(ctx context.Context, l *ledger, base, show string, node, g int, pause time.Duration, maxOps int) {
	for i := 0; i < maxOps && ctx.Err() == nil; i++ {
		o := op{Kind: "read", Node: node, Client: g, Show: show, Start: time.Now()}
		var d showDoc
		o.Code, o.Err = callC(fastClient, "GET", base+"/v1/shows/"+show, "", &d)
		o.End = time.Now()
		l.add(o)
		time.Sleep(pause)
	}
}

// getRetry GETs url, retrying 503 and transport errors for up to 10 s.
func getRetry(url string, out any) (int, error) {
	var code int
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, err = callC(fastClient, "GET", url, "", out)
		if (err == nil && code != 503) || time.Now().After(deadline) {
			return code, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type holdState struct {
	ID    string   `json:"id"`
	Seats []string `json:"seats"`
}

// verifyAcked checks, through every base, that every acknowledged hold and
// order is readable with its seats (a converted hold still answers 200; the
// API does not show which order converted it), that no seat is in two acknowledged orders or holds, and
// that each show's counters add up and cover the acknowledged seats. It
// returns the problems found (each also reported with t.Errorf, capped).
func verifyAcked(t *testing.T, label string, bases []string, l *ledger, shows []string) []string {
	t.Helper()
	holds, orders := l.acked()
	var problems []string
	report := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	for ni, base := range bases {
		lostOrders, lostHolds := 0, 0
		for id, o := range orders {
			var got orderDoc
			code, err := getRetry(base+"/v1/orders/"+id, &got)
			if err != nil || code != 200 {
				lostOrders++
				report("node %d: order %s acknowledged %d at %s (client %d via node %d) answers %d %v",
					ni, id, o.Code, o.End.Format("15:04:05.000"), o.Client, o.Node, code, err)
				continue
			}
			if got.Status != "pending_payment" {
				report("node %d: order %s status %q, want pending_payment", ni, id, got.Status)
			}
			if !sameSeats(got.Seats, o.Seats) {
				report("node %d: order %s seats %v, acknowledged %v", ni, id, got.Seats, o.Seats)
			}
		}
		for id, h := range holds {
			var got holdState
			code, err := getRetry(base+"/v1/shows/"+h.Show+"/holds/"+id, &got)
			if err != nil || code != 200 {
				lostHolds++
				report("node %d: hold %s acknowledged 201 at %s (client %d via node %d) answers %d %v",
					ni, id, h.End.Format("15:04:05.000"), h.Client, h.Node, code, err)
				continue
			}
			if !sameSeats(got.Seats, h.Seats) {
				report("node %d: hold %s seats %v, acknowledged %v", ni, id, got.Seats, h.Seats)
			}
		}
		t.Logf("%s: node %d: %d/%d acknowledged orders and %d/%d acknowledged holds missing", label, ni,
			lostOrders, len(orders), lostHolds, len(holds))
	}
	// no seat in two acknowledged orders, nor in two acknowledged holds
	seatOrders := map[string][]string{}
	for id, o := range orders {
		for _, s := range o.Seats {
			seatOrders[o.Show+"/"+s] = append(seatOrders[o.Show+"/"+s], id)
		}
	}
	doubleSold := 0
	for seat, ids := range seatOrders {
		if len(ids) > 1 {
			doubleSold++
			report("seat %s is in %d acknowledged orders: %v", seat, len(ids), ids)
		}
	}
	seatHolds := map[string][]string{}
	for id, h := range holds {
		for _, s := range h.Seats {
			seatHolds[h.Show+"/"+s] = append(seatHolds[h.Show+"/"+s], id)
		}
	}
	doubleHeld := 0
	for seat, ids := range seatHolds {
		if len(ids) > 1 {
			doubleHeld++
			report("seat %s is in %d acknowledged holds: %v", seat, len(ids), ids)
		}
	}
	t.Logf("%s: %d seats in two acknowledged orders, %d in two acknowledged holds", label, doubleSold, doubleHeld)
	// counters
	for ni, base := range bases {
		for _, show := range shows {
			var d showDoc
			code, err := getRetry(base+"/v1/shows/"+show, &d)
			if err != nil || code != 200 {
				report("node %d: show %s: %d %v", ni, show, code, err)
				continue
			}
			tt := d.Totals
			if tt.Available+tt.Held+tt.Reserved+tt.Sold != tt.Capacity {
				report("node %d: show %s totals do not add up: %+v", ni, show, tt)
			}
			var m struct{ Seats map[string]string }
			if code, err := getRetry(base+"/v1/shows/"+show+"/seats", &m); err != nil || code != 200 {
				report("node %d: seats of %s: %d %v", ni, show, code, err)
				continue
			}
			count := map[string]int{}
			for _, st := range m.Seats {
				count[st]++
			}
			if count["available"] != tt.Available || count["held"] != tt.Held || count["reserved"] != tt.Reserved ||
				count["sold"] != tt.Sold || len(m.Seats) != tt.Capacity {
				report("node %d: show %s seat map %v disagrees with totals %+v", ni, show, count, tt)
			}
			needReserved, needTaken := 0, 0
			for _, o := range orders {
				if o.Show != show {
					continue
				}
				for _, s := range o.Seats {
					needReserved++
					if st := m.Seats[s]; st != "reserved" && st != "sold" {
						report("node %d: seat %s of acknowledged order %s is %q", ni, s, o.ID, st)
					}
				}
			}
			for _, h := range holds {
				if h.Show != show {
					continue
				}
				for _, s := range h.Seats {
					needTaken++
					if st := m.Seats[s]; st == "available" || st == "" {
						report("node %d: seat %s of acknowledged hold %s is %q", ni, s, h.ID, st)
					}
				}
			}
			t.Logf("%s: node %d: show %s totals %+v; acknowledged: %d order seats, %d hold seats",
				label, ni, show, tt, needReserved, needTaken)
		}
	}
	sort.Strings(problems)
	for i, p := range problems {
		if i == 25 {
			t.Errorf("%s: … and %d more problems", label, len(problems)-25)
			break
		}
		t.Errorf("%s: %s", label, p)
	}
	return problems
}

func sameSeats(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// summarize counts a set of attempts by status ("err" for transport errors).
func summarize(ops []op) string {
	m := map[string]int{}
	for _, o := range ops {
		k := strconv.Itoa(o.Code)
		if o.Err != nil {
			k = "err"
		}
		m[k]++
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// percentiles returns p50, p99 and max of ds.
func percentiles(ds []time.Duration) (p50, p99, max time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := func(q float64) int {
		i := int(q*float64(len(s))+0.5) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(s) {
			i = len(s) - 1
		}
		return i
	}
	return s[idx(0.5)], s[idx(0.99)], s[len(s)-1]
}

// metrics reads a node's /metrics into name{labels} -> value.
func metrics(base string) map[string]float64 {
	body, err := httpGet(base + "/metrics")
	out := map[string]float64{}
	if err != nil {
		return out
	}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// readyComponents returns /readyz's status code and components.
func readyComponents(base string) (int, map[string]string) {
	var r struct {
		Status     string
		Components map[string]string
	}
	resp, err := fastClient.Get(base + "/readyz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r.Components
}

// dirBytes sums the sizes and allocated bytes of the files under dir.
func dirBytes(dir string) (size, alloc int64) {
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		size += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			alloc += st.Blocks * 512
		}
		return nil
	})
	return
}

// fillFS writes path until the filesystem answers ENOSPC (1 MiB, then 4 KiB
// writes), syncs it, and returns the bytes written. Calling it again on the
// same path tops the filler up (space the server freed meanwhile).
func fillFS(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return 0, nil
		}
		return 0, err
	}
	defer f.Close()
	var n int64
	for _, size := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, size)
		for {
			w, err := f.Write(buf)
			n += int64(w)
			if err != nil {
				if errors.Is(err, syscall.ENOSPC) {
					break
				}
				return n, err
			}
		}
	}
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		return n, err
	}
	return n, nil
}

// runQuiet runs a command and returns its output and error.
func runQuiet(args ...string) (string, error) {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	return string(out), err
}
