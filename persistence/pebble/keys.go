package pebble

import (
	"encoding/binary"
	"fmt"
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
