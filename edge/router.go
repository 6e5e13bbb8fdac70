package edge

import (
	"github.com/valyala/fasthttp"
)

// routeID names one endpoint: a method and a path pattern.
type routeID uint8

const (
	routeUnmatched routeID = iota // no route (404 not_found or 405 method_not_allowed)
	routeCreateShow
	routeGetShow
	routeSeats
	routeCreateHold
	routeGetHold
	routeReleaseHold
	routeExtendHold
	routeCreateOrder
	routeGetOrder
	routePayOrder
	routeCancelOrder
	routeHealthz
	routeReadyz
	routeMetrics
	routePaymentResult
	routeNotification
	routePerf
	routeDeadLetters
	routeRetryDeadLetter
	routeCreateWebhook
	routeListWebhooks
	routeGetWebhook
	routeDeleteWebhook
	routeWebhookDeliveries
	routeShowEvents
	routeListShows
	routePageIndex
	routePageShow
	routePageAsset
	routeOpenAPI
	routeJoinQueue
	routeGetTicket
	routeJoinWaitlist
	routeGetEntry
	routeLeaveWaitlist
	routeProfile
	numRoutes
)

// routes gives each endpoint's method and pattern, the labels of /metrics.
var routes = [numRoutes]struct{ method, pattern string }{
	routeUnmatched:         {"other", "unmatched"},
	routeCreateShow:        {"POST", "/v1/shows"},
	routeGetShow:           {"GET", "/v1/shows/{show}"},
	routeSeats:             {"GET", "/v1/shows/{show}/seats"},
	routeCreateHold:        {"POST", "/v1/shows/{show}/holds"},
	routeGetHold:           {"GET", "/v1/shows/{show}/holds/{hold}"},
	routeReleaseHold:       {"DELETE", "/v1/shows/{show}/holds/{hold}"},
	routeExtendHold:        {"POST", "/v1/shows/{show}/holds/{hold}/extend"},
	routeCreateOrder:       {"POST", "/v1/orders"},
	routeGetOrder:          {"GET", "/v1/orders/{order}"},
	routePayOrder:          {"POST", "/v1/orders/{order}/pay"},
	routeCancelOrder:       {"POST", "/v1/orders/{order}/cancel"},
	routeHealthz:           {"GET", "/healthz"},
	routeReadyz:            {"GET", "/readyz"},
	routeMetrics:           {"GET", "/metrics"},
	routePaymentResult:     {"POST", "/v1/internal/payment-results"},
	routeNotification:      {"POST", "/v1/internal/notifications"},
	routePerf:              {"GET", "/v1/admin/perf"},
	routeDeadLetters:       {"GET", "/v1/admin/dead-letters"},
	routeRetryDeadLetter:   {"POST", "/v1/admin/dead-letters/{id}/retry"},
	routeCreateWebhook:     {"POST", "/v1/webhooks"},
	routeListWebhooks:      {"GET", "/v1/webhooks"},
	routeGetWebhook:        {"GET", "/v1/webhooks/{id}"},
	routeDeleteWebhook:     {"DELETE", "/v1/webhooks/{id}"},
	routeWebhookDeliveries: {"GET", "/v1/webhooks/{id}/deliveries"},
	routeShowEvents:        {"GET", "/v1/shows/{show}/events"},
	routeListShows:         {"GET", "/v1/shows"},
	routePageIndex:         {"GET", "/"},
	routePageShow:          {"GET", "/shows/{show}"},
	routePageAsset:         {"GET", "/assets/{file}"},
	routeOpenAPI:           {"GET", "/v1/openapi.json"},
	routeJoinQueue:         {"POST", "/v1/shows/{show}/queue"},
	routeGetTicket:         {"GET", "/v1/shows/{show}/queue/{ticket}"},
	routeJoinWaitlist:      {"POST", "/v1/shows/{show}/waitlist"},
	routeGetEntry:          {"GET", "/v1/shows/{show}/waitlist/{entry}"},
	routeLeaveWaitlist:     {"DELETE", "/v1/shows/{show}/waitlist/{entry}"},
	routeProfile:           {"GET", "/v1/admin/profile"},
}

// match is the result of routing: the endpoint and its path parameters
// (views of the request path, valid during the request only).
type match struct {
	route routeID
	p1    []byte // {show}, {order} or {id}
	p2    []byte // {hold}, {ticket} or {entry}
	allow string // when route is routeUnmatched: "" for 404, else the methods the path allows (405)
}

const maxSegments = 6

// route matches method and path (a normalized path) by hand on its
// segments. It allocates nothing but the Allow list of a 405.
func route(method, path []byte) match {
	if string(path) == "/" {
		return pick(method, match{}, routePageIndex, routeUnmatched)
	}
	var seg [maxSegments + 1][]byte
	n := splitPath(path, &seg)
	if n < 0 {
		return match{}
	}
	if n == 1 {
		switch string(seg[0]) {
		case "healthz":
			return pick(method, match{}, routeHealthz, routeUnmatched)
		case "readyz":
			return pick(method, match{}, routeReadyz, routeUnmatched)
		case "metrics":
			return pick(method, match{}, routeMetrics, routeUnmatched)
		}
		return match{}
	}
	if n == 2 {
		switch string(seg[0]) {
		case "shows":
			return pick(method, match{p1: seg[1]}, routePageShow, routeUnmatched)
		case "assets":
			return pick(method, match{p1: seg[1]}, routePageAsset, routeUnmatched)
		}
	}
	if string(seg[0]) != "v1" {
		return match{}
	}
	switch string(seg[1]) {
	case "openapi.json":
		if n == 2 {
			return pick(method, match{}, routeOpenAPI, routeUnmatched)
		}
	case "admin":
		switch {
		case n == 3 && string(seg[2]) == "perf":
			return pick(method, match{}, routePerf, routeUnmatched)
		case n == 3 && string(seg[2]) == "profile":
			return pick(method, match{}, routeProfile, routeUnmatched)
		case n == 3 && string(seg[2]) == "dead-letters":
			return pick(method, match{}, routeDeadLetters, routeUnmatched)
		case n == 5 && string(seg[2]) == "dead-letters" && string(seg[4]) == "retry":
			return pick(method, match{p1: seg[3]}, routeRetryDeadLetter, routeUnmatched)
		}
	case "webhooks":
		switch {
		case n == 2:
			return pick(method, match{}, routeListWebhooks, routeCreateWebhook)
		case n == 3:
			return pick(method, match{p1: seg[2]}, routeGetWebhook, routeDeleteWebhook)
		case n == 4 && string(seg[3]) == "deliveries":
			return pick(method, match{p1: seg[2]}, routeWebhookDeliveries, routeUnmatched)
		}
	case "shows":
		switch {
		case n == 2:
			return pick(method, match{}, routeCreateShow, routeListShows)
		case n == 3:
			return pick(method, match{p1: seg[2]}, routeGetShow, routeUnmatched)
		case n == 4 && string(seg[3]) == "holds":
			return pick(method, match{p1: seg[2]}, routeCreateHold, routeUnmatched)
		case n == 4 && string(seg[3]) == "seats":
			return pick(method, match{p1: seg[2]}, routeSeats, routeUnmatched)
		case n == 4 && string(seg[3]) == "events":
			return pick(method, match{p1: seg[2]}, routeShowEvents, routeUnmatched)
		case n == 4 && string(seg[3]) == "queue":
			return pick(method, match{p1: seg[2]}, routeJoinQueue, routeUnmatched)
		case n == 5 && string(seg[3]) == "queue":
			return pick(method, match{p1: seg[2], p2: seg[4]}, routeGetTicket, routeUnmatched)
		case n == 4 && string(seg[3]) == "waitlist":
			return pick(method, match{p1: seg[2]}, routeJoinWaitlist, routeUnmatched)
		case n == 5 && string(seg[3]) == "waitlist":
			return pick(method, match{p1: seg[2], p2: seg[4]}, routeGetEntry, routeLeaveWaitlist)
		case n == 5 && string(seg[3]) == "holds":
			return pick(method, match{p1: seg[2], p2: seg[4]}, routeGetHold, routeReleaseHold)
		case n == 6 && string(seg[3]) == "holds" && string(seg[5]) == "extend":
			return pick(method, match{p1: seg[2], p2: seg[4]}, routeExtendHold, routeUnmatched)
		}
	case "internal":
		switch {
		case n == 3 && string(seg[2]) == "payment-results":
			return pick(method, match{}, routePaymentResult, routeUnmatched)
		case n == 3 && string(seg[2]) == "notifications":
			return pick(method, match{}, routeNotification, routeUnmatched)
		}
	case "orders":
		switch {
		case n == 2:
			return pick(method, match{}, routeCreateOrder, routeUnmatched)
		case n == 3:
			return pick(method, match{p1: seg[2]}, routeGetOrder, routeUnmatched)
		case n == 4 && string(seg[3]) == "pay":
			return pick(method, match{p1: seg[2]}, routePayOrder, routeUnmatched)
		case n == 4 && string(seg[3]) == "cancel":
			return pick(method, match{p1: seg[2]}, routeCancelOrder, routeUnmatched)
		}
	}
	return match{}
}

// pick returns r for whichever of a and b (routeUnmatched: none) has the
// request's method, or else a 405 match listing their methods.
func pick(method []byte, r match, a, b routeID) match {
	switch string(method) {
	case routes[a].method:
		r.route = a
		return r
	case routes[b].method:
		if b != routeUnmatched {
			r.route = b
			return r
		}
	}
	if b == routeUnmatched {
		return match{allow: routes[a].method}
	}
	return match{allow: routes[a].method + ", " + routes[b].method}
}

// requestPath returns the request's path. When the raw request URI is
// already in normal form (origin-form, printable ASCII, no percent escapes,
// no dot or empty segments, no backslashes) its path is used as it is, which
// spares fasthttp's URI parsing; otherwise fasthttp's decoded, normalized
// path is used. Both are views valid during the request only.
func requestPath(ctx *fasthttp.RequestCtx) []byte {
	uri := ctx.Request.Header.RequestURI()
	if len(uri) == 0 || uri[0] != '/' {
		return ctx.Path()
	}
	end := len(uri)
	for i, c := range uri {
		switch {
		case c <= ' ' || c >= 0x7f || c == '%' || c == '\\' || c == '#':
			return ctx.Path()
		case c == '?' && end == len(uri):
			end = i
		case c == '/' && end == len(uri):
			if i+1 < len(uri) && (uri[i+1] == '/' || uri[i+1] == '.' && (i+2 == len(uri) || uri[i+2] == '/' || uri[i+2] == '.' || uri[i+2] == '?')) {
				return ctx.Path()
			}
		}
	}
	return uri[:end]
}

// splitPath splits "/a/b/c" into its segments; it returns -1 for a path
// that does not start with '/', has an empty segment (trailing slash), or
// has more than maxSegments segments.
func splitPath(path []byte, seg *[maxSegments + 1][]byte) int {
	if len(path) < 2 || path[0] != '/' {
		return -1
	}
	n := 0
	start := 1
	for i := 1; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		if i == start || n == maxSegments {
			return -1
		}
		seg[n] = path[start:i]
		n++
		start = i + 1
	}
	return n
}

// validShowID is seatmap.ValidShowID without a regexp: [A-Za-z0-9._-]{1,64}.
func validShowID(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validRefID accepts a hold or order id as it may appear in a path: 1..200
// printable ASCII bytes. Anything else names nothing.
func validRefID(b []byte) bool {
	if len(b) == 0 || len(b) > maxIDBytes {
		return false
	}
	for _, c := range b {
		if c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
