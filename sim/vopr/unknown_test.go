package vopr

import (
	"context"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// redisWorld returns the world of the first seed from 1 that runs with Redis.
func redisWorld(t *testing.T) *world {
	for seed := uint64(1); seed < 100; seed++ {
		if w := newWorld(seed, DiskMem); w.redis != nil {
			for _, n := range w.nodes {
				n.start()
			}
			return w
		}
	}
	t.Fatal("no seed with redis")
	return nil
}

// violationOf runs f and returns the violation it raised ("" if none).
func violationOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = r.(violation).msg
		}
	}()
	f()
	return ""
}

// TestCheckUnknown: the checker of unknown show ids sees each kind of state
// such an id can leave, and the gate refuses unknown ids while letting the
// run's shows through.
func TestCheckUnknown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(w *world, show string)
		want  string
	}{
		{"nothing", func(*world, string) {}, ""},
		{"an activation", func(w *world, show string) { w.nodes[0].activation(show) }, "activated its actor"},
		{"a call", func(w *world, show string) { w.calledShow[show]++ }, "calls reached its actor"},
		{"a Redis epoch", func(w *world, show string) {
			_, _ = w.redis.Client().Activate(context.Background(), show)
		}, "Redis has keys of it"},
		{"a journal epoch", func(w *world, show string) {
			_ = w.nodes[0].journal.SetLocalEpoch(show, 7, 0, true)
		}, "journal holds it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := redisWorld(t)
			tc.leave(w, "nosuchx")
			got := violationOf(func() { w.checkUnknown("nosuchx", "test") })
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("checkUnknown = %q, want %q", got, tc.want)
			}
		})
	}
	w := redisWorld(t)
	n := w.nodes[0]
	if err := w.gate(n, "nosuchx", seatmap.Command{Kind: seatmap.KindGetHold}); err != seatmap.ErrHoldNotFound {
		t.Errorf("gate(unknown hold read) = %v, want hold_not_found", err)
	}
	if err := w.gate(n, w.shows[0].id, seatmap.Command{Kind: seatmap.KindGetShow}); err != nil {
		t.Errorf("gate(%s) = %v", w.shows[0].id, err)
	}
	var _ actors.Registry = n.registry
}
