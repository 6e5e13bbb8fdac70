package vopr

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Linearizability of what clients saw (issue 10: "the reads of one show
// form a linearizable history"). Every client operation is recorded with
// its invocation and response in simulated time; at the end of a seed the
// history is checked with porcupine against linModel, a sequential
// specification of a show as clients see it, partitioned:
//
//   - "h:<hold id>": one hold and the order made of it (create, read,
//     release, extend of the hold; create, pay, cancel, read of the order);
//   - "s:<seat id>": one seat as GET seats shows it (sold, or not);
//   - "c:<show>/<section>": a section's sold counter as GET show shows it.
//
// An operation without an answer (a timeout, a lost connection, a 503) has
// an unknown outcome: it is recorded as pending (its response at the end of
// time), so it may take effect at any point after its invocation, or never
// (a write is applied or not, a read is dropped). A request the network
// duplicated is one more pending operation. What happens inside the system
// without a client's command is a nondeterministic step of the model taken
// between operations: a hold expires once some node's clock may have reached
// its expiry, a payment in flight succeeds or fails, an order expires once a
// clock may have reached its due time, and the hold of a finished order is
// forgotten (archived).

// linKind is the kind of a recorded operation.
type linKind uint8

const (
	linHold linKind = iota
	linGetHold
	linRelease
	linExtend
	linOrder
	linPay
	linCancel
	linGetOrder
	linSeat    // GET seats, one seat
	linCounter // GET show, one section's sold counter
)

var linKindNames = [...]string{"hold", "get-hold", "release", "extend", "order", "pay", "cancel", "get-order", "seat", "sold"}

// linIn is an operation's input.
type linIn struct {
	kind    linKind
	key     string // the partition
	holdID  string // the command's hold id (a create's own id)
	orderID string // the command's order id (a create's own id)
	attempt string
	// clockHi bounds every node's seat-map clock (ms) at the response:
	// what may have expired before the operation took effect
	clockHi int64
	// expLo bounds the expiry (ms) an unanswered create or extend may set;
	// dueLo the due time of an unanswered order create
	expLo, dueLo int64
	client       int
	// anonPay: a pay whose answer never came and whose attempt no answer
	// ever named was sent before this operation's response (simplify):
	// the order may have started a payment nobody saw
	anonPay bool
}

// linOut is an operation's output.
type linOut struct {
	pending bool   // unknown outcome
	errCode string // the command was refused ("" : it succeeded)
	ok      bool   // a success without a view (release)
	// a hold view
	holdID, seats, holdOrder string
	expiresAt                int64
	// an order view
	order, status, attempt string
	dueAt                  int64
	// seat and counter reads
	sold int
}

// hold states of a linState
const (
	hAbsent    = iota // never created (as far as linearized)
	hLive             // live
	hConverted        // converted into the state's order
	hGone             // released, expired, or forgotten after its order finished
)

var holdNames = [...]string{"absent", "live", "converted", "gone"}

// linState is the state of one partition. It is comparable (==).
type linState struct {
	hold     uint8
	seats    string // "?" while unknown (its create had no answer)
	expLo    int64  // it may expire once a clock reaches this
	order    string
	status   string
	attempt  string
	attempts string // ",a,b,": every attempt started
	nAttempt int
	dueAt    int64
	sold     int // seat: 1 when sold; counter: the least sold count
}

func (s linState) String() string {
	if s.hold == hAbsent && s.order == "" {
		if s.sold > 0 {
			return fmt.Sprintf("sold>=%d", s.sold)
		}
		return "absent"
	}
	str := fmt.Sprintf("hold %s seats=%s expires>=%d", holdNames[s.hold], s.seats, s.expLo)
	if s.order != "" {
		str += fmt.Sprintf("; order %s %s attempt=%q attempts=%d due=%d", short(s.order), s.status, s.attempt, s.nAttempt, s.dueAt)
	}
	return str
}

func terminalStatus(st string) bool {
	return st == seatmap.StatusPaid || st == seatmap.StatusCancelled || st == seatmap.StatusExpired
}

// closure is every state s may reach without a client's command before an
// operation whose response came when no clock was past clockHi.
func (s linState) closure(clockHi int64, anonPay bool) []linState {
	out := []linState{s}
	for i := 0; i < len(out); i++ {
		x := out[i]
		var next []linState
		if x.hold == hLive && clockHi >= x.expLo { // the hold expires
			y := x
			y.hold = hGone
			next = append(next, y)
		}
		if x.status == seatmap.StatusPaymentProcessing { // the gateway answers
			y := x
			y.status = seatmap.StatusPaid
			z := x
			z.status = seatmap.StatusPendingPayment
			next = append(next, y, z)
		}
		if (x.status == seatmap.StatusPendingPayment || x.status == seatmap.StatusPaymentProcessing) && clockHi >= x.dueAt {
			y := x
			y.status = seatmap.StatusExpired
			next = append(next, y)
		}
		if x.status == seatmap.StatusPendingPayment && anonPay { // a payment nobody saw started
			y := x
			y.status, y.attempt = seatmap.StatusPaymentProcessing, "?"
			next = append(next, y)
		}
		if x.hold == hConverted && terminalStatus(x.status) { // archived: its hold is forgotten
			y := x
			y.hold = hGone
			next = append(next, y)
		}
		for _, y := range next {
			seen := false
			for _, z := range out {
				if z == y {
					seen = true
					break
				}
			}
			if !seen {
				out = append(out, y)
			}
		}
	}
	return out
}

// linStep is the sequential specification: the states s may be in after
// the operation, none when the output is impossible from s.
func linStep(s linState, in linIn, out linOut) []linState {
	var res []linState
	for _, x := range s.closure(in.clockHi, in.anonPay) {
		res = append(res, linApply(x, in, out)...)
	}
	return res
}

func one(x linState) []linState { return []linState{x} }

func when(ok bool, x linState) []linState {
	if ok {
		return one(x)
	}
	return nil
}

// matchHold: a view of the hold (live, or converted into an order) agrees
// with x; the state after it (its seats learnt).
func matchHold(x linState, out linOut) []linState {
	if x.seats != "?" && x.seats != out.seats {
		return nil
	}
	x.seats = out.seats
	if out.holdOrder == "" {
		return when(x.hold == hLive, x)
	}
	return when(x.hold == hConverted && x.order == out.holdOrder, x)
}

func matchOrder(x linState, out linOut) []linState {
	return when(x.order == out.order && x.status == out.status && x.attempt == out.attempt, x)
}

// holdMissing: an answer that the hold does not exist or expired.
func holdMissing(x linState) bool { return x.hold == hAbsent || x.hold == hGone }

func linApply(x linState, in linIn, out linOut) []linState {
	switch in.kind {
	case linHold:
		switch {
		case out.pending:
			if x.hold == hAbsent && "h:"+in.holdID == in.key {
				y := x
				y.hold, y.seats, y.expLo = hLive, "?", in.expLo
				return []linState{x, y}
			}
			return one(x)
		case out.errCode != "":
			return one(x)
		case x.hold == hAbsent:
			if out.holdID != in.holdID || out.holdOrder != "" { // only its own id is new
				return nil
			}
			x.hold, x.seats, x.expLo = hLive, out.seats, out.expiresAt
			return one(x)
		}
		return matchHold(x, out)
	case linGetHold:
		switch {
		case out.errCode == "":
			return matchHold(x, out)
		case out.errCode == errCode(seatmap.ErrHoldNotFound), out.errCode == errCode(seatmap.ErrHoldExpired):
			return when(holdMissing(x), x)
		}
		return one(x)
	case linRelease, linExtend:
		y := x
		y.hold = hGone
		if in.kind == linExtend {
			y.hold, y.expLo = hLive, in.expLo
		}
		switch {
		case out.pending:
			if x.hold == hLive {
				return []linState{x, y}
			}
			return one(x)
		case out.errCode == "" && in.kind == linRelease:
			return when(x.hold == hLive, y)
		case out.errCode == "":
			if r := matchHold(x, out); len(r) > 0 {
				r[0].expLo = out.expiresAt
				return r
			}
			return nil
		case out.errCode == errCode(seatmap.ErrHoldNotFound), out.errCode == errCode(seatmap.ErrHoldExpired):
			return when(holdMissing(x), x)
		case out.errCode == errCode(seatmap.ErrInvalidState):
			return when(x.hold == hConverted, x)
		}
		return one(x)
	case linOrder:
		conv := x
		conv.hold, conv.order, conv.status, conv.attempt, conv.dueAt = hConverted, in.orderID, seatmap.StatusPendingPayment, "", in.dueLo
		switch {
		case out.pending:
			if x.hold == hLive {
				return []linState{x, conv}
			}
			return one(x)
		case out.errCode == errCode(seatmap.ErrHoldNotFound), out.errCode == errCode(seatmap.ErrHoldExpired):
			return when(holdMissing(x), x)
		case out.errCode != "":
			return one(x)
		case x.hold == hLive && out.order == in.orderID:
			conv.dueAt = out.dueAt
			return matchOrder(conv, out)
		}
		return matchOrder(x, out) // a retry: the order as it is
	case linPay:
		switch {
		case out.errCode == errCode(seatmap.ErrOrderNotFound):
			return when(x.order == "" || terminalStatus(x.status), x)
		case out.errCode == errCode(seatmap.ErrInvalidState):
			return when(x.order != "" && (x.status != seatmap.StatusPendingPayment || x.nAttempt >= seatmap.MaxPayAttempts || in.anonPay), x)
		case out.errCode != "":
			return one(x)
		}
		if x.order != "" && strings.Contains(x.attempts, ","+in.attempt+",") { // the same attempt again
			if out.pending {
				return one(x)
			}
			return matchOrder(x, out)
		}
		y := x
		y.status, y.attempt, y.nAttempt = seatmap.StatusPaymentProcessing, in.attempt, x.nAttempt+1
		y.attempts = x.attempts + in.attempt + ","
		if y.nAttempt == 1 {
			y.attempts = "," + y.attempts
		}
		started := x.order != "" && x.status == seatmap.StatusPendingPayment && x.nAttempt < seatmap.MaxPayAttempts
		if out.pending {
			if started {
				return []linState{x, y}
			}
			return one(x)
		}
		if !started {
			return nil
		}
		return matchOrder(y, out)
	case linCancel:
		y := x
		y.status = seatmap.StatusCancelled
		cancellable := x.order != "" && (x.status == seatmap.StatusPendingPayment || x.status == seatmap.StatusCancelled)
		switch {
		case out.pending:
			if cancellable {
				return []linState{x, y}
			}
			return one(x)
		case out.errCode == errCode(seatmap.ErrOrderNotFound):
			return when(x.order == "" || terminalStatus(x.status), x)
		case out.errCode == errCode(seatmap.ErrInvalidState):
			return when(x.order != "" && !cancellable, x)
		case out.errCode != "":
			return one(x)
		}
		if !cancellable {
			return nil
		}
		return matchOrder(y, out)
	case linGetOrder:
		switch {
		case out.errCode == errCode(seatmap.ErrOrderNotFound):
			return when(x.order == "", x)
		case out.errCode != "":
			return one(x)
		}
		return matchOrder(x, out)
	case linSeat:
		if out.sold == 1 {
			x.sold = 1
			return one(x)
		}
		return when(x.sold == 0, x)
	case linCounter:
		if out.sold < x.sold {
			return nil
		}
		x.sold = out.sold
		return one(x)
	}
	return nil
}

func errCode(err error) string { return seatmap.ErrorCode(err) }

var linModel = porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(linIn).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() []any { return []any{linState{}} },
	Step: func(state, input, output any) []any {
		next := linStep(state.(linState), input.(linIn), output.(linOut))
		res := make([]any, len(next))
		for i, s := range next {
			res[i] = s
		}
		return res
	},
	Equal: func(a, b any) bool { return a.(linState) == b.(linState) },
	DescribeOperation: func(input, output any) string {
		return describeLinOp(input.(linIn), output.(linOut))
	},
	DescribeState: func(state any) string { return state.(linState).String() },
}

func describeLinOp(in linIn, out linOut) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", linKindNames[in.kind], in.key)
	switch in.kind {
	case linHold:
		fmt.Fprintf(&b, " (id %s)", short(in.holdID))
	case linOrder:
		fmt.Fprintf(&b, " (order %s)", short(in.orderID))
	case linPay:
		fmt.Fprintf(&b, " attempt=%s", in.attempt)
	}
	b.WriteString(" -> ")
	switch {
	case out.pending:
		b.WriteString("no answer")
	case out.errCode != "":
		b.WriteString(out.errCode)
	case out.holdID != "":
		fmt.Fprintf(&b, "hold %s seats=%s order=%s expires=%d", short(out.holdID), out.seats, short(out.holdOrder), out.expiresAt)
	case out.order != "":
		fmt.Fprintf(&b, "order %s %s attempt=%q", short(out.order), out.status, out.attempt)
	case in.kind == linSeat || in.kind == linCounter:
		fmt.Fprintf(&b, "sold=%d", out.sold)
	default:
		b.WriteString("ok")
	}
	if !out.pending {
		fmt.Fprintf(&b, " [clocks <= %d]", in.clockHi)
	}
	return b.String()
}

// linRecorder is the history of one run.
type linRecorder struct {
	w   *world
	ops []porcupine.Operation
}

// linPendingAt is the response time of an operation without an answer.
const linPendingAt = math.MaxInt64

// linRecord is an operation in flight.
type linRecord struct {
	in   linIn
	call int64
	dups []int64 // calls of copies the network delivered
}

// begin records the invocation of cmd by client c (nil: not recorded).
func (r *linRecorder) begin(c *client, show string, cmd seatmap.Command) *linRecord {
	w := r.w
	if w.showByID(show) == nil { // an unknown show (unknown.go)
		return nil
	}
	in := linIn{holdID: cmd.HoldID, orderID: cmd.OrderID, attempt: cmd.Attempt, client: c.id, key: "h:" + cmd.HoldID}
	switch cmd.Kind {
	case seatmap.KindHold:
		in.kind = linHold
		in.expLo = w.nowMs() + int64(w.showByID(idShow(cmd.HoldID)).cfg.HoldTTLSeconds)*1000
	case seatmap.KindGetHold:
		in.kind = linGetHold
	case seatmap.KindRelease:
		in.kind = linRelease
	case seatmap.KindExtend:
		in.kind, in.expLo = linExtend, w.nowMs()+int64(cmd.Seconds)*1000
	case seatmap.KindOrder:
		in.kind = linOrder
		in.dueLo = w.nowMs() + int64(w.showByID(idShow(cmd.HoldID)).cfg.PaymentTTLSeconds)*1000
	case seatmap.KindPay, seatmap.KindCancel, seatmap.KindGetOrder:
		in.kind = map[seatmap.Kind]linKind{seatmap.KindPay: linPay, seatmap.KindCancel: linCancel, seatmap.KindGetOrder: linGetOrder}[cmd.Kind]
		f := w.model.orders[cmd.OrderID]
		if f == nil {
			return nil // an order no client knows the hold of
		}
		in.key = "h:" + f.holdID
	case seatmap.KindGetSeats, seatmap.KindGetShow:
		in.kind = linSeat
		if cmd.Kind == seatmap.KindGetShow {
			in.kind = linCounter
		}
	default:
		return nil
	}
	return &linRecord{in: in, call: w.s.now}
}

// duplicate records a copy of the request the network delivered twice: an
// operation whose answer nobody waits for.
func (r *linRecorder) duplicate(rec *linRecord) {
	if rec == nil || rec.in.kind == linSeat || rec.in.kind == linCounter || rec.in.kind == linGetHold || rec.in.kind == linGetOrder {
		return
	}
	rec.dups = append(rec.dups, r.w.s.now)
}

// end records the response.
func (r *linRecorder) end(rec *linRecord, show string, res seatmap.Result, err error) {
	if rec == nil {
		return
	}
	w := r.w
	in, out := rec.in, linOut{}
	ret := w.s.now
	in.clockHi = w.maxClockMs()
	read := in.kind == linGetHold || in.kind == linGetOrder || in.kind == linSeat || in.kind == linCounter
	switch {
	case err != nil && isUnavailable(err):
		if read {
			return // a read without an answer changes nothing
		}
		out.pending, ret, in.clockHi = true, linPendingAt, math.MaxInt64
	case err != nil:
		out.errCode = errCode(err)
		if out.errCode == "internal" {
			out.errCode = err.Error()
		}
	case res.Hold != nil:
		h := res.Hold
		out.holdID, out.seats, out.holdOrder, out.expiresAt = h.ID, seatsKey(h.Seats, h.General), h.OrderID, h.ExpiresAt
		if in.kind == linHold {
			in.key = "h:" + h.ID
		}
	case res.Order != nil:
		o := res.Order
		out.order, out.status, out.attempt, out.dueAt = o.ID, o.Status, o.Attempt, o.PaymentDueAt
	case in.kind == linSeat:
		for _, e := range res.Seats {
			in.key = "s:" + show + "/" + e.ID
			o := linOut{}
			if e.State == seatmap.Sold {
				o.sold = 1
			}
			r.add(in, o, rec.call, ret)
		}
		return
	case in.kind == linCounter:
		if res.Show == nil {
			return
		}
		for _, s := range res.Show.Sections {
			in.key = "c:" + show + "/" + s.ID
			r.add(in, linOut{sold: s.Sold}, rec.call, ret)
		}
		return
	default:
		out.ok = true
	}
	r.add(in, out, rec.call, ret)
	if !out.pending { // (the copy of an unanswered one is the same unknown)
		in.clockHi = math.MaxInt64
		for _, call := range rec.dups {
			r.add(in, linOut{pending: true}, call, linPendingAt)
		}
	}
}

func (r *linRecorder) add(in linIn, out linOut, call, ret int64) {
	r.ops = append(r.ops, porcupine.Operation{ClientId: in.client, Input: in, Call: call, Output: out, Return: ret})
}

func seatsKey(seats []string, general map[string]int) string {
	s := strings.Join(seats, ",")
	if len(general) > 0 {
		keys := make([]string, 0, len(general))
		for k := range general {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s += fmt.Sprintf(";%s=%d", k, general[k])
		}
	}
	return s
}

// linTimeout bounds porcupine's search (a history it cannot decide in time
// is reported, not failed).
const linTimeout = 5 * time.Second

// errNotLinearizable: the clients' history has no linearization.
var errNotLinearizable = errors.New("the history is not linearizable")

// checkLinear checks a history; on a failure it writes porcupine's
// visualization to a temporary file and explains the partition that failed.
func checkLinear(ops []porcupine.Operation, label, dir string) (string, error) {
	model := linModel.ToModel()
	ops = simplify(ops)
	res, info := porcupine.CheckOperationsVerbose(model, ops, linTimeout)
	switch res {
	case porcupine.Ok:
		return "", nil
	case porcupine.Unknown:
		return fmt.Sprintf("linearizability of %d operations NOT DECIDED in %v", len(ops), linTimeout), nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v: no order of the operations below (one partition, by call time, [call .. answer] in simulated time) explains every answer; the last one listed is the first that cannot be explained; [clocks <= N]: no node's seat-map clock was past N ms at the answer (what may have expired)\n", errNotLinearizable)
	for _, part := range model.Partition(ops) {
		if porcupine.CheckOperations(model, part) {
			continue
		}
		explainPartition(&b, part)
		break
	}
	f, err := os.CreateTemp(dir, "vopr-"+label+"-*.html")
	if err == nil {
		f.Close()
		if verr := porcupine.VisualizePath(model, info, f.Name()); verr == nil {
			fmt.Fprintf(&b, "visualization: %s\n", f.Name())
		}
	}
	return "", errors.New(b.String())
}

// explainLines is how many operations a failure lists.
const explainLines = 30

// explainPartition lists the operations of a failing partition in call
// order, up to the shortest prefix (by call) that no order explains: the
// last one listed is the answer that cannot be.
func explainPartition(b *strings.Builder, part []porcupine.Operation) {
	ops := append([]porcupine.Operation(nil), part...)
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	model := linModel.ToModel()
	lo, hi := 1, len(ops) // the shortest failing prefix is in (lo-1, hi]
	for lo < hi {
		mid := (lo + hi) / 2
		if porcupine.CheckOperations(model, ops[:mid]) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if !porcupine.CheckOperations(model, ops[:hi]) {
		ops = ops[:hi]
	}
	if n := len(ops) - explainLines; n > 0 {
		fmt.Fprintf(b, "  (%d earlier operations of %s)\n", n, ops[0].Input.(linIn).key)
		ops = ops[n:]
	}
	for _, op := range ops {
		ret := "never"
		if op.Return != linPendingAt {
			ret = fmtTime(op.Return)
		}
		fmt.Fprintf(b, "  u%d [%s .. %s] %s\n", op.ClientId, fmtTime(op.Call), ret, describeLinOp(op.Input.(linIn), op.Output.(linOut)))
	}
}

// simplify makes a history cheaper to check without making it stricter
// (every linearization of the original has one here):
//
//   - an unanswered pay whose attempt no answer names is dropped; every
//     operation of its partition that returned after it was sent gets
//     anonPay, which lets the model start a payment nobody saw at any time
//     (as often as it likes, which is more than the dropped pays could);
//   - a seat or counter partition whose reads all saw nothing sold is
//     dropped (it is linearizable whatever its order);
//   - of unanswered releases, cancels and extends of one partition only the
//     first sent is kept (they have one effect, and the first may take it
//     whenever a later one could); the extend kept carries the least expiry.
//
// Without it a few dozen unanswered pays make porcupine's search
// exponential.
func simplify(ops []porcupine.Operation) []porcupine.Operation {
	named := map[string]bool{} // partition/attempt named by an answer
	sold := map[string]bool{}  // seat and counter partitions where a read saw a sale
	for _, op := range ops {
		in, out := op.Input.(linIn), op.Output.(linOut)
		if out.attempt != "" {
			named[in.key+"/"+out.attempt] = true
		}
		if out.sold > 0 {
			sold[in.key] = true
		}
	}
	anonSince := map[string]int64{}
	type firstKey struct {
		key  string
		kind linKind
	}
	first := map[firstKey]int{}
	out := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		in, o := op.Input.(linIn), op.Output.(linOut)
		if (in.kind == linSeat || in.kind == linCounter) && !sold[in.key] {
			continue // every read saw nothing sold: nothing to check
		}
		if !o.pending {
			out = append(out, op)
			continue
		}
		switch in.kind {
		case linPay:
			if !named[in.key+"/"+in.attempt] {
				if t, ok := anonSince[in.key]; !ok || op.Call < t {
					anonSince[in.key] = op.Call
				}
				continue
			}
		case linRelease, linCancel, linExtend:
			k := firstKey{in.key, in.kind}
			if i, ok := first[k]; ok {
				kept := out[i].Input.(linIn)
				kept.expLo = min(kept.expLo, in.expLo)
				if op.Call < out[i].Call {
					out[i].Call = op.Call
				}
				out[i].Input = kept
				continue
			}
			first[k] = len(out)
		}
		out = append(out, op)
	}
	for i, op := range out {
		in := op.Input.(linIn)
		if t, ok := anonSince[in.key]; ok && op.Return >= t {
			in.anonPay = true
			out[i].Input = in
		}
	}
	return out
}
