package cli

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IOStreams are the standard streams a command reads and writes, with what is
// known about them: whether stdout is a terminal and whether colour is wanted.
// Data goes to Out; progress, hints and warnings to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdoutTTY    bool
	colorEnabled bool
}

// System returns the process's streams. Colour is enabled only when stdout is
// a terminal and NO_COLOR is unset (https://no-color.org: any value, even
// empty, disables it).
func System() *IOStreams {
	tty := isTerminal(os.Stdout)
	return &IOStreams{
		In:           os.Stdin,
		Out:          os.Stdout,
		ErrOut:       os.Stderr,
		stdoutTTY:    tty,
		colorEnabled: colorWanted(tty, os.LookupEnv),
	}
}

// colorWanted reports whether to colour output: only on a terminal, never
// with NO_COLOR set (to anything, even empty) or TERM=dumb.
func colorWanted(tty bool, lookupEnv func(string) (string, bool)) bool {
	if !tty {
		return false
	}
	if _, set := lookupEnv("NO_COLOR"); set {
		return false
	}
	term, _ := lookupEnv("TERM")
	return term != "dumb"
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// Test returns streams backed by buffers, as a pipe would be: not a terminal,
// no colour. It returns the streams and the stdin, stdout and stderr buffers.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// IsStdoutTTY reports whether stdout is a terminal (a person is reading).
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// SetStdoutTTY overrides terminal detection, for tests.
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }

// ColorEnabled reports whether output may carry ANSI colour.
func (s *IOStreams) ColorEnabled() bool { return s.colorEnabled }

// SetColorEnabled overrides colour detection, for tests.
func (s *IOStreams) SetColorEnabled(v bool) { s.colorEnabled = v }
