package actors

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// TestSeatsServedWithoutTheActor: GET seats reads the copy the actor
// published after its last turn: many reads add no command to the actor, and
// each read sees every acknowledged hold.
func TestSeatsServedWithoutTheActor(t *testing.T) {
	b := newTestBooking()
	ctx := context.Background()
	id := uniq("seatsview")
	if _, err := b.CreateShow(ctx, stadium(id, 2, 3, 10, 0)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		h, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: id, User: "u", Section: "s0", Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		before := testEnv.Stats.Commands.Load()
		for j := 0; j < 50; j++ {
			seats, err := b.Seats(ctx, id, "s0")
			if err != nil {
				t.Fatal(err)
			}
			held := 0
			for _, s := range seats {
				if s.State == seatmap.Held {
					held++
				}
				if s.ID == h.Seats[0] && s.State != seatmap.Held {
					t.Fatalf("acknowledged hold of %s not in the seat list", s.ID)
				}
			}
			if held != i+1 || len(seats) != 30 {
				t.Fatalf("%d seats, %d held; want 30, %d", len(seats), held, i+1)
			}
		}
		// other tests run in parallel on the same Env: allow a few of theirs
		if d := testEnv.Stats.Commands.Load() - before; d > 40 {
			t.Fatalf("50 seat reads sent %d commands to actors", d)
		}
	}
	if _, err := b.Seats(ctx, id, "nope"); err == nil {
		t.Fatal("unknown section accepted")
	}
}

// BenchmarkHoldsWhileSeatsPolled measures holds/s (128 callers) while 8
// goroutines poll one section's seat list (1,000 seats) at 2,000 requests/s
// in all: from the published copy (view), through the actor as before
// (actor), or not at all.
func BenchmarkHoldsWhileSeatsPolled(b *testing.B) {
	for _, mode := range []string{"none", "view", "actor"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			bk := newTestBooking()
			cfg := stadium(uniq("poll"), 50, 25, 40, 1000)
			if _, err := bk.CreateShow(ctx, cfg); err != nil {
				b.Fatal(err)
			}
			stop := make(chan struct{})
			var polls atomic.Int64
			var wg sync.WaitGroup
			for i := 0; mode != "none" && i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tick := time.NewTicker(4 * time.Millisecond) // 250/s each
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						var err error
						if mode == "view" {
							_, err = bk.Seats(ctx, cfg.ID, "s2")
						} else {
							_, err = bk.call(ctx, cfg.ID, seatmap.Command{Kind: seatmap.KindGetSeats, Section: "s2"})
						}
						if err != nil {
							b.Error(err)
							return
						}
						polls.Add(1)
					}
				}()
			}
			b.SetParallelism(128)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h, _, err := bk.Hold(ctx, seatmap.HoldRequest{Show: cfg.ID, User: "u", Section: "s1", Quantity: 1})
					if err != nil {
						b.Error(err)
						return
					}
					if err := bk.ReleaseHold(ctx, "", cfg.ID, h.ID); err != nil {
						b.Error(err)
						return
					}
				}
			})
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "holds/s")
			b.ReportMetric(float64(polls.Load())/b.Elapsed().Seconds(), "polls/s")
		})
	}
}
