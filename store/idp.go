package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Endpoint is a SAML service endpoint: a binding URI and a location URL.
type Endpoint struct {
	Binding  string `json:"binding"`
	Location string `json:"location"`
}

// IdP is an identity provider imported from SAML metadata.
type IdP struct {
	Name     string
	EntityID string
	SSO      []Endpoint
	// CertsPEM are the signing certificates, one PEM block each.
	CertsPEM []string
	// EmailAttr names the attribute carrying the user; "" means the NameID.
	EmailAttr string
	// GroupsAttrs name the attributes carrying group memberships.
	GroupsAttrs []string
	// Metadata is the raw XML as imported.
	Metadata  []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// validate checks the fields the store depends on.
func (p *IdP) validate() error {
	if err := validName("idp", p.Name); err != nil {
		return err
	}
	if p.EntityID == "" {
		return Errorf(EINVALID, "idp %q: entity ID is required", p.Name)
	}
	return nil
}

const idpColumns = "name, entity_id, sso, certs, email_attr, groups_attrs, metadata, created_at, updated_at"

// CreateIdP stores a new IdP and sets its timestamps. ECONFLICT if the name is
// taken, EINVALID if the name or entity ID is unusable.
func (db *DB) CreateIdP(ctx context.Context, p *IdP) error {
	if err := p.validate(); err != nil {
		return err
	}
	sso, err := json.Marshal(nonNilEndpoints(p.SSO))
	if err != nil {
		return fmt.Errorf("store: encode idp %q endpoints: %w", p.Name, err)
	}
	now := db.nowUTC()
	err = db.update(ctx, func(tx *sql.Tx) error {
		if err := mustNotExist(ctx, tx, "idps", "idp", p.Name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO idps ("+idpColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			p.Name, p.EntityID, string(sso), jsonList(p.CertsPEM), p.EmailAttr, jsonList(p.GroupsAttrs),
			p.Metadata, unixNano(now), unixNano(now))
		return writeErr(err, "idp", p.Name)
	})
	if err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = now, now
	return nil
}

// UpdateIdP replaces every field of the named IdP but its creation time, and
// sets UpdatedAt. ENOTFOUND if there is no such IdP.
func (db *DB) UpdateIdP(ctx context.Context, p *IdP) error {
	if err := p.validate(); err != nil {
		return err
	}
	sso, err := json.Marshal(nonNilEndpoints(p.SSO))
	if err != nil {
		return fmt.Errorf("store: encode idp %q endpoints: %w", p.Name, err)
	}
	now := db.nowUTC()
	var created int64
	err = db.update(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE idps SET entity_id = ?, sso = ?, certs = ?, email_attr = ?,
			groups_attrs = ?, metadata = ?, updated_at = ? WHERE name = ? RETURNING created_at`,
			p.EntityID, string(sso), jsonList(p.CertsPEM), p.EmailAttr, jsonList(p.GroupsAttrs),
			p.Metadata, unixNano(now), p.Name).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "idp %q not found", p.Name)
		}
		return writeErr(err, "idp", p.Name)
	})
	if err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = fromNano(created), now
	return nil
}

// IdP returns the named IdP, or ENOTFOUND.
func (db *DB) IdP(ctx context.Context, name string) (*IdP, error) {
	p, err := scanIdP(db.reader.QueryRowContext(ctx, "SELECT "+idpColumns+" FROM idps WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "idp %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get idp %q: %w", name, err)
	}
	return p, nil
}

// IdPs returns every IdP, sorted by name.
func (db *DB) IdPs(ctx context.Context) ([]*IdP, error) {
	rows, err := db.reader.QueryContext(ctx, "SELECT "+idpColumns+" FROM idps ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("store: list idps: %w", err)
	}
	defer rows.Close()
	var out []*IdP
	for rows.Next() {
		p, err := scanIdP(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list idps: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list idps: %w", err)
	}
	return out, nil
}

// DeleteIdP removes the named IdP. ENOTFOUND if absent; ECONFLICT, naming the
// apps, while an app still uses it.
func (db *DB) DeleteIdP(ctx context.Context, name string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		if err := mustExist(ctx, tx, "idps", "idp", name); err != nil {
			return err
		}
		apps, err := appsUsingIdP(ctx, tx, name)
		if err != nil {
			return err
		}
		if len(apps) > 0 {
			return Errorf(ECONFLICT, "idp %q is still used by app %s; remove or move those apps first", name, quoteList(apps))
		}
		return deleteByName(ctx, tx, "idps", "idp", name)
	})
}

// appsUsingIdP returns the names of the apps that refer to the IdP.
func appsUsingIdP(ctx context.Context, q querier, idp string) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT name FROM apps WHERE idp = ? ORDER BY name", idp)
	if err != nil {
		return nil, fmt.Errorf("store: apps using idp %q: %w", idp, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("store: apps using idp %q: %w", idp, err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// scanIdP reads one row selected with idpColumns.
func scanIdP(s scanner) (*IdP, error) {
	var (
		p                    IdP
		sso, certs, groups   string
		createdAt, updatedAt int64
	)
	if err := s.Scan(&p.Name, &p.EntityID, &sso, &certs, &p.EmailAttr, &groups, &p.Metadata, &createdAt, &updatedAt); err != nil {
		return nil, err
	}
	if sso != "" && sso != "[]" {
		if err := json.Unmarshal([]byte(sso), &p.SSO); err != nil {
			return nil, fmt.Errorf("decode idp %q endpoints: %w", p.Name, err)
		}
	}
	var err error
	if p.CertsPEM, err = parseList("idp certificates", certs); err != nil {
		return nil, err
	}
	if p.GroupsAttrs, err = parseList("idp group attributes", groups); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromNano(createdAt), fromNano(updatedAt)
	return &p, nil
}

// nonNilEndpoints makes a nil list encode as [] rather than null.
func nonNilEndpoints(e []Endpoint) []Endpoint {
	if e == nil {
		return []Endpoint{}
	}
	return e
}
