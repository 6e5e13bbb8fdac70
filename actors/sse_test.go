package actors

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/actors/stream"
	"github.com/boxoffice/boxoffice/edge"
)

// sseServer serves the API over loopback with the package's booking.
func sseServer(t testing.TB) (string, *Booking) {
	b := newTestBooking()
	srv := edge.New(b, edge.Options{UserRate: -1, Streams: testEnv.Streams, Logger: testEnv.Log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String(), b
}

type sseEvent struct {
	id, typ string
	data    []byte
}

// readSSE sends the stream's events to out until the body ends.
func readSSE(body *bufio.Reader, out chan<- sseEvent) {
	var ev sseEvent
	for {
		line, err := body.ReadString('\n')
		if err != nil {
			close(out)
			return
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if ev.typ != "" {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = []byte(line[6:])
		}
	}
}

func openSSE(t testing.TB, base, show, lastID string) (chan sseEvent, func()) {
	req, _ := http.NewRequest("GET", base+"/v1/shows/"+show+"/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 1<<16)
	go readSSE(bufio.NewReader(resp.Body), ch)
	return ch, func() { resp.Body.Close() }
}

func sseShow(t testing.TB, b *Booking, id string, rows, seats int) {
	cfg := seatmap.ShowConfig{ID: id, HoldTTLSeconds: 600, PaymentTTLSeconds: 900, MaxSeatsPerUser: 1 << 20,
		Tiers: []seatmap.Tier{{ID: "std", Price: 100}}}
	sec := seatmap.Section{ID: "s0", Tier: "std"}
	for r := 1; r <= rows; r++ {
		sec.Rows = append(sec.Rows, seatmap.Row{ID: fmt.Sprint(r), Seats: seats})
	}
	cfg.Sections = []seatmap.Section{sec, {ID: "pit", Tier: "std", Capacity: 50}}
	if _, err := b.CreateShow(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

// TestSSEStream: a subscriber gets a snapshot, then one inventory event per
// change in seq order; rebuilding from them gives GET /v1/shows/{show};
// a reconnect with Last-Event-ID resumes after it without a snapshot; an
// unknown show is 404.
func TestSSEStream(t *testing.T) {
	base, b := sseServer(t)
	show := uniq("sse")
	sseShow(t, b, show, 2, 10)
	ctx := context.Background()
	ch, stop := openSSE(t, base, show, "")
	defer stop()
	first := <-ch
	if first.typ != "snapshot" {
		t.Fatalf("first event %q", first.typ)
	}
	var snap struct {
		Seq      uint64
		Seats    map[string]string
		Sections []seatmap.SectionView
	}
	if err := json.Unmarshal(first.data, &snap); err != nil || len(snap.Seats) != 20 || len(snap.Sections) != 2 {
		t.Fatalf("snapshot %s %v", first.data, err)
	}
	seats, secs := maps.Clone(snap.Seats), map[string]seatmap.SectionView{}
	for _, s := range snap.Sections {
		secs[s.ID] = s
	}
	var holds []string
	for i := 0; i < 8; i++ {
		req := seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", i), Section: "s0", Quantity: 2}
		if i%2 == 1 {
			req.Section = "pit"
		}
		h, _, err := b.Hold(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		holds = append(holds, h.ID)
	}
	for _, h := range holds[:3] {
		if err := b.ReleaseHold(ctx, "", show, h); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := b.CreateOrder(ctx, seatmap.OrderRequest{Show: show, HoldID: holds[4]}); err != nil {
		t.Fatal(err)
	}
	doc, err := b.GetShow(ctx, show)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := b.Seats(ctx, show, "")
	last := snap.Seq
	lastID := ""
	rebuilt := func() bool {
		for _, s := range doc.Sections {
			if secs[s.ID] != s {
				return false
			}
		}
		for _, e := range list {
			if seats[e.ID] != e.State.String() {
				return false
			}
		}
		return true
	}
	// events come merged (one per window per subscriber): apply them until
	// the rebuilt state is the show's
	for n := 0; !rebuilt(); n++ {
		select {
		case ev := <-ch:
			var inv seatmap.InventoryEvent
			if ev.typ != "inventory" || json.Unmarshal(ev.data, &inv) != nil || fmt.Sprint(inv.Seq) != ev.id || inv.Seq <= last {
				t.Fatalf("event %d: %q id %s %s (last %d)", n, ev.typ, ev.id, ev.data, last)
			}
			last, lastID = inv.Seq, ev.id
			for _, c := range inv.Changes {
				seats[c.Seat] = c.State
			}
			for _, s := range inv.Sections {
				secs[s.ID] = s
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("after %d events the stream does not rebuild the show: %v %v", n, secs, doc.Sections)
		}
	}
	// resume: after the 5th-last event, exactly the last ones come, no snapshot
	stop()
	h, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "late", Section: "pit", Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	ch2, stop2 := openSSE(t, base, show, lastID)
	defer stop2()
	select {
	case ev := <-ch2:
		if ev.typ != "inventory" || !strings.Contains(string(ev.data), `"cause":"hold"`) || ev.id == lastID {
			t.Fatalf("resumed with %q %s", ev.typ, ev.data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event after resume")
	}
	_ = h
	// resuming from the snapshot's id (older than the kept windows) takes
	// the ring's events after it, in order, and rebuilds the show
	doc, _ = b.GetShow(ctx, show)
	list, _ = b.Seats(ctx, show, "")
	ch4, stop4 := openSSE(t, base, show, fmt.Sprint(snap.Seq))
	defer stop4()
	seats = maps.Clone(snap.Seats)
	for _, s := range snap.Sections {
		secs[s.ID] = s
	}
	if rebuilt() {
		t.Fatal("the snapshot is already the show's state: nothing to resume")
	}
	after := snap.Seq
	for n := 0; !rebuilt(); n++ {
		select {
		case ev := <-ch4:
			var m stream.Merged
			if ev.typ != "inventory" || json.Unmarshal(ev.data, &m) != nil || m.After != after || m.Seq <= after || fmt.Sprint(m.Seq) != ev.id {
				t.Fatalf("resumed from the snapshot, event %d: %q id %s %s (after %d)", n, ev.typ, ev.id, ev.data, after)
			}
			after = m.Seq
			for _, c := range m.Changes {
				seats[c.Seat] = c.State
			}
			for _, s := range m.Sections {
				secs[s.ID] = s
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("resumed from the snapshot: after %d events the stream does not rebuild the show", n)
		}
	}
	// an id from the future (another node's ring) gets a snapshot
	ch3, stop3 := openSSE(t, base, show, "999999")
	defer stop3()
	if ev := <-ch3; ev.typ != "snapshot" {
		t.Fatalf("future id: %q", ev.typ)
	}
	resp, err := http.Get(base + "/v1/shows/" + uniq("nope") + "/events")
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("unknown show: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

// TestSSESubscriberCost measures what BOXOFFICE_SSE_SUBS (default 1000)
// SSE subscribers of a show cost the holds on that show: two 20,000-seat
// shows on one server, the subscribers (a separate process: this test
// binary re-executed with BOXOFFICE_SSE_CLIENT set) on show A only; 64
// callers hold and release one seat on B, then on A, in alternating 1 s
// phases (ten rounds), so that whatever else runs on the machine falls on
// both alike. It reports holds/s and server CPU per hold with and without
// subscribers, per round and in total. Slow: run it with -run
// TestSSESubscriberCost and BOXOFFICE_SSE_COST=1 (make bench-sse).
func TestSSESubscriberCost(t *testing.T) {
	if url := os.Getenv("BOXOFFICE_SSE_CLIENT"); url != "" {
		sseClientProcess(url)
		return
	}
	if os.Getenv("BOXOFFICE_SSE_COST") == "" {
		t.Skip("set BOXOFFICE_SSE_COST=1")
	}
	subs := 1000
	fmt.Sscan(os.Getenv("BOXOFFICE_SSE_SUBS"), &subs)
	// the package's test env snapshots every 7 records (to exercise
	// snapshots); a show's real cadence is the default
	every := testEnv.SnapshotEvery
	testEnv.SnapshotEvery = 50_000 // Env.defaults
	t.Cleanup(func() { testEnv.SnapshotEvery = every })
	base, b := sseServer(t)
	showA, showB := uniq("ssecost-subs"), uniq("ssecost-none")
	sseShow(t, b, showA, 200, 100)
	sseShow(t, b, showB, 200, 100)

	client := exec.Command(os.Args[0], "-test.run=^TestSSESubscriberCost$")
	client.Env = append(os.Environ(), "BOXOFFICE_SSE_CLIENT="+base+"/v1/shows/"+showA+"/events", fmt.Sprint("BOXOFFICE_SSE_SUBS=", subs))
	client.Stderr = os.Stderr
	stdin, _ := client.StdinPipe()
	pipe, _ := client.StdoutPipe()
	out := bufio.NewReader(pipe)
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	defer client.Process.Kill()
	if line, err := out.ReadString('\n'); err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("subscriber process: %q %v", line, err)
	}

	// phase holds and releases on show for d; holds/s and server µs per hold
	phase := func(show string, d time.Duration) (float64, float64) {
		if dir := os.Getenv("BOXOFFICE_SSE_PROFILE"); dir != "" { // a CPU profile of each phase, to see where it went
			f, err := os.Create(fmt.Sprintf("%s/%s-%d.prof", dir, show, time.Now().UnixNano()))
			if err != nil {
				t.Fatal(err)
			}
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
		const workers = 64
		var holds atomic.Int64
		var wg sync.WaitGroup
		cpu0 := cpuSeconds(syscall.RUSAGE_SELF)
		deadline := time.Now().Add(d)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					h, _, err := b.Hold(context.Background(), seatmap.HoldRequest{Show: show, User: fmt.Sprint("w", w), Section: "s0", Quantity: 1})
					if err != nil {
						t.Error(err)
						return
					}
					holds.Add(1)
					if err := b.ReleaseHold(context.Background(), "", show, h.ID); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		n := float64(holds.Load())
		return n / d.Seconds(), (cpuSeconds(syscall.RUSAGE_SELF) - cpu0) * 1e6 / n
	}
	phase(showB, time.Second) // warm up
	phase(showA, time.Second)
	const rounds = 10
	var ratios []float64
	var sumB, sumA, cpuB, cpuA float64
	for r := 1; r <= rounds; r++ {
		rb, cb := phase(showB, time.Second)
		ra, ca := phase(showA, time.Second)
		sumB, sumA, cpuB, cpuA = sumB+rb, sumA+ra, cpuB+cb, cpuA+ca
		ratios = append(ratios, ra/rb)
		t.Logf("round %2d: holds/s without subscribers %.0f, with %d %.0f (ratio %.3f); server CPU per hold %.1f / %.1f µs",
			r, rb, subs, ra, ra/rb, cb, ca)
	}
	time.Sleep(300 * time.Millisecond)
	stdin.Close() // the client reports, closes its connections and exits
	got, _ := out.ReadString('\n')
	if err := client.Wait(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ratios)
	t.Logf("subscribers: %s", strings.TrimSpace(got))
	t.Logf("mean: without subscribers %.0f holds/s, with %d %.0f holds/s; ratio of sums %.3f, median ratio %.3f (drop %.1f%%); server CPU per hold %.1f / %.1f µs (+%.1f%%)",
		sumB/rounds, subs, sumA/rounds, sumA/sumB, (ratios[rounds/2-1]+ratios[rounds/2])/2,
		100*(1-(ratios[rounds/2-1]+ratios[rounds/2])/2), cpuB/rounds, cpuA/rounds, 100*(cpuA/cpuB-1))
	if strings.HasPrefix(got, "0 events") {
		t.Fatal("the subscribers received nothing")
	}
}

// cpuSeconds is the user+system CPU time of who (RUSAGE_SELF, RUSAGE_CHILDREN).
func cpuSeconds(who int) float64 {
	var ru syscall.Rusage
	syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// sseClientProcess is the subscriber side of TestSSESubscriberCost: it
// opens BOXOFFICE_SSE_SUBS streams on url, says "ready", reads them until
// its stdin closes, then reports what it received and exits.
func sseClientProcess(url string) {
	subs := 1000
	fmt.Sscan(os.Getenv("BOXOFFICE_SSE_SUBS"), &subs)
	tr := &http.Transport{MaxIdleConnsPerHost: subs + 10, MaxConnsPerHost: 0}
	cl := &http.Client{Transport: tr}
	var bytes, events, dropped atomic.Int64
	var first sync.WaitGroup
	first.Add(subs)
	for i := 0; i < subs; i++ {
		resp, err := cl.Get(url)
		if err != nil {
			fmt.Fprintln(os.Stderr, "subscriber:", err)
			os.Exit(1)
		}
		go func() {
			r := bufio.NewReader(resp.Body)
			seen := false
			for {
				line, err := r.ReadSlice('\n')
				bytes.Add(int64(len(line)))
				if err != nil && err != bufio.ErrBufferFull {
					dropped.Add(1)
					return
				}
				if len(line) > 6 && string(line[:6]) == "event:" {
					events.Add(1)
					if !seen {
						seen = true
						first.Done()
					}
				}
			}
		}()
	}
	first.Wait() // every stream has its snapshot
	fmt.Println("ready")
	cpu0, start := cpuSeconds(syscall.RUSAGE_SELF), time.Now()
	io.Copy(io.Discard, os.Stdin)
	fmt.Printf("%d events, %d bytes received by %d subscribers, %d streams ended early; subscriber process %.0f%% of a CPU\n",
		events.Load(), bytes.Load(), subs, dropped.Load(), 100*(cpuSeconds(syscall.RUSAGE_SELF)-cpu0)/time.Since(start).Seconds())
	os.Exit(0)
}

// TestStreamBeforeAnswer: a hold's inventory event is on the show's stream
// before its caller has the answer (the answerer publishes a durable
// group's inventory, then sends its answers), so that a page that reads the
// stream after a purchase never shows the seat still free.
func TestStreamBeforeAnswer(t *testing.T) {
	b := newTestBooking()
	show := uniq("order")
	const capacity = 300
	cfg := seatmap.ShowConfig{ID: show, HoldTTLSeconds: 600, Tiers: []seatmap.Tier{{ID: "std", Price: 100}},
		Sections: []seatmap.Section{{ID: "ga", Tier: "std", Capacity: capacity}}}
	if _, err := b.CreateShow(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	st := testEnv.Streams.Show(show)
	var mu sync.Mutex // protects held
	held := 0
	var wg sync.WaitGroup
	errs := make(chan error, capacity)
	for c := range 4 { // concurrent callers: answers of one group come out together
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range capacity / 4 {
				_, _, err := b.Hold(context.Background(), seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", c, "-", i), Section: "ga", Quantity: 1})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				held++
				n := held
				mu.Unlock()
				// every hold answered so far is on the stream
				if _, _, avail := st.State(); avail > capacity-n {
					errs <- fmt.Errorf("%d holds answered, the stream says %d of %d available", n, avail, capacity)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
