// Package api is the contract of casd's local API: the routes, the request and
// response types, the error codes, and the typed client over the Unix socket
// that the cas CLI uses.
//
// The API is HTTP/JSON under /v0/ on a Unix socket. Errors are JSON objects
// {"error": "...", "code": "..."} with a matching HTTP status. Streams
// (events with follow) are one JSON object per line.
//
// The package imports nothing of the daemon's. It does import the pure policy
// model (package policy, a leaf with no I/O), so that the CLI and the daemon
// share one definition of a policy instead of two copies kept in step by hand.
package api

import (
	"os"
	"path/filepath"
	"strconv"
)

// VersionHeader carries the daemon's version on every response; the client
// compares it with its own and warns on a mismatch.
const VersionHeader = "Cas-Version"

// EventCursorHeader, on a following event stream, is the ID of the newest
// event the stream starts after: every later matching event is streamed.
// A follower that loses its connection resumes with EventQuery.After set
// to the highest ID it has seen (this one included).
const EventCursorHeader = "Cas-Event-Cursor"

// Version is the version of cas and casd, set at build time with
// -ldflags "-X github.com/cas-proxy/cas/api.Version=…".
var Version = "0.1.0-dev"

// Error codes, carried in the "code" field of an error response.
const (
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeInvalid      = "invalid"
	CodeForbidden    = "forbidden"
	CodeInternal     = "internal"
	CodeUnavailable  = "unavailable"
	CodeMethod       = "method_not_allowed"
	CodeExpiredCert  = "expired_certificate"
	CodeTooLarge     = "too_large"
	CodeUnauthorized = "unauthorized"
)

// MaxRequestBody is the largest request body casd's local API accepts.
const MaxRequestBody = 8 << 20

// DefaultSocketPath reports where casd listens and cas dials when neither a
// flag nor CAS_SOCKET says otherwise: /run/cas/casd.sock for root, else
// $XDG_RUNTIME_DIR/cas/casd.sock, else a per-user directory under the
// system's temporary directory.
func DefaultSocketPath() string {
	if os.Geteuid() == 0 {
		return "/run/cas/casd.sock"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "cas", "casd.sock")
	}
	return filepath.Join(os.TempDir(), "cas-"+strconv.Itoa(os.Geteuid()), "casd.sock")
}
