package actors

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/boxoffice/boxoffice/persistence/redis"
	"github.com/boxoffice/boxoffice/persistence/redis/redistest"
)

// TestRedisRecoveryLocalCopy: a node with an empty disk restores a show
// from Redis (its rows, read as they arrive, and the records after them)
// and stores it locally meanwhile: Redis's rows at their seq, then Redis's
// records after them. Its own writes then continue that local journal, and
// the local store alone (a restart without Redis) recovers exactly the
// show it served. Both ways of writing the copy: one batch, and sstables
// ingested (pebble.Store.IngestState, which the copy takes for a big show).
func TestRedisRecoveryLocalCopy(t *testing.T) {
	for _, tc := range []struct {
		name          string
		ingestMinRows int // the store's IngestMinRows
		ingests       float64
	}{{"one batch", 1 << 30, 0}, {"sstables ingested", 1, 1}} {
		t.Run(tc.name, func(t *testing.T) { testRedisRecoveryLocalCopy(t, tc.ingestMinRows, tc.ingests) })
	}
}

func testRedisRecoveryLocalCopy(t *testing.T, ingestMinRows int, ingests float64) {
	srv := redistest.StartServer(t)
	rc := openRedis(t, srv.Addr())
	show := uniq("rcopy")
	cfg := stadium(show, 2, 3, 20, 32)
	a := startRemoteShard(t, show, NewMemJournal(), rc)
	if r := a.do(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	hold := func(s *remoteShard, i int, order bool) {
		h := fmt.Sprintf("%s~h%d", show, i)
		if r := s.do(seatmap.Command{Kind: seatmap.KindHold, User: fmt.Sprint("u", i), HoldID: h, Section: fmt.Sprint("s", i%2), Quantity: 1}); r.Err != nil {
			t.Fatal(r.Err)
		}
		if order {
			if r := s.do(seatmap.Command{Kind: seatmap.KindOrder, HoldID: h, OrderID: h + "o"}); r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	for i := 0; i < 60; i++ {
		hold(a, i, i%3 == 0)
	}
	before := a.do(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	testNode.System.Root.PoisonFuture(a.pid).Wait()
	a.env.WaitWriters(5 * time.Second)
	st, err := rc.Load(context.Background(), show)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Rows) == 0 || st.SnapshotSeq == 0 || st.Seq <= st.SnapshotSeq {
		t.Fatalf("redis holds rows at %d and records to %d (%d rows): the test needs both", st.SnapshotSeq, st.Seq, len(st.Rows))
	}

	dir := filepath.Join(t.TempDir(), "db")
	store, err := pebble.Open(pebble.Options{Dir: dir, IngestMinRows: ingestMinRows})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b := startRemoteShard(t, show, NewPebbleJournal(store), rc) // an empty disk
	if got := b.do(seatmap.Command{Kind: seatmap.KindGetShow}).Show; fmt.Sprint(got.Sections) != fmt.Sprint(before.Sections) {
		t.Fatalf("restored %v, want %v", got.Sections, before.Sections)
	}
	if n := store.Metrics()["pebble_ingests_total"]; n != ingests {
		t.Fatalf("the local copy took %v ingests, want %v", n, ingests)
	}
	for i := 60; i < 80; i++ {
		hold(b, i, i%4 == 0)
	}
	live := b.do(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	testNode.System.Root.PoisonFuture(b.pid).Wait()
	b.env.WaitWriters(5 * time.Second)

	sh, err := LoadShow(NewPebbleJournal(store), show)
	if err != nil {
		t.Fatalf("the local copy does not load: %v", err)
	}
	got := sh.Apply(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	if fmt.Sprint(got.Sections) != fmt.Sprint(live.Sections) || got.HoldsActive != live.HoldsActive || got.Orders != live.Orders {
		t.Fatalf("local copy: %v, %d holds, %d orders; served: %v, %d holds, %d orders", got.Sections, got.HoldsActive, got.Orders,
			live.Sections, live.HoldsActive, live.Orders)
	}
	for i := 0; i < 80; i++ {
		h := fmt.Sprintf("%s~h%d", show, i)
		if r := sh.Apply(seatmap.Command{Kind: seatmap.KindGetHold, HoldID: h}); r.Err != nil {
			t.Fatalf("hold %s not in the local copy: %v", h, r.Err)
		}
	}
}

// changingRemote is Redis whose first LoadRows of a show is written to
// while read: it hands over some rows, then answers ErrChangedWhileRead,
// as the real client does when a repeat of a row has another value.
type changingRemote struct {
	*redis.Client
	calls atomic.Int32
}

func (c *changingRemote) LoadRows(ctx context.Context, show string, first []string, row func(string, []byte) error) (redis.State, error) {
	if c.calls.Add(1) > 1 {
		return c.Client.LoadRows(ctx, show, first, row)
	}
	n := 0
	return c.Client.LoadRows(ctx, show, first, func(k string, v []byte) error {
		if n++; n > 10 {
			return fmt.Errorf("%w: row %q read twice with different values", redis.ErrChangedWhileRead, k)
		}
		return row(k, v)
	})
}

// TestRedisRecoveryReadAgain: a read of Redis's rows that overlapped a
// write (the rows handed over so far are of no one state) is read again
// from the start into a new Restorer, and the show recovers exactly.
func TestRedisRecoveryReadAgain(t *testing.T) {
	srv := redistest.StartServer(t)
	rc := openRedis(t, srv.Addr())
	show := uniq("ragain")
	cfg := stadium(show, 2, 3, 20, 32)
	a := startRemoteShard(t, show, NewMemJournal(), rc)
	if r := a.do(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i := 0; i < 40; i++ {
		h := fmt.Sprintf("%s~h%d", show, i)
		if r := a.do(seatmap.Command{Kind: seatmap.KindHold, User: fmt.Sprint("u", i), HoldID: h, Section: fmt.Sprint("s", i%2), Quantity: 1}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	before := a.do(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	testNode.System.Root.PoisonFuture(a.pid).Wait()
	a.env.WaitWriters(5 * time.Second)

	cr := &changingRemote{Client: rc}
	b := startRemoteShard(t, show, NewMemJournal(), cr) // an empty disk
	got := b.do(seatmap.Command{Kind: seatmap.KindGetShow})
	if got.Err != nil || fmt.Sprint(got.Show.Sections) != fmt.Sprint(before.Sections) || got.Show.HoldsActive != before.HoldsActive {
		t.Fatalf("restored %+v (%v), want %v with %d holds", got.Show, got.Err, before.Sections, before.HoldsActive)
	}
	if n := cr.calls.Load(); n != 2 {
		t.Fatalf("%d reads, want 2", n)
	}
	if r := b.do(seatmap.Command{Kind: seatmap.KindHold, User: "y", HoldID: show + "~y", Section: "s1", Quantity: 1}); r.Err != nil {
		t.Fatalf("the restored show does not take writes: %v", r.Err)
	}
}

// slowRemote is Redis read slowly but steadily, as on a loaded node: every
// row it hands over takes a while to arrive.
type slowRemote struct {
	*redis.Client
	perRow time.Duration
	calls  atomic.Int32
}

func (c *slowRemote) LoadRows(ctx context.Context, show string, first []string, row func(string, []byte) error) (redis.State, error) {
	c.calls.Add(1)
	return c.Client.LoadRows(ctx, show, first, func(k string, v []byte) error {
		time.Sleep(c.perRow)
		return row(k, v)
	})
}

// TestRedisRecoverySlowRead: a read of a show's rows from Redis that keeps
// progressing is not cut short, however long the whole takes (here 3 times
// the stall bound, the rows arriving well within it): the show recovers in
// one read. With a deadline for the whole read, the round trip after the
// last row (the check that nothing changed) found it past and the recovery
// failed: "redis: meta ...: context deadline exceeded".
func TestRedisRecoverySlowRead(t *testing.T) {
	defer func(d time.Duration) { loadStallTimeout = d }(loadStallTimeout)
	loadStallTimeout = 400 * time.Millisecond
	srv := redistest.StartServer(t)
	rc := openRedis(t, srv.Addr())
	show := uniq("rslow")
	cfg := stadium(show, 2, 3, 20, 32)
	a := startRemoteShard(t, show, NewMemJournal(), rc)
	if r := a.do(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i := 0; i < 60; i++ {
		h := fmt.Sprintf("%s~h%d", show, i)
		if r := a.do(seatmap.Command{Kind: seatmap.KindHold, User: fmt.Sprint("u", i), HoldID: h, Section: fmt.Sprint("s", i%2), Quantity: 1}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	before := a.do(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	testNode.System.Root.PoisonFuture(a.pid).Wait()
	a.env.WaitWriters(5 * time.Second)
	st, err := rc.Load(context.Background(), show)
	if err != nil {
		t.Fatal(err)
	}
	perRow := 3 * loadStallTimeout / time.Duration(len(st.Rows))
	if perRow > loadStallTimeout/8 {
		t.Fatalf("%d rows: too few for a read that progresses", len(st.Rows))
	}

	sr := &slowRemote{Client: rc, perRow: perRow}
	t0 := time.Now()
	b := startRemoteShard(t, show, NewMemJournal(), sr) // an empty disk
	got := b.do(seatmap.Command{Kind: seatmap.KindGetShow})
	t.Logf("%d rows at %s each: the show answered after %s", len(st.Rows), perRow, time.Since(t0).Round(time.Millisecond))
	if got.Err != nil || fmt.Sprint(got.Show.Sections) != fmt.Sprint(before.Sections) || got.Show.HoldsActive != before.HoldsActive {
		t.Fatalf("restored %+v (%v), want %v with %d holds", got.Show, got.Err, before.Sections, before.HoldsActive)
	}
	if n := sr.calls.Load(); n != 1 {
		t.Fatalf("%d reads, want 1", n)
	}
	if r := b.do(seatmap.Command{Kind: seatmap.KindHold, User: "y", HoldID: show + "~y", Section: "s1", Quantity: 1}); r.Err != nil {
		t.Fatalf("the restored show does not take writes: %v", r.Err)
	}
}

// stalledRemote is Redis that hands over some rows of a show and then
// nothing more (a read that hangs between round trips), until its context
// ends.
type stalledRemote struct {
	*redis.Client
	calls atomic.Int32
}

func (c *stalledRemote) LoadRows(ctx context.Context, show string, first []string, row func(string, []byte) error) (redis.State, error) {
	if c.calls.Add(1) > 1 {
		return c.Client.LoadRows(ctx, show, first, row)
	}
	n := 0
	return c.Client.LoadRows(ctx, show, first, func(k string, v []byte) error {
		if n++; n == 5 {
			<-ctx.Done()
			return context.Cause(ctx)
		}
		return row(k, v)
	})
}

// TestRedisRecoveryStalledRead: a read of a show's rows that stops
// progressing is given up after loadStallTimeout (the show serves reads
// only), and the activation's retry restores the show.
func TestRedisRecoveryStalledRead(t *testing.T) {
	defer func(d time.Duration) { loadStallTimeout = d }(loadStallTimeout)
	loadStallTimeout = 150 * time.Millisecond
	srv := redistest.StartServer(t)
	rc := openRedis(t, srv.Addr())
	show := uniq("rstall")
	cfg := stadium(show, 2, 3, 20, 32)
	a := startRemoteShard(t, show, NewMemJournal(), rc)
	if r := a.do(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i := 0; i < 20; i++ {
		h := fmt.Sprintf("%s~h%d", show, i)
		if r := a.do(seatmap.Command{Kind: seatmap.KindHold, User: fmt.Sprint("u", i), HoldID: h, Section: fmt.Sprint("s", i%2), Quantity: 1}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	before := a.do(seatmap.Command{Kind: seatmap.KindGetShow}).Show
	testNode.System.Root.PoisonFuture(a.pid).Wait()
	a.env.WaitWriters(5 * time.Second)

	sr := &stalledRemote{Client: rc}
	b := startRemoteShard(t, show, NewMemJournal(), sr) // an empty disk
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := b.do(seatmap.Command{Kind: seatmap.KindGetShow})
		if got.Err == nil && got.Show.HoldsActive == before.HoldsActive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restored after a stalled read: %+v (%v), want %d holds", got.Show, got.Err, before.HoldsActive)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := sr.calls.Load(); n != 2 {
		t.Fatalf("%d reads, want 2 (the stalled one, then the retry)", n)
	}
}
