package edge_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/actors/pipeline"
	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
	"github.com/boxoffice/boxoffice/persistence/pebble"
)

func TestWebhookAdmin(t *testing.T) {
	st, err := pebble.Open(pebble.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wh := &pipeline.Webhooks{KV: st}
	srv := edgetest.NewServer(t, edgetest.NewMemBackend(), edge.Options{AdminToken: "adm", Webhooks: wh})
	srv.CheckContract(t) // every exchange must match edge/openapi.yaml
	auth := []string{"Authorization", "Bearer adm"}
	for _, c := range []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		code                     string
	}{
		{"create without token", "POST", "/v1/webhooks", `{"url":"https://93.184.216.34/h","events":["order.paid"]}`, nil, 401, "unauthorized"},
		{"list without token", "GET", "/v1/webhooks", "", nil, 401, "unauthorized"},
		{"loopback", "POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9/h","events":["order.paid"]}`, auth, 400, "webhook_url_forbidden"},
		{"private", "POST", "/v1/webhooks", `{"url":"http://10.0.0.1/h","events":["order.paid"]}`, auth, 400, "webhook_url_forbidden"},
		{"metadata", "POST", "/v1/webhooks", `{"url":"http://169.254.169.254/latest","events":["order.paid"]}`, auth, 400, "webhook_url_forbidden"},
		{"not http", "POST", "/v1/webhooks", `{"url":"file:///etc/passwd","events":["order.paid"]}`, auth, 400, "webhook_url_forbidden"},
		{"unknown event", "POST", "/v1/webhooks", `{"url":"https://93.184.216.34/h","events":["order.created"]}`, auth, 400, "invalid_request"},
		{"no events", "POST", "/v1/webhooks", `{"url":"https://93.184.216.34/h"}`, auth, 400, "invalid_request"},
		{"bad secret", "POST", "/v1/webhooks", `{"url":"https://93.184.216.34/h","events":["order.paid"],"secret":"hunter2"}`, auth, 400, "invalid_request"},
		{"bad json", "POST", "/v1/webhooks", `{`, auth, 400, "invalid_request"},
		{"unknown", "GET", "/v1/webhooks/wh_nope", "", auth, 404, "webhook_not_found"},
		{"unknown deliveries", "GET", "/v1/webhooks/wh_nope/deliveries", "", auth, 404, "webhook_not_found"},
		{"delete unknown", "DELETE", "/v1/webhooks/wh_nope", "", auth, 404, "webhook_not_found"},
		{"put", "PUT", "/v1/webhooks", "", auth, 405, "method_not_allowed"},
	} {
		r := srv.Do(t, c.method, c.path, c.body, c.hdr...)
		if r.Status != c.status || !strings.Contains(string(r.Body), `{"error":{"code":"`+c.code+`","message":`) {
			t.Fatalf("%s: %d %s, want %d %s", c.name, r.Status, r.Body, c.status, c.code)
		}
	}
	r := srv.Do(t, "POST", "/v1/webhooks", `{"url":"https://93.184.216.34/h","events":["order.paid","show.sold_out"]}`, auth...)
	var h pipeline.Webhook
	if r.Status != 201 || json.Unmarshal(r.Body, &h) != nil || !strings.HasPrefix(h.Secret, "whsec_") || h.ID == "" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	for _, p := range []string{"/v1/webhooks", "/v1/webhooks/" + h.ID, "/v1/webhooks/" + h.ID + "/deliveries"} {
		r := srv.Do(t, "GET", p, "", auth...)
		if r.Status != 200 || strings.Contains(string(r.Body), "whsec_") || strings.Contains(string(r.Body), `"secret"`) {
			t.Fatalf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	if r := srv.Do(t, "GET", "/v1/webhooks/"+h.ID+"/deliveries", "", auth...); string(r.Body) != `{"deliveries":[]}` {
		t.Fatalf("deliveries: %s", r.Body)
	}
	if r := srv.Do(t, "DELETE", "/v1/webhooks/"+h.ID, "", auth...); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := srv.Do(t, "GET", "/v1/webhooks/"+h.ID, "", auth...); r.Status != 404 {
		t.Fatalf("after delete: %d %s", r.Status, r.Body)
	}
	bare := edgetest.NewServer(t, edgetest.NewMemBackend(), edge.Options{AdminToken: "adm"})
	if r := bare.Do(t, "GET", "/v1/webhooks", "", auth...); r.Status != 404 {
		t.Fatalf("without webhooks: %d %s", r.Status, r.Body)
	}
}
