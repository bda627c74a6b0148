// Package daemon wires casd together: configuration, the SQLite store, the
// event writer, the local API on a Unix socket, the proxy's HTTPS listener,
// graceful shutdown and configuration reload.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/pki"
	"github.com/cas-proxy/cas/session"
	"github.com/cas-proxy/cas/store"
)

// Options are what the caller of New supplies besides the configuration.
type Options struct {
	// Logger receives casd's logs; its level is set from the configuration
	// through Level.
	Logger *slog.Logger
	Level  *slog.LevelVar
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Reload re-reads the configuration on SIGHUP; nil disables reload.
	Reload func() (*Config, error)
	// Ready, if set, is called once every listener accepts connections.
	Ready func()
	// Demo serves the built-in demo IdP and app (casd --demo); OnDemo is
	// told what to show the person who started it.
	Demo   bool
	OnDemo func(*DemoInfo)
}

// Daemon is a running casd.
type Daemon struct {
	cfg     atomic.Pointer[Config]
	log     *slog.Logger
	level   *slog.LevelVar
	now     func() time.Time
	reload  func() (*Config, error)
	ready   func()
	started time.Time

	db     *store.DB
	events *store.EventWriter
	auth   *authorizer

	// policies is the compiled policy set, swapped atomically on change.
	policies atomic.Pointer[policySet]
	// writeMu serialises API changes that read, validate and then write, so
	// that validation sees what the write will change.
	writeMu sync.Mutex

	// apps is the per-app runtime (parsed keys, certificates, patterns),
	// rebuilt when apps or IdPs change.
	apps atomic.Pointer[appTable]
	geo  geoIP
	// devices is the pool of root CAs managed devices chain to; crlWatch
	// notices CRL files changing.
	devices  devicePool
	crlWatch crlWatcher
	// tlsCA is the internal CA issuing the proxy's certificates; nil when
	// tls.cert is configured.
	tlsCA     *pki.CA
	proxyAddr *net.TCPAddr
	// Session control: the host mapping and the proxy built from the apps,
	// rebuilt when they change; upstream reaches the apps.
	mapper       atomic.Pointer[session.Mapper]
	sessionProxy atomic.Pointer[session.Proxy]
	sessions     sessionCache
	jars         sessionJars
	upstream     http.RoundTripper

	// demo is the demo IdP and app (casd --demo).
	demoMode bool
	onDemo   func(*DemoInfo)
	demo     atomic.Pointer[demoRig]

	mu        sync.Mutex
	listeners []api.Listener
}

// New opens the state directory and the store, and compiles the policies.
// It does not listen yet; Run does.
func New(ctx context.Context, cfg *Config, opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Level == nil {
		opts.Level = new(slog.LevelVar)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Daemon{
		log:      opts.Logger,
		level:    opts.Level,
		now:      opts.Now,
		reload:   opts.Reload,
		ready:    opts.Ready,
		started:  opts.Now(),
		demoMode: opts.Demo,
		onDemo:   opts.OnDemo,
	}
	d.cfg.Store(cfg)
	d.level.Set(parseLevel(cfg.LogLevel))

	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	key, err := store.LoadOrCreateSealKey(filepath.Join(cfg.StateDir, "seal.key"))
	if err != nil {
		return nil, err
	}
	auth, err := newAuthorizer(cfg.AdminGroup)
	if err != nil {
		return nil, err
	}
	d.auth = auth
	db, err := store.Open(ctx, d.dbPath(), store.Options{Now: d.now, SealKey: key, Logger: d.log})
	if err != nil {
		return nil, err
	}
	d.db = db
	if cfg.TLS.Cert == "" {
		if d.tlsCA, err = loadOrCreateTLSCA(cfg.StateDir, d.now()); err != nil {
			db.Close()
			return nil, err
		}
	}
	d.upstream = d.newUpstream()
	d.events = store.NewEventWriter(db, store.EventWriterOptions{
		Retention:  cfg.Events.Retention,
		PruneEvery: time.Hour,
	})
	if err := d.reloadApps(ctx); err != nil {
		d.events.Close(ctx)
		db.Close()
		return nil, err
	}
	d.reloadDevicePool(ctx)
	if err := d.recompile(ctx); err != nil {
		d.events.Close(ctx)
		db.Close()
		return nil, err
	}
	return d, nil
}

func (d *Daemon) dbPath() string { return filepath.Join(d.config().StateDir, "cas.db") }

// config returns the configuration in force.
func (d *Daemon) config() *Config { return d.cfg.Load() }

func parseLevel(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}

// Run serves until ctx ends or SIGINT/SIGTERM arrives, then shuts down:
// stop accepting, finish requests in flight (bounded), flush the event
// writer, close the store. SIGHUP reloads the configuration.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := d.config()

	gid := -1
	if cfg.AdminGroup != "" {
		gid = d.auth.adminGID
	}
	sock, err := ListenSocket(cfg.Socket, gid)
	if err != nil {
		d.closeStore()
		return err
	}
	apiSrv := &http.Server{
		Handler:           d.apiHandler(),
		ConnContext:       connContext,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
	d.addListener("api", "unix:"+cfg.Socket)

	servers := []server{apiSrv}
	errc := make(chan error, 4)
	go func() { errc <- serveErr("local api", apiSrv.Serve(sock)) }()

	proxy, err := d.startProxy(ctx, errc)
	if err != nil {
		apiSrv.Close()
		d.closeStore()
		return err
	}
	if proxy != nil {
		servers = append(servers, proxy)
	}

	if d.demoMode {
		info, err := d.setupDemo(ctx)
		if err != nil {
			for _, s := range servers {
				s.Close()
			}
			d.closeStore()
			return fmt.Errorf("demo: %w", err)
		}
		if d.onDemo != nil {
			d.onDemo(info)
		}
	}
	go d.watchCRLs(ctx)
	d.log.Info("casd started", "version", api.Version, "socket", cfg.Socket, "state_dir", cfg.StateDir, "listen", cfg.Listen, "pid", os.Getpid())
	d.systemEvent("start", fmt.Sprintf("casd %s started", api.Version))
	if d.ready != nil {
		d.ready()
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			d.doReload()
		case err := <-errc:
			if err != nil {
				runErr = err
				break loop
			}
		}
	}
	d.log.Info("casd stopping")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Shutdown(shutCtx); err != nil {
				s.Close()
			}
		}()
	}
	wg.Wait()
	d.systemEvent("stop", "casd stopped")
	d.closeStore()
	d.geo.close()
	d.log.Info("casd stopped")
	return runErr
}

func serveErr(what string, err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) || isClosedConn(err) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (d *Daemon) closeStore() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.events.Close(ctx); err != nil {
		d.log.Error("flush events", "err", err)
	}
	if err := d.db.Close(); err != nil {
		d.log.Error("close store", "err", err)
	}
}

func (d *Daemon) addListener(name, addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.listeners = append(d.listeners, api.Listener{Name: name, Addr: addr})
}

// systemEvent records a system event without waiting for it.
func (d *Daemon) systemEvent(action, reason string) {
	d.events.Append(store.Event{Time: d.now(), Kind: "system", Action: action, Reason: reason})
}

// doReload re-reads the configuration. An invalid one is logged and the old
// one kept. Settings that need a restart (listeners, state, socket) are
// reported as such.
func (d *Daemon) doReload() {
	if d.reload == nil {
		d.log.Warn("reload: casd was started without a configuration source to reload")
		return
	}
	n, err := d.reload()
	if err != nil {
		d.log.Error("reload: keeping the current configuration", "err", err)
		d.systemEvent("reload", "invalid configuration kept out: "+err.Error())
		return
	}
	old := d.config()
	changed := old.diff(n)
	if len(changed) == 0 {
		d.log.Info("reload: configuration unchanged")
		return
	}
	var restart []string
	for _, k := range changed {
		switch k {
		case "state_dir", "socket", "listen", "admin_group", "portal_host", "device_host", "suffix", "host_mapping", "tls.cert", "tls.key", "session.upstream_http2":
			restart = append(restart, k)
		}
	}
	// Keep the settings that only take effect at start as they are running.
	n.StateDir, n.Socket, n.Listen, n.AdminGroup = old.StateDir, old.Socket, old.Listen, old.AdminGroup
	n.PortalHost, n.DeviceHost, n.Suffix, n.HostMapping, n.TLS = old.PortalHost, old.DeviceHost, old.Suffix, old.HostMapping, old.TLS
	d.cfg.Store(n)
	d.level.Set(parseLevel(n.LogLevel))
	if err := d.recompile(context.Background()); err != nil {
		d.log.Error("reload: recompile policies", "err", err)
	}
	d.rebuildMapper() // session settings (inspection bound, X-Forwarded-For)
	if n.Events.Retention != old.Events.Retention {
		d.events.SetRetention(n.Events.Retention) // a shorter one prunes now
	}
	d.log.Info("reload: configuration changed", "changed", changed, "need_restart", restart)
	d.systemEvent("reload", fmt.Sprintf("changed: %v; need restart: %v", changed, restart))
}

// listenTCP is net.Listen with a clearer error.
func listenTCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}
