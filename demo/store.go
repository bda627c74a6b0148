package demo

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// sessionStore keeps values under random tokens in memory, with an idle
// timeout, a maximum lifetime and a bound on its size.
type sessionStore[T any] struct {
	now      func() time.Time
	idle     time.Duration
	maxLife  time.Duration
	capacity int

	mu      sync.Mutex
	entries map[string]*storeEntry[T]
}

type storeEntry[T any] struct {
	v        T
	created  time.Time
	lastSeen time.Time
}

func newSessionStore[T any](now func() time.Time, idle, maxLife time.Duration, capacity int) *sessionStore[T] {
	return &sessionStore[T]{now: now, idle: idle, maxLife: maxLife, capacity: capacity, entries: make(map[string]*storeEntry[T])}
}

// put stores v under a new token and returns the token.
func (s *sessionStore[T]) put(v T) string {
	token := randomID(32)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) >= s.capacity {
		s.evictLocked(now)
	}
	s.entries[token] = &storeEntry[T]{v: v, created: now, lastSeen: now}
	return token
}

// get returns the value under token if it is still valid, and marks it used.
func (s *sessionStore[T]) get(token string) (T, bool) {
	var zero T
	if token == "" {
		return zero, false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[token]
	if !ok {
		return zero, false
	}
	if s.expired(e, now) {
		delete(s.entries, token)
		return zero, false
	}
	e.lastSeen = now
	return e.v, true
}

// take returns the value under token if it is still valid and removes it.
func (s *sessionStore[T]) take(token string) (T, bool) {
	v, ok := s.get(token)
	if ok {
		s.remove(token)
	}
	return v, ok
}

func (s *sessionStore[T]) remove(token string) {
	s.mu.Lock()
	delete(s.entries, token)
	s.mu.Unlock()
}

func (s *sessionStore[T]) expired(e *storeEntry[T], now time.Time) bool {
	return now.Sub(e.lastSeen) >= s.idle || now.Sub(e.created) >= s.maxLife
}

// evictLocked drops the expired entries and, if the store is still full,
// the least recently used one.
func (s *sessionStore[T]) evictLocked(now time.Time) {
	var oldest string
	var oldestSeen time.Time
	for k, e := range s.entries {
		if s.expired(e, now) {
			delete(s.entries, k)
			continue
		}
		if oldest == "" || e.lastSeen.Before(oldestSeen) {
			oldest, oldestSeen = k, e.lastSeen
		}
	}
	if len(s.entries) >= s.capacity && oldest != "" {
		delete(s.entries, oldest)
	}
}

// randomID returns n random bytes in unpadded base64url.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}
