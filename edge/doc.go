// Package edge is boxoffice's HTTP layer: a fasthttp server that parses and
// validates requests, rate-limits them, calls the booking core through the
// Backend interface (backend.go) and writes JSON answers.
//
// Its only caller is the process entry point, which builds a Backend (the
// actors, or edgetest.NewMemBackend in tests), calls New and then Serve or
// ListenAndServe, and Shutdown on exit. Tests may drive Handler() directly over
// fasthttputil.NewInmemoryListener.
//
// Layout: router.go matches paths by hand on segments; shows.go, holds.go and
// orders.go are the API handlers; ops.go serves /healthz, /readyz and
// /metrics; errors.go is the one place that maps errors to HTTP status;
// bodies.go checks request bodies, with jsonread.go (a strict parser for the
// hot routes' flat bodies) and encoding/json (show creation); jsonwrite.go
// encodes answers into pooled buffers; limiter.go rate-limits; metrics.go
// counts requests; deadline.go is the Backend calls' context; perf.go wires
// the performance monitor (package perf) to GET /v1/admin/perf, /metrics,
// every request and every Backend call;
// internal.go takes the results of consumers running in other processes;
// queue.go serves the waiting room and the waitlist (when the Backend is also
// a QueueBackend), and pass.go signs and checks the room's passes (HMAC with
// Options.QueuePassKey, which must be the same on every node).
//
// Handlers copy everything they need out of the fasthttp request before
// calling the Backend (fasthttp reuses its buffers), and give each Backend call
// a context with a deadline (Options.BackendTimeout after the request
// arrived). A panic in a handler or the Backend is logged and answered 500.
package edge
