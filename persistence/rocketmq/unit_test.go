package rocketmq

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/boxoffice/boxoffice/facts"
)

func TestOptionsNormalize(t *testing.T) {
	o, err := Options{NameServer: "127.0.0.1:9876"}.normalize(DefaultProducerGroup)
	if err != nil {
		t.Fatal(err)
	}
	if o.Topic != DefaultTopic || o.Group != DefaultProducerGroup || o.Instance == "" ||
		o.MaxReconsume != defaultMaxReconsume || o.SendTimeout != defaultSendTimeout {
		t.Fatalf("defaults not applied: %+v", o)
	}
	o2, _ := Options{NameServer: "127.0.0.1:9876"}.normalize(DefaultProducerGroup)
	if o.Instance == o2.Instance {
		t.Fatalf("two default instance names are equal: %q", o.Instance)
	}
	for _, bad := range []Options{
		{},                             // no name server
		{NameServer: "127.0.0.1:9876"}, // consumer without group
		{NameServer: "x", Group: "g", MaxReconsume: -1},
		{NameServer: "x", Group: "g", RetryDelayLevel: 19},
	} {
		if _, err := bad.normalize(""); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%+v: err %v, want ErrInvalidOptions", bad, err)
		}
	}
}

func TestNameServers(t *testing.T) {
	got, err := nameServers(context.Background(), "127.0.0.1:9876; localhost:9877,[::1]:9878")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "127.0.0.1:9876" || got[2] != "[::1]:9878" {
		t.Fatalf("got %v", got)
	}
	if got[1] != "127.0.0.1:9877" && got[1] != "[::1]:9877" {
		t.Fatalf("localhost resolved to %q", got[1])
	}
	for _, bad := range []string{"", " ; ", "no-port", "nosuchhost.invalid:9876"} {
		if _, err := nameServers(context.Background(), bad); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%q: err %v, want ErrInvalidOptions", bad, err)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	ev := facts.Event{ID: "o1-e0", Type: facts.EventCreated, Show: "s", Shard: 2, OrderID: "o1",
		User: "u", Amount: 1234, Quantity: 2, Seats: []string{"A-1-1", "A-1-2"}, At: 42}
	m, err := encodeEvent("topic", &ev)
	if err != nil {
		t.Fatal(err)
	}
	if m.GetTags() != ev.Type || m.GetKeys() != ev.OrderID || m.GetProperty(PropertyEventID) != ev.ID {
		t.Fatalf("tag %q keys %q event_id %q", m.GetTags(), m.GetKeys(), m.GetProperty(PropertyEventID))
	}
	if m.Queue == nil || m.Queue.QueueId != orderHash(ev.OrderID) {
		t.Fatalf("queue hint %+v, want hash %d", m.Queue, orderHash(ev.OrderID))
	}
	got, err := decodeEvent(extOf(m, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("round trip: got %+v want %+v", got, ev)
	}
	if _, err := decodeEvent(&primitive.MessageExt{Message: primitive.Message{Body: []byte("{")}}); err == nil {
		t.Fatal("decoding garbage succeeded")
	}
}

// The selector and groupByQueue must agree: every message of a group lands
// on the queue the group was made for, and an order's events share a queue.
func TestGroupingMatchesSelector(t *testing.T) {
	rng := testRand(t)
	events := makeEvents(rng, "g", 40, 5)
	msgs := make([]*primitive.Message, len(events))
	for i := range events {
		m, err := encodeEvent("topic", &events[i])
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	for _, queues := range []int{1, 3, 8} {
		mqs := make([]*primitive.MessageQueue, queues)
		for i := range mqs {
			mqs[i] = &primitive.MessageQueue{Topic: "topic", BrokerName: "b", QueueId: i}
		}
		sel := &hashSelector{}
		queueOfOrder := map[string]int{}
		seen := 0
		for _, g := range groupByQueue(msgs, queues, 0) {
			q := sel.Select(msgs[g[0]], mqs, "").QueueId
			for k, i := range g {
				if k > 0 && g[k-1] >= i {
					t.Fatalf("group not in input order: %v", g)
				}
				if got := sel.Select(msgs[i], mqs, "").QueueId; got != q {
					t.Fatalf("queues=%d: message %d selects queue %d, its group %d", queues, i, got, q)
				}
				if prev, ok := queueOfOrder[events[i].OrderID]; ok && prev != q {
					t.Fatalf("order %s on queues %d and %d", events[i].OrderID, prev, q)
				}
				queueOfOrder[events[i].OrderID] = q
				seen++
			}
		}
		if seen != len(msgs) {
			t.Fatalf("groups hold %d of %d messages", seen, len(msgs))
		}
		if int(sel.queueCount.Load()) != queues {
			t.Fatalf("selector learned %d queues, want %d", sel.queueCount.Load(), queues)
		}
	}
}

func TestBatchEnd(t *testing.T) {
	msgs := make([]*primitive.Message, 10)
	idx := make([]int, 10)
	for i := range msgs {
		msgs[i] = primitive.NewMessage("t", make([]byte, 300))
		idx[i] = i
	}
	if hi := batchEnd(msgs, idx, 0, 4, 1<<20); hi != 4 {
		t.Fatalf("count limit: hi %d", hi)
	}
	if hi := batchEnd(msgs, idx, 2, 100, 1100); hi != 4 { // 500 bytes each with overhead
		t.Fatalf("byte limit: hi %d", hi)
	}
	if hi := batchEnd(msgs, idx, 9, 100, 10); hi != 10 { // one message even when too big
		t.Fatalf("oversized single: hi %d", hi)
	}
}

// handle decides redelivery and the DLQ without a broker.
func TestConsumerHandleDecisions(t *testing.T) {
	fail := errors.New("boom")
	var calls int
	c := &Consumer{opts: Options{Group: "g", MaxReconsume: 2, RetryDelayLevel: 1, HandlerTimeout: defaultHandlerTimeout}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	defer c.cancel()
	c.handler = func(_ context.Context, ev facts.Event) error {
		calls++
		switch ev.Type {
		case "fail":
			return fail
		case "panic":
			panic("handler bug")
		}
		return nil
	}
	msg := func(typ string, reconsumed int32) *primitive.MessageExt {
		ev := facts.Event{ID: "e-" + typ, Type: typ, OrderID: "o"}
		m, err := encodeEvent("t", &ev)
		if err != nil {
			t.Fatal(err)
		}
		return extOf(m, reconsumed)
	}
	cases := []struct {
		m         *primitive.MessageExt
		ok        bool
		level     int
		dlq, errs float64
	}{
		{msg("created", 0), true, 0, 0, 0},
		{msg("fail", 0), false, 1, 0, 1},  // redeliver after level 1
		{msg("fail", 1), false, 1, 0, 2},  // second redelivery
		{msg("fail", 2), false, -1, 1, 3}, // MaxReconsume reached: DLQ
		{msg("panic", 0), false, 1, 1, 4}, // a panic is an error
		{&primitive.MessageExt{Message: primitive.Message{Body: []byte("not json")}}, false, -1, 2, 4},
	}
	for i, tc := range cases {
		level, ok := c.handle(tc.m)
		m := c.Metrics()
		if ok != tc.ok || (!ok && level != tc.level) || m["dlq"] != tc.dlq || m["handler_errors"] != tc.errs {
			t.Fatalf("case %d: ok %v level %d metrics %v; want ok %v level %d dlq %v errors %v",
				i, ok, level, m, tc.ok, tc.level, tc.dlq, tc.errs)
		}
	}
	if m := c.Metrics(); m["undecodable"] != 1 || m["handled"] != 1 || calls != 5 {
		t.Fatalf("metrics %v calls %d", m, calls)
	}
}

func TestPublishErrorUnwraps(t *testing.T) {
	err := error(&PublishError{Failed: []int{1, 3}, Total: 4, Err: ErrNotAcknowledged})
	var pe *PublishError
	if !errors.As(err, &pe) || !errors.Is(err, ErrNotAcknowledged) || len(pe.Failed) != 2 {
		t.Fatalf("err %v", err)
	}
}

// extOf returns a consumed message carrying m's body and properties.
func extOf(m *primitive.Message, reconsumed int32) *primitive.MessageExt {
	me := &primitive.MessageExt{ReconsumeTimes: reconsumed}
	me.Topic = m.Topic
	me.Body = m.Body
	me.WithProperties(m.GetProperties())
	return me
}

// An inventory event is keyed and placed by its show, other events by their order.
func TestEncodeEventKey(t *testing.T) {
	inv := facts.Event{ID: "gala.inv.7", Type: facts.EventInventory, Show: "gala",
		Inventory: &facts.InventoryEvent{Show: "gala", Seq: 7}}
	m, err := encodeEvent(DefaultInventoryTopic, &inv)
	if err != nil {
		t.Fatal(err)
	}
	if m.GetKeys() != "gala" || m.Queue.QueueId != orderHash("gala") || m.GetTags() != facts.EventInventory {
		t.Fatalf("inventory event: keys %q queue %d tag %q", m.GetKeys(), m.Queue.QueueId, m.GetTags())
	}
	ord := facts.Event{ID: "o1.created", Type: "order.created", Show: "gala", OrderID: "o1"}
	if m, err = encodeEvent(DefaultTopic, &ord); err != nil {
		t.Fatal(err)
	}
	if m.GetKeys() != "o1" || m.Queue.QueueId != orderHash("o1") {
		t.Fatalf("order event: keys %q queue %d", m.GetKeys(), m.Queue.QueueId)
	}
}
