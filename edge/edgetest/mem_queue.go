package edgetest

import (
	"context"
	"errors"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
)

var _ edge.QueueBackend = (*MemBackend)(nil)

// Events returns and forgets the outbox events of show other than payment
// requests (waitlist.offered, show.sold_out, ...), in order.
func (m *MemBackend) Events(show string) []seatmap.Event {
	s, err := m.show(show)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.events
	s.events = nil
	return out
}

// JoinQueue implements edge.QueueBackend.
func (m *MemBackend) JoinQueue(ctx context.Context, show, user string) (seatmap.TicketView, bool, error) {
	res, err := m.run(ctx, show, seatmap.Command{Kind: seatmap.KindQueueJoin, User: user, Ticket: NewID(show)})
	if err != nil {
		return seatmap.TicketView{}, false, err
	}
	return *res.Ticket, res.Created, nil
}

// QueueTicket implements edge.QueueBackend.
func (m *MemBackend) QueueTicket(ctx context.Context, user, show, ticket string) (seatmap.TicketView, error) {
	res, err := m.run(ctx, show, seatmap.Command{Kind: seatmap.KindQueueGet, User: user, Ticket: ticket})
	if errors.Is(err, seatmap.ErrShowNotFound) {
		err = seatmap.ErrTicketNotFound
	}
	if err != nil {
		return seatmap.TicketView{}, err
	}
	return *res.Ticket, nil
}

// JoinWaitlist implements edge.QueueBackend.
func (m *MemBackend) JoinWaitlist(ctx context.Context, req seatmap.WaitlistRequest) (seatmap.WaitlistEntryView, bool, error) {
	res, err := m.run(ctx, req.Show, seatmap.Command{Kind: seatmap.KindWaitlistJoin, User: req.User, Entry: NewID(req.Show),
		Quantity: req.Quantity, Together: req.Together, Section: req.Section, Tier: req.Tier})
	if err != nil {
		return seatmap.WaitlistEntryView{}, false, err
	}
	return *res.Entry, res.Created, nil
}

func (m *MemBackend) entryCmd(ctx context.Context, show string, cmd seatmap.Command) (seatmap.WaitlistEntryView, error) {
	res, err := m.run(ctx, show, cmd)
	if errors.Is(err, seatmap.ErrShowNotFound) {
		err = seatmap.ErrEntryNotFound
	}
	if err != nil {
		return seatmap.WaitlistEntryView{}, err
	}
	return *res.Entry, nil
}

// WaitlistEntry implements edge.QueueBackend.
func (m *MemBackend) WaitlistEntry(ctx context.Context, user, show, entry string) (seatmap.WaitlistEntryView, error) {
	return m.entryCmd(ctx, show, seatmap.Command{Kind: seatmap.KindWaitlistGet, User: user, Entry: entry})
}

// LeaveWaitlist implements edge.QueueBackend.
func (m *MemBackend) LeaveWaitlist(ctx context.Context, user, show, entry string) (seatmap.WaitlistEntryView, error) {
	return m.entryCmd(ctx, show, seatmap.Command{Kind: seatmap.KindWaitlistLeave, User: user, Entry: entry})
}
