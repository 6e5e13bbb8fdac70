// Package rocketmq carries order events (facts.Event) from a boxoffice node
// to the payment and notification consumers through Apache RocketMQ
// (name server + broker, Remoting protocol, 4.x or 5.x; no proxy).
//
// Producer is the transport of the outbox relay. Publish sends a batch of
// events and returns nil only when the broker acknowledged every one of them
// (SEND_OK). Each event is one message: JSON body, tag = event type, key =
// order id, user property "event_id" = event id. All events of one order go
// to the same queue (hash of the order id), in the order given, so a
// consumer reading one queue sees an order's events in order.
//
// Consumer is a clustering push consumer of one group (boxoffice_payment,
// boxoffice_notify): each event reaches one member of each group. A handler
// error makes RocketMQ redeliver the event later (through the group's
// %RETRY% topic); after MaxReconsume redeliveries the event goes to the
// group's dead-letter topic %DLQ%<group>, counted in Metrics()["dlq"].
//
// Callers' duties:
//
//   - Pass the name server address explicitly (Options.NameServer); the
//     client library would otherwise look one up over HTTP.
//   - Delivery is at least once, and events of one order may be handled
//     concurrently or out of order by a consumer (a redelivery overtakes
//     nothing, but a retry does). Handlers must be idempotent by event id and
//     must not assume order; consumers send commands to the shard, which
//     decides (see DESIGN.md, "Orders and the outbox").
//   - Keep an event in the outbox until Publish returned nil for it; on error
//     publish the failed ones again (PublishError lists them). Re-publishing
//     may duplicate events the broker had stored, which consumers absorb.
//   - Name each consumer after the data directory its process owns
//     (InstanceFor): a process restarted on the same host then takes over
//     its dead predecessor's queues at once instead of after the broker's
//     120 s expiry of a member it did not see go.
//   - Close producers and shut consumers down; the client library keeps a
//     few goroutines after that (known, harmless).
//
// Package rmqtest starts a real local broker for tests (scripts/rocketmq-local).
package rocketmq
