package store

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Error codes carried by *Error. The local API maps them to HTTP statuses and
// the CLI to messages and exit codes.
const (
	ENOTFOUND = "not_found" // the named thing does not exist
	ECONFLICT = "conflict"  // a name is taken, or something still refers to it
	EINVALID  = "invalid"   // the input is unacceptable
	EINTERNAL = "internal"  // anything else: a bug or an I/O failure
)

// Error is a domain error with a code from the E* constants and a message fit
// to show to an administrator.
type Error struct {
	Code    string
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain: "" for nil, and
// EINTERNAL for any error that carries no code.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// nameRE is the shape of every name an administrator gives: IdPs, CAs, apps,
// policies and IP tags. It keeps names safe in URLs, file names and hosts.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// validName returns an EINVALID error naming the field when name is unusable.
func validName(field, name string) error {
	if !nameRE.MatchString(name) {
		return Errorf(EINVALID, "invalid %s name %q: use 1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", field, name)
	}
	return nil
}

// sqliteCode returns the extended result code of a SQLite error, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports whether err is a FOREIGN KEY violation. SQLite
// reports an ON DELETE RESTRICT violation as a trigger constraint.
func isForeignKey(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return true
	case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
		return strings.Contains(err.Error(), "FOREIGN KEY")
	}
	return false
}
