package actors

import (
	"context"
	"fmt"
	"sync"
	"testing"

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
	saveState int
}

func (j *rowsJournal) Append(show string, w Write) (Held, error) {
	j.mu.Lock()
	j.appends++
	j.records += len(w.Records)
	j.rows += len(w.Rows)
	j.maxRows, j.maxRecs = max(j.maxRows, len(w.Rows)), max(j.maxRecs, len(w.Records))
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
// every write carries about the rows its records changed, and the journal
// keeps the records of the last write or two only, so recovery is the rows
// plus a short tail.
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
	j.mu.Lock()
	t.Logf("%d appends, %d records, %d rows; at most %d records and %d rows in one; %d whole states",
		j.appends, j.records, j.rows, j.maxRecs, j.maxRows, j.saveState)
	// a hold changes its hold row, and every write the position: rows ride one
	// write late, so one write carries at most the rows of the largest write
	if j.saveState != 0 || j.rows > 3*j.records || j.maxRows > 2*j.maxRecs+2 {
		t.Fatalf("checkpoints are not incremental")
	}
	j.mu.Unlock()
	st, err := j.Load(show, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.RowsSeq == 0 || len(st.Records) > 1000 {
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
