package seatmap

import (
	"regexp"
	"strconv"
)

// Limits of a show's shape. They keep one show's memory and the cost of one
// command bounded; a 1M-seat show fits well inside them.
const (
	MaxSections       = 1000
	MaxRowsPerSection = 1000
	MaxSeatsPerRow    = 1000
	MaxSeatsPerShow   = 2_000_000
	MaxGACapacity     = 10_000_000
	MaxTiers          = 100
	MaxHoldTTLSeconds = 7200
	MaxPaymentTTL     = 86400
	MaxHoldLifetimeMs = 2 * 3600 * 1000 // a hold never lives past 2 h after creation
	HoldExpiredMemory = 2 * 3600 * 1000 // expired holds answer hold_expired this long (≥ 1 h promised)
	// HoldReleasedMemory is how long (ms) a released hold id is remembered,
	// so that a late copy of the hold command that placed it is refused
	// instead of placing the hold again (a ghost keeping the seats and the
	// user's tally until its TTL). Such a copy is the first attempt of a
	// call that was retried (actors.Booking.call) and reaches the show after
	// the caller had its answer from a later attempt and released the hold.
	// A call gives up at its deadline: the edge's BackendTimeout or Booking's
	// RequestTimeout, 5 s by default, each remote attempt bounded by 2 s
	// (remoteAttempt); a copy still in flight after that is at most in a
	// mailbox or on the wire. 60 s is twelve deadlines. A copy later than
	// that would still place a ghost hold. The ids are in the state rows
	// (released.go), so a shard recovered from rows or a snapshot remembers
	// them as the live one did. Memory: about 60 B per id of Booking's
	// form (BenchmarkHoldReleaseStream: 24.2 MiB for the 420,000 ids of a
	// window at 7,000 releases a second); with the tick's second of slack,
	// 427,000 ids, about 25 MiB, at that rate.
	HoldReleasedMemory = 60 * 1000
	IdempotencyKeepMs  = 25 * 3600 * 1000
	DefaultHoldTTL     = 600
	DefaultPaymentTTL  = 900
	DefaultShardSects  = 32 // unused: a show is one shard (kept for callers that name it)
	// DefaultArchiveAfter is how long (seconds) a terminal order stays in
	// memory before it leaves through Ready.Archive.
	DefaultArchiveAfter = 600
	MaxArchiveAfter     = 86400
	// MaxPayAttempts bounds the payment attempts of one order (and so its
	// history, events and dedupe memory).
	MaxPayAttempts     = 20
	MaxQuantity        = 1000
	MaxSeatsPerCommand = 1000
)

var (
	showIDRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	partIDRe = regexp.MustCompile(`^[A-Za-z0-9_.]{1,32}$`)
)

// ValidShowID reports whether id may name a show.
func ValidShowID(id string) bool { return showIDRe.MatchString(id) }

// ValidPartID reports whether id may name a section, row or tier.
func ValidPartID(id string) bool { return partIDRe.MatchString(id) }

// Tier is a price level; Price is in minor units (cents).
type Tier struct {
	ID    string `json:"id"`
	Price int64  `json:"price"`
}

// Row is one row of a seated section, with seats numbered 1..Seats.
type Row struct {
	ID    string `json:"id"`
	Seats int    `json:"seats"`
}

// Section is either seated (Rows) or general admission (Capacity, no rows).
type Section struct {
	ID       string `json:"id"`
	Tier     string `json:"tier"`
	Rows     []Row  `json:"rows,omitempty"`
	Capacity int    `json:"capacity,omitempty"`
}

// GA reports whether the section is general admission.
func (s *Section) GA() bool { return len(s.Rows) == 0 }

// Seats is the section's capacity.
func (s *Section) Seats() int {
	if s.GA() {
		return s.Capacity
	}
	n := 0
	for _, r := range s.Rows {
		n += r.Seats
	}
	return n
}

// ShowConfig is everything that defines a show. A show is one shard, which
// instantiates every section.
type ShowConfig struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	HoldTTLSeconds    int       `json:"hold_ttl_seconds"`
	PaymentTTLSeconds int       `json:"payment_ttl_seconds"`
	MaxSeatsPerUser   int       `json:"max_seats_per_user"`
	Tiers             []Tier    `json:"tiers"`
	Sections          []Section `json:"sections"`
	// SectionsPerShard is ignored: a show is always one shard. It is still
	// accepted in config JSON so that old documents, journals and snapshots
	// decode; Normalize clears it.
	SectionsPerShard int `json:"sections_per_shard,omitempty"`
	// ArchiveAfterSeconds is how long a terminal order (paid, cancelled,
	// expired) stays in memory before it leaves through Ready.Archive:
	// 0..MaxArchiveAfter, 0 = on the next tick; nil = DefaultArchiveAfter
	// (Normalize fills it).
	ArchiveAfterSeconds *int `json:"archive_after_seconds,omitempty"`
	// Queue, when set, puts a waiting room in front of the show's holds
	// (room.go): every hold then needs an admitted ticket's pass.
	Queue *QueueConfig `json:"queue,omitempty"`
	// Waitlist tunes the waitlist of returned seats (waitlist.go), which
	// every show has; nil takes the defaults.
	Waitlist *WaitlistConfig `json:"waitlist,omitempty"`
}

// ArchiveAfterMs is the retention of terminal orders in milliseconds.
func (c ShowConfig) ArchiveAfterMs() int64 {
	if c.ArchiveAfterSeconds == nil {
		return DefaultArchiveAfter * 1000
	}
	return int64(*c.ArchiveAfterSeconds) * 1000
}

// Normalize fills defaults. Call before Validate.
func (c *ShowConfig) Normalize() {
	if c.HoldTTLSeconds == 0 {
		c.HoldTTLSeconds = DefaultHoldTTL
	}
	if c.PaymentTTLSeconds == 0 {
		c.PaymentTTLSeconds = DefaultPaymentTTL
	}
	c.SectionsPerShard = 0 // ignored: one shard per show
	n := DefaultArchiveAfter
	if c.ArchiveAfterSeconds != nil {
		n = *c.ArchiveAfterSeconds
	}
	c.ArchiveAfterSeconds = &n // a private copy: the caller's pointer is not shared
	c.normalizeRoom()
}

// Shards is the number of shard actors of the show: always 1. A show is one
// shard, so holds, orders and the per-user limit are decided in one step.
func (c *ShowConfig) Shards() int { return 1 }

// ShardOfSection returns the shard that owns section index i: always 0.
func (c *ShowConfig) ShardOfSection(i int) int { return 0 }

// SectionIndex returns the index of the section id, or -1.
func (c *ShowConfig) SectionIndex(id string) int {
	for i := range c.Sections {
		if c.Sections[i].ID == id {
			return i
		}
	}
	return -1
}

// TierPrice returns the price of tier id and whether it exists.
func (c *ShowConfig) TierPrice(id string) (int64, bool) {
	for _, t := range c.Tiers {
		if t.ID == id {
			return t.Price, true
		}
	}
	return 0, false
}

// Validate checks the config against the API contract; the error wraps
// ErrInvalidRequest and says what is wrong.
func (c *ShowConfig) Validate() error {
	bad := func(f string, a ...any) error { return errorf(ErrInvalidRequest, f, a...) }
	if !ValidShowID(c.ID) {
		return bad("id must match [A-Za-z0-9._-]{1,64}")
	}
	if len(c.Name) > 200 {
		return bad("name is longer than 200 bytes")
	}
	if c.HoldTTLSeconds < 1 || c.HoldTTLSeconds > MaxHoldTTLSeconds {
		return bad("hold_ttl_seconds must be in 1..%d", MaxHoldTTLSeconds)
	}
	if c.PaymentTTLSeconds < 1 || c.PaymentTTLSeconds > MaxPaymentTTL {
		return bad("payment_ttl_seconds must be in 1..%d", MaxPaymentTTL)
	}
	if c.MaxSeatsPerUser < 0 {
		return bad("max_seats_per_user must be >= 0")
	}
	if a := c.ArchiveAfterSeconds; a != nil && (*a < 0 || *a > MaxArchiveAfter) {
		return bad("archive_after_seconds must be in 0..%d", MaxArchiveAfter)
	}
	if err := c.validateRoom(); err != nil {
		return err
	}
	if len(c.Tiers) == 0 || len(c.Tiers) > MaxTiers {
		return bad("tiers: 1..%d tiers required", MaxTiers)
	}
	tiers := map[string]bool{}
	for _, t := range c.Tiers {
		if !ValidPartID(t.ID) {
			return bad("tier id %q must match [A-Za-z0-9_.]{1,32}", t.ID)
		}
		if tiers[t.ID] {
			return bad("duplicate tier %q", t.ID)
		}
		if t.Price < 0 || t.Price > 1e12 {
			return bad("tier %q: price must be in 0..1e12 minor units", t.ID)
		}
		tiers[t.ID] = true
	}
	if len(c.Sections) == 0 || len(c.Sections) > MaxSections {
		return bad("sections: 1..%d sections required", MaxSections)
	}
	secs := map[string]bool{}
	total := 0
	for i := range c.Sections {
		s := &c.Sections[i]
		if !ValidPartID(s.ID) {
			return bad("section id %q must match [A-Za-z0-9_.]{1,32}", s.ID)
		}
		if secs[s.ID] {
			return bad("duplicate section %q", s.ID)
		}
		secs[s.ID] = true
		if !tiers[s.Tier] {
			return bad("section %q: unknown tier %q", s.ID, s.Tier)
		}
		if len(s.Rows) > 0 && s.Capacity != 0 {
			return bad("section %q: give rows or capacity, not both", s.ID)
		}
		if len(s.Rows) == 0 {
			if s.Capacity < 1 || s.Capacity > MaxGACapacity {
				return bad("section %q: capacity must be in 1..%d", s.ID, MaxGACapacity)
			}
			total += s.Capacity
			continue
		}
		if len(s.Rows) > MaxRowsPerSection {
			return bad("section %q: at most %d rows", s.ID, MaxRowsPerSection)
		}
		rows := map[string]bool{}
		for _, r := range s.Rows {
			if !ValidPartID(r.ID) {
				return bad("section %q: row id %q must match [A-Za-z0-9_.]{1,32}", s.ID, r.ID)
			}
			if rows[r.ID] {
				return bad("section %q: duplicate row %q", s.ID, r.ID)
			}
			rows[r.ID] = true
			if r.Seats < 1 || r.Seats > MaxSeatsPerRow {
				return bad("section %q row %q: seats must be in 1..%d", s.ID, r.ID, MaxSeatsPerRow)
			}
			total += r.Seats
		}
	}
	if total > MaxSeatsPerShow+MaxGACapacity {
		return bad("the show has %d seats; at most %d", total, MaxSeatsPerShow)
	}
	seated := 0
	for i := range c.Sections {
		if !c.Sections[i].GA() {
			seated += c.Sections[i].Seats()
		}
	}
	if seated > MaxSeatsPerShow {
		return bad("the show has %d numbered seats; at most %d", seated, MaxSeatsPerShow)
	}
	return nil
}

// rowLess orders rows closest to the stage first: the lowest row id, numeric
// ids compared as numbers, others as strings, numbers before names.
func rowLess(a, b string) bool {
	na, ea := strconv.Atoi(a)
	nb, eb := strconv.Atoi(b)
	switch {
	case ea == nil && eb == nil:
		if na != nb {
			return na < nb
		}
		return a < b
	case ea == nil:
		return true
	case eb == nil:
		return false
	}
	return a < b
}
