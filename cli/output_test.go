package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cas-proxy/cas/api"
)

func TestColorWanted(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	tests := []struct {
		name string
		tty  bool
		env  func(string) (string, bool)
		want bool
	}{
		{"terminal", true, env("TERM", "xterm-256color"), true},
		{"pipe", false, env("TERM", "xterm-256color"), false},
		{"NO_COLOR", true, env("TERM", "xterm", "NO_COLOR", "1"), false},
		{"NO_COLOR empty", true, env("NO_COLOR", ""), false},
		{"dumb terminal", true, env("TERM", "dumb"), false},
	}
	for _, tt := range tests {
		if got := colorWanted(tt.tty, tt.env); got != tt.want {
			t.Errorf("%s: colorWanted = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// eventsAndPolicies serves data whose text output uses colour on a terminal.
func colourFake(t *testing.T) *fakeCasd {
	fake := newFakeCasd(t)
	serveEvents(fake, testEvents)
	fake.reply("GET /v0/idps", http.StatusOK, []api.IdP{testIdP})
	fake.reply("GET /v0/policies", http.StatusOK, []api.PolicyInfo{testPolicy})
	fake.reply("GET /v0/idps/corp", http.StatusOK, testIdP)
	return fake
}

func TestNoANSIWithoutColour(t *testing.T) {
	fake := colourFake(t)
	commands := [][]string{{"events", "tail"}, {"idp", "list"}, {"policy", "list"}, {"idp", "show", "corp"}}
	modes := []struct {
		name        string
		tty, colour bool
	}{
		{"pipe", false, false},
		{"terminal with NO_COLOR", true, false},
	}
	for _, m := range modes {
		for _, args := range commands {
			r := runWith(t, t.Context(), fake.socket, func(ios *IOStreams) {
				ios.SetStdoutTTY(m.tty)
				ios.SetColorEnabled(m.colour)
			}, args...)
			wantCode(t, r, ExitOK)
			if strings.Contains(r.Stdout, "\x1b") {
				t.Errorf("%s: cas %v printed an escape sequence:\n%q", m.name, args, r.Stdout)
			}
		}
	}
	// The check can fail: with colour on, the same commands do colour.
	r := runWith(t, t.Context(), fake.socket, func(ios *IOStreams) { ios.SetStdoutTTY(true); ios.SetColorEnabled(true) }, "events", "tail")
	if !strings.Contains(r.Stdout, "\x1b[31mblock\x1b[0m") {
		t.Errorf("with colour, the block decision is not red:\n%q", r.Stdout)
	}
}

func TestTableOnTerminal(t *testing.T) {
	fake := colourFake(t)
	r := runWith(t, t.Context(), fake.socket, func(ios *IOStreams) { ios.SetStdoutTTY(true) }, "idp", "list")
	wantCode(t, r, ExitOK)
	want := ` NAME │ ENTITY ID                    │ CERTS │ EXPIRES    │ APPS 
──────┼──────────────────────────────┼───────┼────────────┼──────
 corp │ https://idp.example.com/saml │ 1     │ 2027-01-01 │ sf   
`
	if r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
}

func TestJSONIndentedOnTerminal(t *testing.T) {
	fake := colourFake(t)
	r := runWith(t, t.Context(), fake.socket, func(ios *IOStreams) { ios.SetStdoutTTY(true); ios.SetColorEnabled(true) }, "idp", "show", "corp", "--json")
	wantCode(t, r, ExitOK)
	if !strings.HasPrefix(r.Stdout, "{\n  \"name\": \"corp\",\n") {
		t.Errorf("not indented:\n%s", r.Stdout)
	}
	if strings.Contains(r.Stdout, "\x1b") {
		t.Errorf("JSON must never be styled:\n%q", r.Stdout)
	}
	var v api.IdP
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
		t.Fatal(err)
	}
}

func TestEveryDataCommandHasJSON(t *testing.T) {
	f, _ := testFactory("")
	root := NewCmdRoot(f)
	// Commands that print no data (confirmations only) or print raw documents.
	noData := map[string]bool{
		"cas idp rm": true, "cas ca rm": true, "cas iptag rm": true, "cas app rm": true, "cas policy rm": true,
		"cas events export": true, "cas policy export": true, "cas app metadata": true, "cas tls ca export": true,
		"cas completion": true,
	}
	for _, c := range allCommands(root) {
		if !c.Runnable() || c.HasSubCommands() || noData[c.CommandPath()] {
			continue
		}
		if c.Flags().Lookup("json") == nil {
			t.Errorf("%s has no --json", c.CommandPath())
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":    "alice@example.com",
		"évelyne 日本":           "évelyne 日本",
		"evil\x1b]0;owned\x07": `evil\x1b]0;owned\a`,
		"a\nb\tc\rd":           `a\nb\tc\rd`,
		"admin\u202egnp.exe":   `admin\u202egnp.exe`,
		"c1\u009bcontrol":      `c1\u009bcontrol`,
		"bad utf8 \xff":        "bad utf8 \ufffd",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUntrustedTextIsEscaped feeds control characters through the places
// where outside text reaches a terminal: event lines, tables, details and
// error messages.
func TestUntrustedTextIsEscaped(t *testing.T) {
	fake := newFakeCasd(t)
	evil := "mallory\x1b[2J\x1b]0;owned\x07"
	serveEvents(fake, []api.Event{{ID: 1, Kind: "login", User: evil, UserAgent: "x", Object: "report\x1b[31m.csv", Reason: "ok"}})
	fake.reply("GET /v0/idps", http.StatusOK, []api.IdP{{Name: "corp", EntityID: evil}})
	fake.reply("GET /v0/idps/corp", http.StatusOK, api.IdP{Name: "corp", EntityID: evil})
	fake.fail("DELETE /v0/idps/{name}", http.StatusNotFound, api.CodeNotFound, "no IdP named "+evil)
	for _, args := range [][]string{{"events", "tail"}, {"idp", "list"}, {"idp", "show", "corp"}, {"idp", "rm", "x"}} {
		for _, tty := range []bool{false, true} {
			r := runWith(t, t.Context(), fake.socket, func(ios *IOStreams) { ios.SetStdoutTTY(tty) }, args...)
			if strings.ContainsAny(r.Stdout+r.Stderr, "\x1b\x07") {
				t.Errorf("cas %v (tty %v) printed raw control characters:\n%q\n%q", args, tty, r.Stdout, r.Stderr)
			}
			if !strings.Contains(r.Stdout+r.Stderr, `mallory\x1b[2J`) {
				t.Errorf("cas %v (tty %v): the escaped text is missing:\n%q\n%q", args, tty, r.Stdout, r.Stderr)
			}
		}
	}
}
