package app_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/testenv"
)

// TestDatabasePoolDefaults: with the pool keys unset, the dialect's
// defaults reach the application's sql.DB.
func TestDatabasePoolDefaults(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		want := db.DefaultPool(e.App.DB.Dialect).MaxOpenConns
		if got := e.App.DB.Stats().MaxOpenConnections; got != want {
			t.Errorf("default MaxOpenConnections = %d, want %d", got, want)
		}
	})
}

// TestDatabasePoolConfigured: database.max_open_conns and
// database.max_idle_conns reach the application's sql.DB.
func TestDatabasePoolConfigured(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		d := e.App.DB
		if got := d.Stats().MaxOpenConnections; got != 3 {
			t.Fatalf("MaxOpenConnections = %d, want 3", got)
		}
		// Hold three connections at once, then give them back: two stay idle.
		ctx := context.Background()
		var conns []*sql.Conn
		for range 3 {
			c, err := d.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			_ = c.Close()
		}
		if st := d.Stats(); st.Idle != 2 || st.OpenConnections != 2 {
			t.Errorf("after releasing 3 connections: %d open, %d idle, want 2 and 2", st.OpenConnections, st.Idle)
		}
	}, testenv.Config(func(c *configs.Config) {
		c.Database.MaxOpenConns = 3
		c.Database.MaxIdleConns = 2
	}))
}
