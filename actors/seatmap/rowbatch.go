package seatmap

import (
	"fmt"

	"github.com/boxoffice/boxoffice/facts"
)

// RowBatch is state rows decoded for a Restorer (AddBatch). Decoding a row
// needs nothing of the shard being built, so a loader may fill one batch on
// its goroutine while a Restorer adds the batch before on another: a hold
// row's protobuf decode and the parse of its id's token were about a third
// of the build's CPU at a million holds, and the build was the longer side
// of a load (bench/README.md, "Recovery from Pebble, a margin").
//
// Callers' duties: one goroutine at a time; Reset before filling it again.
// A RowBatch holds no pointer into its Restorer's shard, nor the Restorer into
// it once AddBatch returned.
type RowBatch struct {
	holds []batchHold
	ga    []facts.GAPart // the holds' GA parts, back to back
	other []facts.Row    // every other row (copies)
	hr    facts.HoldRow  // scratch: its GA array is reused
}

// batchHold is a decoded hold row.
type batchHold struct {
	id                           string   // the row key without its kind
	user                         string   // its own copy
	seats                        []uint32 // its own
	key                          idKey    // the bits of the id's token, when token
	token                        bool     // the id ends in "~" and a canonical token (its prefix is checked when added)
	gaFrom, gaTo                 int32    // its parts in RowBatch.ga
	quantity                     int32
	amount, createdAt, expiresAt int64
}

// Len is how many rows the batch holds.
func (b *RowBatch) Len() int { return len(b.holds) + len(b.other) }

// Reset empties the batch, keeping its arrays.
func (b *RowBatch) Reset() {
	clear(b.holds) // drop the strings and seats for the collector
	clear(b.other)
	b.holds, b.ga, b.other = b.holds[:0], b.ga[:0], b.other[:0]
}

// Add decodes one row into the batch. It copies what it keeps (value may be
// reused by the caller afterwards); key is kept.
func (b *RowBatch) Add(key string, value []byte) error {
	kind, id, err := facts.SplitRowKey(key)
	if err != nil {
		return err
	}
	if kind != facts.RowHold {
		b.other = append(b.other, facts.Row{Key: key, Value: append([]byte(nil), value...)})
		return nil
	}
	hr := &b.hr
	if err := facts.DecodeHold(value, hr); err != nil {
		return fmt.Errorf("seatmap: row %q: %w", key, err)
	}
	h := batchHold{id: id, user: hr.User, seats: hr.Seats, quantity: int32(hr.Quantity), amount: hr.Amount,
		createdAt: hr.CreatedAt, expiresAt: hr.ExpiresAt, gaFrom: int32(len(b.ga))}
	if n := len(id) - idTokenLen; n > 0 && id[n-1] == '~' {
		h.key, h.token = parseToken(id[n:])
	}
	b.ga = append(b.ga, hr.GA...)
	h.gaTo = int32(len(b.ga))
	b.holds = append(b.holds, h)
	return nil
}

// AddBatch adds the batch's rows (its other rows first: rows may come in any
// order).
func (r *Restorer) AddBatch(b *RowBatch) error {
	for _, row := range b.other {
		if err := r.Add(row.Key, row.Value); err != nil {
			return err
		}
	}
	for i := range b.holds {
		if i%touchGroup == 0 && r.s != nil && touchBatches {
			r.s.touchHolds(b.holds[i:min(i+touchGroup, len(b.holds))])
		}
		h := &b.holds[i]
		r.n++
		if r.s == nil { // before the config and the position: keep it
			p := *h
			p.gaFrom, p.gaTo = int32(len(r.pendingGA)), int32(len(r.pendingGA)+int(h.gaTo-h.gaFrom))
			r.pendingGA = append(r.pendingGA, b.ga[h.gaFrom:h.gaTo]...)
			r.pendingHolds = append(r.pendingHolds, p)
			continue
		}
		if err := r.addDecoded(h, b.ga[h.gaFrom:h.gaTo]); err != nil {
			return fmt.Errorf("seatmap: row %q: %w", string(facts.RowHold)+h.id, err)
		}
	}
	return nil
}

// sharedTake is the take a Restorer gave the last hold of one GA part and
// no seat (a take every such hold of the part and amount shares; never
// dropped): the next such hold takes it without three map lookups (the
// interned part, twice, and the take: 0.03-0.2 s of CPU in profiles of a
// million-hold load, nine in ten of them GA of one seat).
type sharedTake struct {
	part   facts.GAPart
	amount int64
	take   uint32 // 0: none yet
}

// addDecoded restores a decoded hold (see addHold).
func (r *Restorer) addDecoded(h *batchHold, ga []facts.GAPart) error {
	st := &r.shared
	var take uint32
	if len(h.seats) == 0 && len(ga) == 1 && st.take != 0 && ga[0] == st.part && h.amount == st.amount {
		take = st.take
	} else {
		gp, err := r.s.gaParts(ga)
		if err != nil {
			return err
		}
		for _, seat := range h.seats {
			if int(seat) >= len(r.s.seats) {
				return fmt.Errorf("hold %s: no seat %d", h.id, seat)
			}
		}
		take = r.s.newTake(h.seats, gp, h.amount)
		if len(h.seats) == 0 && len(ga) == 1 {
			*st = sharedTake{part: ga[0], amount: h.amount, take: take}
		}
	}
	return r.s.restoreHoldTake(h.id, h.key, h.token, h.user, take, h.quantity, h.createdAt, h.expiresAt)
}
