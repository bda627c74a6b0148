package demo_test

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cas-proxy/cas/demo"
	"github.com/cas-proxy/cas/pki"
)

// Example wires the demo IdP and app to each other directly, without a
// proxy between them, behind one host-routing handler. casd --demo does the
// same with its own URLs in between: the IdP gets casd's ACS URL for the
// app, and the app gets casd's SSO URL and replacement certificate.
func Example() {
	now := time.Now
	certPEM, keyPEM, _, err := pki.NewSigningCert("Demo IdP", 2048, 365*24*time.Hour, now())
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	cert, key, err := pki.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	idp, err := demo.NewIdP(demo.IdPConfig{
		BaseURL: "https://idp.demo.localhost:8443",
		Users:   demo.DefaultUsers(func(name string) string { return name + "-password" }),
		Key:     key,
		Cert:    cert,
		Now:     now,
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	app, err := demo.NewApp(demo.AppConfig{Org: "acme", Domain: "demo-salesforce.localhost", Port: 8443, Now: now})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	if err := idp.RegisterApp("demo-salesforce", "Demo Salesforce", app.EntityID(), app.ACSURL()); err != nil {
		fmt.Println("error:", err)
		return
	}
	app.SetIdP(idp.EntityID(), idp.SSOURL(), []*x509.Certificate{idp.Certificate()})

	hosts := map[string]http.Handler{"idp.demo.localhost": idp.Handler()}
	for _, h := range app.Hosts() {
		hosts[h] = app.Handler()
	}
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if h, ok := hosts[strings.ToLower(host)]; ok {
			h.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
	_ = router // serve it over TLS on :8443

	fmt.Println(app.EntityID())
	fmt.Println(app.ACSURL())
	fmt.Println(idp.LoginURL(app.EntityID(), "/lightning/page/home"))
	// Output:
	// https://acme.my.demo-salesforce.localhost:8443
	// https://acme.my.demo-salesforce.localhost:8443?so=00D000000000001
	// https://idp.demo.localhost:8443/idp-initiated?RelayState=%2Flightning%2Fpage%2Fhome&sp=https%3A%2F%2Facme.my.demo-salesforce.localhost%3A8443
}
