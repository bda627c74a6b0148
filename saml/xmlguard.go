package saml

import (
	"bytes"
	"errors"
	"fmt"

	xrv "github.com/mattermost/xml-roundtrip-validator"
)

var (
	doctypeMarker = []byte("<!doctype")
	entityMarker  = []byte("<!entity")
)

// errDoctype is the detail for XML that declares a document type or entities.
var errDoctype = errors.New("xml declares a DOCTYPE or an ENTITY, which is never accepted")

// hasDoctype reports whether data holds a document type or entity
// declaration anywhere, in any letter case. It is checked on the raw bytes,
// before any parser sees them.
func hasDoctype(data []byte) bool {
	return indexFold(data, doctypeMarker) >= 0 || indexFold(data, entityMarker) >= 0
}

// indexFold is bytes.Index ignoring ASCII case of data; marker must be lower
// case.
func indexFold(data, marker []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if len(data)-i < len(marker) {
			return -1
		}
		match := true
		for k := 1; k < len(marker); k++ {
			c := data[i+k]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != marker[k] {
				match = false
				break
			}
		}
		if match {
			return i
		}
		i++
	}
}

// guardXML runs the checks every XML document from outside goes through
// before it is parsed: a size cap (the round-trip validator's allocations
// grow steeply with input size), no DOCTYPE or ENTITY, and round-trip
// stability (the tokens encoding/xml reads must survive re-encoding, so that
// what is verified is what is read). It returns the reason code with the
// error.
//
// maxMarkup caps the number of '<' in data. The round-trip validator costs
// about 2.5 KB of allocation and a microsecond or more per tag (a 256 KiB
// run of "<a/>" costs 630 MB and a third of a second), so the number of
// tags, not only the size, must be bounded before it runs.
func guardXML(data []byte, limit, maxMarkup int) (string, error) {
	if reason, err := guardBytes(data, limit); err != nil {
		return reason, err
	}
	if n := bytes.Count(data, []byte{'<'}); n > maxMarkup {
		return ReasonTooLarge, fmt.Errorf("xml has %d tags, more than the %d allowed", n, maxMarkup)
	}
	if err := xrv.Validate(bytes.NewReader(data)); err != nil {
		return ReasonMalformed, fmt.Errorf("xml is not round-trip safe: %w", err)
	}
	return "", nil
}

// guardBytes is guardXML without the round-trip check, for the Response,
// which crewjam round-trip checks itself (its internal copy of the same
// check, with depth and namespace budgets) before anything is read from
// it; this package's own parse of it only ever refuses.
func guardBytes(data []byte, limit int) (string, error) {
	if len(data) > limit {
		return ReasonTooLarge, fmt.Errorf("xml is %d bytes, more than the %d allowed", len(data), limit)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return ReasonMalformed, errors.New("xml is empty")
	}
	if hasDoctype(data) {
		return ReasonDoctype, errDoctype
	}
	return "", nil
}
