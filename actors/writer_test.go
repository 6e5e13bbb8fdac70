package actors

import (
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// TestSpareReplies: an answered reply slice comes back to the actor empty
// and cleared (nothing it answered is kept alive through it), only when it
// is large enough for the next group; recycling never blocks the answerer.
func TestSpareReplies(t *testing.T) {
	w := &writer{spare: make(chan []pendingReply, spareReplySlices)}
	ch := make(chan seatmap.Result, 1)
	answered := make([]pendingReply, 3, 8)
	for i := range answered {
		answered[i] = pendingReply{ch: ch, res: seatmap.Result{Hold: &seatmap.HoldView{ID: "h"}}}
	}
	w.recycle(answered)
	got := w.spareReplies(8)
	if len(got) != 0 || cap(got) != 8 || &got[:1][0] != &answered[0] {
		t.Fatalf("got len %d cap %d (the answered slice: %v), want it back empty", len(got), cap(got), cap(got) > 0 && &got[:1][0] == &answered[0])
	}
	for i, p := range got[:3] {
		if p.ch != nil || p.res.Hold != nil {
			t.Fatalf("reply %d not cleared: %+v", i, p)
		}
	}

	w.recycle(make([]pendingReply, 2, 4))
	if got := w.spareReplies(5); len(got) != 0 || cap(got) < 5 {
		t.Fatalf("a slice of cap %d for a group of 5", cap(got))
	}
	if len(w.spare) != 0 {
		t.Fatalf("the small slice is still offered (%d spare)", len(w.spare))
	}

	for range spareReplySlices + 3 { // more than the actor takes: dropped, never blocking
		w.recycle(make([]pendingReply, 1))
	}
	if len(w.spare) != spareReplySlices {
		t.Fatalf("%d spare, want %d", len(w.spare), spareReplySlices)
	}
	for len(w.spare) > 0 {
		<-w.spare
	}
	w.recycle(nil) // nothing to offer
	if len(w.spare) != 0 {
		t.Fatal("a nil slice offered")
	}
}
