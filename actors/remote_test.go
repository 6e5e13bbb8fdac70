package actors

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/redis"
	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// remoteShard runs one standalone shard actor journaling to j and checkpointing to rc.
type remoteShard struct {
	t   *testing.T
	pid *actor.PID
	env *Env
}

func startRemoteShard(t *testing.T, id string, j Journal, rc Remote) *remoteShard {
	env := &Env{Journal: j, Remote: rc, Log: testEnv.Log, SnapshotEvery: 25}
	pid := testNode.System.Root.Spawn(ShowProps(env, id))
	t.Cleanup(func() { testNode.System.Root.Stop(pid) })
	return &remoteShard{t: t, pid: pid, env: env}
}

func (s *remoteShard) do(cmd seatmap.Command) seatmap.Result {
	ch := make(chan seatmap.Result, 1)
	testNode.System.Root.Send(s.pid, &request{cmd: cmd, reply: ch})
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		s.t.Fatal("shard did not answer")
		return seatmap.Result{}
	}
}

func openRedis(t *testing.T, addr string) *redis.Client { return openRedisB(t, addr) }

func openRedisB(t testing.TB, addr string) *redis.Client {
	rc, err := redis.Open(context.Background(), redis.Options{Addr: addr, TolerateDown: true,
		HealthInterval: 100 * time.Millisecond, HealthMaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return rc
}

// TestRedisRecoveryFromRedisAlone: a shard's node loses its disk; a new
// activation on an empty journal resumes from Redis with every acknowledged
// hold and order, and the timers of the recovered holds still run.
func TestRedisRecoveryFromRedisAlone(t *testing.T) {
	srv := redistest.StartServer(t)
	rc := openRedis(t, srv.Addr())
	show := uniq("rr")
	id := show
	cfg := stadium(show, 2, 3, 20, 32)
	a := startRemoteShard(t, id, NewMemJournal(), rc)
	if r := a.do(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	var orders []string
	for i := 0; i < 40; i++ { // > SnapshotEvery: Redis gets a snapshot and entries
		h := fmt.Sprintf("%s~h%d", show, i)
		if r := a.do(seatmap.Command{Kind: seatmap.KindHold, User: fmt.Sprint("u", i), HoldID: h, Section: "s0", Quantity: 1}); r.Err != nil {
			t.Fatal(r.Err)
		}
		if i%2 == 0 {
			o := h + "o"
			if r := a.do(seatmap.Command{Kind: seatmap.KindOrder, HoldID: h, OrderID: o}); r.Err != nil {
				t.Fatal(r.Err)
			}
			orders = append(orders, o)
		}
	}
	before := a.do(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	testNode.System.Root.PoisonFuture(a.pid).Wait()

	b := startRemoteShard(t, id, NewMemJournal(), rc) // an empty disk
	after := b.do(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	if fmt.Sprint(after.Sections) != fmt.Sprint(before.Sections) {
		t.Fatalf("recovered %v, want %v", after.Sections, before.Sections)
	}
	for _, o := range orders {
		if r := b.do(seatmap.Command{Kind: seatmap.KindGetOrder, OrderID: o}); r.Err != nil {
			t.Fatalf("order %s lost: %v", o, r.Err)
		}
	}
	// an ordered seat cannot be held again
	taken := b.do(seatmap.Command{Kind: seatmap.KindGetOrder, OrderID: orders[0]}).Order.Seats[0]
	if r := b.do(seatmap.Command{Kind: seatmap.KindHold, User: "x", HoldID: show + "~x", Seats: []string{taken}}); !errors.Is(r.Err, seatmap.ErrSeatsUnavailable) {
		t.Fatalf("ordered seat %s held again: %v", taken, r.Err)
	}
	// the new activation writes on: Redis follows
	if r := b.do(seatmap.Command{Kind: seatmap.KindHold, User: "y", HoldID: show + "~y", Section: "s1", Quantity: 2}); r.Err != nil {
		t.Fatal(r.Err)
	}
	st, err := rc.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	sh, _, err := shardFromRemote(st)
	if err != nil {
		t.Fatal(err)
	}
	live := b.do(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	if fmt.Sprint(sh.Sections()) != fmt.Sprint(live.Sections) {
		t.Fatalf("redis holds %v, live %v", sh.Sections(), live.Sections)
	}
}

// TestRedisFencing: a second activation of a shard makes the first one's next
// write fail, and the first stops serving.
func TestRedisFencing(t *testing.T) {
	srv := redistest.StartServer(t)
	rc := openRedis(t, srv.Addr())
	show := uniq("fence")
	id := show
	cfg := stadium(show, 1, 1, 10, 32)
	fencedBefore := testEnv.Stats.Fenced.Load()
	a := startRemoteShard(t, id, NewMemJournal(), rc)
	if r := a.do(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := a.do(seatmap.Command{Kind: seatmap.KindHold, User: "u", HoldID: show + "~a", Seats: []string{"s0-1-1"}}); r.Err != nil {
		t.Fatal(r.Err)
	}
	b := startRemoteShard(t, id, NewMemJournal(), rc) // the newer activation, elsewhere
	if r := b.do(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: show + "~a"}); r.Err != nil {
		t.Fatalf("the new activation lacks the hold: %v", r.Err)
	}
	r := a.do(seatmap.Command{Kind: seatmap.KindHold, User: "u", HoldID: show + "~b", Seats: []string{"s0-1-2"}})
	if !errors.Is(r.Err, seatmap.ErrUnavailable) {
		t.Fatalf("the old activation's write after fencing: %v", r.Err)
	}
	// the fenced activation stops, so callers resolve the identity again
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, alive := testNode.System.ProcessRegistry.Get(a.pid); !alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the fenced activation still runs")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a.env.Stats.Fenced.Load() != 1 || testEnv.Stats.Fenced.Load() != fencedBefore {
		t.Fatalf("fenced count %d", a.env.Stats.Fenced.Load())
	}
	if r := b.do(seatmap.Command{Kind: seatmap.KindHold, User: "v", HoldID: show + "~c", Seats: []string{"s0-1-2"}}); r.Err != nil {
		t.Fatalf("the new activation cannot write: %v", r.Err)
	}
}

// TestRedisDownUnderLoad: Redis is killed while a show takes holds; every
// write answers 503 while it is down (nothing is acknowledged on the local
// journal alone), reads keep answering, and once Redis is back writes resume
// and Redis holds everything that was acknowledged.
func TestRedisDownUnderLoad(t *testing.T) {
	srv := redistest.StartServer(t)
	rc := openRedis(t, srv.Addr())
	show := uniq("down")
	id := show
	cfg := stadium(show, 2, 10, 20, 32)
	a := startRemoteShard(t, id, NewMemJournal(), rc)
	if r := a.do(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	hold := func(i int) error {
		return a.do(seatmap.Command{Kind: seatmap.KindHold, User: fmt.Sprint("u", i), HoldID: fmt.Sprintf("%s~h%d", show, i), Section: "s0", Quantity: 1}).Err
	}
	for i := 0; i < 20; i++ {
		if err := hold(i); err != nil {
			t.Fatalf("hold %d: %v", i, err)
		}
	}
	srv.Kill()
	for i := 20; i < 120; i++ {
		if err := hold(i); !errors.Is(err, seatmap.ErrUnavailable) {
			t.Fatalf("hold %d while Redis is down: %v", i, err)
		}
	}
	if r := a.do(seatmap.Command{Kind: seatmap.KindGetShow}); r.Err != nil || r.Show.Sections[0].Held != 20 {
		t.Fatalf("read while Redis is down: %+v", r)
	}
	srv.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for hold(200) != nil {
		if time.Now().After(deadline) {
			t.Fatal("writes did not resume after Redis came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := a.do(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	st, err := rc.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	sh, _, err := shardFromRemote(st)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sh.Sections()) != fmt.Sprint(want.Sections) || want.Sections[0].Held != 21 {
		t.Fatalf("redis holds %v, live %v", sh.Sections(), want.Sections)
	}
}

// TestRedisFencedLocalJournalIsDropped: a fenced activation's node journaled a
// hold that Redis refused (and that was answered 503). When a shard activates
// on that node again, Redis wins over the longer local journal: the refused
// hold does not come back, and the newer owner's acknowledged hold is kept.
func TestRedisFencedLocalJournalIsDropped(t *testing.T) {
	srv := redistest.StartServer(t)
	rc := openRedis(t, srv.Addr())
	show := uniq("drop")
	id := show
	cfg := stadium(show, 1, 1, 10, 32)
	nodeA, nodeB := NewMemJournal(), NewMemJournal()
	a := startRemoteShard(t, id, nodeA, rc)
	if r := a.do(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	b := startRemoteShard(t, id, nodeB, rc) // a newer activation on another node
	if r := b.do(seatmap.Command{Kind: seatmap.KindHold, User: "b", HoldID: show + "~b", Seats: []string{"s0-1-1"}}); r.Err != nil {
		t.Fatal(r.Err)
	}
	// the old activation still takes a command: journaled locally, refused by Redis
	if r := a.do(seatmap.Command{Kind: seatmap.KindHold, User: "a", HoldID: show + "~a", Seats: []string{"s0-1-1"}}); !errors.Is(r.Err, seatmap.ErrUnavailable) {
		t.Fatalf("the fenced activation's hold: %v", r.Err)
	}
	st, _ := nodeA.Load(id, nil)
	if recs := st.Records; len(recs) != 1 {
		t.Fatalf("node A's journal has %d records, want the create only (the refused hold is dropped)", len(st.Records))
	}
	testNode.System.Root.PoisonFuture(b.pid).Wait()
	a2 := startRemoteShard(t, id, nodeA, rc) // the shard comes back to node A
	if r := a2.do(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: show + "~a"}); !errors.Is(r.Err, seatmap.ErrHoldNotFound) {
		t.Fatalf("the refused hold came back: %v", r.Err)
	}
	if r := a2.do(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: show + "~b"}); r.Err != nil {
		t.Fatalf("the newer owner's acknowledged hold is lost: %v", r.Err)
	}
}
