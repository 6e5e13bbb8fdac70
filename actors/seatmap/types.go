package seatmap

import "github.com/boxoffice/boxoffice/facts"

// SeatState is the state of one seat (or of one unit of GA capacity).
type SeatState uint8

const (
	Available SeatState = iota
	Held
	Reserved
	Sold
	numStates
)

var stateNames = [...]string{"available", "held", "reserved", "sold"}

func (s SeatState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "invalid"
}

// Kind names a command.
type Kind uint8

const (
	KindCreate    Kind = iota + 1 // create the shard of a show (Show)
	KindHold                      // hold Seats, or Quantity in Section, or Quantity in Tier, for User as HoldID (IdemKey/IdemHash optional)
	KindRelease                   // release HoldID
	KindExtend                    // set HoldID's expiry to Now + Seconds (capped)
	KindTick                      // expire what is due at Now
	KindOrder                     // convert HoldID into order OrderID (IdemKey/IdemHash optional)
	KindPay                       // OrderID: pending_payment -> payment_processing, with Token, as payment Attempt
	KindPayResult                 // OrderID: settle payment Attempt (result EventID, deduped); Success
	KindCancel                    // OrderID: pending_payment -> cancelled
	KindNotified                  // OrderID: notification for EventID (one of the order's events) sent through Channel
	KindGetShow                   // read: the shard's part of the show document
	KindGetSeats                  // read: seat states of Section (all sections when empty)
	KindGetHold                   // read: HoldID
	KindGetOrder                  // read: OrderID
	KindGetUsers                  // read: per-user seat tallies
)

var kindNames = map[Kind]string{KindCreate: "create", KindHold: "hold", KindRelease: "release",
	KindExtend: "extend", KindTick: "tick", KindOrder: "order", KindPay: "pay", KindPayResult: "pay_result",
	KindCancel: "cancel", KindNotified: "notified", KindGetShow: "get_show", KindGetSeats: "get_seats",
	KindGetHold: "get_hold", KindGetOrder: "get_order", KindGetUsers: "get_users"}

// kindNameOf is kindNames as an array, filled once every init added its
// names: String runs once per inventory event, on the show's serial path.
var kindNameOf = func() *[256]string { return new([256]string) }()

func init() {
	for k, n := range kindNames {
		kindNameOf[k] = n
	}
}

func (k Kind) String() string {
	if n := kindNameOf[k]; n != "" {
		return n
	}
	if n, ok := kindNames[k]; ok { // a name added after the array was filled
		return n
	}
	return "unknown"
}

// ReadOnly reports whether commands of this kind never change state.
func (k Kind) ReadOnly() bool { return k >= KindGetShow && k < KindQueueJoin || k >= KindQueueGet }

// Command is the one input of the state machine. Which fields matter depends
// on Kind (see the Kind constants). Now is set by the shell, in Unix ms.
// The journal keeps what a command decided (facts), not the command; the JSON
// form of Command is the journal format of records written before facts,
// which Replay still reads: add fields, never change the meaning of one.
type Command struct {
	Kind     Kind        `json:"k"`
	Now      int64       `json:"t"`
	Show     *ShowConfig `json:"show,omitempty"`
	User     string      `json:"u,omitempty"`
	HoldID   string      `json:"h,omitempty"`
	OrderID  string      `json:"o,omitempty"`
	Seats    []string    `json:"s,omitempty"`
	Section  string      `json:"sec,omitempty"`
	Tier     string      `json:"tier,omitempty"`
	Quantity int         `json:"q,omitempty"`
	Seconds  int         `json:"sec_n,omitempty"`
	IdemKey  string      `json:"ik,omitempty"`
	IdemHash string      `json:"ih,omitempty"`
	Token    string      `json:"tok,omitempty"`
	EventID  string      `json:"ev,omitempty"`
	Success  bool        `json:"ok,omitempty"`
	Channel  string      `json:"ch,omitempty"`
	// User is the hold's user (KindHold), else the caller: when set on
	// KindGetHold, KindRelease, KindExtend, KindOrder, KindGetOrder, KindPay
	// or KindCancel, a hold or order of another user answers ErrHoldNotFound
	// or ErrOrderNotFound as if it did not exist. Empty = no check (the
	// consumers' callbacks, tokenless mode, records from before the check).
	//
	// Token (KindPay) is never journaled: Apply strips it from the record, and
	// only the payment_requested event carries it.
	//
	// Attempt names one payment attempt of an order (KindPay, KindPayResult):
	// caller-generated, unique per order, [A-Za-z0-9._-]{1,64}. The gateway's
	// charge key is OrderID+":"+Attempt.
	Attempt string `json:"att,omitempty"`
	// Ticket is a waiting-room ticket (KindQueueJoin, KindQueueGet) or, on
	// KindHold of a show with a room, the ticket of the caller's pass.
	Ticket string `json:"tk,omitempty"`
	// Entry is a waitlist entry (KindWaitlistJoin, KindWaitlistGet,
	// KindWaitlistLeave); Together asks for its seats adjacent in one row.
	Entry    string `json:"wl,omitempty"`
	Together bool   `json:"tog,omitempty"`
	// Room is what the waiting room and the waitlist decided during this
	// command (room.go): Apply fills it, it is journaled with the command,
	// and Replay applies it as it is, deciding nothing of it.
	Room *RoomFacts `json:"room,omitempty"`
}

// HoldView is a hold as the API shows it.
type HoldView struct {
	ID        string         `json:"id"`
	Show      string         `json:"show"`
	User      string         `json:"user"`
	Seats     []string       `json:"seats"`
	General   map[string]int `json:"general"`
	Quantity  int            `json:"quantity"`
	Amount    int64          `json:"amount"`
	CreatedAt int64          `json:"created_at"`
	ExpiresAt int64          `json:"expires_at"`
	OrderID   string         `json:"order_id,omitempty"`
}

// History is one entry of an order's history: a status change or a notification.
type History = facts.History

// Order statuses.
const (
	StatusPendingPayment    = facts.StatusPendingPayment
	StatusPaymentProcessing = facts.StatusPaymentProcessing
	StatusPaid              = facts.StatusPaid
	StatusCancelled         = facts.StatusCancelled
	StatusExpired           = facts.StatusExpired
)

// OrderView is an order as the API shows it.
type OrderView = facts.OrderView

// SectionView is one section's counters.
type SectionView = facts.SectionView

// ShowView is a shard's part of the show document: the config and the
// counters of the shard's own sections.
type ShowView struct {
	Config      ShowConfig     `json:"config"`
	Shard       int            `json:"shard"`
	Sections    []SectionView  `json:"sections"`
	HoldsActive int            `json:"holds_active"`
	Orders      int            `json:"orders"`             // orders in memory: live, or terminal within their retention
	Queue       *QueueStats    `json:"queue,omitempty"`    // shows with a waiting room
	Waitlist    *WaitlistStats `json:"waitlist,omitempty"` // shows whose waitlist was used
}

// SeatEntry is one seat and its state, for the seat map.
type SeatEntry struct {
	ID    string    `json:"id"`
	State SeatState `json:"state"`
}

// Result is the answer to one command.
type Result struct {
	Err     error
	Hold    *HoldView
	Order   *OrderView
	Show    *ShowView
	Ticket  *TicketView        // KindQueueJoin, KindQueueGet
	Entry   *WaitlistEntryView // KindWaitlistJoin, KindWaitlistGet, KindWaitlistLeave
	Seats   []SeatEntry
	Users   map[string]int
	Created bool // the command created the hold/order (201) rather than finding it (200)
	// ArchivedOrderID is set (with Err nil, Order nil) when KindOrder's
	// idempotency key names an order that has left memory through
	// Ready.Archive: the shell answers with the archived copy of that order.
	ArchivedOrderID string
}

// Event types of the order pipeline.
const (
	EventCreated          = facts.EventCreated
	EventPaymentRequested = facts.EventPaymentRequested
	EventPaid             = facts.EventPaid
	EventPaymentFailed    = facts.EventPaymentFailed
	EventCancelled        = facts.EventCancelled
	EventExpired          = facts.EventExpired
	EventRefund           = facts.EventRefund
)

// Event is an order event for the outbox. ID is unique and deterministic
// (order id and the order's event number), so consumers dedupe by it.
type Event = facts.Event

// Ready is what a batch of Apply calls asks the shell to do.
type Ready struct {
	// Records are what the commands that changed state decided, in order,
	// each stamped with its sequence number. Journal and sync them before
	// answering.
	Records []Record
	// Events go to the outbox, in the same write as Records.
	Events []Event
	// Deadline is the next instant (Unix ms) a Tick has work to do; 0 = none.
	Deadline int64
	// Archive holds the final views of terminal orders that left memory in
	// this batch (their retention, ShowConfig.ArchiveAfterSeconds, ran out).
	// Write them durably in the same write as Records: the shard no longer
	// knows these orders and answers ErrOrderNotFound for them.
	Archive []OrderView
	// Inventory has one event per command that changed a seat or a GA
	// count, in record order (never from Replay). Publish them only once
	// the batch is durable.
	Inventory []InventoryEvent
	// Rows are the state rows that changed since the last Ready (by Apply,
	// Replay or ApplyRecord), as of RowsSeq: a checkpoint of the state that
	// grows with the change, not with the state (see rows.go). Write them
	// once Records up to RowsSeq are durable; they replace those records.
	Rows    []facts.Row
	RowsSeq uint64
	// held are the live holds' rows of Rows whose values ReadyDeferred
	// left to EncodeRows
	held []heldRow
}

// EncodeRows encodes the values of the hold rows ReadyDeferred left, into
// Rows (a no-op for a Ready that left none). It reads only what the shard
// captured, never the shard: any goroutine may call it, once, while the
// shard goes on; nothing may read Rows until it returned.
func (r *Ready) EncodeRows() {
	if len(r.held) == 0 {
		return
	}
	vals := byteArena{hint: min(len(r.held)*holdRowGuess, arenaChunk)}
	for i := range r.held {
		r.Rows[r.held[i].at].Value = r.held[i].encode(&vals)
	}
	r.held = nil
}

// RowsPending reports whether Rows wait for EncodeRows.
func (r *Ready) RowsPending() bool { return len(r.held) > 0 }

// Record is a journaled state change: the facts one command decided (see
// package facts), with its sequence number (1, 2, ...).
type Record = facts.Record
