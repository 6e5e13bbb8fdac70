package main

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/boxoffice/boxoffice/actors/seatmap"
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

// fakeTransport records what it was given and answers with err.
type fakeTransport struct {
	got []string
	err func(n int) error
}

func (f *fakeTransport) Publish(_ context.Context, events []seatmap.Event) error {
	for _, e := range events {
		f.got = append(f.got, e.ID)
	}
	if f.err == nil {
		return nil
	}
	return f.err(len(events))
}

// splitTransport sends inventory events to one transport and the others to
// the other, and merges the outcomes back in input order.
func TestSplitTransport(t *testing.T) {
	events := []seatmap.Event{{ID: "o1", OrderID: "1"}, {ID: "i1", Type: seatmap.EventInventory},
		{ID: "o2", OrderID: "2"}, {ID: "i2", Type: seatmap.EventInventory}}
	down := errors.New("down")
	ord := &fakeTransport{err: func(n int) error { return pipeline.Unavailable(n, []int{1}, down) }}
	inv := &fakeTransport{err: func(int) error { return down }}
	err := splitTransport{orders: ord, inventory: inv}.Publish(context.Background(), events)
	if !reflect.DeepEqual(ord.got, []string{"o1", "o2"}) || !reflect.DeepEqual(inv.got, []string{"i1", "i2"}) {
		t.Fatalf("orders got %v, inventory got %v", ord.got, inv.got)
	}
	var ee *pipeline.EventErrors
	if !errors.As(err, &ee) || len(ee.Errs) != 4 {
		t.Fatalf("err %v", err)
	}
	for i, want := range []bool{false, true, true, true} { // failed?
		if (ee.Errs[i] != nil) != want || (want && !errors.Is(ee.Errs[i], pipeline.ErrSkipped)) {
			t.Fatalf("event %d: %v", i, ee.Errs[i])
		}
	}
	ok := &fakeTransport{}
	if err := (splitTransport{orders: ok, inventory: &fakeTransport{}}).Publish(context.Background(), events); err != nil {
		t.Fatal(err)
	}
}
