package facts

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/facts/factspb"
	"google.golang.org/protobuf/proto"
)

func randString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return ""
	}
	b := make([]byte, r.IntN(40))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func randFact(r *rand.Rand) Fact {
	f := Fact{Kind: FactKind(1 + r.IntN(int(numFactKinds)-1)), ID: randString(r), User: randString(r), HoldID: randString(r),
		Quantity: r.Int64N(1000), Amount: r.Int64() - r.Int64(), At: r.Int64(), Until: r.Int64(), Key: randString(r),
		Hash: randString(r), Attempt: randString(r), Detail: randString(r), Channel: randString(r)}
	for i := r.IntN(5); i > 0; i-- {
		f.Seats = append(f.Seats, r.Uint32()>>uint(r.IntN(32)))
	}
	for i := r.IntN(3); i > 0; i-- {
		f.GA = append(f.GA, GAPart{Section: uint32(r.IntN(3)), N: uint32(r.IntN(200))})
	}
	if r.IntN(4) == 0 {
		f.Config = []byte(randString(r) + "x")
	}
	return f
}

// TestRecordCodecMatchesSchema encodes random records with the hand-written
// codec and decodes them with the generated code of facts.proto, and back:
// the two agree, so the schema describes what is stored.
func TestRecordCodecMatchesSchema(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	for i := 0; i < 2000; i++ {
		rec := Record{Seq: r.Uint64N(1 << 40), At: r.Int64(), Facts: make([]Fact, r.IntN(4))}
		for j := range rec.Facts {
			rec.Facts[j] = randFact(r)
		}
		b := EncodeRecord(&rec)
		if b[0] != FormatV1 {
			t.Fatalf("format byte %x", b[0])
		}
		var m factspb.Record
		if err := proto.Unmarshal(b[1:], &m); err != nil {
			t.Fatalf("generated code cannot read the record: %v", err)
		}
		back := fromPB(&m)
		if !reflect.DeepEqual(norm(back), norm(rec)) {
			t.Fatalf("through the schema:\n got %+v\nwant %+v", back, rec)
		}
		pb, err := proto.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeRecord(rec.Seq, append([]byte{FormatV1}, pb...))
		if err != nil || !reflect.DeepEqual(norm(got), norm(rec)) {
			t.Fatalf("decode of the schema's encoding: %v\n got %+v\nwant %+v", err, got, rec)
		}
	}
}

func norm(r Record) Record {
	if len(r.Facts) == 0 {
		r.Facts = nil
	}
	for i := range r.Facts {
		f := &r.Facts[i]
		if len(f.Seats) == 0 {
			f.Seats = nil
		}
		if len(f.GA) == 0 {
			f.GA = nil
		}
		if len(f.Config) == 0 {
			f.Config = nil
		}
	}
	return r
}

func fromPB(m *factspb.Record) Record {
	r := Record{Seq: m.Seq, At: m.At}
	for _, f := range m.Facts {
		g := Fact{Kind: FactKind(f.Kind), ID: string(f.Id), User: string(f.User), HoldID: string(f.HoldId), Seats: f.Seats,
			Quantity: f.Quantity, Amount: f.Amount, At: f.At, Until: f.Until, Key: string(f.Key), Hash: string(f.Hash),
			Attempt: string(f.Attempt), Detail: string(f.Detail), Channel: string(f.Channel), Config: f.Config}
		g.GA = gaFromPB(f.Ga)
		r.Facts = append(r.Facts, g)
	}
	return r
}

func TestHoldRowMatchesSchema(t *testing.T) {
	h := HoldRow{User: "u1", Seats: []uint32{0, 9, 1 << 20}, GA: []GAPart{{Section: 0, N: 2}, {Section: 3, N: 0}},
		Quantity: 5, Amount: 25000, CreatedAt: 1767225600000, ExpiresAt: 1767226200000}
	b := AppendHold(nil, &h)
	var m factspb.HoldRow
	if err := proto.Unmarshal(b[1:], &m); err != nil {
		t.Fatal(err)
	}
	if string(m.User) != h.User || !reflect.DeepEqual(m.Seats, h.Seats) || len(m.Ga) != 2 || m.Ga[1].Section != 3 ||
		m.Quantity != 5 || m.Amount != 25000 || m.CreatedAt != h.CreatedAt || m.ExpiresAt != h.ExpiresAt {
		t.Fatalf("schema reads %v", &m)
	}
	var back HoldRow
	if err := DecodeHold(b, &back); err != nil || !reflect.DeepEqual(back, h) {
		t.Fatalf("%v %+v", err, back)
	}
}

func TestFormats(t *testing.T) {
	legacy := []byte(`{"k":2,"t":1,"h":"x","u":"y","sec":"s0","q":3}`)
	r, err := DecodeRecord(7, legacy)
	if err != nil || r.Seq != 7 || string(r.Legacy) != string(legacy) || r.Facts != nil {
		t.Fatalf("legacy record: %+v %v", r, err)
	}
	if string(EncodeRecord(&r)) != string(legacy) {
		t.Fatal("a legacy record must re-encode as stored")
	}
	for _, bad := range [][]byte{nil, {0x02, 1}, {0xff}} {
		if _, err := DecodeRecord(1, bad); err == nil {
			t.Fatalf("%x decoded", bad)
		}
	}
	if _, err := DecodeRecord(1, []byte{0x02}); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("a newer format: %v", err)
	}
	v1 := EncodeRecord(&Record{Seq: 3, Facts: []Fact{{Kind: HoldReleased, ID: "h"}}})
	if _, err := DecodeRecord(4, v1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a record under another seq: %v", err)
	}
}

// FuzzDecodeRecord: stored bytes never make the decoder panic, and what
// decodes re-encodes to something that decodes alike.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(EncodeRecord(&Record{Seq: 1, At: 5, Facts: []Fact{{Kind: HoldPlaced, ID: "h", Seats: []uint32{1, 2}, GA: []GAPart{{1, 2}}}}}))
	f.Add([]byte(`{"k":1}`))
	f.Add([]byte{1, 0x1a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(0, b)
		if err != nil {
			return
		}
		r2, err := DecodeRecord(0, EncodeRecord(&r))
		if err != nil || !reflect.DeepEqual(norm(r2), norm(r)) {
			t.Fatalf("re-encoded record differs: %v\n%+v\n%+v", err, r, r2)
		}
	})
}

// FuzzDecodeReleasedSet: stored bytes never make the decoder of a row of
// released ids panic, and what decodes re-encodes to the same ids.
func FuzzDecodeReleasedSet(f *testing.F) {
	f.Add(AppendReleasedID(AppendReleasedID(AppendReleasedSet(nil), "s~abc"), []byte("other")))
	f.Add([]byte{FormatV1, 0x0a, 0x00})
	f.Add([]byte{FormatV1, 0x08, 0x05})
	f.Fuzz(func(t *testing.T, b []byte) {
		var ids []string
		if err := DecodeReleasedSet(b, func(id string) { ids = append(ids, id) }); err != nil {
			return
		}
		enc := AppendReleasedSet(nil)
		for _, id := range ids {
			if id == "" {
				t.Fatalf("decoded an empty id from %x", b)
			}
			enc = AppendReleasedID(enc, id)
		}
		var again []string
		if err := DecodeReleasedSet(enc, func(id string) { again = append(again, id) }); err != nil || !slices.Equal(again, ids) {
			t.Fatalf("re-encoded ids differ: %v\n%q\n%q", err, ids, again)
		}
	})
}

// TestArchivedOrderJSON: an archived order decodes to the view it was, to
// the byte of its JSON (the API answers it), and a JSON one is passed back.
func TestArchivedOrderJSON(t *testing.T) {
	for _, o := range []OrderView{
		{ID: "s~o1", Show: "s", HoldID: "s~h1", User: "u", Seats: []string{"a-1-1", "a-1-2"}, Quantity: 2, Amount: 200,
			Status: StatusPaid, PaymentDueAt: 9, CreatedAt: 1, History: []History{{Status: StatusPendingPayment, At: 1},
				{Status: "notified", At: 5, Detail: "log"}}, Attempt: "A"},
		{ID: "s~o2", Show: "s", HoldID: "s~h2", User: "v", Seats: []string{}, General: map[string]int{"pit": 3, "lawn": 1},
			Quantity: 4, Status: StatusCancelled, History: []History{{Status: StatusCancelled, At: 2}}},
	} {
		want, _ := json.Marshal(o)
		got, legacy, err := DecodeArchived(EncodeArchived(&o))
		if err != nil || legacy {
			t.Fatal(err, legacy)
		}
		if g, _ := json.Marshal(got); string(g) != string(want) {
			t.Fatalf("archived order\n got %s\nwant %s", g, want)
		}
		if _, legacy, _ := DecodeArchived(want); !legacy {
			t.Fatal("a JSON order is not recognised as the format before")
		}
	}
}
