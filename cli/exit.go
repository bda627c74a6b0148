package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

// Exit codes of cas, documented in every man page (EXIT STATUS).
const (
	ExitOK          = 0 // success
	ExitError       = 1 // any other failure, including casd refusing the request
	ExitUsage       = 2 // bad flags or arguments
	ExitUnreachable = 3 // casd is not reachable on its socket, or did not answer in time
)

// FlagError is a usage error: bad flags, bad arguments, a missing or
// conflicting option. It maps to exit code 2.
type FlagError struct {
	Err error
	// Cmd is the command path ("cas idp add") used in the usage hint.
	Cmd string
}

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// flagErrorf returns a usage error.
func flagErrorf(format string, a ...any) error {
	return &FlagError{Err: fmt.Errorf(format, a...)}
}

// ExitCode writes err for a person on w ("cas: <message>") and reports the
// process exit code it maps to. It is the one place where errors become exit
// codes.
func ExitCode(err error, w io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var fe *FlagError
	var ae *api.Error
	switch {
	case api.IsUnreachable(err):
		// The error already reads "casd is not running (socket …): …".
		fmt.Fprintf(w, "cas: %v\n", err)
		fmt.Fprintln(w, "cas: start casd, or point cas at its socket with --socket or CAS_SOCKET")
		return ExitUnreachable
	case api.IsTimeout(err):
		fmt.Fprintf(w, "cas: %v\n", err)
		fmt.Fprintln(w, "cas: casd is overloaded or stuck: see its log, or wait longer with --timeout or CAS_TIMEOUT")
		return ExitUnreachable
	case errors.As(err, &fe):
		fmt.Fprintf(w, "cas: %s\n", sanitizeLines(err.Error()))
		if fe.Cmd != "" {
			fmt.Fprintf(w, "Run '%s --help' for usage.\n", fe.Cmd)
		}
		return ExitUsage
	case errors.As(err, &ae):
		fmt.Fprintf(w, "cas: %s\n", sanitizeLines(ae.Message))
		return ExitError
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "cas: interrupted")
		return ExitError
	default:
		fmt.Fprintf(w, "cas: %s\n", sanitizeLines(err.Error()))
		return ExitError
	}
}

// usageError is the FlagErrorFunc of every command: cobra's flag parsing
// errors become FlagErrors naming the command.
func usageError(cmd *cobra.Command, err error) error {
	return &FlagError{Err: err, Cmd: cmd.CommandPath()}
}

// Argument validators that fail with a FlagError.

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return argError(cmd, "expected %s, got %d argument(s)", names, len(args))
		}
		return nil
	}
}

func minArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return argError(cmd, "expected %s", names)
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return argError(cmd, "unexpected argument %q", args[0])
	}
	return nil
}

// groupArgs refuses an unknown sub-command of a command group.
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, applied only in its own path
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return &FlagError{Err: errors.New(msg), Cmd: cmd.CommandPath()}
}

func argError(cmd *cobra.Command, format string, a ...any) error {
	return &FlagError{Err: fmt.Errorf("%s: "+format, append([]any{cmd.CommandPath()}, a...)...), Cmd: cmd.CommandPath()}
}
