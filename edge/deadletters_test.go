package edge_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

// emptyOutbox has no events: the relay below only delivers dead letters again.
type emptyOutbox struct{}

func (emptyOutbox) OutboxAfter(uint64, int) ([]pebble.OutboxEntry, error) { return nil, nil }
func (emptyOutbox) AckOutbox(...uint64) error                             { return nil }

// recHandler records the events it handles.
type recHandler struct {
	mu  sync.Mutex
	ids []string
}

func (h *recHandler) Handle(_ context.Context, e seatmap.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ids = append(h.ids, e.ID)
	return nil
}

func (h *recHandler) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...)
}

func TestDeadLetterAdmin(t *testing.T) {
	dl := &pipeline.MemDeadLetters{}
	dl.Put(pipeline.DeadLetter{ID: "42", Event: seatmap.Event{ID: "o.2", Type: seatmap.EventPaymentRequested, OrderID: "o", Show: "s1"},
		Attempts: 10, LastError: "gateway: bad card number", DeadAt: 1700000000000})
	h := &recHandler{}
	relay := &pipeline.Relay{Outbox: emptyOutbox{}, Transport: &pipeline.Local{Handlers: []pipeline.Handler{h}}, DeadLetters: dl}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go relay.Run(ctx)
	srv := edgetest.NewServer(t, edgetest.NewMemBackend(), edge.Options{AdminToken: "adm", DeadLetters: relay})
	srv.CheckContract(t)
	auth := []string{"Authorization", "Bearer adm"}
	wrong := []string{"Authorization", "Bearer nope"}
	list := `{"dead_letters":[{"id":"42","event":{"id":"o.2","type":"payment_requested","show":"s1","shard":0,"order":"o","user":"","amount":0,"quantity":0,"at":0},"attempts":10,"last_error":"gateway: bad card number","dead_at":1700000000000}]}`
	cases := []struct {
		name, method, path string
		hdr                []string
		status             int
		code, body         string
	}{
		{"list without token", "GET", "/v1/admin/dead-letters", nil, 401, "unauthorized", ""},
		{"list with a wrong token", "GET", "/v1/admin/dead-letters", wrong, 401, "unauthorized", ""},
		{"list", "GET", "/v1/admin/dead-letters", auth, 200, "", list},
		{"list with POST", "POST", "/v1/admin/dead-letters", auth, 405, "method_not_allowed", ""},
		{"retry without token", "POST", "/v1/admin/dead-letters/42/retry", nil, 401, "unauthorized", ""},
		{"retry with a wrong token", "POST", "/v1/admin/dead-letters/42/retry", wrong, 401, "unauthorized", ""},
		{"retry unknown", "POST", "/v1/admin/dead-letters/7/retry", auth, 404, "dead_letter_not_found", ""},
		{"retry not an id", "POST", "/v1/admin/dead-letters/abc/retry", auth, 404, "dead_letter_not_found", ""},
		{"retry with GET", "GET", "/v1/admin/dead-letters/42/retry", auth, 405, "method_not_allowed", ""},
		{"no such admin route", "POST", "/v1/admin/dead-letters/42/bury", auth, 404, "not_found", ""},
		{"retry", "POST", "/v1/admin/dead-letters/42/retry", auth, 202, "", `{"id":"42","status":"retrying"}`},
	}
	for _, c := range cases {
		r := srv.Do(t, c.method, c.path, "", c.hdr...)
		if r.Status != c.status || (c.code != "" && !strings.Contains(string(r.Body), `{"error":{"code":"`+c.code+`","message":`)) ||
			(c.body != "" && string(r.Body) != c.body) {
			t.Fatalf("%s: %d %s, want %d %s %s", c.name, r.Status, r.Body, c.status, c.code, c.body)
		}
	}
	// the retried event is delivered again, and its dead letter goes
	deadline := time.Now().Add(10 * time.Second)
	for len(h.got()) == 0 || len(mustList(t, srv, auth)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not redelivered: handled %v", h.got())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := h.got(); len(got) != 1 || got[0] != "o.2" {
		t.Fatalf("handled %v", got)
	}
	m := srv.Do(t, "GET", "/metrics", "")
	if !strings.Contains(string(m.Body), "\nboxoffice_dead_letters_total 0\n") || !strings.Contains(string(m.Body), "\nboxoffice_dead_letters 0\n") {
		t.Fatalf("metrics lack the dead letters:\n%s", m.Body)
	}
	if r := srv.Do(t, "POST", "/v1/admin/dead-letters/42/retry", "", auth...); r.Status != 404 {
		t.Fatalf("retry of a delivered dead letter: %d %s", r.Status, r.Body)
	}

	// without a pipeline the routes do not exist, and /metrics says nothing of them
	bare := edgetest.NewServer(t, edgetest.NewMemBackend(), edge.Options{AdminToken: "adm"})
	if r := bare.Do(t, "GET", "/v1/admin/dead-letters", "", auth...); r.Status != 404 || !strings.Contains(string(r.Body), `"not_found"`) {
		t.Fatalf("without a pipeline: %d %s", r.Status, r.Body)
	}
	if m := bare.Do(t, "GET", "/metrics", ""); strings.Contains(string(m.Body), "dead_letters") {
		t.Fatal("dead letter metrics without a pipeline")
	}
}

func mustList(t *testing.T, srv *edgetest.Server, auth []string) []pipeline.DeadLetter {
	t.Helper()
	r := srv.Do(t, "GET", "/v1/admin/dead-letters", "", auth...)
	var body struct {
		DeadLetters []pipeline.DeadLetter `json:"dead_letters"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &body) != nil || body.DeadLetters == nil {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	return body.DeadLetters
}
