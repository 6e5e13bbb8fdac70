package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Sentinel errors.
var (
	// ErrUnavailable: redis-server is missing and could not be installed here.
	ErrUnavailable = errors.New("redistest: redis-server unavailable")
)

// StartTimeout bounds one server start (including an AOF reload).
const StartTimeout = 20 * time.Second

// Option changes how a server is started.
type Option func(*config)

type config struct {
	password string
	args     []string
}

// WithPassword starts the server with --requirepass pw.
func WithPassword(pw string) Option { return func(c *config) { c.password = pw } }

// WithReplicaOf starts the server as a replica of master (--replicaof).
func WithReplicaOf(master *Server) Option {
	return func(c *config) {
		c.args = append(c.args, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	}
}

// WithArgs appends raw redis-server arguments ("--maxmemory", "10mb").
func WithArgs(args ...string) Option { return func(c *config) { c.args = append(c.args, args...) } }

// Server is one redis-server process on 127.0.0.1.
type Server struct {
	dir  string
	port int
	cfg  config

	mu   sync.Mutex // protects cmd
	cmd  *exec.Cmd  // nil while killed
	done chan struct{}
}

// StartServer starts a redis-server on a free loopback port with its data in
// a directory under t.TempDir(). It is killed on t.Cleanup.
func StartServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	s, err := startServer(t.TempDir(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Kill() })
	return s
}

// startServer installs redis if needed, picks a free port and starts the
// server, retrying on another port if the chosen one was taken meanwhile.
func startServer(dir string, cfg config, extra []string) (*Server, error) {
	if err := EnsureInstalled(); err != nil {
		return nil, err
	}
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort(extra != nil)
		if err != nil {
			return nil, err
		}
		s := &Server{dir: dir, port: port, cfg: cfg}
		s.cfg.args = append(append([]string(nil), cfg.args...), extra...)
		if last = s.start(); last == nil {
			return s, nil
		}
	}
	return nil, last
}

// Addr returns "127.0.0.1:PORT".
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL returns "redis://[:password@]127.0.0.1:PORT".
func (s *Server) URL() string {
	if s.cfg.password != "" {
		return "redis://:" + s.cfg.password + "@" + s.Addr()
	}
	return "redis://" + s.Addr()
}

// Dir returns the server's data directory (AOF, log).
func (s *Server) Dir() string { return s.dir }

// Kill sends SIGKILL and waits for the process to end. Killing a killed
// server does nothing.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
	return nil
}

// Stop sends SIGSTOP: the process no longer answers, but the kernel still
// accepts TCP connections to it and buffers what is sent, as with a network
// partition or a stalled host. Cont resumes it.
func (s *Server) Stop() error { return s.signal(syscall.SIGSTOP) }

// Cont sends SIGCONT to a server stopped by Stop.
func (s *Server) Cont() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("redistest: server not running")
	}
	return s.cmd.Process.Signal(sig)
}

// Restart kills the server if it runs and starts it again on the same port
// with the same directory, so it reloads its AOF.
func (s *Server) Restart() error {
	if err := s.Kill(); err != nil {
		return err
	}
	return s.start()
}

// Do sends one command and returns its reply line (RESP2, first line only:
// "+OK", ":1", "$5"...). For tests' administrative commands.
func (s *Server) Do(args ...string) (string, error) {
	return do(s.Addr(), s.cfg.password, args...)
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	args := []string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
		"--daemonize", "no", "--repl-diskless-sync-delay", "0", "--logfile", filepath.Join(s.dir, "redis.log"),
	}
	if s.cfg.password != "" {
		args = append(args, "--requirepass", s.cfg.password, "--masterauth", s.cfg.password)
	}
	args = append(args, s.cfg.args...)
	cmd := exec.Command(serverBin, args...)
	// Kill the server if the test binary dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start %s: %w", serverBin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(StartTimeout)
	for {
		reply, err := do(s.Addr(), s.cfg.password, "PING")
		if err == nil && reply == "+PONG" {
			s.cmd, s.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redistest: redis-server on port %d exited: %s", s.port, tailFile(filepath.Join(s.dir, "redis.log"), 10))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redistest: redis-server on port %d not ready after %v (last: %q, %v)", s.port, StartTimeout, reply, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Cluster is a Redis Cluster of three masters without replicas.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts three cluster-enabled servers, joins them with
// `redis-cli --cluster create` and waits until every node reports
// cluster_state:ok. Everything is killed on t.Cleanup.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{}
	t.Cleanup(func() {
		for _, n := range c.Nodes {
			_ = n.Kill()
		}
	})
	root := t.TempDir()
	for i := 0; i < 3; i++ {
		dir := filepath.Join(root, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s, err := startServer(dir, config{}, []string{
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "5000",
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cliBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, n := range c.Nodes {
		if err := waitClusterOK(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Addrs returns the masters' "127.0.0.1:PORT" addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// waitClusterOK polls CLUSTER INFO until cluster_state:ok.
func waitClusterOK(ctx context.Context, s *Server) error {
	for {
		out, err := exec.CommandContext(ctx, cliBin, "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "cluster", "info").Output()
		if err == nil && strings.Contains(string(out), "cluster_state:ok") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redistest: node %s never reached cluster_state:ok: %v\n%s", s.Addr(), err, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort returns a loopback port that is free now (and, for cluster nodes,
// whose bus port PORT+10000 is free too).
func freePort(withBus bool) (int, error) {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !withBus {
			return port, nil
		}
		if port+10000 > 65535 {
			continue
		}
		if b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000)); err == nil {
			_ = b.Close()
			return port, nil
		}
	}
	return 0, errors.New("redistest: no free port pair found")
}

// do sends one RESP command over a fresh connection and returns the first
// reply line.
func do(addr, password string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	if password != "" {
		if line, err := roundTrip(conn, r, "AUTH", password); err != nil || line != "+OK" {
			return line, fmt.Errorf("redistest: AUTH: %q %v", line, err)
		}
	}
	return roundTrip(conn, r, args...)
}

func roundTrip(conn net.Conn, r *bufio.Reader, args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := r.ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Signal sends sig to the running server (SIGSTOP freezes it: connections
// stay open and hang, unlike Kill; SIGCONT resumes it). It fails when the
// server is not running.
func (s *Server) Signal(sig os.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("redistest: server not running")
	}
	return s.cmd.Process.Signal(sig)
}
