package actors

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// A loop of 10,000 hold → order → cancel cycles on one show leaves the
// actor's state, its snapshot and the heap flat: finished orders leave memory
// (archived) after their retention, converted holds leave at once.
func TestCycleLoopStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 cycles")
	}
	ctx := context.Background()
	j := NewMemJournal()
	env := &Env{Journal: j, Log: testEnv.Log, SnapshotEvery: 1 << 30}
	show := uniq("flat")
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	t.Cleanup(func() { _ = testNode.System.Root.StopFuture(pid).Wait() })
	b := NewBooking(&fixedPlacement{pid: pid}, testNode.System, env, BookingOptions{})
	cfg := smallShow(show, 100)
	retention := 0 // finished orders leave memory at the next tick
	cfg.ArchiveAfterSeconds = &retention
	if _, err := b.CreateShow(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	type sample struct {
		size    seatmap.Size
		snap    int
		heapKiB int64
	}
	var measureOnce func() sample
	// one reading: other tests' leftover goroutines allocate and free beside
	// it (a reading can even come out negative), so a sample is the least of
	// three readings, none below zero
	measure := func() sample {
		best := measureOnce()
		for range 2 {
			if m := measureOnce(); m.heapKiB < best.heapKiB {
				best = m
			}
		}
		best.heapKiB = max(best.heapKiB, 0)
		return best
	}
	measureOnce = func() sample {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		sh, _, err := loadShard(j, show) // the state the actor has, replayed from its journal
		if err != nil {
			t.Fatal(err)
		}
		sh.Ready() // as the actor does at once: the rows the replay changed go to the stores
		runtime.GC()
		runtime.ReadMemStats(&after)
		snap, err := sh.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		live := int64(after.HeapAlloc) - int64(before.HeapAlloc) // the shard's own heap, as the actor holds it
		runtime.KeepAlive(sh)
		return sample{size: sh.Size(), snap: len(snap), heapKiB: live >> 10}
	}
	var at1k sample
	var first string
	for i := 1; i <= 10_000; i++ {
		h, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: fmt.Sprint("u", i%50), Seats: []string{fmt.Sprintf("s0-1-%d", 1+i%100)}})
		if err != nil {
			t.Fatalf("cycle %d: hold: %v", i, err)
		}
		o, _, err := b.CreateOrder(ctx, seatmap.OrderRequest{Show: show, HoldID: h.ID})
		if err != nil {
			t.Fatalf("cycle %d: order: %v", i, err)
		}
		if _, err := b.CancelOrder(ctx, "", o.ID); err != nil {
			t.Fatalf("cycle %d: cancel: %v", i, err)
		}
		if first == "" {
			first = o.ID
		}
		if i == 1_000 {
			at1k = measure()
		}
	}
	at10k := measure()
	// an order that left memory is still served, from the archive
	if o, err := b.GetOrder(ctx, "", first); err != nil || o.Status != seatmap.StatusCancelled {
		t.Fatalf("archived order %s: %+v %v", first, o, err)
	}
	t.Logf("cycle 1,000: %+v snapshot %d B, shard heap %d KiB", at1k.size, at1k.snap, at1k.heapKiB)
	t.Logf("cycle 10,000: %+v snapshot %d B, shard heap %d KiB", at10k.size, at10k.snap, at10k.heapKiB)
	if at10k.size.Orders > at1k.size.Orders+5 || at10k.size.Holds > at1k.size.Holds+5 {
		t.Fatalf("state grew: %+v -> %+v", at1k.size, at10k.size)
	}
	if float64(at10k.snap) > 1.1*float64(at1k.snap) {
		t.Fatalf("snapshot grew from %d to %d bytes", at1k.snap, at10k.snap)
	}
	if at10k.heapKiB > at1k.heapKiB+512 { // unbounded, 9,000 more orders would be megabytes
		t.Fatalf("the shard's heap grew from %d to %d KiB", at1k.heapKiB, at10k.heapKiB)
	}
}
