package actors

import (
	"runtime"
	"runtime/pprof"

	"github.com/asynkron/protoactor-go/actor"
)

// poolDispatcher runs mailbox turns on long-lived goroutines instead of a new
// goroutine per turn (protoactor's default). A fresh goroutine starts with a
// small stack that every turn grows again through the core and the journal
// (runtime.newstack showed as a tenth of the server's CPU); pooled workers
// keep their grown stacks. When every worker is busy a turn runs on a new
// goroutine, so a slow mailbox can never starve the others. Safe for
// concurrent use.
type poolDispatcher struct {
	work       chan func()
	throughput int
}

func newPoolDispatcher(workers, throughput int) *poolDispatcher {
	d := &poolDispatcher{work: make(chan func()), throughput: throughput}
	for i := 0; i < workers; i++ {
		go func() {
			pprof.SetGoroutineLabels(actorLabels) // CPU profiles tell the serial path (serial.go)
			for fn := range d.work {
				fn()
			}
		}()
	}
	return d
}

func (d *poolDispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	default:
		go func() {
			pprof.SetGoroutineLabels(actorLabels)
			fn()
		}()
	}
}

func (d *poolDispatcher) Throughput() int { return d.throughput }

// shardDispatcher is shared by every shard actor of the process.
var shardDispatcher actor.Dispatcher = newPoolDispatcher(4*runtime.GOMAXPROCS(0), 300)
