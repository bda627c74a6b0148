package session

import "testing"

func TestNewSessionCookie(t *testing.T) {
	tests := []struct {
		name, cookie, want string
	}{
		{"default name", "", "__cas_session=abc; Path=/; HttpOnly; Secure; SameSite=Lax"},
		{"own name", "__Host-cas", "__Host-cas=abc; Path=/; HttpOnly; Secure; SameSite=Lax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewSessionCookie(tt.cookie, "abc").String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
