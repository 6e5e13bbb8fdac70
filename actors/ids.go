package actors

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Hold, order and payment-attempt ids name their show, so any node can route
// them without a lookup: "<show>~<token>". A payment attempt's token is 128
// bits from crypto/rand. A hold's, order's, queue ticket's and waitlist
// entry's token (newID) is the same 26 characters of base32, but its first 9
// carry the creation time (ms since 1970, base 26 in 'a'-'z': byte order is
// time order until the year 2142) and the other 83 bits are from crypto/rand,
// so ids still cannot be guessed. Why: a show's state rows are keyed by these
// ids, and ids that sort by creation time put each checkpoint's new rows at
// the end of Pebble's key space, where a flush does not overlap the rows
// already stored and a compaction moves files instead of rewriting the whole
// state (bench/README.md, "Ids in creation order"). A show id never contains '~'.
// Ids of round 1 ("<show>~<shards>~<random>") still parse: their show is the
// part before the first '~'.

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func randomToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return idEncoding.EncodeToString(b[:])
}

// tokenChars is the length of a random token: 16 bytes in unpadded base32.
const tokenChars = 26

// timeChars is how many of a token's first characters carry its creation
// time: 26^9 ms is 172 years.
const timeChars = 9

// newID returns "<show>~<token>", the token sorting by creation time, in one
// allocation (a hold id per hold: on the booking path of every hold).
func newID(show string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return newIDAt(show, time.Now().UnixMilli(), b)
}

// newIDAt is newID at a time (ms since 1970) with the random bytes b: b's
// first 45 bits (9 characters of 5 bits) are replaced by the time's 9 digits
// in base 26, most significant first, each below 26 so that it encodes as
// 'a'+digit.
func newIDAt(show string, ms int64, b [16]byte) string {
	var digits [timeChars]uint64
	t := uint64(max(ms, 0))
	for i := timeChars - 1; i >= 0; i-- {
		digits[i], t = t%26, t/26
	}
	var prefix uint64 // 45 bits
	for _, d := range digits {
		prefix = prefix<<5 | d
	}
	hi := binary.BigEndian.Uint64(b[:8])
	hi = prefix<<(64-5*timeChars) | hi&(1<<(64-5*timeChars)-1)
	binary.BigEndian.PutUint64(b[:8], hi)
	var buf [128]byte
	id := buf[:0]
	if len(show)+1+tokenChars > len(buf) {
		id = make([]byte, 0, len(show)+1+tokenChars)
	}
	id = append(id, show...)
	id = append(id, '~')
	id = idEncoding.AppendEncode(id, b[:])
	return string(id)
}

// errMalformedID: the id does not have the form "<show>~<random>".
var errMalformedID = errors.New("malformed id")

// parseID returns the show an id belongs to.
func parseID(id string) (show string, err error) {
	a := strings.IndexByte(id, '~')
	if a <= 0 || a == len(id)-1 || len(id) > 200 {
		return "", errMalformedID
	}
	return id[:a], nil
}

// NewShowID returns a random show id, for shows created without one.
func NewShowID() string { return "show-" + randomToken()[:12] }
