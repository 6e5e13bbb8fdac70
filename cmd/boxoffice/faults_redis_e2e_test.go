package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// TestRedisStopped: Redis is frozen with SIGSTOP (connections stay open and
// hang, nothing is refused) for 10 s while clients hold seats and order
// holds and readers GET the show.
//
// Required: a write that started more than 1 s after the SIGSTOP never
// succeeds (no 2xx) and answers 503 within 100 ms; reads keep answering 200;
// /readyz reports redis degraded; after SIGCONT writes succeed again within
// 1 s. Then the node is SIGKILLed, its --data deleted, and a new node on the
// same Redis serves every acknowledged order with its status.
func TestRedisStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server; 10 s outage")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rs := redistest.StartServer(t)
	t.Cleanup(func() { _ = rs.Signal(syscall.SIGCONT) })
	data := t.TempDir()
	s := startServerIn(t, "", freeAddr(t), data, "--redis", rs.Addr())
	const sections, rows, perRow = 4, 20, 100
	createShowSized(t, s.base, "rstop", sections, rows, perRow)
	seats := seatNames(sections, rows, perRow)

	// holds made before the outage, for orders attempted during it
	l := &ledger{}
	pool := make(chan string, 400)
	for i := 0; i < 200; i++ {
		seat := seats[len(seats)-1-i]
		var h holdDoc
		start := time.Now()
		if code, err := callC(fastClient, "POST", s.base+"/v1/shows/rstop/holds", fmt.Sprintf(`{"user":"p%d","seats":[%q]}`, i, seat), &h); err != nil || code != 201 {
			t.Fatalf("pool hold %d: %d %v", i, code, err)
		}
		l.add(op{Kind: "hold", Client: -1, Show: "rstop", Seats: []string{seat}, Start: start, End: time.Now(), Code: 201, ID: h.ID})
		pool <- h.ID
	}
	b := &booker{bases: []string{s.base}, shows: []string{"rstop"}, seats: seats[:len(seats)-200], perHold: 2,
		retry503: 1, pause: 10 * time.Millisecond, maxOps: 3000, l: l}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			crng := rand.New(rand.NewSource(seed + int64(g)))
			for i := 0; i < b.maxOps && ctx.Err() == nil; i++ {
				// a new hold of specific seats, then an order: of it, or of a pooled hold
				n := 1 + crng.Intn(b.perHold)
				k := crng.Intn(len(b.seats) - n)
				var h holdDoc
				body := fmt.Sprintf(`{"user":"c%d-%d","seats":[%q%s]}`, g, i, b.seats[k], map[bool]string{true: fmt.Sprintf(",%q", b.seats[k+1]), false: ""}[n == 2])
				code := b.attempt(ctx, op{Kind: "hold", Client: g, Show: "rstop", Seats: b.seats[k : k+n]}, "POST",
					s.base+"/v1/shows/rstop/holds", body, &h, func(o *op) { o.ID = h.ID })
				holdID := h.ID
				if code != 201 || holdID == "" {
					select {
					case holdID = <-pool:
					default:
						holdID = ""
					}
				}
				if holdID != "" {
					var od orderDoc
					hid := holdID
					b.attempt(ctx, op{Kind: "order", Client: g, Show: "rstop", HoldID: hid}, "POST", s.base+"/v1/orders",
						fmt.Sprintf(`{"show":"rstop","hold":%q}`, hid), &od, func(o *op) { o.ID, o.Seats = od.ID, od.Seats },
						"Idempotency-Key", "k-"+hid)
				}
				time.Sleep(b.pause)
			}
		}(g)
	}
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) { defer wg.Done(); reader(ctx, l, s.base, "rstop", 0, 100+g, 20*time.Millisecond, 3000) }(g)
	}
	type probe struct {
		at    time.Time
		code  int
		redis string
	}
	var probes []probe
	var pmu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 400 && ctx.Err() == nil; i++ {
			at := time.Now()
			code, comp := readyComponents(s.base)
			pmu.Lock()
			probes = append(probes, probe{at, code, comp["redis"]})
			pmu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()

	time.Sleep(2 * time.Second)
	if err := rs.Signal(syscall.SIGSTOP); err != nil {
		cancel()
		wg.Wait()
		t.Fatal(err)
	}
	tStop := time.Now()
	t.Logf("redis SIGSTOP at %s", tStop.Format("15:04:05.000"))
	time.Sleep(10 * time.Second)
	if err := rs.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	tCont := time.Now()
	t.Logf("redis SIGCONT at %s (+%.2fs)", tCont.Format("15:04:05.000"), tCont.Sub(tStop).Seconds())
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && !okAfter(l, tCont); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()

	// during the outage (writes that started after stop+1 s)
	grace := tStop.Add(time.Second)
	var outWrites, outReads, earlyWrites []op
	var lat503, latRead []time.Duration
	for _, o := range l.snapshot() {
		if o.Start.Before(tStop) || !o.Start.Before(tCont) {
			continue
		}
		if !o.write() {
			outReads = append(outReads, o)
			latRead = append(latRead, o.End.Sub(o.Start))
			continue
		}
		if o.Start.Before(grace) {
			earlyWrites = append(earlyWrites, o)
			continue
		}
		outWrites = append(outWrites, o)
		if o.Err == nil && o.Code == 503 {
			lat503 = append(lat503, o.End.Sub(o.Start))
		}
	}
	t.Logf("writes started in the first second of the outage: %s", summarize(earlyWrites))
	t.Logf("writes started after stop+1s and before SIGCONT: %s", summarize(outWrites))
	p50, p99, max := percentiles(lat503)
	t.Logf("503 latencies (%d): p50 %v p99 %v max %v", len(lat503), p50.Round(time.Microsecond), p99.Round(time.Microsecond), max.Round(time.Microsecond))
	r50, r99, rmax := percentiles(latRead)
	t.Logf("reads during the outage: %s; latency p50 %v p99 %v max %v", summarize(outReads), r50.Round(time.Microsecond), r99.Round(time.Microsecond), rmax.Round(time.Microsecond))
	succeeded, slow, other := 0, 0, 0
	for _, o := range outWrites {
		d := o.End.Sub(o.Start)
		switch {
		case o.success():
			succeeded++
			if succeeded <= 5 {
				t.Errorf("%s started +%.3fs into the outage answered %d after %v: a write succeeded without Redis", o.Kind, o.Start.Sub(tStop).Seconds(), o.Code, d.Round(time.Millisecond))
			}
		case o.Err != nil || o.Code != 503:
			if o.Code != 409 { // seats taken before the outage: answered without a write
				other++
				if other <= 5 {
					t.Errorf("%s started +%.3fs into the outage answered %d %v after %v, want 503", o.Kind, o.Start.Sub(tStop).Seconds(), o.Code, o.Err, d.Round(time.Millisecond))
				}
			}
		case d > 100*time.Millisecond:
			slow++
			if slow <= 5 {
				t.Errorf("%s started +%.3fs into the outage took %v to answer 503 (limit 100 ms)", o.Kind, o.Start.Sub(tStop).Seconds(), d.Round(time.Millisecond))
			}
		}
	}
	if succeeded+slow+other > 0 {
		t.Errorf("during the outage: %d writes succeeded, %d answered 503 after more than 100 ms, %d answered something else (of %d)", succeeded, slow, other, len(outWrites))
	}
	if len(outWrites) == 0 {
		t.Errorf("no write was attempted after stop+1s: the clients hung")
	}
	badReads := 0
	for _, o := range outReads {
		if o.Err != nil || o.Code != 200 {
			badReads++
			if badReads <= 5 {
				t.Errorf("read started +%.3fs into the outage answered %d %v", o.Start.Sub(tStop).Seconds(), o.Code, o.Err)
			}
		}
	}
	if len(outReads) == 0 {
		t.Errorf("no read completed during the outage")
	}
	pmu.Lock()
	notDegraded, seen := 0, 0
	firstDegraded := time.Duration(-1)
	for _, p := range probes {
		if p.at.Before(tStop) || !p.at.Before(tCont) {
			continue
		}
		if p.redis == "degraded" && firstDegraded < 0 {
			firstDegraded = p.at.Sub(tStop)
		}
		if p.at.Before(grace) {
			continue
		}
		seen++
		if p.redis != "degraded" {
			notDegraded++
		}
	}
	pmu.Unlock()
	t.Logf("/readyz: first redis=degraded %v after the SIGSTOP; %d of %d probes after stop+1s did not say degraded", firstDegraded.Round(time.Millisecond), notDegraded, seen)
	if seen == 0 || notDegraded > 0 {
		t.Errorf("/readyz did not report redis degraded throughout the outage: %d of %d probes after stop+1s said otherwise", notDegraded, seen)
	}
	firstOK := time.Duration(-1)
	for _, o := range l.snapshot() {
		if o.write() && o.success() && o.Start.After(tCont) && (firstOK < 0 || o.End.Sub(tCont) < firstOK) {
			firstOK = o.End.Sub(tCont)
		}
	}
	t.Logf("first write acknowledged %v after SIGCONT", firstOK.Round(time.Millisecond))
	if firstOK < 0 || firstOK > time.Second {
		t.Errorf("writes did not succeed again within 1 s of SIGCONT (first success after %v; -1 = none in 3.5 s)", firstOK.Round(time.Millisecond))
	}

	// the disk is lost: Redis alone must hold every acknowledged order
	time.Sleep(time.Second)
	s.killHard()
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	s2 := startServerIn(t, "", freeAddr(t), t.TempDir(), "--redis", rs.Addr())
	holds, orders := l.acked()
	t.Logf("%d holds and %d orders acknowledged in all; checking them on a node with an empty --data", len(holds), len(orders))
	verifyAcked(t, "from Redis alone", []string{s2.base}, l, []string{"rstop"})
	s2.killHard()
}
