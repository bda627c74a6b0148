// Package session implements session control, the data plane of casd after a
// monitor decision: it maps app hosts to proxy hosts and back, rewrites
// requests and responses (headers, cookies and streaming bodies), classifies
// each request as an activity (view, download, upload, export) and enforces
// the decision a session policy takes on it (allow, block, protect, log),
// with optional content inspection.
//
// The package imports no other package of the project: sessions,
// decisions, events and content scanning reach it through the small
// interfaces in proxy.go (Sessions, Decider, Events, Scanner), which the
// daemon adapts to store/ and policy/. Wiring it takes three values:
//
//	m, err := session.NewMapper("cas.example.com", session.ModeSuffix, apps)
//	rw := session.NewRewriter(m)
//	p, err := session.New(session.Config{
//		Rewriter: rw, Sessions: sessions, Decider: decider, Events: events,
//		Scanner: scan, Patterns: patternsOf,
//		NoSession: startLogin, Reserved: handoff,
//	})
//	// serve p for every proxied host (the TLS listener's app hosts)
//
// Files by concern: mapping.go (host names), rewrite.go (streaming body
// rewriter), headers.go (request and response headers), encoding.go
// (content codings and which types are rewritten), classify.go
// (activities), proxy.go (the handler and enforcement), inspect.go
// (spooling and scanning), websocket.go (upgrades).
package session
