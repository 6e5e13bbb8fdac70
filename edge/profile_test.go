package edge_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/edge"
	"github.com/boxoffice/boxoffice/edge/edgetest"
)

// TestProfileRoute reads GET /v1/admin/profile: admin token only, seconds
// checked, and a gzipped pprof profile back.
func TestProfileRoute(t *testing.T) {
	s := edgetest.NewServer(t, edgetest.NewMemBackend(), edge.Options{UserRate: -1})
	s.CheckContract(t)
	for _, tc := range []struct {
		name, path string
		auth       bool
		status     int
		code       string
	}{
		{"no token", "/v1/admin/profile?seconds=1", false, 401, "unauthorized"},
		{"zero seconds", "/v1/admin/profile?seconds=0", true, 400, "invalid_request"},
		{"too long", "/v1/admin/profile?seconds=31", true, 400, "invalid_request"},
		{"not a number", "/v1/admin/profile?seconds=x", true, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.auth {
				hdr = []string{"Authorization", "Bearer admin"}
			}
			r := s.Do(t, "GET", tc.path, "", hdr...)
			if r.Status != tc.status || !strings.Contains(string(r.Body), `"code":"`+tc.code+`"`) {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	if r := s.Do(t, "POST", "/v1/admin/profile", "", "Authorization", "Bearer admin"); r.Status != 405 {
		t.Fatalf("POST: %d", r.Status)
	}
	r := s.Do(t, "GET", "/v1/admin/profile?seconds=1", "", "Authorization", "Bearer admin")
	if r.Status != 200 {
		t.Fatalf("profile: %d %s", r.Status, r.Body)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("the profile is not gzipped: %v", err)
	}
	if raw, err := io.ReadAll(zr); err != nil || len(raw) == 0 {
		t.Fatalf("the profile does not unzip: %d bytes, %v", len(raw), err)
	}
}
