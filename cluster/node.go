package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
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
}

// Node is a running cluster member.
type Node struct {
	System  *actor.ActorSystem
	Cluster *pcluster.Cluster
	address string

	mu   sync.RWMutex          // protects pids
	pids map[string]*actor.PID // identity -> PID, resolved once
}

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
		provider = automanaged.NewWithConfig(2*time.Second, cfg.HealthPort, cfg.Hosts...)
	}
	rc := remote.Configure(cfg.Host, cfg.Port)
	cc := pcluster.Configure(cfg.Name, provider, disthash.New(), rc,
		pcluster.WithKinds(cfg.Kinds...), pcluster.WithRequestTimeout(5*time.Second))
	c := pcluster.New(system, cc)
	c.StartMember()
	return &Node{System: system, Cluster: c, address: system.Address(), pids: map[string]*actor.PID{}}, nil
}

// PID resolves an identity of kind to the PID of its activation, activating it
// when needed. Resolved PIDs are cached until Forget.
func (n *Node) PID(identity, kind string) (*actor.PID, error) {
	key := kind + "|" + identity
	n.mu.RLock()
	pid := n.pids[key]
	n.mu.RUnlock()
	if pid != nil {
		return pid, nil
	}
	pid = n.Cluster.Get(identity, kind)
	if pid == nil {
		return nil, fmt.Errorf("cluster: no activation for %s/%s", kind, identity)
	}
	n.mu.Lock()
	n.pids[key] = pid
	n.mu.Unlock()
	return pid, nil
}

// Forget drops a cached PID (after it answered dead letter or timed out).
func (n *Node) Forget(identity, kind string, pid *actor.PID) {
	key := kind + "|" + identity
	n.mu.Lock()
	if cur := n.pids[key]; cur != nil && cur.Equal(pid) {
		delete(n.pids, key)
	}
	n.mu.Unlock()
	n.Cluster.PidCache.RemoveByValue(identity, kind, pid)
}

// Local reports whether pid lives in this process.
func (n *Node) Local(pid *actor.PID) bool { return pid.Address == n.address }

// Members is the number of cluster members this node sees.
func (n *Node) Members() int { return n.Cluster.MemberList.Members().Len() }

// Stop leaves the cluster and stops the actor system.
func (n *Node) Stop() {
	n.Cluster.Shutdown(true)
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

func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.min}
}
func (f levelFilter) WithGroup(g string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(g), f.min}
}
