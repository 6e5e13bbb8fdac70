package redistest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// waitRewrite waits until INFO persistence shows no AOF rewrite in progress.
func waitRewrite(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if info := infoSection(t, s, "persistence"); strings.Contains(info, "aof_rewrite_in_progress:0") &&
			strings.Contains(info, "aof_rewrite_scheduled:0") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("AOF rewrite did not finish")
}

// infoSection reads a whole bulk INFO reply.
func infoSection(t *testing.T, s *Server, section string) string {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if _, err := roundTrip(conn, r, "INFO", section); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(line) == "" {
			return b.String()
		}
		b.WriteString(line)
	}
}
