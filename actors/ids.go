package actors

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
)

// Hold, order and payment-attempt ids name their show, so any node can route
// them without a lookup: "<show>~<random>". The random part is 128 bits from
// crypto/rand, so ids cannot be guessed. A show id never contains '~'.
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

// newID returns "<show>~<random token>" in one allocation (a hold id per
// hold: on the booking path of every hold).
func newID(show string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
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
