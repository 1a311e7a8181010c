package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

func (d *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(d.Dialect))
	if err != nil {
		return nil, err
	}
	gd := goose.DialectSQLite3
	if d.Dialect == Postgres {
		gd = goose.DialectPostgres
	}
	return goose.NewProvider(gd, d.DB.DB, sub)
}

// Migrate applies every pending migration for the DB's dialect and returns
// how many it applied.
func (d *DB) Migrate(ctx context.Context) (int, error) {
	p, err := d.provider()
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("apply migrations: %w", err)
	}
	return len(res), nil
}

// MigrationStatus reports the current schema version and whether migrations
// are pending.
func (d *DB) MigrationStatus(ctx context.Context) (current int64, pending bool, err error) {
	p, err := d.provider()
	if err != nil {
		return 0, false, fmt.Errorf("load migrations: %w", err)
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("read schema version: %w", err)
	}
	pending, err = p.HasPending(ctx)
	if err != nil {
		return current, false, fmt.Errorf("check pending migrations: %w", err)
	}
	return current, pending, nil
}
