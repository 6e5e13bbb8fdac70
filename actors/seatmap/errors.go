package seatmap

import (
	"errors"
	"fmt"
)

// Sentinel errors of the seat map. Each has a stable code (its text) that the
// API returns as error.code and that crosses node boundaries; ErrorCode and
// FromCode convert between the two. Map them to HTTP status in one place
// (edge/errors.go).
var (
	// ErrInvalidRequest: the command is malformed (bad ids, bad numbers, conflicting fields).
	ErrInvalidRequest = errors.New("invalid_request")
	// ErrShowExists: a show with this id was already created.
	ErrShowExists = errors.New("show_exists")
	// ErrShowNotFound: no show with this id exists on this shard.
	ErrShowNotFound = errors.New("show_not_found")
	// ErrUnknownSeat: a seat id does not parse or names no seat of the show.
	ErrUnknownSeat = errors.New("unknown_seat")
	// ErrUnknownSection: the section id names no section of the show.
	ErrUnknownSection = errors.New("unknown_section")
	// ErrUnknownTier: the tier id names no tier of the show.
	ErrUnknownTier = errors.New("unknown_tier")
	// ErrLimitExceeded: the hold would take the user past max_seats_per_user.
	ErrLimitExceeded = errors.New("limit_exceeded")
	// ErrSeatsUnavailable: some of the specific seats asked for are taken (SeatsError lists them).
	ErrSeatsUnavailable = errors.New("seats_unavailable")
	// ErrSoldOut: fewer seats are left than the quantity asked for.
	ErrSoldOut = errors.New("sold_out")
	// ErrHoldNotFound: no such hold (never existed, or released).
	ErrHoldNotFound = errors.New("hold_not_found")
	// ErrHoldExpired: the hold existed but expired; remembered for HoldExpiredMemory.
	ErrHoldExpired = errors.New("hold_expired")
	// ErrOrderNotFound: no such order.
	ErrOrderNotFound = errors.New("order_not_found")
	// ErrInvalidState: the hold or order is not in a state that allows this command.
	ErrInvalidState = errors.New("invalid_state")
	// ErrIdempotencyMismatch: the idempotency key was used before with another request body.
	ErrIdempotencyMismatch = errors.New("idempotency_mismatch")
	// ErrUnavailable: the shard cannot take the command now (overloaded, recovering, fenced, storage failing).
	ErrUnavailable = errors.New("unavailable")
	// ErrQueueRequired: the show has a waiting room and the hold came without a valid pass of an admitted ticket.
	ErrQueueRequired = errors.New("queue_required")
	// ErrNoQueue: the show has no waiting room to join.
	ErrNoQueue = errors.New("no_queue")
	// ErrTicketNotFound: no such waiting-room ticket (or another user's).
	ErrTicketNotFound = errors.New("ticket_not_found")
	// ErrNotSoldOut: a waitlist entry was asked for seats that are available now (hold them instead).
	ErrNotSoldOut = errors.New("not_sold_out")
	// ErrEntryNotFound: no such waitlist entry (or another user's).
	ErrEntryNotFound = errors.New("waitlist_entry_not_found")
)

var byCode = map[string]error{}

func init() {
	for _, e := range []error{ErrInvalidRequest, ErrShowExists, ErrShowNotFound, ErrUnknownSeat,
		ErrUnknownSection, ErrUnknownTier, ErrLimitExceeded, ErrSeatsUnavailable, ErrSoldOut,
		ErrHoldNotFound, ErrHoldExpired, ErrOrderNotFound, ErrInvalidState, ErrIdempotencyMismatch,
		ErrUnavailable, ErrQueueRequired, ErrNoQueue, ErrTicketNotFound, ErrNotSoldOut, ErrEntryNotFound} {
		byCode[e.Error()] = e
	}
}

// Error is a sentinel with a message for people and, for ErrSeatsUnavailable,
// the seats that were taken. errors.Is(err, sentinel) works on it.
type Error struct {
	Err   error    // one of the sentinels above
	Msg   string   // human readable detail
	Seats []string // taken seats, for ErrSeatsUnavailable
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(sentinel error, format string, args ...any) error {
	return &Error{Err: sentinel, Msg: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the stable code of err's sentinel, or "internal".
func ErrorCode(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if _, ok := byCode[e.Error()]; ok && byCode[e.Error()] == e {
			return e.Error()
		}
	}
	return "internal"
}

// FromCode rebuilds an error from its code and message (the inverse of
// ErrorCode, used when results cross a node boundary).
func FromCode(code, msg string, seats []string) error {
	if code == "" {
		return nil
	}
	s, ok := byCode[code]
	if !ok {
		return fmt.Errorf("%s: %s", code, msg)
	}
	return &Error{Err: s, Msg: msg, Seats: seats}
}

// ErrorMessage returns the human detail of err (without the code prefix).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Msg != "" {
			return e.Msg
		}
	}
	return err.Error()
}

// TakenSeats returns the seats listed by a seats_unavailable error.
func TakenSeats(err error) []string {
	var e *Error
	if errors.As(err, &e) {
		return e.Seats
	}
	return nil
}
