package facts

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeHold: the one-loop DecodeHold reads every input as
// decodeHoldFields (through eachField) does: the same row, or an error of
// the same kind.
func FuzzDecodeHold(f *testing.F) {
	for _, h := range []HoldRow{
		{User: "u1", GA: []GAPart{{Section: 0, N: 1}}, Quantity: 1, Amount: 3000, CreatedAt: 1767225600000, ExpiresAt: 1767226200000},
		{User: "u2", Seats: []uint32{0, 9, 1 << 20}, GA: []GAPart{{Section: 0, N: 2}, {Section: 3, N: 0}}, Quantity: 5, Amount: 25000},
		{},
	} {
		b := AppendHold(nil, &h)
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{FormatV1, 0x12, 0x03, 0x01, 0x80}) // packed seats cut in a varint
	f.Add([]byte{FormatV1, 0x1a, 0x02, 0x08})       // a GA part cut
	f.Add([]byte{FormatV1, 0x3d, 1, 2, 3, 4})       // a fixed32 field, skipped
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast, ref HoldRow
		errFast, errRef := DecodeHold(b, &fast), decodeHoldFields(b, &ref)
		if (errFast == nil) != (errRef == nil) || errFast != nil && (errors.Is(errFast, ErrCorrupt) != errors.Is(errRef, ErrCorrupt)) {
			t.Fatalf("%x: DecodeHold %v, through eachField %v", b, errFast, errRef)
		}
		if errFast == nil && !reflect.DeepEqual(fast, ref) {
			t.Fatalf("%x: DecodeHold %+v, through eachField %+v", b, fast, ref)
		}
	})
}

// BenchmarkDecodeHold: one hold row as the fill makes 9 in 10 of them (one
// GA part), decoded into a scratch row; "fields" is the same through
// eachField (the decoder before).
func BenchmarkDecodeHold(b *testing.B) {
	h := HoldRow{User: "u123456", GA: []GAPart{{Section: 0, N: 1}}, Quantity: 1, Amount: 3000,
		CreatedAt: 1767225600000, ExpiresAt: 1767226200000}
	row := AppendHold(nil, &h)
	for _, c := range []struct {
		name   string
		decode func([]byte, *HoldRow) error
	}{{"loop", DecodeHold}, {"fields", decodeHoldFields}} {
		b.Run(c.name, func(b *testing.B) {
			var scratch HoldRow
			for i := 0; i < b.N; i++ {
				if err := c.decode(row, &scratch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
