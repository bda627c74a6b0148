package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// SealKeySize is the length of the key that seals private keys: AES-256.
const SealKeySize = 32

// sealVersion is the first byte of every sealed blob, so the format can change.
const sealVersion = 1

// LoadOrCreateSealKey returns the 32-byte seal key stored at path, creating it
// with fresh random bytes and mode 0600 when the file does not exist. It
// refuses a file of another size, or one that the group or others may read or
// write, since anyone who can read it can open every stored private key.
func LoadOrCreateSealKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return createSealKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read seal key %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: read seal key %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("store: seal key %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("store: seal key %s has mode %#o: group and others must have no access (chmod 600)", path, perm)
	}
	if fi.Size() != SealKeySize {
		return nil, fmt.Errorf("store: seal key %s has %d bytes, want %d", path, fi.Size(), SealKeySize)
	}
	key := make([]byte, SealKeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("store: read seal key %s: %w", path, err)
	}
	return key, nil
}

// createSealKey writes a new random key to path, failing if the file appeared
// meanwhile rather than overwriting a key that seals existing data.
func createSealKey(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create seal key %s: %w", path, err)
	}
	key := make([]byte, SealKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("store: create seal key %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create seal key %s: %w", path, err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("store: create seal key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("store: create seal key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("store: create seal key %s: %w", path, err)
	}
	return key, nil
}

// newAEAD returns AES-256-GCM under key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != SealKeySize {
		return nil, fmt.Errorf("seal key has %d bytes, want %d", len(key), SealKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext bound to where it is stored (aad, e.g. "ca/root"),
// so a blob copied to another row does not open. Empty plaintext stays empty.
// Format: version byte, 12-byte random nonce, ciphertext with tag.
func (db *DB) seal(aad, plaintext string) ([]byte, error) {
	if plaintext == "" {
		return nil, nil
	}
	out := make([]byte, 1+db.aead.NonceSize(), 1+db.aead.NonceSize()+len(plaintext)+db.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("store: seal %s: %w", aad, err)
	}
	return db.aead.Seal(out, out[1:], []byte(plaintext), []byte("cas-seal:"+aad)), nil
}

// unseal is the inverse of seal. A blob that was tampered with, moved from
// another row or sealed under another key fails with EINTERNAL.
func (db *DB) unseal(aad string, blob []byte) (string, error) {
	if len(blob) == 0 {
		return "", nil
	}
	ns := db.aead.NonceSize()
	if blob[0] != sealVersion || len(blob) < 1+ns+db.aead.Overhead() {
		return "", Errorf(EINTERNAL, "sealed private key for %s is malformed", aad)
	}
	pt, err := db.aead.Open(nil, blob[1:1+ns], blob[1+ns:], []byte("cas-seal:"+aad))
	if err != nil {
		return "", Errorf(EINTERNAL, "sealed private key for %s does not open (tampered, moved or wrong seal key)", aad)
	}
	return string(pt), nil
}
