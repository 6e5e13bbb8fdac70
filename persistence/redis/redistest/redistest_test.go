package redistest

import (
	"strings"
	"testing"
)

func TestServerKillRestartKeepsAOF(t *testing.T) {
	s := StartServer(t)
	if r, err := s.Do("SET", "k", "v"); err != nil || r != "+OK" {
		t.Fatalf("SET: %q %v", r, err)
	}
	// WAITAOF is not in Redis 7.0; BGREWRITEAOF makes the write durable before the kill.
	if r, err := s.Do("BGREWRITEAOF"); err != nil || !strings.HasPrefix(r, "+") {
		t.Fatalf("BGREWRITEAOF: %q %v", r, err)
	}
	waitRewrite(t, s)
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING succeeded on a killed server")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Do("EXISTS", "k"); err != nil || r != ":1" {
		t.Fatalf("after restart EXISTS k: %q %v", r, err)
	}
}

func TestPassword(t *testing.T) {
	s := StartServer(t, WithPassword("pw"))
	if r, err := s.Do("PING"); err != nil || r != "+PONG" {
		t.Fatalf("PING with password: %q %v", r, err)
	}
	if r, _ := do(s.Addr(), "", "PING"); !strings.HasPrefix(r, "-NOAUTH") {
		t.Fatalf("PING without password: %q, want -NOAUTH", r)
	}
}
