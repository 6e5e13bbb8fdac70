package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
)

// rowsJournal records what every Append and SaveState carried.
type rowsJournal struct {
	*MemJournal
	mu        sync.Mutex // protects following fields
	appends   int
	records   int
	rows      int
	maxRows   int // most rows of one Append
	maxRecs   int // most records of one Append
	mixed     int // Appends with records and rows
	saveState int
}

func (j *rowsJournal) Append(show string, w Write) (Held, error) {
	j.mu.Lock()
	j.appends++
	j.records += len(w.Records)
	j.rows += len(w.Rows)
	j.maxRows, j.maxRecs = max(j.maxRows, len(w.Rows)), max(j.maxRecs, len(w.Records))
	if len(w.Records) > 0 && len(w.Rows) > 0 {
		j.mixed++
	}
	j.mu.Unlock()
	return j.MemJournal.Append(show, w)
}

func (j *rowsJournal) SaveState(show string, seq uint64, rows []facts.Row) error {
	j.mu.Lock()
	j.saveState++
	j.mu.Unlock()
	return j.MemJournal.SaveState(show, seq, rows)
}

// TestCheckpointsAreIncremental: a show's checkpoints cost what its turns
// change, never its size: no whole state is ever written while it serves,
// the rows written are about the rows its records changed, written by the
// checkpointer in their own Appends (never in the records' batch: issue
// 12), and after the show stopped the journal keeps few records, so
// recovery is the rows plus a short tail.
func TestCheckpointsAreIncremental(t *testing.T) {
	ctx := context.Background()
	j := &rowsJournal{MemJournal: NewMemJournal()}
	env := &Env{Journal: j, Log: testEnv.Log}
	show := uniq("rows")
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	b := NewBooking(&fixedPlacement{pid: pid}, testNode.System, env, BookingOptions{})
	cfg := smallShow(show, 100)
	cfg.Sections = append(cfg.Sections, seatmap.Section{ID: "ga", Tier: "std", Capacity: 100_000})
	if _, err := b.CreateShow(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprintf("u%d-%d", w, i), Section: "ga", Quantity: 1}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	doc, err := b.GetShow(ctx, show)
	if err != nil {
		t.Fatal(err)
	}
	_ = testNode.System.Root.StopFuture(pid).Wait()
	env.WaitWriters(5 * time.Second)
	j.mu.Lock()
	t.Logf("%d appends, %d records, %d rows; at most %d records and %d rows in one; %d with both; %d whole states",
		j.appends, j.records, j.rows, j.maxRecs, j.maxRows, j.mixed, j.saveState)
	// a hold changes its hold row and a few shared rows (the show's meta)
	if j.saveState != 0 || j.rows > 3*j.records || j.rows == 0 || j.mixed != 0 {
		t.Fatalf("checkpoints are not incremental, or rows rode in the records' batches")
	}
	j.mu.Unlock()
	st, err := j.Load(show, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.RowsSeq == 0 || len(st.Records) > 100 {
		t.Fatalf("the journal keeps %d records after rows at %d", len(st.Records), st.RowsSeq)
	}
	sh, _, err := loadShard(j, show)
	if err != nil {
		t.Fatal(err)
	}
	if got := seatmap.MergeShow([]seatmap.ShowView{*sh.Apply(seatmap.Command{Kind: seatmap.KindGetShow}).Show}); got.Totals != doc.Totals || sh.ActiveHolds() != 3200 {
		t.Fatalf("recovered %+v with %d holds, served %+v", got.Totals, sh.ActiveHolds(), doc.Totals)
	}
}

// TestRedisHiccupNeedsNoSeed: state rows reach Redis before the local
// journal, so after Redis timed out on a batch or lost its reply (the local
// commit went through), the next activation finds Redis's rows at or after
// the local ones and continues incrementally: no whole-state seed, and
// another node recovers every acknowledged hold from Redis's rows.
func TestRedisHiccupNeedsNoSeed(t *testing.T) {
	ctx := context.Background()
	show := uniq("hiccup")
	fr := newFakeRemote()
	var mu sync.Mutex // protects the following fields
	var seeds, refuse, lose int
	fr.OnCall(func(op, _ string) (drop, loseReply bool) {
		mu.Lock()
		defer mu.Unlock()
		if op == "seed" {
			seeds++
		}
		if op != "apply" {
			return false, false
		}
		if refuse > 0 {
			refuse--
			return true, false // Redis times out on the batch without applying it
		}
		if lose > 0 {
			lose--
			return false, true // Redis applies the batch, its reply is lost
		}
		return false, false
	})
	reg := &memRegistry{}
	n := newShowNode(t, show, fr, reg)
	if _, err := n.b.CreateShow(ctx, smallShow(show, 100)); err != nil {
		t.Fatal(err)
	}
	var acked []string
	hold := func(i int) {
		h, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", i), Seats: []string{fmt.Sprintf("s0-1-%d", i+1)}})
		if err == nil {
			acked = append(acked, h.ID)
		} else if !errors.Is(err, seatmap.ErrUnavailable) {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		hold(i)
		if i%5 == 4 {
			mu.Lock()
			lose = 1
			mu.Unlock()
		}
		if i%5 == 2 {
			mu.Lock()
			refuse = 1
			mu.Unlock()
		}
		time.Sleep(5 * time.Millisecond)
	}
	eventually(t, 3*time.Second, "a write after the hiccups", func() error {
		h, _, err := n.b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "last", Seats: []string{"s0-1-60"}})
		if err == nil {
			acked = append(acked, h.ID)
		}
		if errors.Is(err, seatmap.ErrSeatsUnavailable) {
			return nil // an earlier try applied; its answer was lost
		}
		return err
	})
	mu.Lock()
	s := seeds
	mu.Unlock()
	if s != 0 {
		t.Fatalf("%d whole-state seeds after Redis hiccups", s)
	}
	st, _ := fr.Load(ctx, show)
	if len(st.Rows) == 0 {
		t.Fatal("redis has no state rows")
	}
	other := newShowNode(t, show, fr, reg)
	for _, id := range acked {
		if _, err := other.b.GetHold(ctx, "", show, id); err != nil {
			t.Fatalf("acknowledged hold %s: %v", id, err)
		}
	}
}
