package edge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
	"github.com/golang-jwt/jwt/v5"
)

// roomShow opens its waiting room 10 s after the fixture clock's start,
// admits one pass at a time, and has 2 GA seats and a row of 4.
const roomShow = `{"id":"room","tiers":[{"id":"std","price":100}],
 "sections":[{"id":"pit","tier":"std","capacity":2},{"id":"s0","tier":"std","rows":[{"id":"1","seats":4}]}],
 "queue":{"opens_at":"2030-01-01T00:00:10Z","pass_ttl_seconds":60,"max_active":1}}`

type ticketBody struct {
	Ticket          string `json:"ticket"`
	Show            string `json:"show"`
	State           string `json:"state"`
	Position        int    `json:"position"`
	Wait            int    `json:"estimated_wait_seconds"`
	Pass            string `json:"pass"`
	PassExpiresAt   string `json:"pass_expires_at"`
	ReturnsPossible int    `json:"returns_possible"`
}

type entryBody struct {
	ID       string         `json:"id"`
	User     string         `json:"user"`
	Quantity int            `json:"quantity"`
	Together bool           `json:"together"`
	State    string         `json:"state"`
	Position int            `json:"position"`
	Hold     string         `json:"hold"`
	Seats    []string       `json:"seats"`
	General  map[string]int `json:"general"`
	Order    string         `json:"order"`
	Reason   string         `json:"reason"`
}

func (f *fixture) ticket(t *testing.T, want int, user string) ticketBody {
	t.Helper()
	var tk ticketBody
	decode(t, f.must(t, want, "POST", "/v1/shows/room/queue", `{"user":"`+user+`"}`), &tk)
	return tk
}

func (f *fixture) getTicket(t *testing.T, id string, hdr ...string) ticketBody {
	t.Helper()
	var tk ticketBody
	decode(t, f.must(t, 200, "GET", "/v1/shows/room/queue/"+id, "", hdr...), &tk)
	return tk
}

// errCode sends a request and checks its status and error code.
func (f *fixture) errCode(t *testing.T, want int, code, method, path, body string, hdr ...string) string {
	t.Helper()
	var e errBody
	decode(t, f.must(t, want, method, path, body, hdr...), &e)
	if e.Error.Code != code {
		t.Fatalf("%s %s: code %q, want %q (%s)", method, path, e.Error.Code, code, e.Error.Message)
	}
	return e.Error.Message
}

// TestQueueFlow: tickets, the opening, passes that admit holds of their
// user on their show until they expire, and every refusal, over HTTP
// against the OpenAPI contract.
func TestQueueFlow(t *testing.T) {
	f := newFixture(t, edge.Options{})
	f.must(t, 201, "POST", "/v1/shows", roomShow, "Authorization", adminAuth)
	ann := f.ticket(t, 201, "ann")
	if ann.State != "waiting" || ann.Position != 1 || ann.Wait < 10 {
		t.Fatalf("ann's ticket before opening: %+v", ann)
	}
	if again := f.ticket(t, 200, "ann"); again.Ticket != ann.Ticket {
		t.Fatalf("a retry gave another ticket: %s, then %s", ann.Ticket, again.Ticket)
	}
	bob := f.ticket(t, 201, "bob")
	f.errCode(t, 403, "queue_required", "POST", "/v1/shows/room/holds", `{"user":"ann","section":"pit","quantity":1}`)
	f.errCode(t, 400, "invalid_request", "POST", "/v1/shows/room/queue", `{}`)
	f.errCode(t, 400, "invalid_request", "POST", "/v1/shows/room/queue", `{"user":""}`)
	f.errCode(t, 400, "invalid_request", "POST", "/v1/shows/room/queue", `{"user":"x","extra":1}`)
	f.errCode(t, 409, "no_queue", "POST", "/v1/shows/s1/queue", `{"user":"ann"}`)
	f.errCode(t, 404, "show_not_found", "POST", "/v1/shows/nope/queue", `{"user":"ann"}`)
	f.errCode(t, 404, "ticket_not_found", "GET", "/v1/shows/room/queue/room~nope", "")
	f.errCode(t, 404, "ticket_not_found", "GET", "/v1/shows/s1/queue/"+ann.Ticket, "")
	f.errCode(t, 405, "method_not_allowed", "DELETE", "/v1/shows/room/queue/"+ann.Ticket, "")

	// the room opens: one of the two is admitted (the shuffle decides), the other is first in line
	f.clock.ms.Add(10_000)
	a, b := f.getTicket(t, ann.Ticket), f.getTicket(t, bob.Ticket)
	admitted, waiting, user, other := a, b, "ann", "bob"
	if b.State == "admitted" {
		admitted, waiting, user, other = b, a, "bob", "ann"
	}
	if admitted.State != "admitted" || admitted.Pass == "" || admitted.PassExpiresAt == "" || waiting.State != "waiting" || waiting.Position != 1 {
		t.Fatalf("after opening: %+v and %+v", a, b)
	}
	var d struct {
		Queue struct {
			Opened  bool   `json:"opened"`
			Tickets int    `json:"tickets"`
			Live    int    `json:"live"`
			Seed    string `json:"seed"`
		} `json:"queue"`
	}
	decode(t, f.must(t, 200, "GET", "/v1/shows/room", ""), &d)
	if !d.Queue.Opened || d.Queue.Tickets != 2 || d.Queue.Live != 1 || d.Queue.Seed == "" {
		t.Fatalf("the show document's queue: %+v", d.Queue)
	}
	pass := admitted.Pass
	holdBodyOf := func(u string) string { return `{"user":"` + u + `","section":"pit","quantity":1}` }
	for _, tc := range []struct {
		name, body, pass, msg string
	}{
		{"another user's pass", holdBodyOf(other), pass, "another user's"},
		{"a forged signature", holdBodyOf(user), forgeSignature(pass), "signature"},
		{"another payload", holdBodyOf(user), strings.Replace(pass, "qp1.", "qp1.e", 1), "signature"},
		{"no pass at all", holdBodyOf(user), "", "waiting room"},
		{"garbage", holdBodyOf(user), "hello", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.pass != "" {
				hdr = []string{"X-Queue-Pass", tc.pass}
			}
			if msg := f.errCode(t, 403, "queue_required", "POST", "/v1/shows/room/holds", tc.body, hdr...); !strings.Contains(msg, tc.msg) {
				t.Fatalf("message %q does not say %q", msg, tc.msg)
			}
		})
	}
	// on another show the pass is refused too
	f.errCode(t, 403, "queue_required", "POST", "/v1/shows/s1/holds", holdBodyOf(user), "X-Queue-Pass", pass)
	// the pass admits its user's holds
	var h holdBody
	decode(t, f.must(t, 201, "POST", "/v1/shows/room/holds", holdBodyOf(user), "X-Queue-Pass", pass), &h)
	f.must(t, 201, "POST", "/v1/shows/room/holds", `{"user":"`+user+`","seats":["s0-1-1"]}`, "X-Queue-Pass", pass)
	// ... until it expires
	f.clock.ms.Add(61_000)
	if msg := f.errCode(t, 403, "queue_required", "POST", "/v1/shows/room/holds", holdBodyOf(user), "X-Queue-Pass", pass); !strings.Contains(msg, "expired") {
		t.Fatalf("an expired pass: %q", msg)
	}
	if tk := f.getTicket(t, admitted.Ticket); tk.State != "expired" {
		t.Fatalf("the ticket after its pass ran out: %+v", tk)
	}
	// the next in line is admitted once the first pass is gone
	if tk := f.getTicket(t, waiting.Ticket); tk.State != "admitted" || tk.Pass == "" {
		t.Fatalf("%s after the first pass ran out: %+v", other, tk)
	}
	// a user whose pass ran out may join again, at the end of the line
	if again := f.ticket(t, 201, user); again.Ticket == admitted.Ticket {
		t.Fatalf("a new ticket after expiry, got the old one")
	}
}

// TestQueueSoldOutAndPassClaim: with user tokens the pass may come in the
// token's queue_pass claim; a sold-out room tells waiting users how many
// seats may come back; tickets are their owners'.
func TestQueueSoldOutAndPassClaim(t *testing.T) {
	auth, err := edge.NewUserAuth(edge.UserAuthOptions{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, edge.Options{UserAuth: auth})
	f.must(t, 201, "POST", "/v1/shows", strings.Replace(roomShow, `"opens_at":"2030-01-01T00:00:10Z",`, "", 1), "Authorization", adminAuth)
	alice, bob := mint(t, "alice"), mint(t, "bob")
	var a, b ticketBody
	decode(t, f.must(t, 201, "POST", "/v1/shows/room/queue", "", "Authorization", alice), &a)
	decode(t, f.must(t, 201, "POST", "/v1/shows/room/queue", `{"user":"bob"}`, "Authorization", bob), &b)
	f.errCode(t, 403, "forbidden", "POST", "/v1/shows/room/queue", `{"user":"alice"}`, "Authorization", bob)
	f.errCode(t, 401, "unauthorized", "POST", "/v1/shows/room/queue", "")
	f.errCode(t, 404, "ticket_not_found", "GET", "/v1/shows/room/queue/"+a.Ticket, "", "Authorization", bob)
	if a.State != "admitted" || b.State != "waiting" {
		t.Fatalf("open room, max_active 1: %+v, %+v", a, b)
	}
	withPass := "Bearer " + sign(t, jwt.SigningMethodHS256, "", []byte(testSecret),
		jwt.MapClaims{"sub": "alice", "exp": f.clockTime().Add(3600e9).Unix(), "queue_pass": a.Pass})
	f.errCode(t, 403, "queue_required", "POST", "/v1/shows/room/holds", `{"section":"s0","quantity":4}`, "Authorization", alice)
	f.must(t, 201, "POST", "/v1/shows/room/holds", `{"section":"s0","quantity":4}`, "Authorization", withPass)
	f.must(t, 201, "POST", "/v1/shows/room/holds", `{"section":"pit","quantity":2}`, "Authorization", withPass)
	// sold out: bob waits, told how many seats may come back
	var got ticketBody
	decode(t, f.must(t, 200, "GET", "/v1/shows/room/queue/"+b.Ticket, "", "Authorization", bob), &got)
	if got.State != "sold_out" || got.ReturnsPossible != 6 || got.Position != 1 {
		t.Fatalf("bob's ticket on a sold-out show: %+v", got)
	}
	// bob's token with alice's pass is refused
	bobWithAlicePass := "Bearer " + sign(t, jwt.SigningMethodHS256, "", []byte(testSecret),
		jwt.MapClaims{"sub": "bob", "exp": f.clockTime().Add(3600e9).Unix(), "queue_pass": a.Pass})
	f.errCode(t, 403, "queue_required", "POST", "/v1/shows/room/holds", `{"section":"s0","quantity":1}`, "Authorization", bobWithAlicePass)
}

// TestWaitlistFlow: entries on a sold-out show, offers of returned seats as
// holds in the entry's user's name, ordering an offer, leaving.
func TestWaitlistFlow(t *testing.T) {
	m := edgetest.NewMem()
	f := newFixtureOn(t, m, edge.Options{})
	f.must(t, 201, "POST", "/v1/shows", `{"id":"w","tiers":[{"id":"std","price":100}],
		"sections":[{"id":"pit","tier":"std","capacity":2},{"id":"s0","tier":"std","rows":[{"id":"1","seats":4}]}],
		"waitlist":{"offer_ttl_seconds":30}}`, "Authorization", adminAuth)
	f.errCode(t, 409, "not_sold_out", "POST", "/v1/shows/w/waitlist", `{"user":"wes","quantity":2,"section":"pit"}`)
	h := f.hold(t, "w", `{"user":"ann","section":"pit","quantity":2}`)
	f.hold(t, "w", `{"user":"bob","section":"s0","quantity":3}`)
	var e1, e2 entryBody
	decode(t, f.must(t, 201, "POST", "/v1/shows/w/waitlist", `{"user":"wes","quantity":2,"together":true}`), &e1)
	if e1.State != "waiting" || e1.Position != 1 || !e1.Together || e1.Quantity != 2 {
		t.Fatalf("wes's entry: %+v", e1)
	}
	decode(t, f.must(t, 200, "POST", "/v1/shows/w/waitlist", `{"user":"wes","quantity":1}`), &e2)
	if e2.ID != e1.ID {
		t.Fatalf("a retry made a second entry")
	}
	decode(t, f.must(t, 201, "POST", "/v1/shows/w/waitlist", `{"user":"val","quantity":2,"section":"pit"}`), &e2)
	for _, tc := range []struct {
		body, code string
		status     int
	}{
		{`{"user":"x"}`, "invalid_request", 400},
		{`{"user":"x","quantity":0}`, "invalid_request", 400},
		{`{"user":"x","quantity":51}`, "invalid_request", 400},
		{`{"user":"x","quantity":1,"together":"yes"}`, "invalid_request", 400},
		{`{"user":"x","quantity":1,"section":"pit","tier":"std"}`, "invalid_request", 400},
		{`{"quantity":1}`, "invalid_request", 400},
		{`{"user":"x","quantity":1,"section":"nope"}`, "unknown_section", 422},
		{`{"user":"x","quantity":1,"tier":"nope"}`, "unknown_tier", 422},
	} {
		f.errCode(t, tc.status, tc.code, "POST", "/v1/shows/w/waitlist", tc.body)
	}
	f.errCode(t, 404, "waitlist_entry_not_found", "GET", "/v1/shows/w/waitlist/w~nope", "")
	f.errCode(t, 404, "waitlist_entry_not_found", "GET", "/v1/shows/s1/waitlist/"+e1.ID, "")

	// ann releases the pit: wes (two together, first) gets both, in the same step
	f.must(t, 204, "DELETE", "/v1/shows/w/holds/"+h.ID, "")
	decode(t, f.must(t, 200, "GET", "/v1/shows/w/waitlist/"+e1.ID, ""), &e1)
	if e1.State != "offered" || e1.Hold == "" || e1.General["pit"] != 2 {
		t.Fatalf("wes's entry after the release: %+v", e1)
	}
	decode(t, f.must(t, 200, "GET", "/v1/shows/w/waitlist/"+e2.ID, ""), &e2)
	if e2.State != "waiting" || e2.Position != 1 {
		t.Fatalf("val's entry after the release: %+v", e2)
	}
	offered := 0
	for _, ev := range m.Events("w") {
		if ev.Type == seatmap.EventWaitlistOffered && ev.Entry == e1.ID && ev.Hold == e1.Hold && ev.User == "wes" {
			offered++
		}
	}
	if offered != 1 {
		t.Fatalf("%d waitlist.offered events for wes, want 1", offered)
	}
	// the offer is wes's hold: he orders it
	var held holdBody
	decode(t, f.must(t, 200, "GET", "/v1/shows/w/holds/"+e1.Hold, ""), &held)
	if held.User != "wes" || held.Quantity != 2 {
		t.Fatalf("the offer's hold: %+v", held)
	}
	o := f.order(t, "w", e1.Hold)
	decode(t, f.must(t, 200, "GET", "/v1/shows/w/waitlist/"+e1.ID, ""), &e1)
	if e1.State != "accepted" || e1.Order != o.ID {
		t.Fatalf("wes's entry after the order: %+v", e1)
	}
	f.errCode(t, 409, "invalid_state", "DELETE", "/v1/shows/w/waitlist/"+e1.ID, "")
	// val leaves; leaving again changes nothing
	f.must(t, 204, "DELETE", "/v1/shows/w/waitlist/"+e2.ID, "")
	f.must(t, 204, "DELETE", "/v1/shows/w/waitlist/"+e2.ID, "")
	decode(t, f.must(t, 200, "GET", "/v1/shows/w/waitlist/"+e2.ID, ""), &e2)
	if e2.State != "cancelled" || e2.Reason != "user" {
		t.Fatalf("val's entry after leaving: %+v", e2)
	}
	var d struct {
		Waitlist struct {
			Entries, Waiting, Offered, Accepted int
		} `json:"waitlist"`
	}
	decode(t, f.must(t, 200, "GET", "/v1/shows/w", ""), &d)
	if d.Waitlist.Entries != 2 || d.Waitlist.Accepted != 1 || d.Waitlist.Waiting != 0 {
		t.Fatalf("the show document's waitlist: %+v", d.Waitlist)
	}
}

// TestQueueRoutesWithoutBackend: a Backend without the room answers its
// routes 404 not_found.
func TestQueueRoutesWithoutBackend(t *testing.T) {
	srv := edgetest.NewServer(t, struct{ edge.Backend }{edgetest.NewMemBackend()}, edge.Options{})
	srv.CheckContract(t)
	for _, p := range []string{"/v1/shows/s/queue", "/v1/shows/s/waitlist"} {
		r := srv.Do(t, "POST", p, `{"user":"u","quantity":1}`)
		if r.Status != 404 || !strings.Contains(string(r.Body), `"not_found"`) {
			t.Fatalf("POST %s: %d %s", p, r.Status, r.Body)
		}
	}
}

// newFixtureOn is newFixture over a given MemBackend (whose events a test reads).
func newFixtureOn(t *testing.T, m *edgetest.MemBackend, opt edge.Options) *fixture {
	t.Helper()
	c := &clock{}
	c.ms.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	m.Now = c.now
	f := &fixture{srv: edgetest.NewServer(t, m, opt), clock: c, ids: map[string]string{}}
	f.srv.CheckContract(t)
	return f
}

// clockTime is the fixture's clock as a time.
func (f *fixture) clockTime() time.Time { return time.UnixMilli(f.clock.now()) }

// forgeSignature changes one character of the pass's signature, away from its
// last one (whose low bits base64 may ignore): a replacement of the last two
// characters with fixed ones left the pass unchanged about once in 1,000 runs.
func forgeSignature(pass string) string {
	i := len(pass) - 5
	c := byte('A')
	if pass[i] == c {
		c = 'B'
	}
	return pass[:i] + string(c) + pass[i+1:]
}
