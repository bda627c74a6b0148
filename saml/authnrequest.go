package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Limits of AuthnRequest parsing.
const (
	// MaxAuthnRequestBytes caps the encoded SAMLRequest and, for the
	// Redirect binding, the inflated XML.
	MaxAuthnRequestBytes = 64 << 10
	// MaxAuthnRequestTags caps the tags ('<') in the XML: a signed
	// AuthnRequest has about 25.
	MaxAuthnRequestTags = 200
)

// AuthnRequest is what the proxy reads of an app's AuthnRequest.
//
// ACSURL and ACSIndex are as the app sent them, unauthenticated: the caller
// must deliver the Response only to the app's configured ACS, and may
// refuse a request whose ACSURL is set and differs from it.
type AuthnRequest struct {
	ID              string
	Issuer          string
	Destination     string
	ACSURL          string
	ACSIndex        *int
	ProtocolBinding string
	ForceAuthn      bool
	IsPassive       bool
	NameIDFormat    string
	IssueInstant    time.Time
	RelayState      string
	Binding         string // BindingHTTPRedirect or BindingHTTPPost
	// Signed reports that the request carried a signature (query string or
	// XML). It is not verified here.
	Signed bool
}

// ParseAuthnRequest reads an app's AuthnRequest from the HTTP-Redirect (GET,
// DEFLATE, inflation capped) or HTTP-POST binding. Refusals are
// *ValidationErrors (malformed, too_large, doctype, binding_not_supported,
// relay_state_too_long).
func ParseAuthnRequest(r *http.Request) (*AuthnRequest, error) {
	var (
		raw, relayState string
		xmlBytes        []byte
		binding         string
		signed          bool
	)
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		if len(q["SAMLRequest"]) != 1 {
			return nil, refuse(ReasonMalformed, "want exactly one SAMLRequest parameter")
		}
		raw = q.Get("SAMLRequest")
		relayState = q.Get("RelayState")
		signed = q.Has("Signature")
		binding = BindingHTTPRedirect
		if len(raw) > MaxAuthnRequestBytes {
			return nil, refuse(ReasonTooLarge, "SAMLRequest is %d bytes", len(raw))
		}
		compressed, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, refuse(ReasonMalformed, "SAMLRequest base64: %w", err)
		}
		xmlBytes, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(compressed)), MaxAuthnRequestBytes+1))
		if err != nil {
			return nil, refuse(ReasonMalformed, "SAMLRequest inflate: %w", err)
		}
		if len(xmlBytes) > MaxAuthnRequestBytes {
			return nil, refuse(ReasonTooLarge, "SAMLRequest inflates beyond %d bytes", MaxAuthnRequestBytes)
		}
	case http.MethodPost:
		r.Body = http.MaxBytesReader(nil, r.Body, MaxAuthnRequestBytes+4<<10)
		if err := r.ParseForm(); err != nil {
			return nil, refuse(ReasonTooLarge, "read form: %w", err)
		}
		if r.PostForm.Has("SigAlg") || r.PostForm.Has("Signature") {
			return nil, refuse(ReasonBindingNotSupported, "HTTP-POST-SimpleSign is not supported")
		}
		if len(r.PostForm["SAMLRequest"]) != 1 {
			return nil, refuse(ReasonMalformed, "want exactly one SAMLRequest field")
		}
		raw = r.PostForm.Get("SAMLRequest")
		relayState = r.PostForm.Get("RelayState")
		binding = BindingHTTPPost
		if len(raw) > MaxAuthnRequestBytes {
			return nil, refuse(ReasonTooLarge, "SAMLRequest is %d bytes", len(raw))
		}
		var err error
		xmlBytes, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(raw), ""))
		if err != nil {
			return nil, refuse(ReasonMalformed, "SAMLRequest base64: %w", err)
		}
	default:
		return nil, refuse(ReasonBindingNotSupported, "method %s", r.Method)
	}
	if err := ValidRelayState(relayState); err != nil {
		return nil, err
	}
	req, err := parseAuthnRequestXML(xmlBytes)
	if err != nil {
		return nil, err
	}
	req.RelayState = relayState
	req.Binding = binding
	req.Signed = req.Signed || signed
	return req, nil
}

func parseAuthnRequestXML(data []byte) (*AuthnRequest, error) {
	if reason, err := guardXML(data, MaxAuthnRequestBytes, MaxAuthnRequestTags); err != nil {
		return nil, &ValidationError{Reason: reason, Err: err}
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, refuse(ReasonMalformed, "parse AuthnRequest: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "AuthnRequest" || root.NamespaceURI() != nsProtocol {
		return nil, refuse(ReasonMalformed, "root element is not a samlp:AuthnRequest")
	}
	if v := root.SelectAttrValue("Version", ""); v != "2.0" {
		return nil, refuse(ReasonMalformed, "AuthnRequest Version %q", v)
	}
	req := &AuthnRequest{
		ID:              root.SelectAttrValue("ID", ""),
		Destination:     root.SelectAttrValue("Destination", ""),
		ACSURL:          root.SelectAttrValue("AssertionConsumerServiceURL", ""),
		ProtocolBinding: root.SelectAttrValue("ProtocolBinding", ""),
	}
	if req.ID == "" {
		return nil, refuse(ReasonMalformed, "AuthnRequest has no ID")
	}
	var err error
	if req.ForceAuthn, err = xsBool(root.SelectAttrValue("ForceAuthn", "false")); err != nil {
		return nil, refuse(ReasonMalformed, "ForceAuthn: %w", err)
	}
	if req.IsPassive, err = xsBool(root.SelectAttrValue("IsPassive", "false")); err != nil {
		return nil, refuse(ReasonMalformed, "IsPassive: %w", err)
	}
	if s := root.SelectAttrValue("AssertionConsumerServiceIndex", ""); s != "" {
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i > 65535 {
			return nil, refuse(ReasonMalformed, "AssertionConsumerServiceIndex %q", s)
		}
		req.ACSIndex = &i
	}
	if s := root.SelectAttrValue("IssueInstant", ""); s != "" {
		if req.IssueInstant, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, refuse(ReasonMalformed, "IssueInstant: %w", err)
		}
	}
	for _, c := range root.ChildElements() {
		switch {
		case c.Tag == "Issuer" && c.NamespaceURI() == nsAssertion:
			req.Issuer = strings.TrimSpace(c.Text())
		case c.Tag == "NameIDPolicy" && c.NamespaceURI() == nsProtocol:
			req.NameIDFormat = c.SelectAttrValue("Format", "")
		case c.Tag == "Signature" && c.NamespaceURI() == nsDSig:
			req.Signed = true
		}
	}
	if req.Issuer == "" {
		return nil, refuse(ReasonMalformed, "AuthnRequest has no Issuer")
	}
	return req, nil
}

func xsBool(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("not an xs:boolean: %q", s)
}

// OutboundRequest is an AuthnRequest ready to send to the IdP.
type OutboundRequest struct {
	ID      string // remember it for this browser (RequestTracker)
	Binding string
	// URL is where to send the browser: for HTTP-Redirect the whole URL
	// (redirect with 302/303), for HTTP-POST the form action.
	URL string
	// Form holds the fields for AutoPostForm with HTTP-POST; nil otherwise.
	Form map[string]string
}

// NewAuthnRequest builds the proxy's AuthnRequest to the IdP's SSO endpoint
// on behalf of an app: Issuer spEntityID (the app's entity ID), ACS acsURL
// (the proxy's ACS), HTTP-POST response binding. ForceAuthn, IsPassive and
// the NameID format are carried from the app's request when from is not
// nil. With a signer, an HTTP-Redirect request is signed in the query string
// (RSA-SHA256, saml-bindings §3.4.4.1) and an HTTP-POST one
// with an enveloped XML signature.
func NewAuthnRequest(idpSSO Endpoint, spEntityID, acsURL string, signer *Signer, relayState string, now time.Time, from *AuthnRequest) (*OutboundRequest, error) {
	if err := ValidRelayState(relayState); err != nil {
		return nil, fmt.Errorf("new authn request: %w", err)
	}
	if err := checkLocation(idpSSO.Location); err != nil {
		return nil, fmt.Errorf("new authn request: %w", err)
	}
	if spEntityID == "" || acsURL == "" {
		return nil, fmt.Errorf("new authn request: entity ID and ACS URL are required")
	}
	id, err := newID()
	if err != nil {
		return nil, fmt.Errorf("new authn request: %w", err)
	}
	root := etree.NewElement("samlp:AuthnRequest")
	root.CreateAttr("xmlns:samlp", nsProtocol)
	root.CreateAttr("xmlns:saml", nsAssertion)
	root.CreateAttr("ID", id)
	root.CreateAttr("Version", "2.0")
	root.CreateAttr("IssueInstant", now.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z"))
	root.CreateAttr("Destination", idpSSO.Location)
	root.CreateAttr("AssertionConsumerServiceURL", acsURL)
	root.CreateAttr("ProtocolBinding", BindingHTTPPost)
	nameIDFormat := ""
	if from != nil {
		if from.ForceAuthn {
			root.CreateAttr("ForceAuthn", "true")
		}
		if from.IsPassive {
			root.CreateAttr("IsPassive", "true")
		}
		nameIDFormat = from.NameIDFormat
	}
	root.CreateElement("saml:Issuer").SetText(spEntityID)
	policy := root.CreateElement("samlp:NameIDPolicy")
	if nameIDFormat != "" {
		policy.CreateAttr("Format", nameIDFormat)
	}
	policy.CreateAttr("AllowCreate", "true")

	switch idpSSO.Binding {
	case BindingHTTPRedirect:
		u, err := redirectURL(root, idpSSO.Location, relayState, signer)
		if err != nil {
			return nil, fmt.Errorf("new authn request: %w", err)
		}
		return &OutboundRequest{ID: id, Binding: BindingHTTPRedirect, URL: u}, nil
	case BindingHTTPPost:
		if signer != nil {
			ctx, err := signingContext(*signer)
			if err != nil {
				return nil, fmt.Errorf("new authn request: %w", err)
			}
			if root, err = signEnveloped(ctx, root); err != nil {
				return nil, fmt.Errorf("new authn request: sign: %w", err)
			}
		}
		doc := etree.NewDocument()
		doc.SetRoot(root)
		b, err := doc.WriteToBytes()
		if err != nil {
			return nil, fmt.Errorf("new authn request: %w", err)
		}
		f := map[string]string{"SAMLRequest": base64.StdEncoding.EncodeToString(b)}
		if relayState != "" {
			f["RelayState"] = relayState
		}
		return &OutboundRequest{ID: id, Binding: BindingHTTPPost, URL: idpSSO.Location, Form: f}, nil
	default:
		return nil, fmt.Errorf("new authn request: binding %q is not supported", idpSSO.Binding)
	}
}

// redirectURL encodes root for the HTTP-Redirect binding and, with a
// signer, signs the query string as saml-bindings §3.4.4.1 prescribes.
func redirectURL(root *etree.Element, location, relayState string, signer *Signer) (string, error) {
	doc := etree.NewDocument()
	doc.SetRoot(root)
	b, err := doc.WriteToBytes()
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(b); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	q := "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if signer != nil {
		if signer.Key == nil {
			return "", fmt.Errorf("signer has no key")
		}
		// ECDSA query signatures would need the r||s form of XML-DSig;
		// the replacement keys are RSA.
		if _, ok := signer.Key.Public().(*rsa.PublicKey); !ok {
			return "", fmt.Errorf("redirect binding signing needs an RSA key, not %T", signer.Key.Public())
		}
		q += "&SigAlg=" + url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
		digest := sha256.Sum256([]byte(q))
		sig, err := signer.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return "", fmt.Errorf("sign query: %w", err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	sep := "?"
	if strings.Contains(location, "?") {
		sep = "&"
	}
	return location + sep + q, nil
}
