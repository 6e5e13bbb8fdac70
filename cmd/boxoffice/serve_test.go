package main

import (
	"errors"
	"testing"
)

// Several nodes without Redis would each be the authority of the shows they
// happen to own: a show that moves would lose its state. serve refuses.
func TestClusterNeedsRedis(t *testing.T) {
	_, err := serveFlags([]string{"--cluster-hosts", "127.0.0.1:7001,127.0.0.1:7002", "--health-port", "7001"})
	if !errors.Is(err, errClusterNeedsRedis) {
		t.Fatalf("--cluster-hosts without --redis: %v", err)
	}
	for _, redis := range [][]string{{"--redis", "127.0.0.1:6379"}, {"--redis-cluster", "127.0.0.1:7000"}} {
		args := append([]string{"--cluster-hosts", "127.0.0.1:7001,127.0.0.1:7002", "--health-port", "7001"}, redis...)
		if _, err := serveFlags(args); err != nil {
			t.Fatalf("%v: %v", redis, err)
		}
	}
	if _, err := serveFlags(nil); err != nil {
		t.Fatalf("a single node without Redis: %v", err)
	}
}
