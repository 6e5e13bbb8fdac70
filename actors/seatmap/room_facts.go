package seatmap

import (
	"encoding/json"
	"fmt"

	"github.com/boxoffice/boxoffice/facts"
)

// The room and the waitlist in records and state rows. What they decided
// during a command (RoomFacts) and the commands of their own (joining the
// queue or the waitlist, leaving it) are written down as one fact,
// facts.RoomDecided, after the command's other facts; their state is one
// state row, facts.RowRoom (the snapshot's room and waitlist parts).

// roomKind reports whether k is a command of the room or the waitlist that
// changes state: it has no facts of its own (RoomDecided carries it).
func roomKind(k Kind) bool {
	return k == KindQueueJoin || k == KindWaitlistJoin || k == KindWaitlistLeave
}

// roomRec is the JSON of a RoomDecided fact: the command (with Room, what
// the room decided) and the user its result marked in the room (roomMarks).
type roomRec struct {
	Cmd    Command `json:"cmd"`
	Marked string  `json:"marked,omitempty"`
}

// roomRecord writes down the room's part of the command being applied (it
// was applied already) and marks the room row changed.
func (s *Shard) roomRecord(c *Command, res *Result) {
	rec := roomRec{Cmd: *c, Marked: markedUser(c, res)}
	rec.Cmd.Token, rec.Cmd.Show = "", nil
	doc, err := json.Marshal(rec)
	if err != nil {
		panic("seatmap: a command does not marshal: " + err.Error())
	}
	s.facts = append(s.facts, facts.Fact{Kind: facts.RoomDecided, At: c.Now, Config: doc})
	s.dirty.room = true
}

// markedUser is the user whose ticket roomMarks looks at for c's result.
func markedUser(c *Command, res *Result) string {
	switch {
	case res.Err != nil || !res.Created:
		return ""
	case c.Kind == KindHold && res.Hold != nil:
		return res.Hold.User
	case c.Kind == KindOrder && res.Order != nil:
		return res.Order.User
	case c.Kind == KindWaitlistJoin && res.Entry != nil:
		return res.Entry.User
	}
	return ""
}

// applyRoomFact applies a RoomDecided fact: a command of the room is
// applied again (the room's own state decides it as it did), then the
// room's recorded decisions, as Replay always did.
func (s *Shard) applyRoomFact(f *facts.Fact) error {
	var rec roomRec
	if err := json.Unmarshal(f.Config, &rec); err != nil {
		return fmt.Errorf("room fact: %w", err)
	}
	c := rec.Cmd
	was := s.replaying
	s.replaying = true
	defer func() { s.replaying = was }()
	var res Result
	switch {
	case roomKind(c.Kind):
		var changed bool
		if res, changed = s.apply(&c); res.Err != nil || !changed {
			return fmt.Errorf("room command %s did not apply: %v", c.Kind, res.Err)
		}
	case rec.Marked != "":
		res.Created = true
		switch c.Kind {
		case KindHold:
			res.Hold = &HoldView{User: rec.Marked}
		case KindOrder:
			res.Order = &OrderView{User: rec.Marked}
		}
	}
	s.roomAfter(&c, &res, true)
	if err := s.factErr; err != nil {
		s.factErr = nil
		return err
	}
	s.dirty.room = true
	return nil
}

// roomState is the value of the room row.
type roomState struct {
	Room     *snapRoom     `json:"room,omitempty"`
	Waitlist *snapWaitlist `json:"waitlist,omitempty"`
}

// hasRoom reports whether the shard has a room row.
func (s *Shard) hasRoom() bool { return s.room != nil || s.wl != nil }

func (s *Shard) roomRow() facts.Row {
	doc, err := json.Marshal(roomState{Room: s.snapRoom(), Waitlist: s.snapWaitlist()})
	if err != nil {
		panic("seatmap: the room does not marshal: " + err.Error())
	}
	return facts.Row{Key: facts.RowKey(facts.RowRoom, ""), Value: facts.EncodeConfig(doc)}
}

// RecordRoomFacts returns what the room and the waitlist decided in rec (its
// RoomDecided fact), or nil. For observers (the simulator's checks).
func RecordRoomFacts(rec Record) *RoomFacts {
	for i := range rec.Facts {
		if rec.Facts[i].Kind != facts.RoomDecided {
			continue
		}
		var rr roomRec
		if json.Unmarshal(rec.Facts[i].Config, &rr) == nil {
			return rr.Cmd.Room
		}
	}
	return nil
}
