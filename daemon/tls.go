package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cas-proxy/cas/device"
	"github.com/cas-proxy/cas/pki"
)

// tlsCAFiles are the internal CA's certificate and key in the state directory.
const (
	tlsCACertFile = "tls-ca.crt"
	tlsCAKeyFile  = "tls-ca.key"
)

// loadOrCreateTLSCA returns the internal CA that issues the proxy's server
// certificates, creating it in the state directory on first start.
func loadOrCreateTLSCA(stateDir string, now time.Time) (*pki.CA, error) {
	certPath, keyPath := filepath.Join(stateDir, tlsCACertFile), filepath.Join(stateDir, tlsCAKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	if certErr == nil && keyErr == nil {
		ca, err := pki.LoadCA(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("internal tls ca %s: %w", certPath, err)
		}
		return ca, nil
	}
	if !errors.Is(certErr, os.ErrNotExist) || !errors.Is(keyErr, os.ErrNotExist) {
		return nil, fmt.Errorf("internal tls ca: %s and %s must both exist or both be absent", certPath, keyPath)
	}
	host, _ := os.Hostname()
	ca, err := pki.NewRootCA("cas local CA ("+host+")", 10*365*24*time.Hour, now)
	if err != nil {
		return nil, fmt.Errorf("create internal tls ca: %w", err)
	}
	if err := os.WriteFile(keyPath, ca.KeyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", keyPath, err)
	}
	if err := os.WriteFile(certPath, ca.CertPEM, 0o644); err != nil {
		os.Remove(keyPath)
		return nil, fmt.Errorf("write %s: %w", certPath, err)
	}
	return ca, nil
}

// hostAllowed reports whether casd serves name: the portal, the device host,
// and names under the suffix.
func (d *Daemon) hostAllowed(name string) bool {
	cfg := d.config()
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	return name == cfg.PortalHost || name == cfg.DeviceHost || strings.HasSuffix(name, "."+cfg.Suffix) || d.isDemoHost(name)
}

// proxyTLSConfig builds the listener's TLS: certificates from the configured
// files or from the internal CA per SNI name, HTTP/2, and on the device host a
// request (not a demand) for a client certificate.
func (d *Daemon) proxyTLSConfig() (*tls.Config, error) {
	cfg := d.config()
	base := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	}
	if cfg.TLS.Cert != "" {
		kp, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("tls: load %s: %w", cfg.TLS.Cert, err)
		}
		base.Certificates = []tls.Certificate{kp}
	} else {
		if d.tlsCA == nil {
			return nil, fmt.Errorf("tls: no certificate configured and no internal CA")
		}
		cache := pki.NewCertCache(d.tlsCA, d.hostAllowed, d.now)
		base.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hello.ServerName == "" {
				// Clients that send no SNI (dialling an IP) get the portal's.
				h := *hello
				h.ServerName = d.config().PortalHost
				return cache.GetCertificate(&h)
			}
			return cache.GetCertificate(hello)
		}
	}
	base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if !strings.EqualFold(strings.TrimSuffix(hello.ServerName, "."), d.config().DeviceHost) {
			return nil, nil
		}
		// The device host requests (never requires) a client certificate,
		// naming the current root CAs so browsers offer a matching one;
		// device.Pool.Verify decides afterwards. Built per handshake so a
		// changed pool takes effect at once. HTTP/1.1 only: the check is
		// one request, and a client certificate belongs to a connection.
		dc := device.TLSConfigFor(d.devices.p.Load)
		dc.Certificates, dc.GetCertificate = base.Certificates, base.GetCertificate
		dc.NextProtos = []string{"http/1.1"}
		return dc, nil
	}
	return base, nil
}

// tlsCA serves the internal CA's certificate, for admins to deploy.
func (d *Daemon) tlsCAHandler(w http.ResponseWriter, r *http.Request) error {
	if d.tlsCA == nil {
		return notFound("casd uses the configured certificate %s, not an internal CA", d.config().TLS.Cert)
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, err := w.Write(d.tlsCA.CertPEM)
	return err
}
