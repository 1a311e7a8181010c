package db

import "context"

// MigrateUpTo applies the migrations up to and including version, so a
// migration test can fill a database holding the previous schema.
func MigrateUpTo(ctx context.Context, d *DB, version int64) error {
	p, err := d.provider()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// MigrateDownTo rolls the migrations back to version, so a migration test
// can check a Down.
func MigrateDownTo(ctx context.Context, d *DB, version int64) error {
	p, err := d.provider()
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}
