package sim

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// drainGrace is how long an open-loop run that fell behind its schedule may
// keep sending after the planned duration; arrivals still unsent then are
// counted as missed rather than sent late without end.
const drainGrace = 5 * time.Second

// worker is one sending goroutine's private state.
type worker struct {
	id  int
	rng *rand.Rand
}

// arrivalFunc performs arrival i (one user's action, possibly several
// requests). intended is when it was scheduled to start: latency of its first
// request counts from there.
type arrivalFunc func(ctx context.Context, w *worker, i int64, intended time.Time)

// driveSpec says how to drive arrivals.
type driveSpec struct {
	rate     float64       // > 0: open loop at this many arrivals per second
	workers  int           // open loop: max arrivals in flight; closed loop: connections
	duration time.Duration // planned length
	maxTotal int64         // hard cap on arrivals
	seed     uint64
}

// driveResult is what a drive did.
type driveResult struct {
	arrivals int64 // arrivals performed
	missed   int64 // open loop: scheduled arrivals not sent (the run fell more than drainGrace behind)
	elapsed  time.Duration
}

// drive runs arrivals open-loop (spec.rate > 0) or closed-loop until the
// planned duration is over, calling onTick about once a second from one
// goroutine. It returns when every arrival has finished.
func drive(ctx context.Context, spec driveSpec, fn arrivalFunc, onTick func(now time.Time)) driveResult {
	start := time.Now()
	end := start.Add(spec.duration)
	var next, done, missed atomic.Int64
	var wg sync.WaitGroup
	total := spec.maxTotal
	if spec.rate > 0 {
		total = min(total, int64(spec.rate*spec.duration.Seconds()))
	}
	for id := 0; id < spec.workers; id++ {
		w := &worker{id: id, rng: rand.New(rand.NewPCG(spec.seed, uint64(id)))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if spec.rate > 0 {
				openLoop(ctx, w, fn, start, spec.rate, total, &next, &done, &missed)
			} else {
				closedLoop(ctx, w, fn, end, total, &next, &done)
			}
		}()
	}
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				onTick(now)
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-ticked
	return driveResult{arrivals: done.Load(), missed: missed.Load(), elapsed: time.Since(start)}
}

// openLoop takes arrival slots in order; slot i is due at start + i/rate.
// It sleeps until its slot is due, or sends at once when behind schedule
// (the latency then includes the lateness: coordinated omission is counted).
func openLoop(ctx context.Context, w *worker, fn arrivalFunc, start time.Time, rate float64, total int64,
	next, done, missed *atomic.Int64) {
	giveUp := start.Add(time.Duration(float64(total)/rate*float64(time.Second)) + drainGrace)
	for {
		i := next.Add(1) - 1
		if i >= total {
			return
		}
		intended := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		now := time.Now()
		if now.After(giveUp) || ctx.Err() != nil {
			missed.Add(1)
			continue
		}
		if d := intended.Sub(now); d > 0 && !sleepCtx(ctx, d) {
			missed.Add(1)
			continue
		}
		fn(ctx, w, i, intended)
		done.Add(1)
	}
}

// closedLoop sends arrival after arrival, each as soon as the last finished.
func closedLoop(ctx context.Context, w *worker, fn arrivalFunc, end time.Time, total int64, next, done *atomic.Int64) {
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		i := next.Add(1) - 1
		if i >= total {
			return
		}
		fn(ctx, w, i, now)
		done.Add(1)
	}
}

// sleepCtx sleeps for d; it returns false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
