package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Host is the Host header of every request on the local API. casd refuses any
// other, so that a browser tricked into reaching the socket through some
// forwarding (DNS rebinding and the like) is turned away.
const Host = "local-casd.sock"

// DefaultTimeout is how long a Client waits for casd to take a request and
// start answering it.
const DefaultTimeout = 60 * time.Second

// Client is the typed client of casd's local API. The zero value is not
// usable; call NewClient.
type Client struct {
	socket  string
	hc      *http.Client
	tr      *http.Transport
	timeout time.Duration
	// OnVersionMismatch, if set, is called once when casd's version differs
	// from this client's.
	OnVersionMismatch func(daemon, client string)
	warned            bool
}

// NewClient returns a client for the casd listening on socket.
func NewClient(socket string) *Client {
	if socket == "" {
		socket = DefaultSocketPath()
	}
	c := &Client{socket: socket}
	c.tr = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: c.timeout}
			return d.DialContext(ctx, "unix", socket)
		},
		DisableCompression: true,
		MaxIdleConns:       2,
		IdleConnTimeout:    30 * time.Second,
	}
	c.hc = &http.Client{Transport: c.tr}
	c.SetTimeout(DefaultTimeout)
	return c
}

// SetTimeout bounds how long each request waits for casd to take it and to
// start answering (d <= 0: no bound); past it the request fails with a
// *TimeoutError. An answer that has begun, such as a followed event
// stream, is not cut off. Call it before the first request.
func (c *Client) SetTimeout(d time.Duration) {
	if d < 0 {
		d = 0
	}
	c.timeout = d
	c.tr.ResponseHeaderTimeout = d
}

// TimeoutError means casd took the connection but did not answer in time:
// it is overloaded or stuck.
type TimeoutError struct {
	Socket string
	After  time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("casd did not answer within %s (socket %s)", e.After, e.Socket)
}

// IsTimeout reports whether err means casd did not answer in time.
func IsTimeout(err error) bool {
	var t *TimeoutError
	return errors.As(err, &t)
}

// Socket reports the socket path the client dials.
func (c *Client) Socket() string { return c.socket }

// UnreachableError means casd could not be reached on its socket.
type UnreachableError struct {
	Socket string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("casd is not running (socket %s): %v", e.Socket, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// IsUnreachable reports whether err means casd could not be reached.
func IsUnreachable(err error) bool {
	var u *UnreachableError
	return errors.As(err, &u)
}

func hasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// IsNotFound reports whether err is casd saying the named thing does not exist.
func IsNotFound(err error) bool { return hasCode(err, CodeNotFound) }

// IsConflict reports whether err is casd refusing a change that conflicts
// with what is stored.
func IsConflict(err error) bool { return hasCode(err, CodeConflict) }

// IsInvalid reports whether err is casd refusing invalid input.
func IsInvalid(err error) bool { return hasCode(err, CodeInvalid) }

// IsAccessDenied reports whether err is casd refusing the caller.
func IsAccessDenied(err error) bool { return hasCode(err, CodeForbidden) }

// IsExpiredCert reports whether err is casd refusing metadata whose signing
// certificate has expired (retry with Force).
func IsExpiredCert(err error) bool { return hasCode(err, CodeExpiredCert) }

// do sends a request and decodes a JSON answer into out (if non-nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns a successful response; error statuses are
// decoded into *Error.
func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+Host+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "cas/"+Version)
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ne net.Error
		if c.timeout > 0 && errors.As(err, &ne) && ne.Timeout() {
			return nil, &TimeoutError{Socket: c.socket, After: c.timeout}
		}
		return nil, &UnreachableError{Socket: c.socket, Err: unwrapURLError(err)}
	}
	if v := resp.Header.Get(VersionHeader); v != "" && v != Version && !c.warned && c.OnVersionMismatch != nil {
		c.warned = true
		c.OnVersionMismatch(v, Version)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		e := &Error{Status: resp.StatusCode}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("casd answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
			e.Code = CodeInternal
		}
		return nil, e
	}
	return resp, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func pathEsc(s string) string { return url.PathEscape(s) }

// Status returns casd's status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	return &s, c.do(ctx, http.MethodGet, RouteStatus, nil, &s)
}

// IdPs lists the identity providers.
func (c *Client) IdPs(ctx context.Context) ([]IdP, error) {
	var out []IdP
	return out, c.do(ctx, http.MethodGet, RouteIdPs, nil, &out)
}

// IdP returns one identity provider.
func (c *Client) IdP(ctx context.Context, name string) (*IdP, error) {
	var out IdP
	return &out, c.do(ctx, http.MethodGet, "/v0/idps/"+pathEsc(name), nil, &out)
}

// AddIdP imports an identity provider from its metadata.
func (c *Client) AddIdP(ctx context.Context, req AddIdPRequest) (*IdP, error) {
	var out IdP
	return &out, c.do(ctx, http.MethodPost, RouteIdPs, req, &out)
}

// RemoveIdP removes an identity provider.
func (c *Client) RemoveIdP(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v0/idps/"+pathEsc(name), nil, nil)
}

// CAs lists the root CAs for managed devices.
func (c *Client) CAs(ctx context.Context) ([]CA, error) {
	var out []CA
	return out, c.do(ctx, http.MethodGet, RouteCAs, nil, &out)
}

// CA returns one root CA, with its PEM.
func (c *Client) CA(ctx context.Context, name string) (*CA, error) {
	var out CA
	return &out, c.do(ctx, http.MethodGet, "/v0/cas/"+pathEsc(name), nil, &out)
}

// AddCA registers (or, with Create, makes) a root CA.
func (c *Client) AddCA(ctx context.Context, req AddCARequest) (*CA, error) {
	var out CA
	return &out, c.do(ctx, http.MethodPost, RouteCAs, req, &out)
}

// RemoveCA removes a root CA.
func (c *Client) RemoveCA(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v0/cas/"+pathEsc(name), nil, nil)
}

// IssueDevice issues a device certificate from a CA casd created.
func (c *Client) IssueDevice(ctx context.Context, ca string, req IssueDeviceRequest) (*IssuedDevice, error) {
	var out IssuedDevice
	return &out, c.do(ctx, http.MethodPost, "/v0/cas/"+pathEsc(ca)+"/issue", req, &out)
}

// IPTags lists the IP tags.
func (c *Client) IPTags(ctx context.Context) ([]IPTag, error) {
	var out []IPTag
	return out, c.do(ctx, http.MethodGet, RouteIPTags, nil, &out)
}

// SetIPTag creates or replaces an IP tag.
func (c *Client) SetIPTag(ctx context.Context, tag IPTag) (*IPTag, error) {
	var out IPTag
	return &out, c.do(ctx, http.MethodPut, "/v0/iptags/"+pathEsc(tag.Name), tag, &out)
}

// RemoveIPTag removes an IP tag.
func (c *Client) RemoveIPTag(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v0/iptags/"+pathEsc(name), nil, nil)
}

// Policies lists the policies.
func (c *Client) Policies(ctx context.Context) ([]PolicyInfo, error) {
	var out []PolicyInfo
	return out, c.do(ctx, http.MethodGet, RoutePolicies, nil, &out)
}

// Policy returns one policy.
func (c *Client) Policy(ctx context.Context, name string) (*PolicyInfo, error) {
	var out PolicyInfo
	return &out, c.do(ctx, http.MethodGet, "/v0/policies/"+pathEsc(name), nil, &out)
}

// AddPolicy stores a new policy.
func (c *Client) AddPolicy(ctx context.Context, p any) (*PolicyWrite, error) {
	var out PolicyWrite
	return &out, c.do(ctx, http.MethodPost, RoutePolicies, p, &out)
}

// RemovePolicy removes a policy.
func (c *Client) RemovePolicy(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v0/policies/"+pathEsc(name), nil, nil)
}

// SetPolicyEnabled enables or disables a policy.
func (c *Client) SetPolicyEnabled(ctx context.Context, name string, enabled bool) (*PolicyWrite, error) {
	verb := "/disable"
	if enabled {
		verb = "/enable"
	}
	var out PolicyWrite
	return &out, c.do(ctx, http.MethodPost, "/v0/policies/"+pathEsc(name)+verb, nil, &out)
}

// ApplyPolicies applies a declarative policy document.
func (c *Client) ApplyPolicies(ctx context.Context, req ApplyRequest) (*ApplyResult, error) {
	var out ApplyResult
	return &out, c.do(ctx, http.MethodPost, RoutePoliciesApply, req, &out)
}

// ExportPolicies returns every policy as a YAML document.
func (c *Client) ExportPolicies(ctx context.Context) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, RoutePoliciesExport, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// TestPolicies evaluates a hypothetical request against the live policies.
func (c *Client) TestPolicies(ctx context.Context, req PolicyTestRequest) (*PolicyTestResult, error) {
	var out PolicyTestResult
	return &out, c.do(ctx, http.MethodPost, RoutePoliciesTest, req, &out)
}

// Catalog lists the built-in app templates.
func (c *Client) Catalog(ctx context.Context) ([]Template, error) {
	var out []Template
	return out, c.do(ctx, http.MethodGet, RouteCatalog, nil, &out)
}

// Onboard creates an app from a template.
func (c *Client) Onboard(ctx context.Context, req OnboardRequest) (*Onboarded, error) {
	var out Onboarded
	return &out, c.do(ctx, http.MethodPost, RouteApps, req, &out)
}

// Apps lists the apps.
func (c *Client) Apps(ctx context.Context) ([]App, error) {
	var out []App
	return out, c.do(ctx, http.MethodGet, RouteApps, nil, &out)
}

// App returns one app.
func (c *Client) App(ctx context.Context, name string) (*App, error) {
	var out App
	return &out, c.do(ctx, http.MethodGet, "/v0/apps/"+pathEsc(name), nil, &out)
}

// PatchApp changes an app's settings.
func (c *Client) PatchApp(ctx context.Context, name string, p AppPatch) (*App, error) {
	var out App
	return &out, c.do(ctx, http.MethodPatch, "/v0/apps/"+pathEsc(name), p, &out)
}

// RemoveApp removes an app.
func (c *Client) RemoveApp(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v0/apps/"+pathEsc(name), nil, nil)
}

// AppMetadata returns the SAML metadata for one side ("idp" or "app") to import.
func (c *Client) AppMetadata(ctx context.Context, name, forSide string) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, "/v0/apps/"+pathEsc(name)+"/metadata?for="+url.QueryEscape(forSide), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// RotateAppCert adds a new replacement certificate to an app.
func (c *Client) RotateAppCert(ctx context.Context, name string) (*App, error) {
	var out App
	return &out, c.do(ctx, http.MethodPost, "/v0/apps/"+pathEsc(name)+"/cert/rotate", nil, &out)
}

// RetireAppCert retires one of an app's replacement certificates.
func (c *Client) RetireAppCert(ctx context.Context, name, serial string) (*App, error) {
	var out App
	return &out, c.do(ctx, http.MethodPost, "/v0/apps/"+pathEsc(name)+"/cert/retire", RetireRequest{Serial: serial}, &out)
}

// Sessions lists monitored sessions.
func (c *Client) Sessions(ctx context.Context, app, user string) ([]Session, error) {
	q := url.Values{}
	if app != "" {
		q.Set("app", app)
	}
	if user != "" {
		q.Set("user", user)
	}
	var out []Session
	return out, c.do(ctx, http.MethodGet, RouteSessions+"?"+q.Encode(), nil, &out)
}

// RevokeSessions revokes sessions by id, user or app.
func (c *Client) RevokeSessions(ctx context.Context, req RevokeRequest) (*RevokeResult, error) {
	var out RevokeResult
	return &out, c.do(ctx, http.MethodPost, RouteSessionsRevoke, req, &out)
}

// TLSCA returns the PEM certificate of casd's internal TLS CA.
func (c *Client) TLSCA(ctx context.Context) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, RouteTLSCA, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// Values encodes q as the query string of /v0/events.
func (q EventQuery) Values() url.Values {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	for _, k := range q.Kinds {
		v.Add("kind", k)
	}
	if q.App != "" {
		v.Set("app", q.App)
	}
	if q.User != "" {
		v.Set("user", q.User)
	}
	if q.Decision != "" {
		v.Set("decision", q.Decision)
	}
	// While following, n=0 asks for no backfill at all; otherwise 0 means
	// the daemon's default.
	if q.HasAfter {
		v.Set("after", strconv.FormatInt(q.After, 10))
		if q.Limit > 0 {
			v.Set("n", strconv.Itoa(q.Limit))
		}
	} else if q.Limit > 0 || (q.Follow && q.Limit == 0) {
		v.Set("n", strconv.Itoa(q.Limit))
	}
	if q.Follow {
		v.Set("follow", "1")
	}
	if q.Format != "" {
		v.Set("format", q.Format)
	}
	return v
}

// Events returns the newest events matching q (q.Follow is ignored).
func (c *Client) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	q.Follow = false
	w, err := c.WatchEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	var out []Event
	for {
		ev, err := w.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

// EventWatcher reads a stream of events, one JSON object per line.
type EventWatcher struct {
	body   io.ReadCloser
	sc     *bufio.Scanner
	cursor int64
}

// WatchEvents streams the newest events matching q and then, with q.Follow,
// every new one until ctx ends or Close is called.
func (c *Client) WatchEvents(ctx context.Context, q EventQuery) (*EventWatcher, error) {
	resp, err := c.send(ctx, http.MethodGet, RouteEvents+"?"+q.Values().Encode(), nil)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	w := &EventWatcher{body: resp.Body, sc: sc}
	if v := resp.Header.Get(EventCursorHeader); v != "" {
		w.cursor, _ = strconv.ParseInt(v, 10, 64)
	}
	return w, nil
}

// Cursor is where a following stream is: the highest event ID it has
// delivered, or that it started after. Resuming with After set to it
// misses no event and repeats none.
func (w *EventWatcher) Cursor() int64 { return w.cursor }

// Next returns the next event; io.EOF at the end of a non-following stream.
func (w *EventWatcher) Next() (Event, error) {
	for w.sc.Scan() {
		line := bytes.TrimSpace(w.sc.Bytes())
		if len(line) == 0 {
			continue // keep-alive
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return Event{}, fmt.Errorf("decode event: %w", err)
		}
		w.cursor = max(w.cursor, ev.ID)
		return ev, nil
	}
	if err := w.sc.Err(); err != nil {
		return Event{}, err
	}
	return Event{}, io.EOF
}

// Close ends the stream.
func (w *EventWatcher) Close() error { return w.body.Close() }

// ExportEvents streams events in q.Format ("jsonl" or "csv") to dst.
func (c *Client) ExportEvents(ctx context.Context, q EventQuery, dst io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, RouteEventsExport+"?"+q.Values().Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err = io.Copy(dst, resp.Body); err != nil && ctx.Err() == nil {
		return fmt.Errorf("the export broke off, so what was written is incomplete (casd's log says why): %w", err)
	}
	return err
}
