package facts

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// FormatV1 is the first byte of every value encoded by this package: a
// protobuf message of facts.proto follows.
const FormatV1 byte = 0x01

// legacyJSON is the first byte of a value of the format before FormatV1 (JSON).
const legacyJSON byte = '{'

// ErrUnknownFormat: a stored value starts with a format byte this code does
// not know (written by a newer version, or not a value of this package).
var ErrUnknownFormat = errors.New("facts: unknown format")

// ErrCorrupt: a stored value does not decode.
var ErrCorrupt = errors.New("facts: corrupt value")

// IsLegacy reports whether a stored value is of the JSON format before FormatV1.
func IsLegacy(b []byte) bool { return len(b) > 0 && b[0] == legacyJSON }

// payload checks the format byte and returns the message bytes.
func payload(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty value", ErrCorrupt)
	}
	if b[0] != FormatV1 {
		return nil, fmt.Errorf("%w: first byte 0x%02x", ErrUnknownFormat, b[0])
	}
	return b[1:], nil
}

// Field numbers of Record and Fact (facts.proto).
const (
	recSeq, recAt, recFacts = 1, 2, 3

	fKind, fID, fUser, fHoldID, fSeats, fGA, fQuantity, fAmount, fAt, fUntil = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
	fKey, fHash, fAttempt, fDetail, fChannel, fConfig                        = 11, 12, 13, 14, 15, 16

	gaSection, gaN = 1, 2
)

// AppendRecord appends r, encoded (FormatV1), to dst. A legacy record is
// appended as it was stored.
func AppendRecord(dst []byte, r *Record) []byte {
	if r.Legacy != nil {
		return append(dst, r.Legacy...)
	}
	dst = append(dst, FormatV1)
	dst = appendUint(dst, recSeq, r.Seq)
	dst = appendInt(dst, recAt, r.At)
	for i := range r.Facts {
		dst = protowire.AppendTag(dst, recFacts, protowire.BytesType)
		dst = appendLenPrefixed(dst, func(b []byte) []byte { return appendFact(b, &r.Facts[i]) })
	}
	return dst
}

// EncodeRecord returns r encoded.
func EncodeRecord(r *Record) []byte { return AppendRecord(make([]byte, 0, 64+32*len(r.Facts)), r) }

// DecodeRecord decodes a stored record. seq is the sequence number its key
// carries (0: unknown); a legacy record takes it, a FormatV1 record must
// agree with it. The record owns its memory (data may be reused).
func DecodeRecord(seq uint64, data []byte) (Record, error) {
	if IsLegacy(data) {
		return Record{Seq: seq, Legacy: append([]byte(nil), data...)}, nil
	}
	b, err := payload(data)
	if err != nil {
		return Record{}, err
	}
	var r Record
	err = eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		switch num {
		case recSeq:
			r.Seq = v
		case recAt:
			r.At = int64(v)
		case recFacts:
			var f Fact
			if err := decodeFact(raw, &f); err != nil {
				return err
			}
			r.Facts = append(r.Facts, f)
		}
		return nil
	})
	if err != nil {
		return Record{}, err
	}
	if seq != 0 && r.Seq != seq {
		return Record{}, fmt.Errorf("%w: record %d stored under seq %d", ErrCorrupt, r.Seq, seq)
	}
	return r, nil
}

func appendFact(b []byte, f *Fact) []byte {
	b = appendUint(b, fKind, uint64(f.Kind))
	b = appendString(b, fID, f.ID)
	b = appendString(b, fUser, f.User)
	b = appendString(b, fHoldID, f.HoldID)
	b = appendPacked(b, fSeats, f.Seats)
	b = appendGA(b, fGA, f.GA)
	b = appendInt(b, fQuantity, f.Quantity)
	b = appendInt(b, fAmount, f.Amount)
	b = appendInt(b, fAt, f.At)
	b = appendInt(b, fUntil, f.Until)
	b = appendString(b, fKey, f.Key)
	b = appendString(b, fHash, f.Hash)
	b = appendString(b, fAttempt, f.Attempt)
	b = appendString(b, fDetail, f.Detail)
	b = appendString(b, fChannel, f.Channel)
	if len(f.Config) > 0 {
		b = protowire.AppendTag(b, fConfig, protowire.BytesType)
		b = protowire.AppendBytes(b, f.Config)
	}
	return b
}

func decodeFact(b []byte, f *Fact) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		var err error
		switch num {
		case fKind:
			f.Kind = FactKind(v)
		case fID:
			f.ID = string(raw)
		case fUser:
			f.User = string(raw)
		case fHoldID:
			f.HoldID = string(raw)
		case fSeats:
			f.Seats, err = appendUnpacked(f.Seats, typ, v, raw)
		case fGA:
			var g GAPart
			if err = decodeGA(raw, &g); err == nil {
				f.GA = append(f.GA, g)
			}
		case fQuantity:
			f.Quantity = int64(v)
		case fAmount:
			f.Amount = int64(v)
		case fAt:
			f.At = int64(v)
		case fUntil:
			f.Until = int64(v)
		case fKey:
			f.Key = string(raw)
		case fHash:
			f.Hash = string(raw)
		case fAttempt:
			f.Attempt = string(raw)
		case fDetail:
			f.Detail = string(raw)
		case fChannel:
			f.Channel = string(raw)
		case fConfig:
			f.Config = append([]byte(nil), raw...)
		}
		return err
	})
}

func appendGA(b []byte, num protowire.Number, parts []GAPart) []byte {
	for _, g := range parts {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		n := 0
		if g.Section != 0 {
			n += 1 + protowire.SizeVarint(uint64(g.Section))
		}
		if g.N != 0 {
			n += 1 + protowire.SizeVarint(uint64(g.N))
		}
		b = protowire.AppendVarint(b, uint64(n))
		b = appendUint(b, gaSection, uint64(g.Section))
		b = appendUint(b, gaN, uint64(g.N))
	}
	return b
}

func decodeGA(b []byte, g *GAPart) error {
	return eachField(b, func(num protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
		switch num {
		case gaSection:
			g.Section = uint32(v)
		case gaN:
			g.N = uint32(v)
		}
		return nil
	})
}

// The appenders write proto3 fields, leaving out zero values.

func appendUint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendInt(b []byte, num protowire.Number, v int64) []byte { return appendUint(b, num, uint64(v)) }

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendPacked(b []byte, num protowire.Number, vs []uint32) []byte {
	if len(vs) == 0 {
		return b
	}
	n := 0
	for _, v := range vs {
		n += protowire.SizeVarint(uint64(v))
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	for _, v := range vs {
		b = protowire.AppendVarint(b, uint64(v))
	}
	return b
}

// appendLenPrefixed appends the length-prefixed output of enc. It encodes
// into b's spare capacity, then moves the bytes right by the prefix's size.
func appendLenPrefixed(b []byte, enc func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, 0) // room for a one-byte length, the common case
	b = enc(b)
	n := len(b) - start - 1
	if s := protowire.SizeVarint(uint64(n)); s > 1 {
		b = append(b, make([]byte, s-1)...)
		copy(b[start+s:], b[start+1:start+1+n])
	}
	protowire.AppendVarint(b[start:start], uint64(n))
	return b
}

// appendUnpacked appends a repeated uint32 field, packed (raw) or not (v).
func appendUnpacked(dst []uint32, typ protowire.Type, v uint64, raw []byte) ([]uint32, error) {
	if typ == protowire.VarintType {
		return append(dst, uint32(v)), nil
	}
	for len(raw) > 0 {
		x, n := protowire.ConsumeVarint(raw)
		if n < 0 {
			return nil, fmt.Errorf("%w: packed varint: %v", ErrCorrupt, protowire.ParseError(n))
		}
		dst = append(dst, uint32(x))
		raw = raw[n:]
	}
	return dst, nil
}

// eachField calls fn for each field of a message: its number, wire type and
// value (varints in v; length-delimited bytes in raw, aliasing b). Groups
// and fixed-width fields are skipped (this schema has none); unknown fields
// are passed to fn, which ignores them.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %v", ErrCorrupt, protowire.ParseError(n))
		}
		b = b[n:]
		var v uint64
		var raw []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			raw, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %v", ErrCorrupt, num, protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.VarintType && typ != protowire.BytesType {
			continue
		}
		if err := fn(num, typ, v, raw); err != nil {
			return err
		}
	}
	return nil
}
