// Package cluster starts a boxoffice node: a protoactor actor system joined to
// a protoactor cluster, with the shard kind registered and identities placed
// by consistent hashing (disthash).
//
// One node alone is a single-member cluster (an in-memory membership provider,
// no network peers); with Hosts set, nodes find each other through
// protoactor's automanaged provider (each node serves membership on its own
// health port and lists every node's). Scaling out changes configuration,
// never code: callers address shards by identity either way.
//
// Callers' duties, in order: Start a Node with every Kind it must host;
// resolve identities with PID (cached; call Forget when a PID went dead);
// Stop it on shutdown (it leaves the cluster first). PID and Changed are on
// every request's path and take no lock: the cache is one view per
// topology, replaced whole when the topology changes (node.go, placeView).
package cluster
