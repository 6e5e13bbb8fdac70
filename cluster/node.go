package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
)

// Config describes one node.
type Config struct {
	Name string // cluster name; nodes of one cluster share it. Default "boxoffice".
	Host string // address for actor traffic between nodes. Default 127.0.0.1.
	Port int    // port for actor traffic; 0 picks a free one.
	// Hosts lists every node's membership endpoint ("host:healthport"), this
	// node's included. Empty: a single-member cluster.
	Hosts      []string
	HealthPort int // this node's membership port (with Hosts).
	Kinds      []*pcluster.Kind
	Log        *slog.Logger // protoactor's own logs go here at Warn and above
	// HealthInterval is how often each node checks every other node's
	// membership endpoint: a dead node leaves the topology within about one
	// interval (connection refused) or 2 s (a host that does not answer).
	// Default 250 ms.
	HealthInterval time.Duration
}

// DefaultHealthInterval is Config.HealthInterval's default.
const DefaultHealthInterval = 250 * time.Millisecond

// lookupTimeout bounds asking an owner's placement actor for an activation
// (it answers at once when alive; the show's recovery runs afterwards in
// the show's own mailbox).
const lookupTimeout = time.Second

// Node is a running cluster member.
//
// Placement: a show is owned by the member that rendezvous hashing picks
// among the members this node sees (as protoactor's disthash does), and
// activated by asking that member's placement actor. Resolved PIDs are
// cached; the cache is dropped on every topology change (protoactor's
// ClusterTopology event), and Changed lets callers stop waiting on a member
// that left.
type Node struct {
	System   *actor.ActorSystem
	Cluster  *pcluster.Cluster
	address  string
	provider pcluster.ClusterProvider
	managed  bool // provider is automanaged (several hosts)

	// view is the current topology's PID cache and change signal, read
	// without a lock: every request of every show reads it (a read lock
	// here was two atomic writes a request on one cache line that all
	// CPUs shared; bench/README.md, issue 12, eleventh round). A topology
	// change installs a new view, under mu, before it closes the old
	// one's channel.
	view atomic.Pointer[placeView]

	mu      sync.RWMutex // protects members, and the swap of view
	members []string     // member addresses, nil: read from the member list

	draining atomic.Bool
	// TopologyChanges counts the topology events this node saw.
	TopologyChanges atomic.Int64
}

// placeView is one topology's placement cache: resolved PIDs and the
// channel closed when that topology ends. A PID stored into a view that is
// no longer current is never read again: the cache cannot keep a PID
// resolved under an older topology.
type placeView struct {
	pids    sync.Map      // pidKey -> *actor.PID, resolved once per topology
	changed chan struct{} // closed on the next topology change
}

// pidKey is a placeView key: kind and identity, without building a string.
type pidKey struct{ kind, identity string }

func newPlaceView() *placeView { return &placeView{changed: make(chan struct{})} }

// errTopologyChanged: the topology changed while a lookup waited.
var errTopologyChanged = errors.New("cluster: topology changed during the lookup")

// Start starts the actor system and joins the cluster.
func Start(cfg Config) (*Node, error) {
	if cfg.Name == "" {
		cfg.Name = "boxoffice"
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Port == 0 {
		p, err := freePort(cfg.Host)
		if err != nil {
			return nil, err
		}
		cfg.Port = p
	}
	quiet := cfg.Log.Handler()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(levelFilter{quiet, slog.LevelWarn})
	}))
	var provider pcluster.ClusterProvider
	if len(cfg.Hosts) == 0 {
		provider = test.NewTestProvider(test.NewInMemAgent())
	} else {
		if cfg.HealthPort == 0 {
			return nil, fmt.Errorf("cluster: --cluster-hosts needs a health port")
		}
		if cfg.HealthInterval <= 0 {
			cfg.HealthInterval = DefaultHealthInterval
		}
		provider = automanaged.NewWithConfig(cfg.HealthInterval, cfg.HealthPort, cfg.Hosts...)
	}
	rc := remote.Configure(cfg.Host, cfg.Port)
	cc := pcluster.Configure(cfg.Name, provider, disthash.New(), rc,
		pcluster.WithKinds(cfg.Kinds...), pcluster.WithRequestTimeout(5*time.Second))
	c := pcluster.New(system, cc)
	n := &Node{System: system, Cluster: c, provider: provider, managed: len(cfg.Hosts) > 0}
	n.view.Store(newPlaceView())
	system.EventStream.Subscribe(func(ev any) {
		if _, ok := ev.(*pcluster.ClusterTopology); ok {
			n.topologyChanged()
		}
	})
	c.StartMember()
	n.address = system.Address()
	return n, nil
}

// topologyChanged drops every cached PID and wakes whoever waits on Changed.
func (n *Node) topologyChanged() {
	n.TopologyChanges.Add(1)
	n.mu.Lock()
	old := n.view.Swap(newPlaceView())
	n.members = nil
	close(old.changed) // after the swap: a woken waiter looks up in the new view
	n.mu.Unlock()
}

// Changed returns a channel closed at the next topology change.
func (n *Node) Changed() <-chan struct{} { return n.view.Load().changed }

// Alive reports whether pid lives on a member this node still sees.
func (n *Node) Alive(pid *actor.PID) bool {
	if pid.Address == n.address {
		return true
	}
	for _, a := range n.memberAddrs() {
		if a == pid.Address {
			return true
		}
	}
	return false
}

// Moved reports whether pid, an activation of identity, is on a member
// that left or no longer owns identity.
func (n *Node) Moved(identity string, pid *actor.PID) bool {
	return !n.Alive(pid) || n.Owner(identity) != pid.Address
}

// memberAddrs returns the members' addresses (without this node while it drains).
func (n *Node) memberAddrs() []string {
	n.mu.RLock()
	m := n.members
	n.mu.RUnlock()
	if m != nil {
		return m
	}
	for _, mb := range n.Cluster.MemberList.Members().Members() {
		if a := mb.Address(); !(n.draining.Load() && a == n.address) {
			m = append(m, a)
		}
	}
	n.mu.Lock()
	n.members = m
	n.mu.Unlock()
	return m
}

// Owner returns the address of the member that owns identity (rendezvous
// hashing, as protoactor's disthash: every member hosts every kind here).
func (n *Node) Owner(identity string) string {
	var best string
	var score uint32
	h := fnv.New32a()
	for _, a := range n.memberAddrs() {
		h.Reset()
		h.Write([]byte(identity))
		h.Write([]byte(a))
		if s := h.Sum32(); best == "" || s > score {
			best, score = a, s
		}
	}
	return best
}

// PID resolves an identity of kind to the PID of its activation, activating it
// when needed. Resolved PIDs are cached until Forget or a topology change. A
// lookup never waits longer than lookupTimeout, nor past a topology change.
func (n *Node) PID(identity, kind string) (*actor.PID, error) {
	view, key := n.view.Load(), pidKey{kind, identity}
	if v, ok := view.pids.Load(key); ok {
		return v.(*actor.PID), nil
	}
	changed := view.changed
	owner := n.Owner(identity)
	if owner == "" {
		return nil, fmt.Errorf("cluster: no member to place %s/%s", kind, identity)
	}
	req := &pcluster.ActivationRequest{ClusterIdentity: pcluster.NewClusterIdentity(identity, kind)}
	f := n.System.Root.RequestFuture(actor.NewPID(owner, disthash.PartitionActivatorActorName), req, lookupTimeout)
	res, err := Wait(f, changed)
	if err != nil {
		return nil, fmt.Errorf("cluster: placing %s/%s on %s: %w", kind, identity, owner, err)
	}
	r, ok := res.(*pcluster.ActivationResponse)
	if !ok || r.Pid == nil {
		return nil, fmt.Errorf("cluster: %s did not activate %s/%s", owner, kind, identity)
	}
	view.pids.Store(key, r.Pid) // read no more once the topology changed (placeView)
	return r.Pid, nil
}

// Wait waits for f, or until changed is closed (errTopologyChanged).
func Wait(f *actor.Future, changed <-chan struct{}) (any, error) {
	type result struct {
		v   any
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f.Result()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-changed:
		return nil, errTopologyChanged
	}
}

// Drain starts a graceful leave: this node stops placing shows on itself
// and leaves the membership, so the other members take its shows over
// (their activations wait for nothing: this node's stopping shows release
// their leases). The node keeps routing its own requests to the new owners.
// A single node (no Hosts) has nobody to hand over to: Drain does nothing.
func (n *Node) Drain() {
	if !n.managed {
		return
	}
	n.draining.Store(true)
	n.topologyChanged()
	_ = n.provider.Shutdown(true) // peers' next health check finds this node gone
}

// Managed reports whether the node runs with other hosts (Config.Hosts).
func (n *Node) Managed() bool { return n.managed }

// Draining reports whether Drain was called.
func (n *Node) Draining() bool { return n.draining.Load() }

// Forget drops a cached PID (after it answered dead letter or timed out).
func (n *Node) Forget(identity, kind string, pid *actor.PID) {
	view, key := n.view.Load(), pidKey{kind, identity}
	if cur, ok := view.pids.Load(key); ok && cur.(*actor.PID).Equal(pid) {
		view.pids.CompareAndDelete(key, cur)
	}
	n.Cluster.PidCache.RemoveByValue(identity, kind, pid)
}

// Local reports whether pid lives in this process.
func (n *Node) Local(pid *actor.PID) bool { return pid.Address == n.address }

// Members is the number of cluster members this node sees.
func (n *Node) Members() int { return n.Cluster.MemberList.Members().Len() }

// Stop leaves the cluster and stops the actor system. After Drain it does
// not wait again for the others to take over.
func (n *Node) Stop() {
	n.Cluster.Shutdown(!n.draining.Load())
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return strconv.Atoi(p)
}

// levelFilter drops records below min.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// Handle drops the automanaged provider's error for every failed health
// check of a member that is down (4 a second per dead member); the
// topology change itself is logged.
func (f levelFilter) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "Bad connection to the node health status") {
		return nil
	}
	return f.Handler.Handle(ctx, r)
}

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.min}
}
func (f levelFilter) WithGroup(g string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(g), f.min}
}
