package demo

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
)

// writeBody writes a page or API body, compressed with br or gzip when the
// client accepts it (br preferred, as browsers get from Salesforce).
func writeBody(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Add("Vary", "Accept-Encoding")
	enc := negotiateEncoding(r.Header.Get("Accept-Encoding"))
	if enc != "" {
		var buf bytes.Buffer
		var err error
		switch enc {
		case "br":
			bw := brotli.NewWriterLevel(&buf, 5)
			if _, err = bw.Write(body); err == nil {
				err = bw.Close()
			}
		case "gzip":
			gw := gzip.NewWriter(&buf)
			if _, err = gw.Write(body); err == nil {
				err = gw.Close()
			}
		}
		if err == nil {
			h.Set("Content-Encoding", enc)
			body = buf.Bytes()
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// negotiateEncoding picks br, gzip or "" (identity) from an
// Accept-Encoding header, honouring q=0.
func negotiateEncoding(header string) string {
	q := make(map[string]float64)
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		weight := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					weight = f
				}
			}
		}
		if name == "x-gzip" {
			name = "gzip"
		}
		q[name] = weight
	}
	accepts := func(enc string) bool {
		if w, ok := q[enc]; ok {
			return w > 0
		}
		w, ok := q["*"]
		return ok && w > 0
	}
	switch {
	case accepts("br"):
		return "br"
	case accepts("gzip"):
		return "gzip"
	}
	return ""
}
