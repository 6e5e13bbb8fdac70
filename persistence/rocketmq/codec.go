package rocketmq

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sync/atomic"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/boxoffice/boxoffice/facts"
)

// orderHash places an order's events: they all carry the same hash, and the
// selector maps it onto the same queue. Non-negative, fits an int on any platform.
// An inventory event is placed by its show instead (see eventKey).
func orderHash(orderID string) int {
	h := fnv.New32a()
	h.Write([]byte(orderID))
	return int(h.Sum32() & 0x7fffffff)
}

// eventKey is the message key of an event, which also picks its queue: the
// order id, or the show id for an inventory event (one show's inventory
// events share a queue, so they are consumed in order).
func eventKey(ev *facts.Event) string {
	if ev.Type == facts.EventInventory && ev.Show != "" {
		return ev.Show
	}
	return ev.OrderID
}

// encodeEvent builds the message of one event. The queue hint carries the
// order hash to the selector (the batch message the library builds keeps the
// Queue of its first message, and all messages of a batch share one hash
// bucket).
func encodeEvent(topic string, ev *facts.Event) (*primitive.Message, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("rocketmq: encode event %s: %w", ev.ID, err)
	}
	msg := primitive.NewMessage(topic, body)
	msg.WithTag(ev.Type)
	key := eventKey(ev)
	msg.WithKeys([]string{key})
	msg.WithProperty(PropertyEventID, ev.ID)
	// The library sets a unique message id only on single sends; set it on
	// every message so ids stay unique inside batches too.
	msg.WithProperty(primitive.PropertyUniqueClientMessageIdKeyIndex, primitive.CreateUniqID())
	msg.Queue = &primitive.MessageQueue{Topic: topic, QueueId: orderHash(key)}
	return msg, nil
}

// decodeEvent reads the event of a consumed message.
func decodeEvent(msg *primitive.MessageExt) (facts.Event, error) {
	var ev facts.Event
	if err := json.Unmarshal(msg.Body, &ev); err != nil {
		return ev, fmt.Errorf("rocketmq: decode message %s: %w", msg.MsgId, err)
	}
	if ev.ID == "" {
		ev.ID = msg.GetProperty(PropertyEventID)
	}
	return ev, nil
}

// hashSelector sends a message to queues[hint % len(queues)], hint being the
// order hash in Message.Queue.QueueId, and remembers how many queues the
// topic has so Publish can group events by queue before sending.
type hashSelector struct {
	queueCount atomic.Int64
}

func (s *hashSelector) Select(msg *primitive.Message, queues []*primitive.MessageQueue, _ string) *primitive.MessageQueue {
	if len(queues) == 0 {
		return nil
	}
	s.queueCount.Store(int64(len(queues)))
	hint := 0
	if msg.Queue != nil {
		hint = msg.Queue.QueueId
	}
	return queues[hint%len(queues)]
}
