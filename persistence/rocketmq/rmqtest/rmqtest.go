package rmqtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// Sentinel errors.
var (
	// ErrUnavailable: this machine cannot run the local broker (no java, mvn or bash).
	ErrUnavailable = errors.New("rmqtest: local RocketMQ unavailable")
)

// validTopic is the broker's rule for topic names.
var validTopic = regexp.MustCompile(`^[%|a-zA-Z0-9_-]+$`)

// DefaultTopic is the topic the script creates (boxoffice's order topic).
const DefaultTopic = "boxoffice_orders"

// InventoryTopic is boxoffice's inventory topic, which the script creates too.
const InventoryTopic = "boxoffice_inventory"

// StartTimeout bounds one run of `rocketmq-local start` (jar download on a
// cold cache, JVM starts on a loaded machine).
const StartTimeout = 4 * time.Minute

// Broker is a running local name server + broker.
type Broker struct {
	Dir        string // the instance's directory (ports, conf, store, logs)
	NameServer string // "127.0.0.1:PORT"
	BrokerAddr string // "127.0.0.1:PORT"
	script     string
	ownDir     bool // Dir was created by Launch and is removed by Stop

	mu    sync.Mutex // protects admin
	admin admin.Admin
}

// Script returns the path of scripts/rocketmq-local, found by walking up
// from the working directory to the module root (the directory of go.mod).
func Script() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "scripts", "rocketmq-local"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("rmqtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Available reports why the local broker cannot run here, or nil.
func Available() error {
	for _, tool := range []string{"bash", "java", "mvn", "setsid", "flock"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s not found", ErrUnavailable, tool)
		}
	}
	return nil
}

// Launch starts a name server and a broker in dir (a new temporary directory
// when dir is ""), for TestMain. Stop ends them.
func Launch(ctx context.Context, dir string) (*Broker, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	script, err := Script()
	if err != nil {
		return nil, err
	}
	b := &Broker{Dir: dir, script: script}
	if dir == "" {
		if b.Dir, err = os.MkdirTemp("", "rmqtest-"); err != nil {
			return nil, err
		}
		b.ownDir = true
	}
	if err := b.start(ctx); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// Start starts a broker for one test (prefer one per package via TestMain
// and Launch: a start costs seconds). It skips the test when the machine
// cannot run one, unless CI is set. The returned stop is also registered
// with t.Cleanup; calling it twice is fine.
func Start(t testing.TB) (nameServer string, stop func()) {
	b := StartBroker(t)
	return b.NameServer, func() { b.Stop() }
}

// StartBroker is Start returning the Broker, for tests that kill and restart it.
func StartBroker(t testing.TB) *Broker {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	b, err := Launch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	return b
}

// start runs `rocketmq-local start` and reads the addresses.
func (b *Broker) start(ctx context.Context) error {
	out, err := b.run(ctx, "start")
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	b.NameServer = strings.TrimSpace(lines[len(lines)-1])
	addr, err := os.ReadFile(filepath.Join(b.Dir, "broker.addr"))
	if err != nil {
		return fmt.Errorf("rmqtest: %w", err)
	}
	b.BrokerAddr = strings.TrimSpace(string(addr))
	return nil
}

// run runs the script with a command and b.Dir; stdout is returned, stderr
// is kept for the error.
func (b *Broker) run(ctx context.Context, command string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", b.script, command, b.Dir)
	// Tests create their own topics (CreateTopic); boxoffice's two are made for the binary's tests.
	// The store is thrown away: no need to wait for a graceful broker stop.
	// The owner pid makes the script stop the broker if this process dies
	// without calling Stop (test timeout, kill).
	cmd.Env = append(os.Environ(), "ROCKETMQ_LOCAL_TOPICS="+DefaultTopic+":8 "+InventoryTopic+":8", "ROCKETMQ_LOCAL_STOP_GRACE=1",
		"ROCKETMQ_LOCAL_OWNER_PID="+strconv.Itoa(os.Getpid()))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("rmqtest: rocketmq-local %s %s: %w\n%s", command, b.Dir, err, tail(stderr.String(), 40))
	}
	return stdout.String(), nil
}

// KillBroker kills the broker process (SIGKILL) and waits until it is gone;
// the name server stays up. Sends fail until RestartBroker.
func (b *Broker) KillBroker() error {
	_, err := b.run(context.Background(), "kill-broker")
	return err
}

// RestartBroker starts the broker again on the same port and store, and
// waits until the name server routes to it.
func (b *Broker) RestartBroker(ctx context.Context) error {
	return b.start(ctx)
}

// Stop stops the name server and the broker and removes a directory Launch
// created. Safe to call more than once.
func (b *Broker) Stop() error {
	b.mu.Lock()
	if b.admin != nil {
		b.admin.Close()
		b.admin = nil
	}
	b.mu.Unlock()
	_, err := b.run(context.Background(), "stop")
	if err == nil && b.ownDir {
		os.RemoveAll(b.Dir)
	}
	return err
}

// CreateTopic creates topic on the broker with the given number of queues
// and waits until the name server routes it.
func (b *Broker) CreateTopic(ctx context.Context, topic string, queues int) error {
	if !validTopic.MatchString(topic) || len(topic) > 127 {
		return fmt.Errorf("rmqtest: invalid topic name %q (want %s, at most 127 characters)", topic, validTopic)
	}
	a, err := b.adminClient()
	if err != nil {
		return err
	}
	// The library reports transport errors only, not the broker's verdict:
	// the route check below is what tells success.
	if err := a.CreateTopic(ctx, admin.WithTopicCreate(topic), admin.WithBrokerAddrCreate(b.BrokerAddr),
		admin.WithReadQueueNums(queues), admin.WithWriteQueueNums(queues)); err != nil {
		return fmt.Errorf("rmqtest: create topic %s: %w", topic, err)
	}
	for {
		mqs, err := a.FetchPublishMessageQueues(ctx, topic)
		if err == nil && len(mqs) == queues {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rmqtest: topic %s not routed (last error %v): %w", topic, err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (b *Broker) adminClient() (admin.Admin, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.admin != nil {
		return b.admin, nil
	}
	if os.Getenv("ROCKETMQ_GO_LOG_LEVEL") == "" {
		rlog.SetLogLevel("error") // the library logs every admin call at Info
	}
	a, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{b.NameServer})))
	if err != nil {
		return nil, fmt.Errorf("rmqtest: admin client: %w", err)
	}
	b.admin = a
	return a, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
