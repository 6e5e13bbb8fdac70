package facts

// FactKind names a fact.
type FactKind uint8

// The facts a record may hold. Each names the fields it uses; every other
// field is zero. IDs of holds and orders are the caller-generated ids.
const (
	// ShowCreated: the show was created with Config (its JSON document, normalized).
	ShowCreated FactKind = iota + 1
	// HoldPlaced: hold ID took Seats (indexes into the show's seats: sections,
	// rows and seats in config order) and GA (units per GA section) for User,
	// Quantity seats for Amount, at At, expiring at Until; Key/Hash: its
	// idempotency key and request hash, if any.
	HoldPlaced
	// HoldReleased: hold ID gave its seats back.
	HoldReleased
	// HoldExtended: hold ID now expires at Until.
	HoldExtended
	// HoldExpired: hold ID expired (its seats are free; it is remembered as expired).
	HoldExpired
	// OrderCreated: order ID was created from hold HoldID at At, payment due
	// at Until; Key/Hash: its idempotency key and request hash, if any.
	OrderCreated
	// OrderKeyRemembered: idempotency key Key (request Hash) now names order
	// ID, at At (a retried order of a converted hold under a new key).
	OrderKeyRemembered
	// PaymentStarted: order ID is payment_processing with Attempt, at At.
	PaymentStarted
	// ResultSeen: order ID remembers payment result Key (deduplication).
	ResultSeen
	// OrderPaid: order ID was paid by Attempt at At.
	OrderPaid
	// PaymentFailed: Attempt of order ID failed at At; the order is
	// pending_payment again, due as before.
	PaymentFailed
	// RefundRequested: a success of Attempt that did not pay order ID is to be
	// refunded; Detail says why. At At.
	RefundRequested
	// OrderCancelled: order ID was cancelled at At.
	OrderCancelled
	// OrderExpired: order ID expired unpaid at At.
	OrderExpired
	// OrderArchived: terminal order ID left memory for the archive.
	OrderArchived
	// Notified: the notification of event Key of order ID was sent through
	// Channel at At.
	Notified
	// Forgotten: expired holds that expired at or before At, and idempotency
	// keys made at or before Until, are forgotten.
	Forgotten
	// RoomDecided: what the waiting room and the waitlist decided during the
	// command, and the room's own commands; Config holds it (JSON, the seat
	// map's format), applied after the command's other facts.
	RoomDecided
	numFactKinds
)

var factNames = [...]string{"", "show_created", "hold_placed", "hold_released", "hold_extended", "hold_expired",
	"order_created", "order_key_remembered", "payment_started", "result_seen", "order_paid", "payment_failed",
	"refund_requested", "order_cancelled", "order_expired", "order_archived", "notified", "forgotten",
	"room_decided"}

func (k FactKind) String() string {
	if k > 0 && k < numFactKinds {
		return factNames[k]
	}
	return "unknown"
}

// GAPart is a quantity of general-admission capacity in one section
// (Section: the index of the section in the show's config).
type GAPart struct {
	Section uint32
	N       uint32
}

// Fact is one thing a command decided. Kind says which fields matter.
type Fact struct {
	Kind     FactKind
	ID       string // the hold or order
	User     string
	HoldID   string
	Seats    []uint32
	GA       []GAPart
	Quantity int64
	Amount   int64
	At       int64 // Unix ms: when
	Until    int64 // Unix ms: expiry, due instant; Forgotten: the keys' cutoff
	Key      string
	Hash     string
	Attempt  string
	Detail   string
	Channel  string
	Config   []byte // ShowCreated: the show's config document (JSON); RoomDecided: the room's decisions (JSON)
}

// Record is one journaled state change: the facts one command decided,
// stamped with the show's sequence number (1, 2, ...) and the instant (Unix
// ms) the command ran at.
type Record struct {
	Seq   uint64
	At    int64
	Facts []Fact
	// Legacy is a record of the format before facts: the JSON of the command
	// (seatmap.Command) as the user sent it. Replaying one decides again.
	Legacy []byte
}

// Row is one state row of a show (a hold, an order, a row of seats, ...): a
// key that is unique within the show and its encoded value. A nil Value
// deletes the key.
type Row struct {
	Key   string
	Value []byte
	// New says the key was made by the records this row goes with (a hold
	// placed): no store held it before them. Not stored; a writer of rows
	// that also has the key's later deletion may write neither (the
	// checkpointer: mergeSlots).
	New bool
}
