package api

import (
	"encoding/json"
	"time"

	"github.com/cas-proxy/cas/policy"
)

// Error is the body of every error response, and the error the client returns
// for one.
type Error struct {
	Message string `json:"error"`
	Code    string `json:"code"`
	// Status is the HTTP status the daemon answered with (not sent on the wire).
	Status int `json:"-"`
}

func (e *Error) Error() string { return e.Message }

// Listener describes one of casd's listeners.
type Listener struct {
	Name string `json:"name"` // "api", "proxy"
	Addr string `json:"addr"`
}

// Counts holds how many of each stored thing there are.
type Counts struct {
	Apps     int64 `json:"apps"`
	IdPs     int64 `json:"idps"`
	Policies int64 `json:"policies"`
	CAs      int64 `json:"cas"`
	IPTags   int64 `json:"iptags"`
	Events   int64 `json:"events"`
	Sessions int64 `json:"sessions"`
}

// Status is the answer of GET /v0/status.
type Status struct {
	Version    string     `json:"version"`
	PID        int        `json:"pid"`
	StartedAt  time.Time  `json:"started_at"`
	UptimeSecs float64    `json:"uptime_seconds"`
	StateDir   string     `json:"state_dir"`
	Database   string     `json:"database"`
	Socket     string     `json:"socket"`
	PortalURL  string     `json:"portal_url,omitempty"`
	Demo       bool       `json:"demo,omitempty"`
	Listeners  []Listener `json:"listeners"`
	Counts     Counts     `json:"counts"`
}

// Endpoint is a SAML endpoint: a binding and a location.
type Endpoint struct {
	Binding  string `json:"binding"`
	Location string `json:"location"`
}

// CertInfo describes an X.509 certificate.
type CertInfo struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"`
	Fingerprint string    `json:"fingerprint_sha256"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	PEM         string    `json:"pem,omitempty"`
}

// IdP is an identity provider imported from SAML metadata.
type IdP struct {
	Name        string     `json:"name"`
	EntityID    string     `json:"entity_id"`
	SSO         []Endpoint `json:"sso"`
	Certs       []CertInfo `json:"certificates"`
	EmailAttr   string     `json:"email_attribute,omitempty"`
	GroupsAttrs []string   `json:"groups_attributes"`
	Apps        []string   `json:"apps,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Warnings    []string   `json:"warnings,omitempty"`
}

// AddIdPRequest is the body of POST /v0/idps.
type AddIdPRequest struct {
	Name        string   `json:"name"`
	Metadata    string   `json:"metadata"` // the SAML metadata XML
	EmailAttr   string   `json:"email_attribute,omitempty"`
	GroupsAttrs []string `json:"groups_attributes,omitempty"`
	// Force accepts metadata whose signing certificate has expired.
	Force bool `json:"force,omitempty"`
}

// CA is a root certificate authority for managed-device detection.
type CA struct {
	Name        string    `json:"name"`
	Subject     string    `json:"subject"`
	Fingerprint string    `json:"fingerprint_sha256"`
	Serial      string    `json:"serial"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	CRL         string    `json:"crl,omitempty"` // the CRL file casd watches, or "stored"
	HasKey      bool      `json:"has_key"`       // created by `cas ca create`: casd can issue device certificates
	PEM         string    `json:"pem,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// AddCARequest is the body of POST /v0/cas. With Create, casd makes a new
// root CA itself (CertPEM must be empty).
type AddCARequest struct {
	Name    string `json:"name"`
	CertPEM string `json:"cert_pem,omitempty"`
	CRLPEM  string `json:"crl_pem,omitempty"`
	CRLPath string `json:"crl_path,omitempty"`
	Create  bool   `json:"create,omitempty"`
}

// IssueDeviceRequest is the body of POST /v0/cas/{name}/issue.
type IssueDeviceRequest struct {
	Device   string `json:"device"`
	Password string `json:"password,omitempty"`
	Days     int    `json:"days,omitempty"`
}

// IssuedDevice is a device certificate issued by a CA casd holds the key of.
type IssuedDevice struct {
	Device  string   `json:"device"`
	Cert    CertInfo `json:"certificate"`
	CertPEM string   `json:"cert_pem"`
	KeyPEM  string   `json:"key_pem"`
	PKCS12  []byte   `json:"pkcs12"` // base64 in JSON
}

// IPTag names a set of networks.
type IPTag struct {
	Name      string    `json:"name"`
	CIDRs     []string  `json:"cidrs"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Event is one thing casd observed or decided.
type Event struct {
	ID        int64           `json:"id"`
	Time      time.Time       `json:"time"`
	Kind      string          `json:"kind"`
	App       string          `json:"app,omitempty"`
	User      string          `json:"user,omitempty"`
	SourceIP  string          `json:"source_ip,omitempty"`
	UserAgent string          `json:"user_agent,omitempty"`
	Device    string          `json:"device,omitempty"`
	Action    string          `json:"action,omitempty"`
	Decision  string          `json:"decision,omitempty"`
	Policies  []string        `json:"policies,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	SessionID string          `json:"session_id,omitempty"`
	Object    string          `json:"object,omitempty"`
	Bytes     int64           `json:"bytes,omitempty"`
	Details   json.RawMessage `json:"details,omitempty"`
}

// EventQuery selects events for GET /v0/events and /v0/events/export.
type EventQuery struct {
	Since    time.Time
	Until    time.Time
	Kinds    []string
	App      string
	User     string
	Decision string
	Limit    int // newest N; 0 is the daemon's default (20), or none at all when following
	// After, when set, asks for every matching event with a larger ID
	// (oldest first; Limit then caps them, 0 for no cap) instead of the
	// newest N: how a follower resumes from its cursor.
	After    int64
	HasAfter bool
	Follow   bool   // keep streaming new events
	Format   string // export: "jsonl" or "csv"
}

// PolicyInfo is a stored policy with its bookkeeping.
type PolicyInfo struct {
	policy.Policy
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PolicyWrite is the answer to a policy change: the policy as stored and any
// warnings (e.g. a country filter with no GeoIP database configured).
type PolicyWrite struct {
	Policy   PolicyInfo `json:"policy"`
	Warnings []string   `json:"warnings,omitempty"`
}

// ApplyRequest is the body of POST /v0/policies:apply.
type ApplyRequest struct {
	Document string `json:"document"` // YAML
	Prune    bool   `json:"prune,omitempty"`
	DryRun   bool   `json:"dry_run,omitempty"`
}

// ApplyResult says what an apply did, or would do with DryRun.
type ApplyResult struct {
	Plan     policy.Plan `json:"plan"`
	Applied  bool        `json:"applied"`
	Warnings []string    `json:"warnings,omitempty"`
}

// PolicyTestRequest is the body of POST /v0/policies:test: a hypothetical
// login or activity, evaluated against the live policy set.
type PolicyTestRequest struct {
	Kind      string   `json:"kind,omitempty"` // access (default) or session
	App       string   `json:"app"`
	User      string   `json:"user"`
	Groups    []string `json:"groups,omitempty"`
	IP        string   `json:"ip"`
	Country   string   `json:"country,omitempty"`
	Device    string   `json:"device,omitempty"`
	UserAgent string   `json:"user_agent,omitempty"`
	Activity  string   `json:"activity,omitempty"`
	FileName  string   `json:"file_name,omitempty"`
	FileSize  int64    `json:"file_size,omitempty"`
	MIME      string   `json:"mime,omitempty"`
	Content   []byte   `json:"content,omitempty"`
}

// PolicyTestResult explains a hypothetical decision.
type PolicyTestResult struct {
	Decision    policy.Decision    `json:"decision"`
	Explanation policy.Explanation `json:"explanation"`
	Country     string             `json:"country"`
	IPTags      []string           `json:"ip_tags,omitempty"`
}

// Template is a built-in app template from the catalog.
type Template struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Description string   `json:"description"`
	Domains     []string `json:"domains"`
}

// AppKey is one of an app's replacement signing certificates.
type AppKey struct {
	Serial      string    `json:"serial"`
	Active      bool      `json:"active"`
	Retired     bool      `json:"retired"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	CertPEM     string    `json:"cert_pem"`
	Fingerprint string    `json:"fingerprint_sha256"`
}

// App is an onboarded app.
type App struct {
	Name                   string    `json:"name"`
	Template               string    `json:"template"`
	IdP                    string    `json:"idp"`
	EntityID               string    `json:"entity_id"`
	ACSURL                 string    `json:"acs_url"`
	Domains                []string  `json:"domains"`
	ProxyACSURL            string    `json:"proxy_acs_url"`
	ProxySSOURL            string    `json:"proxy_sso_url"`
	SignRequests           bool      `json:"sign_requests"`
	SignResponse           bool      `json:"sign_response"`
	IdPInitiated           bool      `json:"idp_initiated"`
	RequireSignedAssertion bool      `json:"require_signed_assertion"`
	MonitorNotice          string    `json:"monitor_notice,omitempty"`
	DownloadPatterns       []string  `json:"download_patterns,omitempty"`
	ExportPatterns         []string  `json:"export_patterns,omitempty"`
	UploadPatterns         []string  `json:"upload_patterns,omitempty"`
	Keys                   []AppKey  `json:"keys"`
	CreatedAt              time.Time `json:"created_at"`
}

// OnboardRequest is the body of POST /v0/apps.
type OnboardRequest struct {
	Template     string   `json:"template"`
	Name         string   `json:"name"`
	IdP          string   `json:"idp"`
	Domains      []string `json:"domains,omitempty"`
	SPMetadata   string   `json:"sp_metadata,omitempty"`
	EntityID     string   `json:"entity_id,omitempty"`
	ACSURL       string   `json:"acs_url,omitempty"`
	SignRequests bool     `json:"sign_requests,omitempty"`
}

// Onboarded is the answer to an onboarding: the app and exactly what the admin
// changes in the IdP and in the app.
type Onboarded struct {
	App   App      `json:"app"`
	Steps []string `json:"steps"`
}

// AppPatch is the body of PATCH /v0/apps/{name}; nil fields are unchanged.
type AppPatch struct {
	IdP                    *string  `json:"idp,omitempty"`
	AddDownloadPatterns    []string `json:"add_download_patterns,omitempty"`
	AddExportPatterns      []string `json:"add_export_patterns,omitempty"`
	AddUploadPatterns      []string `json:"add_upload_patterns,omitempty"`
	SignRequests           *bool    `json:"sign_requests,omitempty"`
	SignResponse           *bool    `json:"sign_response,omitempty"`
	IdPInitiated           *bool    `json:"idp_initiated,omitempty"`
	RequireSignedAssertion *bool    `json:"require_signed_assertion,omitempty"`
	MonitorNotice          *string  `json:"monitor_notice,omitempty"`
}

// RetireRequest is the body of POST /v0/apps/{name}/cert/retire.
type RetireRequest struct {
	Serial string `json:"serial"`
}

// Session is a monitored app session flowing through casd.
type Session struct {
	ID        string    `json:"id"`
	App       string    `json:"app"`
	User      string    `json:"user"`
	Device    string    `json:"device"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	ExpiresAt time.Time `json:"expires_at"`
	Revoked   bool      `json:"revoked"`
}

// RevokeRequest is the body of POST /v0/sessions:revoke; exactly one field is set.
type RevokeRequest struct {
	ID   string `json:"id,omitempty"`
	User string `json:"user,omitempty"`
	App  string `json:"app,omitempty"`
}

// RevokeResult says how many sessions were revoked.
type RevokeResult struct {
	Revoked int64 `json:"revoked"`
}
