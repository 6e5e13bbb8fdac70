package sim

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/actors/seatmap"
	"github.com/valyala/fasthttp"
)

func TestBigShowShape(t *testing.T) {
	for _, seats := range []int{4, 499, 500, 501, defaultBigSeats, maxLoadSeats} {
		cfg := bigShow("big", seats)
		cfg.Normalize()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%d seats: invalid show: %v", seats, err)
		}
		if got := capacityOf(cfg); got != seats {
			t.Errorf("%d seats: capacity %d", seats, got)
		}
		body, _ := json.Marshal(cfg)
		if len(body) > 64<<10 {
			t.Errorf("%d seats: creation body is %d bytes, over the API's 64 KiB", seats, len(body))
		}
	}
}

func TestLoadHoldsWithCeiling(t *testing.T) {
	t.Parallel()
	url := startEdge(t)
	r, code := runLoadJSON(t, "holds", "--target", url, "--admin-token", testAdmin, "--connections", "8",
		"--duration", "1s", "--seats", "2000", "--ceiling")
	if code != 0 {
		t.Fatalf("exit %d, checks %+v", code, r.Checks)
	}
	t.Logf("seed %d", r.Seed)
	requireCountsAddUp(t, r)
	requireChecks(t, r.Checks)
	if r.Params["seats"] != "2000" {
		t.Errorf("params %v", r.Params)
	}
	hold, release := endpoint(r, epHold), endpoint(r, epRelease)
	// every arrival is one hold; seats come back at once, so every hold is granted and released
	if hold.Count != r.Arrivals || hold.Statuses["201"] != hold.Count {
		t.Fatalf("hold %v for %d arrivals: want every arrival granted", hold.Statuses, r.Arrivals)
	}
	if release.Statuses["204"] != hold.Count || release.Count != hold.Count {
		t.Fatalf("release %v for %d holds: want one 204 per hold", release.Statuses, hold.Count)
	}
	c := r.Ceiling
	if c == nil || c.All.Errors != 0 {
		t.Fatalf("ceiling %+v", c)
	}
	var ch, cr EndpointSummary
	for _, e := range c.Endpoints {
		switch e.Name {
		case epHold:
			ch = e
		case epRelease:
			cr = e
		}
	}
	if ch.Statuses["201"] == 0 || cr.Statuses["204"] != ch.Count {
		t.Fatalf("ceiling run: hold %v release %v: want the same request mix", ch.Statuses, cr.Statuses)
	}
}

// TestLoadGAHolds: issue 12's hot show: one show with one GA section, every
// arrival holds one place and releases it; with the ceiling.
func TestLoadGAHolds(t *testing.T) {
	t.Parallel()
	url := startEdge(t)
	r, code := runLoadJSON(t, "ga-holds", "--target", url, "--admin-token", testAdmin, "--connections", "8",
		"--duration", "1s", "--seats", "100", "--ceiling")
	if code != 0 {
		t.Fatalf("exit %d, checks %+v", code, r.Checks)
	}
	t.Logf("seed %d", r.Seed)
	requireCountsAddUp(t, r)
	requireChecks(t, r.Checks)
	hold, release := endpoint(r, epHold), endpoint(r, epRelease)
	if hold.Count == 0 || hold.Count != r.Arrivals || hold.Statuses["201"] != hold.Count {
		t.Fatalf("hold %v for %d arrivals: want every arrival granted (8 callers, 100 places)", hold.Statuses, r.Arrivals)
	}
	if release.Statuses["204"] != hold.Count {
		t.Fatalf("release %v for %d holds: want one 204 per hold", release.Statuses, hold.Count)
	}
	if c := r.Ceiling; c == nil || c.All.Errors != 0 || c.All.Count == 0 {
		t.Fatalf("ceiling %+v", c)
	}
	cfg := gaShow("x", 100)
	cfg.Normalize()
	if err := cfg.Validate(); err != nil || len(cfg.Sections) != 1 || !cfg.Sections[0].GA() {
		t.Fatalf("gaShow: %v, sections %+v", err, cfg.Sections)
	}
}

func TestLoadOrders(t *testing.T) {
	t.Parallel()
	url := startEdge(t)
	// 400 seats a show: a new show every 100 arrivals
	r, code := runLoadJSON(t, "orders", "--target", url, "--admin-token", testAdmin, "--connections", "8",
		"--duration", "1s", "--seats", "400", "--ceiling")
	if code != 0 {
		t.Fatalf("exit %d, checks %+v", code, r.Checks)
	}
	t.Logf("seed %d", r.Seed)
	requireCountsAddUp(t, r)
	requireChecks(t, r.Checks)
	hold, order, shows := endpoint(r, epHold), endpoint(r, epOrder), endpoint(r, epCreateShow)
	if hold.Count != r.Arrivals || hold.Statuses["201"] != hold.Count {
		t.Fatalf("hold %v for %d arrivals: want every arrival granted (no show sells out)", hold.Statuses, r.Arrivals)
	}
	if order.Statuses["201"] != hold.Count {
		t.Fatalf("order %v for %d holds: want one order created per hold", order.Statuses, hold.Count)
	}
	if want := (r.Arrivals + 99) / 100; shows.Statuses["201"] != want {
		t.Fatalf("%d shows created for %d arrivals, want %d", shows.Statuses["201"], r.Arrivals, want)
	}
	if r.Ceiling == nil || r.Ceiling.All.Errors != 0 {
		t.Fatalf("ceiling %+v", r.Ceiling)
	}
}

// TestNoopAnswersLikeTheAPI: the ceiling's hold and order answers have the
// real API's fields and about its size, so the ceiling costs what the real
// server's encoding costs.
func TestNoopAnswersLikeTheAPI(t *testing.T) {
	url := startEdge(t)
	noop, err := startNoop()
	if err != nil {
		t.Fatal(err)
	}
	defer noop.close()
	cfg := bigShow("same-size", 1000)
	post := func(base, path, body string, hdr ...string) (int, []byte) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod("POST")
		req.SetRequestURI(base + path)
		req.SetBodyString(body)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if err := fasthttp.Do(req, resp); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode(), append([]byte(nil), resp.Body()...)
	}
	cfgBody, _ := json.Marshal(cfg)
	var answers [2][2][]byte // [real, noop][hold, order]
	for i, base := range []string{url, noop.url} {
		if code, b := post(base, "/v1/shows", string(cfgBody), "Authorization", "Bearer "+testAdmin); code != 201 {
			t.Fatalf("%s: create show %d %s", base, code, b)
		}
		code, hb := post(base, "/v1/shows/same-size/holds", `{"user":"u1","section":"s1","quantity":3}`)
		if code != 201 {
			t.Fatalf("%s: hold %d %s", base, code, hb)
		}
		var h holdJSON
		if err := json.Unmarshal(hb, &h); err != nil {
			t.Fatal(err)
		}
		code, ob := post(base, "/v1/orders", `{"show":"same-size","hold":"`+h.ID+`"}`, "Idempotency-Key", "k-"+h.ID)
		if code != 201 {
			t.Fatalf("%s: order %d %s", base, code, ob)
		}
		answers[i] = [2][]byte{hb, ob}
		t.Logf("%s:\n  hold %s\n  order %s", base, hb, ob)
	}
	for k, what := range []string{"hold", "order"} {
		real, fake := answers[0][k], answers[1][k]
		var rm, fm map[string]any
		_ = json.Unmarshal(real, &rm)
		_ = json.Unmarshal(fake, &fm)
		for f := range rm {
			if _, ok := fm[f]; !ok {
				t.Errorf("%s: the no-op answer lacks %q:\nreal %s\nnoop %s", what, f, real, fake)
			}
		}
		// seat numbers may differ in width (s1-1-24 against s1-1-1): 3 seats, 2 bytes each
		if d := len(real) - len(fake); d < -6 || d > 6 {
			t.Errorf("%s: real answer %d bytes, no-op %d:\nreal %s\nnoop %s", what, len(real), len(fake), real, fake)
		}
		if !strings.Contains(string(fake), `"seats":["s1-`) {
			t.Errorf("%s: no-op seats are not in the requested section: %s", what, fake)
		}
	}
	// a general-admission hold (ga-holds): the same bytes but for the id's
	// random part and the expiry instant
	ga := gaShow("same-ga", 100)
	gaBody, _ := json.Marshal(ga)
	var gaAnswers [2][]byte
	for i, base := range []string{url, noop.url} {
		if code, b := post(base, "/v1/shows", string(gaBody), "Authorization", "Bearer "+testAdmin); code != 201 {
			t.Fatalf("%s: create GA show %d %s", base, code, b)
		}
		code, hb := post(base, "/v1/shows/same-ga/holds", `{"user":"u1","section":"ga","quantity":1}`)
		if code != 201 {
			t.Fatalf("%s: GA hold %d %s", base, code, hb)
		}
		gaAnswers[i] = hb
	}
	shape := regexp.MustCompile(`~[a-z2-7]{26}"|"expires_at":"[^"]*"`)
	if r, f := shape.ReplaceAll(gaAnswers[0], nil), shape.ReplaceAll(gaAnswers[1], nil); string(r) != string(f) ||
		len(gaAnswers[0]) != len(gaAnswers[1]) {
		t.Errorf("GA hold: the answers differ:\nreal %s\nnoop %s", gaAnswers[0], gaAnswers[1])
	}
	var o struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(answers[1][1], &o); err != nil || o.Status != seatmap.StatusPendingPayment {
		t.Errorf("no-op order status %q (%v)", o.Status, err)
	}
}
