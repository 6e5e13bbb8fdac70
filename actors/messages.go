package actors

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
	"github.com/boxoffice/boxoffice/facts/factspb"
	"google.golang.org/protobuf/proto"
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

// Across nodes a command travels as a wrapperspb.BytesValue (protoactor's
// remote needs proto messages) holding one format byte, facts.FormatV1,
// followed by a factspb.ShowCommand (facts/wire.proto); its answer likewise
// holds a factspb.ShowResult. The version before sent the JSON of wireReq
// and wireResp instead (first byte '{'): a node reads both, answers in the
// format it was asked in, and a caller whose binary command came back as a
// JSON invalid_request (an old node that could not read it, and so decided
// nothing) sends it again as JSON. See callRemote in booking.go.

// errWireFormat: a message from another node starts with a format byte this
// version does not know.
var errWireFormat = errors.New("actors: unknown message format")

// wireMaxKind bounds the kinds a ShowCommand may carry (seatmap.Kind is a byte).
const wireMaxKind = 1<<8 - 1

// wireReq and wireResp are the JSON messages of the version before the
// binary format (still read, and written to callers that sent JSON).
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

// encodeRequest encodes cmd for another node (binary format).
func encodeRequest(cmd seatmap.Command) (*wrapperspb.BytesValue, error) {
	b, err := marshalWire(commandToWire(cmd))
	if err != nil {
		return nil, err
	}
	return wrapperspb.Bytes(b), nil
}

// encodeRequestJSON encodes cmd in the format of the version before.
func encodeRequestJSON(cmd seatmap.Command) (*wrapperspb.BytesValue, error) {
	b, err := json.Marshal(wireReq{Cmd: cmd})
	if err != nil {
		return nil, err
	}
	return wrapperspb.Bytes(b), nil
}

// decodeRequest decodes a command from another node, in either format;
// legacy reports the JSON format.
func decodeRequest(b []byte) (cmd seatmap.Command, legacy bool, err error) {
	if facts.IsLegacy(b) {
		var w wireReq
		err := json.Unmarshal(b, &w)
		w.Cmd.Room = nil // decided by the show, never taken from a caller
		return w.Cmd, true, err
	}
	var m factspb.ShowCommand
	if err := unmarshalWire(b, &m); err != nil {
		return seatmap.Command{}, false, err
	}
	cmd, err = commandFromWire(&m)
	return cmd, false, err
}

// encodeResult encodes r for the node that asked, in the format it asked in.
func encodeResult(r seatmap.Result, legacy bool) *wrapperspb.BytesValue {
	if legacy {
		w := wireResp{Hold: r.Hold, Order: r.Order, Show: r.Show, Seats: r.Seats, Users: r.Users, Created: r.Created,
			Ticket: r.Ticket, Entry: r.Entry}
		if r.Err != nil {
			w.Code, w.Msg, w.Taken = seatmap.ErrorCode(r.Err), seatmap.ErrorMessage(r.Err), seatmap.TakenSeats(r.Err)
		}
		b, _ := json.Marshal(w)
		return wrapperspb.Bytes(b)
	}
	b, err := marshalWire(resultToWire(r))
	if err != nil { // a result always marshals (bytes fields, no UTF-8 checks); keep the caller answered
		b, _ = marshalWire(&factspb.ShowResult{Code: []byte("internal"), Msg: []byte(err.Error())})
	}
	return wrapperspb.Bytes(b)
}

// decodeResult decodes an answer from another node, in either format;
// legacy reports the JSON format.
func decodeResult(b []byte) (res seatmap.Result, legacy bool, err error) {
	if facts.IsLegacy(b) {
		var w wireResp
		if err := json.Unmarshal(b, &w); err != nil {
			return seatmap.Result{}, true, err
		}
		return seatmap.Result{Err: seatmap.FromCode(w.Code, w.Msg, w.Taken), Hold: w.Hold, Order: w.Order,
			Show: w.Show, Seats: w.Seats, Users: w.Users, Created: w.Created, Ticket: w.Ticket, Entry: w.Entry}, true, nil
	}
	var m factspb.ShowResult
	if err := unmarshalWire(b, &m); err != nil {
		return seatmap.Result{}, false, err
	}
	res, err = resultFromWire(&m)
	return res, false, err
}

func marshalWire(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{}.MarshalAppend([]byte{facts.FormatV1}, m)
}

func unmarshalWire(b []byte, m proto.Message) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty message", errWireFormat)
	}
	if b[0] != facts.FormatV1 {
		return fmt.Errorf("%w: first byte 0x%02x", errWireFormat, b[0])
	}
	return proto.Unmarshal(b[1:], m)
}

func commandToWire(c seatmap.Command) *factspb.ShowCommand {
	m := &factspb.ShowCommand{Kind: uint32(c.Kind), Now: c.Now, User: []byte(c.User), HoldId: []byte(c.HoldID),
		OrderId: []byte(c.OrderID), Seats: toBytesList(c.Seats), Section: []byte(c.Section), Tier: []byte(c.Tier),
		Quantity: int64(c.Quantity), Seconds: int64(c.Seconds), IdemKey: []byte(c.IdemKey),
		IdemHash: []byte(c.IdemHash), Token: []byte(c.Token), EventId: []byte(c.EventID), Success: c.Success,
		Channel: []byte(c.Channel), Attempt: []byte(c.Attempt), Ticket: []byte(c.Ticket), Entry: []byte(c.Entry),
		Together: c.Together}
	if c.Show != nil {
		m.Show, _ = json.Marshal(c.Show) // a ShowConfig always marshals
	}
	return m
}

func commandFromWire(m *factspb.ShowCommand) (seatmap.Command, error) {
	if m.Kind > wireMaxKind {
		return seatmap.Command{}, fmt.Errorf("actors: command kind %d out of range", m.Kind)
	}
	c := seatmap.Command{Kind: seatmap.Kind(m.Kind), Now: m.Now, User: string(m.User), HoldID: string(m.HoldId),
		OrderID: string(m.OrderId), Seats: fromBytesList(m.Seats), Section: string(m.Section), Tier: string(m.Tier),
		Quantity: int(m.Quantity), Seconds: int(m.Seconds), IdemKey: string(m.IdemKey),
		IdemHash: string(m.IdemHash), Token: string(m.Token), EventID: string(m.EventId), Success: m.Success,
		Channel: string(m.Channel), Attempt: string(m.Attempt), Ticket: string(m.Ticket), Entry: string(m.Entry),
		Together: m.Together}
	if m.Show != nil {
		c.Show = new(seatmap.ShowConfig)
		if err := json.Unmarshal(m.Show, c.Show); err != nil {
			return seatmap.Command{}, fmt.Errorf("actors: command's show config: %w", err)
		}
	}
	return c, nil
}

func resultToWire(r seatmap.Result) *factspb.ShowResult {
	m := &factspb.ShowResult{Created: r.Created, ArchivedOrderId: []byte(r.ArchivedOrderID),
		HasSeats: r.Seats != nil, HasUsers: r.Users != nil, Users: toCounts(r.Users)}
	if r.Err != nil {
		code, msg := seatmap.ErrorCode(r.Err), seatmap.ErrorMessage(r.Err)
		if msg == code { // a bare sentinel: it decodes to one that reads the same
			msg = ""
		}
		m.Code, m.Msg = []byte(code), []byte(msg)
		m.Taken = toBytesList(seatmap.TakenSeats(r.Err))
	}
	for _, s := range r.Seats {
		m.Seats = append(m.Seats, &factspb.WireSeat{Id: []byte(s.ID), State: uint32(s.State)})
	}
	if h := r.Hold; h != nil {
		m.Hold = &factspb.WireHold{Id: []byte(h.ID), Show: []byte(h.Show), User: []byte(h.User),
			Seats: toBytesList(h.Seats), HasSeats: h.Seats != nil, General: toCounts(h.General),
			HasGeneral: h.General != nil, Quantity: int64(h.Quantity), Amount: h.Amount, CreatedAt: h.CreatedAt,
			ExpiresAt: h.ExpiresAt, OrderId: []byte(h.OrderID)}
	}
	if o := r.Order; o != nil {
		m.Order = orderToWire(o)
	}
	if s := r.Show; s != nil {
		m.Show = showToWire(s)
	}
	if t := r.Ticket; t != nil {
		m.Ticket = &factspb.WireTicket{Id: []byte(t.ID), Show: []byte(t.Show), User: []byte(t.User),
			State: []byte(t.State), Position: int64(t.Position), EstimatedWaitSeconds: int64(t.EstimatedWaitSeconds),
			PassExpiresAt: t.PassExpiresAt, ReturnsPossible: int64(t.ReturnsPossible), JoinedAt: t.JoinedAt,
			OpensAt: t.OpensAt}
	}
	if e := r.Entry; e != nil {
		m.Entry = &factspb.WireEntry{Id: []byte(e.ID), Show: []byte(e.Show), User: []byte(e.User),
			Quantity: int64(e.Quantity), Together: e.Together, Section: []byte(e.Section), Tier: []byte(e.Tier),
			State: []byte(e.State), Position: int64(e.Position), CreatedAt: e.CreatedAt, HoldId: []byte(e.HoldID),
			Seats: toBytesList(e.Seats), HasSeats: e.Seats != nil, General: toCounts(e.General),
			HasGeneral: e.General != nil, OfferExpiresAt: e.OfferExpiresAt, OrderId: []byte(e.OrderID),
			Reason: []byte(e.Reason)}
	}
	return m
}

func resultFromWire(m *factspb.ShowResult) (seatmap.Result, error) {
	r := seatmap.Result{Err: seatmap.FromCode(string(m.Code), string(m.Msg), fromBytesList(m.Taken)),
		Created: m.Created, ArchivedOrderID: string(m.ArchivedOrderId), Users: fromCounts(m.Users, m.HasUsers)}
	if m.HasSeats {
		r.Seats = make([]seatmap.SeatEntry, 0, len(m.Seats))
	}
	for _, s := range m.Seats {
		if s.State > 0xff {
			return seatmap.Result{}, fmt.Errorf("actors: seat state %d out of range", s.State)
		}
		r.Seats = append(r.Seats, seatmap.SeatEntry{ID: string(s.Id), State: seatmap.SeatState(s.State)})
	}
	if h := m.Hold; h != nil {
		r.Hold = &seatmap.HoldView{ID: string(h.Id), Show: string(h.Show), User: string(h.User),
			Seats: fromBytesListHas(h.Seats, h.HasSeats), General: fromCounts(h.General, h.HasGeneral),
			Quantity: int(h.Quantity), Amount: h.Amount, CreatedAt: h.CreatedAt, ExpiresAt: h.ExpiresAt,
			OrderID: string(h.OrderId)}
	}
	if o := m.Order; o != nil {
		r.Order = orderFromWire(o)
	}
	if s := m.Show; s != nil {
		v, err := showFromWire(s)
		if err != nil {
			return seatmap.Result{}, err
		}
		r.Show = v
	}
	if t := m.Ticket; t != nil {
		r.Ticket = &seatmap.TicketView{ID: string(t.Id), Show: string(t.Show), User: string(t.User),
			State: string(t.State), Position: int(t.Position), EstimatedWaitSeconds: int(t.EstimatedWaitSeconds),
			PassExpiresAt: t.PassExpiresAt, ReturnsPossible: int(t.ReturnsPossible), JoinedAt: t.JoinedAt,
			OpensAt: t.OpensAt}
	}
	if e := m.Entry; e != nil {
		r.Entry = &seatmap.WaitlistEntryView{ID: string(e.Id), Show: string(e.Show), User: string(e.User),
			Quantity: int(e.Quantity), Together: e.Together, Section: string(e.Section), Tier: string(e.Tier),
			State: string(e.State), Position: int(e.Position), CreatedAt: e.CreatedAt, HoldID: string(e.HoldId),
			Seats: fromBytesListHas(e.Seats, e.HasSeats), General: fromCounts(e.General, e.HasGeneral),
			OfferExpiresAt: e.OfferExpiresAt, OrderID: string(e.OrderId), Reason: string(e.Reason)}
	}
	return r, nil
}

func orderToWire(o *seatmap.OrderView) *factspb.WireOrder {
	w := &factspb.WireOrder{Id: []byte(o.ID), Show: []byte(o.Show), HoldId: []byte(o.HoldID), User: []byte(o.User),
		Seats: toBytesList(o.Seats), HasSeats: o.Seats != nil, General: toCounts(o.General),
		HasGeneral: o.General != nil, Quantity: int64(o.Quantity), Amount: o.Amount, Status: []byte(o.Status),
		PaymentDueAt: o.PaymentDueAt, CreatedAt: o.CreatedAt, HasHistory: o.History != nil,
		Attempt: []byte(o.Attempt)}
	for _, h := range o.History {
		w.History = append(w.History, &factspb.HistoryEntry{Status: []byte(h.Status), At: h.At, Detail: []byte(h.Detail)})
	}
	return w
}

func orderFromWire(w *factspb.WireOrder) *seatmap.OrderView {
	o := &seatmap.OrderView{ID: string(w.Id), Show: string(w.Show), HoldID: string(w.HoldId), User: string(w.User),
		Seats: fromBytesListHas(w.Seats, w.HasSeats), General: fromCounts(w.General, w.HasGeneral),
		Quantity: int(w.Quantity), Amount: w.Amount, Status: string(w.Status), PaymentDueAt: w.PaymentDueAt,
		CreatedAt: w.CreatedAt, Attempt: string(w.Attempt)}
	if w.HasHistory {
		o.History = make([]seatmap.History, 0, len(w.History))
	}
	for _, h := range w.History {
		o.History = append(o.History, seatmap.History{Status: string(h.Status), At: h.At, Detail: string(h.Detail)})
	}
	return o
}

func showToWire(s *seatmap.ShowView) *factspb.WireShow {
	w := &factspb.WireShow{Shard: int64(s.Shard), HasSections: s.Sections != nil, HoldsActive: int64(s.HoldsActive),
		Orders: int64(s.Orders)}
	w.Config, _ = json.Marshal(s.Config) // a ShowConfig always marshals
	for _, sec := range s.Sections {
		w.Sections = append(w.Sections, &factspb.WireSection{Id: []byte(sec.ID), Tier: []byte(sec.Tier),
			Capacity: int64(sec.Capacity), Available: int64(sec.Available), Held: int64(sec.Held),
			Reserved: int64(sec.Reserved), Sold: int64(sec.Sold)})
	}
	if q := s.Queue; q != nil {
		w.Queue = &factspb.WireQueueStats{OpensAt: q.OpensAt, Opened: q.Opened, Seed: q.Seed,
			PassTtlSeconds: int64(q.PassTTLSeconds), MaxActive: int64(q.MaxActive), AdmitFactor: q.AdmitFactor,
			Tickets: int64(q.Tickets), Waiting: int64(q.Waiting), Live: int64(q.Live),
			Unconverted: int64(q.Unconverted), AdmittedTotal: int64(q.AdmittedTotal)}
	}
	if l := s.Waitlist; l != nil {
		w.Waitlist = &factspb.WireWaitlistStats{Entries: int64(l.Entries), Waiting: int64(l.Waiting),
			Offered: int64(l.Offered), Accepted: int64(l.Accepted), Lapsed: int64(l.Lapsed)}
	}
	return w
}

func showFromWire(w *factspb.WireShow) (*seatmap.ShowView, error) {
	s := &seatmap.ShowView{Shard: int(w.Shard), HoldsActive: int(w.HoldsActive), Orders: int(w.Orders)}
	if err := json.Unmarshal(w.Config, &s.Config); err != nil {
		return nil, fmt.Errorf("actors: show view's config: %w", err)
	}
	if w.HasSections {
		s.Sections = make([]seatmap.SectionView, 0, len(w.Sections))
	}
	for _, sec := range w.Sections {
		s.Sections = append(s.Sections, seatmap.SectionView{ID: string(sec.Id), Tier: string(sec.Tier),
			Capacity: int(sec.Capacity), Available: int(sec.Available), Held: int(sec.Held),
			Reserved: int(sec.Reserved), Sold: int(sec.Sold)})
	}
	if q := w.Queue; q != nil {
		s.Queue = &seatmap.QueueStats{OpensAt: q.OpensAt, Opened: q.Opened, Seed: q.Seed,
			PassTTLSeconds: int(q.PassTtlSeconds), MaxActive: int(q.MaxActive), AdmitFactor: q.AdmitFactor,
			Tickets: int(q.Tickets), Waiting: int(q.Waiting), Live: int(q.Live), Unconverted: int(q.Unconverted),
			AdmittedTotal: int(q.AdmittedTotal)}
	}
	if l := w.Waitlist; l != nil {
		s.Waitlist = &seatmap.WaitlistStats{Entries: int(l.Entries), Waiting: int(l.Waiting),
			Offered: int(l.Offered), Accepted: int(l.Accepted), Lapsed: int(l.Lapsed)}
	}
	return s, nil
}

func toBytesList(ss []string) [][]byte {
	if len(ss) == 0 {
		return nil
	}
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// fromBytesList returns nil for an empty list (as the JSON of omitempty fields).
func fromBytesList(bs [][]byte) []string {
	return fromBytesListHas(bs, false)
}

// fromBytesListHas returns an empty, non-nil list for an empty one when has.
func fromBytesListHas(bs [][]byte, has bool) []string {
	if len(bs) == 0 && !has {
		return nil
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func toCounts(m map[string]int) []*factspb.WireCount {
	if len(m) == 0 {
		return nil
	}
	out := make([]*factspb.WireCount, 0, len(m))
	for k, n := range m {
		out = append(out, &factspb.WireCount{Key: []byte(k), N: int64(n)})
	}
	return out
}

func fromCounts(cs []*factspb.WireCount, has bool) map[string]int {
	if len(cs) == 0 && !has {
		return nil
	}
	m := make(map[string]int, len(cs))
	for _, c := range cs {
		m[string(c.Key)] += int(c.N)
	}
	return m
}
