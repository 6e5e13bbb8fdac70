package sim

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrNotLoopback: the target URL names a host that is not this machine. The
// harness only ever loads servers on 127.0.0.0/8, ::1 or localhost.
var ErrNotLoopback = errors.New("target is not a loopback address")

// parseLoopbackTarget checks rawURL ("http://127.0.0.1:8080") and returns the
// host:port to dial and the Host header to send.
func parseLoopbackTarget(rawURL string) (addr, host string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", fmt.Errorf("--target %q: %w", rawURL, err)
	}
	if u.Scheme != "http" {
		return "", "", fmt.Errorf("--target %q: only http:// URLs are supported", rawURL)
	}
	if u.Path != "" && u.Path != "/" {
		return "", "", fmt.Errorf("--target %q: give the server's root URL, without a path", rawURL)
	}
	name := u.Hostname()
	if !isLoopbackHost(name) {
		return "", "", fmt.Errorf("--target %q: refusing host %q: %w (use 127.0.0.1, ::1 or localhost)",
			rawURL, name, ErrNotLoopback)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if strings.EqualFold(name, "localhost") {
		name = "127.0.0.1" // dial IPv4 loopback; never resolve through DNS
	}
	return net.JoinHostPort(name, port), u.Host, nil
}

// isLoopbackHost reports whether name is "localhost" or a loopback IP literal.
// Other names are refused rather than resolved.
func isLoopbackHost(name string) bool {
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}
