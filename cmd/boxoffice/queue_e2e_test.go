package main

import (
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type ticketDoc struct {
	Ticket, State, Pass string
	Position            int
	ReturnsPossible     int `json:"returns_possible"`
}

type entryDoc struct {
	ID, State, Hold, Order string
	Position               int
}

// TestQueueAndWaitlistSurviveKill is the waiting room's and the waitlist's
// acceptance test against the real binary: a pass admits its user's holds,
// a hold without one is refused, a sold-out room says how many seats may
// come back, a returned seat is offered to the waitlist, and the offer is
// delivered as a signed waitlist.offered webhook and a notification. After
// a SIGKILL the restarted node has every ticket, pass and entry as it was,
// and the offer is ordered there.
func TestQueueAndWaitlistSurviveKill(t *testing.T) {
	dir := t.TempDir()
	auth := []string{"Authorization", "Bearer " + adminToken}
	s := startServer(t, dir, "--webhook-allow-private", "--webhook-min-backoff", "100ms")
	rc := &receiver{failures: 1, attempts: map[string]int{}, got: map[string]string{}}
	recv := httptest.NewServer(rc)
	defer recv.Close()
	var hook struct{ ID, Secret string }
	if code, err := call("POST", s.base+"/v1/webhooks", fmt.Sprintf(`{"url":%q,"events":["waitlist.offered"]}`, recv.URL), &hook, auth...); err != nil || code != 201 {
		t.Fatalf("register: %d %v", code, err)
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(hook.Secret, "whsec_"))
	rc.mu.Lock()
	rc.secret = key
	rc.mu.Unlock()

	show := `{"id":"tour","hold_ttl_seconds":600,"tiers":[{"id":"std","price":6000}],
		"sections":[{"id":"s0","tier":"std","rows":[{"id":"1","seats":4}]}],
		"queue":{"pass_ttl_seconds":600,"max_active":10,"admit_factor":1},"waitlist":{"offer_ttl_seconds":600}}`
	if code, err := call("POST", s.base+"/v1/shows", show, nil, auth...); err != nil || code != 201 {
		t.Fatalf("create show: %d %v", code, err)
	}
	join := func(base, user string) ticketDoc {
		var tk ticketDoc
		if code, err := call("POST", base+"/v1/shows/tour/queue", `{"user":"`+user+`"}`, &tk); err != nil || code/100 != 2 {
			t.Fatalf("join %s: %d %v", user, code, err)
		}
		return tk
	}
	ann, bob := join(s.base, "ann"), join(s.base, "bob")
	if ann.State != "admitted" || bob.State != "admitted" || ann.Pass == "" {
		t.Fatalf("open room: %+v %+v", ann, bob)
	}
	hold := func(user, pass string, want int) string {
		t.Helper()
		var h holdDoc
		code, err := call("POST", s.base+"/v1/shows/tour/holds", `{"user":"`+user+`","section":"s0","quantity":2}`, &h, "X-Queue-Pass", pass)
		if err != nil || code != want {
			t.Fatalf("hold of %s: %d %v, want %d", user, code, err, want)
		}
		return h.ID
	}
	hold("ann", "", 403)
	hold("bob", ann.Pass, 403)
	annHold := hold("ann", ann.Pass, 201)
	hold("bob", bob.Pass, 201)
	cat := join(s.base, "cat")
	if cat.State != "sold_out" || cat.ReturnsPossible != 4 || cat.Position != 1 {
		t.Fatalf("cat on a sold-out show: %+v", cat)
	}
	var e entryDoc
	if code, err := call("POST", s.base+"/v1/shows/tour/waitlist", `{"user":"cat","quantity":2,"together":true}`, &e); err != nil || code != 201 {
		t.Fatalf("waitlist: %d %v", code, err)
	}
	if code, _ := call("DELETE", s.base+"/v1/shows/tour/holds/"+annHold, "", nil); code != 204 {
		t.Fatalf("release: %d", code)
	}
	waitFor(t, 20*time.Second, func() bool {
		got, bad := rc.snapshot()
		if len(bad) > 0 {
			t.Fatalf("receiver: %v", bad)
		}
		return len(got) == 1
	})
	got, _ := rc.snapshot()
	for _, ev := range got {
		if !strings.HasPrefix(ev, "waitlist.offered") {
			t.Fatalf("delivery %q", ev)
		}
	}
	waitFor(t, 10*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "notifications.log"))
		return strings.Contains(string(b), `"kind":"waitlist_offered"`) && strings.Contains(string(b), `"user":"cat"`)
	})
	var before entryDoc
	if code, _ := call("GET", s.base+"/v1/shows/tour/waitlist/"+e.ID, "", &before); code != 200 || before.State != "offered" || before.Hold == "" {
		t.Fatalf("cat's entry: %d %+v", code, before)
	}
	var bobBefore ticketDoc
	call("GET", s.base+"/v1/shows/tour/queue/"+bob.Ticket, "", &bobBefore)

	s.kill()
	s = startServer(t, dir, "--webhook-allow-private", "--webhook-min-backoff", "100ms")
	defer s.stop()
	var after entryDoc
	if code, _ := call("GET", s.base+"/v1/shows/tour/waitlist/"+e.ID, "", &after); code != 200 || after != before {
		t.Fatalf("cat's entry after the kill: %d %+v, before %+v", code, after, before)
	}
	var bobAfter, catAfter ticketDoc
	call("GET", s.base+"/v1/shows/tour/queue/"+bob.Ticket, "", &bobAfter)
	call("GET", s.base+"/v1/shows/tour/queue/"+cat.Ticket, "", &catAfter)
	if bobAfter != bobBefore || catAfter.Ticket != cat.Ticket || catAfter.State == "" {
		t.Fatalf("tickets after the kill: bob %+v (before %+v), cat %+v", bobAfter, bobBefore, catAfter)
	}
	// a pass signed before the kill still admits its user: the show is sold out, not closed to ann
	hold("ann", ann.Pass, 409)
	var o orderDoc
	if code, err := call("POST", s.base+"/v1/orders", `{"show":"tour","hold":"`+after.Hold+`"}`, &o); err != nil || code != 201 {
		t.Fatalf("ordering the offer after the kill: %d %v", code, err)
	}
	if code, _ := call("GET", s.base+"/v1/shows/tour/waitlist/"+e.ID, "", &after); code != 200 || after.State != "accepted" || after.Order != o.ID {
		t.Fatalf("cat's entry after the order: %+v", after)
	}
}
