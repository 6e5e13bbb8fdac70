package edge_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
	"github.com/golang-jwt/jwt/v5"
)

// FuzzUserToken feeds arbitrary strings to the token verifier (a secret and
// a JWKS of three key types): no panic, and nothing but a token signed for
// alice is accepted.
func FuzzUserToken(f *testing.F) {
	keys := newTestKeys(f)
	auth, err := edge.NewUserAuth(edge.UserAuthOptions{Secret: []byte(testSecret), JWKS: keys.jwks})
	if err != nil {
		f.Fatal(err)
	}
	c := jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(24 * time.Hour).Unix()}
	for _, s := range []string{
		sign(f, jwt.SigningMethodHS256, "", []byte(testSecret), c),
		sign(f, jwt.SigningMethodRS256, "r1", keys.rsa, c),
		sign(f, jwt.SigningMethodES256, "e1", keys.ec, c),
		sign(f, jwt.SigningMethodEdDSA, "d1", keys.ed, c),
		unsigned(c), "", ".", "..", "a.b.c", "eyJhbGciOiJub25lIn0.e30.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		sub, err := auth.Verify(tok)
		if err == nil && sub != "alice" {
			t.Fatalf("accepted %q as %q", tok, sub)
		}
	})
}

// FuzzHTTPAuth sends arbitrary requests, with arbitrary Authorization and
// Idempotency-Key headers and query strings, through a server with user
// tokens on: every answer follows the contract.
func FuzzHTTPAuth(f *testing.F) {
	auth, err := edge.NewUserAuth(edge.UserAuthOptions{Secret: []byte(testSecret)})
	if err != nil {
		f.Fatal(err)
	}
	s := edge.New(edgetest.NewMemBackend(), edge.Options{AdminToken: "admin", InternalToken: "internal", UserAuth: auth,
		Settler: &recSettler{}})
	if ctx := call(s, "POST", "/v1/shows", []byte(mainShow), "Authorization", adminAuth); ctx.Response.StatusCode() != 201 {
		f.Fatalf("create: %s", ctx.Response.Body())
	}
	alice := mint(f, "alice")
	ctx := call(s, "POST", "/v1/shows/s1/holds", []byte(`{"seats":["s0-1-1"]}`), "Authorization", alice)
	var h struct{ ID string }
	if err := json.Unmarshal(ctx.Response.Body(), &h); err != nil || h.ID == "" {
		f.Fatalf("hold: %s", ctx.Response.Body())
	}
	for _, sd := range []struct{ method, path, auth, key, body string }{
		{"POST", "/v1/shows/s1/holds", alice, "", `{"seats":["s0-1-5"]}`},
		{"POST", "/v1/shows/s1/holds", alice, "k", `{"user":"bob","section":"pit","quantity":2}`},
		{"GET", "/v1/shows/s1/holds/" + h.ID, alice, "", ""},
		{"GET", "/v1/shows/s1/holds/" + h.ID, mint(f, "bob"), "", ""},
		{"POST", "/v1/orders", alice, "k2", `{"show":"s1","hold":"` + h.ID + `"}`},
		{"GET", "/v1/shows/s1/seats?section=pit&x=%00", "", "", ""},
		{"POST", "/v1/orders/s1~0~x/pay", "Bearer a.b.c", "", `{"payment_token":"tok_ok"}`},
		{"POST", "/v1/internal/notifications", "Bearer internal", "", `{"event":{"id":"a","order":"b","show":"s1"}}`},
		{"POST", "/v1/shows", "Bearer admin", "", mainShow},
	} {
		f.Add(sd.method, sd.path, sd.auth, sd.key, []byte(sd.body))
	}
	f.Fuzz(func(t *testing.T, method, path, authz, key string, body []byte) {
		if method == "" || path == "" || path[0] != '/' || path == "/metrics" {
			return
		}
		ctx := call(s, method, path, body, "Authorization", authz, "Idempotency-Key", key)
		checkAnswer(t, method+" "+path, ctx)
	})
}
