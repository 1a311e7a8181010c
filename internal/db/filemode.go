package db

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// sqliteFileMode is the mode of a SQLite database file authgate creates: it
// holds password hashes, token digests and (unless encrypted) the JWT
// signing keys, so only the server's own user may read it. SQLite gives the
// -wal and -shm files it creates the mode of the database file. See
// docs/operations-security.md, "Database files".
const sqliteFileMode = 0o600

// sqliteCompanions are the files SQLite keeps next to a WAL-mode database.
var sqliteCompanions = []string{"", "-wal", "-shm"}

// prepareSQLiteFile creates the database file at path with sqliteFileMode
// when it does not exist yet (modernc's sqlite would create it with 0644),
// and returns the existing database files that group or others may read.
// Those are left as they are: the operator may share them on purpose.
func prepareSQLiteFile(path string) ([]string, error) {
	var exposed []string
	for _, suffix := range sqliteCompanions {
		fi, err := os.Stat(path + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("database file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			exposed = append(exposed, path+suffix)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, sqliteFileMode)
	switch {
	case errors.Is(err, fs.ErrExist):
		return exposed, nil
	case err != nil:
		return nil, fmt.Errorf("create database file: %w", err)
	}
	// The umask may have cleared bits of 0600 but never added any; Chmod
	// makes the mode exact all the same.
	if err := f.Chmod(sqliteFileMode); err != nil {
		f.Close()
		return nil, fmt.Errorf("create database file: %w", err)
	}
	return exposed, f.Close()
}

// ExposedFiles lists the SQLite files (database, -wal, -shm) that existed
// when the database was opened and could be read by group or others; the
// server warns about each. Always empty for PostgreSQL.
func (d *DB) ExposedFiles() []string { return d.exposed }
