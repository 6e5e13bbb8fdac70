package sim

import (
	"io"
	"strings"
	"testing"
)

// TestCeilingTargetFlag: --ceiling-target turns the ceiling on and must be a
// loopback URL, like --target.
func TestCeilingTargetFlag(t *testing.T) {
	base := []string{"ga-holds", "--target", "http://127.0.0.1:8080", "--duration", "1s"}
	for _, tc := range []struct {
		name    string
		extra   []string
		ceiling bool
		target  string
		err     string
	}{
		{name: "none", ceiling: false},
		{name: "in process", extra: []string{"--ceiling"}, ceiling: true},
		{name: "own process", extra: []string{"--ceiling-target", "http://127.0.0.1:9090"}, ceiling: true, target: "http://127.0.0.1:9090"},
		{name: "both", extra: []string{"--ceiling", "--ceiling-target", "http://127.0.0.1:9090"}, ceiling: true, target: "http://127.0.0.1:9090"},
		{name: "not loopback", extra: []string{"--ceiling-target", "http://example.com:80"}, err: "--ceiling-target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseLoadArgs(append(append([]string{}, base...), tc.extra...), io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.ceiling != tc.ceiling || o.ceilingTarget != tc.target {
				t.Fatalf("ceiling %v target %q, want %v %q", o.ceiling, o.ceilingTarget, tc.ceiling, tc.target)
			}
		})
	}
}
