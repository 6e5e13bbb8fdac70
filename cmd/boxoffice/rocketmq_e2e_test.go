package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/persistence/rocketmq/rmqtest"
)

// TestRocketMQOrders is the RocketMQ pipeline's acceptance test against a real
// name server and broker: 100 orders, half paid with tok_ok; all 50 become
// paid with a notification, and RocketMQ's own admin tool shows the messages
// on boxoffice_orders. Then the broker is killed mid-stream and restarted, and
// the node is killed with SIGKILL mid-relay: nothing acknowledged is lost.
func TestRocketMQOrders(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a RocketMQ broker")
	}
	if err := rmqtest.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("RocketMQ cannot run here: %v", err)
		}
		t.Skip(err)
	}
	b := rmqtest.StartBroker(t)
	data := t.TempDir()
	s := startServer(t, data, "--rocketmq", b.NameServer)
	createShow(t, s.base, "rmq", 900)
	orders := placeOrders(t, s.base, "rmq", 0, 100, 2)
	waitPaid(t, s.base, orders, 2, 60*time.Second)
	waitNotes(t, data, 50, 30*time.Second)

	// RocketMQ's admin tool sees the topic's messages
	script, err := rmqtest.Script()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, "mqadmin", b.Dir, "topicStatus", "-t", "boxoffice_orders").CombinedOutput()
	if err != nil {
		t.Fatalf("mqadmin topicStatus: %v\n%s", err, out)
	}
	total := 0
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line) // #Broker Name, #QID, #Min Offset, #Max Offset, #Last Updated
		if len(f) >= 5 {
			var maxOff int
			if _, err := fmt.Sscan(f[3], &maxOff); err == nil {
				total += maxOff
			}
		}
	}
	var table []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "#Broker") || strings.HasPrefix(line, "broker") {
			table = append(table, line)
		}
	}
	t.Logf("mqadmin topicStatus -t boxoffice_orders:\n%s", strings.Join(table, "\n"))
	// 100 created + 50 payment_requested + 50 paid = 200 events at least
	if total < 200 {
		t.Fatalf("topicStatus counts %d messages, want >= 200", total)
	}

	// the pipeline's figures on /metrics: the relay, the producer, each group
	m := metrics(s.base)
	for name, least := range map[string]float64{
		"boxoffice_relay_delivered_total":                                   200,
		"boxoffice_relay_last_delivery_timestamp_seconds":                   float64(time.Now().Add(-time.Minute).Unix()),
		"boxoffice_rocketmq_producer_boxoffice_orders_published_total":      200,
		"boxoffice_rocketmq_consumer_boxoffice_payment_handled_total":       50,
		"boxoffice_rocketmq_consumer_boxoffice_notify_handled_total":        50,
		"boxoffice_rocketmq_consumer_boxoffice_notify_handler_errors_total": 0,
	} {
		if v, ok := m[name]; !ok || v < least {
			t.Fatalf("/metrics %s = %v (listed %v), want >= %v", name, v, ok, least)
		}
	}

	// broker killed mid-stream: bookings go on, events wait in the outbox
	if err := b.KillBroker(); err != nil {
		t.Fatal(err)
	}
	more := placeOrders(t, s.base, "rmq", 100, 140, 1)                  // all paid
	waitMetric(t, s.base, "boxoffice_relay_queued", 80, 10*time.Second) // 40 created + 40 payment_requested
	if m := metrics(s.base); m["boxoffice_relay_failures_total"] < 1 {
		t.Fatalf("broker down, relay_failures_total %v", m["boxoffice_relay_failures_total"])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := b.RestartBroker(ctx); err != nil {
		t.Fatal(err)
	}
	waitPaid(t, s.base, more, 1, 90*time.Second)
	if q := metrics(s.base)["boxoffice_relay_queued"]; q >= 80 {
		t.Fatalf("broker back, all paid: relay_queued %v", q)
	}

	// node killed with SIGKILL right after more payments: after restart the
	// outbox delivers what the broker had not acknowledged
	last := placeOrders(t, s.base, "rmq", 140, 170, 1)
	s.kill()
	s = startServer(t, data, "--rocketmq", b.NameServer)
	defer s.stop()
	waitPaid(t, s.base, last, 1, 90*time.Second)
	var paid []string
	for i, id := range orders {
		if i%2 == 0 {
			paid = append(paid, id)
		}
	}
	paid = append(append(paid, more...), last...)
	waitNotes(t, data, 50+40+30, 60*time.Second, func() string { return missingNotes(s.base, data, paid) },
		func() string { return brokerView(b, data, paid) })
}

// brokerView is what the broker holds for the first paid orders without a
// notification (their messages, by key) and the notification group's
// progress per queue: whether a missing notification's event never reached
// the broker or reached it and was not consumed.
func brokerView(b *rmqtest.Broker, data string, paid []string) string {
	script, err := rmqtest.Script()
	if err != nil {
		return err.Error()
	}
	notes, _ := os.ReadFile(filepath.Join(data, "notifications.log"))
	var out []string
	mqadmin := func(args ...string) {
		o, err := exec.Command(script, append([]string{"mqadmin", b.Dir}, args...)...).CombinedOutput()
		out = append(out, fmt.Sprintf("mqadmin %s (%v):\n%s", strings.Join(args, " "), err, o))
	}
	mqadmin("consumerConnection", "-g", "boxoffice_notify")
	mqadmin("consumerProgress", "-g", "boxoffice_notify")
	mqadmin("consumerProgress", "-g", "boxoffice_payment")
	shown := 0
	for _, id := range paid {
		if strings.Contains(string(notes), `"order":"`+id+`"`) || shown == 3 {
			continue
		}
		shown++
		mqadmin("queryMsgByKey", "-t", "boxoffice_orders", "-k", id)
	}
	// late or lost: wait two more minutes (past the broker's 120 s expiry of
	// a consumer it no longer hears from) and count again
	time.Sleep(120 * time.Second)
	notes, _ = os.ReadFile(filepath.Join(data, "notifications.log"))
	out = append(out, fmt.Sprintf("two minutes later: %d order_confirmed notifications", strings.Count(string(notes), `"order_confirmed"`)))
	return strings.Join(out, "\n")
}

// waitMetric waits until the node's /metrics has name >= least.
func waitMetric(t *testing.T, base, name string, least float64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		v, ok := metrics(base)[name]
		if ok && v >= least {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v /metrics %s = %v (listed %v), want >= %v", d, name, v, ok, least)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// missingNotes says which paid orders have no order_confirmed line in the
// node's notifications.log, and their histories: whether the consumer never
// saw the paid event or saw it and wrote nothing (a failure's diagnosis).
func missingNotes(base, data string, paid []string) string {
	b, _ := os.ReadFile(filepath.Join(data, "notifications.log"))
	var out []string
	for _, id := range paid {
		if strings.Contains(string(b), `"order":"`+id+`"`) {
			continue
		}
		var o orderDoc
		code, err := call("GET", base+"/v1/orders/"+id, "", &o)
		out = append(out, fmt.Sprintf("%s (GET %d %v): %s, history %+v", id, code, err, o.Status, o.History))
	}
	return fmt.Sprintf("%d of %d paid orders without a notification:\n%s", len(out), len(paid), strings.Join(out, "\n"))
}

// placeOrders holds and orders users [from, to) one seat each; every
// payEvery-th order is paid with tok_ok. It returns the order ids.
func placeOrders(t *testing.T, base, show string, from, to, payEvery int) []string {
	t.Helper()
	var ids []string
	for i := from; i < to; i++ {
		section := "a" // 150 seats, then the GA pit's 100
		if i >= 150 {
			section = "pit"
		}
		var h holdDoc
		if code, err := call("POST", base+"/v1/shows/"+show+"/holds", fmt.Sprintf(`{"user":"u%d","section":%q,"quantity":1}`, i, section), &h); err != nil || code != 201 {
			t.Fatalf("hold %d: %d %v", i, code, err)
		}
		var o orderDoc
		if code, err := call("POST", base+"/v1/orders", fmt.Sprintf(`{"show":%q,"hold":%q}`, show, h.ID), &o); err != nil || code != 201 {
			t.Fatalf("order %d: %d %v", i, code, err)
		}
		if (i-from)%payEvery == 0 {
			if code, err := call("POST", base+"/v1/orders/"+o.ID+"/pay", `{"payment_token":"tok_ok"}`, nil); err != nil || code != 202 {
				t.Fatalf("pay %d: %d %v", i, code, err)
			}
		}
		ids = append(ids, o.ID)
	}
	return ids
}

// waitPaid waits until every payEvery-th order is paid and the others still wait for payment.
func waitPaid(t *testing.T, base string, ids []string, payEvery int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		bad := ""
		for i, id := range ids {
			var o orderDoc
			if _, err := call("GET", base+"/v1/orders/"+id, "", &o); err != nil {
				bad = err.Error()
				break
			}
			want := "pending_payment"
			if i%payEvery == 0 {
				want = "paid"
			}
			if o.Status != want {
				bad = fmt.Sprintf("order %d (%s) is %s, want %s; history %+v", i, id, o.Status, want, o.History)
				break
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitNotes waits for exactly n order_confirmed lines; on failure it adds
// what each diagnose function says.
func waitNotes(t *testing.T, data string, n int, d time.Duration, diagnose ...func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		b, _ := os.ReadFile(filepath.Join(data, "notifications.log"))
		got := strings.Count(string(b), `"order_confirmed"`)
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			var why []string
			for _, f := range diagnose {
				why = append(why, f())
			}
			t.Fatalf("%d order_confirmed notifications after %v, want %d\n%s", got, d, n, strings.Join(why, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // redeliveries must not add lines
	b, _ := os.ReadFile(filepath.Join(data, "notifications.log"))
	if got := strings.Count(string(b), `"order_confirmed"`); got != n {
		t.Fatalf("%d order_confirmed notifications, want %d", got, n)
	}
}

// TestRocketMQStandaloneConsumers runs the payment and notification consumers
// as their own processes (`boxoffice consume`), reporting to the node over its
// internal API, with the node's own consumers off.
func TestRocketMQStandaloneConsumers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a RocketMQ broker")
	}
	if err := rmqtest.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("RocketMQ cannot run here: %v", err)
		}
		t.Skip(err)
	}
	b := rmqtest.StartBroker(t)
	s := startServer(t, t.TempDir(), "--rocketmq", b.NameServer, "--consumers=false")
	defer s.stop()
	notes := t.TempDir()
	for _, kind := range []string{"payment", "notify"} {
		cmd := exec.Command(binPath, "consume", kind, "--rocketmq", b.NameServer, "--node", s.base,
			"--admin-token", adminToken, "--data", filepath.Join(notes, kind), "--log-level", "warn")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	createShow(t, s.base, "solo", 900)
	orders := placeOrders(t, s.base, "solo", 0, 20, 2)
	waitPaid(t, s.base, orders, 2, 90*time.Second)
	waitNotes(t, filepath.Join(notes, "notify"), 10, 60*time.Second)
	var o orderDoc
	call("GET", s.base+"/v1/orders/"+orders[0], "", &o)
	if last := o.History[len(o.History)-1].Status; last != "notified" {
		t.Fatalf("order history ends with %q, want the notification recorded: %+v", last, o.History)
	}
}
