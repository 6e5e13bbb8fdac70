package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkClusterForwarding measures what it costs a hold to arrive at a
// node that does not own its show. Two `boxoffice serve` processes with
// --redis (one redis-server) form a cluster on loopback; one GA show; a
// closed loop of 32 connections posts holds of one seat for fresh users,
// first to the node that owns the show (sub-benchmark owner), then to the
// other node (forwarded), which sends each hold to the owner's actor over
// the cluster transport and relays the answer, then to the owner again
// (owner-again: the show grows by every hold and the machine is shared, so
// x-owner compares forwarded with the mean of the two owner phases). Each phase lasts
// BOXOFFICE_BENCH_DURATION (default 5 s) whatever b.N is; ns/op is wall time
// per hold at that concurrency. Client and both nodes share the machine.
//
//	go test -run '^$' -bench ClusterForwarding -benchtime 1x ./cmd/boxoffice/
func BenchmarkClusterForwarding(b *testing.B) {
	dur := 5 * time.Second
	if s := os.Getenv("BOXOFFICE_BENCH_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		dur = d
	}
	const conns = 32
	c := newCluster(b, 2, 2)
	c.converge("start")
	base := [2]string{c.nodes[0].base, c.nodes[1].base}
	const show = "fwd"
	// The owner is the node whose active shards grow when the show's actor
	// activates (at the latest on the first hold).
	before := [2]int{shardsActive(base[0]), shardsActive(base[1])}
	body := fmt.Sprintf(`{"id":%q,"name":"fwd","hold_ttl_seconds":3600,"payment_ttl_seconds":3600,
		"tiers":[{"id":"std","price":100}],"sections":[{"id":"ga","tier":"std","capacity":5000000}]}`, show)
	if code, err := callC(fastClient, "POST", base[0]+"/v1/shows", body, nil, "Authorization", "Bearer "+adminToken); code != 201 {
		b.Fatalf("create show: %d %v", code, err)
	}
	for _, u := range base {
		if code, err := getRetry(u+"/v1/shows/"+show, nil); code != 200 {
			b.Fatalf("show via %s: %d %v", u, code, err)
		}
	}
	var user atomic.Int64
	hold := func(hc *fasthttp.HostClient, u string, req *fasthttp.Request, resp *fasthttp.Response) (int, error) {
		req.Reset()
		req.SetRequestURI(u + "/v1/shows/" + show + "/holds")
		req.Header.SetMethod("POST")
		req.Header.SetContentType("application/json")
		req.SetBodyString(fmt.Sprintf(`{"user":"u%d","section":"ga","quantity":1}`, user.Add(1)))
		err := hc.DoTimeout(req, resp, 10*time.Second)
		return resp.StatusCode(), err
	}
	client := func(u string) *fasthttp.HostClient {
		return &fasthttp.HostClient{Addr: strings.TrimPrefix(u, "http://"), MaxConns: conns,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	}
	{
		hc, req, resp := client(base[0]), fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, err := hold(hc, base[0], req, resp)
			if code == 201 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("first hold: %d %v %s", code, err, resp.Body())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	after := [2]int{shardsActive(base[0]), shardsActive(base[1])}
	owner := -1
	switch {
	case after[0] > before[0] && after[1] == before[1]:
		owner = 0
	case after[1] > before[1] && after[0] == before[0]:
		owner = 1
	default:
		b.Fatalf("cannot tell the owner: shards active %v before the show, %v after its first hold", before, after)
	}
	b.Logf("node %d owns %s (shards active %v -> %v)", owner, show, before, after)

	var rate [3]float64
	phase := func(b *testing.B, u string, slot int) {
		hc := client(u)
		var ok, failed atomic.Int64
		lats := make([][]time.Duration, conns)
		var firstErr atomic.Value
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		stop := start.Add(dur)
		for g := 0; g < conns; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				for time.Now().Before(stop) {
					s := time.Now()
					code, err := hold(hc, u, req, resp)
					lats[g] = append(lats[g], time.Since(s))
					if code == 201 {
						ok.Add(1)
					} else {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %v %s", code, err, resp.Body()))
					}
				}
			}(g)
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		all := slices.Concat(lats...)
		slices.Sort(all)
		pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
		n := ok.Load()
		rate[slot] = float64(n) / elapsed.Seconds()
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(max(n, 1)), "ns/op")
		b.ReportMetric(rate[slot], "holds/s")
		b.ReportMetric(pct(0.5), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(failed.Load()), "failed")
		if slot == 2 {
			b.ReportMetric(rate[1]/((rate[0]+rate[2])/2), "x-owner")
		}
		if f := failed.Load(); f*100 > n {
			b.Errorf("%d of %d holds failed, first: %v", f, n+f, firstErr.Load())
		}
	}
	b.Run("owner", func(b *testing.B) { phase(b, base[owner], 0) })
	b.Run("forwarded", func(b *testing.B) { phase(b, base[1-owner], 1) })
	b.Run("owner-again", func(b *testing.B) { phase(b, base[owner], 2) })
	if now := [2]int{shardsActive(base[0]), shardsActive(base[1])}; now != after {
		b.Errorf("the show moved during the run: shards active %v, were %v", now, after)
	}
	b.Logf("holds/s: owner %.0f, forwarded %.0f, owner again %.0f; forwarded/owner %.2f", rate[0], rate[1], rate[2],
		rate[1]/max((rate[0]+rate[2])/2, 1))
	for _, n := range c.nodes {
		n.killHard()
	}
}
