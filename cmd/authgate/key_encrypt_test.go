package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/db"
)

// writeKEKConfig writes a fresh key-encryption key file and a config file
// naming it; it returns both paths.
func writeKEKConfig(t *testing.T, dir, name string) (kekFile, cfgFile string) {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	kekFile = filepath.Join(dir, name+".kek")
	if err := os.WriteFile(kekFile, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile = filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(cfgFile, []byte("oauth:\n  key_encryption_key_file: "+kekFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return kekFile, cfgFile
}

// TestKeyEncryptCLI walks the documented migration: keys created as PEM,
// a key-encryption key configured, `key encrypt`, then rotation under the
// new key and replacing the key-encryption key.
func TestKeyEncryptCLI(t *testing.T) {
	dir := t.TempDir()
	dbURL := filepath.Join(dir, "keys.db")
	kekA, cfgA := writeKEKConfig(t, dir, "a")
	kekB, cfgB := writeKEKConfig(t, dir, "b")
	// The documented replacement: the new KEK plus the previous one.
	cfgBA := filepath.Join(dir, "b-and-a.yaml")
	if err := os.WriteFile(cfgBA, []byte("oauth:\n  key_encryption_key_file: "+kekB+
		"\n  previous_key_encryption_key_file: "+kekA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Two keys from the first start: the access-token key and the RS256
	// ID-token key (OpenID Connect); rotate adds a third.
	steps := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout, or stderr when wantCode != 0
	}{
		{"first key, as PEM", []string{"key", "list"}, 0, "active"},
		{"encrypt without a KEK", []string{"key", "encrypt"}, 2, "no key-encryption key configured"},
		{"encrypt", []string{"key", "encrypt", "--config", cfgA}, 0, "Encrypted 2 signing key(s)"},
		{"again", []string{"key", "encrypt", "--config", cfgA}, 0, "2 already encrypted"},
		{"list without the KEK", []string{"key", "list"}, 1, "signing keys are encrypted: configure the key-encryption key"},
		{"rotate with the KEK", []string{"key", "rotate", "--config", cfgA}, 0, "Added EdDSA key"},
		{"list with the KEK", []string{"key", "list", "--config", cfgA}, 0, "pending"},
		{"list with another KEK", []string{"key", "list", "--config", cfgB}, 1, "does not decrypt with the configured key-encryption key"},
		{"replace without the previous KEK", []string{"key", "encrypt", "--config", cfgB}, 1, "give the previous one"},
		{"list with the new and the previous KEK", []string{"key", "list", "--config", cfgBA}, 0, "pending"},
		{"replace the KEK", []string{"key", "encrypt", "--config", cfgBA}, 0, "re-encrypted 3"},
		{"list with the new KEK alone", []string{"key", "list", "--config", cfgB}, 0, "active"},
		{"back to A with a flag", []string{"key", "encrypt", "--config", cfgA, "--previous-key-file", kekB}, 0, "re-encrypted 3"},
		{"list with A", []string{"key", "list", "--config", cfgA}, 0, "active"},
	}
	for _, s := range steps {
		code, stdout, stderr := runCLI(t, "", append(s.args, "--database-url", dbURL)...)
		got := stdout
		if s.wantCode != 0 {
			got = stderr
		}
		if code != s.wantCode || !strings.Contains(got, s.want) {
			t.Fatalf("%s: code %d\nstdout %s\nstderr %s", s.name, code, stdout, stderr)
		}
	}
	d, err := db.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var stored []string
	if err := d.Select(&stored, `SELECT private_key FROM signing_keys`); err != nil {
		t.Fatal(err)
	}
	for _, v := range stored {
		if strings.Contains(v, "PRIVATE KEY") || !strings.HasPrefix(v, "enc:v1:") {
			t.Errorf("stored key %.30q…", v)
		}
	}
}
