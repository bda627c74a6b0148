package saml

import (
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"
)

// Identity is what a validated assertion says about the user, in a shape
// independent of the XML, so that policy, events and re-signing work on
// values only.
type Identity struct {
	IdP                  string // the IdP's entity ID
	NameID               string // exact text of the NameID
	NameIDFormat         string
	NameQualifier        string
	SPNameQualifier      string
	User                 string // NameID, or the EmailAttr value when configured
	Email                string
	Groups               []string
	SessionIndex         string
	AuthnInstant         time.Time
	AuthnContextClassRef string
	Attributes           []Attribute
	AssertionID          string
	InResponseTo         string
	NotOnOrAfter         time.Time // of the IdP's assertion
	RelayState           string    // as posted with the Response (already checked by ValidRelayState)
}

// Attribute is one SAML attribute with its values.
type Attribute struct {
	Name         string
	NameFormat   string
	FriendlyName string
	Values       []string
}

// identity builds the Identity from an assertion crewjam read from the
// signed bytes.
func (v *ResponseValidator) identity(a *crewjam.Assertion) (*Identity, error) {
	n := a.Subject.NameID
	id := &Identity{
		IdP:             v.IdPEntityID,
		NameID:          n.Value,
		NameIDFormat:    n.Format,
		NameQualifier:   n.NameQualifier,
		SPNameQualifier: n.SPNameQualifier,
		AssertionID:     a.ID,
		NotOnOrAfter:    a.Conditions.NotOnOrAfter,
	}
	if strings.TrimSpace(id.NameID) == "" {
		return nil, refuse(ReasonMalformed, "empty NameID")
	}
	if len(a.AuthnStatements) > 0 {
		s := a.AuthnStatements[0]
		id.SessionIndex = s.SessionIndex
		id.AuthnInstant = s.AuthnInstant
		if s.AuthnContext.AuthnContextClassRef != nil {
			id.AuthnContextClassRef = strings.TrimSpace(s.AuthnContext.AuthnContextClassRef.Value)
		}
	}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			attr := Attribute{Name: at.Name, NameFormat: at.NameFormat, FriendlyName: at.FriendlyName}
			for _, val := range at.Values {
				s := val.Value
				if val.NameID != nil {
					s = val.NameID.Value
				}
				attr.Values = append(attr.Values, s)
			}
			id.Attributes = append(id.Attributes, attr)
		}
	}
	id.User = id.NameID
	if v.EmailAttr != "" {
		vals := id.Values(v.EmailAttr)
		if len(vals) != 1 || strings.TrimSpace(vals[0]) == "" {
			return nil, refuse(ReasonAttributeMissing, "email attribute %q has %d values, want one", v.EmailAttr, len(vals))
		}
		id.Email = vals[0]
		id.User = vals[0]
	}
	groupsAttrs := v.GroupsAttrs
	if len(groupsAttrs) == 0 {
		groupsAttrs = DefaultGroupsAttrs()
	}
	for _, name := range groupsAttrs {
		if id.hasAttribute(name) {
			id.Groups = id.Values(name)
			break
		}
	}
	return id, nil
}

// Values returns the values of every attribute named name, exactly.
func (id *Identity) Values(name string) []string {
	var out []string
	for _, a := range id.Attributes {
		if a.Name == name {
			out = append(out, a.Values...)
		}
	}
	return out
}

func (id *Identity) hasAttribute(name string) bool {
	for _, a := range id.Attributes {
		if a.Name == name {
			return true
		}
	}
	return false
}
