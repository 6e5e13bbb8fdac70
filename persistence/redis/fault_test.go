package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

func TestNoScriptReloads(t *testing.T) {
	srv, c := openServer(t, nil)
	shards := []string{"ns/0", "ns/1", "ns/2", "ns/3"}
	epoch := map[string]uint64{}
	for _, s := range shards {
		epoch[s] = activate(t, c, s)
	}
	seq := uint64(0)
	round := func() {
		t.Helper()
		var cps []Checkpoint
		for _, s := range shards {
			cps = append(cps, Checkpoint{Shard: s, Epoch: epoch[s], Entries: entries(s, seq+1, seq+2)})
		}
		mustApply(t, c, cps...) // one pipeline
		seq += 2
	}
	round()
	if r, err := srv.Do("SCRIPT", "FLUSH"); err != nil || r != "+OK" {
		t.Fatalf("SCRIPT FLUSH: %q %v", r, err)
	}
	round() // pipelined EVALSHA hits NOSCRIPT, reloads, retries
	if n := c.Metrics()["script_reloads"]; n < 1 {
		t.Fatalf("script_reloads %v after SCRIPT FLUSH, want >= 1", n)
	}
	// single calls recover too
	if _, err := srv.Do("SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		checkState(t, load(t, c, s), s, seq, 0, nil)
	}
	// a restarted Redis has no scripts either (catchUp also handles an AOF
	// that missed the last second, which an OS crash could cause)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		catchUp(t, c, s, &epoch, seq+3)
		checkState(t, load(t, c, s), s, seq+3, 0, nil)
	}
}

// catchUp does what a shard's writer does after a failure: send the
// entries Redis lacks up to upto, continuing from GapError.Have, and
// re-activate if Redis lost the activation.
func catchUp(t testing.TB, c *Client, shard string, epochs *map[string]uint64, upto uint64) {
	t.Helper()
	from := uint64(1)
	for attempt := 0; attempt < 50; attempt++ {
		err := c.Apply(context.Background(), Checkpoint{Shard: shard, Epoch: (*epochs)[shard], Entries: entries(shard, from, upto)})[0]
		var gap *GapError
		switch {
		case err == nil:
			return
		case errors.As(err, &gap):
			from = gap.Have + 1
		case errors.Is(err, ErrFenced):
			t.Logf("%s: %v; activating again", shard, err)
			if e, err := c.Activate(context.Background(), shard); err == nil {
				(*epochs)[shard] = e
			}
		default:
			time.Sleep(20 * time.Millisecond) // Redis still coming up
		}
	}
	t.Fatalf("%s: could not catch up to %d", shard, upto)
}

// TestKillMidLoad keeps 8 shards checkpointing while Redis is SIGKILLed and
// restarted: Apply fails while it is down, Healthy goes false then true,
// and the shards catch up in order afterwards (resending what Redis lost from
// its last second of AOF), so that Load returns every entry.
func TestKillMidLoad(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var mu sync.Mutex
	var changes []bool
	srv, c := openServer(t, func(o *Options) {
		o.OnChange = func(h bool) { mu.Lock(); changes = append(changes, h); mu.Unlock() }
		o.ReadTimeout, o.WriteTimeout, o.DialTimeout = 500*time.Millisecond, 500*time.Millisecond, 200*time.Millisecond
	})
	const nShards = 8
	shards := make([]string, nShards)
	epochs := map[string]uint64{}
	acked := map[string]uint64{} // Redis confirmed up to here
	gen := map[string]uint64{}   // the shard produced up to here
	for i := range shards {
		shards[i] = fmt.Sprintf("kill/%d", i)
		epochs[shards[i]] = activate(t, c, shards[i])
	}
	var failedWhileDown, applied, lost int
	round := func() {
		var cps []Checkpoint
		for _, s := range shards {
			gen[s] += 1 + uint64(rng.IntN(3)) // the shard keeps serving on its local journal
			cps = append(cps, Checkpoint{Shard: s, Epoch: epochs[s], Entries: entries(s, acked[s]+1, gen[s])})
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for i, err := range c.Apply(ctx, cps...) {
			s := shards[i]
			var gap *GapError
			switch {
			case err == nil:
				acked[s] = gen[s]
				applied++
			case errors.As(err, &gap):
				if gap.Have < acked[s] {
					lost++ // Redis lost acknowledged entries (AOF everysec): resend them
				}
				acked[s] = gap.Have
			case errors.Is(err, ErrFenced): // Redis lost our Activate: activate again
				if e, err := c.Activate(ctx, s); err == nil {
					epochs[s] = e
				}
			default:
				failedWhileDown++
			}
		}
	}
	phase := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); {
			round()
			time.Sleep(2 * time.Millisecond)
		}
	}
	phase(300 * time.Millisecond)
	if applied == 0 || !c.Healthy() {
		t.Fatalf("before the kill: %d applied, healthy %v", applied, c.Healthy())
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	phase(300 * time.Millisecond)
	if failedWhileDown == 0 {
		t.Fatal("no Apply failed while Redis was down")
	}
	waitFor(t, "Healthy() false", 2*time.Second, func() bool { return !c.Healthy() })
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Healthy() true", 5*time.Second, c.Healthy)
	phase(200 * time.Millisecond)
	// stop producing; drain
	for i := 0; i < 100; i++ {
		behind := false
		for _, s := range shards {
			if acked[s] != gen[s] {
				behind = true
			}
		}
		if !behind {
			break
		}
		for _, s := range shards { // round() produces; drain without producing
			gen[s]--
		}
		round()
	}
	for _, s := range shards {
		if acked[s] != gen[s] {
			t.Fatalf("%s: acked %d of %d after draining", s, acked[s], gen[s])
		}
		checkState(t, load(t, c, s), s, gen[s], 0, nil)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) < 2 || changes[0] || !changes[len(changes)-1] {
		t.Fatalf("OnChange calls %v, want false ... true", changes)
	}
	t.Logf("%d checkpoints applied, %d failed while down, %d times Redis had lost acknowledged entries; health changes %v; metrics %v",
		applied, failedWhileDown, lost, changes, c.Metrics())
}

// TestRedisLostData: Redis comes back empty (its disk was lost). The
// activation's epoch is unknown there, so it is fenced; after a new Activate
// the shard's writes hit a gap at 0 and a snapshot alone catches Redis up.
func TestRedisLostData(t *testing.T) {
	srv, c := openServer(t, nil)
	ctx := context.Background()
	s := "lost/0"
	e := activate(t, c, s)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 1, 5)})
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	wipeDir(t, srv.Dir())
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	var err error
	waitFor(t, "an answer from the restarted Redis", 5*time.Second, func() bool {
		err = c.Apply(ctx, Checkpoint{Shard: s, Epoch: e, Entries: entries(s, 6, 6)})[0]
		return errors.Is(err, ErrFenced) || errors.Is(err, ErrGap) || err == nil
	})
	wantFenced(t, err)
	if !strings.Contains(err.Error(), "lost data") {
		t.Fatalf("fenced error %q does not say Redis lost data", err)
	}
	e2 := activate(t, c, s)
	wantGap(t, c.Apply(ctx, Checkpoint{Shard: s, Epoch: e2, Entries: entries(s, 6, 6)})[0], 0)
	mustApply(t, c, Checkpoint{Shard: s, Epoch: e2, Snapshot: []byte("S5"), SnapshotSeq: 5},
		Checkpoint{Shard: s, Epoch: e2, Entries: entries(s, 6, 6)})
	checkState(t, load(t, c, s), s, 6, 5, []byte("S5"))
}

// TestTolerateDown opens a client while Redis is down; it starts unhealthy
// and works once Redis is up.
func TestTolerateDown(t *testing.T) {
	srv := redistest.StartServer(t)
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	opt := Options{Addr: srv.URL(), Logger: testLogger(t), HealthInterval: 50 * time.Millisecond,
		HealthMinBackoff: 20 * time.Millisecond, HealthMaxBackoff: 100 * time.Millisecond}
	ctx := context.Background()
	if _, err := Open(ctx, opt); err == nil {
		t.Fatal("Open succeeded with Redis down")
	}
	opt.TolerateDown = true
	c := openClient(t, opt)
	if c.Healthy() {
		t.Fatal("healthy with Redis down")
	}
	if _, err := c.Activate(ctx, "down/0"); err == nil {
		t.Fatal("Activate succeeded with Redis down")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Healthy()", 5*time.Second, c.Healthy)
	e := activate(t, c, "down/0")
	mustApply(t, c, Checkpoint{Shard: "down/0", Epoch: e, Entries: entries("down/0", 1, 1)})
}

func TestPasswordURL(t *testing.T) {
	srv := redistest.StartServer(t, redistest.WithPassword("s3cret"))
	c := openClient(t, Options{Addr: srv.URL(), Logger: testLogger(t)})
	e := activate(t, c, "pw/0")
	mustApply(t, c, Checkpoint{Shard: "pw/0", Epoch: e, Entries: entries("pw/0", 1, 2)})
	if _, err := Open(context.Background(), Options{Addr: srv.Addr(), Password: "wrong", Logger: testLogger(t)}); err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
}

// wipeDir removes a server's data (AOF directory and files).
func wipeDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "redis.log" {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
}
