// Package fill is the fill benchmark of issue 11: one show (a GA section of
// 2,000,000 and a seated section of 200,000) that clients fill with holds
// that are never released until 1,000,000 are live, measured per 100,000
// holds (throughput, p50, p99, p99.9, max), with the memory per live hold and
// the time to recover the full show from Pebble and from Redis alone.
//
// It drives the real node path in process: Booking (ids, routing) → the
// show's actor → its writer → a synced Pebble store on disk (and, in the
// redis run, Redis checkpoints through a real redis-server), with 64 callers
// in a closed loop, as 64 HTTP connections would be. The HTTP edge is not
// in it (its cost does not grow with the show; bench-http measures it).
//
// Run: make bench-fill (go test -run '^$' -bench Fill -benchtime 1x
// ./bench/fill/). FILL_HOLDS sets the number of holds (default 1,000,000;
// the per-100,000 rows become per tenth), FILL_RUNS the runs (pebble,redis).
// Callers' duties: none; it needs redis-server for the redis run (the
// tests' harness installs it).
package fill
