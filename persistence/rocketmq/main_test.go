package rocketmq

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/persistence/rocketmq/rmqtest"
)

// broker is the package's real broker, started once by TestMain; nil when
// this machine cannot run one (brokerSkip says why) or in -short mode.
var (
	broker     *rmqtest.Broker
	brokerSkip string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	switch {
	case testing.Short():
		brokerSkip = "-short: no real broker"
	case os.Getenv(helperEnv) != "":
		brokerSkip = "the helper process of TestRestartedConsumerTakesOver uses the parent's broker"
	case rmqtest.Available() != nil && os.Getenv("CI") == "":
		brokerSkip = rmqtest.Available().Error()
	default:
		ctx, cancel := context.WithTimeout(context.Background(), rmqtest.StartTimeout)
		defer cancel()
		start := time.Now()
		b, err := rmqtest.Launch(ctx, "")
		if err != nil {
			fmt.Fprintln(os.Stderr, "rocketmq tests: cannot start a broker:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "rocketmq tests: broker up in %v (name server %s, dir %s)\n",
			time.Since(start).Round(time.Millisecond), b.NameServer, b.Dir)
		broker = b
		defer func() {
			if err := b.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "rocketmq tests: stop:", err)
			}
		}()
	}
	return m.Run()
}

// needBroker returns the shared broker or skips the test.
func needBroker(t testing.TB) *rmqtest.Broker {
	t.Helper()
	if broker == nil {
		t.Skip(brokerSkip)
	}
	return broker
}

// newTopic creates a topic of its own for the test.
func newTopic(t testing.TB, b *rmqtest.Broker, queues int) string {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, t.Name())
	topic := fmt.Sprintf("t_%s_%d", name, time.Now().UnixNano()%1_000_000_000)
	createTopic(t, b, topic, queues)
	return topic
}

func createTopic(t testing.TB, b *rmqtest.Broker, topic string, queues int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.CreateTopic(ctx, topic, queues); err != nil {
		t.Fatal(err)
	}
}

// testRand returns a generator seeded from ROCKETMQ_TEST_SEED or the clock,
// and logs the seed so a run can be repeated.
func testRand(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ROCKETMQ_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ROCKETMQ_TEST_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with ROCKETMQ_TEST_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

var eventTypes = []string{facts.EventCreated, facts.EventPaymentRequested, facts.EventPaid,
	facts.EventPaymentFailed, facts.EventCancelled, facts.EventExpired, facts.EventRefund}

// makeEvents returns perOrder events for each of orders orders, interleaved
// at random, each order's events in sequence (ID ends in its number).
func makeEvents(rng *rand.Rand, prefix string, orders, perOrder int) []facts.Event {
	left := make([]int, orders)
	live := make([]int, orders)
	for i := range live {
		live[i] = i
	}
	out := make([]facts.Event, 0, orders*perOrder)
	for len(live) > 0 {
		k := rng.IntN(len(live))
		o := live[k]
		n := left[o]
		left[o]++
		order := fmt.Sprintf("%s-o%d", prefix, o)
		out = append(out, facts.Event{
			ID:       fmt.Sprintf("%s-e%d", order, n),
			Type:     eventTypes[n%len(eventTypes)],
			Show:     prefix + "-show",
			Shard:    o % 4,
			OrderID:  order,
			User:     fmt.Sprintf("u%d", o),
			Amount:   int64(1000 + rng.IntN(9000)),
			Quantity: 1 + n%4,
			Seats:    []string{fmt.Sprintf("A-%d-%d", o%30, n)},
			At:       time.Now().UnixMilli(),
		})
		if left[o] == perOrder {
			live = append(live[:k], live[k+1:]...)
		}
	}
	return out
}

// collector records deliveries; its handler dedupes by event id, as real
// consumers do: applied counts each event once however often it arrives.
type collector struct {
	mu         sync.Mutex     // protects following fields
	seen       map[string]int // deliveries per event id
	deliveries int
	applied    int
}

func newCollector() *collector { return &collector{seen: make(map[string]int)} }

func (c *collector) handle(_ context.Context, ev facts.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deliveries++
	c.seen[ev.ID]++
	if c.seen[ev.ID] == 1 {
		c.applied++
	}
	return nil
}

// missing returns how many of events were never delivered.
func (c *collector) missing(events []facts.Event) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for i := range events {
		if c.seen[events[i].ID] == 0 {
			n++
		}
	}
	return n
}

func (c *collector) counts() (deliveries, applied int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deliveries, c.applied
}

// waitFor polls cond until it holds or timeout passes, then fails with what().
func waitFor(t testing.TB, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startConsumer starts a consumer of the test's own group and stops it at cleanup.
func startConsumer(t testing.TB, opts Options, h Handler) *Consumer {
	t.Helper()
	c, err := NewConsumer(opts, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown() })
	return c
}

func newProducer(t testing.TB, opts Options) *Producer {
	t.Helper()
	p, err := NewProducer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}
