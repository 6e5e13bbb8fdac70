package facts

import (
	"encoding/binary"
	"fmt"

	"github.com/boxoffice/boxoffice/facts/factspb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// RowKind is the first byte of a state row's key: what the row holds. The
// rest of the key names the item (an id, or a big-endian index).
type RowKind byte

// The kinds of state rows, in the order a restore wants them.
const (
	RowConfig   RowKind = 0x01 // ConfigRow; key: the kind alone
	RowMeta     RowKind = 0x02 // MetaRow; key: the kind alone
	RowSeats    RowKind = 0x03 // SeatRow; key + uint32 BE: index of the first seat of a run of SeatRun
	RowArchSold RowKind = 0x04 // CountRow; key + uint32 BE: section index
	RowArchUser RowKind = 0x05 // CountRow; key + user
	RowHold     RowKind = 0x06 // HoldRow; key + hold id
	RowExpired  RowKind = 0x07 // ExpiredRow; key + hold id
	RowOrder    RowKind = 0x08 // OrderRow; key + order id
	RowOrderKey RowKind = 0x09 // KeyRow; key + idempotency key
	RowHoldKey  RowKind = 0x0a // KeyRow; key + idempotency key
	RowRoom     RowKind = 0x0b // the waiting room and the waitlist (JSON, the seat map's format, as EncodeConfig); key: the kind alone
	RowReleased RowKind = 0x0c // ReleasedRow; key + hold id (stores written before RowReleasedAt: read, then deleted)
	// RowReleasedAt: ReleasedSet; key + uint64 BE: a millisecond, the ids of
	// the holds released at it (within the seat map's HoldReleasedMemory)
	RowReleasedAt RowKind = 0x0d
	numRowKinds   RowKind = 0x0e
	rowKindFirst          = RowConfig
)

// SeatRun is how many seats one RowSeats row holds (the last one of a show
// may hold fewer): small, so that a hold of one seat rewrites little.
const SeatRun = 256

// RowKey returns the key of a row of kind k for the item id.
func RowKey(k RowKind, id string) string { return string(k) + id }

// RowIndexKey returns the key of a row of kind k for the item index i.
func RowIndexKey(k RowKind, i uint32) string {
	var b [5]byte
	b[0] = byte(k)
	binary.BigEndian.PutUint32(b[1:], i)
	return string(b[:])
}

// SplitRowKey returns a row key's kind and the rest (an id, or 4 bytes of index).
func SplitRowKey(key string) (RowKind, string, error) {
	if len(key) == 0 || RowKind(key[0]) < rowKindFirst || RowKind(key[0]) >= numRowKinds {
		return 0, "", fmt.Errorf("%w: row key %q", ErrCorrupt, key)
	}
	return RowKind(key[0]), key[1:], nil
}

// RowMsKey returns the key of a row of kind k for the millisecond ms.
func RowMsKey(k RowKind, ms int64) string {
	var b [9]byte
	b[0] = byte(k)
	binary.BigEndian.PutUint64(b[1:], uint64(ms))
	return string(b[:])
}

// RowMs decodes the millisecond part of a RowReleasedAt key.
func RowMs(rest string) (int64, error) {
	if len(rest) != 8 {
		return 0, fmt.Errorf("%w: row millisecond %q", ErrCorrupt, rest)
	}
	return int64(binary.BigEndian.Uint64([]byte(rest))), nil
}

// RowIndex decodes the index part of a RowSeats or RowArchSold key.
func RowIndex(rest string) (uint32, error) {
	if len(rest) != 4 {
		return 0, fmt.Errorf("%w: row index %q", ErrCorrupt, rest)
	}
	return binary.BigEndian.Uint32([]byte(rest)), nil
}

// MetaRow is the show's position: its sequence number, the latest instant
// it saw, its shard number; and its sizes, for a restore to size its tables.
type MetaRow struct {
	Seq                  uint64
	Now                  int64
	Shard                int32
	Holds, Orders, Users int64
}

// HoldRow is a live hold.
type HoldRow struct {
	User      string
	Seats     []uint32
	GA        []GAPart
	Quantity  int64
	Amount    int64
	CreatedAt int64
	ExpiresAt int64
}

// OrderRow is an order in memory.
type OrderRow struct {
	HoldID        string
	User          string
	Seats         []uint32
	GA            []GAPart
	Quantity      int64
	Amount        int64
	Status        string
	DueAt         int64
	CreatedAt     int64
	History       []History
	Events        int64
	Seen          []string
	IdemKey       string
	HoldCreatedAt int64
	HoldExpiresAt int64
	DoneAt        int64
	Attempt       string
	Attempts      []string
	Refunds       []string
}

// ExpiredRow is a hold that expired at At, and its user.
type ExpiredRow struct {
	At   int64
	User string
}

// ReleasedRow is the id of a hold released at At, remembered so that a late
// copy of the command that placed it is refused (rows of stores written
// before it have none: the memory starts empty).
type ReleasedRow struct {
	At int64
}

// A ReleasedSet row (RowReleasedAt) holds the ids of the holds released at
// one millisecond: FormatV1, then field relID once per id (as the message
// `ReleasedSet { repeated string ids = 1; }`). One row a millisecond, not
// one an id: under an on-sale's releases (25,000 a second) a show's
// checkpoints put a row per millisecond of releases, and delete it a minute
// later, instead of a row per id (issue 12, bench/README.md). Build one with
// AppendReleasedSet and AppendReleasedID.

// KeyRow is an idempotency key: the hold or order it made, the request's
// hash, when.
type KeyRow struct {
	ID   string
	Hash string
	At   int64
}

// Field numbers of the hot rows (facts.proto).
const (
	metaSeq, metaNow, metaShard, metaHolds, metaOrders, metaUsers      = 1, 2, 3, 4, 5, 6
	holdUser, holdSeats, holdGA, holdQty, holdAmount, holdCrt, holdExp = 1, 2, 3, 4, 5, 6, 7
	expAt, expUser                                                     = 1, 2
	relAt                                                              = 1
	relID                                                              = 1
	keyID, keyHash, keyAt                                              = 1, 2, 3
	countN                                                             = 1
	seatStates                                                         = 1
	configDoc                                                          = 1
)

// EncodeMeta encodes a MetaRow.
func EncodeMeta(m MetaRow) []byte {
	b := append(make([]byte, 0, 64), FormatV1) // room for every field: one allocation a turn, not four
	b = appendUint(b, metaSeq, m.Seq)
	b = appendInt(b, metaNow, m.Now)
	b = appendInt(b, metaShard, int64(m.Shard))
	b = appendInt(b, metaHolds, m.Holds)
	b = appendInt(b, metaOrders, m.Orders)
	return appendInt(b, metaUsers, m.Users)
}

// DecodeMeta decodes a MetaRow.
func DecodeMeta(data []byte) (MetaRow, error) {
	var m MetaRow
	b, err := payload(data)
	if err == nil {
		err = eachField(b, func(num protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
			switch num {
			case metaSeq:
				m.Seq = v
			case metaNow:
				m.Now = int64(v)
			case metaShard:
				m.Shard = int32(v)
			case metaHolds:
				m.Holds = int64(v)
			case metaOrders:
				m.Orders = int64(v)
			case metaUsers:
				m.Users = int64(v)
			}
			return nil
		})
	}
	return m, err
}

// EncodeConfig encodes a ConfigRow holding the config document.
func EncodeConfig(doc []byte) []byte {
	b := []byte{FormatV1}
	b = protowire.AppendTag(b, configDoc, protowire.BytesType)
	return protowire.AppendBytes(b, doc)
}

// DecodeConfig returns the config document of a ConfigRow (aliasing data).
func DecodeConfig(data []byte) ([]byte, error) { return decodeBytesField(data, configDoc) }

// EncodeSeats encodes a SeatRow of seat states.
func EncodeSeats(states []byte) []byte {
	b := make([]byte, 0, len(states)+8)
	b = append(b, FormatV1)
	b = protowire.AppendTag(b, seatStates, protowire.BytesType)
	return protowire.AppendBytes(b, states)
}

// DecodeSeats returns the seat states of a SeatRow (aliasing data).
func DecodeSeats(data []byte) ([]byte, error) { return decodeBytesField(data, seatStates) }

func decodeBytesField(data []byte, field protowire.Number) ([]byte, error) {
	var out []byte
	b, err := payload(data)
	if err == nil {
		err = eachField(b, func(num protowire.Number, _ protowire.Type, _ uint64, raw []byte) error {
			if num == field {
				out = raw
			}
			return nil
		})
	}
	return out, err
}

// AppendHold appends an encoded HoldRow to dst.
func AppendHold(dst []byte, h *HoldRow) []byte {
	dst = append(dst, FormatV1)
	dst = appendString(dst, holdUser, h.User)
	dst = appendPacked(dst, holdSeats, h.Seats)
	dst = appendGA(dst, holdGA, h.GA)
	dst = appendInt(dst, holdQty, h.Quantity)
	dst = appendInt(dst, holdAmount, h.Amount)
	dst = appendInt(dst, holdCrt, h.CreatedAt)
	return appendInt(dst, holdExp, h.ExpiresAt)
}

// DecodeHold decodes a HoldRow; the strings are copies, the slices its own,
// but GA reuses h.GA's array (decode into one scratch HoldRow to spare an
// allocation a row, and copy GA out before the next).
func DecodeHold(data []byte, h *HoldRow) error {
	b, err := payload(data)
	if err != nil {
		return err
	}
	*h = HoldRow{GA: h.GA[:0]}
	return eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		var err error
		switch num {
		case holdUser:
			h.User = string(raw)
		case holdSeats:
			h.Seats, err = appendUnpacked(h.Seats, typ, v, raw)
		case holdGA:
			var g GAPart
			if err = decodeGA(raw, &g); err == nil {
				h.GA = append(h.GA, g)
			}
		case holdQty:
			h.Quantity = int64(v)
		case holdAmount:
			h.Amount = int64(v)
		case holdCrt:
			h.CreatedAt = int64(v)
		case holdExp:
			h.ExpiresAt = int64(v)
		}
		return err
	})
}

// EncodeExpired encodes an ExpiredRow.
func EncodeExpired(e ExpiredRow) []byte {
	b := []byte{FormatV1}
	b = appendInt(b, expAt, e.At)
	return appendString(b, expUser, e.User)
}

// DecodeExpired decodes an ExpiredRow.
func DecodeExpired(data []byte) (ExpiredRow, error) {
	var e ExpiredRow
	b, err := payload(data)
	if err == nil {
		err = eachField(b, func(num protowire.Number, _ protowire.Type, v uint64, raw []byte) error {
			switch num {
			case expAt:
				e.At = int64(v)
			case expUser:
				e.User = string(raw)
			}
			return nil
		})
	}
	return e, err
}

// AppendReleased appends an encoded ReleasedRow to dst.
func AppendReleased(dst []byte, r ReleasedRow) []byte {
	return appendInt(append(dst, FormatV1), relAt, r.At)
}

// DecodeReleased decodes a ReleasedRow.
func DecodeReleased(data []byte) (ReleasedRow, error) {
	var r ReleasedRow
	b, err := payload(data)
	if err == nil {
		err = eachField(b, func(num protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
			if num == relAt {
				r.At = int64(v)
			}
			return nil
		})
	}
	return r, err
}

// AppendReleasedSet starts an encoded ReleasedSet in dst: add its ids with
// AppendReleasedID.
func AppendReleasedSet(dst []byte) []byte { return append(dst, FormatV1) }

// AppendReleasedID appends id (not empty) to the ReleasedSet being encoded
// at the end of dst.
func AppendReleasedID[S ~string | ~[]byte](dst []byte, id S) []byte {
	dst = protowire.AppendTag(dst, relID, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(len(id)))
	return append(dst, id...)
}

// DecodeReleasedSet decodes a ReleasedSet, calling fn with each id (a copy,
// fn may keep it) in order.
func DecodeReleasedSet(data []byte, fn func(id string)) error {
	b, err := payload(data)
	if err != nil {
		return err
	}
	return eachField(b, func(num protowire.Number, typ protowire.Type, _ uint64, raw []byte) error {
		if num != relID {
			return nil
		}
		if typ != protowire.BytesType || len(raw) == 0 {
			return fmt.Errorf("%w: released id of type %d, %d bytes", ErrCorrupt, typ, len(raw))
		}
		fn(string(raw))
		return nil
	})
}

// EncodeKey encodes a KeyRow.
func EncodeKey(k KeyRow) []byte {
	b := []byte{FormatV1}
	b = appendString(b, keyID, k.ID)
	b = appendString(b, keyHash, k.Hash)
	return appendInt(b, keyAt, k.At)
}

// DecodeKey decodes a KeyRow.
func DecodeKey(data []byte) (KeyRow, error) {
	var k KeyRow
	b, err := payload(data)
	if err == nil {
		err = eachField(b, func(num protowire.Number, _ protowire.Type, v uint64, raw []byte) error {
			switch num {
			case keyID:
				k.ID = string(raw)
			case keyHash:
				k.Hash = string(raw)
			case keyAt:
				k.At = int64(v)
			}
			return nil
		})
	}
	return k, err
}

// EncodeCount encodes a CountRow.
func EncodeCount(n int64) []byte { return appendInt([]byte{FormatV1}, countN, n) }

// DecodeCount decodes a CountRow.
func DecodeCount(data []byte) (int64, error) {
	var n int64
	b, err := payload(data)
	if err == nil {
		err = eachField(b, func(num protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
			if num == countN {
				n = int64(v)
			}
			return nil
		})
	}
	return n, err
}

// EncodeOrder encodes an OrderRow.
func EncodeOrder(o *OrderRow) []byte {
	m := &factspb.OrderRow{HoldId: []byte(o.HoldID), User: []byte(o.User), Seats: o.Seats, Ga: gaToPB(o.GA),
		Quantity: o.Quantity, Amount: o.Amount, Status: []byte(o.Status), DueAt: o.DueAt, CreatedAt: o.CreatedAt,
		History: historyToPB(o.History), Events: o.Events, Seen: bytesList(o.Seen), IdemKey: []byte(o.IdemKey),
		HoldCreatedAt: o.HoldCreatedAt, HoldExpiresAt: o.HoldExpiresAt, DoneAt: o.DoneAt, Attempt: []byte(o.Attempt),
		Attempts: bytesList(o.Attempts), Refunds: bytesList(o.Refunds)}
	return marshal(m)
}

// DecodeOrder decodes an OrderRow.
func DecodeOrder(data []byte) (OrderRow, error) {
	var m factspb.OrderRow
	if err := unmarshal(data, &m); err != nil {
		return OrderRow{}, err
	}
	return OrderRow{HoldID: string(m.HoldId), User: string(m.User), Seats: m.Seats, GA: gaFromPB(m.Ga),
		Quantity: m.Quantity, Amount: m.Amount, Status: string(m.Status), DueAt: m.DueAt, CreatedAt: m.CreatedAt,
		History: historyFromPB(m.History), Events: m.Events, Seen: stringList(m.Seen), IdemKey: string(m.IdemKey),
		HoldCreatedAt: m.HoldCreatedAt, HoldExpiresAt: m.HoldExpiresAt, DoneAt: m.DoneAt, Attempt: string(m.Attempt),
		Attempts: stringList(m.Attempts), Refunds: stringList(m.Refunds)}, nil
}

func bytesList(l []string) [][]byte {
	if len(l) == 0 {
		return nil
	}
	out := make([][]byte, len(l))
	for i, s := range l {
		out[i] = []byte(s)
	}
	return out
}

func stringList(l [][]byte) []string {
	if len(l) == 0 {
		return nil
	}
	out := make([]string, len(l))
	for i, b := range l {
		out[i] = string(b)
	}
	return out
}

// EncodeSnapshot encodes a whole state: every row at seq, in the order given.
func EncodeSnapshot(seq uint64, rows []Row) []byte {
	m := &factspb.Snapshot{Seq: seq, Rows: make([]*factspb.SnapshotRow, len(rows))}
	for i, r := range rows {
		m.Rows[i] = &factspb.SnapshotRow{Key: []byte(r.Key), Value: r.Value}
	}
	return marshal(m)
}

// DecodeSnapshot decodes EncodeSnapshot's output.
func DecodeSnapshot(data []byte) (seq uint64, rows []Row, err error) {
	var m factspb.Snapshot
	if err := unmarshal(data, &m); err != nil {
		return 0, nil, err
	}
	rows = make([]Row, len(m.Rows))
	for i, r := range m.Rows {
		rows[i] = Row{Key: string(r.Key), Value: r.Value}
	}
	return m.Seq, rows, nil
}

// EncodeArchived encodes a finished order for the archive.
func EncodeArchived(o *OrderView) []byte {
	m := &factspb.ArchivedOrder{Id: []byte(o.ID), Show: []byte(o.Show), HoldId: []byte(o.HoldID), User: []byte(o.User),
		Seats: o.Seats, Quantity: int64(o.Quantity), Amount: o.Amount, Status: []byte(o.Status),
		PaymentDueAt: o.PaymentDueAt, CreatedAt: o.CreatedAt, History: historyToPB(o.History), Attempt: []byte(o.Attempt)}
	if len(o.General) > 0 {
		m.General = make(map[string]int64, len(o.General))
		for k, v := range o.General {
			m.General[k] = int64(v)
		}
	}
	return marshal(m)
}

// DecodeArchived decodes an archived order: FormatV1, or the JSON of
// OrderView that the format before wrote (decoded by the caller: it returns
// legacy true and no view).
func DecodeArchived(data []byte) (o OrderView, legacy bool, err error) {
	if IsLegacy(data) {
		return OrderView{}, true, nil
	}
	var m factspb.ArchivedOrder
	if err := unmarshal(data, &m); err != nil {
		return OrderView{}, false, err
	}
	o = OrderView{ID: string(m.Id), Show: string(m.Show), HoldID: string(m.HoldId), User: string(m.User), Seats: m.Seats,
		Quantity: int(m.Quantity), Amount: m.Amount, Status: string(m.Status), PaymentDueAt: m.PaymentDueAt,
		CreatedAt: m.CreatedAt, History: historyFromPB(m.History), Attempt: string(m.Attempt)}
	if o.Seats == nil {
		o.Seats = []string{}
	}
	if len(m.General) > 0 {
		o.General = make(map[string]int, len(m.General))
		for k, v := range m.General {
			o.General[k] = int(v)
		}
	}
	return o, false, nil
}

func marshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend([]byte{FormatV1}, m)
	if err != nil {
		panic("facts: marshal: " + err.Error()) // these messages always marshal
	}
	return b
}

func unmarshal(data []byte, m proto.Message) error {
	b, err := payload(data)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

func gaToPB(parts []GAPart) []*factspb.GAPart {
	if len(parts) == 0 {
		return nil
	}
	out := make([]*factspb.GAPart, len(parts))
	for i, g := range parts {
		out[i] = &factspb.GAPart{Section: g.Section, N: g.N}
	}
	return out
}

func gaFromPB(parts []*factspb.GAPart) []GAPart {
	if len(parts) == 0 {
		return nil
	}
	out := make([]GAPart, len(parts))
	for i, g := range parts {
		out[i] = GAPart{Section: g.Section, N: g.N}
	}
	return out
}

func historyToPB(h []History) []*factspb.HistoryEntry {
	out := make([]*factspb.HistoryEntry, len(h))
	for i, e := range h {
		out[i] = &factspb.HistoryEntry{Status: []byte(e.Status), At: e.At, Detail: []byte(e.Detail)}
	}
	return out
}

func historyFromPB(h []*factspb.HistoryEntry) []History {
	out := make([]History, len(h))
	for i, e := range h {
		out[i] = History{Status: string(e.Status), At: e.At, Detail: string(e.Detail)}
	}
	return out
}
