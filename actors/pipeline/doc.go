// Package pipeline carries order events from the outbox to the payment and
// notification consumers, and their results back to the show actors.
//
// The shard actors write order events into the durable outbox in the same
// synced batch as the transition that caused them. The Relay reads the outbox
// in order, hands each batch to a Transport, and deletes (acks) the entries
// only after the transport accepted all of them: delivery is at least once.
// Local is the embedded transport (the consumers run in this process); the
// RocketMQ transport (persistence/rocketmq) swaps in without touching the
// consumers.
//
// Consumers are idempotent by event id: Payment charges through a Gateway with
// the event id as idempotency key and reports the result to the order's shard
// as a command (the shard decides; a late success is refunded); Notify sends
// "order confirmed" / "order expired" / "order cancelled" through its Channels
// and records each sent notification in the order's history.
//
// Callers' duties, in order: build the consumers over a Settler (actors.Booking)
// and a Dedupe store; build the Relay over the outbox and a transport; run
// Relay.Run in its own goroutine and call Relay.Wake whenever a batch with
// events was journaled; cancel Run's context to stop.
package pipeline
