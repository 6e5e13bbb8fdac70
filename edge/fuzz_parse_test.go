package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

// checkParseErr asserts a parser error is an invalid_request with a message.
func checkParseErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, seatmap.ErrInvalidRequest) {
		t.Fatalf("parser error %v is not invalid_request", err)
	}
	if seatmap.ErrorMessage(err) == "" {
		t.Fatalf("parser error without a message")
	}
}

// jsonAgrees asserts that a body the strict reader accepted is valid JSON
// and that encoding/json reads the same values from it.
func jsonAgrees(t *testing.T, body []byte, want map[string]any) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("accepted invalid JSON %q", body)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Fatalf("field %s: reader %#v, encoding/json %#v (body %q)", k, v, got[k], body)
		}
	}
}

func FuzzParseHold(f *testing.F) {
	for _, s := range []string{
		`{"user":"u1","seats":["s0-1-5","s0-1-6"]}`, `{"user":"u1","section":"s0","quantity":2}`,
		`{"user":"u1","tier":"std","quantity":2}`, `{"user":"\u00e9\ud83d\ude00","seats":["a\"b"]}`,
		`{"user":"u","quantity":1e3,"tier":"x"}`, `{"user":"u","seats":[]}`, `{}`, `[]`, `{"user":null}`,
		` {"user" : "u" , "section":"s","quantity":-0} `, `{"user":"u","seats":["x"]} {}`, `{"user":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseHold(body, true)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		if req.User == "" || len(req.User) > MaxUserBytes || !utf8.ValidString(req.User) {
			t.Fatalf("accepted user %q", req.User)
		}
		seatsMode := len(req.Seats) > 0
		qtyMode := req.Quantity >= 1 && req.Quantity <= seatmap.MaxQuantity && (req.Section == "") != (req.Tier == "")
		if seatsMode == qtyMode {
			t.Fatalf("accepted %+v from %q", req, body)
		}
		want := map[string]any{"user": req.User}
		if seatsMode {
			seats := make([]any, len(req.Seats))
			for i, s := range req.Seats {
				seats[i] = s
			}
			want["seats"] = seats
		} else {
			want["quantity"] = float64(req.Quantity)
		}
		jsonAgrees(t, body, want)
		if bytes.Contains(body, []byte(`"User"`)) {
			t.Fatalf("accepted a case-folded key: %q", body)
		}
	})
}

func FuzzParseExtend(f *testing.F) {
	for _, s := range []string{`{"seconds":60}`, `{"seconds":0}`, `{"seconds":7200}`, `{"seconds":1.5}`, `{"seconds":"60"}`, `{"Seconds":60}`, `{"seconds":0060}`, `{"seconds":99999999999999999999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := parseExtend(body)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		if n < 1 || n > seatmap.MaxHoldTTLSeconds {
			t.Fatalf("accepted seconds %d", n)
		}
		jsonAgrees(t, body, map[string]any{"seconds": float64(n)})
	})
}

func FuzzParsePay(f *testing.F) {
	for _, s := range []string{`{"payment_token":"tok_ok"}`, `{"payment_token":""}`, `{"payment_token":"t\\u0000"}`, `{"payment_token":["x"]}`, `{"payment_token":"a","payment_token":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parsePay(body)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		if tok == "" || len(tok) > MaxTokenBytes {
			t.Fatalf("accepted token %q", tok)
		}
		jsonAgrees(t, body, map[string]any{"payment_token": tok})
	})
}

func FuzzParseOrder(f *testing.F) {
	for _, s := range []string{`{"show":"s1","hold":"s1~0~abc"}`, `{"show":"a b","hold":"x"}`, `{"show":"s1"}`, `{"hold":"x","show":"s"}`} {
		f.Add([]byte(s), []byte(""))
		f.Add([]byte(s), []byte("key-1"))
	}
	f.Fuzz(func(t *testing.T, body, key []byte) {
		req, err := parseOrder(body, key)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		if !seatmap.ValidShowID(req.Show) || req.HoldID == "" || len(req.HoldID) > maxIDBytes || len(req.IdemKey) > MaxIdemKeyBytes {
			t.Fatalf("accepted %+v", req)
		}
		if (len(key) > 0) != (req.IdemHash != "") || req.IdemKey != string(key) {
			t.Fatalf("idempotency %+v from key %q", req, key)
		}
		jsonAgrees(t, body, map[string]any{"show": req.Show, "hold": req.HoldID})
	})
}

func FuzzParseShow(f *testing.F) {
	for _, s := range []string{
		`{"id":"opt-id","name":"x","hold_ttl_seconds":600,"payment_ttl_seconds":900,"max_seats_per_user":0,"tiers":[{"id":"std","price":5000}],"sections":[{"id":"s0","tier":"std","rows":[{"id":"1","seats":20}]},{"id":"pit","tier":"std","capacity":100}]}`,
		`{"tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}],"sections_per_shard":1}`,
		`{"tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1,"rows":[{"id":"1","seats":1}]}]}`,
		`{"tiers":[{"id":"t","price":1,"id":"u"}],"sections":[]}`, `{"tiers":[[[[[[[[[[]]]]]]]]]]}`, `null`, `{"id":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cfg, err := parseShow(body)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		n := cfg
		n.Normalize()
		if err := n.Validate(); err != nil {
			t.Fatalf("accepted a config the core refuses: %v", err)
		}
		if strings.Contains(string(body), `"ID"`) {
			t.Fatalf("accepted a case-folded key: %q", body)
		}
	})
}

func FuzzRoute(f *testing.F) {
	for _, p := range []string{"/v1/shows", "/v1/shows/s1", "/v1/shows/s1/seats", "/v1/shows/s1/holds", "/v1/shows/s1/holds/h",
		"/v1/shows/s1/holds/h/extend", "/v1/orders", "/v1/orders/o", "/v1/orders/o/pay", "/v1/orders/o/cancel", "/healthz",
		"/readyz", "/metrics", "/", "/shows/s1", "/assets/show.js", "//", "/v1//shows", "/v1/shows/", "v1/shows", ""} {
		for _, m := range []string{"GET", "POST", "DELETE", "PUT"} {
			f.Add(m, p)
		}
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		m := route([]byte(method), []byte(path))
		if m.route == routeUnmatched {
			if m.p1 != nil || m.p2 != nil {
				t.Fatalf("unmatched with params: %+v", m)
			}
			return
		}
		if m.allow != "" || routes[m.route].method != method {
			t.Fatalf("%s %s matched %v (%s)", method, path, m.route, routes[m.route].method)
		}
		// Rebuild the path from the pattern and the parameters: it must be the input.
		segs := strings.Split(routes[m.route].pattern, "/")
		for i, s := range segs {
			switch s {
			case "{show}", "{order}", "{id}", "{file}":
				segs[i] = string(m.p1)
			case "{hold}":
				segs[i] = string(m.p2)
			}
		}
		if p := strings.Join(segs, "/"); p != path {
			t.Fatalf("%s %s matched %s with %q %q", method, path, routes[m.route].pattern, m.p1, m.p2)
		}
		for _, param := range [][]byte{m.p1, m.p2} {
			if bytes.IndexByte(param, '/') >= 0 {
				t.Fatalf("parameter %q has a slash", param)
			}
		}
	})
}

// FuzzRequestPath checks that the raw-path fast path routes every request
// URI exactly as fasthttp's normalized path does.
func FuzzRequestPath(f *testing.F) {
	for _, u := range []string{"/v1/shows/s1/holds/s1~0~abc", "/v1/shows/s1/holds/s1%7E0%7Eabc", "/v1//shows/s1", "/v1/shows/./s1",
		"/v1/shows/../orders/o", "/v1/shows/s1/seats?section=a", "/v1/shows/.s/x", "/v1/orders/o#frag", "/v1\\orders", "/%2e%2e/v1/orders",
		"http://host/v1/orders", "/v1/shows/a+b", "/v1/orders/o/pay/"} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		var req fasthttp.Request
		req.Header.SetMethod("GET")
		req.Header.SetRequestURI(uri)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		fast := route([]byte("GET"), requestPath(&ctx))
		var req2 fasthttp.Request
		req2.Header.SetMethod("GET")
		req2.Header.SetRequestURI(uri)
		var ctx2 fasthttp.RequestCtx
		ctx2.Init(&req2, nil, nil)
		slow := route([]byte("GET"), ctx2.Path())
		if fast.route != slow.route || !bytes.Equal(fast.p1, slow.p1) || !bytes.Equal(fast.p2, slow.p2) || fast.allow != slow.allow {
			t.Fatalf("%q: raw path routes to %v %q %q, normalized path to %v %q %q", uri, fast.route, fast.p1, fast.p2, slow.route, slow.p1, slow.p2)
		}
	})
}
