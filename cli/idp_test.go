package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cas-proxy/cas/api"
)

var testIdP = api.IdP{
	Name:     "corp",
	EntityID: "https://idp.example.com/saml",
	SSO: []api.Endpoint{
		{Binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", Location: "https://idp.example.com/sso"},
	},
	Certs: []api.CertInfo{{
		Subject: "CN=idp.example.com", Issuer: "CN=idp.example.com", Serial: "1a",
		Fingerprint: "ab12", NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}},
	GroupsAttrs: []string{"groups", "memberOf"},
	Apps:        []string{"sf"},
	CreatedAt:   time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
	UpdatedAt:   time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
}

func TestIdPAddFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    IdPAddOptions
		wantErr string
	}{
		{
			name: "all flags",
			args: []string{"corp", "--metadata", "md.xml", "--email-attr", "mail", "--groups-attr", "a,b", "--groups-attr", "c", "--force", "--json"},
			want: IdPAddOptions{Name: "corp", Metadata: "md.xml", EmailAttr: "mail", GroupsAttrs: []string{"a", "b", "c"}, Force: true, JSON: true},
		},
		{name: "metadata required", args: []string{"corp"}, wantErr: "--metadata FILE is required"},
		{name: "name required", args: []string{"--metadata", "x"}, wantErr: "expected NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := testFactory("")
			var got *IdPAddOptions
			err := execCmd(newCmdIdPAdd(f, func(o *IdPAddOptions) error { got = o; return nil }), tt.args...)
			if tt.wantErr != "" {
				if err == nil || !isFlagError(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.IO, got.Client, got.Ctx = nil, nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestIdPAddSendsFileContent(t *testing.T) {
	fake := newFakeCasd(t)
	withWarning := testIdP
	withWarning.Warnings = []string{"certificate CN=idp.example.com expires in 20 days"}
	fake.reply("POST /v0/idps", http.StatusCreated, withWarning)
	md := filepath.Join(t.TempDir(), "md.xml")
	os.WriteFile(md, []byte("<EntityDescriptor/>"), 0o644)

	r := run(t, fake.socket, "idp", "add", "corp", "--metadata", md, "--groups-attr", "roles")
	wantCode(t, r, ExitOK)
	if want := "Added IdP corp (https://idp.example.com/saml, 1 signing certificate(s))\n"; r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
	if want := "cas: warning: certificate CN=idp.example.com expires in 20 days\n"; r.Stderr != want {
		t.Errorf("stderr:\n%s", diff(r.Stderr, want))
	}
	var req api.AddIdPRequest
	fake.only("POST", "/v0/idps").Decode(t, &req)
	want := api.AddIdPRequest{Name: "corp", Metadata: "<EntityDescriptor/>", GroupsAttrs: []string{"roles"}}
	if !reflect.DeepEqual(req, want) {
		t.Errorf("request = %+v, want %+v", req, want)
	}
}

func TestIdPAddUnreadableFile(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("POST /v0/idps", http.StatusCreated, testIdP)
	md := filepath.Join(t.TempDir(), "missing.xml")
	r := run(t, fake.socket, "idp", "add", "corp", "--metadata", md)
	wantCode(t, r, ExitError)
	if want := "cas: read metadata: open " + md + ": no such file or directory\n"; r.Stderr != want {
		t.Errorf("stderr:\n%s", diff(r.Stderr, want))
	}
	if n := len(fake.requests("POST", "/v0/idps")); n != 0 {
		t.Errorf("%d requests sent for an unreadable file", n)
	}
}

func TestIdPAddExpiredSuggestsForce(t *testing.T) {
	fake := newFakeCasd(t)
	fake.fail("POST /v0/idps", http.StatusUnprocessableEntity, api.CodeExpiredCert, "metadata: signing certificate CN=old expired on 2025-01-01T00:00:00Z")
	md := filepath.Join(t.TempDir(), "md.xml")
	os.WriteFile(md, []byte("<x/>"), 0o644)
	r := run(t, fake.socket, "idp", "add", "corp", "--metadata", md)
	wantCode(t, r, ExitError)
	want := "cas: metadata: signing certificate CN=old expired on 2025-01-01T00:00:00Z (run again with --force to import it anyway)\n"
	if r.Stderr != want {
		t.Errorf("stderr:\n%s", diff(r.Stderr, want))
	}
}

func TestIdPAddFromStdin(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("POST /v0/idps", http.StatusCreated, testIdP)
	f, ios := testFactory(fake.socket)
	ios.In = strings.NewReader("<from-stdin/>")
	root := NewCmdRoot(f)
	root.SetArgs([]string{"idp", "add", "corp", "--metadata", "-"})
	if err := Execute(t.Context(), root); err != nil {
		t.Fatal(err)
	}
	var req api.AddIdPRequest
	fake.only("POST", "/v0/idps").Decode(t, &req)
	if req.Metadata != "<from-stdin/>" {
		t.Errorf("metadata = %q", req.Metadata)
	}
}

func TestIdPList(t *testing.T) {
	fake := newFakeCasd(t)
	other := api.IdP{Name: "okta", EntityID: "http://www.okta.com/x"}
	fake.reply("GET /v0/idps", http.StatusOK, []api.IdP{testIdP, other})

	r := run(t, fake.socket, "idp", "list")
	wantCode(t, r, ExitOK)
	want := `NAME  ENTITY ID                     CERTS  EXPIRES     APPS
corp  https://idp.example.com/saml  1      2027-01-01  sf
okta  http://www.okta.com/x         0      -           -
`
	if r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}

	r = run(t, fake.socket, "idp", "list", "--json")
	wantCode(t, r, ExitOK)
	var got []api.IdP
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, r.Stdout)
	}
	if len(got) != 2 || got[0].Name != "corp" || got[0].Certs[0].Fingerprint != "ab12" {
		t.Errorf("--json = %+v", got)
	}
	if strings.Count(r.Stdout, "\n") != 1 {
		t.Errorf("--json in a pipe should be one compact line:\n%s", r.Stdout)
	}
}

func TestIdPListEmptyJSONIsArray(t *testing.T) {
	fake := newFakeCasd(t)
	fake.replyText("GET /v0/idps", "null")
	r := run(t, fake.socket, "idp", "list", "--json")
	wantCode(t, r, ExitOK)
	if r.Stdout != "[]\n" {
		t.Errorf("stdout = %q, want []", r.Stdout)
	}
}

func TestIdPShow(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("GET /v0/idps/corp", http.StatusOK, testIdP)
	r := run(t, fake.socket, "idp", "show", "corp")
	wantCode(t, r, ExitOK)
	want := `Name:               corp
Entity ID:          https://idp.example.com/saml
SSO:                https://idp.example.com/sso (HTTP-Redirect)
Email attribute:    (NameID)
Groups attributes:  groups
                    memberOf
Apps:               sf
Created:            2026-11-01T09:00:00Z
Updated:            2026-11-02T09:00:00Z
Certificate 1:      CN=idp.example.com
  Issuer:           CN=idp.example.com
  Serial:           1a
  Valid:            2026-01-01T00:00:00Z to 2027-01-01T00:00:00Z
  SHA-256:          ab12
Warnings:           -
`
	if r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
}

func TestIdPRemove(t *testing.T) {
	fake := newFakeCasd(t)
	fake.mux.HandleFunc("DELETE /v0/idps/{name}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r := run(t, fake.socket, "idp", "rm", "corp")
	wantCode(t, r, ExitOK)
	if r.Stdout != "Removed IdP corp\n" {
		t.Errorf("stdout = %q", r.Stdout)
	}
	fake.only("DELETE", "/v0/idps/corp")
}

func TestIdPAddExpiredHintNotRepeated(t *testing.T) {
	fake := newFakeCasd(t)
	fake.fail("POST /v0/idps", http.StatusUnprocessableEntity, api.CodeExpiredCert, "metadata: certificate expired (use --force to import it anyway)")
	md := filepath.Join(t.TempDir(), "md.xml")
	os.WriteFile(md, []byte("<x/>"), 0o644)
	r := run(t, fake.socket, "idp", "add", "corp", "--metadata", md)
	wantCode(t, r, ExitError)
	if want := "cas: metadata: certificate expired (use --force to import it anyway)\n"; r.Stderr != want {
		t.Errorf("stderr:\n%s", diff(r.Stderr, want))
	}
}
