// Package pipeline carries order events from the outbox to the payment and
// notification consumers, and their results back to the show actors.
//
// The shard actors write order events into the durable outbox in the same
// synced batch as the transition that caused them. The Relay reads the outbox
// in order and hands the events to a Transport; it deletes (acks) each entry
// once the transport accepted that event: delivery is at least once. Local
// is the embedded transport (the consumers run in this process); the
// RocketMQ transport (persistence/rocketmq) swaps in without touching the
// consumers.
//
// A failing event never blocks the others. A transport reports per event
// (*EventErrors): the relay retries each failed event on its own, backing off
// from MinBackoff (100 ms) doubling to MaxBackoff (1 min); after MaxAttempts
// failed tries (10) the event becomes a DeadLetter: it is stored in
// DeadLetters (in the store's kv, or in memory) and leaves the outbox. An
// operator lists dead letters and hands one back to delivery
// (Relay.ListDeadLetters, Relay.RetryDeadLetter; GET /v1/admin/dead-letters
// and POST /v1/admin/dead-letters/{id}/retry); it stays stored until it is
// delivered. Order: the events of one order are published in outbox order,
// and those behind a failing event of the same order wait until it is
// delivered or dead (then they go on without it); other orders flow on. Not
// every failure counts: an event the transport did not try (ErrSkipped: it
// sat behind a failed one, or a broker refused it, see Unavailable) is
// published again without counting, and a Publish that fails as a whole (a
// plain error: the broker is down) counts for no event and backs the relay
// off as a whole. So broker outages never make dead letters; only events
// that fail in the consumers (Local transport) do. Tries are counted in
// memory: a restart gives every event in the outbox a fresh count. The relay
// is "degraded" while the transport fails or some event waits for a retry; a
// dead letter has left delivery and does not keep it degraded.
//
// Consumers are idempotent. Payment charges through a Gateway with the
// order id and payment attempt as idempotency key (ChargeKey; the event id
// for events without an attempt) and reports the result, with the attempt, to
// the order's shard as a command (the shard decides; a late success is
// refunded under the same key). When the node does not know the order
// (order_not_found), a successful charge is refunded by the consumer itself:
// every charge ends paid or refunded. Notify sends "order confirmed" / "order
// expired" / "order cancelled" through its Channels and records each sent
// notification in the order's history.
//
// Dedupe keys do not live forever: MemDedupe and KVDedupe stamp each key and
// Sweep deletes those older than a retention (DefaultRetention, 48 h; run
// RunSweeper); FileChannel remembers the event ids of the last retention
// only. A redelivery older than the retention is not recognized.
//
// Webhooks is a Handler that turns order and show events into signed
// deliveries (Standard Webhooks), stored in the node's kv before the relay
// acknowledges the event and retried alone with backoff. Its registrations
// live in the kv, or, with Webhooks.Shared set (a fleet on Redis), in Shared:
// each node caches them and re-reads them every RefreshEvery (250 ms), and
// copies every delivery record it writes to Shared (durable marks in the kv,
// a background loop), where every node lists them. Deliveries never wait for
// Shared once the registrations were read.
//
// Callers' duties, in order: build the consumers over a Settler (actors.Booking)
// and a Dedupe store; build the Relay over the outbox, a transport and a
// DeadLetters store; run Relay.Run in its own goroutine (and RunSweeper for
// the dedupe store) and call Relay.Wake whenever a batch with events was
// journaled; cancel Run's context to stop.
package pipeline
