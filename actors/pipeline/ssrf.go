package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// ErrWebhookURLForbidden: a webhook URL that is not http(s), or whose host
// resolves to an address a server must not call on a stranger's behalf
// (loopback, private, link-local, ...: SSRF).
var ErrWebhookURLForbidden = errors.New("webhook_url_forbidden")

// Resolver resolves host names (net.DefaultResolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// forbiddenPrefixes are the ranges ForbiddenAddr refuses beyond what
// netip.Addr's predicates name.
var forbiddenPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// ForbiddenAddr reports why a webhook must not be sent to ip ("" when it
// may): loopback, private (RFC 1918, fc00::/7), link-local, unspecified,
// multicast, CGNAT and other non-public ranges. IPv4-mapped IPv6 addresses
// are judged as their IPv4 address, NAT64 ones (64:ff9b::/96) as the IPv4
// address they embed.
func ForbiddenAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() && netip.MustParsePrefix("64:ff9b::/96").Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:16]))
	}
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, p := range forbiddenPrefixes {
		if p.Contains(ip) {
			return "non-public"
		}
	}
	return ""
}

// ParseWebhookURL checks that raw is an absolute http or https URL with a
// host and no user info, and returns it parsed.
func ParseWebhookURL(raw string) (*url.URL, error) {
	if len(raw) > 2048 {
		return nil, fmt.Errorf("%w: the url is over 2048 bytes", ErrWebhookURLForbidden)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWebhookURLForbidden, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: the url must be http or https", ErrWebhookURLForbidden)
	}
	if u.Hostname() == "" || u.User != nil || u.Opaque != "" {
		return nil, fmt.Errorf("%w: the url needs a host and no user info", ErrWebhookURLForbidden)
	}
	return u, nil
}

// resolveAllowed resolves host and returns its addresses, or an error
// wrapping ErrWebhookURLForbidden when any of them is forbidden (unless
// allowPrivate). An IP literal is not looked up.
func resolveAllowed(ctx context.Context, r Resolver, host string, allowPrivate bool) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return nil, fmt.Errorf("%w: %s has a zone", ErrWebhookURLForbidden, host)
		}
		ips = []netip.Addr{ip}
	} else {
		if r == nil {
			r = net.DefaultResolver
		}
		ips, err = r.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("%w: cannot resolve %s: %v", ErrWebhookURLForbidden, host, err)
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("%w: %s has no address", ErrWebhookURLForbidden, host)
		}
	}
	if allowPrivate {
		return ips, nil
	}
	for _, ip := range ips {
		if why := ForbiddenAddr(ip); why != "" {
			return nil, fmt.Errorf("%w: %s resolves to %s, a %s address (serve --webhook-allow-private allows it)",
				ErrWebhookURLForbidden, host, ip.Unmap(), why)
		}
	}
	return ips, nil
}

// CheckWebhookURL refuses a URL that is not http(s) or whose host resolves
// to a forbidden address (every address must be allowed), unless
// allowPrivate.
func CheckWebhookURL(ctx context.Context, r Resolver, raw string, allowPrivate bool) error {
	u, err := ParseWebhookURL(raw)
	if err != nil {
		return err
	}
	_, err = resolveAllowed(ctx, r, u.Hostname(), allowPrivate)
	return err
}

// safeDialer dials only addresses it checked itself: it resolves the host,
// refuses it if any address is forbidden, and dials the checked IP, so a
// DNS answer that changes between the check and the connection (DNS
// rebinding) cannot point a delivery at a private address.
type safeDialer struct {
	resolver     Resolver
	allowPrivate bool
	dialer       net.Dialer
}

func (d *safeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := resolveAllowed(ctx, d.resolver, host, d.allowPrivate)
	if err != nil {
		return nil, err
	}
	var first error
	for _, ip := range ips {
		c, err := d.dialer.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}
