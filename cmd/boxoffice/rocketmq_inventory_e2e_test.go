package main

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/persistence/rocketmq"
	"github.com/boxoffice/boxoffice/persistence/rocketmq/rmqtest"
)

// invCounts is one section's (or the totals') counters.
type invCounts struct{ Available, Held, Reserved, Sold int }

// invFollower rebuilds shows' counters from the inventory topic alone: per
// section, the counters of the event with the highest seq (consumption is
// concurrent, so events may arrive out of order; counters are absolute).
type invFollower struct {
	mu     sync.Mutex
	secSeq map[string]map[string]uint64    // show -> section -> seq of its counters
	secs   map[string]map[string]invCounts // show -> section -> counters
	seqs   map[string]map[uint64]int       // show -> seq -> deliveries
	causes map[string]map[string]int       // show -> cause -> events
	other  int                             // messages that were not inventory events
}

func newInvFollower() *invFollower {
	return &invFollower{secSeq: map[string]map[string]uint64{}, secs: map[string]map[string]invCounts{},
		seqs: map[string]map[uint64]int{}, causes: map[string]map[string]int{}}
}

func (f *invFollower) handle(_ context.Context, ev seatmap.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	inv := ev.Inventory
	if ev.Type != seatmap.EventInventory || inv == nil || inv.Show != ev.Show {
		f.other++
		return nil
	}
	if f.secs[inv.Show] == nil {
		f.secSeq[inv.Show] = map[string]uint64{}
		f.secs[inv.Show] = map[string]invCounts{}
		f.seqs[inv.Show] = map[uint64]int{}
		f.causes[inv.Show] = map[string]int{}
	}
	if f.seqs[inv.Show][inv.Seq] == 0 {
		f.causes[inv.Show][inv.Cause]++
	}
	f.seqs[inv.Show][inv.Seq]++
	for _, s := range inv.Sections {
		if inv.Seq >= f.secSeq[inv.Show][s.ID] {
			f.secSeq[inv.Show][s.ID] = inv.Seq
			f.secs[inv.Show][s.ID] = invCounts{s.Available, s.Held, s.Reserved, s.Sold}
		}
	}
	return nil
}

// rebuilt returns the show's sections and totals as rebuilt from the topic.
func (f *invFollower) rebuilt(show string) (map[string]invCounts, invCounts) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]invCounts{}
	var tot invCounts
	for id, c := range f.secs[show] {
		out[id] = c
		tot.Available += c.Available
		tot.Held += c.Held
		tot.Reserved += c.Reserved
		tot.Sold += c.Sold
	}
	return out, tot
}

type invShowDoc struct {
	Sections []struct {
		ID string
		invCounts
	}
	Totals invCounts
}

func getShowCounts(t *testing.T, base, show string) (map[string]invCounts, invCounts) {
	t.Helper()
	var d invShowDoc
	if code, err := call("GET", base+"/v1/shows/"+show, "", &d); err != nil || code != 200 {
		t.Fatalf("GET show %s: %d %v", show, code, err)
	}
	out := map[string]invCounts{}
	for _, s := range d.Sections {
		out[s.ID] = s.invCounts
	}
	return out, d.Totals
}

// TestRocketMQInventoryTopic: with --rocketmq every inventory event goes to
// topic boxoffice_inventory (key = show id). Holds, releases, orders,
// payments (ok and declined), cancellations (pending and paid) and expiries
// on two shows; then a fresh consumer group reads the topic from its first
// offset, rebuilds each show's per-section counters from the events alone,
// and they must equal GET /v1/shows/{show}.
func TestRocketMQInventoryTopic(t *testing.T) {
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
	s := startServer(t, t.TempDir(), "--rocketmq", b.NameServer)
	defer s.stop()

	// "exp": short TTLs, so holds and unpaid orders expire; "keep": long
	// TTLs, so holds and pending orders stay.
	shows := map[string]int{"exp": 3, "keep": 600}
	for show, ttl := range shows {
		body := fmt.Sprintf(`{"id":%q,"name":"inv","payment_ttl_seconds":%d,"hold_ttl_seconds":%d,
		"tiers":[{"id":"std","price":5000}],
		"sections":[{"id":"a","tier":"std","rows":[{"id":"1","seats":50},{"id":"2","seats":50}]},
		            {"id":"b","tier":"std","rows":[{"id":"1","seats":20}]},
		            {"id":"pit","tier":"std","capacity":100}]}`, show, ttl, ttl)
		if code, err := call("POST", s.base+"/v1/shows", body, nil, "Authorization", "Bearer "+adminToken); err != nil || code != 201 {
			t.Fatalf("create show %s: %d %v", show, code, err)
		}
	}
	var paid []string
	for show := range shows {
		for i := 0; i < 48; i++ {
			section, qty := "a", 1
			switch i % 3 {
			case 1:
				section, qty = "pit", 2
			case 2:
				section = "b"
			}
			var h holdDoc
			if code, err := call("POST", s.base+"/v1/shows/"+show+"/holds", fmt.Sprintf(`{"user":"u%d","section":%q,"quantity":%d}`, i, section, qty), &h); err != nil || code != 201 {
				t.Fatalf("%s hold %d: %d %v", show, i, code, err)
			}
			switch (i / 3) % 6 {
			case 0: // released
				if code, err := call("DELETE", s.base+"/v1/shows/"+show+"/holds/"+h.ID, "", nil); err != nil || code/100 != 2 {
					t.Fatalf("%s release %d: %d %v", show, i, code, err)
				}
				continue
			case 5: // left held (expires on "exp")
				continue
			}
			var o orderDoc
			if code, err := call("POST", s.base+"/v1/orders", fmt.Sprintf(`{"show":%q,"hold":%q}`, show, h.ID), &o); err != nil || code != 201 {
				t.Fatalf("%s order %d: %d %v", show, i, code, err)
			}
			switch (i / 3) % 6 {
			case 1: // paid
				if code, err := call("POST", s.base+"/v1/orders/"+o.ID+"/pay", `{"payment_token":"tok_ok"}`, nil); err != nil || code != 202 {
					t.Fatalf("%s pay %d: %d %v", show, i, code, err)
				}
				paid = append(paid, o.ID)
			case 2: // declined
				if code, err := call("POST", s.base+"/v1/orders/"+o.ID+"/pay", `{"payment_token":"tok_declined"}`, nil); err != nil || code != 202 {
					t.Fatalf("%s pay declined %d: %d %v", show, i, code, err)
				}
			case 3: // cancelled while pending
				if code, err := call("POST", s.base+"/v1/orders/"+o.ID+"/cancel", "", nil); err != nil || code != 200 {
					t.Fatalf("%s cancel %d: %d %v", show, i, code, err)
				}
			case 4: // left pending (expires on "exp")
			}
		}
	}
	// a paid order cancelled (seats returned): wait until the first is paid
	waitPaid(t, s.base, paid[:1], 1, 30*time.Second)
	code, err := call("POST", s.base+"/v1/orders/"+paid[0]+"/cancel", "", nil)
	t.Logf("cancel of paid order %s: %d %v", paid[0], code, err)

	f := newInvFollower()
	c, err := rocketmq.NewConsumer(rocketmq.Options{NameServer: b.NameServer, Topic: rmqtest.InventoryTopic,
		Group: fmt.Sprintf("inv_rebuild_%d", time.Now().UnixNano()), Tags: []string{seatmap.EventInventory}}, f.handle)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()

	// settled: "exp" has nothing held or reserved any more (expiries done),
	// and the topic's rebuild equals GET for both shows
	deadline := time.Now().Add(40 * time.Second)
	for {
		ok := true
		var why string
		for show := range shows {
			gotSecs, gotTot := f.rebuilt(show)
			wantSecs, wantTot := getShowCounts(t, s.base, show)
			if show == "exp" && (wantTot.Held != 0 || wantTot.Reserved != 0) {
				ok, why = false, fmt.Sprintf("exp: still held %d reserved %d", wantTot.Held, wantTot.Reserved)
			} else if !reflect.DeepEqual(gotSecs, wantSecs) || gotTot != wantTot {
				ok, why = false, fmt.Sprintf("%s: topic %+v %+v, GET %+v %+v", show, gotSecs, gotTot, wantSecs, wantTot)
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebuild from %s never matched GET: %s", rmqtest.InventoryTopic, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // nothing more arrives that changes the result
	for _, show := range []string{"exp", "keep"} {
		gotSecs, gotTot := f.rebuilt(show)
		wantSecs, wantTot := getShowCounts(t, s.base, show)
		if !reflect.DeepEqual(gotSecs, wantSecs) || gotTot != wantTot {
			t.Fatalf("%s changed after matching: topic %+v, GET %+v", show, gotSecs, wantSecs)
		}
		f.mu.Lock()
		var seqs []uint64
		dups := 0
		for q, n := range f.seqs[show] {
			seqs = append(seqs, q)
			dups += n - 1
		}
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		t.Logf("show %s: %d inventory events (seq %d..%d, %d redelivered; seqs are record numbers, not contiguous), causes %v",
			show, len(seqs), seqs[0], seqs[len(seqs)-1], dups, f.causes[show])
		f.mu.Unlock()
		ids := make([]string, 0, len(gotSecs))
		for id := range gotSecs {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			t.Logf("  section %-4s topic %+v = GET %+v", id, gotSecs[id], wantSecs[id])
		}
		t.Logf("  totals      topic %+v = GET %+v", gotTot, wantTot)
	}
	if f.other != 0 {
		t.Fatalf("%d messages on %s were not inventory events", f.other, rmqtest.InventoryTopic)
	}
}
