package actors

import (
	"context"
	"testing"

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
