package edge_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
)

const adminAuth = "Bearer admin"

// mainShow has seated rows, a GA pit and a second tier.
const mainShow = `{"id":"s1","name":"Main","tiers":[{"id":"std","price":5000},{"id":"vip","price":12000}],
 "sections":[{"id":"s0","tier":"std","rows":[{"id":"1","seats":10},{"id":"2","seats":10}]},
             {"id":"pit","tier":"std","capacity":100},
             {"id":"v","tier":"vip","rows":[{"id":"A","seats":4}]}]}`

// limShow has a per-user limit of 2 seats.
const limShow = `{"id":"lim","name":"Limited","max_seats_per_user":2,"tiers":[{"id":"std","price":100}],
 "sections":[{"id":"a","tier":"std","rows":[{"id":"1","seats":10}]}]}`

// shortShow's holds live 1 s and its orders 1 s.
const shortShow = `{"id":"short","hold_ttl_seconds":1,"payment_ttl_seconds":1,"tiers":[{"id":"std","price":1}],
 "sections":[{"id":"a","tier":"std","capacity":10}]}`

// clock is a settable clock for the MemBackend.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() int64 { return c.ms.Load() }

// fixture is a server over a MemBackend with shows and objects in known states.
type fixture struct {
	srv   *edgetest.Server
	clock *clock
	ids   map[string]string // placeholder -> id
}

type errBody struct {
	Error struct {
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Seats   []string `json:"seats"`
	} `json:"error"`
}

type holdBody struct {
	ID        string         `json:"id"`
	Show      string         `json:"show"`
	User      string         `json:"user"`
	Seats     []string       `json:"seats"`
	General   map[string]int `json:"general"`
	Quantity  int            `json:"quantity"`
	Amount    int64          `json:"amount"`
	ExpiresAt string         `json:"expires_at"`
}

type orderBody struct {
	ID           string         `json:"id"`
	Show         string         `json:"show"`
	User         string         `json:"user"`
	Seats        []string       `json:"seats"`
	General      map[string]int `json:"general"`
	Quantity     int            `json:"quantity"`
	Amount       int64          `json:"amount"`
	Status       string         `json:"status"`
	PaymentDueAt string         `json:"payment_due_at"`
	CreatedAt    string         `json:"created_at"`
	History      []struct {
		Status string `json:"status"`
		At     string `json:"at"`
	} `json:"history"`
}

func newFixture(t *testing.T, opt edge.Options) *fixture {
	t.Helper()
	m := edgetest.NewMem()
	c := &clock{}
	c.ms.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	m.Now = c.now
	f := &fixture{srv: edgetest.NewServer(t, m, opt), clock: c, ids: map[string]string{}}
	f.srv.CheckContract(t) // every exchange must match edge/openapi.yaml
	for _, body := range []string{mainShow, limShow, shortShow} {
		f.must(t, 201, "POST", "/v1/shows", body, "Authorization", adminAuth)
	}
	return f
}

// must sends a request and fails unless the status is want; it returns the body.
func (f *fixture) must(t *testing.T, want int, method, path, body string, hdr ...string) []byte {
	t.Helper()
	r := f.srv.Do(t, method, f.expand(path), f.expand(body), hdr...)
	if r.Status != want {
		t.Fatalf("%s %s %s: status %d, want %d: %s", method, path, body, r.Status, want, r.Body)
	}
	return r.Body
}

func (f *fixture) hold(t *testing.T, show, body string) holdBody {
	t.Helper()
	var h holdBody
	decode(t, f.must(t, 201, "POST", "/v1/shows/"+show+"/holds", body), &h)
	return h
}

func (f *fixture) order(t *testing.T, show, hold string) orderBody {
	t.Helper()
	var o orderBody
	decode(t, f.must(t, 201, "POST", "/v1/orders", `{"show":"`+show+`","hold":"`+hold+`"}`), &o)
	return o
}

func (f *fixture) expand(s string) string {
	for k, v := range f.ids {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// setupStates makes the objects the error cases refer to.
func (f *fixture) setupStates(t *testing.T) {
	f.ids["hold"] = f.hold(t, "s1", `{"user":"alice","seats":["s0-1-1","s0-1-2"]}`).ID
	f.ids["taken"] = "s0-1-1"
	h := f.hold(t, "s1", `{"user":"bob","section":"pit","quantity":3}`)
	f.ids["order"] = f.order(t, "s1", h.ID).ID
	f.ids["ordered_hold"] = h.ID
	h2 := f.hold(t, "s1", `{"user":"carol","tier":"vip","quantity":1}`)
	o2 := f.order(t, "s1", h2.ID)
	f.must(t, 202, "POST", "/v1/orders/"+o2.ID+"/pay", `{"payment_token":"tok_ok"}`)
	f.ids["paid_order"] = o2.ID
	h3 := f.hold(t, "s1", `{"user":"dave","seats":["s0-2-1"]}`)
	f.ids["idem_hold"] = h3.ID
	f.must(t, 201, "POST", "/v1/orders", `{"show":"s1","hold":"{idem_hold}"}`, "Idempotency-Key", "k1")
	f.ids["released"] = f.hold(t, "s1", `{"user":"erin","seats":["s0-2-9"]}`).ID
	f.must(t, 204, "DELETE", "/v1/shows/s1/holds/{released}", "")
	f.ids["expired"] = f.hold(t, "short", `{"user":"u","section":"a","quantity":1}`).ID
	f.hold(t, "lim", `{"user":"greedy","seats":["a-1-1","a-1-2"]}`)
	f.ids["fresh"] = f.hold(t, "s1", `{"user":"frank","seats":["s0-2-5"]}`).ID
	f.clock.ms.Add(1500) // the short show's hold expires
}

func TestAPIErrors(t *testing.T) {
	f := newFixture(t, edge.Options{})
	f.setupStates(t)
	long := strings.Repeat("x", 129)
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		code                     string
	}{
		// shows
		{"create no auth", "POST", "/v1/shows", mainShow, nil, 401, "unauthorized"},
		{"create bad token", "POST", "/v1/shows", mainShow, []string{"Authorization", "Bearer nope"}, 401, "unauthorized"},
		{"create exists", "POST", "/v1/shows", mainShow, []string{"Authorization", adminAuth}, 409, "show_exists"},
		{"create no sections", "POST", "/v1/shows", `{"tiers":[{"id":"t","price":1}],"sections":[]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create unknown tier", "POST", "/v1/shows", `{"tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"x","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create negative capacity", "POST", "/v1/shows", `{"tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":-1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create bad id", "POST", "/v1/shows", `{"id":"a b","tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create unknown field", "POST", "/v1/shows", `{"colour":"red","tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create unknown nested field", "POST", "/v1/shows", `{"tiers":[{"id":"t","price":1,"x":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create case-folded field", "POST", "/v1/shows", `{"TIERS":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create duplicate field", "POST", "/v1/shows", `{"name":"a","name":"b","tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create trailing garbage", "POST", "/v1/shows", `{"tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]} x`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create wrong type", "POST", "/v1/shows", `{"hold_ttl_seconds":"600","tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create float price", "POST", "/v1/shows", `{"tiers":[{"id":"t","price":1.5}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create ttl 0", "POST", "/v1/shows", `{"hold_ttl_seconds":0,"tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create ttl too long", "POST", "/v1/shows", `{"hold_ttl_seconds":7201,"tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create payment ttl too long", "POST", "/v1/shows", `{"payment_ttl_seconds":86401,"tiers":[{"id":"t","price":1}],"sections":[{"id":"a","tier":"t","capacity":1}]}`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create empty body", "POST", "/v1/shows", ``, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"create not object", "POST", "/v1/shows", `[]`, []string{"Authorization", adminAuth}, 400, "invalid_request"},
		{"get show missing", "GET", "/v1/shows/nope", "", nil, 404, "show_not_found"},
		{"get show bad id", "GET", "/v1/shows/a%20b", "", nil, 404, "show_not_found"},
		{"seats missing show", "GET", "/v1/shows/nope/seats", "", nil, 404, "show_not_found"},
		{"seats unknown section", "GET", "/v1/shows/s1/seats?section=zz", "", nil, 422, "unknown_section"},
		// holds
		{"hold bad json", "POST", "/v1/shows/s1/holds", `{"user":`, nil, 400, "invalid_request"},
		{"hold not object", "POST", "/v1/shows/s1/holds", `"x"`, nil, 400, "invalid_request"},
		{"hold unknown field", "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-1-9"],"x":1}`, nil, 400, "invalid_request"},
		{"hold case-folded field", "POST", "/v1/shows/s1/holds", `{"User":"u","seats":["s0-1-9"]}`, nil, 400, "invalid_request"},
		{"hold missing user", "POST", "/v1/shows/s1/holds", `{"seats":["s0-1-9"]}`, nil, 400, "invalid_request"},
		{"hold empty user", "POST", "/v1/shows/s1/holds", `{"user":"","seats":["s0-1-9"]}`, nil, 400, "invalid_request"},
		{"hold long user", "POST", "/v1/shows/s1/holds", `{"user":"` + long + `","seats":["s0-1-9"]}`, nil, 400, "invalid_request"},
		{"hold quantity 0", "POST", "/v1/shows/s1/holds", `{"user":"u","section":"pit","quantity":0}`, nil, 400, "invalid_request"},
		{"hold quantity negative", "POST", "/v1/shows/s1/holds", `{"user":"u","section":"pit","quantity":-2}`, nil, 400, "invalid_request"},
		{"hold quantity float", "POST", "/v1/shows/s1/holds", `{"user":"u","section":"pit","quantity":2.0}`, nil, 400, "invalid_request"},
		{"hold both", "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-1-9"],"section":"s0","quantity":1}`, nil, 400, "invalid_request"},
		{"hold neither", "POST", "/v1/shows/s1/holds", `{"user":"u"}`, nil, 400, "invalid_request"},
		{"hold quantity no section", "POST", "/v1/shows/s1/holds", `{"user":"u","quantity":1}`, nil, 400, "invalid_request"},
		{"hold section and tier", "POST", "/v1/shows/s1/holds", `{"user":"u","section":"pit","tier":"std","quantity":1}`, nil, 400, "invalid_request"},
		{"hold empty seats", "POST", "/v1/shows/s1/holds", `{"user":"u","seats":[]}`, nil, 400, "invalid_request"},
		{"hold duplicate seat", "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-1-9","s0-1-9"]}`, nil, 400, "invalid_request"},
		{"hold duplicate key", "POST", "/v1/shows/s1/holds", `{"user":"u","user":"v","seats":["s0-1-9"]}`, nil, 400, "invalid_request"},
		{"hold trailing garbage", "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-1-9"]}}`, nil, 400, "invalid_request"},
		{"hold show missing", "POST", "/v1/shows/nope/holds", `{"user":"u","seats":["s0-1-9"]}`, nil, 404, "show_not_found"},
		{"hold unknown seat", "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-9-9"]}`, nil, 422, "unknown_seat"},
		{"hold unknown section", "POST", "/v1/shows/s1/holds", `{"user":"u","section":"zz","quantity":1}`, nil, 422, "unknown_section"},
		{"hold unknown tier", "POST", "/v1/shows/s1/holds", `{"user":"u","tier":"gold","quantity":1}`, nil, 422, "unknown_tier"},
		{"hold limit exceeded", "POST", "/v1/shows/lim/holds", `{"user":"greedy","seats":["a-1-3"]}`, nil, 422, "limit_exceeded"},
		{"hold seats unavailable", "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-1-9","{taken}"]}`, nil, 409, "seats_unavailable"},
		{"hold sold out", "POST", "/v1/shows/s1/holds", `{"user":"u","tier":"vip","quantity":4}`, nil, 409, "sold_out"},
		{"get hold", "GET", "/v1/shows/s1/holds/{hold}", "", nil, 200, ""},
		{"get hold missing", "GET", "/v1/shows/s1/holds/s1~0~nope", "", nil, 404, "hold_not_found"},
		{"get hold other show", "GET", "/v1/shows/lim/holds/{hold}", "", nil, 404, "hold_not_found"},
		{"get hold released", "GET", "/v1/shows/s1/holds/{released}", "", nil, 404, "hold_not_found"},
		{"get hold expired", "GET", "/v1/shows/short/holds/{expired}", "", nil, 410, "hold_expired"},
		{"delete hold released", "DELETE", "/v1/shows/s1/holds/{released}", "", nil, 404, "hold_not_found"},
		{"delete hold expired", "DELETE", "/v1/shows/short/holds/{expired}", "", nil, 410, "hold_expired"},
		{"delete hold ordered", "DELETE", "/v1/shows/s1/holds/{ordered_hold}", "", nil, 409, "invalid_state"},
		{"extend", "POST", "/v1/shows/s1/holds/{fresh}/extend", `{"seconds":60}`, nil, 200, ""},
		{"extend expired", "POST", "/v1/shows/short/holds/{expired}/extend", `{"seconds":60}`, nil, 410, "hold_expired"},
		{"extend missing", "POST", "/v1/shows/s1/holds/s1~0~nope/extend", `{"seconds":60}`, nil, 404, "hold_not_found"},
		{"extend zero", "POST", "/v1/shows/s1/holds/{fresh}/extend", `{"seconds":0}`, nil, 400, "invalid_request"},
		{"extend too long", "POST", "/v1/shows/s1/holds/{fresh}/extend", `{"seconds":7201}`, nil, 400, "invalid_request"},
		{"extend string", "POST", "/v1/shows/s1/holds/{fresh}/extend", `{"seconds":"60"}`, nil, 400, "invalid_request"},
		{"extend unknown field", "POST", "/v1/shows/s1/holds/{fresh}/extend", `{"seconds":60,"x":1}`, nil, 400, "invalid_request"},
		{"extend missing field", "POST", "/v1/shows/s1/holds/{fresh}/extend", `{}`, nil, 400, "invalid_request"},
		{"extend ordered", "POST", "/v1/shows/s1/holds/{ordered_hold}/extend", `{"seconds":60}`, nil, 409, "invalid_state"},
		// orders
		{"order hold missing", "POST", "/v1/orders", `{"show":"s1","hold":"s1~0~nope"}`, nil, 404, "hold_not_found"},
		{"order hold expired", "POST", "/v1/orders", `{"show":"short","hold":"{expired}"}`, nil, 410, "hold_expired"},
		{"order show missing", "POST", "/v1/orders", `{"show":"nope","hold":"{hold}"}`, nil, 404, "show_not_found"},
		{"order bad json", "POST", "/v1/orders", `{"show":"s1",`, nil, 400, "invalid_request"},
		{"order no hold", "POST", "/v1/orders", `{"show":"s1"}`, nil, 400, "invalid_request"},
		{"order bad show id", "POST", "/v1/orders", `{"show":"a b","hold":"x"}`, nil, 400, "invalid_request"},
		{"order unknown field", "POST", "/v1/orders", `{"show":"s1","hold":"{hold}","x":1}`, nil, 400, "invalid_request"},
		{"order long idem key", "POST", "/v1/orders", `{"show":"s1","hold":"{hold}"}`, []string{"Idempotency-Key", strings.Repeat("k", 129)}, 400, "invalid_request"},
		{"order idem replay", "POST", "/v1/orders", `{"show":"s1","hold":"{idem_hold}"}`, []string{"Idempotency-Key", "k1"}, 200, ""},
		{"order idem mismatch", "POST", "/v1/orders", `{"show":"s1","hold":"{hold}"}`, []string{"Idempotency-Key", "k1"}, 422, "idempotency_mismatch"},
		{"order again same hold", "POST", "/v1/orders", `{"show":"s1","hold":"{ordered_hold}"}`, nil, 200, ""},
		{"get order", "GET", "/v1/orders/{order}", "", nil, 200, ""},
		{"get order missing", "GET", "/v1/orders/s1~0~nope", "", nil, 404, "order_not_found"},
		{"get order no show", "GET", "/v1/orders/nope", "", nil, 404, "order_not_found"},
		{"pay missing", "POST", "/v1/orders/s1~0~nope/pay", `{"payment_token":"tok_ok"}`, nil, 404, "order_not_found"},
		{"pay no token", "POST", "/v1/orders/{order}/pay", `{}`, nil, 400, "invalid_request"},
		{"pay bad body", "POST", "/v1/orders/{order}/pay", `{"payment_token":1}`, nil, 400, "invalid_request"},
		{"pay paid", "POST", "/v1/orders/{paid_order}/pay", `{"payment_token":"tok_ok"}`, nil, 409, "invalid_state"},
		{"cancel paid", "POST", "/v1/orders/{paid_order}/cancel", "", nil, 409, "invalid_state"},
		{"cancel missing", "POST", "/v1/orders/s1~0~nope/cancel", "", nil, 404, "order_not_found"},
		{"cancel bad body", "POST", "/v1/orders/{order}/cancel", `{"x":1}`, nil, 400, "invalid_request"},
		// routing
		{"unknown route", "GET", "/v2/shows", "", nil, 404, "not_found"},
		{"unknown subroute", "GET", "/v1/shows/s1/nothing", "", nil, 404, "not_found"},
		{"trailing slash", "GET", "/v1/shows/s1/", "", nil, 404, "not_found"},
		{"root post", "POST", "/", "", nil, 405, "method_not_allowed"},
		{"page too deep", "GET", "/shows/s1/x", "", nil, 404, "not_found"},
		{"too deep", "GET", "/v1/shows/s1/holds/h/extend/x", "", nil, 404, "not_found"},
		{"method shows", "DELETE", "/v1/shows", "", nil, 405, "method_not_allowed"},
		{"method show", "DELETE", "/v1/shows/s1", "", nil, 405, "method_not_allowed"},
		{"method hold", "PUT", "/v1/shows/s1/holds/x", "", nil, 405, "method_not_allowed"},
		{"method healthz", "POST", "/healthz", "", nil, 405, "method_not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.srv.Do(t, c.method, f.expand(c.path), f.expand(c.body), c.hdr...)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if c.code == "" {
				if !json.Valid(r.Body) {
					t.Fatalf("body is not JSON: %s", r.Body)
				}
				return
			}
			var e errBody
			decode(t, r.Body, &e)
			if e.Error.Code != c.code || e.Error.Message == "" {
				t.Fatalf("error %+v, want code %s", e.Error, c.code)
			}
			if ct := r.Header["Content-Type"]; ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			if c.status == 405 && r.Header["Allow"] == "" {
				t.Fatalf("405 without Allow")
			}
			if c.code == "seats_unavailable" && (len(e.Error.Seats) != 1 || e.Error.Seats[0] != f.ids["taken"]) {
				t.Fatalf("taken seats %v, want [%s]", e.Error.Seats, f.ids["taken"])
			}
		})
	}
}

// TestResponseFields checks that holds and orders carry exactly the
// contract's fields.
func TestResponseFields(t *testing.T) {
	f := newFixture(t, edge.Options{})
	keys := func(b []byte) string {
		var m map[string]json.RawMessage
		decode(t, b, &m)
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return strings.Join(ks, ",")
	}
	hb := f.must(t, 201, "POST", "/v1/shows/s1/holds", `{"user":"u","seats":["s0-1-1"]}`)
	if got, want := keys(hb), "amount,expires_at,general,id,quantity,seats,show,user"; got != want {
		t.Fatalf("hold fields %s, want %s", got, want)
	}
	var h holdBody
	decode(t, hb, &h)
	ob := f.must(t, 201, "POST", "/v1/orders", `{"show":"s1","hold":"`+h.ID+`"}`)
	if got, want := keys(ob), "amount,created_at,general,history,id,payment_due_at,quantity,seats,show,status,user"; got != want {
		t.Fatalf("order fields %s, want %s", got, want)
	}
	sb := f.must(t, 200, "GET", "/v1/shows/s1", "")
	if got, want := keys(sb), "hold_ttl_seconds,id,max_seats_per_user,name,payment_ttl_seconds,sections,tiers,totals"; got != want {
		t.Fatalf("show fields %s, want %s", got, want)
	}
}
