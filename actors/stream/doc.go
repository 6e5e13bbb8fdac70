// Package stream fans a show's inventory events out to any number of
// readers (the SSE stream) without costing the show's actor anything per
// reader.
//
// The show's writer publishes each durable event once (Publish: an O(1)
// append to a bounded per-show ring, no encoding, nobody woken). While a
// show has readers, a ticker closes a window every Window (250 ms): the
// window's events merged into one frame (the latest state of each changed
// seat and the latest counters of each touched section), encoded once and
// shared by every reader. A reader therefore costs one write per window
// however fast the show changes, and a thousand readers cost one merge.
//
// Callers' duties, in order:
//
//  1. The show's writer calls Reset when the show is (re)activated and
//     Publish with each batch's events once the batch is durable, in seq
//     order, from one goroutine at a time.
//  2. A reader calls Subscribe, and the function it returns when it leaves.
//  3. It starts from Snapshot (shared per window), or from a resume id.
//  4. It loops on Next: writes what it gets, then waits on the returned
//     channel (or its own heartbeat). Next reports !ok when the reader is
//     further behind than the kept windows (it is dropped: it reconnects
//     with Last-Event-ID), or resumes from an id the node does not have
//     (it starts from a snapshot).
//
// Nobody ever waits for a reader: the writer never blocks on the stream
// beyond its short lock, and a reader that falls behind is dropped.
package stream
