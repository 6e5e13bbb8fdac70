package edgetest

import (
	"context"
	"errors"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

func testConfig() seatmap.ShowConfig {
	return seatmap.ShowConfig{ID: "t1", Name: "test", Tiers: []seatmap.Tier{{ID: "std", Price: 5000}},
		Sections: []seatmap.Section{
			{ID: "s0", Tier: "std", Rows: []seatmap.Row{{ID: "1", Seats: 4}}},
			{ID: "pit", Tier: "std", Capacity: 10},
		}}
}

func TestMemBackendLifecycle(t *testing.T) {
	ctx := context.Background()
	m := NewMem()
	now := int64(1_000_000)
	m.Now = func() int64 { return now }
	doc, err := m.CreateShow(ctx, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if doc.Totals.Capacity != 14 || doc.Totals.Available != 14 || doc.Config.HoldTTLSeconds != seatmap.DefaultHoldTTL {
		t.Fatalf("doc = %+v", doc)
	}
	if _, err := m.CreateShow(ctx, testConfig()); !errors.Is(err, seatmap.ErrShowExists) {
		t.Fatalf("second create: %v", err)
	}
	h, _, err := m.Hold(ctx, seatmap.HoldRequest{Show: "t1", User: "u", Seats: []string{"s0-1-1"}})
	if err != nil || ShowOfID(h.ID) != "t1" || h.Amount != 5000 {
		t.Fatalf("hold %+v %v", h, err)
	}
	if _, _, err := m.Hold(ctx, seatmap.HoldRequest{Show: "t1", User: "v", Seats: []string{"s0-1-1"}}); !errors.Is(err, seatmap.ErrSeatsUnavailable) {
		t.Fatalf("double hold: %v", err)
	}
	o, created, err := m.CreateOrder(ctx, seatmap.OrderRequest{Show: "t1", HoldID: h.ID})
	if err != nil || !created || o.Status != seatmap.StatusPendingPayment {
		t.Fatalf("order %+v %v %v", o, created, err)
	}
	if o, err = m.PayOrder(ctx, "", o.ID, okToken); err != nil || o.Status != seatmap.StatusPaymentProcessing {
		t.Fatalf("pay %+v %v", o, err)
	}
	if o, err = m.GetOrder(ctx, "", o.ID); err != nil || o.Status != seatmap.StatusPaid {
		t.Fatalf("after settle %+v %v", o, err)
	}
	// A hold expires after its TTL.
	h2, _, err := m.Hold(ctx, seatmap.HoldRequest{Show: "t1", User: "u", Section: "pit", Quantity: 3})
	if err != nil {
		t.Fatal(err)
	}
	now += int64(seatmap.DefaultHoldTTL)*1000 + 1
	if _, err := m.GetHold(ctx, "", "t1", h2.ID); !errors.Is(err, seatmap.ErrHoldExpired) {
		t.Fatalf("expired hold: %v", err)
	}
	doc, _ = m.GetShow(ctx, "t1")
	if doc.Totals.Sold != 1 || doc.Totals.Available != 13 {
		t.Fatalf("totals %+v", doc.Totals)
	}
	if _, err := m.GetOrder(ctx, "", "nope~0~x"); !errors.Is(err, seatmap.ErrOrderNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
	if g := m.Gauges(); g["seats_sold"] != 1 {
		t.Fatalf("gauges %v", g)
	}
}
