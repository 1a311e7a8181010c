package db_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/authgate/authgate/internal/db"
)

// TestSQLiteFilesPrivate: a new SQLite database, its WAL and its shared
// memory file are created 0600 whatever the umask, since the file holds
// every secret digest and the signing keys.
func TestSQLiteFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o002) // a permissive umask must not matter
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "sub", "authgate.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO users (username, email, password_hash, is_admin, is_active, created_at, updated_at)
		VALUES ('alice', '', '', false, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", filepath.Base(p), m)
		}
	}
	if got := d.ExposedFiles(); len(got) != 0 {
		t.Errorf("ExposedFiles of a fresh database = %v", got)
	}
}

// TestSQLiteExposedFilesReported: an existing database readable by group
// or others is reported (the server warns) and left as it is.
func TestSQLiteExposedFilesReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authgate.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := d.ExposedFiles(); !slices.Contains(got, path) {
		t.Fatalf("ExposedFiles = %v, want %s listed", got, path)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode changed to %#o; only a warning is expected", fi.Mode().Perm())
	}
}
