package edge_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
)

// recSettler records what the internal endpoints hand on.
type recSettler struct {
	mu      sync.Mutex
	settled []string
	noted   []string
	err     error
}

func (r *recSettler) SettlePayment(_ context.Context, e seatmap.Event, ok bool, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.settled = append(r.settled, id+map[bool]string{true: ":ok", false: ":declined"}[ok]+e.Attempt)
	return nil
}

func (r *recSettler) RecordNotification(_ context.Context, e seatmap.Event, ch string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noted = append(r.noted, e.ID+":"+ch)
	return nil
}

func TestInternalConsumerCallbacks(t *testing.T) {
	rs := &recSettler{}
	srv := edgetest.NewServer(t, edgetest.NewMemBackend(), edge.Options{AdminToken: "adm", Settler: rs})
	srv.CheckContract(t)
	auth := []string{"Authorization", "Bearer adm"}
	ev := `{"id":"o.2","type":"payment_requested","show":"s1","shard":0,"order":"o","user":"u","amount":1,"quantity":1,"at":1}`
	cases := []struct {
		name, path, body string
		hdr              []string
		status           int
		code             string
	}{
		{"no token", "/v1/internal/payment-results", `{"event":` + ev + `,"success":true}`, nil, 401, "unauthorized"},
		{"bad json", "/v1/internal/payment-results", `{"event":`, auth, 400, "invalid_request"},
		{"no event", "/v1/internal/payment-results", `{"success":true}`, auth, 400, "invalid_request"},
		{"unknown field", "/v1/internal/payment-results", `{"event":` + ev + `,"x":1}`, auth, 400, "invalid_request"},
		{"bad show", "/v1/internal/notifications", `{"event":{"id":"e","order":"o","show":"a b"}}`, auth, 400, "invalid_request"},
		{"payment", "/v1/internal/payment-results", `{"event":` + ev + `,"success":true,"attempt":"@2"}`, auth, 204, ""},
		{"notification", "/v1/internal/notifications", `{"event":` + ev + `,"channel":"log"}`, auth, 204, ""},
	}
	for _, c := range cases {
		r := srv.Do(t, "POST", c.path, c.body, c.hdr...)
		if r.Status != c.status || (c.code != "" && !strings.Contains(string(r.Body), `"code":"`+c.code+`"`)) {
			t.Fatalf("%s: %d %s, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
	if len(rs.settled) != 1 || rs.settled[0] != "o.2:ok@2" || len(rs.noted) != 1 || rs.noted[0] != "o.2:log" {
		t.Fatalf("settled %v, noted %v", rs.settled, rs.noted)
	}
	rs.err = seatmap.ErrOrderNotFound
	if r := srv.Do(t, "POST", "/v1/internal/payment-results", `{"event":`+ev+`,"success":true}`, auth...); r.Status != 404 {
		t.Fatalf("a settle error: %d %s", r.Status, r.Body)
	}
	// without a Settler the routes do not exist
	bare := edgetest.NewServer(t, edgetest.NewMemBackend(), edge.Options{AdminToken: "adm"})
	if r := bare.Do(t, "POST", "/v1/internal/payment-results", `{}`, auth...); r.Status != 404 {
		t.Fatalf("without a settler: %d", r.Status)
	}
}
