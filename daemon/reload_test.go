package daemon

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cas-proxy/cas/store"
)

// TestReloadRetentionPrunes: a reload that shortens events.retention takes
// effect at once (events past the new retention are pruned), not at the
// next restart.
func TestReloadRetentionPrunes(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CAS_STATE_DIR=" + dir, "CAS_SOCKET=" + dir + "/s.sock", "CAS_LISTEN=127.0.0.1:8443"}
	cfg, err := LoadConfig("", false, nil, env)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	d, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.closeStore)
	now := clock.now()
	if _, err := d.db.AppendEvents(ctx, []store.Event{
		{Kind: store.KindSystem, Action: "old", Time: now.Add(-48 * time.Hour)},
		{Kind: store.KindSystem, Action: "old", Time: now.Add(-25 * time.Hour)},
		{Kind: store.KindSystem, Action: "recent", Time: now.Add(-time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	d.reload = func() (*Config, error) {
		return LoadConfig("", false, nil, append(env, "CAS_EVENTS_RETENTION=24h"))
	}
	d.doReload()
	if d.config().Events.Retention != 24*time.Hour {
		t.Fatalf("retention after reload = %v", d.config().Events.Retention)
	}
	// Committed after the writer has handled the new retention.
	if _, err := d.events.AppendSync(ctx, store.Event{Kind: store.KindSystem, Action: "sync"}); err != nil {
		t.Fatal(err)
	}
	evs, err := d.db.Events(ctx, store.EventFilter{Kinds: []string{store.KindSystem}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Action == "old" {
			t.Errorf("event of %v survived the 24h retention", e.Time)
		}
	}
	if len(evs) < 2 || evs[0].Action != "recent" {
		t.Errorf("events after the reload: %+v", evs)
	}
}
