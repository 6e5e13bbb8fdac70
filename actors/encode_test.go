package actors

import (
	"bytes"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/facts"
)

// TestEncodedRun: a run's records encoded beside the writer are exactly
// what the journal would encode, in the run's order, whoever encoded them
// (the encoder goroutine, or the writer: the chunks no one claimed yet); a
// run with a batch of records not encoded beside gives nil (the journal
// encodes them all).
func TestEncodedRun(t *testing.T) {
	recs := func(from uint64, n int) []seatmap.Record {
		var out []seatmap.Record
		for i := range n {
			seq := from + uint64(i)
			out = append(out, seatmap.Record{Seq: seq, At: int64(seq), Facts: []facts.Fact{{Kind: facts.HoldPlaced,
				ID: "show~h" + string(rune('a'+i)), User: "u", GA: []facts.GAPart{{Section: 0, N: 1}}, Quantity: 1, At: int64(seq)}}})
		}
		return out
	}
	encoded := func(r []seatmap.Record) batch {
		return batch{rd: seatmap.Ready{Records: r}, enc: encodeRecords(r)}
	}
	plain := func(r []seatmap.Record) batch { return batch{rd: seatmap.Ready{Records: r}} }
	// the writer encodes what the encoder has not claimed (here: all of it)
	unstarted := func(r []seatmap.Record) batch {
		return batch{rd: seatmap.Ready{Records: r}, enc: newEncodedRecords(&seatmap.Ready{Records: r})}
	}
	a, b, c, d := recs(1, 5), recs(6, 4), recs(10, 2), recs(12, 3*encodeChunk+1)
	for _, tc := range []struct {
		name string
		run  []batch
		want bool // encodings expected (else nil)
	}{
		{"one encoded", []batch{encoded(a)}, true},
		{"one plain", []batch{plain(c)}, false},
		{"all encoded", []batch{encoded(a), encoded(b)}, true},
		{"encoded and rows only", []batch{encoded(a), plain(nil), encoded(b)}, true},
		{"one plain among them", []batch{encoded(a), plain(c), encoded(b)}, false},
		{"not started", []batch{unstarted(d)}, true},
		{"started and not", []batch{encoded(a), unstarted(b), encoded(recs(10, 40))}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var all []seatmap.Record
			for _, b := range tc.run {
				all = append(all, b.rd.Records...)
			}
			got := encodedRun(tc.run, len(all))
			if !tc.want {
				if got != nil {
					t.Fatalf("%d encodings, want nil", len(got))
				}
				return
			}
			if len(got) != len(all) {
				t.Fatalf("%d encodings of %d records", len(got), len(all))
			}
			for i := range all {
				if want := facts.EncodeRecord(&all[i]); !bytes.Equal(got[i], want) || !bytes.Equal(encodedRecord(all, got, i), want) {
					t.Fatalf("record %d (seq %d): encoded %x, want %x", i, all[i].Seq, got[i], want)
				}
			}
		})
	}
}
