package seatmap

import (
	"math"
	"time"
)

// Limits and defaults of the waiting room and the waitlist.
const (
	DefaultPassTTL      = 300 // seconds an admission's pass is valid
	DefaultMaxActive    = 1000
	MaxMaxActive        = 1_000_000
	MaxAdmitFactor      = 100
	MaxWaitlistQuantity = 50 // seats of one waitlist entry (a party)
	// MaxTicketsPerShow bounds a room's memory: one ticket per user.
	MaxTicketsPerShow = 2_000_000
	// MaxWaitlistEntries bounds a show's waitlist memory.
	MaxWaitlistEntries = 1_000_000
)

// QueueConfig turns on a show's waiting room (room.go).
type QueueConfig struct {
	// OpensAt (RFC 3339) is when the room starts admitting. Everyone who
	// joined before is shuffled then; later joiners queue first come, first
	// served. Empty: open from the show's creation.
	OpensAt string `json:"opens_at,omitempty"`
	// PassTTLSeconds is how long an admission's pass is valid (default 300).
	PassTTLSeconds int `json:"pass_ttl_seconds"`
	// MaxActive bounds the passes live at once: admitted, not expired, and
	// whose user has not ordered yet (default 1000).
	MaxActive int `json:"max_active"`
	// AdmitFactor: the room admits while the admitted users who hold
	// nothing yet are fewer than AdmitFactor × the available seats
	// (default 1; 0.4 suits parties of about 2.5).
	AdmitFactor float64 `json:"admit_factor,omitempty"`
}

// WaitlistConfig tunes the waitlist. Every show has one; nil = defaults.
type WaitlistConfig struct {
	// OfferTTLSeconds is how long a waitlist offer (a hold in the entry's
	// user's name) lives before it goes to the next entry (default: the
	// show's hold_ttl_seconds).
	OfferTTLSeconds int `json:"offer_ttl_seconds"`
}

// normalizeRoom fills the room's and the waitlist's defaults, on private
// copies of the caller's structs.
func (c *ShowConfig) normalizeRoom() {
	if c.Queue != nil {
		q := *c.Queue
		if q.PassTTLSeconds == 0 {
			q.PassTTLSeconds = DefaultPassTTL
		}
		if q.MaxActive == 0 {
			q.MaxActive = DefaultMaxActive
		}
		if q.AdmitFactor == 0 {
			q.AdmitFactor = 1
		}
		c.Queue = &q
	}
	if c.Waitlist != nil {
		w := *c.Waitlist
		if w.OfferTTLSeconds == 0 {
			w.OfferTTLSeconds = c.HoldTTLSeconds
		}
		c.Waitlist = &w
	}
}

// validateRoom checks the room's and the waitlist's settings.
func (c *ShowConfig) validateRoom() error {
	bad := func(f string, a ...any) error { return errorf(ErrInvalidRequest, f, a...) }
	if q := c.Queue; q != nil {
		if q.OpensAt != "" {
			if _, err := time.Parse(time.RFC3339, q.OpensAt); err != nil {
				return bad("queue.opens_at must be an RFC 3339 time")
			}
		}
		if q.PassTTLSeconds < 1 || q.PassTTLSeconds > MaxHoldTTLSeconds {
			return bad("queue.pass_ttl_seconds must be in 1..%d", MaxHoldTTLSeconds)
		}
		if q.MaxActive < 1 || q.MaxActive > MaxMaxActive {
			return bad("queue.max_active must be in 1..%d", MaxMaxActive)
		}
		if math.IsNaN(q.AdmitFactor) || q.AdmitFactor < 0.001 || q.AdmitFactor > MaxAdmitFactor {
			return bad("queue.admit_factor must be in 0.001..%d", MaxAdmitFactor)
		}
	}
	if w := c.Waitlist; w != nil && (w.OfferTTLSeconds < 1 || w.OfferTTLSeconds > MaxHoldTTLSeconds) {
		return bad("waitlist.offer_ttl_seconds must be in 1..%d", MaxHoldTTLSeconds)
	}
	return nil
}

// opensAtMs is the room's opening instant in Unix ms (0: open at creation).
func (q *QueueConfig) opensAtMs() int64 {
	if q.OpensAt == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339, q.OpensAt)
	if err != nil {
		return 0 // Validate refused it
	}
	return t.UnixMilli()
}

// factorMilli is AdmitFactor in thousandths, so the room's rule is integer
// arithmetic (the same on every platform and replay).
func (q *QueueConfig) factorMilli() int64 { return int64(math.Round(q.AdmitFactor * 1000)) }

// offerTTLMs is the lifetime of a waitlist offer.
func (c *ShowConfig) offerTTLMs() int64 {
	if c.Waitlist != nil && c.Waitlist.OfferTTLSeconds > 0 {
		return int64(c.Waitlist.OfferTTLSeconds) * 1000
	}
	return int64(c.HoldTTLSeconds) * 1000
}
