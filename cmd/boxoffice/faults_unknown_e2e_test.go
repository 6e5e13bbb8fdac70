package main

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// TestUnknownShowCostsNothing: 2,000 GET /v1/shows/<random id> on a node
// with --redis all answer 404 show_not_found and leave no trace: no new
// Redis keys (DBSIZE), no growth of --data beyond noise (64 KiB), and no
// growth of any shard or actor gauge on /metrics.
func TestUnknownShowCostsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rs := redistest.StartServer(t)
	data := t.TempDir()
	s := startServerIn(t, "", freeAddr(t), data, "--redis", rs.Addr())
	createShowSized(t, s.base, "known", 1, 1, 10) // one real show, so the node has done a write
	time.Sleep(time.Second)
	keysBefore, err := rs.Do("DBSIZE")
	if err != nil {
		t.Fatal(err)
	}
	sizeBefore, allocBefore := dirBytes(data)
	mBefore := metrics(s.base)

	rng := rand.New(rand.NewSource(seed))
	ids := make([]string, 2000)
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := range ids {
		b := make([]byte, 6+rng.Intn(20))
		for k := range b {
			b[k] = alphabet[rng.Intn(len(alphabet))]
		}
		ids[i] = string(b)
	}
	var mu sync.Mutex
	answers := map[string]int{}
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < len(ids); i += 4 {
				var e struct{ Error struct{ Code string } }
				t0 := time.Now()
				code, err := callErr("GET", s.base+"/v1/shows/"+ids[i], &e)
				d := time.Since(t0)
				key := fmt.Sprintf("%d %s", code, e.Error.Code)
				if err != nil {
					key = "error " + err.Error()
				}
				mu.Lock()
				answers[key]++
				lat = append(lat, d)
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	took := time.Since(start)
	time.Sleep(time.Second) // let anything asynchronous land
	keysAfter, err := rs.Do("DBSIZE")
	if err != nil {
		t.Fatal(err)
	}
	sizeAfter, allocAfter := dirBytes(data)
	mAfter := metrics(s.base)
	p50, p99, max := percentiles(lat)
	t.Logf("2000 unknown shows in %v: answers %v; latency p50 %v p99 %v max %v", took.Round(time.Millisecond), answers,
		p50.Round(time.Microsecond), p99.Round(time.Microsecond), max.Round(time.Microsecond))
	t.Logf("redis DBSIZE %s -> %s; --data size %d -> %d bytes (allocated %d -> %d)", keysBefore, keysAfter, sizeBefore, sizeAfter, allocBefore, allocAfter)
	if n := answers["404 show_not_found"]; n != len(ids) {
		t.Errorf("%d of %d answers were 404 show_not_found: %v", n, len(ids), answers)
	}
	if keysAfter != keysBefore {
		t.Errorf("unknown shows created Redis keys: DBSIZE %s before, %s after", keysBefore, keysAfter)
	}
	if grow := sizeAfter - sizeBefore; grow > 64<<10 {
		t.Errorf("unknown shows grew --data by %d bytes (noise limit 64 KiB)", grow)
	}
	var grew []string
	for name, after := range mAfter {
		l := strings.ToLower(name)
		if !(strings.Contains(l, "shard") || strings.Contains(l, "actor") || strings.Contains(l, "activation")) ||
			strings.Contains(l, "_total") || strings.HasPrefix(l, "boxoffice_perf_") {
			continue
		}
		if after > mBefore[name] {
			grew = append(grew, fmt.Sprintf("%s %v -> %v", name, mBefore[name], after))
		}
	}
	sort.Strings(grew)
	t.Logf("shard/actor gauges: shards_active %v -> %v", mBefore["boxoffice_shards_active"], mAfter["boxoffice_shards_active"])
	if len(grew) > 0 {
		t.Errorf("unknown shows grew shard/actor gauges: %s", strings.Join(grew, "; "))
	}
	s.killHard()
}

// callErr is a GET that decodes error bodies too.
func callErr(method, url string, out any) (int, error) { return call(method, url, "", out) }
