package actors

import "time"

// Clock is the time and the timers of the shell around the seat map: the
// show actor's deadline and retry timers, its writer's stall guard, the lease
// clock and the background reopen of a failed journal. Production uses
// SystemClock; the deterministic simulator (sim/vopr) fills it with simulated
// time, so that every decision of the shell runs under its seeded scheduler.
// Implementations are safe for concurrent use.
type Clock interface {
	// Now is the current time. Only differences between two readings (and
	// Env.NowMs for the seat map) are used.
	Now() time.Time
	// AfterFunc calls f once after d, as time.AfterFunc does (for SystemClock
	// in its own goroutine; AfterFunc(0, f) is how the shell starts
	// background work).
	AfterFunc(d time.Duration, f func()) Timer
	// Sleep pauses the caller for d.
	Sleep(d time.Duration)
}

// Timer is a pending AfterFunc; Stop cancels it and reports whether it did.
type Timer interface {
	Stop() bool
}

// SystemClock is the real clock: time.Now, time.AfterFunc, time.Sleep.
type SystemClock struct{}

func (SystemClock) Now() time.Time                            { return time.Now() }
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
func (SystemClock) Sleep(d time.Duration)                     { time.Sleep(d) }

// mono is the lease clock's monotonic reading (nanoseconds since epochStart).
func (e *Env) mono() int64 { return int64(e.Clock.Now().Sub(epochStart)) }
