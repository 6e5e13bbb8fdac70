package sim

import (
	"fmt"
	"strconv"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Show shapes the scenarios create. Hold and payment windows are long so
// that nothing expires during a run and the invariant checks stay exact.
const (
	simHoldTTLSeconds    = seatmap.MaxHoldTTLSeconds
	simPaymentTTLSeconds = 3600
)

// raceShow is a show with one section "s0" of rows × perRow seats (rows
// "1".."rows"); the seat race aims at its seats.
func raceShow(id string, rows, perRow int) seatmap.ShowConfig {
	sec := seatmap.Section{ID: "s0", Tier: "std"}
	for r := 1; r <= rows; r++ {
		sec.Rows = append(sec.Rows, seatmap.Row{ID: strconv.Itoa(r), Seats: perRow})
	}
	return seatmap.ShowConfig{ID: id, Name: "seat race " + id, HoldTTLSeconds: simHoldTTLSeconds,
		PaymentTTLSeconds: simPaymentTTLSeconds, Tiers: []seatmap.Tier{{ID: "std", Price: 5000}},
		Sections: []seatmap.Section{sec}}
}

// raceSeat is the id of the n-th seat (0-based) of a raceShow's section.
func raceSeat(n, perRow int) string {
	return "s0-" + strconv.Itoa(n/perRow+1) + "-" + strconv.Itoa(n%perRow+1)
}

// saleShow is a flash-sale show of about seats seats: one sixth in a general
// admission section "ga" (tier "ga"), the rest in seated sections s0, s1, ...
// of at most 100 seats (rows of 20) alternating between tiers "front" and
// "back". Each user may hold at most 4 seats.
func saleShow(id string, seats int) seatmap.ShowConfig {
	if seats < 2 {
		seats = 2
	}
	cfg := seatmap.ShowConfig{ID: id, Name: "flash sale " + id, HoldTTLSeconds: simHoldTTLSeconds,
		PaymentTTLSeconds: simPaymentTTLSeconds, MaxSeatsPerUser: 4,
		Tiers: []seatmap.Tier{{ID: "front", Price: 12000}, {ID: "back", Price: 6000}, {ID: "ga", Price: 4000}}}
	ga := seats / 6
	seated := seats - ga
	for i := 0; seated > 0; i++ {
		n := min(seated, 100)
		seated -= n
		sec := seatmap.Section{ID: fmt.Sprintf("s%d", i), Tier: []string{"front", "back"}[i%2]}
		for r := 1; n > 0; r++ {
			k := min(n, 20)
			n -= k
			sec.Rows = append(sec.Rows, seatmap.Row{ID: strconv.Itoa(r), Seats: k})
		}
		cfg.Sections = append(cfg.Sections, sec)
	}
	if ga > 0 {
		cfg.Sections = append(cfg.Sections, seatmap.Section{ID: "ga", Tier: "ga", Capacity: ga})
	}
	return cfg
}

// capacityOf is the number of seats and GA units of cfg.
func capacityOf(cfg seatmap.ShowConfig) int {
	n := 0
	for i := range cfg.Sections {
		n += cfg.Sections[i].Seats()
	}
	return n
}

// sectionOfSeat returns the section part of a seat id ("s0-1-2" -> "s0").
// Section ids cannot contain '-', so the first one ends it.
func sectionOfSeat(seat string) string {
	for i := 0; i < len(seat); i++ {
		if seat[i] == '-' {
			return seat[:i]
		}
	}
	return seat
}
