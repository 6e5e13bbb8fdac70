package seatmap

import (
	"encoding/json"

	"github.com/boxoffice/boxoffice/facts"
)

// roomFactsIn decodes the room facts of recs (nil where a record has none);
// save writes the edits made to them back into recs.
func roomFactsIn(recs []Record) (rf []*RoomFacts, save func()) {
	type at struct {
		i, j int
		rr   *roomRec
	}
	rf = make([]*RoomFacts, len(recs))
	var all []at
	for i := range recs {
		for j, f := range recs[i].Facts {
			if f.Kind != facts.RoomDecided {
				continue
			}
			rr := &roomRec{}
			if json.Unmarshal(f.Config, rr) != nil {
				continue
			}
			rf[i] = rr.Cmd.Room
			all = append(all, at{i, j, rr})
		}
	}
	return rf, func() {
		for _, a := range all {
			doc, err := json.Marshal(a.rr)
			if err != nil {
				panic(err)
			}
			recs[a.i].Facts[a.j].Config = doc
		}
	}
}
