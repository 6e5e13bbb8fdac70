package actors

import (
	"context"
	"errors"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// The waiting room and the waitlist live in the show's actor, with its seat
// map (seatmap/room.go): they are journaled, fenced and recovered with the
// show. These calls implement edge.QueueBackend.

// JoinQueue gives user a ticket for show's waiting room (the one it has, on
// a retry: created=false).
func (b *Booking) JoinQueue(ctx context.Context, show, user string) (seatmap.TicketView, bool, error) {
	res, err := b.showCall(ctx, show, seatmap.Command{Kind: seatmap.KindQueueJoin, User: user, Ticket: newID(show)})
	if err != nil {
		return seatmap.TicketView{}, false, err
	}
	return *res.Ticket, res.Created, nil
}

// QueueTicket answers a ticket of show; user, when set, must own it.
func (b *Booking) QueueTicket(ctx context.Context, user, show, ticket string) (seatmap.TicketView, error) {
	if s, err := parseID(ticket); err != nil || s != show {
		return seatmap.TicketView{}, seatmap.ErrTicketNotFound
	}
	res, err := b.showCall(ctx, show, seatmap.Command{Kind: seatmap.KindQueueGet, User: user, Ticket: ticket})
	if errors.Is(err, seatmap.ErrShowNotFound) {
		err = seatmap.ErrTicketNotFound
	}
	if err != nil {
		return seatmap.TicketView{}, err
	}
	return *res.Ticket, nil
}

// JoinWaitlist adds req.User's entry to the show's waitlist (its live one,
// on a retry: created=false).
func (b *Booking) JoinWaitlist(ctx context.Context, req seatmap.WaitlistRequest) (seatmap.WaitlistEntryView, bool, error) {
	cmd := seatmap.Command{Kind: seatmap.KindWaitlistJoin, User: req.User, Entry: newID(req.Show), Quantity: req.Quantity,
		Together: req.Together, Section: req.Section, Tier: req.Tier}
	res, err := b.showCall(ctx, req.Show, cmd)
	if err != nil {
		return seatmap.WaitlistEntryView{}, false, err
	}
	return *res.Entry, res.Created, nil
}

// entryCmd runs cmd on waitlist entry id of show.
func (b *Booking) entryCmd(ctx context.Context, show, id string, cmd seatmap.Command) (seatmap.WaitlistEntryView, error) {
	if s, err := parseID(id); err != nil || s != show {
		return seatmap.WaitlistEntryView{}, seatmap.ErrEntryNotFound
	}
	cmd.Entry = id
	res, err := b.showCall(ctx, show, cmd)
	if errors.Is(err, seatmap.ErrShowNotFound) {
		err = seatmap.ErrEntryNotFound
	}
	if err != nil {
		return seatmap.WaitlistEntryView{}, err
	}
	return *res.Entry, nil
}

// WaitlistEntry answers an entry of show; user, when set, must own it.
func (b *Booking) WaitlistEntry(ctx context.Context, user, show, entry string) (seatmap.WaitlistEntryView, error) {
	return b.entryCmd(ctx, show, entry, seatmap.Command{Kind: seatmap.KindWaitlistGet, User: user})
}

// LeaveWaitlist takes an entry out of line, declining its offer if it has one.
func (b *Booking) LeaveWaitlist(ctx context.Context, user, show, entry string) (seatmap.WaitlistEntryView, error) {
	return b.entryCmd(ctx, show, entry, seatmap.Command{Kind: seatmap.KindWaitlistLeave, User: user})
}
