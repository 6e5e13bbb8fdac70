package cluster

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
)

// startTestNode starts a single-member node with one kind whose actors do
// nothing, and stops it with the test.
func startTestNode(t *testing.T) *Node {
	t.Helper()
	kind := pcluster.NewKind("probe", actor.PropsFromFunc(func(actor.Context) {}))
	n, err := Start(Config{Kinds: []*pcluster.Kind{kind}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return n
}

// TestPlacementCache: a resolved PID is cached per kind and identity; Forget
// drops it only when it is the cached one; a topology change closes
// Changed's channel, after a new channel is in place, and empties the
// cache; a PID resolved under a topology that ended is not cached for the
// next.
func TestPlacementCache(t *testing.T) {
	n := startTestNode(t)
	a, err := n.PID("show-a", "probe")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := n.PID("show-a", "probe"); again != a {
		t.Fatalf("second lookup: %v, want the cached %v", again, a)
	}
	if _, ok := n.view.Load().pids.Load(pidKey{"probe", "show-a"}); !ok {
		t.Fatal("the PID is not in the cache")
	}
	n.Forget("show-a", "probe", actor.NewPID(a.Address, "someone-else"))
	if _, ok := n.view.Load().pids.Load(pidKey{"probe", "show-a"}); !ok {
		t.Fatal("Forget of another PID dropped the cached one")
	}
	n.Forget("show-a", "probe", a)
	if _, ok := n.view.Load().pids.Load(pidKey{"probe", "show-a"}); ok {
		t.Fatal("Forget left the PID cached")
	}
	if _, err := n.PID("show-a", "probe"); err != nil {
		t.Fatal(err)
	}

	before := n.Changed()
	var wg sync.WaitGroup
	wg.Add(1)
	var after <-chan struct{}
	go func() { // a waiter woken by the change sees the next topology's channel
		defer wg.Done()
		<-before
		after = n.Changed()
	}()
	n.topologyChanged()
	wg.Wait()
	if after == before {
		t.Fatal("a caller woken by the topology change got the closed channel again")
	}
	select {
	case <-after:
		t.Fatal("the new topology's channel is closed")
	default:
	}
	if _, ok := n.view.Load().pids.Load(pidKey{"probe", "show-a"}); ok {
		t.Fatal("the topology change left a PID cached")
	}

	// a lookup that began under the old topology stores into the old view:
	// the current one never sees it
	old := n.view.Load()
	n.topologyChanged()
	old.pids.Store(pidKey{"probe", "show-b"}, actor.NewPID(a.Address, "stale"))
	if _, ok := n.view.Load().pids.Load(pidKey{"probe", "show-b"}); ok {
		t.Fatal("a PID resolved under an ended topology is cached for the next")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		pid, err := n.PID("show-b", "probe")
		if err == nil && pid.Id != "stale" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("show-b after the change: %v, %v", pid, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
