package cli

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cas-proxy/cas/api"
)

// Factory holds the dependencies commands share, built lazily: nothing dials
// casd until a command asks for the client, so `cas version`, `cas
// completion` and --help work without a daemon.
type Factory struct {
	IOStreams *IOStreams
	// Getenv reads the environment (os.Getenv; tests inject their own).
	Getenv func(string) string
	// Now is the clock used for relative times such as --since 1h.
	Now func() time.Time
	// Socket is the value of --socket; empty means CAS_SOCKET or the default.
	Socket string
	// Timeout is the value of --timeout; empty means CAS_TIMEOUT or
	// api.DefaultTimeout.
	Timeout string

	once      sync.Once
	client    *api.Client
	clientErr error
}

// NewFactory returns a Factory over the given streams, reading the process
// environment and the real clock.
func NewFactory(ios *IOStreams) *Factory {
	return &Factory{IOStreams: ios, Getenv: os.Getenv, Now: time.Now}
}

// SocketPath reports the socket cas dials: --socket, else CAS_SOCKET, else
// api.DefaultSocketPath.
func (f *Factory) SocketPath() string {
	if f.Socket != "" {
		return f.Socket
	}
	if s := f.Getenv("CAS_SOCKET"); s != "" {
		return s
	}
	return api.DefaultSocketPath()
}

// Client returns the API client, creating it on first use. Creating it does
// not dial; the first request does, and fails with an api.UnreachableError
// when casd is not there, or an api.TimeoutError when it does not answer
// within the timeout (--timeout, else CAS_TIMEOUT, else
// api.DefaultTimeout; 0 waits as long as it takes).
func (f *Factory) Client() (*api.Client, error) {
	f.once.Do(func() {
		var timeout time.Duration
		if timeout, f.clientErr = f.timeout(); f.clientErr != nil {
			return
		}
		f.client = api.NewClient(f.SocketPath())
		f.client.SetTimeout(timeout)
		errOut := f.IOStreams.ErrOut
		f.client.OnVersionMismatch = func(daemon, client string) {
			fmt.Fprintf(errOut, "cas: warning: casd is version %s, cas is version %s\n", daemon, client)
		}
	})
	return f.client, f.clientErr
}

func (f *Factory) timeout() (time.Duration, error) {
	v, from := f.Timeout, "--timeout"
	if v == "" {
		v, from = f.Getenv("CAS_TIMEOUT"), "CAS_TIMEOUT"
	}
	if v == "" {
		return api.DefaultTimeout, nil
	}
	d, err := time.ParseDuration(v) // "0" included
	if err != nil || d < 0 {
		err := fmt.Errorf("invalid %s %q: want a duration such as 30s or 2m, or 0 to wait as long as it takes", from, v)
		if from == "--timeout" {
			return 0, &FlagError{Err: err}
		}
		return 0, err
	}
	return d, nil
}
