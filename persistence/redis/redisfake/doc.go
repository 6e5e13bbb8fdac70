// Package redisfake is an in-memory Redis with the semantics of the
// checkpoint and lease scripts of persistence/redis (epoch fence, sequence
// continuity, retries of the last writer skipped, snapshots and catch-ups,
// the archive, the read model's counts, leases with a TTL), and the faults
// of the real one: a client cut off (every call times out unapplied), a
// reply lost after the script applied, a client that stays unhealthy until
// a probe succeeds, and a server that loses its last N writes (an AOF
// fsynced every second, a replica promoted). The actors' unit tests and the
// deterministic simulator (sim/vopr) use it instead of redis-server;
// TestMatchesRealRedis runs the same random sequences against both and
// compares every answer and the stored state.
//
// A Server holds the data; each node opens its own Client on it, so that one
// node can be partitioned from Redis while another is not. Epoch nonces come
// from a counter (deterministic, unlike the real client's random ones) and
// the lease TTLs run on Server.Now.
//
// Not modelled: the real client splits a checkpoint of more than
// MaxEntriesPerCall entries (4096) or MaxBytesPerCall bytes into several
// script calls that apply as a prefix; the fake applies a checkpoint whole.
// WAIT (--redis-wait) and the show registry's keys are not modelled either.
//
// Callers' duties: build a Server with NewServer (set Now for leases), open
// a Client per node with Server.Client; both are safe for concurrent use.
// Inject faults with Client.SetDown, Client.LoseReplies, Client.OnCall,
// Client.SetProbing/Probe and Server.LoseWrites/LoseTail.
package redisfake
