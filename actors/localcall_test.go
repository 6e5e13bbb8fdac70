package actors

import (
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// silentActor takes requests and never answers them (a show stuck behind
// its journal); with stop set, it stops itself on the first one, leaving it
// unanswered (an activation that died with the command in its mailbox).
func silentActor(stop bool) *actor.Props {
	return actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*request); ok && stop {
			c.Stop(c.Self())
		}
	})
}

// TestCallLocalGivesUp: an in-process call that is never answered returns
// at its deadline (within the reaper's tick) as unavailable, and one whose
// activation stops without answering returns errStopped, both without a
// per-call timer.
func TestCallLocalGivesUp(t *testing.T) {
	b := newTestBooking()
	for _, tc := range []struct {
		name    string
		stop    bool
		timeout time.Duration
		want    error
		within  time.Duration
	}{
		{"deadline", false, 150 * time.Millisecond, seatmap.ErrUnavailable, 150*time.Millisecond + 10*reapTick},
		{"stopped", true, 10 * time.Second, errStopped, 3 * localPoll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid := testNode.System.Root.Spawn(silentActor(tc.stop))
			defer testNode.System.Root.Stop(pid)
			start := time.Now()
			_, err := b.callLocal(pid, seatmap.Command{Kind: seatmap.KindGetShow}, start.Add(tc.timeout))
			took := time.Since(start)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if tc.want == seatmap.ErrUnavailable && took < tc.timeout {
				t.Fatalf("gave up after %v, before its deadline %v", took, tc.timeout)
			}
			if took > tc.within {
				t.Fatalf("gave up after %v, want within %v", took, tc.within)
			}
		})
	}
}

// TestCallLocalToStoppedActivation: a call to an activation that is gone
// (a cached PID whose show stopped) comes back from the dead letters at
// once as errStopped, for Booking.call to retry on a fresh activation: not
// after the reaper's liveness poll.
func TestCallLocalToStoppedActivation(t *testing.T) {
	b := newTestBooking()
	pid := testNode.System.Root.Spawn(silentActor(false))
	if err := testNode.System.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		start := time.Now()
		_, err := b.callLocal(pid, seatmap.Command{Kind: seatmap.KindGetShow}, start.Add(10*time.Second))
		if took := time.Since(start); !errors.Is(err, errStopped) || took > localPoll/2 {
			t.Fatalf("call %d: %v after %v, want errStopped within %v", i, err, took, localPoll/2)
		}
	}
}

// TestReaperWakesOnce: the reaper sends a registered waiter past its
// deadline one wake-up, never a second while the first is unread (the
// channel keeps room for the answer), and nothing once it is unregistered.
func TestReaperWakesOnce(t *testing.T) {
	var r waitRegistry
	r.running.Store(true) // no reaper goroutine: sweep by hand
	pid := testNode.System.Root.Spawn(silentActor(false))
	defer testNode.System.Root.Stop(pid)
	w := &waiter{ch: make(chan seatmap.Result, 2), deadline: 100, pid: pid, reg: testNode.System.ProcessRegistry}
	early := &waiter{ch: make(chan seatmap.Result, 2), deadline: 1 << 62, pid: pid, reg: testNode.System.ProcessRegistry}
	r.add(w)
	r.add(early)
	r.sweep(50, true)
	if len(w.ch) != 0 || len(early.ch) != 0 {
		t.Fatalf("woken before the deadline: %d %d", len(w.ch), len(early.ch))
	}
	r.sweep(200, true)
	r.sweep(300, true)
	if len(w.ch) != 1 || len(early.ch) != 0 {
		t.Fatalf("after two sweeps past the deadline: %d wake-ups (want 1), the other waiter %d", len(w.ch), len(early.ch))
	}
	w.ch <- seatmap.Result{} // the answer still fits
	<-w.ch
	<-w.ch
	r.remove(w)
	r.sweep(400, true)
	if len(w.ch) != 0 {
		t.Fatal("an unregistered waiter was woken")
	}
	testNode.System.Root.Stop(pid)
	time.Sleep(50 * time.Millisecond)
	r.sweep(400, false)
	if len(early.ch) != 0 {
		t.Fatal("woken for its activation without the liveness check")
	}
	r.sweep(400, true)
	if len(early.ch) != 1 {
		t.Fatal("not woken when its activation stopped")
	}
	r.remove(early)
	for i := range r.shards {
		if n := len(r.shards[i].waiting); n != 0 {
			t.Fatalf("shard %d keeps %d waiters", i, n)
		}
	}
	if n := r.count(); n != 0 {
		t.Fatalf("%d calls counted as waiting", n)
	}
}

// TestReaperStopsWhenIdle: the reaper goroutine ends after reapIdle
// without calls, and the next call starts one that still gives up on time.
func TestReaperStopsWhenIdle(t *testing.T) {
	var r waitRegistry
	pid := testNode.System.Root.Spawn(silentActor(false))
	defer testNode.System.Root.Stop(pid)
	w := &waiter{ch: make(chan seatmap.Result, 2), deadline: time.Now().Add(50 * time.Millisecond).UnixNano(), pid: pid,
		reg: testNode.System.ProcessRegistry}
	for round := range 2 {
		r.add(w)
		select {
		case res := <-w.ch:
			if res.Err != errWake {
				t.Fatalf("round %d: got %v, want a wake-up", round, res.Err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: no wake-up past the deadline", round)
		}
		r.remove(w)
		deadline := time.Now().Add(reapIdle + 2*time.Second)
		for r.running.Load() {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the reaper still runs %v after the last call", round, reapIdle+2*time.Second)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
