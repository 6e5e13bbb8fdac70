package redis

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Options configures a Client. Exactly one of Addr and ClusterAddrs is set.
type Options struct {
	// Addr is "host:port" or a URL "redis://[user:password@]host:port[/db]"
	// ("rediss://" for TLS) of a single Redis server.
	Addr string
	// ClusterAddrs are seed "host:port" addresses of a Redis Cluster.
	ClusterAddrs []string
	// Username and Password authenticate (a URL's take precedence for Addr).
	Username, Password string
	// Logger receives health changes and script reloads (slog.Default() if nil).
	Logger *slog.Logger
	// OnChange is called when Healthy() changes, from the goroutine that saw
	// the change, one call at a time. It must not block.
	OnChange func(healthy bool)

	// DialTimeout, ReadTimeout and WriteTimeout bound one connection attempt
	// and one round trip (defaults 500 ms each). A call also ends at its
	// context's deadline, whichever comes first.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	// PoolSize is the number of connections per node (go-redis default if 0).
	PoolSize int
	// MaxRetries is how often go-redis retries a round trip that failed on the
	// network (default 1; -1: never). Retrying is safe: a checkpoint retried
	// by its own activation is recognised and skipped (see Apply).
	MaxRetries int

	// HealthInterval is the PING period while healthy (default 200 ms).
	// HealthMinBackoff and HealthMaxBackoff bound the PING period while
	// unhealthy, doubling from min to max (defaults 100 ms, 500 ms).
	HealthInterval, HealthMinBackoff, HealthMaxBackoff time.Duration
	// ProbeTimeout bounds one health PING (default 300 ms): Redis that does
	// not answer within it is unhealthy. A call that times out after
	// waiting at least this long marks the client unhealthy too.
	ProbeTimeout time.Duration

	// WaitReplicas, when > 0, makes Apply run WAIT WaitReplicas WaitTimeout
	// after the checkpoints, on the same connection in the same pipeline: a
	// checkpoint applied while fewer replicas acknowledged it gets
	// ErrNotReplicated (default 0: no WAIT). WaitTimeout defaults to 100 ms;
	// a ReadTimeout not above it is raised by it. Not supported with
	// ClusterAddrs (Open fails).
	WaitReplicas int
	WaitTimeout  time.Duration

	// MaxEntriesPerCall and MaxBytesPerCall bound one Apply script call;
	// a checkpoint with more entries is split into consecutive calls
	// (defaults 4096 entries, 4 MiB). A snapshot is never split: it travels
	// in one call whatever its size.
	MaxEntriesPerCall, MaxBytesPerCall int

	// TolerateDown makes Open succeed when Redis cannot be reached: the
	// client starts unhealthy and loads its scripts once Redis answers.
	TolerateDown bool
}

// Defaults.
const (
	defaultDialTimeout       = 500 * time.Millisecond
	defaultIOTimeout         = 500 * time.Millisecond
	defaultHealthInterval    = 200 * time.Millisecond
	defaultHealthMinBackoff  = 100 * time.Millisecond
	defaultHealthMaxBackoff  = 500 * time.Millisecond
	defaultProbeTimeout      = 300 * time.Millisecond
	defaultWaitTimeout       = 100 * time.Millisecond
	defaultMaxEntriesPerCall = 4096
	defaultMaxBytesPerCall   = 4 << 20
)

// withDefaults fills unset fields and checks the addresses.
func (o Options) withDefaults() (Options, error) {
	if (o.Addr == "") == (len(o.ClusterAddrs) == 0) {
		return o, fmt.Errorf("redis: set exactly one of Options.Addr and Options.ClusterAddrs")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&o.DialTimeout, defaultDialTimeout)
	setDur(&o.ReadTimeout, defaultIOTimeout)
	setDur(&o.WriteTimeout, defaultIOTimeout)
	setDur(&o.HealthInterval, defaultHealthInterval)
	setDur(&o.HealthMinBackoff, defaultHealthMinBackoff)
	setDur(&o.HealthMaxBackoff, defaultHealthMaxBackoff)
	setDur(&o.ProbeTimeout, defaultProbeTimeout)
	setDur(&o.WaitTimeout, defaultWaitTimeout)
	if o.WaitReplicas > 0 && o.ReadTimeout <= o.WaitTimeout {
		o.ReadTimeout += o.WaitTimeout // WAIT blocks the round trip up to WaitTimeout
	}
	if o.WaitReplicas > 0 && len(o.ClusterAddrs) > 0 {
		return o, fmt.Errorf("redis: Options.WaitReplicas is not supported with ClusterAddrs")
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
	if o.MaxEntriesPerCall <= 0 {
		o.MaxEntriesPerCall = defaultMaxEntriesPerCall
	}
	if o.MaxBytesPerCall <= 0 {
		o.MaxBytesPerCall = defaultMaxBytesPerCall
	}
	return o, nil
}

// resp is the protocol the client speaks: RESP2, whose HGETALL reply is a
// flat array the client keeps as it is (RESP3's is a map: go-redis builds a
// Go map of every bucket of rows; a read of 1,000,000 rows took 0.65-0.71 s
// so, 0.51 s in RESP2: BenchmarkRowsReadShapes/LoadRows-buckets). Nothing
// here uses what RESP3 adds (push messages, typed maps and sets).
const resp = 2

// newUniversal builds the go-redis client: a *goredis.Client or, with
// ClusterAddrs, a *goredis.ClusterClient.
func (o Options) newUniversal() (goredis.UniversalClient, *goredis.ClusterClient, error) {
	maint := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if len(o.ClusterAddrs) > 0 {
		cc := goredis.NewClusterClient(&goredis.ClusterOptions{
			Addrs: o.ClusterAddrs, Username: o.Username, Password: o.Password,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolSize: o.PoolSize, MaxRetries: o.MaxRetries, DisableIdentity: true, Protocol: resp,
			ContextTimeoutEnabled:    true,
			MaintNotificationsConfig: maint,
			NewClient: func(no *goredis.Options) *goredis.Client {
				no.DialerRetries = 1
				return goredis.NewClient(no)
			},
		})
		return cc, cc, nil
	}
	ro := &goredis.Options{Addr: o.Addr, Username: o.Username, Password: o.Password}
	if strings.Contains(o.Addr, "://") {
		parsed, err := goredis.ParseURL(o.Addr)
		if err != nil {
			return nil, nil, fmt.Errorf("redis: Options.Addr: %w", err)
		}
		if parsed.Password == "" {
			parsed.Username, parsed.Password = o.Username, o.Password
		}
		ro = parsed
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = o.DialTimeout, o.ReadTimeout, o.WriteTimeout
	ro.PoolSize, ro.MaxRetries, ro.DisableIdentity, ro.Protocol = o.PoolSize, o.MaxRetries, true, resp
	ro.ContextTimeoutEnabled = true // a call ends at its context's deadline
	ro.DialerRetries = 1            // fail fast while Redis is down: the health loop retries
	ro.MaintNotificationsConfig = maint
	return goredis.NewClient(ro), nil, nil
}
