package edge

import (
	"context"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Backend is what the HTTP layer needs from the booking core. Implementations
// are safe for concurrent use by any number of request handlers, and must not
// keep any slice or string passed in beyond the call unless they own a copy
// (handlers pass copies, never fasthttp's buffers). Errors are seatmap
// sentinels (possibly wrapped, see seatmap.Error); anything else maps to 500.
//
// actors.Booking is the real implementation; tests may use an in-memory one.
type Backend interface {
	// CreateShow creates a show; cfg is normalized and validated by the callee.
	CreateShow(ctx context.Context, cfg seatmap.ShowConfig) (seatmap.ShowDoc, error)
	GetShow(ctx context.Context, show string) (seatmap.ShowDoc, error)
	// Seats lists seat states of one section, or of all seated sections when section is "".
	Seats(ctx context.Context, show, section string) ([]seatmap.SeatEntry, error)
	// Hold places a hold; created=false when an idempotency key named a hold
	// made before (the same answer again).
	Hold(ctx context.Context, req seatmap.HoldRequest) (hold seatmap.HoldView, created bool, err error)
	// The calls below act for user: a hold or order of another user answers
	// hold_not_found / order_not_found as if it did not exist. user "" acts
	// for anyone (tokenless mode).
	GetHold(ctx context.Context, user string, show, hold string) (seatmap.HoldView, error)
	ReleaseHold(ctx context.Context, user string, show, hold string) error
	ExtendHold(ctx context.Context, user string, show, hold string, seconds int) (seatmap.HoldView, error)
	// CreateOrder returns created=false when the order already existed (same hold or same idempotency key).
	CreateOrder(ctx context.Context, req seatmap.OrderRequest) (order seatmap.OrderView, created bool, err error)
	GetOrder(ctx context.Context, user string, order string) (seatmap.OrderView, error)
	PayOrder(ctx context.Context, user string, order, token string) (seatmap.OrderView, error)
	CancelOrder(ctx context.Context, user string, order string) (seatmap.OrderView, error)
	// Status reports readiness: ready=false until the node can serve; components maps
	// each part ("actors", "journal", "redis", "rocketmq") to "ok" or "degraded".
	Status() (ready bool, components map[string]string)
	// Gauges returns instantaneous values for /metrics: "mailbox_depth",
	// "holds_active", "seats_available", "seats_held", "seats_reserved", "seats_sold", ...
	Gauges() map[string]float64
}
