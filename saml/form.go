package saml

import (
	"bytes"
	"html/template"
	"sort"
)

// MaxRelayState is the longest RelayState accepted or sent, in bytes
// (saml-bindings-2.0-os §3.4.3, §3.5.3).
const MaxRelayState = 80

// ValidRelayState reports, as a *ValidationError, why s cannot be used as a
// RelayState: longer than MaxRelayState bytes (relay_state_too_long), or
// holding a control character (malformed).
func ValidRelayState(s string) error {
	if len(s) > MaxRelayState {
		return refuse(ReasonRelayStateTooLong, "RelayState is %d bytes, at most %d", len(s), MaxRelayState)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return refuse(ReasonMalformed, "RelayState holds a control character")
		}
	}
	return nil
}

var autoPostTemplate = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Signing in…</title></head>
<body>
<form id="saml-post" method="post" action="{{.Action}}">
{{- range .Fields}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{- end}}
<noscript><p>JavaScript is off: press Continue to finish signing in.</p></noscript>
<button type="submit">Continue</button>
</form>
<script nonce="{{.Nonce}}">document.getElementById("saml-post").submit();</script>
</body></html>
`))

type formField struct{ Name, Value string }

// AutoPostForm returns an HTML page that posts fields to action: at once by
// an inline script carrying nonce (so the page's Content-Security-Policy can
// be script-src 'nonce-…'), or by a visible button without JavaScript. All
// values are HTML-escaped; fields are written in name order.
func AutoPostForm(action string, fields map[string]string, nonce string) []byte {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	data := struct {
		Action string
		Fields []formField
		Nonce  string
	}{Action: action, Nonce: nonce}
	for _, n := range names {
		data.Fields = append(data.Fields, formField{n, fields[n]})
	}
	var buf bytes.Buffer
	if err := autoPostTemplate.Execute(&buf, data); err != nil {
		// Executing a parsed template into a buffer fails only for a
		// template bug; give a page that still says what happened.
		return []byte("<!DOCTYPE html><p>Cannot build the sign-in form.</p>")
	}
	return buf.Bytes()
}
