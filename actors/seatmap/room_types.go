package seatmap

// Commands of the waiting room and the waitlist (room.go, waitlist.go).
// Their numbers are explicit: they are journaled, and the read kinds are
// told apart by range (Kind.ReadOnly).
const (
	KindQueueJoin     Kind = 32 + iota // User joins the show's waiting room as Ticket (one ticket per user)
	KindWaitlistJoin                   // User joins the waitlist as Entry: Quantity, Together, Section or Tier
	KindWaitlistLeave                  // User leaves waitlist Entry (declining its offer, if any)
)

// Read-only commands of the room and the waitlist.
const (
	KindQueueGet    Kind = 48 + iota // read: Ticket (of User, when set)
	KindWaitlistGet                  // read: Entry (of User, when set)
)

func init() {
	for k, n := range map[Kind]string{KindQueueJoin: "queue_join", KindWaitlistJoin: "waitlist_join",
		KindWaitlistLeave: "waitlist_leave", KindQueueGet: "queue_get", KindWaitlistGet: "waitlist_get"} {
		kindNames[k] = n
	}
}

// EventWaitlistOffered is the outbox event of a waitlist offer: Hold is
// the hold made in the entry's user's name, Entry the entry, Seats and
// Quantity what it holds, ExpiresAt when it lapses.
const EventWaitlistOffered = "waitlist.offered"

// Ticket states, as GET /v1/shows/{show}/queue/{ticket} names them.
const (
	TicketWaiting  = "waiting"  // in line (before opening: in the pool that is shuffled at opening)
	TicketAdmitted = "admitted" // the pass is valid until PassExpiresAt
	TicketSoldOut  = "sold_out" // waiting, and no seat is available; ReturnsPossible may come back
	TicketExpired  = "expired"  // the pass ran out
)

// Waitlist entry states.
const (
	EntryWaiting   = "waiting"   // in line for returned seats
	EntryOffered   = "offered"   // a hold (HoldID) was made for it; order it before OfferExpiresAt
	EntryAccepted  = "accepted"  // the offer became order OrderID
	EntryLapsed    = "lapsed"    // the offer expired unanswered; its seats went to the next entry
	EntryDeclined  = "declined"  // the user released the offer or left the waitlist while offered
	EntryCancelled = "cancelled" // left the waitlist while waiting, or dropped (Reason)
)

// RoomFacts is what the room and the waitlist decided during one command,
// in the order Apply applied it: passes that ran out, the opening shuffle,
// waitlist offers and entries dropped, passes suspended, admissions.
// Replay applies them as they are.
type RoomFacts struct {
	Expired   []uint32     `json:"exp,omitempty"`  // tickets whose pass ran out
	Opened    *RoomOpening `json:"open,omitempty"` // the room opened
	Dropped   []uint32     `json:"drop,omitempty"` // waitlist entries dropped: their user is at the seat limit
	Offers    []OfferFact  `json:"off,omitempty"`  // waitlist offers made
	Suspended []uint32     `json:"sus,omitempty"`  // passes taken back: the room was over its rule
	Admitted  []uint32     `json:"adm,omitempty"`  // tickets admitted, in order
}

// RoomOpening is the opening of a waiting room: the seed and the order it
// gave the tickets that joined before opening (ticket numbers).
type RoomOpening struct {
	Seed  uint64   `json:"seed"`
	Order []uint32 `json:"order"`
}

// OfferFact is one waitlist offer: the entry (its number) and the seats
// and general-admission units of the hold made for it.
type OfferFact struct {
	Entry   uint32    `json:"e"`
	Seats   []string  `json:"s,omitempty"`
	General []OfferGA `json:"ga,omitempty"`
}

// OfferGA is a quantity of a general-admission section in an offer.
type OfferGA struct {
	Section string `json:"sec"`
	N       int    `json:"n"`
}

// TicketView is a waiting-room ticket as the API shows it.
type TicketView struct {
	ID    string `json:"ticket"`
	Show  string `json:"show"`
	User  string `json:"user"`
	State string `json:"state"`
	// Position in line (1 = next), while waiting or sold_out. Before the
	// room opens it is the number of people who joined so far: they all
	// get a random place at opening.
	Position             int   `json:"position,omitempty"`
	EstimatedWaitSeconds int   `json:"estimated_wait_seconds,omitempty"`
	PassExpiresAt        int64 `json:"pass_expires_at,omitempty"` // admitted: Unix ms
	// ReturnsPossible (sold_out) is how many seats are held or reserved
	// and may still come back.
	ReturnsPossible int   `json:"returns_possible,omitempty"`
	JoinedAt        int64 `json:"joined_at"`
	OpensAt         int64 `json:"opens_at,omitempty"` // Unix ms; 0: opened at creation
}

// WaitlistEntryView is a waitlist entry as the API shows it.
type WaitlistEntryView struct {
	ID        string `json:"id"`
	Show      string `json:"show"`
	User      string `json:"user"`
	Quantity  int    `json:"quantity"`
	Together  bool   `json:"together"`
	Section   string `json:"section,omitempty"`
	Tier      string `json:"tier,omitempty"`
	State     string `json:"state"`
	Position  int    `json:"position,omitempty"` // waiting: 1 = next
	CreatedAt int64  `json:"created_at"`
	// The offer (offered, accepted, lapsed, declined): its hold, seats and expiry.
	HoldID         string         `json:"hold,omitempty"`
	Seats          []string       `json:"seats,omitempty"`
	General        map[string]int `json:"general,omitempty"`
	OfferExpiresAt int64          `json:"offer_expires_at,omitempty"`
	OrderID        string         `json:"order,omitempty"`  // accepted
	Reason         string         `json:"reason,omitempty"` // cancelled: "user" or "limit_exceeded"
}

// WaitlistRequest asks for a waitlist entry: Quantity seats, adjacent in one
// row when Together (general admission: by count), in Section, in any
// section of Tier, or anywhere when both are empty.
type WaitlistRequest struct {
	Show     string
	User     string
	Quantity int
	Together bool
	Section  string
	Tier     string
}

// QueueStats are a waiting room's figures for the show document.
type QueueStats struct {
	OpensAt        int64   `json:"opens_at"`
	Opened         bool    `json:"opened"`
	Seed           uint64  `json:"seed,omitempty"` // the opening shuffle's seed
	PassTTLSeconds int     `json:"pass_ttl_seconds"`
	MaxActive      int     `json:"max_active"`
	AdmitFactor    float64 `json:"admit_factor"`
	Tickets        int     `json:"tickets"`        // ever joined
	Waiting        int     `json:"waiting"`        // in line or in the pool
	Live           int     `json:"live"`           // passes live (counted against max_active)
	Unconverted    int     `json:"unconverted"`    // live passes whose user holds nothing yet
	AdmittedTotal  int     `json:"admitted_total"` // admissions, readmissions included
}

// WaitlistStats are a waitlist's figures for the show document.
type WaitlistStats struct {
	Entries  int `json:"entries"` // ever joined
	Waiting  int `json:"waiting"`
	Offered  int `json:"offered"`  // offers live now
	Accepted int `json:"accepted"` // offers that became orders
	Lapsed   int `json:"lapsed"`
}
