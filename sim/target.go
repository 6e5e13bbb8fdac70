package sim

import (
	"context"
	"errors"
	"fmt"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Target is the booking service as the simulations drive it: in process over
// an edge.Backend (NewInProcessTarget) or over HTTP (NewHTTPTarget).
// Implementations are safe for concurrent use by any number of goroutines.
// Errors from the service wrap the seatmap sentinels, so errors.Is works the
// same for both; an HTTP error additionally is an *APIError.
type Target interface {
	// CreateShow creates a show (with the admin token over HTTP).
	CreateShow(ctx context.Context, cfg seatmap.ShowConfig) error
	// Hold places a hold: specific seats, or a quantity in a section or tier.
	Hold(ctx context.Context, req seatmap.HoldRequest) (seatmap.HoldView, error)
	// GetShow returns the show's counters.
	GetShow(ctx context.Context, show string) (ShowState, error)
	// Seats returns seat id -> state name ("available", "held", ...) of one
	// section, or of every seated section when section is "".
	Seats(ctx context.Context, show, section string) (map[string]string, error)
	// Release releases a hold.
	Release(ctx context.Context, show, hold string) error
	// Name describes the target for reports ("in-process", "http://...").
	Name() string
}

// ShowState is the part of a show document the invariant checks read.
type ShowState struct {
	Sections []seatmap.SectionView `json:"sections"`
	Totals   seatmap.Totals        `json:"totals"`
}

// APIError is an error answer of the HTTP API. Err is the seatmap sentinel
// the code names (or a plain error for codes the core does not have, such as
// rate_limited), so errors.Is(apiErr, seatmap.ErrSoldOut) works.
type APIError struct {
	Status  int
	Code    string
	Message string
	Err     error
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

func (e *APIError) Unwrap() error { return e.Err }

// outcome is how an attempt to take seats ended.
type outcome uint8

const (
	won    outcome = iota // the hold was granted
	lost                  // the seats were taken or sold out: a correct refusal
	failed                // anything else: an error of the service or the transport
)

// classify maps a hold attempt's error to its outcome.
func classify(err error) outcome {
	switch {
	case err == nil:
		return won
	case errors.Is(err, seatmap.ErrSeatsUnavailable), errors.Is(err, seatmap.ErrSoldOut):
		return lost
	}
	return failed
}

// heldCount is the number of seats and GA units a hold owns.
func heldCount(h seatmap.HoldView) int {
	n := len(h.Seats)
	for _, q := range h.General {
		n += q
	}
	return n
}
