package pebble

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Key prefixes, one per kind of record.
const (
	prefixJournal  byte = 'j'
	prefixSnapshot byte = 's'
	prefixOutbox   byte = 'o'
	prefixMeta     byte = 'm'
	prefixKV       byte = 'k'
	prefixRows     byte = 'r'
	prefixRowsSeq  byte = 'q'
)

// maxShardLen bounds shard names; identities are short ("show/<id>/<n>").
const maxShardLen = 1024

// metaAckedOutboxID holds the highest outbox id ever acknowledged, so that the
// id counter survives a restart after the relay emptied the outbox.
var metaAckedOutboxID = []byte{prefixMeta, 'o', 'u', 't', 'b', 'o', 'x', '.', 'a', 'c', 'k', 'e', 'd'}

// metaOutboxHeaderFrom holds the first outbox id whose value carries the
// origin header (see outboxMagic).
var metaOutboxHeaderFrom = append([]byte{prefixMeta}, "outbox.header-from"...)

func checkShard(shard string) error {
	if shard == "" || len(shard) > maxShardLen {
		return fmt.Errorf("%w: %q", ErrInvalidShard, shard)
	}
	return nil
}

// appendShardPrefix appends kind, uvarint(len(shard)) and shard.
func appendShardPrefix(dst []byte, kind byte, shard string) []byte {
	dst = append(dst, kind)
	dst = binary.AppendUvarint(dst, uint64(len(shard)))
	return append(dst, shard...)
}

func appendJournalKey(dst []byte, shard string, seq uint64) []byte {
	dst = appendShardPrefix(dst, prefixJournal, shard)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// appendGroupKey appends the key of the journal group first..last (first <
// last): the journal key of last, then first.
func appendGroupKey(dst []byte, shard string, first, last uint64) []byte {
	dst = appendJournalKey(dst, shard, last)
	return binary.BigEndian.AppendUint64(dst, first)
}

// decodeJournalSuffix reads the seqs of a journal key's suffix (after the
// shard prefix): a plain entry's (first == last, group false) or a group's.
func decodeJournalSuffix(b []byte) (first, last uint64, group bool, err error) {
	switch len(b) {
	case 8:
		last = binary.BigEndian.Uint64(b)
		return last, last, false, nil
	case 16:
		last, first = binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])
		if first < last {
			return first, last, true, nil
		}
	}
	return 0, 0, false, fmt.Errorf("%w: journal key suffix %x", ErrCorrupt, b)
}

// groupValueLen is the size of the group value of entries.
func groupValueLen(entries []Entry) int {
	n := 0
	for _, e := range entries {
		n += protowire.SizeVarint(uint64(len(e.Data))) + len(e.Data)
	}
	return n
}

// appendGroupValue appends the group value of entries: uvarint(len) data each.
func appendGroupValue(dst []byte, entries []Entry) []byte {
	for _, e := range entries {
		dst = binary.AppendUvarint(dst, uint64(len(e.Data)))
		dst = append(dst, e.Data...)
	}
	return dst
}

// appendGroupEntries appends the entries of group first..last with seq >
// after, decoded from val (their Data alias val).
func appendGroupEntries(dst []Entry, first, last uint64, val []byte, after uint64) ([]Entry, error) {
	for seq := first; seq <= last; seq++ {
		n, w := binary.Uvarint(val)
		if w <= 0 || uint64(len(val)-w) < n {
			return dst, fmt.Errorf("%w: journal group %d..%d: entry %d cut short", ErrCorrupt, first, last, seq)
		}
		if seq > after {
			dst = append(dst, Entry{Seq: seq, Data: val[w : w+int(n) : w+int(n)]})
		}
		val = val[w+int(n):]
	}
	if len(val) != 0 {
		return dst, fmt.Errorf("%w: journal group %d..%d: %d bytes after its entries", ErrCorrupt, first, last, len(val))
	}
	return dst, nil
}

func appendRowKey(dst []byte, shard, key string) []byte {
	dst = appendShardPrefix(dst, prefixRows, shard)
	return append(dst, key...)
}

func rowsSeqKey(shard string) []byte {
	return appendShardPrefix(nil, prefixRowsSeq, shard)
}

func snapshotKey(shard string) []byte {
	return appendShardPrefix(nil, prefixSnapshot, shard)
}

func appendOutboxKey(dst []byte, id uint64) []byte {
	dst = append(dst, prefixOutbox)
	return binary.BigEndian.AppendUint64(dst, id)
}

func kvKey(key string) []byte {
	return append([]byte{prefixKV}, key...)
}

// prefixEnd returns the smallest key greater than every key starting with p,
// or nil if there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// decodeShardKey splits a journal or snapshot key into shard and the rest.
func decodeShardKey(key []byte) (shard string, rest []byte, err error) {
	if len(key) < 2 {
		return "", nil, fmt.Errorf("%w: short key %x", ErrCorrupt, key)
	}
	n, w := binary.Uvarint(key[1:])
	if w <= 0 || uint64(len(key)-1-w) < n {
		return "", nil, fmt.Errorf("%w: bad shard length in key %x", ErrCorrupt, key)
	}
	start := 1 + w
	return string(key[start : start+int(n)]), key[start+int(n):], nil
}

// decodeSeq reads the big-endian uint64 of a journal key suffix, outbox key
// suffix or snapshot value header.
func decodeSeq(b []byte) (uint64, error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("%w: short number %x", ErrCorrupt, b)
	}
	return binary.BigEndian.Uint64(b), nil
}
