package rocketmq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// Defaults of Options.
const (
	DefaultTopic = "boxoffice_orders"
	// DefaultInventoryTopic carries the inventory events (type "inventory"),
	// keyed by show id: one show's events are ordered.
	DefaultInventoryTopic = "boxoffice_inventory"
	DefaultProducerGroup  = "boxoffice_relay"
	GroupPayment          = "boxoffice_payment"
	GroupNotify           = "boxoffice_notify"

	// PropertyEventID is the user property that carries the event id.
	PropertyEventID = "event_id"

	defaultMaxReconsume   = 16
	defaultSendTimeout    = 3 * time.Second
	defaultMaxBatch       = 128
	defaultMaxBatchBytes  = 1 << 20
	defaultHandlerTimeout = 30 * time.Second
	defaultConsumeWorkers = 20
)

// Sentinel errors.
var (
	// ErrInvalidOptions: Options are incomplete or malformed (see the message).
	ErrInvalidOptions = errors.New("rocketmq: invalid options")
	// ErrClosed: the producer was closed or the consumer shut down.
	ErrClosed = errors.New("rocketmq: closed")
	// ErrNotAcknowledged: the broker answered a send with a status other than
	// SEND_OK (flush or replica timeout, slave not available).
	ErrNotAcknowledged = errors.New("rocketmq: send not acknowledged")
)

// Options configure a Producer or a Consumer. The zero value of each optional
// field means its default.
type Options struct {
	// NameServer is the name server address, "host:port", several separated
	// by ";" or ",". Host names are resolved once, at construction (the
	// client library accepts IP addresses only). Required.
	NameServer string
	// Topic defaults to DefaultTopic.
	Topic string
	// Group is the producer group (default DefaultProducerGroup) or the
	// consumer group (required, e.g. GroupPayment).
	Group string
	// Instance names this client within its group; every Producer and
	// Consumer of a process needs its own (the library shares one connection
	// set per instance name). Default: group, pid and a sequence number. A
	// consumer that a restarted process should take over at once passes the
	// same name each time (InstanceFor).
	Instance string

	// SendTimeout bounds one batch send (producer; default 3s).
	SendTimeout time.Duration
	// MaxBatch is the most events sent in one batch message (producer; default 128).
	MaxBatch int

	// MaxReconsume is how many times a failed event is redelivered before it
	// goes to the DLQ (consumer; default 16, as RocketMQ's).
	MaxReconsume int
	// RetryDelayLevel is the RocketMQ delay level of redeliveries: 1 = 1s,
	// 2 = 5s, 3 = 10s, 4 = 30s, 5 = 1m, ... (consumer). 0 leaves it to the
	// broker: level 3 + the number of earlier redeliveries (10s, 30s, 1m, ...).
	RetryDelayLevel int
	// HandlerTimeout is the deadline of the context given to one handler call
	// (consumer; default 30s).
	HandlerTimeout time.Duration
	// ConsumeGoroutines bounds concurrent handler calls (consumer; default 20).
	ConsumeGoroutines int
	// Tags, when set, subscribes to these event types only (consumer): the
	// broker filters by tag, so a group is not sent events it would ignore.
	Tags []string
}

// instanceSeq makes default instance names unique within the process.
var instanceSeq atomic.Uint64

// quietOnce lowers the client library's log level once per process, unless
// ROCKETMQ_GO_LOG_LEVEL chooses one (the library logs at Info by default).
var quietOnce sync.Once

func quietLibrary() {
	quietOnce.Do(func() {
		if os.Getenv("ROCKETMQ_GO_LOG_LEVEL") == "" {
			rlog.SetLogLevel("error")
		}
	})
}

// normalize fills defaults and checks the fields common to both roles.
func (o Options) normalize(defaultGroup string) (Options, error) {
	if strings.TrimSpace(o.NameServer) == "" {
		return o, fmt.Errorf("%w: NameServer is required", ErrInvalidOptions)
	}
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.Group == "" {
		o.Group = defaultGroup
	}
	if o.Group == "" {
		return o, fmt.Errorf("%w: Group is required", ErrInvalidOptions)
	}
	if o.Instance == "" {
		o.Instance = fmt.Sprintf("%s-%d-%d", o.Group, os.Getpid(), instanceSeq.Add(1))
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = defaultSendTimeout
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = defaultMaxBatch
	}
	if o.MaxReconsume < 0 {
		return o, fmt.Errorf("%w: MaxReconsume %d < 0", ErrInvalidOptions, o.MaxReconsume)
	}
	if o.MaxReconsume == 0 {
		o.MaxReconsume = defaultMaxReconsume
	}
	if o.RetryDelayLevel < 0 || o.RetryDelayLevel > 18 {
		return o, fmt.Errorf("%w: RetryDelayLevel %d not in [0, 18]", ErrInvalidOptions, o.RetryDelayLevel)
	}
	if o.HandlerTimeout <= 0 {
		o.HandlerTimeout = defaultHandlerTimeout
	}
	if o.ConsumeGoroutines <= 0 {
		o.ConsumeGoroutines = defaultConsumeWorkers
	}
	return o, nil
}

// nameServers splits and resolves Options.NameServer into "ip:port" items.
func nameServers(ctx context.Context, spec string) ([]string, error) {
	var out []string
	for _, item := range strings.FieldsFunc(spec, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		host, port, err := net.SplitHostPort(item)
		if err != nil {
			return nil, fmt.Errorf("%w: name server %q: %v", ErrInvalidOptions, item, err)
		}
		if net.ParseIP(host) != nil {
			out = append(out, item)
			continue
		}
		ips, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("%w: name server %q: cannot resolve: %v", ErrInvalidOptions, item, err)
		}
		out = append(out, net.JoinHostPort(ips[0], port))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: NameServer %q has no address", ErrInvalidOptions, spec)
	}
	return out, nil
}
