package actors

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
)

// TestMergeSlots: the rows of several slots are written sorted by key, a
// key's last row winning (a deletion too), at the last slot's seq.
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, seq := mergeSlots(tc.slots)
			if seq != tc.seq || !slices.EqualFunc(got, tc.want, func(a, b facts.Row) bool {
				return a.Key == b.Key && string(a.Value) == string(b.Value) && (a.Value == nil) == (b.Value == nil)
			}) {
				t.Fatalf("got %v at %d, want %v at %d", got, seq, tc.want, tc.seq)
			}
		})
	}
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
