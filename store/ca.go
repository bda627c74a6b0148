package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CA is a root certificate authority that managed devices' client
// certificates chain to.
type CA struct {
	Name    string
	Subject string
	// Fingerprint is the lower-case hex SHA-256 of the certificate's DER.
	Fingerprint string
	CertPEM     string
	// CRLPEM is an optional certificate revocation list.
	CRLPEM string
	// CRLPath is an optional CRL file that the daemon reloads when it changes.
	CRLPath string
	// KeyPEM is the CA's private key, present only for CAs created by
	// `cas ca create`. It is sealed at rest and plaintext here.
	KeyPEM    string
	NotBefore time.Time
	NotAfter  time.Time
	CreatedAt time.Time
}

// validate checks the fields the store depends on.
func (c *CA) validate() error {
	if err := validName("ca", c.Name); err != nil {
		return err
	}
	if c.CertPEM == "" {
		return Errorf(EINVALID, "ca %q: certificate is required", c.Name)
	}
	if c.Fingerprint == "" {
		return Errorf(EINVALID, "ca %q: fingerprint is required", c.Name)
	}
	return nil
}

const caColumns = "name, subject, fingerprint, cert_pem, crl_pem, crl_path, key_sealed, not_before, not_after, created_at"

// caAAD binds a CA's sealed key to its row.
func caAAD(name string) string { return "ca/" + name }

// CreateCA stores a new CA and sets CreatedAt. ECONFLICT if the name is taken
// or the same certificate is already stored under another name.
func (db *DB) CreateCA(ctx context.Context, c *CA) error {
	if err := c.validate(); err != nil {
		return err
	}
	key, err := db.seal(caAAD(c.Name), c.KeyPEM)
	if err != nil {
		return err
	}
	now := db.nowUTC()
	err = db.update(ctx, func(tx *sql.Tx) error {
		if err := mustNotExist(ctx, tx, "cas", "ca", c.Name); err != nil {
			return err
		}
		if err := fingerprintFree(ctx, tx, c); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO cas ("+caColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			c.Name, c.Subject, c.Fingerprint, c.CertPEM, c.CRLPEM, c.CRLPath, key,
			unixNano(c.NotBefore), unixNano(c.NotAfter), unixNano(now))
		return writeErr(err, "ca", c.Name)
	})
	if err != nil {
		return err
	}
	c.CreatedAt = now
	return nil
}

// UpdateCA replaces every field of the named CA but its creation time
// (including the key: an empty KeyPEM removes it). ENOTFOUND if absent.
func (db *DB) UpdateCA(ctx context.Context, c *CA) error {
	if err := c.validate(); err != nil {
		return err
	}
	key, err := db.seal(caAAD(c.Name), c.KeyPEM)
	if err != nil {
		return err
	}
	var created int64
	err = db.update(ctx, func(tx *sql.Tx) error {
		if err := fingerprintFree(ctx, tx, c); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `UPDATE cas SET subject = ?, fingerprint = ?, cert_pem = ?, crl_pem = ?,
			crl_path = ?, key_sealed = ?, not_before = ?, not_after = ? WHERE name = ? RETURNING created_at`,
			c.Subject, c.Fingerprint, c.CertPEM, c.CRLPEM, c.CRLPath, key,
			unixNano(c.NotBefore), unixNano(c.NotAfter), c.Name).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "ca %q not found", c.Name)
		}
		return writeErr(err, "ca", c.Name)
	})
	if err != nil {
		return err
	}
	c.CreatedAt = fromNano(created)
	return nil
}

// fingerprintFree returns ECONFLICT when another CA holds the same certificate.
func fingerprintFree(ctx context.Context, tx *sql.Tx, c *CA) error {
	var other string
	err := tx.QueryRowContext(ctx, "SELECT name FROM cas WHERE fingerprint = ? AND name <> ?", c.Fingerprint, c.Name).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("store: look up ca fingerprint: %w", err)
	default:
		return Errorf(ECONFLICT, "ca %q: the same certificate is already stored as ca %q", c.Name, other)
	}
}

// CA returns the named CA with its private key unsealed, or ENOTFOUND.
func (db *DB) CA(ctx context.Context, name string) (*CA, error) {
	c, err := db.scanCA(db.reader.QueryRowContext(ctx, "SELECT "+caColumns+" FROM cas WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "ca %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get ca %q: %w", name, err)
	}
	return c, nil
}

// CAs returns every CA, sorted by name.
func (db *DB) CAs(ctx context.Context) ([]*CA, error) {
	rows, err := db.reader.QueryContext(ctx, "SELECT "+caColumns+" FROM cas ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("store: list cas: %w", err)
	}
	defer rows.Close()
	var out []*CA
	for rows.Next() {
		c, err := db.scanCA(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list cas: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list cas: %w", err)
	}
	return out, nil
}

// DeleteCA removes the named CA, or returns ENOTFOUND.
func (db *DB) DeleteCA(ctx context.Context, name string) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		return deleteByName(ctx, tx, "cas", "ca", name)
	})
}

// scanCA reads one row selected with caColumns and unseals its key.
func (db *DB) scanCA(s scanner) (*CA, error) {
	var (
		c                 CA
		key               []byte
		nb, na, createdAt int64
	)
	if err := s.Scan(&c.Name, &c.Subject, &c.Fingerprint, &c.CertPEM, &c.CRLPEM, &c.CRLPath, &key, &nb, &na, &createdAt); err != nil {
		return nil, err
	}
	var err error
	if c.KeyPEM, err = db.unseal(caAAD(c.Name), key); err != nil {
		return nil, err
	}
	c.NotBefore, c.NotAfter, c.CreatedAt = fromNano(nb), fromNano(na), fromNano(createdAt)
	return &c, nil
}
