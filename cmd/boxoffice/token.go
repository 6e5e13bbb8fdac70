package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenMain mints an HS256 user token, for trying the API and for tests:
//
//	boxoffice token --secret S --sub alice [--ttl 1h] [--aud A] [--iss I]
//
// A real site's identity provider mints its users' tokens.
func tokenMain(args []string) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	secret := fs.String("secret", "", "the node's --user-token-secret (env BOXOFFICE_USER_TOKEN_SECRET)")
	sub := fs.String("sub", "", "the user")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	aud := fs.String("aud", "", "audience (the node's --user-token-audience)")
	iss := fs.String("iss", "", "issuer (the node's --user-token-issuer)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *secret == "" {
		*secret = os.Getenv("BOXOFFICE_USER_TOKEN_SECRET")
	}
	if *secret == "" || *sub == "" {
		fmt.Fprintln(os.Stderr, "usage: boxoffice token --secret S --sub USER [--ttl 1h] [--aud A] [--iss I]")
		return 2
	}
	now := time.Now()
	claims := jwt.RegisteredClaims{Subject: *sub, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(*ttl)), Issuer: *iss}
	if *aud != "" {
		claims.Audience = jwt.ClaimStrings{*aud}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(*secret))
	if err != nil {
		fmt.Fprintln(os.Stderr, "boxoffice token:", err)
		return 1
	}
	fmt.Println(s)
	return 0
}
