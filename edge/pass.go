package edge

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// A waiting room's pass: proof that a ticket was admitted, bound to its
// show, user and ticket, valid until the pass's expiry. The edge signs it
// when it answers an admitted ticket and checks it on every hold of the
// show (header X-Queue-Pass, or the user token's queue_pass claim); the
// show's actor checks the ticket itself once more (admitted, pass not
// expired, the caller's), so a pass of a ticket that was taken back stops
// working at once.
//
// Format: "qp1." + base64url(JSON {"s","u","t","e"}) + "." + base64url(HMAC-SHA256(key, "qp1." + payload)).
// The key (Options.QueuePassKey) must be the same on every node.

// MaxPassBytes bounds a pass; longer ones are refused before any decoding.
const MaxPassBytes = 1024

const passPrefix = "qp1."

// queuePass is what a pass says.
type queuePass struct {
	Show   string `json:"s"`
	User   string `json:"u"`
	Ticket string `json:"t"`
	ExpMs  int64  `json:"e"` // Unix ms
}

// passKey derives the default pass key from the admin token (the same on
// every node of a fleet), or makes a random one (valid in this process only).
func passKey(admin string) []byte {
	if admin == "" {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			panic("crypto/rand: " + err.Error())
		}
		return k
	}
	m := hmac.New(sha256.New, []byte(admin))
	m.Write([]byte("boxoffice queue pass v1"))
	return m.Sum(nil)
}

func passMAC(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// mintPass signs p.
func mintPass(key []byte, p queuePass) string {
	payload, _ := json.Marshal(p) // strings and an int: cannot fail
	signed := passPrefix + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(passMAC(key, signed))
}

// passError is a queue_required error: the pass does not admit this hold.
func passError(msg string) error {
	return &seatmap.Error{Err: seatmap.ErrQueueRequired, Msg: msg}
}

// verifyPass checks a pass's signature and expiry (at nowMs) and that it is
// for show and user; it returns what the pass says.
func verifyPass(key []byte, pass, show, user string, nowMs int64) (queuePass, error) {
	var p queuePass
	if len(pass) > MaxPassBytes || !strings.HasPrefix(pass, passPrefix) {
		return p, passError("the queue pass is malformed")
	}
	dot := strings.LastIndexByte(pass, '.')
	if dot <= len(passPrefix) {
		return p, passError("the queue pass is malformed")
	}
	sig, err := base64.RawURLEncoding.DecodeString(pass[dot+1:])
	if err != nil || !hmac.Equal(sig, passMAC(key, pass[:dot])) {
		return p, passError("the queue pass's signature is not valid")
	}
	payload, err := base64.RawURLEncoding.DecodeString(pass[len(passPrefix):dot])
	if err != nil {
		return p, passError("the queue pass is malformed")
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || p.Ticket == "" {
		return queuePass{}, passError("the queue pass is malformed")
	}
	switch {
	case p.Show != show:
		return p, passError("the queue pass is for another show")
	case p.User != user:
		return p, passError("the queue pass is another user's")
	case p.ExpMs <= nowMs:
		return p, passError("the queue pass expired")
	}
	return p, nil
}
