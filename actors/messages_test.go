package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func wireCommands() []seatmap.Command {
	cfg := smallShow("wire", 10)
	cfg.Normalize()
	return []seatmap.Command{
		{Kind: seatmap.KindCreate, Now: 1, Show: &cfg},
		{Kind: seatmap.KindHold, Now: 2, User: "u\xff1", HoldID: "h1", Seats: []string{"s0-1-1", "s0-1-2"},
			IdemKey: "k", IdemHash: "x", Ticket: "t1"},
		{Kind: seatmap.KindHold, Now: 3, User: "u2", HoldID: "h2", Section: "s0", Tier: "std", Quantity: 3},
		{Kind: seatmap.KindExtend, HoldID: "h1", Seconds: 60},
		{Kind: seatmap.KindPay, OrderID: "o1", Token: "tok", Attempt: "a.1"},
		{Kind: seatmap.KindPayResult, OrderID: "o1", Attempt: "a.1", EventID: "e1", Success: true},
		{Kind: seatmap.KindNotified, OrderID: "o1", EventID: "e2", Channel: "email"},
		{Kind: seatmap.KindWaitlistJoin, User: "u3", Entry: "w1", Quantity: 2, Together: true},
		{},
	}
}

func wireResults() []seatmap.Result {
	cfg := smallShow("wire", 10)
	cfg.Normalize()
	return []seatmap.Result{
		{},
		{Err: &seatmap.Error{Err: seatmap.ErrSeatsUnavailable, Msg: "taken", Seats: []string{"s0-1-1"}}},
		{Err: &seatmap.Error{Err: seatmap.ErrHoldNotFound, Msg: "no such hold"}},
		{Created: true, Hold: &seatmap.HoldView{ID: "h1", Show: "wire", User: "u\x00", Seats: []string{"a", "b"},
			Quantity: 2, Amount: 2000, CreatedAt: 5, ExpiresAt: 6}},
		{Hold: &seatmap.HoldView{ID: "h2", Seats: []string{}, General: map[string]int{"pit": 2}, Quantity: 2,
			OrderID: "o2"}},
		{Order: &seatmap.OrderView{ID: "o1", HoldID: "h1", Seats: []string{"a"}, Status: seatmap.StatusPaid,
			History: []seatmap.History{{Status: "pending_payment", At: 1}, {Status: "paid", At: 2, Detail: "c"}},
			Attempt: "a.1"}},
		{Order: &seatmap.OrderView{ID: "o2", Seats: []string{}, General: map[string]int{}, History: []seatmap.History{}}},
		{Show: &seatmap.ShowView{Config: cfg, Sections: []seatmap.SectionView{{ID: "s0", Tier: "std", Capacity: 10,
			Available: 7, Held: 2, Sold: 1}}, HoldsActive: 2, Orders: 1,
			Queue:    &seatmap.QueueStats{OpensAt: 9, Opened: true, Seed: 1 << 63, AdmitFactor: 1.5, Live: 3},
			Waitlist: &seatmap.WaitlistStats{Entries: 4, Lapsed: 1}}},
		{Show: &seatmap.ShowView{Config: cfg, Sections: []seatmap.SectionView{}}},
		{Seats: []seatmap.SeatEntry{{ID: "s0-1-1", State: seatmap.Held}, {ID: "s0-1-2", State: seatmap.Sold}}},
		{Seats: []seatmap.SeatEntry{}, Users: map[string]int{}},
		{Users: map[string]int{"u1": 2, "u\xfe": 1}},
		{Ticket: &seatmap.TicketView{ID: "t1", Show: "wire", User: "u", State: "admitted", Position: 3,
			EstimatedWaitSeconds: 4, PassExpiresAt: 5, ReturnsPossible: 6, JoinedAt: 7, OpensAt: 8}},
		{Created: true, Entry: &seatmap.WaitlistEntryView{ID: "w1", Show: "wire", User: "u", Quantity: 2, Together: true,
			Section: "s0", State: "offered", Position: 1, CreatedAt: 2, HoldID: "h9", Seats: []string{"s0-1-3"},
			General: map[string]int{"pit": 1}, OfferExpiresAt: 3, OrderID: "o9", Reason: "user"}},
		{ArchivedOrderID: "o7"},
	}
}

// TestWireRoundTrip: every command and result decodes, from the binary
// format, to exactly what was encoded (empty lists stay empty, absent ones
// absent), and the JSON format of the version before still decodes.
func TestWireRoundTrip(t *testing.T) {
	for _, c := range wireCommands() {
		m, err := encodeRequest(c)
		if err != nil {
			t.Fatal(err)
		}
		if m.Value[0] != facts.FormatV1 {
			t.Fatalf("command encoded with format byte 0x%02x", m.Value[0])
		}
		got, legacy, err := decodeRequest(m.Value)
		if err != nil || legacy || !reflect.DeepEqual(got, c) {
			t.Fatalf("command %s: got %+v legacy %v err %v, want %+v", c.Kind, got, legacy, err, c)
		}
		j, err := encodeRequestJSON(c)
		if err != nil {
			t.Fatal(err)
		}
		got, legacy, err = decodeRequest(j.Value)
		if !utf8.ValidString(c.User) { // JSON cannot carry it: one reason for the binary format
			got.User = c.User
		}
		if err != nil || !legacy || !reflect.DeepEqual(got, c) {
			t.Fatalf("JSON command %s: got %+v legacy %v err %v", c.Kind, got, legacy, err)
		}
	}
	for i, r := range wireResults() {
		got, legacy, err := decodeResult(encodeResult(r, false).Value)
		if err != nil || legacy || !reflect.DeepEqual(got, r) {
			t.Fatalf("result %d: got %+v legacy %v err %v, want %+v", i, got, legacy, err, r)
		}
		js := encodeResult(r, true).Value
		if !facts.IsLegacy(js) {
			t.Fatalf("result %d asked in JSON answered %q", i, js)
		}
		got, legacy, err = decodeResult(js)
		if err != nil || !legacy || seatmap.ErrorCode(got.Err) != seatmap.ErrorCode(r.Err) && r.Err != nil {
			t.Fatalf("JSON result %d: got %+v legacy %v err %v", i, got, legacy, err)
		}
	}
}

// TestWireRejectsUnknownFormat: a message of a format this version does not
// know is an error, not a guess.
func TestWireRejectsUnknownFormat(t *testing.T) {
	for _, b := range [][]byte{nil, {}, {0x02, 0x08, 0x01}, {0x00}} {
		if _, _, err := decodeRequest(b); err == nil {
			t.Fatalf("request %x decoded", b)
		}
		if _, _, err := decodeResult(b); err == nil {
			t.Fatalf("result %x decoded", b)
		}
	}
	if _, _, err := decodeRequest([]byte{0x02}); !errors.Is(err, errWireFormat) {
		t.Fatalf("format 0x02: %v", err)
	}
	big := append([]byte{facts.FormatV1}, 0x08, 0x80, 0x02) // kind 256
	if _, _, err := decodeRequest(big); err == nil {
		t.Fatal("kind 256 decoded")
	}
}

// remotePlacement resolves every identity to one PID and calls it remote,
// so that Booking takes the path of a show on another node (encoded
// messages), in process.
type remotePlacement struct{ pid *actor.PID }

func (f *remotePlacement) PID(string, string) (*actor.PID, error) { return f.pid, nil }
func (f *remotePlacement) Forget(string, string, *actor.PID)      {}
func (f *remotePlacement) Local(*actor.PID) bool                  { return false }

// TestWireRemoteCallsAnswerAsLocal: a show reached through encoded messages
// answers exactly what it answers in process.
func TestWireRemoteCallsAnswerAsLocal(t *testing.T) {
	ctx := context.Background()
	show := uniq("wire")
	env := &Env{Journal: NewMemJournal(), Log: testEnv.Log}
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	t.Cleanup(func() { _ = testNode.System.Root.StopFuture(pid).Wait() })
	local := NewBooking(&fixedPlacement{pid: pid}, testNode.System, env, BookingOptions{RequestTimeout: 10 * time.Second})
	remote := NewBooking(&remotePlacement{pid: pid}, testNode.System, env, BookingOptions{RequestTimeout: 10 * time.Second})
	if _, err := remote.CreateShow(ctx, smallShow(show, 20)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := remote.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u1", Seats: []string{"s0-1-1", "s0-1-2"}}); err != nil {
		t.Fatal(err)
	}
	_, _, err := remote.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u2", Seats: []string{"s0-1-2"}})
	if !errors.Is(err, seatmap.ErrSeatsUnavailable) || !reflect.DeepEqual(seatmap.TakenSeats(err), []string{"s0-1-2"}) {
		t.Fatalf("hold of a taken seat through the wire: %v (taken %v)", err, seatmap.TakenSeats(err))
	}
	for _, c := range []seatmap.Command{{Kind: seatmap.KindGetShow}, {Kind: seatmap.KindGetSeats},
		{Kind: seatmap.KindGetUsers}, {Kind: seatmap.KindGetHold, HoldID: "nope"}} {
		l, lerr := local.call(ctx, show, c)
		r, rerr := remote.call(ctx, show, c)
		if fmt.Sprint(lerr) != fmt.Sprint(rerr) || fmt.Sprint(l.Err) != fmt.Sprint(r.Err) {
			t.Fatalf("%s: local error %v, remote %v", c.Kind, lerr, rerr)
		}
		l.Err, r.Err = nil, nil
		if !reflect.DeepEqual(l, r) || seatmap.ErrorCode(lerr) != seatmap.ErrorCode(rerr) {
			t.Fatalf("%s: local %+v (%v), remote %+v (%v)", c.Kind, l, lerr, r, rerr)
		}
	}
}

// TestWireOldNode: a node of the version before reads only JSON; a binary
// command to it comes back as a JSON invalid_request (it decided nothing),
// and the caller asks again in JSON, and goes on in JSON with that node. A
// JSON command is answered in JSON.
func TestWireOldNode(t *testing.T) {
	ctx := context.Background()
	show := uniq("wire-old")
	env := &Env{Journal: NewMemJournal(), Log: testEnv.Log}
	pid := testNode.System.Root.Spawn(ShowProps(env, show))
	t.Cleanup(func() { _ = testNode.System.Root.StopFuture(pid).Wait() })
	var refused, passed atomic.Int64
	old := testNode.System.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		m, ok := c.Message().(*wrapperspb.BytesValue)
		if !ok {
			return
		}
		var w wireReq // what the version before did with every message
		if err := json.Unmarshal(m.Value, &w); err != nil {
			refused.Add(1)
			c.Respond(encodeResult(seatmap.Result{Err: &seatmap.Error{Err: seatmap.ErrInvalidRequest, Msg: err.Error()}}, true))
			return
		}
		passed.Add(1)
		c.Forward(pid)
	}))
	t.Cleanup(func() { _ = testNode.System.Root.StopFuture(old).Wait() })
	b := NewBooking(&remotePlacement{pid: old}, testNode.System, env, BookingOptions{RequestTimeout: 10 * time.Second})
	if _, err := b.CreateShow(ctx, smallShow(show, 20)); err != nil {
		t.Fatalf("create through an old node: %v", err)
	}
	created := passed.Load()
	for i := 1; i <= 3; i++ {
		if _, _, err := b.Hold(ctx, seatmap.HoldRequest{Show: show, User: "u", Seats: []string{"s0-1-" + string(rune('0'+i))}}); err != nil {
			t.Fatalf("hold %d through an old node: %v", i, err)
		}
	}
	if refused.Load() != 1 || passed.Load()-created != 3 {
		t.Fatalf("old node refused %d binary commands and passed %d JSON holds, want 1 and 3", refused.Load(), passed.Load()-created)
	}
	req, _ := encodeRequestJSON(seatmap.Command{Kind: seatmap.KindGetShow})
	out, err := testNode.System.Root.RequestFuture(pid, req, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	if v := out.(*wrapperspb.BytesValue).Value; !facts.IsLegacy(v) {
		t.Fatalf("a JSON command was answered in %q", v)
	}
}

// FuzzDecodeRequest: a message from another node (outside input) decodes
// or fails, never panics; what decodes encodes and decodes to the same.
func FuzzDecodeRequest(f *testing.F) {
	for _, c := range wireCommands() {
		m, _ := encodeRequest(c)
		f.Add(m.Value)
		j, _ := encodeRequestJSON(c)
		f.Add(j.Value)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, legacy, err := decodeRequest(b)
		if err != nil || legacy {
			return
		}
		m, err := encodeRequest(c)
		if err != nil {
			t.Fatalf("decoded command does not encode: %v", err)
		}
		again, _, err := decodeRequest(m.Value)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("re-decoded %+v (%v), want %+v", again, err, c)
		}
	})
}

// FuzzDecodeResult: an answer from another node decodes or fails, never
// panics; what decodes encodes and decodes to the same.
func FuzzDecodeResult(f *testing.F) {
	for _, r := range wireResults() {
		f.Add(encodeResult(r, false).Value)
		f.Add(encodeResult(r, true).Value)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, legacy, err := decodeResult(b)
		if err != nil || legacy {
			return
		}
		again, _, err := decodeResult(encodeResult(r, false).Value)
		if err != nil || seatmap.ErrorCode(again.Err) != seatmap.ErrorCode(r.Err) {
			t.Fatalf("re-decoded %+v (%v), want %+v", again, err, r)
		}
		again.Err, r.Err = nil, nil
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("re-decoded %+v, want %+v", again, r)
		}
	})
}
