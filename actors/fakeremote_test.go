package actors

import "github.com/boxoffice/boxoffice/persistence/redis/redisfake"

// newFakeRemote is an in-memory Redis with the scripts' semantics and the
// real one's faults (package redisfake), for one node.
func newFakeRemote() *redisfake.Client { return redisfake.NewServer().Client() }
