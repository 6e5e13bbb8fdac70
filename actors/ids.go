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

func newID(show string) string { return show + "~" + randomToken() }

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
