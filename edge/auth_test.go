package edge_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/edge"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

const testSecret = "0123456789abcdef0123456789abcdef-test"

// testKeys are one key of each public-key type, and their JWKS.
type testKeys struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
	jwks []byte
}

func newTestKeys(t testing.TB) *testKeys {
	t.Helper()
	k := &testKeys{}
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.rsa.PublicKey, KeyID: "r1", Algorithm: "RS256", Use: "sig"},
		{Key: &k.ec.PublicKey, KeyID: "e1", Algorithm: "ES256", Use: "sig"},
		{Key: k.ed.Public(), KeyID: "d1", Algorithm: "EdDSA", Use: "sig"},
	}}
	if k.jwks, err = json.Marshal(set); err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t testing.TB, m jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned builds a token with alg none by hand.
func unsigned(claims jwt.MapClaims) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "."
}

func TestUserTokenVerify(t *testing.T) {
	keys := newTestKeys(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	auth, err := edge.NewUserAuth(edge.UserAuthOptions{Secret: []byte(testSecret), JWKS: keys.jwks,
		Audience: "boxoffice", Issuer: "idp", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	jwksOnly, err := edge.NewUserAuth(edge.UserAuthOptions{JWKS: keys.jwks, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix(), "aud": "boxoffice", "iss": "idp"}
		if mod != nil {
			mod(c)
		}
		return c
	}
	rsaPubDER, _ := x509.MarshalPKIXPublicKey(&keys.rsa.PublicKey)
	hs := jwt.SigningMethodHS256
	for _, tc := range []struct {
		name  string
		auth  *edge.UserAuth
		token string
		ok    bool
	}{
		{"HS256", auth, sign(t, hs, "", []byte(testSecret), claims(nil)), true},
		{"RS256", auth, sign(t, jwt.SigningMethodRS256, "r1", keys.rsa, claims(nil)), true},
		{"RS256 without kid", auth, sign(t, jwt.SigningMethodRS256, "", keys.rsa, claims(nil)), true},
		{"ES256", auth, sign(t, jwt.SigningMethodES256, "e1", keys.ec, claims(nil)), true},
		{"EdDSA", auth, sign(t, jwt.SigningMethodEdDSA, "d1", keys.ed, claims(nil)), true},
		{"expired within the leeway", auth, sign(t, hs, "", []byte(testSecret), claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Second).Unix() })), true},
		{"forged signature", auth, sign(t, hs, "", []byte(testSecret+"x"), claims(nil)), false},
		{"RS256 signed by another key", auth, sign(t, jwt.SigningMethodRS256, "r1", mustRSA(t), claims(nil)), false},
		{"alg none", auth, unsigned(claims(nil)), false},
		{"HS256 against an RS256 key", jwksOnly, sign(t, hs, "r1", rsaPubDER, claims(nil)), false},
		{"RS256 naming the EC key", auth, sign(t, jwt.SigningMethodRS256, "e1", keys.rsa, claims(nil)), false},
		{"RS384", auth, sign(t, jwt.SigningMethodRS384, "r1", keys.rsa, claims(nil)), false},
		{"expired", auth, sign(t, hs, "", []byte(testSecret), claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), false},
		{"not yet valid", auth, sign(t, hs, "", []byte(testSecret), claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })), false},
		{"wrong audience", auth, sign(t, hs, "", []byte(testSecret), claims(func(c jwt.MapClaims) { c["aud"] = "other" })), false},
		{"wrong issuer", auth, sign(t, hs, "", []byte(testSecret), claims(func(c jwt.MapClaims) { c["iss"] = "evil" })), false},
		{"missing exp", auth, sign(t, hs, "", []byte(testSecret), claims(func(c jwt.MapClaims) { delete(c, "exp") })), false},
		{"missing sub", auth, sign(t, hs, "", []byte(testSecret), claims(func(c jwt.MapClaims) { delete(c, "sub") })), false},
		{"sub too long", auth, sign(t, hs, "", []byte(testSecret), claims(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("a", edge.MaxUserBytes+1) })), false},
		{"garbage", auth, "not.a.token", false},
		{"empty", auth, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, err := tc.auth.Verify(tc.token)
			if tc.ok && (err != nil || sub != "alice") {
				t.Fatalf("want alice, got %q %v", sub, err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("accepted as %q", sub)
			}
		})
	}
}

func mustRSA(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewUserAuthRefuses(t *testing.T) {
	keys := newTestKeys(t)
	priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: keys.rsa, KeyID: "p"}}})
	lying, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &keys.rsa.PublicKey, KeyID: "r", Algorithm: "HS256"}}})
	for name, opt := range map[string]edge.UserAuthOptions{
		"nothing":         {},
		"short secret":    {Secret: []byte("short")},
		"bad json":        {JWKS: []byte("{")},
		"private key":     {JWKS: priv},
		"alg against key": {JWKS: lying},
		"empty set":       {JWKS: []byte(`{"keys":[]}`)},
	} {
		if _, err := edge.NewUserAuth(opt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// mint returns an HS256 token for sub, valid for an hour.
func mint(t testing.TB, sub string) string {
	return "Bearer " + sign(t, jwt.SigningMethodHS256, "", []byte(testSecret),
		jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()})
}

// TestOwnershipAndScopes: with user tokens on, every booking route needs a
// token, acts for its sub, and another user's hold or order answers 404;
// admin and internal routes take only their own tokens.
func TestOwnershipAndScopes(t *testing.T) {
	auth, err := edge.NewUserAuth(edge.UserAuthOptions{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, edge.Options{UserAuth: auth, InternalToken: "internal", Settler: &recSettler{}})
	alice, bob := mint(t, "alice"), mint(t, "bob")
	var h holdBody
	decode(t, f.must(t, 201, "POST", "/v1/shows/s1/holds", `{"seats":["s0-1-1"]}`, "Authorization", alice), &h)
	if h.User != "alice" {
		t.Fatalf("hold user %q", h.User)
	}
	f.ids["h"] = h.ID
	var h2 holdBody
	decode(t, f.must(t, 201, "POST", "/v1/shows/s1/holds", `{"user":"alice","seats":["s0-1-2"]}`, "Authorization", alice), &h2)
	f.ids["h2"] = h2.ID
	var o orderBody
	decode(t, f.must(t, 201, "POST", "/v1/orders", `{"show":"s1","hold":"{h2}"}`, "Authorization", alice, "Idempotency-Key", "k"), &o)
	f.ids["o"] = o.ID
	for _, tc := range []struct {
		name, method, path, body string
		auth                     string
		want                     int
		code                     string
	}{
		{"hold without a token", "POST", "/v1/shows/s1/holds", `{"seats":["s0-1-3"]}`, "", 401, "unauthorized"},
		{"hold with a bad token", "POST", "/v1/shows/s1/holds", `{"seats":["s0-1-3"]}`, "Bearer x.y.z", 401, "unauthorized"},
		{"hold as someone else", "POST", "/v1/shows/s1/holds", `{"user":"alice","seats":["s0-1-3"]}`, bob, 403, "forbidden"},
		{"get hold without a token", "GET", "/v1/shows/s1/holds/{h}", "", "", 401, "unauthorized"},
		{"bob reads alice's hold", "GET", "/v1/shows/s1/holds/{h}", "", bob, 404, "hold_not_found"},
		{"bob extends alice's hold", "POST", "/v1/shows/s1/holds/{h}/extend", `{"seconds":60}`, bob, 404, "hold_not_found"},
		{"bob releases alice's hold", "DELETE", "/v1/shows/s1/holds/{h}", "", bob, 404, "hold_not_found"},
		{"bob orders alice's hold", "POST", "/v1/orders", `{"show":"s1","hold":"{h}"}`, bob, 404, "hold_not_found"},
		{"bob reuses alice's idempotency key", "POST", "/v1/orders", `{"show":"s1","hold":"{h2}"}`, bob + "\x00Idempotency-Key\x00k", 404, "hold_not_found"},
		{"bob reads alice's order", "GET", "/v1/orders/{o}", "", bob, 404, "order_not_found"},
		{"bob pays alice's order", "POST", "/v1/orders/{o}/pay", `{"payment_token":"tok_ok"}`, bob, 404, "order_not_found"},
		{"bob cancels alice's order", "POST", "/v1/orders/{o}/cancel", "", bob, 404, "order_not_found"},
		{"cancel without a token", "POST", "/v1/orders/{o}/cancel", "", "", 401, "unauthorized"},
		{"a user token creates a show", "POST", "/v1/shows", `{"name":"x","tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, alice, 401, "unauthorized"},
		{"a user token on internal", "POST", "/v1/internal/notifications", `{}`, alice, 401, "unauthorized"},
		{"the admin token on internal", "POST", "/v1/internal/notifications", `{}`, adminAuth, 401, "unauthorized"},
		{"the internal token creates a show", "POST", "/v1/shows", `{"name":"x","tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, "Bearer internal", 401, "unauthorized"},
		{"the internal token on internal", "POST", "/v1/internal/notifications", `{}`, "Bearer internal", 400, "invalid_request"},
		{"reads of the show stay public", "GET", "/v1/shows/s1", "", "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.auth != "" {
				parts := strings.Split(tc.auth, "\x00")
				hdr = append(hdr, "Authorization", parts[0])
				hdr = append(hdr, parts[1:]...)
			}
			r := f.srv.Do(t, tc.method, f.expand(tc.path), f.expand(tc.body), hdr...)
			if r.Status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.want, r.Body)
			}
			if tc.code != "" {
				var e errBody
				decode(t, r.Body, &e)
				if e.Error.Code != tc.code {
					t.Fatalf("code %q, want %q", e.Error.Code, tc.code)
				}
			}
			if tc.want == 401 && !strings.HasPrefix(header(r.Header, "WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: Bearer")
			}
		})
	}
	// nothing changed: alice's hold and order are as they were, and hers to use
	f.must(t, 200, "GET", "/v1/shows/s1/holds/{h}", "", "Authorization", alice)
	var got orderBody
	decode(t, f.must(t, 200, "GET", "/v1/orders/{o}", "", "Authorization", alice), &got)
	if got.Status != "pending_payment" {
		t.Fatalf("order %s", got.Status)
	}
	var d showDoc
	decode(t, f.must(t, 200, "GET", "/v1/shows/s1", ""), &d)
	if d.Totals.Held != 1 || d.Totals.Reserved != 1 {
		t.Fatalf("totals changed: %+v", d.Totals)
	}
	f.must(t, 200, "POST", "/v1/shows/s1/holds/{h}/extend", `{"seconds":60}`, "Authorization", alice)
	f.must(t, 202, "POST", "/v1/orders/{o}/pay", `{"payment_token":"tok_ok"}`, "Authorization", alice)
	f.must(t, 204, "DELETE", "/v1/shows/s1/holds/{h}", "", "Authorization", alice)
}

// TestWriteRateLimitPerUser: with tokens on, every write route takes a token
// from the caller's bucket; another user is not affected.
func TestWriteRateLimitPerUser(t *testing.T) {
	auth, err := edge.NewUserAuth(edge.UserAuthOptions{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, edge.Options{UserAuth: auth, UserRate: 1, UserBurst: 2})
	alice, bob := mint(t, "alice"), mint(t, "bob")
	limited := 0
	for i := 0; i < 4; i++ {
		r := f.srv.Do(t, "POST", "/v1/orders/s1~1~nope/cancel", "", "Authorization", alice)
		switch r.Status {
		case 404:
		case 429:
			limited++
			if header(r.Header, "Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	}
	if limited != 2 {
		t.Fatalf("want 2 of 4 cancels limited (burst 2), got %d", limited)
	}
	if r := f.srv.Do(t, "POST", "/v1/orders/s1~1~nope/cancel", "", "Authorization", bob); r.Status != 404 {
		t.Fatalf("bob: %d", r.Status)
	}
}

// header looks a response header up by name, in any case.
func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
