package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// querier is what *sql.Tx and *sql.DB have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// jsonList encodes a string list as JSON text; nil becomes "[]".
func jsonList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// parseList decodes what jsonList encoded.
func parseList(what, s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("store: decode %s: %w", what, err)
	}
	return l, nil
}

// exists reports whether table has a row whose name column equals name.
func exists(ctx context.Context, q querier, table, name string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE name = ?", name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: look up %s %q: %w", table, name, err)
	}
	return true, nil
}

// mustExist returns ENOTFOUND ("idp \"corp\" not found") when the row is absent.
func mustExist(ctx context.Context, q querier, table, what, name string) error {
	ok, err := exists(ctx, q, table, name)
	if err != nil {
		return err
	}
	if !ok {
		return Errorf(ENOTFOUND, "%s %q not found", what, name)
	}
	return nil
}

// mustNotExist returns ECONFLICT ("idp \"corp\" already exists") when the row
// is present.
func mustNotExist(ctx context.Context, q querier, table, what, name string) error {
	ok, err := exists(ctx, q, table, name)
	if err != nil {
		return err
	}
	if ok {
		return Errorf(ECONFLICT, "%s %q already exists", what, name)
	}
	return nil
}

// deleteByName deletes the named row, ENOTFOUND when there was none.
func deleteByName(ctx context.Context, q querier, table, what, name string) error {
	res, err := q.ExecContext(ctx, "DELETE FROM "+table+" WHERE name = ?", name)
	if isForeignKey(err) {
		return Errorf(ECONFLICT, "%s %q is still in use", what, name)
	}
	if err != nil {
		return fmt.Errorf("store: delete %s %q: %w", what, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Errorf(ENOTFOUND, "%s %q not found", what, name)
	}
	return nil
}

// writeErr maps a constraint violation from an insert or update to a coded
// error, and wraps anything else.
func writeErr(err error, what, name string) error {
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return Errorf(ECONFLICT, "%s %q conflicts with an existing one: %v", what, name, err)
	case isForeignKey(err):
		return Errorf(EINVALID, "%s %q refers to something that does not exist", what, name)
	default:
		return fmt.Errorf("store: write %s %q: %w", what, name, err)
	}
}

// quoteList renders names for messages: "a", "b" and 3 more.
func quoteList(names []string) string {
	const show = 3
	q := make([]string, 0, show)
	for i, n := range names {
		if i == show {
			break
		}
		q = append(q, fmt.Sprintf("%q", n))
	}
	s := strings.Join(q, ", ")
	if len(names) > show {
		s += fmt.Sprintf(" and %d more", len(names)-show)
	}
	return s
}
