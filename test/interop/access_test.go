// Package interop proves casd against real third-party SAML software:
// SimpleSAMLphp (Debian) as the IdP, xmlsec1 and pysaml2 checking what casd
// forwards to the app.
package interop

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/test/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// The app casd fronts in these tests: a SAML SP that only needs to exist as
// an entity ID and an ACS URL; what reaches its ACS is checked by xmlsec1
// and pysaml2.
const (
	appEntityID = "https://app.interop.test/saml/sp"
	appACS      = "https://app.interop.test/saml/acs"
)

// interopRig is SimpleSAMLphp → casd, with an app onboarded.
type interopRig struct {
	ssp     *testkit.SSP
	casd    *testkit.Casd
	browser *testkit.Browser
	port    int
	certPEM string // the app's replacement certificate
}

func newRig(t *testing.T) *interopRig {
	t.Helper()
	testkit.RequireTool(t, "xmlsec1", "apt-get install xmlsec1")
	port := testkit.FreePort(t)
	proxyACS := fmt.Sprintf("https://cas.localhost:%d/saml/app/acs", port)
	ssp := testkit.StartSSP(t, appEntityID, proxyACS)
	c := testkit.NewCasd(t, fmt.Sprintf("listen: 127.0.0.1:%d\n", port))
	c.Start()
	c.OK("idp", "add", "ssp", "--metadata", testkit.WriteTemp(t, "idp.xml", ssp.Metadata(t)))
	certOut := filepath.Join(t.TempDir(), "replacement.pem")
	c.OK("app", "onboard", "custom", "--name", "app", "--idp", "ssp", "--entity-id", appEntityID, "--acs-url", appACS, "--cert-out", certOut)
	c.OK("app", "set", "app", "--sign-response=true")
	cert, err := os.ReadFile(certOut)
	if err != nil {
		t.Fatal(err)
	}
	return &interopRig{ssp: ssp, casd: c, browser: testkit.NewBrowser(t, testkit.CasdCA(t, c.StateDir)), port: port, certPEM: string(cert)}
}

// forwarded is what casd posted on to the app.
type forwarded struct {
	action, samlResponse, relayState string
}

func forwardedFrom(t *testing.T, p *testkit.Page) forwarded {
	t.Helper()
	f := p.FormWith(t, "SAMLResponse")
	return forwarded{action: f.Action, samlResponse: f.Fields.Get("SAMLResponse"), relayState: f.Fields.Get("RelayState")}
}

// verifyWithXmlsec checks both signatures of the forwarded Response against
// the replacement certificate only (the certificate inside KeyInfo is
// ignored).
func verifyWithXmlsec(t *testing.T, xml []byte, certPEM string) {
	t.Helper()
	dir := t.TempDir()
	resp := filepath.Join(dir, "response.xml")
	crt := filepath.Join(dir, "cert.pem")
	os.WriteFile(resp, xml, 0o600)
	os.WriteFile(crt, []byte(certPEM), 0o600)
	for _, v := range []struct{ idAttr, xpath string }{
		{"urn:oasis:names:tc:SAML:2.0:protocol:Response", "/*[local-name()='Response']/*[local-name()='Signature']"},
		{"urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "//*[local-name()='Assertion']/*[local-name()='Signature']"},
	} {
		out, err := exec.Command("xmlsec1", "--verify", "--enabled-key-data", "rsa", "--pubkey-cert-pem", crt,
			"--id-attr:ID", v.idAttr, "--node-xpath", v.xpath, resp).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "OK") {
			t.Fatalf("xmlsec1 (%s): %v\n%s", v.idAttr, err, out)
		}
	}
}

// acceptWithPysaml2 has pysaml2, acting as the app, accept the Response
// with the proxy's metadata for the app (casd as the app's IdP).
func acceptWithPysaml2(t *testing.T, r *interopRig, samlResponse, inResponseTo string) string {
	t.Helper()
	if _, err := os.Stat("/usr/lib/python3/dist-packages/saml2"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-pysaml2 is missing; make test installs it")
		}
		t.Skip("python3-pysaml2 is missing; apt-get install python3-pysaml2")
	}
	md := r.casd.OK("app", "metadata", "app", "--for", "app")
	mdFile := testkit.WriteTemp(t, "proxy-idp.xml", md)
	b64 := testkit.WriteTemp(t, "resp.b64", samlResponse)
	args := []string{"saml/testdata/validators/pysaml2_sp.py", mdFile, appEntityID, appACS, b64}
	if inResponseTo != "" {
		args = append(args, inResponseTo)
	}
	out, err := exec.Command("/usr/bin/python3", args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "pysaml2 OK") {
		t.Fatalf("pysaml2 refused casd's Response: %v\n%s", err, out)
	}
	return string(out)
}

func TestSimpleSAMLphpIdPInitiatedThroughCasd(t *testing.T) {
	r := newRig(t)
	login := r.browser.Get(r.ssp.IdPInitiatedURL(appEntityID, "deep/link"))
	idpPost := r.browser.LoginSSP(login, "alice", "alicepass")
	// The IdP posts to casd's ACS; casd answers with its own post to the app.
	toCasd := idpPost.FormWith(t, "SAMLResponse")
	if !strings.HasPrefix(toCasd.Action, fmt.Sprintf("https://cas.localhost:%d/saml/app/acs", r.port)) {
		t.Fatalf("IdP posts to %s, not to casd", toCasd.Action)
	}
	page := r.browser.Submit(toCasd)
	fw := forwardedFrom(t, page)
	if fw.action != appACS || fw.relayState != "deep/link" {
		t.Fatalf("casd forwards to %s with RelayState %q", fw.action, fw.relayState)
	}
	xml, _ := base64.StdEncoding.DecodeString(fw.samlResponse)
	verifyWithXmlsec(t, xml, r.certPEM)
	out := acceptWithPysaml2(t, r, fw.samlResponse, "")
	if !strings.Contains(out, "alice@example.com") {
		t.Errorf("pysaml2 saw another user:\n%s", out)
	}

	// The login is one event with the user, the decision and the IdP.
	var evs []api.Event
	lines := r.casd.OK("events", "tail", "--kind", "login", "--json")
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		var e api.Event
		if json.Unmarshal([]byte(l), &e) == nil {
			evs = append(evs, e)
		}
	}
	if len(evs) != 1 || evs[0].User != "alice@example.com" || evs[0].Decision != "allow" || evs[0].App != "app" {
		t.Fatalf("login events = %+v", evs)
	}

	// The same Response posted again is a replay: refused, nothing forwarded.
	again := r.browser.Submit(toCasd)
	if again.Status != 400 || strings.Contains(again.Body, "SAMLResponse") {
		t.Fatalf("replayed response: status %d\n%s", again.Status, again.Body)
	}
}

func TestSimpleSAMLphpSPInitiatedThroughCasd(t *testing.T) {
	r := newRig(t)
	// The app sends its AuthnRequest to casd's SSO URL (HTTP-Redirect).
	reqID := fmt.Sprintf("_app%d", time.Now().UnixNano())
	authn := fmt.Sprintf(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" Version="2.0" IssueInstant="%s" Destination="https://cas.localhost:%d/saml/app/sso" AssertionConsumerServiceURL="%s" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>%s</saml:Issuer></samlp:AuthnRequest>`,
		reqID, time.Now().UTC().Format(time.RFC3339), r.port, appACS, appEntityID)
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write([]byte(authn))
	fw.Close()
	q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}, "RelayState": {"from-app"}}
	login := r.browser.Get(fmt.Sprintf("https://cas.localhost:%d/saml/app/sso?%s", r.port, q.Encode()))
	if !strings.HasPrefix(login.URL.String(), r.ssp.Base) {
		t.Fatalf("casd did not send the browser to the IdP: at %s (%d)\n%s", login.URL, login.Status, login.Body)
	}
	idpPost := r.browser.LoginSSP(login, "bob", "bobpass")
	page := r.browser.Submit(idpPost.FormWith(t, "SAMLResponse"))
	got := forwardedFrom(t, page)
	if got.action != appACS || got.relayState != "from-app" {
		t.Fatalf("casd forwards to %s with RelayState %q", got.action, got.relayState)
	}
	xml, _ := base64.StdEncoding.DecodeString(got.samlResponse)
	if !strings.Contains(string(xml), `InResponseTo="`+reqID+`"`) {
		t.Fatalf("forwarded Response does not answer the app's request %s", reqID)
	}
	verifyWithXmlsec(t, xml, r.certPEM)
	out := acceptWithPysaml2(t, r, got.samlResponse, reqID)
	if !strings.Contains(out, "bob@example.com") {
		t.Errorf("pysaml2 saw another user:\n%s", out)
	}
}

func TestSimpleSAMLphpBlockedByPolicy(t *testing.T) {
	r := newRig(t)
	r.casd.OK("policy", "add", "no-contractors", "--kind", "access", "--app", "app", "--group", "contractors", "--action", "block", "--message", "Contractors use the partner portal.")
	login := r.browser.Get(r.ssp.IdPInitiatedURL(appEntityID, ""))
	page := r.browser.Submit(r.browser.LoginSSP(login, "bob", "bobpass").FormWith(t, "SAMLResponse"))
	if page.Status != 403 || !strings.Contains(page.Body, "Contractors use the partner portal.") || strings.Contains(page.Body, "SAMLResponse") {
		t.Fatalf("blocked login: status %d\n%s", page.Status, page.Body)
	}
	// alice is not a contractor: allowed.
	b2 := testkit.NewBrowser(t, testkit.CasdCA(t, r.casd.StateDir))
	login = b2.Get(r.ssp.IdPInitiatedURL(appEntityID, ""))
	page = b2.Submit(b2.LoginSSP(login, "alice", "alicepass").FormWith(t, "SAMLResponse"))
	forwardedFrom(t, page)
}
