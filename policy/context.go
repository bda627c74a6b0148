package policy

import (
	"net/netip"
	"strings"
)

// DeviceState says whether the device is managed.
type DeviceState string

// Device states. The empty state counts as unmanaged: a device is managed
// only when it presented a certificate chaining to an admin's root CA.
const (
	DeviceManaged   DeviceState = "managed"
	DeviceUnmanaged DeviceState = "unmanaged"
)

// CertInfo describes the client certificate a device presented.
type CertInfo struct {
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	Serial  string `json:"serial,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// FileInfo describes the file of an activity.
type FileInfo struct {
	// Name is the file's name (no directories).
	Name string `json:"name,omitempty"`
	// Ext is the extension without the dot; taken from Name when empty.
	Ext string `json:"ext,omitempty"`
	// Size is the size in bytes, -1 when unknown.
	Size int64 `json:"size"`
	// MIME is the media type; parameters (";charset=…") are ignored.
	MIME string `json:"mime,omitempty"`
}

// Context is what a decision is made on. The caller fills what it knows;
// string comparisons are case-insensitive where the filter says so. Decide
// does not allocate when User, Email, Groups, cert names and file fields are
// already lower-case (see Normalize).
type Context struct {
	// Kind selects access or session policies.
	Kind Kind `json:"kind"`
	// App is the app's name.
	App string `json:"app"`
	// User is the user id (SAML NameID); Email the email address, if any.
	User  string `json:"user"`
	Email string `json:"email,omitempty"`
	// Groups come from SAML attributes.
	Groups []string `json:"groups,omitempty"`
	// IP is the client's address.
	IP netip.Addr `json:"ip"`
	// Country is the ISO 3166-1 alpha-2 code; "" or "unknown" when unknown.
	Country string `json:"country,omitempty"`
	// UserAgent is the raw user agent; UA its parse (ParseUA or
	// Set.ParseUA), which the caller does once and caches. When UA is zero
	// and UserAgent is not, Decide parses it (and allocates).
	UserAgent string `json:"user_agent,omitempty"`
	UA        UAInfo `json:"ua,omitzero"`
	// Device is managed or unmanaged; empty counts as unmanaged.
	Device DeviceState `json:"device,omitempty"`
	// Cert is the client certificate, nil when none was presented.
	Cert *CertInfo `json:"cert,omitempty"`

	// Activity is view, download, upload, export or send (session only).
	Activity string `json:"activity,omitempty"`
	// File is the activity's file, nil when none.
	File *FileInfo `json:"file,omitempty"`
	// Content is the result of scanning the file, nil when not scanned.
	Content *ContentHits `json:"content,omitempty"`
}

// Normalize lower-cases the context's case-insensitive strings in place,
// so that later decisions on it do not allocate.
func (c *Context) Normalize() {
	c.User = strings.ToLower(c.User)
	c.Email = strings.ToLower(c.Email)
	for i, g := range c.Groups {
		c.Groups[i] = strings.ToLower(g)
	}
	if c.Cert != nil {
		cert := *c.Cert
		cert.Subject, cert.Issuer = strings.ToLower(cert.Subject), strings.ToLower(cert.Issuer)
		c.Cert = &cert
	}
	if c.File != nil {
		f := *c.File
		f.Name, f.Ext, f.MIME = strings.ToLower(f.Name), strings.ToLower(f.Ext), strings.ToLower(f.MIME)
		c.File = &f
	}
}

// evalCtx is a Context prepared for matching: derived and case-folded
// values. It lives on Decide's stack.
type evalCtx struct {
	c        *Context
	user     string
	email    string
	domain   string
	groups   []string
	country  string
	device   string
	ua       UAInfo
	subject  string
	issuer   string
	hasCert  bool
	fileName string
	fileExt  string
	mime     string
	size     int64
	hasFile  bool
	bits     uint32 // enumerated values, see contextBits
}

// prepare fills e from c.
func (e *evalCtx) prepare(c *Context, cfg *UAConfig) {
	e.c = c
	e.user = strings.ToLower(c.User)
	e.email = strings.ToLower(c.Email)
	switch {
	case e.email != "":
		e.domain = e.email[strings.LastIndexByte(e.email, '@')+1:]
	case strings.Contains(e.user, "@"):
		e.domain = e.user[strings.LastIndexByte(e.user, '@')+1:]
	}
	e.groups = c.Groups
	for i, g := range c.Groups {
		if l := strings.ToLower(g); l != g {
			e.groups = make([]string, len(c.Groups))
			copy(e.groups, c.Groups[:i])
			for j := i; j < len(c.Groups); j++ {
				e.groups[j] = strings.ToLower(c.Groups[j])
			}
			break
		}
	}
	e.country = strings.ToUpper(c.Country)
	if e.country == "" || e.country == "UNKNOWN" {
		e.country = "unknown"
	}
	e.device = string(DeviceUnmanaged)
	if c.Device == DeviceManaged {
		e.device = string(DeviceManaged)
	}
	e.ua = c.UA
	if e.ua == (UAInfo{}) && c.UserAgent != "" {
		e.ua = ParseUA(c.UserAgent, *cfg)
	}
	if c.Cert != nil {
		e.hasCert = true
		e.subject, e.issuer = strings.ToLower(c.Cert.Subject), strings.ToLower(c.Cert.Issuer)
	}
	e.bits = contextBits(e)
	if f := c.File; f != nil {
		e.hasFile = true
		e.fileName = strings.ToLower(f.Name)
		e.fileExt = strings.ToLower(strings.TrimPrefix(f.Ext, "."))
		if e.fileExt == "" {
			if i := strings.LastIndexByte(e.fileName, '.'); i >= 0 {
				e.fileExt = e.fileName[i+1:]
			}
		}
		e.mime = f.MIME
		if i := strings.IndexByte(e.mime, ';'); i >= 0 {
			e.mime = e.mime[:i]
		}
		e.mime = strings.ToLower(strings.TrimSpace(e.mime))
		e.size = f.Size
	}
}
