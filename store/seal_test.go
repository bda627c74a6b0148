package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateSealKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "seal.key")
	k1, err := LoadOrCreateSealKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != SealKeySize || bytes.Equal(k1, make([]byte, SealKeySize)) {
		t.Fatalf("key %x", k1)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreateSealKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("reload: %x, %v; want %x", k2, err, k1)
	}

	for _, tc := range []struct {
		name    string
		content []byte
		mode    os.FileMode
	}{
		{"short", make([]byte, 16), 0o600},
		{"long", make([]byte, 33), 0o600},
		{"empty", nil, 0o600},
		{"group readable", make([]byte, 32), 0o640},
		{"world readable", make([]byte, 32), 0o604},
		{"group writable", make([]byte, 32), 0o620},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".key")
			if err := os.WriteFile(p, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			if k, err := LoadOrCreateSealKey(p); err == nil {
				t.Fatalf("accepted %s key file: %x", tc.name, k)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		if _, err := LoadOrCreateSealKey(dir); err == nil {
			t.Fatal("accepted a directory")
		}
	})
}

func TestSealedKeysNotInFile(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	db := openAt(t, filepath.Join(dir, "cas.db"), clock)
	ctx := context.Background()
	const caSecret = "CA-PRIVATE-KEY-PLAINTEXT-7f3a9c"
	const appSecret = "APP-PRIVATE-KEY-PLAINTEXT-51be02"
	if err := db.CreateCA(ctx, &CA{Name: "root", CertPEM: "CERT", Fingerprint: "aa", KeyPEM: caSecret}); err != nil {
		t.Fatal(err)
	}
	mustCreateIdP(t, db, "corp")
	if err := db.CreateApp(ctx, &App{Name: "sf", Template: "custom", IdP: "corp",
		Keys: []AppKey{{Serial: "1", CertPEM: "CERT", KeyPEM: appSecret}}}); err != nil {
		t.Fatal(err)
	}
	// Read every file of the database (main file, WAL, shm) both before
	// and after a checkpoint.
	check := func(stage string) {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(dir, "cas.db*"))
		if len(files) == 0 {
			t.Fatal("no database files")
		}
		var all []byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		for _, s := range []string{caSecret, appSecret} {
			if bytes.Contains(all, []byte(s)) {
				t.Fatalf("%s: plaintext %q found in the database files", stage, s)
			}
		}
		if !bytes.Contains(all, []byte("CERT")) {
			t.Fatalf("%s: the check cannot see stored data", stage)
		}
	}
	check("wal")
	if _, err := db.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	check("checkpointed")

	c, err := db.CA(ctx, "root")
	if err != nil || c.KeyPEM != caSecret {
		t.Fatalf("CA key = %q, %v", c.KeyPEM, err)
	}
}

func TestSealedBlobTamperedOrMoved(t *testing.T) {
	db, _ := newTestDB(t)
	ctx := context.Background()
	for _, n := range []string{"one", "two"} {
		if err := db.CreateCA(ctx, &CA{Name: n, CertPEM: "CERT-" + n, Fingerprint: n, KeyPEM: "KEY-" + n}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		sql  string
	}{
		{"flipped byte", "UPDATE cas SET key_sealed = substr(key_sealed, 1, 20) || x'00' || substr(key_sealed, 22) WHERE name = 'one'"},
		{"truncated", "UPDATE cas SET key_sealed = substr(key_sealed, 1, 10) WHERE name = 'one'"},
		{"moved from another row", "UPDATE cas SET key_sealed = (SELECT key_sealed FROM cas WHERE name = 'two') WHERE name = 'one'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Start from a good blob each time.
			if err := db.UpdateCA(ctx, &CA{Name: "one", CertPEM: "CERT-one", Fingerprint: "one", KeyPEM: "KEY-one"}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.CA(ctx, "one"); err != nil {
				t.Fatalf("good blob: %v", err)
			}
			if _, err := db.writer.ExecContext(ctx, tc.sql); err != nil {
				t.Fatal(err)
			}
			_, err := db.CA(ctx, "one")
			wantCode(t, err, EINTERNAL)
			if _, err := db.CA(ctx, "two"); err != nil {
				t.Fatalf("untouched row: %v", err)
			}
		})
	}

	t.Run("other seal key", func(t *testing.T) {
		other := *db
		k := testKey()
		k[0] ^= 1
		aead, err := newAEAD(k)
		if err != nil {
			t.Fatal(err)
		}
		other.aead = aead
		_, err = other.CA(ctx, "two")
		wantCode(t, err, EINTERNAL)
	})
}
