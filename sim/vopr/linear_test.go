package vopr

import (
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// op builds one operation of a hand-made history: [call, ret] (ret < 0:
// never answered).
func op(client int, call, ret int64, in linIn, out linOut) porcupine.Operation {
	if in.key == "" {
		in.key = "h:s~h1"
	}
	if in.clockHi == 0 {
		in.clockHi = ret
	}
	if ret < 0 {
		ret, out.pending, in.clockHi = linPendingAt, true, linPendingAt
	}
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

var (
	held     = linOut{holdID: "s~h1", seats: "a-1-1", expiresAt: 1000}
	ordered  = linOut{order: "s~o1", status: seatmap.StatusPendingPayment, dueAt: 2000}
	paying   = linOut{order: "s~o1", status: seatmap.StatusPaymentProcessing, attempt: "p1"}
	paid     = linOut{order: "s~o1", status: seatmap.StatusPaid, attempt: "p1"}
	notFound = linOut{errCode: seatmap.ErrorCode(seatmap.ErrHoldNotFound)}
	invalid  = linOut{errCode: seatmap.ErrorCode(seatmap.ErrInvalidState)}
	hold1    = linIn{kind: linHold, holdID: "s~h1", expLo: 1000}
	getHold  = linIn{kind: linGetHold}
	release  = linIn{kind: linRelease}
	order1   = linIn{kind: linOrder, orderID: "s~o1", dueLo: 2000}
	pay1     = linIn{kind: linPay, attempt: "p1"}
	cancel   = linIn{kind: linCancel}
	getOrder = linIn{kind: linGetOrder}
	seat     = linIn{kind: linSeat, key: "s:s/a-1-1"}
	counter  = linIn{kind: linCounter, key: "c:s/a"}
)

// TestLinearModel feeds hand-made histories to the model: the ones a
// correct show can produce pass, stale and lost reads fail.
func TestLinearModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
		ops  []porcupine.Operation
	}{
		{"hold, read, release, read gone", true, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(1, 3, 4, getHold, held), op(0, 5, 6, release, linOut{ok: true}),
			op(1, 7, 8, getHold, notFound)}},
		{"a read after an acknowledged release sees the hold (stale)", false, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 5, 6, release, linOut{ok: true}), op(1, 7, 8, getHold, held)}},
		{"a read concurrent with the release may see either", true, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 5, 9, release, linOut{ok: true}), op(1, 6, 7, getHold, held),
			op(2, 6, 8, getHold, notFound)}},
		{"a hold gone before its expiry, then back (a lost write read)", false, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(1, 3, 4, getHold, notFound), op(1, 5, 6, getHold, held)}},
		{"a hold expires once a clock passed its expiry", true, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(1, 3, 1500, getHold, notFound)}},
		{"an unanswered create may take effect later", true, []porcupine.Operation{
			op(0, 1, -1, hold1, linOut{}), op(1, 3, 4, getHold, notFound), op(1, 5, 6, getHold, held)}},
		{"an unanswered create seen, then lost before its expiry", false, []porcupine.Operation{
			op(0, 1, -1, hold1, linOut{}), op(1, 3, 4, getHold, held), op(1, 5, 6, getHold, notFound)}},
		{"order, pay, paid by the gateway, read", true, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 3, 4, order1, ordered), op(0, 5, 6, pay1, paying),
			op(1, 7, 8, getOrder, paid), op(0, 9, 10, cancel, invalid)}},
		{"a read of the order before its pay was acknowledged... after it", false, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 3, 4, order1, ordered), op(0, 5, 6, pay1, paying),
			op(1, 7, 8, getOrder, ordered)}},
		{"paid, then pending again", false, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 3, 4, order1, ordered), op(0, 5, 6, pay1, paying),
			op(1, 7, 8, getOrder, paid), op(1, 9, 10, getOrder, paying)}},
		{"an unanswered cancel takes effect between two reads", true, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 3, 4, order1, ordered), op(0, 5, -1, cancel, linOut{}),
			op(1, 7, 8, getOrder, ordered), op(1, 9, 10, getOrder, linOut{order: "s~o1", status: seatmap.StatusCancelled})}},
		{"an unanswered pay nobody saw explains a refused cancel", true, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 3, 4, order1, ordered), op(0, 5, -1, linIn{kind: linPay, attempt: "p9"}, linOut{}),
			op(0, 7, 8, cancel, invalid)}},
		{"a refused cancel of a pending order", false, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 3, 4, order1, ordered), op(0, 7, 8, cancel, invalid)}},
		{"the expired order of an unanswered order create", true, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 3, -1, order1, linOut{}),
			op(1, 5, 2500, getOrder, linOut{order: "s~o1", status: seatmap.StatusExpired})}},
		{"an order expired before its due time", false, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 3, 4, order1, ordered),
			op(1, 5, 1900, getOrder, linOut{order: "s~o1", status: seatmap.StatusExpired})}},
		{"a converted hold read as live", false, []porcupine.Operation{
			op(0, 1, 2, hold1, held), op(0, 3, 4, order1, ordered), op(1, 5, 6, getHold, held)}},
		{"a seat sold, then seen free", false, []porcupine.Operation{
			op(0, 1, 2, seat, linOut{sold: 1}), op(1, 3, 4, seat, linOut{})}},
		{"a sold counter going down", false, []porcupine.Operation{
			op(0, 1, 2, counter, linOut{sold: 5}), op(1, 3, 4, counter, linOut{sold: 4})}},
		{"concurrent counter reads in either order", true, []porcupine.Operation{
			op(0, 1, 4, counter, linOut{sold: 5}), op(1, 2, 3, counter, linOut{sold: 4})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkLinear(tc.ops, "test", t.TempDir())
			if (err == nil) != tc.ok {
				t.Fatalf("linearizable = %v, want %v: %v", err == nil, tc.ok, err)
			}
			if err != nil && !strings.Contains(err.Error(), "visualization: ") {
				t.Errorf("no visualization in %v", err)
			}
		})
	}
}
