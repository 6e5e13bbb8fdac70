package actors

import (
	"encoding/json"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// request is a command for a shard actor from the same process: no encoding.
// The answer goes to reply (buffered, capacity 1) when set, else to the sender.
type request struct {
	cmd   seatmap.Command
	reply chan seatmap.Result
}

// requestBatch carries many commands from one in-process caller in one
// message: they are applied in order in one turn, journaled in one batch, and
// answered together on reply once synced.
type requestBatch struct {
	cmds  []seatmap.Command
	reply chan []seatmap.Result
}

// response answers a request from the same process that came without a
// reply channel (sent by another actor, which gets it in its mailbox).
type response struct {
	res seatmap.Result
}

// flush ends a mailbox turn (sent by the actor to itself).
type flush struct{}

// tick is the core's deadline timer firing.
type tick struct{ at int64 }

// Across nodes a command travels as a wrapperspb.BytesValue holding wireReq
// JSON, and its answer as a BytesValue holding wireResp JSON: protoactor's
// remote needs proto messages, and this keeps the project free of generated code.
type wireReq struct {
	Cmd seatmap.Command `json:"cmd"`
}

type wireResp struct {
	Code    string                     `json:"code,omitempty"`
	Msg     string                     `json:"msg,omitempty"`
	Taken   []string                   `json:"taken,omitempty"`
	Hold    *seatmap.HoldView          `json:"hold,omitempty"`
	Order   *seatmap.OrderView         `json:"order,omitempty"`
	Show    *seatmap.ShowView          `json:"show,omitempty"`
	Ticket  *seatmap.TicketView        `json:"ticket,omitempty"`
	Entry   *seatmap.WaitlistEntryView `json:"entry,omitempty"`
	Seats   []seatmap.SeatEntry        `json:"seats,omitempty"`
	Users   map[string]int             `json:"users,omitempty"`
	Created bool                       `json:"created,omitempty"`
}

func encodeRequest(cmd seatmap.Command) (*wrapperspb.BytesValue, error) {
	b, err := json.Marshal(wireReq{Cmd: cmd})
	if err != nil {
		return nil, err
	}
	return wrapperspb.Bytes(b), nil
}

func decodeRequest(b []byte) (seatmap.Command, error) {
	var w wireReq
	err := json.Unmarshal(b, &w)
	return w.Cmd, err
}

func encodeResult(r seatmap.Result) *wrapperspb.BytesValue {
	w := wireResp{Hold: r.Hold, Order: r.Order, Show: r.Show, Seats: r.Seats, Users: r.Users, Created: r.Created,
		Ticket: r.Ticket, Entry: r.Entry}
	if r.Err != nil {
		w.Code, w.Msg, w.Taken = seatmap.ErrorCode(r.Err), seatmap.ErrorMessage(r.Err), seatmap.TakenSeats(r.Err)
	}
	b, _ := json.Marshal(w)
	return wrapperspb.Bytes(b)
}

func decodeResult(b []byte) (seatmap.Result, error) {
	var w wireResp
	if err := json.Unmarshal(b, &w); err != nil {
		return seatmap.Result{}, err
	}
	return seatmap.Result{Err: seatmap.FromCode(w.Code, w.Msg, w.Taken), Hold: w.Hold, Order: w.Order,
		Show: w.Show, Seats: w.Seats, Users: w.Users, Created: w.Created, Ticket: w.Ticket, Entry: w.Entry}, nil
}
