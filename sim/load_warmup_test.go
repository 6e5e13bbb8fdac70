package sim

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
)

// TestWarmupFlag: --warmup is a duration in 0..maxLoadDuration, off by default.
func TestWarmupFlag(t *testing.T) {
	base := []string{"ga-holds", "--target", "http://127.0.0.1:8080", "--duration", "1s"}
	for _, tc := range []struct {
		name   string
		extra  []string
		warmup time.Duration
		err    string
	}{
		{name: "default", warmup: 0},
		{name: "set", extra: []string{"--warmup", "2s"}, warmup: 2 * time.Second},
		{name: "negative", extra: []string{"--warmup", "-1s"}, err: "--warmup"},
		{name: "too long", extra: []string{"--warmup", (maxLoadDuration + time.Second).String()}, err: "--warmup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseLoadArgs(append(append([]string{}, base...), tc.extra...), io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.warmup != tc.warmup {
				t.Fatalf("warmup %v, want %v", o.warmup, tc.warmup)
			}
		})
	}
}

// holdCounter is an edge backend that counts the holds it is asked for.
type holdCounter struct {
	edge.Backend
	holds atomic.Int64
}

func (h *holdCounter) Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, bool, error) {
	h.holds.Add(1)
	return h.Backend.Hold(ctx, req)
}

// TestLoadWarmup: with --warmup the server gets the warm-up's holds before
// the measured run's, and the report counts only the measured run's (its
// invariant checks too: the warm-up holds a show of its own).
func TestLoadWarmup(t *testing.T) {
	t.Parallel()
	b := &holdCounter{Backend: edgetest.NewMemBackend()}
	r, code := runLoadJSON(t, "ga-holds", "--target", startEdgeOn(t, b), "--admin-token", testAdmin,
		"--connections", "4", "--duration", "1s", "--warmup", "500ms", "--seats", "1000")
	if code != 0 {
		t.Fatalf("exit %d, checks %+v", code, r.Checks)
	}
	requireCountsAddUp(t, r)
	requireChecks(t, r.Checks)
	if r.WarmupSeconds != 0.5 {
		t.Fatalf("warmup_seconds %v, want 0.5", r.WarmupSeconds)
	}
	measured := endpoint(r, epHold).Count
	if measured == 0 {
		t.Fatal("the measured run sent no hold")
	}
	if got := b.holds.Load(); got <= measured {
		t.Fatalf("the server was asked for %d holds, the report counts %d: no warm-up reached the server", got, measured)
	}
	// ga-holds: an arrival is one hold (and its release)
	if got, want := r.WarmupArrivals, b.holds.Load()-measured; got != want {
		t.Fatalf("warmup_arrivals %d, want the %d holds the server was asked for beyond the measured run's", got, want)
	}
}
