package actors

import (
	"regexp"
	"strings"
	"testing"
)

// TestNewID: "<show>~<26 base32 chars>", the show parses back, ids differ,
// a long show name works, and a short one costs one allocation (the string).
func TestNewID(t *testing.T) {
	shape := regexp.MustCompile(`^[^~]+~[a-z2-7]{26}$`)
	for _, show := range []string{"s", "show-1", strings.Repeat("x", 101), strings.Repeat("y", 200)} {
		a, b := newID(show), newID(show)
		if !shape.MatchString(a) || a == b {
			t.Fatalf("newID(%d bytes): %q, %q", len(show), a, b)
		}
		if got, err := parseID(a); err != nil && len(a) <= 200 || err == nil && got != show {
			t.Fatalf("parseID(%q) = %q, %v", a, got, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = newID("show-1") }); n != 1 {
		t.Fatalf("newID: %v allocations, want 1", n)
	}
}
