package actors

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// appendsJournal is a gateJournal that also counts the records of each
// Append and signals when one is waiting at the gate.
type appendsJournal struct {
	*gateJournal
	entered chan struct{} // one value per Append that reached the gate

	amu     sync.Mutex // protects records
	records []int      // records per Append, in order
}

func (j *appendsJournal) Append(show string, w Write) (Held, error) {
	if len(w.Records) == 0 && len(w.Events) == 0 && len(w.Archive) == 0 {
		return j.MemJournal.Append(show, w) // a checkpointer's rows: beside the writer
	}
	j.amu.Lock()
	j.records = append(j.records, len(w.Records))
	j.amu.Unlock()
	select {
	case j.entered <- struct{}{}:
	default:
	}
	return j.gateJournal.Append(show, w)
}

// TestFlushOncePerWriterGroup (issue 12): the commands a show applies while
// its writer writes go to the writer as one batch when it is done, not one
// batch per mailbox turn: the next group is one batch holding them all.
func TestFlushOncePerWriterGroup(t *testing.T) {
	j := &appendsJournal{gateJournal: &gateJournal{MemJournal: NewMemJournal(), gate: make(chan struct{})},
		entered: make(chan struct{}, 16)}
	close(j.gate)
	env := &Env{Journal: j, Log: testEnv.Log}
	show := uniq("pergroup")
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	defer testNode.System.Root.Stop(pid)
	send := func(cmd seatmap.Command) chan seatmap.Result {
		ch := make(chan seatmap.Result, 1)
		testNode.System.Root.Send(pid, &request{cmd: cmd, reply: ch})
		return ch
	}
	cfg := stadium(show, 1, 1, 100, 32)
	if r := <-send(seatmap.Command{Kind: seatmap.KindCreate, Show: &cfg}); r.Err != nil {
		t.Fatal(r.Err)
	}
	<-j.entered
	j.gate = make(chan struct{}) // the next Append waits
	hold := func(i int) chan seatmap.Result {
		return send(seatmap.Command{Kind: seatmap.KindHold, User: fmt.Sprint("u", i), HoldID: fmt.Sprintf("%s~0~h%d", show, i),
			Seats: []string{fmt.Sprintf("s0-1-%d", i+1)}})
	}
	first := hold(0)
	select {
	case <-j.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first hold never reached the journal")
	}
	groups0, batches0 := env.Stats.WriterGroups.Load(), env.Stats.WriterBatches.Load()
	const behind = 20
	var waiting []chan seatmap.Result
	for i := 1; i <= behind; i++ {
		waiting = append(waiting, hold(i))
		// one command per mailbox turn: each turn ends (its flush runs)
		// before the next command arrives
		time.Sleep(3 * time.Millisecond)
	}
	close(j.gate)
	for i, ch := range append([]chan seatmap.Result{first}, waiting...) {
		if r := <-ch; r.Err != nil {
			t.Fatalf("hold %d: %v", i, r.Err)
		}
	}
	j.amu.Lock()
	records := append([]int(nil), j.records...)
	j.amu.Unlock()
	if len(records) != 3 || records[2] != behind {
		t.Fatalf("records per Append %v: want [1 1 %d] (creation, the first hold, then the %d behind it as one write)",
			records, behind, behind)
	}
	groups, batches := env.Stats.WriterGroups.Load()-groups0, env.Stats.WriterBatches.Load()-batches0
	if batches != groups {
		t.Fatalf("%d batches in %d writer groups since the first hold: want one batch per group", batches, groups)
	}
}
