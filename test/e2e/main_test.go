// Package e2e runs the real casd and cas binaries end to end: a real Unix
// socket, a real SQLite file, real TLS and, in the browser tests, a real
// Chromium.
package e2e

import (
	"testing"

	"github.com/cas-proxy/cas/test/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }
