package facts

// Event types of the order pipeline (Event.Type).
const (
	EventCreated          = "created"
	EventPaymentRequested = "payment_requested"
	EventPaid             = "paid"
	EventPaymentFailed    = "payment_failed"
	EventCancelled        = "cancelled"
	EventExpired          = "expired"
	EventRefund           = "refund_requested"
	// EventShowSoldOut: the show's total availability reached 0.
	EventShowSoldOut = "show.sold_out"
	// EventShowAvailable: the show's total availability left 0.
	EventShowAvailable = "show.available"
	// EventInventory is the outbox type of an inventory event (Event.Inventory set).
	EventInventory = "inventory"
)

// Event is an order (or show) event for the outbox. ID is unique and
// deterministic (order id and the order's event number), so consumers dedupe
// by it.
type Event struct {
	ID       string   `json:"id"`
	Type     string   `json:"type"`
	Show     string   `json:"show"`
	Shard    int      `json:"shard"`
	OrderID  string   `json:"order"`
	User     string   `json:"user"`
	Amount   int64    `json:"amount"`
	Quantity int      `json:"quantity"`
	Seats    []string `json:"seats,omitempty"`
	Token    string   `json:"token,omitempty"`
	At       int64    `json:"at"`
	// Attempt is the payment attempt the event is about (payment_requested,
	// paid, payment_failed, refund_requested): the charge to make, or to
	// refund, is OrderID+":"+Attempt.
	Attempt string `json:"attempt,omitempty"`
	// Inventory is the inventory event of an event of type EventInventory.
	Inventory *InventoryEvent `json:"inventory,omitempty"`
	// Hold, Entry and ExpiresAt (Unix ms) name a waitlist offer
	// (waitlist.offered): the hold made for the entry's user, and when it
	// lapses.
	Hold      string `json:"hold,omitempty"`
	Entry     string `json:"entry,omitempty"`
	ExpiresAt int64  `json:"expires_at,omitempty"`
}

// SeatChange is one seat's new state.
type SeatChange struct {
	Seat  string `json:"seat"`
	State string `json:"state"`
}

// GACount is a GA section's counters after a change.
type GACount struct {
	Section   string `json:"section"`
	Available int    `json:"available"`
	Held      int    `json:"held"`
	Reserved  int    `json:"reserved"`
	Sold      int    `json:"sold"`
}

// SectionView is one section's counters.
type SectionView struct {
	ID        string `json:"id"`
	Tier      string `json:"tier"`
	Capacity  int    `json:"capacity"`
	Available int    `json:"available"`
	Held      int    `json:"held"`
	Reserved  int    `json:"reserved"`
	Sold      int    `json:"sold"`
}

// InventoryEvent is what one state-changing command did to the show's seats
// and counts. Changes carry absolute states and Sections absolute counters
// (of every section the command touched), so applying an event twice, or
// over a newer snapshot, is harmless.
type InventoryEvent struct {
	Show     string        `json:"show"`
	Seq      uint64        `json:"seq"`
	Cause    string        `json:"cause"` // the command kind: hold, release, tick (expiry), order, pay_result, cancel, ...
	Changes  []SeatChange  `json:"changes"`
	GA       []GACount     `json:"ga"`
	Sections []SectionView `json:"sections"`
	// Available is the show's total availability after the change.
	Available int   `json:"available"`
	At        int64 `json:"at"`
}

// Order statuses.
const (
	StatusPendingPayment    = "pending_payment"
	StatusPaymentProcessing = "payment_processing"
	StatusPaid              = "paid"
	StatusCancelled         = "cancelled"
	StatusExpired           = "expired"
)

// History is one entry of an order's history: a status change or a notification.
type History struct {
	Status string `json:"status"`
	At     int64  `json:"at"`
	Detail string `json:"detail,omitempty"`
}

// OrderView is an order as the API shows it, and as the archive keeps a
// finished one.
type OrderView struct {
	ID           string         `json:"id"`
	Show         string         `json:"show"`
	HoldID       string         `json:"hold"`
	User         string         `json:"user"`
	Seats        []string       `json:"seats"`
	General      map[string]int `json:"general"`
	Quantity     int            `json:"quantity"`
	Amount       int64          `json:"amount"`
	Status       string         `json:"status"`
	PaymentDueAt int64          `json:"payment_due_at"`
	CreatedAt    int64          `json:"created_at"`
	History      []History      `json:"history"`
	// Attempt is the current (latest) payment attempt, "" before the first.
	Attempt string `json:"attempt,omitempty"`
}
