package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cas-proxy/cas/api"
)

// TestEndStreamBreaksTheExport: when the store fails in the middle of an
// export whose head is sent, the client's export fails (it does not end
// as if whole), keeping what came before, and casd logs why.
func TestEndStreamBreaksTheExport(t *testing.T) {
	logs := newSyncBuffer()
	d := &Daemon{log: slog.New(slog.NewJSONHandler(logs, nil))}
	dir, err := os.MkdirTemp("", "cas-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "casd.sock")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	rows := "{\"id\":1}\n{\"id\":2}\n"
	srv := &http.Server{Handler: d.serve(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(rows))
		http.NewResponseController(w).Flush()
		d.endStream(r, errors.New("disk I/O error"))
		return nil
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	var out bytes.Buffer
	err = api.NewClient(socket).ExportEvents(context.Background(), api.EventQuery{}, &out)
	if err == nil || !strings.Contains(err.Error(), "the export broke off") {
		t.Fatalf("ExportEvents = %v, want the export to have broken off", err)
	}
	if out.String() != rows {
		t.Errorf("wrote %q before the break, want %q", out.String(), rows)
	}
	if !strings.Contains(logs.String(), "disk I/O error") {
		t.Errorf("casd's log does not say why:\n%s", logs.String())
	}
}
