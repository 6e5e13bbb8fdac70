package edge

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

func TestVerifyPass(t *testing.T) {
	key := passKey("admin")
	good := queuePass{Show: "gala", User: "ann", Ticket: "gala~t1", ExpMs: 2000}
	pass := mintPass(key, good)
	forge := func(p queuePass) string { return mintPass(passKey("other"), p) }
	swapPayload := func(p queuePass) string {
		other := mintPass(key, p)
		return other[:strings.LastIndexByte(other, '.')] + pass[strings.LastIndexByte(pass, '.'):]
	}
	for _, tc := range []struct {
		name, pass, show, user string
		now                    int64
		msg                    string // "" = valid
	}{
		{"valid", pass, "gala", "ann", 1999, ""},
		{"expired", pass, "gala", "ann", 2000, "expired"},
		{"another show", pass, "other", "ann", 1000, "another show"},
		{"another user", pass, "gala", "bob", 1000, "another user's"},
		{"another key", forge(good), "gala", "ann", 1000, "signature"},
		{"a payload that was not signed", swapPayload(queuePass{Show: "gala", User: "ann", Ticket: "gala~t1", ExpMs: 1 << 50}), "gala", "ann", 1000, "signature"},
		{"no signature", pass[:strings.LastIndexByte(pass, '.')], "gala", "ann", 1000, "malformed"},
		{"no prefix", strings.TrimPrefix(pass, passPrefix), "gala", "ann", 1000, "malformed"},
		{"another version", "qp2." + strings.TrimPrefix(pass, passPrefix), "gala", "ann", 1000, "malformed"},
		{"empty", "", "gala", "ann", 1000, "malformed"},
		{"too long", pass + strings.Repeat("A", MaxPassBytes), "gala", "ann", 1000, "malformed"},
		{"signed garbage", signed(key, "not json"), "gala", "ann", 1000, "malformed"},
		{"signed unknown fields", signed(key, `{"s":"gala","u":"ann","t":"x","e":2000,"admin":true}`), "gala", "ann", 1000, "malformed"},
		{"signed without ticket", signed(key, `{"s":"gala","u":"ann","e":2000}`), "gala", "ann", 1000, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := verifyPass(key, tc.pass, tc.show, tc.user, tc.now)
			if tc.msg == "" {
				if err != nil || p != good {
					t.Fatalf("verify: %+v, %v", p, err)
				}
				return
			}
			if !errors.Is(err, seatmap.ErrQueueRequired) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("verify: %v, want queue_required saying %q", err, tc.msg)
			}
		})
	}
	if string(passKey("admin")) != string(passKey("admin")) || string(passKey("")) == string(passKey("")) {
		t.Fatal("the derived key must be stable per admin token, the random one random")
	}
}

// signed signs an arbitrary payload with the pass format.
func signed(key []byte, payload string) string {
	s := passPrefix + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return s + "." + base64.RawURLEncoding.EncodeToString(passMAC(key, s))
}

// FuzzVerifyPass: no input makes verifyPass panic, and only passes minted
// with the key verify; what they say is what was minted.
func FuzzVerifyPass(f *testing.F) {
	key := passKey("admin")
	f.Add(mintPass(key, queuePass{Show: "s", User: "u", Ticket: "s~t", ExpMs: 10}), "s", "u")
	f.Add("qp1..", "s", "u")
	f.Add("qp1.e30.AAAA", "s", "u")
	f.Add(signed(key, `{"s":"s","u":"u","t":"x","e":5}`), "s", "u")
	f.Fuzz(func(t *testing.T, pass, show, user string) {
		p, err := verifyPass(key, pass, show, user, 1)
		if err != nil {
			if !errors.Is(err, seatmap.ErrQueueRequired) {
				t.Fatalf("error %v is not queue_required", err)
			}
			return
		}
		if p.Show != show || p.User != user || p.ExpMs <= 1 || p.Ticket == "" {
			t.Fatalf("accepted %q as %+v for %s/%s", pass, p, show, user)
		}
		if again := mintPass(key, p); again != pass && !strings.HasPrefix(pass, passPrefix) {
			t.Fatalf("accepted a pass that is not one: %q", pass)
		}
	})
}

// FuzzParseWaitlist: the waitlist body parser never panics, refuses with
// invalid_request (or unknown_section/tier), and what it accepts is valid
// JSON that encoding/json reads the same way.
func FuzzParseWaitlist(f *testing.F) {
	for _, s := range []string{
		`{"user":"u","quantity":2,"together":true,"section":"s0"}`, `{"user":"u","quantity":1,"tier":"vip"}`,
		`{"quantity":3}`, `{"user":"u","quantity":2,"together":null}`, `{"user":"u","quantity":2,"together":tru}`,
		`{"user":"u","quantity":51}`, `{}`, `[]`, `{"user":"u","quantity":1,"together":false} x`,
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, needUser bool) {
		req, err := parseWaitlist(body, needUser)
		if err != nil {
			if !errors.Is(err, seatmap.ErrInvalidRequest) && !errors.Is(err, seatmap.ErrUnknownSection) && !errors.Is(err, seatmap.ErrUnknownTier) {
				t.Fatalf("parser error %v", err)
			}
			return
		}
		if req.Quantity < 1 || req.Quantity > seatmap.MaxWaitlistQuantity || (req.Section != "" && req.Tier != "") ||
			(needUser && req.User == "") || len(req.User) > MaxUserBytes {
			t.Fatalf("accepted %q as %+v", body, req)
		}
		want := map[string]any{"quantity": float64(req.Quantity)}
		if req.User != "" {
			want["user"] = req.User
		}
		if req.Together {
			want["together"] = true
		}
		jsonAgrees(t, body, want)
	})
}

// FuzzParseQueueJoin: the same for the queue's join body.
func FuzzParseQueueJoin(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"user":"u"}`, `{"user":null}`, `{"user":""}`, `{"user":1}`, `{"x":1}`} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, needUser bool) {
		user, err := parseQueueJoin(body, needUser)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		if (needUser && user == "") || len(user) > MaxUserBytes {
			t.Fatalf("accepted %q as user %q", body, user)
		}
		if len(body) > 0 && user != "" {
			jsonAgrees(t, body, map[string]any{"user": user})
		}
	})
}
