package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

// mustCreateIdP stores a minimal IdP.
func mustCreateIdP(t *testing.T, db *DB, name string) *IdP {
	t.Helper()
	p := &IdP{
		Name:        name,
		EntityID:    "https://idp.example.com/" + name,
		SSO:         []Endpoint{{Binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", Location: "https://idp.example.com/sso"}},
		CertsPEM:    []string{"-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n"},
		GroupsAttrs: []string{"groups", "memberOf"},
		Metadata:    []byte("<EntityDescriptor/>"),
	}
	if err := db.CreateIdP(context.Background(), p); err != nil {
		t.Fatalf("CreateIdP(%s): %v", name, err)
	}
	return p
}

func TestIdPCRUD(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	p := mustCreateIdP(t, db, "corp")
	if !p.CreatedAt.Equal(clock.Now()) || !p.UpdatedAt.Equal(clock.Now()) {
		t.Fatalf("timestamps %v %v, want %v", p.CreatedAt, p.UpdatedAt, clock.Now())
	}
	got, err := db.IdP(ctx, "corp")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("IdP round trip:\n got %+v\nwant %+v", got, p)
	}

	clock.Add(time.Minute)
	p.EmailAttr = "mail"
	p.CertsPEM = p.CertsPEM[:1]
	if err := db.UpdateIdP(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, _ = db.IdP(ctx, "corp")
	if got.EmailAttr != "mail" || len(got.CertsPEM) != 1 || !got.UpdatedAt.Equal(clock.Now()) || got.CreatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("after update: %+v", got)
	}

	mustCreateIdP(t, db, "alpha")
	list, err := db.IdPs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "corp" {
		t.Fatalf("IdPs not sorted by name: %v", names(list, func(p *IdP) string { return p.Name }))
	}

	if err := db.DeleteIdP(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	_, err = db.IdP(ctx, "alpha")
	wantCode(t, err, ENOTFOUND)
}

func TestIdPErrors(t *testing.T) {
	db, _ := newTestDB(t)
	ctx := context.Background()
	mustCreateIdP(t, db, "corp")
	for _, tc := range []struct {
		name string
		err  func() error
		code string
		msg  string
	}{
		{"duplicate", func() error { return db.CreateIdP(ctx, &IdP{Name: "corp", EntityID: "x"}) }, ECONFLICT, `idp "corp" already exists`},
		{"bad name", func() error { return db.CreateIdP(ctx, &IdP{Name: "Corp!", EntityID: "x"}) }, EINVALID, "invalid idp name"},
		{"no entity id", func() error { return db.CreateIdP(ctx, &IdP{Name: "x"}) }, EINVALID, "entity ID"},
		{"update missing", func() error { return db.UpdateIdP(ctx, &IdP{Name: "nope", EntityID: "x"}) }, ENOTFOUND, `idp "nope" not found`},
		{"get missing", func() error { _, err := db.IdP(ctx, "nope"); return err }, ENOTFOUND, `idp "nope" not found`},
		{"delete missing", func() error { return db.DeleteIdP(ctx, "nope") }, ENOTFOUND, `idp "nope" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestDeleteIdPInUse(t *testing.T) {
	db, _ := newTestDB(t)
	ctx := context.Background()
	mustCreateIdP(t, db, "corp")
	if err := db.CreateApp(ctx, &App{Name: "sf", Template: "salesforce", IdP: "corp"}); err != nil {
		t.Fatal(err)
	}
	err := db.DeleteIdP(ctx, "corp")
	wantCode(t, err, ECONFLICT)
	if !strings.Contains(err.Error(), `app "sf"`) {
		t.Fatalf("message %q does not name the app", err)
	}
	// The foreign key holds even without the store's own check.
	_, err = db.writer.ExecContext(ctx, "DELETE FROM idps WHERE name = 'corp'")
	if !isForeignKey(err) {
		t.Fatalf("raw delete: %v, want a foreign key violation", err)
	}
	if err := deleteByName(ctx, db.writer, "idps", "idp", "corp"); ErrorCode(err) != ECONFLICT {
		t.Fatalf("deleteByName: %v, want conflict", err)
	}
	if err := db.DeleteApp(ctx, "sf"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteIdP(ctx, "corp"); err != nil {
		t.Fatalf("delete after app removed: %v", err)
	}
}

func TestCACRUD(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	c := &CA{
		Name: "root", Subject: "CN=Root", Fingerprint: "ab12", CertPEM: "CERT",
		CRLPath: "/etc/cas/root.crl", KeyPEM: "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n",
		NotBefore: clock.Now().Add(-time.Hour), NotAfter: clock.Now().Add(24 * time.Hour),
	}
	if err := db.CreateCA(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := db.CA(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("CA round trip:\n got %+v\nwant %+v", got, c)
	}
	c.CRLPEM = "CRL"
	c.KeyPEM = ""
	if err := db.UpdateCA(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, _ = db.CA(ctx, "root")
	if got.CRLPEM != "CRL" || got.KeyPEM != "" {
		t.Fatalf("after update: %+v", got)
	}
	for _, tc := range []struct {
		name string
		err  error
		code string
	}{
		{"duplicate name", db.CreateCA(ctx, &CA{Name: "root", CertPEM: "C2", Fingerprint: "cd"}), ECONFLICT},
		{"same certificate", db.CreateCA(ctx, &CA{Name: "other", CertPEM: "CERT", Fingerprint: "ab12"}), ECONFLICT},
		{"no certificate", db.CreateCA(ctx, &CA{Name: "x", Fingerprint: "ee"}), EINVALID},
		{"bad name", db.CreateCA(ctx, &CA{Name: "X", CertPEM: "C", Fingerprint: "ff"}), EINVALID},
		{"update missing", db.UpdateCA(ctx, &CA{Name: "nope", CertPEM: "C", Fingerprint: "99"}), ENOTFOUND},
		{"delete missing", db.DeleteCA(ctx, "nope"), ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.err, tc.code) })
	}
	if err := db.CreateCA(ctx, &CA{Name: "second", CertPEM: "C2", Fingerprint: "cd"}); err != nil {
		t.Fatal(err)
	}
	list, err := db.CAs(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "root" || list[1].Name != "second" {
		t.Fatalf("CAs = %v, %v", names(list, func(c *CA) string { return c.Name }), err)
	}
	if err := db.DeleteCA(ctx, "root"); err != nil {
		t.Fatal(err)
	}
	_, err = db.CA(ctx, "root")
	wantCode(t, err, ENOTFOUND)
}

func TestIPTags(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	tag := &IPTag{Name: "corporate", CIDRs: []string{"10.0.0.0/8", "2001:db8::/32"}}
	if err := db.SetIPTag(ctx, tag); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	tag2 := &IPTag{Name: "corporate", CIDRs: []string{"192.168.0.0/16"}}
	if err := db.SetIPTag(ctx, tag2); err != nil {
		t.Fatalf("upsert: %v", err)
	}
	got, err := db.IPTag(ctx, "corporate")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tag2) || !got.UpdatedAt.Equal(clock.Now()) {
		t.Fatalf("IPTag = %+v, want %+v", got, tag2)
	}
	for _, tc := range []struct {
		name string
		tag  IPTag
	}{
		{"bad cidr", IPTag{Name: "x", CIDRs: []string{"10.0.0.0/33"}}},
		{"bare address", IPTag{Name: "x", CIDRs: []string{"10.0.0.1"}}},
		{"garbage", IPTag{Name: "x", CIDRs: []string{"corp"}}},
		{"empty", IPTag{Name: "x"}},
		{"bad name", IPTag{Name: "X", CIDRs: []string{"10.0.0.0/8"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, db.SetIPTag(ctx, &tc.tag), EINVALID)
		})
	}
	if err := db.SetIPTag(ctx, &IPTag{Name: "risky", CIDRs: []string{"203.0.113.0/24"}}); err != nil {
		t.Fatal(err)
	}
	list, err := db.IPTags(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "corporate" {
		t.Fatalf("IPTags = %v, %v", list, err)
	}
	if err := db.DeleteIPTag(ctx, "risky"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteIPTag(ctx, "risky"), ENOTFOUND)
	_, err = db.IPTag(ctx, "risky")
	wantCode(t, err, ENOTFOUND)
}

func TestPolicies(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	for _, p := range []*Policy{
		{Name: "b", Kind: "access", Action: "block", Enabled: true, Priority: 10, Doc: []byte(`{"x":1}`)},
		{Name: "a", Kind: "access", Action: "allow", Enabled: true, LogOnly: true, Priority: 10},
		{Name: "z", Kind: "session", Action: "monitor", Priority: 1},
	} {
		if err := db.CreatePolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	list, err := db.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(list, func(p *Policy) string { return p.Name }); !reflect.DeepEqual(got, []string{"z", "a", "b"}) {
		t.Fatalf("order %v, want z a b", got)
	}
	if !list[1].LogOnly || !list[1].Enabled || list[0].Enabled || string(list[2].Doc) != `{"x":1}` {
		t.Fatalf("fields lost: %+v %+v %+v", list[0], list[1], list[2])
	}
	wantCode(t, db.CreatePolicy(ctx, &Policy{Name: "a", Kind: "access", Action: "allow"}), ECONFLICT)
	wantCode(t, db.CreatePolicy(ctx, &Policy{Name: "n", Kind: "access", Action: "allow", Doc: []byte("{")}), EINVALID)
	wantCode(t, db.CreatePolicy(ctx, &Policy{Name: "n", Action: "allow"}), EINVALID)
	wantCode(t, db.UpdatePolicy(ctx, &Policy{Name: "nope", Kind: "access", Action: "allow"}), ENOTFOUND)
	wantCode(t, db.DeletePolicy(ctx, "nope"), ENOTFOUND)

	clock.Add(time.Minute)
	p, _ := db.Policy(ctx, "a")
	p.Priority = 0
	if err := db.UpdatePolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.CreatedAt.Equal(p.UpdatedAt) {
		t.Fatal("update did not keep CreatedAt")
	}
	_, err = db.Policy(ctx, "nope")
	wantCode(t, err, ENOTFOUND)
	if err := db.DeletePolicy(ctx, "a"); err != nil {
		t.Fatal(err)
	}
}

func TestApplyPoliciesAllOrNothing(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	for _, n := range []string{"keep", "old"} {
		if err := db.CreatePolicy(ctx, &Policy{Name: n, Kind: "access", Action: "allow"}); err != nil {
			t.Fatal(err)
		}
	}
	before := clock.Now()
	clock.Add(time.Minute)
	for _, tc := range []struct {
		name    string
		upserts []*Policy
		deletes []string
		code    string
	}{
		{"delete missing", []*Policy{{Name: "new", Kind: "access", Action: "block"}}, []string{"old", "missing"}, ENOTFOUND},
		{"invalid upsert", []*Policy{{Name: "new", Kind: "access", Action: "block"}, {Name: "BAD", Kind: "a", Action: "b"}}, []string{"old"}, EINVALID},
		{"name twice", []*Policy{{Name: "old", Kind: "access", Action: "block"}}, []string{"old"}, EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, db.ApplyPolicies(ctx, tc.upserts, tc.deletes), tc.code)
			list, _ := db.Policies(ctx)
			if got := names(list, func(p *Policy) string { return p.Name }); !reflect.DeepEqual(got, []string{"keep", "old"}) {
				t.Fatalf("partial change left %v", got)
			}
		})
	}
	up := []*Policy{{Name: "keep", Kind: "access", Action: "block", Priority: 5}, {Name: "new", Kind: "session", Action: "monitor"}}
	if err := db.ApplyPolicies(ctx, up, []string{"old"}); err != nil {
		t.Fatal(err)
	}
	list, _ := db.Policies(ctx)
	if got := names(list, func(p *Policy) string { return p.Name }); !reflect.DeepEqual(got, []string{"new", "keep"}) {
		t.Fatalf("after apply: %v", got)
	}
	if !up[0].CreatedAt.Equal(before) || !up[0].UpdatedAt.Equal(clock.Now()) || !up[1].CreatedAt.Equal(clock.Now()) {
		t.Fatalf("timestamps: keep %v/%v new %v", up[0].CreatedAt, up[0].UpdatedAt, up[1].CreatedAt)
	}
	if list[1].Action != "block" {
		t.Fatalf("upsert did not replace: %+v", list[1])
	}
}

func TestApps(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	mustCreateIdP(t, db, "corp")
	mustCreateIdP(t, db, "other")
	a := &App{
		Name: "sf", Template: "salesforce", IdP: "corp", EntityID: "https://saml.salesforce.com",
		ACSURL: "https://acme.my.salesforce.com/", Domains: []string{"acme.my.salesforce.com"},
		Settings: []byte(`{"notice":true}`),
		Keys: []AppKey{
			{Serial: "02", CertPEM: "CERT2", KeyPEM: "KEY2-secret", Active: true, NotBefore: clock.Now(), NotAfter: clock.Now().AddDate(1, 0, 0)},
			{Serial: "01", CertPEM: "CERT1", KeyPEM: "KEY1-secret", Retired: true},
		},
	}
	if err := db.CreateApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := db.App(ctx, "sf")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("App round trip:\n got %+v\nwant %+v", got, a)
	}

	clock.Add(time.Hour)
	a.IdP = "other"
	a.Keys = append(a.Keys[:1], AppKey{Serial: "03", CertPEM: "CERT3", KeyPEM: "KEY3"})
	if err := db.UpdateApp(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, _ = db.App(ctx, "sf")
	if got.IdP != "other" || len(got.Keys) != 2 || got.Keys[1].Serial != "03" || got.Keys[1].KeyPEM != "KEY3" || !got.Keys[1].CreatedAt.Equal(clock.Now()) {
		t.Fatalf("after update: %+v", got)
	}
	if err := db.CreateApp(ctx, &App{Name: "box", Template: "custom", IdP: "corp"}); err != nil {
		t.Fatal(err)
	}
	list, err := db.Apps(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "box" || list[1].Name != "sf" || len(list[1].Keys) != 2 || len(list[0].Keys) != 0 {
		t.Fatalf("Apps = %+v, %v", list, err)
	}

	for _, tc := range []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"duplicate", db.CreateApp(ctx, &App{Name: "sf", Template: "custom", IdP: "corp"}), ECONFLICT, `app "sf" already exists`},
		{"unknown idp", db.CreateApp(ctx, &App{Name: "x", Template: "custom", IdP: "ghost"}), EINVALID, `idp "ghost" does not exist`},
		{"update unknown idp", db.UpdateApp(ctx, &App{Name: "sf", Template: "custom", IdP: "ghost"}), EINVALID, `idp "ghost"`},
		{"no template", db.CreateApp(ctx, &App{Name: "x", IdP: "corp"}), EINVALID, "template"},
		{"duplicate serial", db.CreateApp(ctx, &App{Name: "x", Template: "custom", IdP: "corp", Keys: []AppKey{{Serial: "1", CertPEM: "c"}, {Serial: "1", CertPEM: "c"}}}), EINVALID, "twice"},
		{"bad settings", db.CreateApp(ctx, &App{Name: "x", Template: "custom", IdP: "corp", Settings: []byte("nope")}), EINVALID, "JSON"},
		{"update missing", db.UpdateApp(ctx, &App{Name: "nope", Template: "custom", IdP: "corp"}), ENOTFOUND, `app "nope" not found`},
		{"delete missing", db.DeleteApp(ctx, "nope"), ENOTFOUND, `app "nope" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.err, tc.code)
			if !strings.Contains(tc.err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", tc.err, tc.msg)
			}
		})
	}
	if _, err := db.App(ctx, "x"); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("a failed create left app x: %v", err)
	}
	// Deleting the app removes its keys (ON DELETE CASCADE).
	if err := db.DeleteApp(ctx, "sf"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.reader.QueryRowContext(ctx, "SELECT count(*) FROM app_keys WHERE app = 'sf'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d keys left after delete (%v)", n, err)
	}
}

// names maps a list to its names.
func names[T any](l []T, name func(T) string) []string {
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = name(x)
	}
	return out
}
