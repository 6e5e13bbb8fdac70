package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on --pprof's own listener
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/boxoffice/boxoffice/actors"
	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/cluster"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/perf"
	"github.com/boxoffice/boxoffice/persistence/pebble"
	"github.com/boxoffice/boxoffice/persistence/redis"
	"github.com/boxoffice/boxoffice/persistence/rocketmq"
	goredis "github.com/redis/go-redis/v9"
)

type serveConfig struct {
	httpAddr     string
	dataDir      string
	adminToken   string
	journal      string
	clusterHost  string
	clusterPort  int
	clusterHosts string
	healthPort   int
	userRate     float64
	ipRate       float64
	pprofAddr    string
	logLevel     string
	rocketmq     string
	rmqTopic     string
	rmqInvTopic  string
	consumers    bool
	redisAddr    string
	redisCluster string
	redisWait    int
	holdAck      string
	deadAfter    int
	retention    time.Duration
	lease        time.Duration
	healthEvery  time.Duration
	// identity and abuse bounds (see README "Authentication")
	internalToken string
	tokenSecret   string
	tokenKeys     string
	tokenAudience string
	tokenIssuer   string
	maxConnsPerIP int
	// webhooks (README "Webhooks")
	webhookAllowPrivate bool
	webhookMinBackoff   time.Duration
	webhookMaxAge       time.Duration
	// waiting rooms (README "The waiting room and the waitlist")
	queuePassSecret string
}

func serveFlags(args []string) (*serveConfig, error) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.httpAddr, "http", "127.0.0.1:8080", "HTTP listen address (env BOXOFFICE_HTTP)")
	fs.StringVar(&c.dataDir, "data", "./data", "data directory: journal, snapshots, outbox, notifications.log (env BOXOFFICE_DATA)")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer token for admin routes; generated and printed once when empty (env BOXOFFICE_ADMIN_TOKEN)")
	fs.StringVar(&c.journal, "journal", "pebble", "journal: pebble (synced), nosync (pebble without fsync), memory (nothing survives a restart)")
	fs.StringVar(&c.clusterHost, "cluster-host", "127.0.0.1", "address for actor traffic between nodes")
	fs.IntVar(&c.clusterPort, "cluster-port", 0, "port for actor traffic between nodes (0 = any free port)")
	fs.StringVar(&c.clusterHosts, "cluster-hosts", "", "comma-separated host:health-port of every node; empty = single node")
	fs.IntVar(&c.healthPort, "health-port", 0, "this node's membership port (with --cluster-hosts)")
	fs.DurationVar(&c.lease, "lease", actors.DefaultLease, "with --cluster-hosts: how long a show's lease in Redis lasts; an activation answers only while it holds it, and a dead node's shows move after at most this long")
	fs.DurationVar(&c.healthEvery, "cluster-health-interval", cluster.DefaultHealthInterval, "with --cluster-hosts: how often each node checks the others (a dead node leaves the topology within about this long)")
	fs.Float64Var(&c.userRate, "user-rate", 0, "hold requests per second per user and show (0 = default, <0 = off)")
	fs.Float64Var(&c.ipRate, "ip-rate", 0, "requests per second per client IP (0 = off)")
	fs.StringVar(&c.pprofAddr, "pprof", "", "serve net/http/pprof on this address (off when empty)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.holdAck, "hold-ack", "synced", "when holds are answered: synced (after their journal batch is on disk) or applied (at once; a crash can lose holds of the last sync interval; orders always wait)")
	fs.StringVar(&c.redisAddr, "redis", "", "Redis host:port or redis://[user:password@]host:port: the authority of every show; nothing is acknowledged before Redis accepted it (env BOXOFFICE_REDIS)")
	fs.IntVar(&c.redisWait, "redis-wait", 0, "after each checkpoint, Redis WAIT for this many replicas (0 = off); a write not replicated in time answers 503")
	fs.StringVar(&c.redisCluster, "redis-cluster", "", "Redis Cluster seed host:port,host:port (env BOXOFFICE_REDIS_CLUSTER)")
	fs.StringVar(&c.rocketmq, "rocketmq", "", "RocketMQ name server host:port: order events go through the broker (empty: embedded pipeline)")
	fs.StringVar(&c.rmqTopic, "rocketmq-topic", rocketmq.DefaultTopic, "RocketMQ topic of order events")
	fs.StringVar(&c.rmqInvTopic, "rocketmq-inventory-topic", rocketmq.DefaultInventoryTopic, "with --rocketmq: RocketMQ topic of inventory events (key: show id, ordered per show)")
	fs.BoolVar(&c.consumers, "consumers", true, "with --rocketmq: run the payment and notification consumers in this process")
	fs.IntVar(&c.deadAfter, "dead-letter-after", pipeline.DefaultMaxAttempts, "failed tries after which an order event becomes a dead letter (see /v1/admin/dead-letters)")
	fs.DurationVar(&c.retention, "dedupe-retention", pipeline.DefaultRetention, "how long consumers remember charges and notifications to ignore redeliveries")
	fs.StringVar(&c.internalToken, "internal-token", "", "bearer token of the consumers' callbacks /v1/internal/* (the admin token does not open them when set; empty = the admin token) (env BOXOFFICE_INTERNAL_TOKEN)")
	fs.StringVar(&c.tokenSecret, "user-token-secret", "", "HS256 secret (32+ bytes) of user tokens; with it or --user-token-keys every booking call needs a user token (env BOXOFFICE_USER_TOKEN_SECRET)")
	fs.StringVar(&c.tokenKeys, "user-token-keys", "", "JWKS file of the public keys of user tokens (RS256, ES256, EdDSA)")
	fs.StringVar(&c.tokenAudience, "user-token-audience", "", "when set, user tokens must have this aud")
	fs.StringVar(&c.tokenIssuer, "user-token-issuer", "", "when set, user tokens must have this iss")
	fs.IntVar(&c.maxConnsPerIP, "max-conns-per-ip", 0, "simultaneous connections per client IP (0 = no cap)")
	fs.BoolVar(&c.webhookAllowPrivate, "webhook-allow-private", false, "let webhook URLs resolve to loopback and private addresses (tests, on-premises receivers); refused by default (SSRF)")
	fs.DurationVar(&c.webhookMinBackoff, "webhook-min-backoff", pipeline.DefaultWebhookMinBackoff, "delay before a failed webhook delivery's second attempt; it doubles up to 2 h")
	fs.DurationVar(&c.webhookMaxAge, "webhook-max-age", pipeline.DefaultWebhookMaxAge, "how long a webhook delivery is retried before it is dead")
	fs.StringVar(&c.queuePassSecret, "queue-pass-secret", "", "key (32+ bytes) that signs waiting-room passes, the same on every node; empty = derived from the admin token (env BOXOFFICE_QUEUE_PASS_SECRET)")
	envDefaults(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.queuePassSecret != "" && len(c.queuePassSecret) < 32 {
		return nil, errShortPassSecret
	}
	if c.clusterHosts != "" && c.redisAddr == "" && c.redisCluster == "" {
		return nil, errClusterNeedsRedis
	}
	return c, nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// errClusterNeedsRedis: several nodes need Redis as the authority of every
// show; without it a show would come back empty on a node that takes it over.
// errShortPassSecret: a pass key that could be guessed.
var errShortPassSecret = errors.New("--queue-pass-secret must be at least 32 bytes")

var errClusterNeedsRedis = errors.New("--cluster-hosts needs --redis or --redis-cluster: without Redis each node's journal is the authority of its shows, and a show that moves to another node would lose its state")

func serveMain(args []string) int {
	cfg, err := serveFlags(args)
	if err != nil {
		if errors.Is(err, errClusterNeedsRedis) || errors.Is(err, errShortPassSecret) {
			fmt.Fprintln(os.Stderr, "boxoffice serve:", err)
		}
		return 2
	}
	log := newLogger(cfg.logLevel)
	slog.SetDefault(log)
	actors.TuneGC()
	if cfg.adminToken == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		cfg.adminToken = hex.EncodeToString(b[:])
		fmt.Fprintf(os.Stderr, "admin token (generated; pass --admin-token to choose one): %s\n", cfg.adminToken)
	}
	if cfg.tokenSecret == "" && cfg.tokenKeys == "" {
		log.Warn("users are not authenticated: the booking API trusts the body's user and lets anyone read or change any hold or order by id; pass --user-token-secret or --user-token-keys")
	}
	if err := serve(cfg, log); err != nil {
		log.Error("serve failed", "err", err)
		return 1
	}
	return 0
}

// node is everything one serving process runs.
type node struct {
	store     *pebble.Store
	cluster   *cluster.Node
	booking   *actors.Booking
	http      *edge.Server
	perf      *perf.Monitor
	relay     *pipeline.Relay
	hooks     *pipeline.Webhooks // nil without a store
	hooksDone chan struct{}
	env       *actors.Env
	stopBg    context.CancelFunc
	closers   []func()                    // producers and consumers, closed on stop
	figures   []func() map[string]float64 // the pipeline's, added to /metrics
}

// nodeBackend is the booking API's backend with the order pipeline's figures
// (relay, RocketMQ producers and consumers) added to /metrics' gauges.
type nodeBackend struct {
	*actors.Booking
	figures []func() map[string]float64
}

func (b nodeBackend) Gauges() map[string]float64 {
	g := b.Booking.Gauges()
	for _, f := range b.figures {
		maps.Copy(g, f())
	}
	return g
}

// prefixed returns f's figures named prefix+name, "_total" added to the
// counters (counters lists them).
func prefixed(prefix string, f func() map[string]float64, counters ...string) func() map[string]float64 {
	return func() map[string]float64 {
		out := make(map[string]float64)
		for k, v := range f() {
			if slices.Contains(counters, k) {
				k += "_total"
			}
			out[prefix+k] = v
		}
		return out
	}
}

func openJournal(cfg *serveConfig, log *slog.Logger) (actors.Journal, *pebble.Store, error) {
	switch cfg.journal {
	case "memory":
		return actors.NewMemJournal(), nil, nil
	case "pebble", "nosync":
		if err := os.MkdirAll(cfg.dataDir, 0o755); err != nil {
			return nil, nil, err
		}
		st, err := pebble.Open(pebble.Options{Dir: filepath.Join(cfg.dataDir, "pebble"), NoSync: cfg.journal == "nosync",
			Logger: log.With("component", "pebble")})
		if err != nil {
			return nil, nil, err
		}
		return actors.NewPebbleJournal(st), st, nil
	}
	return nil, nil, fmt.Errorf("unknown --journal %q", cfg.journal)
}

func startNode(cfg *serveConfig, log *slog.Logger) (*node, error) {
	j, store, err := openJournal(cfg, log)
	if err != nil {
		return nil, err
	}
	n := &node{store: store}
	relay := &pipeline.Relay{Log: log.With("component", "relay"), MaxAttempts: cfg.deadAfter}
	// with RocketMQ, inventory events also go through the outbox (topic --rocketmq-inventory-topic)
	env := &actors.Env{Journal: j, Log: log, OnEvents: relay.Wake, InventoryOutbox: cfg.rocketmq != ""}
	switch cfg.holdAck {
	case "synced":
	case "applied":
		env.HoldAckApplied = true
	default:
		if store != nil {
			store.Close()
		}
		return nil, fmt.Errorf("--hold-ack must be synced or applied, not %q", cfg.holdAck)
	}
	n.env = env
	rc, err := openRedis(cfg, log)
	if err != nil {
		if store != nil {
			store.Close()
		}
		return nil, err
	}
	switch {
	case rc != nil:
		env.Remote = rc
		env.Registry = &actors.RemoteRegistry{Remote: rc}
		n.closers = append(n.closers, func() { rc.Close() })
	case store != nil:
		env.Registry = actors.KVRegistry{Store: store}
	}
	var hosts []string
	if cfg.clusterHosts != "" {
		hosts = strings.Split(cfg.clusterHosts, ",")
		if rc != nil {
			env.Lease = cfg.lease // several nodes may activate a show: only the lease holder answers
		}
	}
	// before any show activates here and before the relay starts: the
	// records Redis never accepted from this node are dropped with their events
	if err := env.DropUnaccepted(); err != nil {
		if store != nil {
			store.Close()
		}
		return nil, fmt.Errorf("dropping what Redis did not accept: %w", err)
	}
	n.cluster, err = cluster.Start(cluster.Config{Host: cfg.clusterHost, Port: cfg.clusterPort, Hosts: hosts,
		HealthPort: cfg.healthPort, Kinds: []*pcluster.Kind{actors.Kind(env)}, Log: log, HealthInterval: cfg.healthEvery})
	if err != nil {
		if store != nil {
			store.Close()
		}
		return nil, err
	}
	env.Draining = n.cluster.Draining
	n.booking = actors.NewBooking(n.cluster, n.cluster.System, env, actors.BookingOptions{
		Components: func() map[string]string {
			name := "relay"
			if cfg.rocketmq != "" {
				name = "rocketmq"
			}
			comp := map[string]string{name: relay.Status()}
			if rc != nil {
				comp["redis"] = "ok"
				if !rc.Healthy() {
					comp["redis"] = "degraded"
				}
			}
			if last := env.Stats.LastDataLossMs.Load(); rc != nil && last > 0 && time.Now().UnixMilli()-last < 10*60_000 {
				comp["redis"] = "data_loss" // Redis held less than was acknowledged; re-seeded (see the error log)
			}
			return comp
		},
	})
	n.relay = relay
	n.figures = append(n.figures, relay.Metrics)
	var shared pipeline.SharedWebhooks // webhook registrations and records fleet-wide
	if rc != nil {
		shared = rc
	}
	if err := n.startPipeline(cfg, j, shared, log); err != nil {
		n.stop(log)
		return nil, err
	}
	var limiter edge.Limiter
	if rc != nil { // rate limits hold across the fleet
		limiter = &redis.Limiter{Client: rc, Local: edge.NewMemLimiter(0)}
	}
	perfSrc := []perf.Source{n.booking}
	if store != nil {
		perfSrc = append(perfSrc, perf.StoreSource("pebble", store.Metrics))
	}
	if rc != nil {
		perfSrc = append(perfSrc, perf.StoreSource("redis", rc.Metrics))
	}
	n.perf = perf.New(perf.Options{Source: perf.Merge(perfSrc...)})
	userAuth, err := userAuth(cfg)
	if err != nil {
		n.stop(log)
		return nil, err
	}
	var hooks edge.WebhookAdmin // nil, not a nil *pipeline.Webhooks, when webhooks are off
	if n.hooks != nil {
		hooks = n.hooks
	}
	n.http = edge.New(nodeBackend{n.booking, n.figures}, edge.Options{Webhooks: hooks, Addr: cfg.httpAddr, AdminToken: cfg.adminToken, UserRate: cfg.userRate,
		IPRate: cfg.ipRate, Logger: log, Settler: n.booking, Limiter: limiter, Perf: n.perf, DeadLetters: relay,
		InternalToken: cfg.internalToken, UserAuth: userAuth, MaxConnsPerIP: cfg.maxConnsPerIP, Streams: n.booking.Streams(),
		QueuePassKey: []byte(cfg.queuePassSecret)})
	return n, nil
}

// startPipeline runs the order pipeline: the outbox relay, and the payment
// and notification consumers, embedded (in-process transport) or through
// RocketMQ.
func (n *node) startPipeline(cfg *serveConfig, j actors.Journal, shared pipeline.SharedWebhooks, log *slog.Logger) error {
	var outbox pipeline.Outbox
	if n.store != nil {
		outbox = n.store
	} else {
		outbox = j.(*actors.MemJournal)
	}
	dedupe, sweeper, dead := pipelineStores(n.store, cfg.retention, log)
	n.relay.DeadLetters = dead
	if sweeper != nil {
		ctx, cancel := context.WithCancel(context.Background())
		n.closers = append(n.closers, cancel)
		go pipeline.RunSweeper(ctx, sweeper, cfg.retention/48, log.With("component", "dedupe"))
	}
	if err := os.MkdirAll(cfg.dataDir, 0o755); err != nil {
		return err
	}
	pay, notify := consumers(cfg.dataDir, dedupe, n.booking, cfg.retention, log)
	n.relay.Outbox = outbox
	handlers := []pipeline.Handler{pay, notify}
	if n.store != nil {
		n.hooks = &pipeline.Webhooks{KV: n.store, Shared: shared, Log: log.With("component", "webhooks"),
			AllowPrivate: cfg.webhookAllowPrivate, MinBackoff: cfg.webhookMinBackoff, MaxAge: cfg.webhookMaxAge}
		if err := n.hooks.Load(); err != nil {
			return err
		}
		handlers = append(handlers, n.hooks)
	} else {
		log.Warn("webhooks are off: they need a durable store (--journal pebble or nosync)")
	}
	if cfg.rocketmq == "" {
		n.relay.Transport = &pipeline.Local{Handlers: handlers}
	} else {
		prod, err := rocketmq.NewProducer(rocketmq.Options{NameServer: cfg.rocketmq, Topic: cfg.rmqTopic})
		if err != nil {
			return err
		}
		n.closers = append(n.closers, func() { prod.Close() })
		inv, err := rocketmq.NewProducer(rocketmq.Options{NameServer: cfg.rocketmq, Topic: cfg.rmqInvTopic})
		if err != nil {
			return err
		}
		n.closers = append(n.closers, func() { inv.Close() })
		for topic, p := range map[string]*rocketmq.Producer{cfg.rmqTopic: prod, cfg.rmqInvTopic: inv} {
			n.figures = append(n.figures, prefixed("rocketmq_producer_"+topic+"_", p.Metrics, "published", "publish_failed", "batches"))
		}
		n.relay.Transport = splitTransport{orders: rmqTransport{prod}, inventory: rmqTransport{inv}}
		if cfg.consumers {
			for group, h := range map[string]pipeline.Handler{rocketmq.GroupPayment: pay, rocketmq.GroupNotify: notify} {
				c, err := startConsumer(cfg.rocketmq, cfg.rmqTopic, cfg.dataDir, group, h, h.(pipeline.Subscriber).EventTypes())
				if err != nil {
					return err
				}
				n.closers = append(n.closers, func() { c.Shutdown() })
				n.figures = append(n.figures, consumerFigures(group, c))
			}
			if n.hooks != nil { // webhooks read the events through the broker too
				c, err := startConsumer(cfg.rocketmq, cfg.rmqTopic, cfg.dataDir, webhookGroup, n.hooks, webhookTags)
				if err != nil {
					return err
				}
				n.closers = append(n.closers, func() { c.Shutdown() })
				n.figures = append(n.figures, consumerFigures(webhookGroup, c))
			}
		}
	}
	return nil
}

// startRelay starts delivering the outbox. Call it after recovery: every
// show has then dropped the events of records Redis never accepted.
func (n *node) startRelay() {
	ctx, cancel := context.WithCancel(context.Background())
	n.stopBg = cancel
	if n.hooks != nil {
		n.hooksDone = make(chan struct{})
		go func() { n.hooks.Run(ctx); close(n.hooksDone) }()
	}
	go n.relay.Run(ctx)
}

// webhookGroup and webhookTags: with RocketMQ, the webhooks consume the
// event types they carry in their own consumer group.
const webhookGroup = "boxoffice_webhooks"

var webhookTags = []string{seatmap.EventPaid, seatmap.EventExpired, seatmap.EventCancelled, seatmap.EventRefund,
	"show.sold_out", "show.available", seatmap.EventWaitlistOffered}

// pipelineStores picks the consumers' dedupe store and the relay's dead
// letters: in the store's kv when it has ScanKV and DeleteKV (keys expire
// after retention), else in memory; sweeper is nil when keys cannot expire.
// A store without ScanKV/DeleteKV still dedupes durably, keeping keys forever.
func pipelineStores(store *pebble.Store, retention time.Duration, log *slog.Logger) (pipeline.Dedupe, pipeline.Sweeper, pipeline.DeadLetters) {
	if store == nil {
		d := &pipeline.MemDedupe{Retention: retention}
		return d, d, &pipeline.MemDeadLetters{}
	}
	if kv, ok := any(store).(pipeline.KV); ok {
		d := &pipeline.KVDedupe{KV: kv, Retention: retention}
		return d, d, &pipeline.KVDeadLetters{KV: kv}
	}
	log.Warn("the store has no ScanKV/DeleteKV: dedupe keys never expire, dead letters are kept in memory only")
	return store, nil, &pipeline.MemDeadLetters{}
}

// consumers builds the payment consumer (sandbox gateway) and the
// notification consumer (JSON lines in <data>/notifications.log).
func consumers(dataDir string, dedupe pipeline.Dedupe, s pipeline.Settler, retention time.Duration, log *slog.Logger) (*pipeline.Payment, *pipeline.Notify) {
	pay := &pipeline.Payment{Gateway: &pipeline.Sandbox{Dedupe: dedupe, SlowDelay: 2 * time.Second}, Settler: s, Log: log}
	notify := &pipeline.Notify{Channels: []pipeline.Channel{&pipeline.FileChannel{Path: filepath.Join(dataDir, "notifications.log"), Retention: retention}},
		Settler: s, Dedupe: dedupe, Log: log}
	return pay, notify
}

// rmqTransport reports the events a RocketMQ publish did not store as
// pipeline.Unavailable: the stored ones leave the outbox, the others are
// published again without counting a failed try (a broker that refuses is
// down, not the event bad), so broker outages never make dead letters.
type rmqTransport struct{ *rocketmq.Producer }

func (t rmqTransport) Publish(ctx context.Context, events []seatmap.Event) error {
	err := t.Producer.Publish(ctx, events)
	var pe *rocketmq.PublishError
	if errors.As(err, &pe) && pe.Total == len(events) && len(pe.Failed) < len(events) {
		return pipeline.Unavailable(len(events), pe.Failed, pe.Err)
	}
	return err
}

// splitTransport sends inventory events to their own topic and the others to
// the orders topic, and merges the outcomes back in input order.
type splitTransport struct {
	orders, inventory pipeline.Transport
}

func (t splitTransport) Publish(ctx context.Context, events []seatmap.Event) error {
	var invIdx, ordIdx []int
	for i := range events {
		if events[i].Type == seatmap.EventInventory {
			invIdx = append(invIdx, i)
		} else {
			ordIdx = append(ordIdx, i)
		}
	}
	if len(invIdx) == 0 {
		return t.orders.Publish(ctx, events)
	}
	if len(ordIdx) == 0 {
		return t.inventory.Publish(ctx, events)
	}
	pick := func(idx []int) []seatmap.Event {
		out := make([]seatmap.Event, len(idx))
		for j, i := range idx {
			out[j] = events[i]
		}
		return out
	}
	var invErr error
	done := make(chan struct{})
	go func() { invErr = t.inventory.Publish(ctx, pick(invIdx)); close(done) }()
	ordErr := t.orders.Publish(ctx, pick(ordIdx))
	<-done
	if invErr == nil && ordErr == nil {
		return nil
	}
	errs := make([]error, len(events))
	for _, part := range []struct {
		idx []int
		err error
	}{{invIdx, invErr}, {ordIdx, ordErr}} {
		if part.err == nil {
			continue
		}
		var ee *pipeline.EventErrors
		if errors.As(part.err, &ee) && len(ee.Errs) == len(part.idx) {
			for j, i := range part.idx {
				errs[i] = ee.Errs[j]
			}
			continue
		}
		// nothing of this part was delivered (broker down): not a failed try
		for _, i := range part.idx {
			errs[i] = fmt.Errorf("%w: %w", pipeline.ErrSkipped, part.err)
		}
	}
	return &pipeline.EventErrors{Errs: errs}
}

// consumerFigures are a consumer's counters as rocketmq_consumer_<group>_*_total.
func consumerFigures(group string, c *rocketmq.Consumer) func() map[string]float64 {
	return prefixed("rocketmq_consumer_"+group+"_", c.Metrics, "handled", "handler_errors", "redelivered", "dlq", "undecodable")
}

// startConsumer starts a consumer of group named after dataDir (the process
// owns it), so that a process restarted on the same host takes over its dead
// predecessor's queues at once (rocketmq.InstanceFor).
func startConsumer(nameServer, topic, dataDir, group string, h pipeline.Handler, tags []string) (*rocketmq.Consumer, error) {
	instance, err := rocketmq.InstanceFor(dataDir, group)
	if err != nil {
		return nil, err
	}
	c, err := rocketmq.NewConsumer(rocketmq.Options{NameServer: nameServer, Topic: topic, Group: group, Tags: tags,
		Instance: instance, ConsumeGoroutines: 64}, h.Handle)
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	return c, nil
}

func serve(cfg *serveConfig, log *slog.Logger) error {
	n, err := startNode(cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.httpAddr)
	if err != nil {
		n.stop(log)
		return err
	}
	if cfg.pprofAddr != "" {
		go func() { log.Warn("pprof stopped", "err", http.ListenAndServe(cfg.pprofAddr, nil)) }()
	}
	errc := make(chan error, 1)
	go func() { errc <- n.http.Serve(ln) }()
	log.Info("boxoffice serving", "http", ln.Addr().String(), "data", cfg.dataDir, "journal", cfg.journal)
	// recover after the listener is up: /healthz answers, /readyz says 503 until done
	start := time.Now()
	if err := n.booking.Recover(context.Background()); err != nil {
		log.Error("recovery failed", "err", err)
	} else {
		log.Info("recovered", "took", time.Since(start))
	}
	n.startRelay()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case err := <-errc:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			log.Error("http server stopped", "err", err)
		}
	}
	n.handOver(log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.http.Shutdown(ctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	n.stop(log)
	return nil
}

// handOver is a graceful leave (SIGTERM) of a cluster node: /readyz turns
// 503 (load balancers stop sending), the node leaves the membership and
// stops placing shows on itself, every show it holds stops taking
// commands, flushes and releases its lease (callers' "moved" answers are
// retried on the new owner, which activates at once), and the node keeps
// serving, forwarding to the new owners, until the others have seen it
// leave. A single node skips it.
func (n *node) handOver(log *slog.Logger) {
	if !n.cluster.Managed() {
		return
	}
	start := time.Now()
	n.booking.SetReady(false)
	n.cluster.Drain()
	shows := n.env.HandOver(n.cluster.System.Root, 5*time.Second)
	// the others drop this node at their next health check
	time.Sleep(3 * cluster.DefaultHealthInterval)
	log.Info("shows handed over", "shows", shows, "took", time.Since(start))
}

// openRedis connects to Redis when configured (nil, nil otherwise). The node
// starts even when Redis is down: it serves reads from its journal and
// refuses writes (503) until Redis answers.
func openRedis(cfg *serveConfig, log *slog.Logger) (*redis.Client, error) {
	if cfg.redisAddr == "" && cfg.redisCluster == "" {
		return nil, nil
	}
	goredis.SetLogger(quietRedis{})
	opt := redis.Options{Addr: cfg.redisAddr, Logger: log.With("component", "redis"), TolerateDown: true,
		WaitReplicas: cfg.redisWait}
	if cfg.redisCluster != "" {
		opt.Addr, opt.ClusterAddrs = "", strings.Split(cfg.redisCluster, ",")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return redis.Open(ctx, opt)
}

// quietRedis drops go-redis's own log lines (dial failures while Redis is
// down); health changes are logged by persistence/redis.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func (n *node) stop(log *slog.Logger) {
	if n.stopBg != nil {
		n.stopBg() // the relay first: nothing new leaves
	}
	if n.hooksDone != nil {
		select { // attempts in flight end with the context; their deliveries stay pending
		case <-n.hooksDone:
		case <-time.After(5 * time.Second):
			log.Warn("webhook attempts still running at shutdown")
		}
	}
	n.perf.Close()
	// the shards first: each writer finishes and answers what it was given
	if !n.env.StopShards(n.cluster.System.Root, 10*time.Second) {
		log.Warn("journal writers still busy at shutdown")
	}
	n.cluster.Stop()
	for _, c := range n.closers {
		c() // producer, consumers, redis
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			log.Warn("closing the store", "err", err)
		}
	}
}

// userAuth builds the user token verifier (nil when tokens are off).
func userAuth(cfg *serveConfig) (*edge.UserAuth, error) {
	if cfg.tokenSecret == "" && cfg.tokenKeys == "" {
		return nil, nil
	}
	opt := edge.UserAuthOptions{Secret: []byte(cfg.tokenSecret), Audience: cfg.tokenAudience, Issuer: cfg.tokenIssuer}
	if cfg.tokenKeys != "" {
		b, err := os.ReadFile(cfg.tokenKeys)
		if err != nil {
			return nil, fmt.Errorf("--user-token-keys: %w", err)
		}
		opt.JWKS = b
	}
	return edge.NewUserAuth(opt)
}
