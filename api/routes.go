package api

// Route paths of the local API, as used by Go 1.22 ServeMux patterns
// ("METHOD path"). The daemon keeps its table in the same sorted order and a
// test holds it to it.
const (
	RouteApps           = "/v0/apps"
	RouteApp            = "/v0/apps/{name}"
	RouteAppCertRetire  = "/v0/apps/{name}/cert/retire"
	RouteAppCertRotate  = "/v0/apps/{name}/cert/rotate"
	RouteAppMetadata    = "/v0/apps/{name}/metadata"
	RouteCAs            = "/v0/cas"
	RouteCA             = "/v0/cas/{name}"
	RouteCAIssue        = "/v0/cas/{name}/issue"
	RouteCatalog        = "/v0/catalog"
	RouteEvents         = "/v0/events"
	RouteEventsExport   = "/v0/events/export"
	RouteIdPs           = "/v0/idps"
	RouteIdP            = "/v0/idps/{name}"
	RouteIPTags         = "/v0/iptags"
	RouteIPTag          = "/v0/iptags/{name}"
	RoutePolicies       = "/v0/policies"
	RoutePolicy         = "/v0/policies/{name}"
	RoutePolicyDisable  = "/v0/policies/{name}/disable"
	RoutePolicyEnable   = "/v0/policies/{name}/enable"
	RoutePoliciesApply  = "/v0/policies:apply"
	RoutePoliciesExport = "/v0/policies:export"
	RoutePoliciesTest   = "/v0/policies:test"
	RouteSessions       = "/v0/sessions"
	RouteSessionsRevoke = "/v0/sessions:revoke"
	RouteStatus         = "/v0/status"
	RouteTLSCA          = "/v0/tls/ca"
)
