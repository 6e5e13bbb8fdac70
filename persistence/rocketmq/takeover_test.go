package rocketmq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/boxoffice/boxoffice/facts"
)

// helperEnv carries "nameserver topic group instance" to the helper process.
const helperEnv = "BOXOFFICE_RMQ_HELPER"

// TestRestartedConsumerTakesOver: a consumer process that stops without its
// connection closing (SIGSTOP; to the broker, a node that died unseen) stays
// a member of its group until the broker expires it, 120 s after its last
// heartbeat. Its successor, owning the same data directory (InstanceFor),
// consumes every queue at once: all events published after it started are
// handled within 30 s. With the library's allocation over the member list as
// the broker gives it (the same id twice) the successor takes the first
// share only; with a new instance name, only its own share.
func TestRestartedConsumerTakesOver(t *testing.T) {
	b := needBroker(t)
	rng := testRand(t)
	topic := newTopic(t, b, 8)
	group := topic + "_g"
	dir := t.TempDir()
	instance, err := InstanceFor(dir, group)
	if err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^TestHelperConsumerProcess$")
	child.Env = append(os.Environ(), helperEnv+"="+strings.Join([]string{b.NameServer, topic, group, instance}, " "))
	child.Stderr = os.Stderr
	// killed with this process, even frozen (a test binary killed at its
	// timeout runs no cleanup)
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "consuming" {
				started <- true
			}
		}
		started <- false
	}()
	select {
	case ok := <-started:
		if !ok {
			t.Fatal("helper consumer exited before it started")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("helper consumer did not start in 60 s")
	}
	// Start returned after the heartbeat that registered it; let its first
	// rebalance run, then freeze it with its connection open
	time.Sleep(time.Second)
	if err := child.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}

	again, err := InstanceFor(dir, group)
	if err != nil || again != instance {
		t.Fatalf("InstanceFor the same directory: %q, %v; first %q", again, err, instance)
	}
	c := newCollector()
	startConsumer(t, Options{NameServer: b.NameServer, Topic: topic, Group: group, Instance: again}, c.handle)
	events := makeEvents(rng, "takeover", 64, 1)
	publishAll(t, newProducer(t, Options{NameServer: b.NameServer, Topic: topic}), events, 64)
	waitFor(t, 30*time.Second, func() bool { return c.missing(events) == 0 }, func() string {
		return fmt.Sprintf("%d of %d events not consumed beside a frozen member with the same instance name",
			c.missing(events), len(events))
	})
}

// TestHelperConsumerProcess is the consumer process of
// TestRestartedConsumerTakesOver; it does nothing in a normal run.
func TestHelperConsumerProcess(t *testing.T) {
	spec := strings.Fields(os.Getenv(helperEnv))
	if len(spec) != 4 {
		t.Skip("the consumer process of TestRestartedConsumerTakesOver (" + helperEnv + ")")
	}
	c, err := NewConsumer(Options{NameServer: spec[0], Topic: spec[1], Group: spec[2], Instance: spec[3]},
		func(context.Context, facts.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("consuming")
	time.Sleep(10 * time.Minute) // until the parent freezes and kills it
}

// allocateDistinct gives each distinct member one share, however often the
// broker lists it, and the shares of all members cover every queue once.
func TestAllocateDistinct(t *testing.T) {
	queues := make([]*primitive.MessageQueue, 8)
	for i := range queues {
		queues[i] = &primitive.MessageQueue{Topic: "t", BrokerName: "b", QueueId: i}
	}
	ids := func(mqs []*primitive.MessageQueue) []int {
		var out []int
		for _, q := range mqs {
			out = append(out, q.QueueId)
		}
		return out
	}
	for _, tc := range []struct {
		members []string
		want    map[string][]int
	}{
		{[]string{"a"}, map[string][]int{"a": {0, 1, 2, 3, 4, 5, 6, 7}}},
		{[]string{"a", "a"}, map[string][]int{"a": {0, 1, 2, 3, 4, 5, 6, 7}}},
		{[]string{"a", "b"}, map[string][]int{"a": {0, 1, 2, 3}, "b": {4, 5, 6, 7}}},
		{[]string{"b", "a", "b"}, map[string][]int{"a": {0, 1, 2, 3}, "b": {4, 5, 6, 7}}},
		{[]string{"c", "a", "b", "a"}, map[string][]int{"a": {0, 1, 2}, "b": {3, 4, 5}, "c": {6, 7}}},
	} {
		seen := map[int]int{}
		for self, want := range tc.want {
			got := ids(allocateDistinct("g", self, queues, tc.members))
			if !slices.Equal(got, want) {
				t.Errorf("members %v: %s gets %v, want %v", tc.members, self, got, want)
			}
			for _, q := range got {
				seen[q]++
			}
		}
		for q := range queues {
			if seen[q] != 1 {
				t.Errorf("members %v: queue %d allocated %d times", tc.members, q, seen[q])
			}
		}
		// the library's own allocation, for contrast: a listed-twice member
		// gets the first share only
		if got := ids(consumer.AllocateByAveragely("g", "a", queues, []string{"a", "a"})); len(got) != 4 {
			t.Fatalf("AllocateByAveragely with a member listed twice: %v (the premise of allocateDistinct)", got)
		}
	}
}

// TestInstanceFor: one name per directory and group, kept across calls;
// a damaged file is an error, not a new name.
func TestInstanceFor(t *testing.T) {
	dir := t.TempDir()
	a, err := InstanceFor(dir, "g1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := InstanceFor(dir, "g1")
	c, _ := InstanceFor(dir, "g2")
	other, _ := InstanceFor(t.TempDir(), "g1")
	if a != b || !strings.HasPrefix(a, "g1-") || c != "g2-"+strings.TrimPrefix(a, "g1-") || other == a {
		t.Fatalf("names %q %q %q, another directory %q", a, b, c, other)
	}
	if err := os.WriteFile(dir+"/"+instanceFile, []byte("not a token\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := InstanceFor(dir, "g1"); !errors.Is(err, ErrBadInstanceFile) {
		t.Fatalf("damaged file: %v", err)
	}
}
