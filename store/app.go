package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AppKey is one of an app's replacement signing keys with its certificate.
// Rotation adds a key; the old one stays usable until it is retired.
type AppKey struct {
	Serial  string
	CertPEM string
	// KeyPEM is the private key: sealed at rest, plaintext here.
	KeyPEM    string
	NotBefore time.Time
	NotAfter  time.Time
	// Active marks the key that signs new responses.
	Active bool
	// Retired keys are kept for the record but no longer used.
	Retired   bool
	CreatedAt time.Time
}

// App is a SaaS application behind the proxy.
type App struct {
	Name     string
	Template string // catalog template, e.g. salesforce or custom
	IdP      string // name of the IdP; must exist
	EntityID string // the app's SAML entity ID (audience)
	ACSURL   string // the app's real assertion consumer service URL
	Domains  []string
	// Settings is app configuration as JSON, opaque to the store.
	Settings  []byte
	Keys      []AppKey
	CreatedAt time.Time
	UpdatedAt time.Time
}

// validate checks the fields the store depends on.
func (a *App) validate() error {
	if err := validName("app", a.Name); err != nil {
		return err
	}
	if a.Template == "" {
		return Errorf(EINVALID, "app %q: template is required", a.Name)
	}
	if err := validName("idp", a.IdP); err != nil {
		return Errorf(EINVALID, "app %q: %v", a.Name, err)
	}
	if len(a.Settings) > 0 && !json.Valid(a.Settings) {
		return Errorf(EINVALID, "app %q: settings are not valid JSON", a.Name)
	}
	serials := map[string]bool{}
	for _, k := range a.Keys {
		if k.Serial == "" {
			return Errorf(EINVALID, "app %q: a key has no serial", a.Name)
		}
		if serials[k.Serial] {
			return Errorf(EINVALID, "app %q: key serial %q appears twice", a.Name, k.Serial)
		}
		serials[k.Serial] = true
		if k.CertPEM == "" {
			return Errorf(EINVALID, "app %q: key %q has no certificate", a.Name, k.Serial)
		}
	}
	return nil
}

const appColumns = "name, template, idp, entity_id, acs_url, domains, settings, created_at, updated_at"
const appKeyColumns = "app, serial, cert_pem, key_sealed, not_before, not_after, active, retired, created_at"

// appKeyAAD binds an app key's sealed private key to its row.
func appKeyAAD(app, serial string) string { return "app_key/" + app + "/" + serial }

// CreateApp stores a new app with its keys and sets the timestamps (and each
// key's CreatedAt when unset). ECONFLICT if the name is taken; EINVALID if
// its IdP does not exist.
func (db *DB) CreateApp(ctx context.Context, a *App) error {
	if err := a.validate(); err != nil {
		return err
	}
	now := db.nowUTC()
	err := db.update(ctx, func(tx *sql.Tx) error {
		if err := mustNotExist(ctx, tx, "apps", "app", a.Name); err != nil {
			return err
		}
		if err := idpExists(ctx, tx, a); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO apps ("+appColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			a.Name, a.Template, a.IdP, a.EntityID, a.ACSURL, jsonList(a.Domains), a.Settings, unixNano(now), unixNano(now))
		if err := writeErr(err, "app", a.Name); err != nil {
			return err
		}
		return db.insertAppKeys(ctx, tx, a, now)
	})
	if err != nil {
		return err
	}
	a.CreatedAt, a.UpdatedAt = now, now
	return nil
}

// UpdateApp replaces the named app, keys included, but its creation time.
// ENOTFOUND if absent; EINVALID if its IdP does not exist.
func (db *DB) UpdateApp(ctx context.Context, a *App) error {
	if err := a.validate(); err != nil {
		return err
	}
	now := db.nowUTC()
	var created int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "apps", "app", a.Name); err != nil {
			return err
		}
		if err := idpExists(ctx, tx, a); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `UPDATE apps SET template = ?, idp = ?, entity_id = ?, acs_url = ?,
			domains = ?, settings = ?, updated_at = ? WHERE name = ? RETURNING created_at`,
			a.Template, a.IdP, a.EntityID, a.ACSURL, jsonList(a.Domains), a.Settings, unixNano(now), a.Name).Scan(&created)
		if err := writeErr(err, "app", a.Name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM app_keys WHERE app = ?", a.Name); err != nil {
			return fmt.Errorf("store: replace keys of app %q: %w", a.Name, err)
		}
		return db.insertAppKeys(ctx, tx, a, now)
	})
	if err != nil {
		return err
	}
	a.CreatedAt, a.UpdatedAt = fromNano(created), now
	return nil
}

// idpExists returns EINVALID naming the IdP when the app refers to none.
func idpExists(ctx context.Context, tx *sql.Tx, a *App) error {
	ok, err := exists(ctx, tx, "idps", a.IdP)
	if err != nil {
		return err
	}
	if !ok {
		return Errorf(EINVALID, "app %q: idp %q does not exist", a.Name, a.IdP)
	}
	return nil
}

// insertAppKeys seals and inserts the app's keys in their order.
func (db *DB) insertAppKeys(ctx context.Context, tx *sql.Tx, a *App, now time.Time) error {
	for i := range a.Keys {
		k := &a.Keys[i]
		if k.CreatedAt.IsZero() {
			k.CreatedAt = now
		}
		sealed, err := db.seal(appKeyAAD(a.Name, k.Serial), k.KeyPEM)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO app_keys ("+appKeyColumns+", position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			a.Name, k.Serial, k.CertPEM, sealed, unixNano(k.NotBefore), unixNano(k.NotAfter),
			boolInt(k.Active), boolInt(k.Retired), unixNano(k.CreatedAt), i)
		if err != nil {
			return writeErr(err, "app key", a.Name+"/"+k.Serial)
		}
	}
	return nil
}

// App returns the named app with its keys unsealed, or ENOTFOUND.
func (db *DB) App(ctx context.Context, name string) (*App, error) {
	var a *App
	err := db.view(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanApp(tx.QueryRowContext(ctx, "SELECT "+appColumns+" FROM apps WHERE name = ?", name))
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "app %q not found", name)
		}
		if err != nil {
			return fmt.Errorf("store: get app %q: %w", name, err)
		}
		return db.loadAppKeys(ctx, tx, map[string]*App{name: a}, "WHERE app = ?", name)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Apps returns every app with its keys, sorted by name.
func (db *DB) Apps(ctx context.Context) ([]*App, error) {
	var out []*App
	err := db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT "+appColumns+" FROM apps ORDER BY name")
		if err != nil {
			return fmt.Errorf("store: list apps: %w", err)
		}
		defer rows.Close()
		byName := map[string]*App{}
		for rows.Next() {
			a, err := scanApp(rows)
			if err != nil {
				return fmt.Errorf("store: list apps: %w", err)
			}
			out = append(out, a)
			byName[a.Name] = a
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: list apps: %w", err)
		}
		return db.loadAppKeys(ctx, tx, byName, "")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteApp removes the named app and its keys, or returns ENOTFOUND.
func (db *DB) DeleteApp(ctx context.Context, name string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		return deleteByName(ctx, tx, "apps", "app", name)
	})
}

// loadAppKeys appends the selected keys to their apps, in stored order.
func (db *DB) loadAppKeys(ctx context.Context, tx *sql.Tx, apps map[string]*App, where string, args ...any) error {
	rows, err := tx.QueryContext(ctx, "SELECT "+appKeyColumns+" FROM app_keys "+where+" ORDER BY app, position", args...)
	if err != nil {
		return fmt.Errorf("store: load app keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			app             string
			sealed          []byte
			k               AppKey
			nb, na, created int64
			active, retired int
		)
		if err := rows.Scan(&app, &k.Serial, &k.CertPEM, &sealed, &nb, &na, &active, &retired, &created); err != nil {
			return fmt.Errorf("store: load app keys: %w", err)
		}
		if k.KeyPEM, err = db.unseal(appKeyAAD(app, k.Serial), sealed); err != nil {
			return err
		}
		k.NotBefore, k.NotAfter, k.CreatedAt = fromNano(nb), fromNano(na), fromNano(created)
		k.Active, k.Retired = active != 0, retired != 0
		if a := apps[app]; a != nil {
			a.Keys = append(a.Keys, k)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: load app keys: %w", err)
	}
	return nil
}

// scanApp reads one row selected with appColumns.
func scanApp(s scanner) (*App, error) {
	var (
		a                App
		domains          string
		created, updated int64
	)
	if err := s.Scan(&a.Name, &a.Template, &a.IdP, &a.EntityID, &a.ACSURL, &domains, &a.Settings, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if a.Domains, err = parseList("app domains", domains); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = fromNano(created), fromNano(updated)
	return &a, nil
}
