package saml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

const (
	testIdPEntity = "https://idp.example.com/metadata"
	testSPEntity  = "https://app.example.com/saml"
	testProxyACS  = "https://cas.localhost/saml/app1/acs"
	testAppACS    = "https://app.example.com/saml/acs"
)

var testNow = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

// testKey is a key pair with a self-signed certificate.
type testKey struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func (k testKey) signer() Signer { return Signer{Key: k.key, Cert: k.cert} }

func newTestKey(t testing.TB, cn string, notBefore, notAfter time.Time) testKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{key: key, cert: cert}
}

func validTestKey(t testing.TB, cn string) testKey {
	return newTestKey(t, cn, testNow.Add(-24*time.Hour), testNow.Add(365*24*time.Hour))
}

// idpOpts describes a Response the test IdP issues. The zero value (plus
// the defaults applied by idpResponse) is a valid IdP-initiated response
// with the assertion signed.
type idpOpts struct {
	now            time.Time
	signResponse   bool
	signAssertion  bool
	sha1           bool
	inResponseTo   string
	nameID         string
	audience       string
	destination    string
	recipient      string
	issuer         string
	status         string
	attrs          []crewjam.Attribute
	assertion      func(a *crewjam.Assertion)                          // before signing
	after          func(root *etree.Element, assertion *etree.Element) // after signing
	signWith       *testKey
	keyInfoCertDER []byte // replaces the certificate in KeyInfo after signing
}

func idpResponse(t testing.TB, idp testKey, o idpOpts) []byte {
	t.Helper()
	if o.now.IsZero() {
		o.now = testNow
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.nameID, "alice@example.com")
	def(&o.audience, testSPEntity)
	def(&o.destination, testProxyACS)
	def(&o.recipient, testProxyACS)
	def(&o.issuer, testIdPEntity)
	def(&o.status, crewjam.StatusSuccess)
	if !o.signResponse && !o.signAssertion {
		o.signAssertion = true
	}
	if o.attrs == nil {
		o.attrs = []crewjam.Attribute{
			{Name: "email", Values: []crewjam.AttributeValue{{Value: "alice@example.com"}}},
			{Name: "groups", Values: []crewjam.AttributeValue{{Value: "sales"}, {Value: "staff"}}},
		}
	}
	k := idp
	if o.signWith != nil {
		k = *o.signWith
	}
	ctx, err := signingContext(k.signer())
	if err != nil {
		t.Fatal(err)
	}
	if o.sha1 {
		if err := ctx.SetSignatureMethod(dsig.RSASHA1SignatureMethod); err != nil {
			t.Fatal(err)
		}
	}
	now := o.now
	a := &crewjam.Assertion{
		ID:           "_assert" + randHex(t),
		IssueInstant: now,
		Version:      "2.0",
		Issuer:       crewjam.Issuer{Value: o.issuer},
		Subject: &crewjam.Subject{
			NameID: &crewjam.NameID{Format: string(crewjam.EmailAddressNameIDFormat), Value: o.nameID},
			SubjectConfirmations: []crewjam.SubjectConfirmation{{
				Method: "urn:oasis:names:tc:SAML:2.0:cm:bearer",
				SubjectConfirmationData: &crewjam.SubjectConfirmationData{
					InResponseTo: o.inResponseTo,
					NotOnOrAfter: now.Add(5 * time.Minute),
					Recipient:    o.recipient,
				},
			}},
		},
		Conditions: &crewjam.Conditions{
			NotBefore:            now.Add(-time.Minute),
			NotOnOrAfter:         now.Add(5 * time.Minute),
			AudienceRestrictions: []crewjam.AudienceRestriction{{Audience: crewjam.Audience{Value: o.audience}}},
		},
		AuthnStatements: []crewjam.AuthnStatement{{
			AuthnInstant: now.Add(-10 * time.Second),
			SessionIndex: "_session1",
			AuthnContext: crewjam.AuthnContext{AuthnContextClassRef: &crewjam.AuthnContextClassRef{Value: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}},
		}},
		AttributeStatements: []crewjam.AttributeStatement{{Attributes: o.attrs}},
	}
	if o.assertion != nil {
		o.assertion(a)
	}
	assertionEl, err := a.CanonicalElement()
	if err != nil {
		t.Fatal(err)
	}
	if o.signAssertion {
		if assertionEl, err = signEnveloped(ctx, assertionEl); err != nil {
			t.Fatal(err)
		}
	}
	resp := crewjam.Response{
		ID:           "_resp" + randHex(t),
		InResponseTo: o.inResponseTo,
		Version:      "2.0",
		IssueInstant: now,
		Destination:  o.destination,
		Issuer:       &crewjam.Issuer{Value: o.issuer},
		Status:       crewjam.Status{StatusCode: crewjam.StatusCode{Value: o.status}},
	}
	root := resp.Element()
	root.AddChild(assertionEl)
	if o.signResponse {
		if root, err = signEnveloped(ctx, root); err != nil {
			t.Fatal(err)
		}
	}
	if o.keyInfoCertDER != nil {
		for _, el := range root.FindElements("//X509Certificate") {
			el.SetText(base64.StdEncoding.EncodeToString(o.keyInfoCertDER))
		}
	}
	if o.after != nil {
		o.after(root, root.FindElement("./Assertion"))
	}
	doc := etree.NewDocument()
	doc.SetRoot(root)
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func randHex(t testing.TB) string {
	id, err := newID()
	if err != nil {
		t.Fatal(err)
	}
	return id[1:]
}

func form(xml []byte) url.Values {
	return url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(xml)}}
}

// memReplay is an in-memory ReplayCache.
type memReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (m *memReplay) ConsumeOnce(_ context.Context, ns, id string, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	k := ns + "\x00" + id
	if _, ok := m.seen[k]; ok {
		return false, nil
	}
	m.seen[k] = expires
	return true, nil
}

// memRequests is an in-memory RequestTracker.
type memRequests struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (m *memRequests) Take(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := m.ids[id]
	delete(m.ids, id)
	return ok, nil
}

func newValidator(idp testKey) *ResponseValidator {
	return &ResponseValidator{
		IdPEntityID:       testIdPEntity,
		IdPCerts:          []*x509.Certificate{idp.cert},
		SPEntityID:        testSPEntity,
		ACSURL:            testProxyACS,
		AllowIdPInitiated: true,
		Now:               func() time.Time { return testNow },
		Replay:            &memReplay{},
		Requests:          &memRequests{ids: map[string]bool{"_req1": true}},
	}
}

// fixedTestKey loads the test-only IdP key in testdata, for the fuzz tests
// and benchmarks, where generating keys (under coverage instrumentation) is
// too slow. The key protects nothing.
func fixedTestKey(t testing.TB) testKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "test-idp-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var k testKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "PRIVATE KEY":
			key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			k.key = key.(*rsa.PrivateKey)
		case "CERTIFICATE":
			if k.cert, err = x509.ParseCertificate(blk.Bytes); err != nil {
				t.Fatal(err)
			}
		}
	}
	if k.key == nil || k.cert == nil {
		t.Fatal("testdata/test-idp-key.pem lacks a key or a certificate")
	}
	return k
}
