package actors

import (
	"context"
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
)

// TestMergeSlots: the rows of several slots are written sorted by key, a
// key's last row winning (a deletion too), at the last slot's seq; a key
// made within the slots (its first row New) and deleted by their end is not
// written at all.
func TestMergeSlots(t *testing.T) {
	v := func(s string) []byte { return []byte(s) }
	for _, tc := range []struct {
		name  string
		slots []rowSlot
		want  []facts.Row
		seq   uint64
	}{
		{"one slot, sorted", []rowSlot{{rows: []facts.Row{{Key: "b", Value: v("1")}, {Key: "a", Value: v("2")}}, seq: 4}},
			[]facts.Row{{Key: "a", Value: v("2")}, {Key: "b", Value: v("1")}}, 4},
		{"a later row wins", []rowSlot{{rows: []facts.Row{{Key: "m", Value: v("old")}, {Key: "z", Value: v("z")}}, seq: 2},
			{rows: []facts.Row{{Key: "m", Value: v("new")}}, seq: 3}},
			[]facts.Row{{Key: "m", Value: v("new")}, {Key: "z", Value: v("z")}}, 3},
		{"a deletion wins", []rowSlot{{rows: []facts.Row{{Key: "h1", Value: v("held")}}, seq: 7},
			{rows: []facts.Row{{Key: "h1"}}, seq: 8}, {rows: nil, seq: 9}},
			[]facts.Row{{Key: "h1"}}, 9},
		{"duplicates in one slot", []rowSlot{{rows: []facts.Row{{Key: "k", Value: v("1")}, {Key: "k", Value: v("2")}, {Key: "k", Value: v("3")}}, seq: 1}},
			[]facts.Row{{Key: "k", Value: v("3")}}, 1},
		{"made and deleted: nothing", []rowSlot{{rows: []facts.Row{{Key: "h1", Value: v("held"), New: true}, {Key: "h2", Value: v("kept")}}, seq: 1},
			{rows: []facts.Row{{Key: "h1"}}, seq: 2}},
			[]facts.Row{{Key: "h2", Value: v("kept")}}, 2},
		{"made, changed and deleted: nothing", []rowSlot{{rows: []facts.Row{{Key: "h1", Value: v("held"), New: true}}, seq: 1},
			{rows: []facts.Row{{Key: "h1", Value: v("extended")}}, seq: 2}, {rows: []facts.Row{{Key: "h1"}}, seq: 3}},
			[]facts.Row{}, 3},
		{"made and deleted in one turn: nothing", []rowSlot{{rows: []facts.Row{{Key: "h1", New: true}}, seq: 5}},
			[]facts.Row{}, 5},
		{"made before the slots, deleted: a deletion", []rowSlot{{rows: []facts.Row{{Key: "h1", Value: v("extended")}}, seq: 1},
			{rows: []facts.Row{{Key: "h1"}}, seq: 2}},
			[]facts.Row{{Key: "h1"}}, 2},
		{"made and kept: its last row", []rowSlot{{rows: []facts.Row{{Key: "h1", Value: v("held"), New: true}}, seq: 1},
			{rows: []facts.Row{{Key: "h1", Value: v("extended")}}, seq: 2}},
			[]facts.Row{{Key: "h1", Value: v("extended")}}, 2},
		{"with Redis, made and deleted: a deletion", []rowSlot{{rows: []facts.Row{{Key: "h1", Value: v("held"), New: true}}, seq: 1},
			{rows: []facts.Row{{Key: "h1"}}, seq: 2}},
			[]facts.Row{{Key: "h1"}}, 2},
		{"a later New row of a key does not count", []rowSlot{{rows: []facts.Row{{Key: "h1", Value: v("old")}}, seq: 1},
			{rows: []facts.Row{{Key: "h1", Value: v("new"), New: true}}, seq: 2}, {rows: []facts.Row{{Key: "h1"}}, seq: 3}},
			[]facts.Row{{Key: "h1"}}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withRedis := strings.HasPrefix(tc.name, "with Redis")
			got, seq := mergeSlots(tc.slots, !withRedis)
			if seq != tc.seq || !slices.EqualFunc(got, tc.want, func(a, b facts.Row) bool {
				return a.Key == b.Key && string(a.Value) == string(b.Value) && (a.Value == nil) == (b.Value == nil)
			}) {
				t.Fatalf("got %v at %d, want %v at %d", got, seq, tc.want, tc.seq)
			}
		})
	}
}

// TestMergeSlotsMatchesSort: mergeSlots (each key once through a map, then
// the written keys sorted) writes what sorting every row by key and hand
// order writes (its implementation before issue 12's fifteenth round), on
// random slots of few keys (so keys repeat, are made, changed and deleted).
func TestMergeSlotsMatchesSort(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	for range 2000 {
		slots := make([]rowSlot, 1+rng.Intn(5))
		for i := range slots {
			for range rng.Intn(6) {
				r := facts.Row{Key: fmt.Sprintf("k%d", rng.Intn(8)), New: rng.Intn(3) == 0}
				if rng.Intn(3) > 0 {
					r.Value = []byte{byte(rng.Intn(256))}
				}
				slots[i].rows = append(slots[i].rows, r)
			}
			slots[i].seq = uint64(i + 1)
		}
		for _, dropMade := range []bool{true, false} {
			got, seq := mergeSlots(slots, dropMade)
			want := mergeSlotsBySort(slots, dropMade)
			if seq != uint64(len(slots)) || !slices.EqualFunc(got, want, func(a, b facts.Row) bool {
				return a.Key == b.Key && string(a.Value) == string(b.Value) && (a.Value == nil) == (b.Value == nil)
			}) {
				t.Fatalf("dropMade %v, slots %v: got %v at %d, want %v", dropMade, slots, got, seq, want)
			}
		}
	}
}

// mergeSlotsBySort is mergeSlots as it was: every row sorted by key, then
// hand order; a key's last row, unless made and deleted within the slots.
func mergeSlotsBySort(slots []rowSlot, dropMade bool) []facts.Row {
	type posRow struct {
		facts.Row
		pos int
	}
	var all []posRow
	for _, s := range slots {
		for _, r := range s.rows {
			all = append(all, posRow{r, len(all)})
		}
	}
	slices.SortFunc(all, func(a, b posRow) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return a.pos - b.pos
	})
	out := []facts.Row{}
	first := 0
	for i := range all {
		if i+1 < len(all) && all[i+1].Key == all[i].Key {
			continue
		}
		if last := all[i].Row; !(dropMade && all[first].New && last.Value == nil) {
			out = append(out, last)
		}
		first = i + 1
	}
	return out
}

// blockingJournal holds every rows-only Append at gate.
type blockingJournal struct {
	*MemJournal
	entered chan struct{}
	gate    chan struct{}
	mu      sync.Mutex // protects rowsWrites
	// rowsWrites counts rows-only Appends that returned
	rowsWrites int
}

func (j *blockingJournal) Append(show string, w Write) (Held, error) {
	if len(w.Records) > 0 {
		return j.MemJournal.Append(show, w)
	}
	j.entered <- struct{}{}
	<-j.gate
	h, err := j.MemJournal.Append(show, w)
	j.mu.Lock()
	j.rowsWrites++
	j.mu.Unlock()
	return h, err
}

// TestCheckpointerQuiesce: quiesce returns only once the rows write in
// flight returned, and drops what waited (a failure's reload must find no
// rows write of the failed generation in flight or still to come).
func TestCheckpointerQuiesce(t *testing.T) {
	j := &blockingJournal{MemJournal: NewMemJournal(), entered: make(chan struct{}, 4), gate: make(chan struct{})}
	env := &Env{Journal: j, Log: testEnv.Log}
	env.defaults()
	c := startCheckpointer(env, "quiesce", true)
	row := func(k string) rowSlot { return rowSlot{rows: []facts.Row{{Key: k, Value: []byte("v")}}} }
	c.hand(row("a")) // written at once: no write before it
	<-j.entered
	c.hand(row("b")) // waits behind the write in flight
	done := make(chan struct{})
	go func() { c.quiesce(); close(done) }()
	select {
	case <-done:
		t.Fatal("quiesce returned while a rows write was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(j.gate)
	<-done
	c.stop()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.rowsWrites != 1 {
		t.Fatalf("%d rows writes: want 1 (quiesce drops what waited)", j.rowsWrites)
	}
}

// TestRecoveryReplaysTheCheckpointTail: the checkpointer writes rows at its
// own cadence, so a crash finds rows behind the records; recovery loads the
// rows and replays the tail, and every acknowledged hold is back.
func TestRecoveryReplaysTheCheckpointTail(t *testing.T) {
	ctx := context.Background()
	j := NewMemJournal()
	env := &Env{Journal: j, Log: testEnv.Log}
	show := uniq("tail")
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	defer testNode.System.Root.Stop(pid)
	b := NewBooking(&fixedPlacement{pid: pid}, testNode.System, env, BookingOptions{})
	cfg := smallShow(show, 10)
	cfg.Sections = append(cfg.Sections, seatmap.Section{ID: "ga", Tier: "std", Capacity: 10_000})
	if _, err := b.CreateShow(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	const holds = 500
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < holds/8; i++ {
				if _, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprintf("u%d-%d", w, i), Section: "ga", Quantity: 1}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	crashed := j.Crash(false) // the process dies: the checkpointer's pending rows with it
	sh, st, err := loadShard(crashed, show)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rows at %d, %d records replayed", st.RowsSeq, len(st.Records))
	if len(st.Records) < 10 {
		t.Fatalf("only %d records after the rows: the tail this test means to replay is not there", len(st.Records))
	}
	if got := sh.ActiveHolds(); got != holds/8*8 {
		t.Fatalf("recovered %d holds, acknowledged %d", got, holds/8*8)
	}
}

// TestCheckpointCountersInGauges: the checkpointers' rows writes are counted
// in the node's gauges (/metrics: boxoffice_journal_checkpoints_total, ..._rows_total,
// ..._errors_total), so an operator sees them run and fail.
func TestCheckpointCountersInGauges(t *testing.T) {
	ctx := context.Background()
	env := &Env{Journal: NewMemJournal(), Log: testEnv.Log}
	show := uniq("gauges")
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	b := NewBooking(&fixedPlacement{pid: pid}, testNode.System, env, BookingOptions{})
	cfg := smallShow(show, 10)
	if _, err := b.CreateShow(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	const holds = 5
	for i := 0; i < holds; i++ {
		if _, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprintf("u%d", i), Section: "s0", Quantity: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := testNode.System.Root.StopFuture(pid).Wait(); err != nil { // a clean stop writes every row
		t.Fatal(err)
	}
	// the writer and its checkpointer end after the actor: wait for them
	var g map[string]float64
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if g = b.Gauges(); g["journal_checkpoint_rows_total"] >= holds {
			break
		}
	}
	if g["journal_checkpoints_total"] < 1 || g["journal_checkpoint_rows_total"] < holds || g["journal_checkpoint_errors_total"] != 0 {
		t.Fatalf("checkpoints %v, rows %v, errors %v after %d holds and a stop", g["journal_checkpoints_total"],
			g["journal_checkpoint_rows_total"], g["journal_checkpoint_errors_total"], holds)
	}
}

// TestCheckpointSkipsHoldsMadeAndReleased: holds placed and released while
// a rows write is in flight reach the next write as their released rows
// only (a hold row no store held needs no tombstone: mergeSlots), and the
// show read back from the journal has none of them live and remembers each
// released.
func TestCheckpointSkipsHoldsMadeAndReleased(t *testing.T) {
	ctx := context.Background()
	j := &blockingJournal{MemJournal: NewMemJournal(), entered: make(chan struct{}, 16), gate: make(chan struct{})}
	rec := &rowsRecorder{Journal: j}
	env := &Env{Journal: rec, Log: testEnv.Log}
	show := uniq("madegone")
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	b := NewBooking(&fixedPlacement{pid: pid}, testNode.System, env, BookingOptions{})
	cfg := smallShow(show, 10)
	cfg.Sections = append(cfg.Sections, seatmap.Section{ID: "ga", Tier: "std", Capacity: 1000})
	if _, err := b.CreateShow(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// a group's rows go to the checkpointer with the next group: this hold
	// hands over the show's first rows, whose write is held at the gate
	if _, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "first", Section: "ga", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	select { // what follows waits behind the held write
	case <-j.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the show's first rows write did not start")
	}
	const holds = 40
	var ids []string
	for i := 0; i < holds; i++ {
		h, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprintf("u%d", i), Section: "ga", Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.ReleaseHold(ctx, "", show, h.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, h.ID)
	}
	close(j.gate)
	if err := testNode.System.Root.StopFuture(pid).Wait(); err != nil { // a clean stop writes every row
		t.Fatal(err)
	}
	if !env.WaitWriters(10 * time.Second) {
		t.Fatal("the show's writer did not end")
	}
	keys := rec.keysAfterFirst()
	for _, id := range ids {
		if keys[facts.RowKey(facts.RowHold, id)] {
			t.Fatalf("hold %s placed and released behind the held write: its hold row written", id)
		}
	}
	released := 0
	for k := range keys {
		if k[0] == byte(facts.RowReleasedAt) {
			released++
		}
	}
	if released == 0 {
		t.Fatalf("%d holds placed and released behind the held write: no row of released ids written", holds)
	}
	sh, st, err := loadShard(j.MemJournal, show)
	if err != nil {
		t.Fatal(err)
	}
	if got := sh.ActiveHolds(); got != 1 || sh.Size().ReleasedHolds != holds {
		t.Fatalf("read back (rows at %d, %d records after them): %d live holds, %d released ids remembered; want 1 and %d",
			st.RowsSeq, len(st.Records), got, sh.Size().ReleasedHolds, holds)
	}
}

// rowsRecorder records the row keys of the rows-only Appends after the
// first.
type rowsRecorder struct {
	Journal
	mu     sync.Mutex // protects following fields
	writes int
	keys   map[string]bool
}

func (r *rowsRecorder) Append(show string, w Write) (Held, error) {
	if len(w.Records) == 0 {
		r.mu.Lock()
		if r.writes++; r.writes > 1 {
			if r.keys == nil {
				r.keys = map[string]bool{}
			}
			for _, row := range w.Rows {
				r.keys[row.Key] = true
			}
		}
		r.mu.Unlock()
	}
	return r.Journal.Append(show, w)
}

func (r *rowsRecorder) keysAfterFirst() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.keys)
}

// BenchmarkMergeSlots merges a second of an on-sale's rows at 20,000 holds
// a second, as the writer's groups hand them (slots of 64 rows): with each
// hold released 256 holds later (the HTTP load's shape: per hold a New hold
// row, its deletion and a released row), and holds alone (bench/serial's
// shape: every key once).
func BenchmarkMergeSlots(b *testing.B) {
	for _, release := range []bool{true, false} {
		name := "holds-released"
		if !release {
			name = "holds"
		}
		b.Run(name, func(b *testing.B) { benchMergeSlots(b, release) })
	}
}

func benchMergeSlots(b *testing.B, release bool) {
	const holds, lag, perSlot = 20_000, 256, 64
	rng := rand.New(rand.NewSource(1))
	ids := make([]string, holds)
	for i := range ids {
		ids[i] = fmt.Sprintf("hot~%08d%018x", i/20, rng.Uint64()) // the ms first, as Booking's (20 a ms)
	}
	var rows []facts.Row
	for i, id := range ids {
		if i%(perSlot/2) == 0 { // each batch's meta row
			rows = append(rows, facts.Row{Key: facts.RowKey(facts.RowMeta, ""), Value: []byte("meta-row")})
		}
		rows = append(rows, facts.Row{Key: facts.RowKey(facts.RowHold, id), Value: []byte("hold-row-value-of-some-forty-bytes-long"), New: true})
		if release && i >= lag {
			old := ids[i-lag]
			rows = append(rows, facts.Row{Key: facts.RowKey(facts.RowHold, old)}, facts.Row{Key: facts.RowMsKey(facts.RowReleasedAt, int64((i-lag)/20)), Value: []byte("released-ids-of-a-ms")})
		}
	}
	var slots []rowSlot
	for at := 0; at < len(rows); at += perSlot {
		slots = append(slots, rowSlot{rows: rows[at:min(at+perSlot, len(rows))], seq: uint64(at/perSlot + 1)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	var out int
	for range b.N {
		merged, _ := mergeSlots(slots, true)
		out = len(merged)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
	b.ReportMetric(float64(out), "rows-out")
}
