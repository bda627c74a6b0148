package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Policy is a stored policy. The store keeps the policy document opaque (JSON
// owned by the policy package) and indexes the columns it orders and filters
// by.
type Policy struct {
	Name     string
	Kind     string // e.g. access, session
	Action   string // e.g. allow, block, monitor, protect
	Enabled  bool
	LogOnly  bool
	Priority int // lower first
	// Doc is the whole policy as JSON.
	Doc       []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// validate checks the fields the store depends on.
func (p *Policy) validate() error {
	if err := validName("policy", p.Name); err != nil {
		return err
	}
	if p.Kind == "" {
		return Errorf(EINVALID, "policy %q: kind is required", p.Name)
	}
	if p.Action == "" {
		return Errorf(EINVALID, "policy %q: action is required", p.Name)
	}
	if len(p.Doc) > 0 && !json.Valid(p.Doc) {
		return Errorf(EINVALID, "policy %q: document is not valid JSON", p.Name)
	}
	return nil
}

const policyColumns = "name, kind, action, enabled, log_only, priority, doc, created_at, updated_at"

// Policies returns every policy ordered by priority, then name: the order in
// which they are evaluated.
func (db *DB) Policies(ctx context.Context) ([]*Policy, error) {
	rows, err := db.reader.QueryContext(ctx, "SELECT "+policyColumns+" FROM policies ORDER BY priority, name")
	if err != nil {
		return nil, fmt.Errorf("store: list policies: %w", err)
	}
	defer rows.Close()
	var out []*Policy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list policies: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list policies: %w", err)
	}
	return out, nil
}

// Policy returns the named policy, or ENOTFOUND.
func (db *DB) Policy(ctx context.Context, name string) (*Policy, error) {
	p, err := scanPolicy(db.reader.QueryRowContext(ctx, "SELECT "+policyColumns+" FROM policies WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "policy %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get policy %q: %w", name, err)
	}
	return p, nil
}

// CreatePolicy stores a new policy and sets its timestamps. ECONFLICT if the
// name is taken.
func (db *DB) CreatePolicy(ctx context.Context, p *Policy) error {
	if err := p.validate(); err != nil {
		return err
	}
	now := db.nowUTC()
	err := db.update(ctx, func(tx *sql.Tx) error {
		if err := mustNotExist(ctx, tx, "policies", "policy", p.Name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO policies ("+policyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			p.Name, p.Kind, p.Action, boolInt(p.Enabled), boolInt(p.LogOnly), p.Priority, p.Doc, unixNano(now), unixNano(now))
		return writeErr(err, "policy", p.Name)
	})
	if err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = now, now
	return nil
}

// UpdatePolicy replaces the named policy but its creation time. ENOTFOUND if
// absent.
func (db *DB) UpdatePolicy(ctx context.Context, p *Policy) error {
	if err := p.validate(); err != nil {
		return err
	}
	now := db.nowUTC()
	var created int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE policies SET kind = ?, action = ?, enabled = ?, log_only = ?,
			priority = ?, doc = ?, updated_at = ? WHERE name = ? RETURNING created_at`,
			p.Kind, p.Action, boolInt(p.Enabled), boolInt(p.LogOnly), p.Priority, p.Doc, unixNano(now), p.Name).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "policy %q not found", p.Name)
		}
		return writeErr(err, "policy", p.Name)
	})
	if err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = fromNano(created), now
	return nil
}

// DeletePolicy removes the named policy, or returns ENOTFOUND.
func (db *DB) DeletePolicy(ctx context.Context, name string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		return deleteByName(ctx, tx, "policies", "policy", name)
	})
}

// ApplyPolicies creates or replaces each of upserts and deletes each named in
// deletes, in one transaction: either every change is made or none. A name
// in deletes that does not exist is ENOTFOUND; a name in both lists, or twice
// in one, is EINVALID.
func (db *DB) ApplyPolicies(ctx context.Context, upserts []*Policy, deletes []string) error {
	seen := map[string]bool{}
	for _, p := range upserts {
		if err := p.validate(); err != nil {
			return err
		}
		if seen[p.Name] {
			return Errorf(EINVALID, "policy %q appears twice in one change", p.Name)
		}
		seen[p.Name] = true
	}
	for _, n := range deletes {
		if seen[n] {
			return Errorf(EINVALID, "policy %q appears twice in one change", n)
		}
		seen[n] = true
	}
	now := db.nowUTC()
	created := make([]int64, len(upserts))
	err := db.update(ctx, func(tx *sql.Tx) error {
		for _, n := range deletes {
			if err := deleteByName(ctx, tx, "policies", "policy", n); err != nil {
				return err
			}
		}
		for i, p := range upserts {
			err := tx.QueryRowContext(ctx, "INSERT INTO policies ("+policyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, action = excluded.action,
				enabled = excluded.enabled, log_only = excluded.log_only, priority = excluded.priority,
				doc = excluded.doc, updated_at = excluded.updated_at
				RETURNING created_at`,
				p.Name, p.Kind, p.Action, boolInt(p.Enabled), boolInt(p.LogOnly), p.Priority, p.Doc,
				unixNano(now), unixNano(now)).Scan(&created[i])
			if err != nil {
				return writeErr(err, "policy", p.Name)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, p := range upserts {
		p.CreatedAt, p.UpdatedAt = fromNano(created[i]), now
	}
	return nil
}

// scanPolicy reads one row selected with policyColumns.
func scanPolicy(s scanner) (*Policy, error) {
	var (
		p                Policy
		enabled, logOnly int
		created, updated int64
	)
	if err := s.Scan(&p.Name, &p.Kind, &p.Action, &enabled, &logOnly, &p.Priority, &p.Doc, &created, &updated); err != nil {
		return nil, err
	}
	p.Enabled, p.LogOnly = enabled != 0, logOnly != 0
	p.CreatedAt, p.UpdatedAt = fromNano(created), fromNano(updated)
	return &p, nil
}
