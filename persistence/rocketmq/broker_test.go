package rocketmq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/boxoffice/boxoffice/facts"
)

// publishAll publishes events in chunks of chunk, failing the test on error.
func publishAll(t testing.TB, p *Producer, events []facts.Event, chunk int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for lo := 0; lo < len(events); lo += chunk {
		hi := min(lo+chunk, len(events))
		if err := p.Publish(ctx, events[lo:hi]); err != nil {
			t.Fatalf("publish events %d..%d: %v", lo, hi, err)
		}
	}
}

// rawDelivery is what a plain library consumer saw of one message.
type rawDelivery struct {
	queue  int
	offset int64
	seq    int // the event's number within its order
}

// rawConsumer subscribes with the client library directly and checks the
// message layout: tag = type, key = order id, property event_id = id.
func rawConsumer(t *testing.T, topic, group string) (orders func() map[string][]rawDelivery) {
	t.Helper()
	var mu sync.Mutex // protects byOrder and bad
	byOrder := map[string][]rawDelivery{}
	var bad []string
	pc, err := rmq.NewPushConsumer(
		consumer.WithNameServer([]string{broker.NameServer}),
		consumer.WithGroupName(group),
		consumer.WithInstance(group+"-raw"),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = pc.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			ev, err := decodeEvent(m)
			mu.Lock()
			switch {
			case err != nil:
				bad = append(bad, err.Error())
			case m.GetTags() != ev.Type || m.GetKeys() != ev.OrderID || m.GetProperty(PropertyEventID) != ev.ID:
				bad = append(bad, fmt.Sprintf("%s: tag %q keys %q event_id %q", ev.ID, m.GetTags(), m.GetKeys(), m.GetProperty(PropertyEventID)))
			default:
				var seq int
				fmt.Sscanf(ev.ID[strings.LastIndex(ev.ID, "-e")+2:], "%d", &seq)
				byOrder[ev.OrderID] = append(byOrder[ev.OrderID], rawDelivery{m.Queue.QueueId, m.QueueOffset, seq})
			}
			mu.Unlock()
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pc.Shutdown()
		mu.Lock()
		defer mu.Unlock()
		if len(bad) > 0 {
			t.Errorf("%d malformed messages, first: %s", len(bad), bad[0])
		}
	})
	return func() map[string][]rawDelivery {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string][]rawDelivery, len(byOrder))
		for k, v := range byOrder {
			out[k] = append([]rawDelivery(nil), v...)
		}
		return out
	}
}

// Every event reaches both consumer groups; an order's events share one
// queue, stored in publication order.
func TestPublishReachesBothGroups(t *testing.T) {
	b := needBroker(t)
	rng := testRand(t)
	topic := newTopic(t, b, 8)
	events := makeEvents(rng, "pub", 150, 4)

	payment, notify := newCollector(), newCollector()
	startConsumer(t, Options{NameServer: b.NameServer, Topic: topic, Group: topic + "_payment"}, payment.handle)
	startConsumer(t, Options{NameServer: b.NameServer, Topic: topic, Group: topic + "_notify"}, notify.handle)
	raw := rawConsumer(t, topic, topic+"_raw")

	p := newProducer(t, Options{NameServer: b.NameServer, Topic: topic})
	start := time.Now()
	publishAll(t, p, events, 100)
	published := time.Since(start)

	waitFor(t, 60*time.Second, func() bool { return payment.missing(events) == 0 && notify.missing(events) == 0 },
		func() string {
			return fmt.Sprintf("lost: payment %d, notify %d of %d", payment.missing(events), notify.missing(events), len(events))
		})
	t.Logf("%d events published in %v, delivered to both groups in %v; producer %v",
		len(events), published, time.Since(start), p.Metrics())

	perOrder := len(events) / 150
	waitFor(t, 30*time.Second, func() bool {
		n := 0
		for _, d := range raw() {
			n += len(d)
		}
		return n >= len(events)
	}, func() string { return "raw consumer did not see every event" })
	for order, ds := range raw() {
		if len(ds) < perOrder {
			t.Fatalf("order %s: %d of %d events", order, len(ds), perOrder)
		}
		bySeq := map[int]rawDelivery{}
		for _, d := range ds {
			if d.queue != ds[0].queue {
				t.Fatalf("order %s on queues %d and %d", order, ds[0].queue, d.queue)
			}
			bySeq[d.seq] = d
		}
		for s := 1; s < perOrder; s++ {
			if bySeq[s].offset <= bySeq[s-1].offset {
				t.Fatalf("order %s: event %d stored at offset %d, before event %d at %d",
					order, s, bySeq[s].offset, s-1, bySeq[s-1].offset)
			}
		}
	}
}

// Publishing the same events twice (an outbox relay that crashed before
// deleting) delivers duplicates; a handler deduping by event id applies each once.
func TestDuplicatesAppliedOnce(t *testing.T) {
	b := needBroker(t)
	rng := testRand(t)
	topic := newTopic(t, b, 4)
	events := makeEvents(rng, "dup", 50, 3)

	c := newCollector()
	cons := startConsumer(t, Options{NameServer: b.NameServer, Topic: topic, Group: topic + "_payment"}, c.handle)
	p := newProducer(t, Options{NameServer: b.NameServer, Topic: topic})
	publishAll(t, p, events, 64)
	publishAll(t, p, events, 37) // again, cut differently

	waitFor(t, 60*time.Second, func() bool { d, _ := c.counts(); return d >= 2*len(events) },
		func() string { d, a := c.counts(); return fmt.Sprintf("%d deliveries, %d applied", d, a) })
	deliveries, applied := c.counts()
	if applied != len(events) || c.missing(events) != 0 {
		t.Fatalf("applied %d of %d events (%d missing), deliveries %d", applied, len(events), c.missing(events), deliveries)
	}
	t.Logf("%d events, %d deliveries, %d applied; consumer %v", len(events), deliveries, applied, cons.Metrics())
}

// The broker dies mid-stream: Publish fails while it is down; after the
// restart the events that were not acknowledged are published again and
// every event reaches both groups.
func TestBrokerKilledMidStream(t *testing.T) {
	b := needBroker(t)
	rng := testRand(t)
	topic := newTopic(t, b, 4)
	events := makeEvents(rng, "kill", 100, 4)
	const chunk = 20

	payment, notify := newCollector(), newCollector()
	startConsumer(t, Options{NameServer: b.NameServer, Topic: topic, Group: topic + "_payment"}, payment.handle)
	startConsumer(t, Options{NameServer: b.NameServer, Topic: topic, Group: topic + "_notify"}, notify.handle)
	p := newProducer(t, Options{NameServer: b.NameServer, Topic: topic, SendTimeout: time.Second})

	// An outbox: events leave it only when Publish acknowledged them.
	var outbox []facts.Event
	publish := func(batch []facts.Event) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := p.Publish(ctx, batch)
		var pe *PublishError
		switch {
		case err == nil:
		case errors.As(err, &pe):
			for _, i := range pe.Failed {
				outbox = append(outbox, batch[i])
			}
		default:
			outbox = append(outbox, batch...)
		}
		return err
	}

	killAt := len(events) / 2
	for lo := 0; lo < killAt; lo += chunk {
		if err := publish(events[lo:min(lo+chunk, killAt)]); err != nil {
			t.Fatalf("before the kill: %v", err)
		}
	}
	if err := b.KillBroker(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var downErrors int
	for lo := killAt; lo < len(events); lo += chunk {
		if err := publish(events[lo:min(lo+chunk, len(events))]); err != nil {
			downErrors++
		}
	}
	if downErrors == 0 || len(outbox) == 0 {
		t.Fatalf("publish while the broker was down: %d errors, %d events left in the outbox", downErrors, len(outbox))
	}
	t.Logf("broker down: %d of %d publish calls failed, %d events in the outbox",
		downErrors, (len(events)-killAt+chunk-1)/chunk, len(outbox))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := b.RestartBroker(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	t.Logf("broker restarted after %v down", restarted.Sub(killed).Round(time.Millisecond))

	// Relay the outbox until it is empty (bounded).
	deadline := time.Now().Add(60 * time.Second)
	attempts := 0
	for len(outbox) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d events after %d attempts", len(outbox), attempts)
		}
		pending := outbox
		outbox = nil
		attempts++
		if err := publish(pending); err != nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("outbox drained in %v (%d attempts)", time.Since(restarted).Round(time.Millisecond), attempts)

	waitFor(t, 90*time.Second, func() bool { return payment.missing(events) == 0 && notify.missing(events) == 0 },
		func() string {
			return fmt.Sprintf("lost: payment %d, notify %d of %d", payment.missing(events), notify.missing(events), len(events))
		})
	pd, _ := payment.counts()
	nd, _ := notify.counts()
	t.Logf("lost 0 of %d; deliveries payment %d, notify %d; all delivered %v after restart",
		len(events), pd, nd, time.Since(restarted).Round(time.Millisecond))
}

// A handler that keeps failing gets the event redelivered MaxReconsume
// times, then the broker moves it to the group's DLQ.
func TestFailingHandlerEndsInDLQ(t *testing.T) {
	b := needBroker(t)
	rng := testRand(t)
	topic := newTopic(t, b, 4)
	group := topic + "_payment"
	// Retry and DLQ topics exist before the consumer starts, so it routes
	// them at once (the client re-reads routes only every 30 s).
	createTopic(t, b, "%RETRY%"+group, 1)
	createTopic(t, b, "%DLQ%"+group, 1)
	events := makeEvents(rng, "dlq", 12, 1)
	poison := map[string]bool{}
	for _, i := range rng.Perm(len(events))[:4] {
		poison[events[i].ID] = true
	}
	const maxReconsume = 2

	var mu sync.Mutex // protects attempts
	attempts := map[string]int{}
	cons := startConsumer(t, Options{NameServer: b.NameServer, Topic: topic, Group: group,
		MaxReconsume: maxReconsume, RetryDelayLevel: 1}, func(_ context.Context, ev facts.Event) error {
		mu.Lock()
		attempts[ev.ID]++
		mu.Unlock()
		if poison[ev.ID] {
			return fmt.Errorf("poison event %s", ev.ID)
		}
		return nil
	})
	dlq := newCollector()
	startConsumer(t, Options{NameServer: b.NameServer, Topic: "%DLQ%" + group, Group: group + "_dlqreader"}, dlq.handle)

	p := newProducer(t, Options{NameServer: b.NameServer, Topic: topic})
	start := time.Now()
	publishAll(t, p, events, len(events))

	var poisoned []facts.Event
	for _, ev := range events {
		if poison[ev.ID] {
			poisoned = append(poisoned, ev)
		}
	}
	waitFor(t, 60*time.Second, func() bool { return dlq.missing(poisoned) == 0 },
		func() string {
			return fmt.Sprintf("%d of %d poison events not in the DLQ; consumer %v", dlq.missing(poisoned), len(poisoned), cons.Metrics())
		})
	t.Logf("%d poison events in the DLQ after %v; consumer %v", len(poisoned), time.Since(start).Round(time.Millisecond), cons.Metrics())

	mu.Lock()
	defer mu.Unlock()
	for _, ev := range events {
		want := 1
		if poison[ev.ID] {
			want = maxReconsume + 1
		}
		if attempts[ev.ID] < want {
			t.Errorf("event %s (poison %v): %d attempts, want %d", ev.ID, poison[ev.ID], attempts[ev.ID], want)
		}
	}
	if m := cons.Metrics(); m["dlq"] < float64(len(poisoned)) || m["redelivered"] < float64(len(poisoned)*maxReconsume) {
		t.Errorf("metrics %v: want dlq >= %d, redelivered >= %d", m, len(poisoned), len(poisoned)*maxReconsume)
	}
	if dlq.missing(events) != len(events)-len(poisoned) {
		t.Errorf("DLQ holds %d events, want only the %d poison ones", len(events)-dlq.missing(events), len(poisoned))
	}
}
