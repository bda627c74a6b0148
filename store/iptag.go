package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// IPTag names a set of networks (`corporate`, `risky`, …) that policies refer
// to.
type IPTag struct {
	Name string
	// CIDRs are IPv4 or IPv6 prefixes such as 10.0.0.0/8 or 2001:db8::/32.
	CIDRs     []string
	UpdatedAt time.Time
}

// validate checks the name and that every CIDR parses.
func (t *IPTag) validate() error {
	if err := validName("ip tag", t.Name); err != nil {
		return err
	}
	if len(t.CIDRs) == 0 {
		return Errorf(EINVALID, "ip tag %q: at least one CIDR is required", t.Name)
	}
	for _, c := range t.CIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			return Errorf(EINVALID, "ip tag %q: invalid CIDR %q (want e.g. 10.0.0.0/8 or 2001:db8::/32)", t.Name, c)
		}
	}
	return nil
}

// SetIPTag creates or replaces the named tag and sets UpdatedAt.
func (db *DB) SetIPTag(ctx context.Context, t *IPTag) error {
	if err := t.validate(); err != nil {
		return err
	}
	now := db.nowUTC()
	err := db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO ip_tags (name, cidrs, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET cidrs = excluded.cidrs, updated_at = excluded.updated_at`,
			t.Name, jsonList(t.CIDRs), unixNano(now))
		return writeErr(err, "ip tag", t.Name)
	})
	if err != nil {
		return err
	}
	t.UpdatedAt = now
	return nil
}

// IPTag returns the named tag, or ENOTFOUND.
func (db *DB) IPTag(ctx context.Context, name string) (*IPTag, error) {
	t, err := scanIPTag(db.reader.QueryRowContext(ctx, "SELECT name, cidrs, updated_at FROM ip_tags WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "ip tag %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get ip tag %q: %w", name, err)
	}
	return t, nil
}

// IPTags returns every tag, sorted by name.
func (db *DB) IPTags(ctx context.Context) ([]*IPTag, error) {
	rows, err := db.reader.QueryContext(ctx, "SELECT name, cidrs, updated_at FROM ip_tags ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("store: list ip tags: %w", err)
	}
	defer rows.Close()
	var out []*IPTag
	for rows.Next() {
		t, err := scanIPTag(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list ip tags: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list ip tags: %w", err)
	}
	return out, nil
}

// DeleteIPTag removes the named tag, or returns ENOTFOUND.
func (db *DB) DeleteIPTag(ctx context.Context, name string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		return deleteByName(ctx, tx, "ip_tags", "ip tag", name)
	})
}

// scanIPTag reads one ip_tags row.
func scanIPTag(s scanner) (*IPTag, error) {
	var (
		t       IPTag
		cidrs   string
		updated int64
	)
	if err := s.Scan(&t.Name, &cidrs, &updated); err != nil {
		return nil, err
	}
	var err error
	if t.CIDRs, err = parseList("ip tag cidrs", cidrs); err != nil {
		return nil, err
	}
	t.UpdatedAt = fromNano(updated)
	return &t, nil
}
