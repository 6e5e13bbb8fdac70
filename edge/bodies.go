package edge

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/boxoffice/boxoffice/actors/seatmap"
)

// Limits of the API's inputs.
const (
	MaxBodyBytes        = 64 << 10 // request bodies above are 413 body_too_large
	MaxUserBytes        = 128      // a hold's user id
	MaxIdemKeyBytes     = 128      // the Idempotency-Key header
	MaxTokenBytes       = 512      // a payment token
	maxIDBytes          = 200      // hold and order ids in paths and bodies
	maxSectionIDBytes   = 32       // section and tier ids (seatmap.ValidPartID)
	generatedShowIDLen  = 10       // random base32 characters after "show-"
	generatedShowPrefix = "show-"
)

// Keys of the flat bodies, in the order their parsers number them.
var (
	holdKeys   = []string{"user", "seats", "section", "tier", "quantity"}
	extendKeys = []string{"seconds"}
	orderKeys  = []string{"show", "hold"}
	payKeys    = []string{"payment_token"}
)

// parseHold parses a hold body: exactly one of seats, or quantity with
// section or tier, and user (optional unless needUser: with user tokens,
// the user is the token's). Show is left for the caller.
func parseHold(body []byte, needUser bool) (seatmap.HoldRequest, error) {
	var (
		req                             seatmap.HoldRequest
		userGiven, seatsGiven, qtyGiven bool
		sectionGiven, tierGiven, ok     bool
		qty                             int64
	)
	r := reader{b: body}
	r.object(holdKeys, func(i int) bool {
		switch i {
		case 0:
			req.User, userGiven, ok = r.str("user")
		case 1:
			req.Seats, seatsGiven, ok = r.strs("seats", seatmap.MaxSeatsPerCommand)
		case 2:
			req.Section, sectionGiven, ok = r.str("section")
		case 3:
			req.Tier, tierGiven, ok = r.str("tier")
		case 4:
			qty, qtyGiven, ok = r.int("quantity")
		}
		return ok
	})
	if r.err != "" {
		return req, badRequest(r.err)
	}
	switch {
	case needUser && (!userGiven || req.User == ""), userGiven && req.User == "":
		return req, badRequest("user is required")
	case len(req.User) > MaxUserBytes:
		return req, badRequest("user is longer than " + strconv.Itoa(MaxUserBytes) + " bytes")
	case seatsGiven && (qtyGiven || sectionGiven || tierGiven):
		return req, badRequest("give seats, or a quantity with a section or a tier, not both")
	case seatsGiven:
		if len(req.Seats) == 0 {
			return req, badRequest("seats must not be empty")
		}
		return req, nil
	case !qtyGiven:
		return req, badRequest("give seats, or a quantity with a section or a tier")
	case qty < 1 || qty > seatmap.MaxQuantity:
		return req, badRequest("quantity must be in 1.." + strconv.Itoa(seatmap.MaxQuantity))
	case sectionGiven == tierGiven:
		return req, badRequest("a quantity needs exactly one of section and tier")
	case sectionGiven && req.Section == "", tierGiven && req.Tier == "":
		return req, badRequest("section and tier must not be empty")
	}
	req.Quantity = int(qty)
	return req, nil
}

// parseExtend parses {"seconds":N}, N in 1..MaxHoldTTLSeconds.
func parseExtend(body []byte) (int, error) {
	var (
		n         int64
		given, ok bool
	)
	r := reader{b: body}
	r.object(extendKeys, func(int) bool {
		n, given, ok = r.int("seconds")
		return ok
	})
	if r.err != "" {
		return 0, badRequest(r.err)
	}
	if !given || n < 1 || n > seatmap.MaxHoldTTLSeconds {
		return 0, badRequest("seconds must be in 1.." + strconv.Itoa(seatmap.MaxHoldTTLSeconds))
	}
	return int(n), nil
}

// parseOrder parses {"show":"...","hold":"..."} and the Idempotency-Key
// header (a view; copied here). IdemHash is the hex SHA-256 of the
// normalized request, show + "\n" + hold.
func parseOrder(body, idemKey []byte) (seatmap.OrderRequest, error) {
	var (
		req                  seatmap.OrderRequest
		showGiven, holdGiven bool
		ok                   bool
	)
	r := reader{b: body}
	r.object(orderKeys, func(i int) bool {
		if i == 0 {
			req.Show, showGiven, ok = r.str("show")
		} else {
			req.HoldID, holdGiven, ok = r.str("hold")
		}
		return ok
	})
	switch {
	case r.err != "":
		return req, badRequest(r.err)
	case !showGiven || !seatmap.ValidShowID(req.Show):
		return req, badRequest("show must be a show id")
	case !holdGiven || req.HoldID == "" || len(req.HoldID) > maxIDBytes:
		return req, badRequest("hold must be a hold id")
	case len(idemKey) > MaxIdemKeyBytes:
		return req, badRequest("Idempotency-Key is longer than " + strconv.Itoa(MaxIdemKeyBytes) + " bytes")
	case !utf8.Valid(idemKey):
		return req, badRequest("Idempotency-Key must be valid UTF-8")
	}
	if len(idemKey) > 0 {
		req.IdemKey = string(idemKey)
		sum := sha256.Sum256([]byte(req.Show + "\n" + req.HoldID))
		req.IdemHash = hex.EncodeToString(sum[:])
	}
	return req, nil
}

// holdIdempotency checks the Idempotency-Key header of a hold (a view;
// copied here) and fingerprints the normalized request: the same key with
// another request is idempotency_mismatch.
func holdIdempotency(req *seatmap.HoldRequest, idemKey []byte) error {
	switch {
	case len(idemKey) == 0:
		return nil
	case len(idemKey) > MaxIdemKeyBytes:
		return badRequest("Idempotency-Key is longer than " + strconv.Itoa(MaxIdemKeyBytes) + " bytes")
	case !utf8.Valid(idemKey):
		return badRequest("Idempotency-Key must be valid UTF-8")
	}
	req.IdemKey = string(idemKey)
	h := sha256.New()
	for _, part := range append([]string{req.Show, req.User, req.Section, req.Tier, strconv.Itoa(req.Quantity)}, req.Seats...) {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	req.IdemHash = hex.EncodeToString(h.Sum(nil))
	return nil
}

// parsePay parses {"payment_token":"..."}.
func parsePay(body []byte) (string, error) {
	var (
		tok       string
		given, ok bool
	)
	r := reader{b: body}
	r.object(payKeys, func(int) bool {
		tok, given, ok = r.str("payment_token")
		return ok
	})
	switch {
	case r.err != "":
		return "", badRequest(r.err)
	case !given || tok == "":
		return "", badRequest("payment_token is required")
	case len(tok) > MaxTokenBytes:
		return "", badRequest("payment_token is longer than " + strconv.Itoa(MaxTokenBytes) + " bytes")
	}
	return tok, nil
}

// parseEmpty accepts an absent body or an empty JSON object (cancel).
func parseEmpty(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	r := reader{b: body}
	r.object(nil, func(int) bool { return false })
	if r.err != "" {
		return badRequest(r.err)
	}
	return nil
}

// showBody is the show creation body. Pointers tell absent from zero.
type showBody struct {
	ID                *string                 `json:"id"`
	Name              string                  `json:"name"`
	HoldTTLSeconds    *int                    `json:"hold_ttl_seconds"`
	PaymentTTLSeconds *int                    `json:"payment_ttl_seconds"`
	MaxSeatsPerUser   int                     `json:"max_seats_per_user"`
	Tiers             []seatmap.Tier          `json:"tiers"`
	Sections          []seatmap.Section       `json:"sections"`
	SectionsPerShard  *int                    `json:"sections_per_shard"`
	Queue             *seatmap.QueueConfig    `json:"queue"`
	Waitlist          *seatmap.WaitlistConfig `json:"waitlist"`
}

// schema lists the keys an object may have and the schema of each key's
// value (nil for scalars); arrays take their items' schema.
type schema map[string]schema

var showSchema = schema{
	"id": nil, "name": nil, "hold_ttl_seconds": nil, "payment_ttl_seconds": nil, "max_seats_per_user": nil,
	"sections_per_shard": nil,
	"tiers":              {"id": nil, "price": nil},
	"sections":           {"id": nil, "tier": nil, "capacity": nil, "rows": {"id": nil, "seats": nil}},
	"queue":              {"opens_at": nil, "pass_ttl_seconds": nil, "max_active": nil, "admit_factor": nil},
	"waitlist":           {"offer_ttl_seconds": nil},
}

// parseShow parses and checks a show creation body. It generates the id
// when absent, and runs the core's Normalize and Validate on a copy so bad
// configs fail here; the config it returns is not normalized.
func parseShow(body []byte) (seatmap.ShowConfig, error) {
	var cfg seatmap.ShowConfig
	if !json.Valid(body) {
		return cfg, badRequest("body is not valid JSON")
	}
	if err := checkKeys(json.NewDecoder(bytes.NewReader(body)), showSchema); err != nil {
		return cfg, badRequest(err.Error())
	}
	var b showBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return cfg, badRequest(jsonErrorText(err))
	}
	cfg = seatmap.ShowConfig{Name: b.Name, MaxSeatsPerUser: b.MaxSeatsPerUser, Tiers: b.Tiers, Sections: b.Sections,
		Queue: b.Queue, Waitlist: b.Waitlist}
	if b.ID != nil {
		cfg.ID = *b.ID
	} else {
		cfg.ID = newShowID()
	}
	if !utf8.ValidString(cfg.Name) {
		return cfg, badRequest("name must be valid UTF-8")
	}
	if p := b.HoldTTLSeconds; p != nil {
		if *p < 1 || *p > seatmap.MaxHoldTTLSeconds {
			return cfg, badRequest("hold_ttl_seconds must be in 1.." + strconv.Itoa(seatmap.MaxHoldTTLSeconds))
		}
		cfg.HoldTTLSeconds = *p
	}
	if p := b.PaymentTTLSeconds; p != nil {
		if *p < 1 || *p > seatmap.MaxPaymentTTL {
			return cfg, badRequest("payment_ttl_seconds must be in 1.." + strconv.Itoa(seatmap.MaxPaymentTTL))
		}
		cfg.PaymentTTLSeconds = *p
	}
	if p := b.SectionsPerShard; p != nil {
		if *p < 1 || *p > seatmap.MaxSections {
			return cfg, badRequest("sections_per_shard must be in 1.." + strconv.Itoa(seatmap.MaxSections))
		}
		cfg.SectionsPerShard = *p
	}
	check := cfg
	check.Normalize()
	if err := check.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// checkKeys walks the JSON tokens of one value and fails on keys the schema
// does not have (matched exactly, unlike encoding/json) and on duplicates.
func checkKeys(dec *json.Decoder, sc schema) error {
	tok, err := dec.Token()
	if err != nil {
		return errors.New("body is not valid JSON")
	}
	return checkValue(dec, tok, sc, 0)
}

// maxDepth bounds the nesting checkKeys follows (the schema has 4 levels).
const maxDepth = 8

func checkValue(dec *json.Decoder, tok json.Token, sc schema, depth int) error {
	if depth > maxDepth {
		return errors.New("body is nested too deeply")
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '[':
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return errors.New("body is not valid JSON")
			}
			if err := checkValue(dec, t, sc, depth+1); err != nil {
				return err
			}
		}
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return errors.New("body is not valid JSON")
			}
			k, _ := t.(string)
			sub, known := sc[k]
			if !known {
				return errors.New("unknown field " + strconv.Quote(truncate(k, 64)))
			}
			if seen[k] {
				return errors.New("duplicate field " + strconv.Quote(k))
			}
			seen[k] = true
			v, err := dec.Token()
			if err != nil {
				return errors.New("body is not valid JSON")
			}
			if err := checkValue(dec, v, sub, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return errors.New("body is not valid JSON")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// jsonErrorText turns an encoding/json error into a message for clients.
func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return te.Field + " must be " + jsonKind(te.Type.Kind().String())
		}
		return "body must be a JSON object"
	}
	if errors.Is(err, io.EOF) {
		return "body is empty"
	}
	return "malformed body: " + err.Error()
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64":
		return "an integer"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "ptr":
		return "an object"
	}
	return "of type " + k
}

var showIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newShowID returns "show-" and 10 random base32 characters (50 bits).
func newShowID() string {
	var b [7]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return generatedShowPrefix + showIDEncoding.EncodeToString(b[:])[:generatedShowIDLen]
}
