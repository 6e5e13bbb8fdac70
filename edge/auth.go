package edge

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
)

// DefaultTokenLeeway is the clock skew allowed on a user token's exp and nbf.
const DefaultTokenLeeway = 30 * time.Second

// MaxBearerBytes bounds the Authorization header's token: a longer one is
// refused before any parsing.
const MaxBearerBytes = 4096

// UserAuthOptions configure NewUserAuth. At least one of Secret and JWKS is needed.
type UserAuthOptions struct {
	// Secret verifies HS256 tokens; empty = HS256 is refused.
	Secret []byte
	// JWKS is a JSON Web Key Set of public keys verifying RS256 (RSA keys),
	// ES256 (P-256 keys) and EdDSA (Ed25519 keys) tokens. A token names its
	// key by kid; without a kid, the set's only key of the token's type.
	JWKS []byte
	// Audience and Issuer, when set, must be the token's aud (one of) and iss.
	Audience, Issuer string
	// Leeway is the clock skew allowed on exp and nbf (DefaultTokenLeeway when 0).
	Leeway time.Duration
	// Now is the clock (time.Now when nil), for tests.
	Now func() time.Time
}

// UserAuth verifies user tokens (JWTs): the signature with a key of the
// token's alg (never none; an HS256 token is checked against the secret only,
// never against a public key), exp (required), nbf, and the optional aud and
// iss. The user is the token's sub. Safe for concurrent use.
type UserAuth struct {
	secret []byte
	keys   []jose.JSONWebKey
	parser *jwt.Parser
}

// NewUserAuth checks the options and parses the key set.
func NewUserAuth(opt UserAuthOptions) (*UserAuth, error) {
	a := &UserAuth{secret: opt.Secret}
	var methods []string
	if len(opt.Secret) > 0 {
		if len(opt.Secret) < 32 {
			return nil, errors.New("the user token secret must be at least 32 bytes")
		}
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if len(opt.JWKS) > 0 {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(opt.JWKS, &set); err != nil {
			return nil, fmt.Errorf("user token keys: %w", err)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() {
				return nil, fmt.Errorf("user token keys: key %q is not a public key", k.KeyID)
			}
			if keyAlg(k.Key) == "" {
				return nil, fmt.Errorf("user token keys: key %q: want an RSA, P-256 or Ed25519 key, not %T", k.KeyID, k.Key)
			}
			if k.Algorithm != "" && k.Algorithm != keyAlg(k.Key) {
				return nil, fmt.Errorf("user token keys: key %q says alg %s, its type allows %s", k.KeyID, k.Algorithm, keyAlg(k.Key))
			}
			if k.Use != "" && k.Use != "sig" {
				continue
			}
			a.keys = append(a.keys, k)
		}
		if len(a.keys) == 0 {
			return nil, errors.New("user token keys: the set has no signing key")
		}
		methods = append(methods, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg(), jwt.SigningMethodEdDSA.Alg())
	}
	if len(methods) == 0 {
		return nil, errors.New("user tokens need a secret or a key set")
	}
	leeway := opt.Leeway
	if leeway == 0 {
		leeway = DefaultTokenLeeway
	}
	popts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithLeeway(leeway)}
	if opt.Audience != "" {
		popts = append(popts, jwt.WithAudience(opt.Audience))
	}
	if opt.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opt.Issuer))
	}
	if opt.Now != nil {
		popts = append(popts, jwt.WithTimeFunc(opt.Now))
	}
	a.parser = jwt.NewParser(popts...)
	return a, nil
}

// keyAlg is the one JWT alg a public key verifies ("" for other keys).
func keyAlg(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return jwt.SigningMethodRS256.Alg()
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return jwt.SigningMethodES256.Alg()
		}
	case ed25519.PublicKey:
		return jwt.SigningMethodEdDSA.Alg()
	}
	return ""
}

// key finds the key that verifies t: the secret for HS256, else the key of
// t's kid (or the only key of t's alg when t has no kid), whose type must be
// t's alg.
func (a *UserAuth) key(t *jwt.Token) (any, error) {
	alg, _ := t.Header["alg"].(string)
	if alg == jwt.SigningMethodHS256.Alg() {
		if len(a.secret) == 0 {
			return nil, errors.New("HS256 tokens are not accepted")
		}
		return a.secret, nil
	}
	kid, hasKid := t.Header["kid"].(string)
	var found any
	n := 0
	for _, k := range a.keys {
		if keyAlg(k.Key) != alg || hasKid && k.KeyID != kid {
			continue
		}
		found = k.Key
		n++
	}
	switch {
	case n == 0:
		return nil, fmt.Errorf("no %s key for this token", alg)
	case n > 1:
		return nil, errors.New("the token names no kid and several keys fit")
	}
	return found, nil
}

// Verify checks a compact JWT and returns its subject, the user.
func (a *UserAuth) Verify(token string) (string, error) {
	sub, _, err := a.verify(token)
	return sub, err
}

// userClaims are a user token's claims: the registered ones, and
// queue_pass, a waiting room's pass that an identity provider may put in
// the token instead of the client sending X-Queue-Pass (pass.go).
type userClaims struct {
	jwt.RegisteredClaims
	QueuePass string `json:"queue_pass,omitempty"`
}

// verify checks a compact JWT and returns its subject and queue_pass claim.
func (a *UserAuth) verify(token string) (sub, queuePass string, err error) {
	if len(token) > MaxBearerBytes {
		return "", "", errors.New("token too long")
	}
	var claims userClaims
	if _, err := a.parser.ParseWithClaims(token, &claims, a.key); err != nil {
		return "", "", err
	}
	if claims.Subject == "" || len(claims.Subject) > MaxUserBytes {
		return "", "", fmt.Errorf("sub must be 1..%d bytes", MaxUserBytes)
	}
	return claims.Subject, claims.QueuePass, nil
}

// bearer returns the request's bearer token (a view), or nil.
func bearer(ctx *fasthttp.RequestCtx) []byte {
	h := ctx.Request.Header.Peek("Authorization")
	const prefix = "Bearer "
	if len(h) < len(prefix) || !equalFold(h[:len(prefix)], prefix) {
		return nil
	}
	return h[len(prefix):]
}

// tokenIs reports, in constant time, whether the request's bearer token is want
// (never when want is empty).
func tokenIs(ctx *fasthttp.RequestCtx, want []byte) bool {
	if len(want) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare(bearer(ctx), want) == 1
}

// caller returns the user a booking request acts for: the verified token's
// sub when user tokens are on (else a 401 error), "" when they are off (the
// request acts for anyone, as before tokens).
func (s *Server) caller(ctx *fasthttp.RequestCtx) (string, error) {
	sub, _, err := s.callerPass(ctx)
	return sub, err
}

// callerPass is caller, with the token's queue_pass claim ("" when none).
func (s *Server) callerPass(ctx *fasthttp.RequestCtx) (sub, queuePass string, err error) {
	if s.opt.UserAuth == nil {
		return "", "", nil
	}
	tok := bearer(ctx)
	if len(tok) == 0 {
		return "", "", edgeError(errUnauthorized, "a user bearer token is required")
	}
	sub, queuePass, err = s.opt.UserAuth.verify(string(tok))
	if err != nil {
		return "", "", edgeError(errUnauthorized, "invalid user token: "+truncate(err.Error(), 200))
	}
	return sub, queuePass, nil
}

// bodyUser checks a body's user against the caller: with tokens on, a body
// user other than the token's sub is forbidden, and an absent one is the sub.
func bodyUser(sub, body string) (string, error) {
	if sub == "" {
		return body, nil
	}
	if body != "" && body != sub {
		return "", edgeError(errForbidden, "user differs from the token's subject")
	}
	return sub, nil
}
