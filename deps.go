//go:build tools

// Package cas pins the modules the packages are about to use, so go.mod is
// settled before they are written. Removed once real imports exist.
package cas

import (
	_ "filippo.io/age"
	_ "github.com/andybalholm/brotli"
	_ "github.com/beevik/etree"
	_ "github.com/charmbracelet/lipgloss"
	_ "github.com/chromedp/chromedp"
	_ "github.com/crewjam/saml"
	_ "github.com/crewjam/saml/samlidp"
	_ "github.com/crewjam/saml/samlsp"
	_ "github.com/gobwas/glob"
	_ "github.com/mattermost/xml-roundtrip-validator"
	_ "github.com/oschwald/maxminddb-golang"
	_ "github.com/russellhaering/goxmldsig"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/cobra/doc"
	_ "github.com/spf13/viper"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/crypto/pkcs12"
	_ "golang.org/x/net/http2"
	_ "golang.org/x/sys/unix"
	_ "modernc.org/sqlite"
	_ "software.sslmate.com/src/go-pkcs12"
)
