package configs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/configs"
)

// TestDatabasePool: the pool keys default to 0 (the dialect's default),
// load from the file and the environment, and negative or inconsistent
// values are refused naming the key.
func TestDatabasePool(t *testing.T) {
	cfg, err := configs.Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.Database; d.MaxOpenConns != 0 || d.MaxIdleConns != 0 || d.ConnMaxLifetime != 0 || d.ConnMaxIdleTime != 0 {
		t.Fatalf("pool defaults = %+v, want zeros", d)
	}
	file := writeFile(t, "database:\n  max_open_conns: 12\n  max_idle_conns: 4\n  conn_max_lifetime: 30m\n")
	cfg, err = configs.Load(file, []string{"AUTHGATE_DATABASE__CONN_MAX_IDLE_TIME=90s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.Database; d.MaxOpenConns != 12 || d.MaxIdleConns != 4 || d.ConnMaxLifetime != 30*time.Minute || d.ConnMaxIdleTime != 90*time.Second {
		t.Fatalf("pool = %+v", d)
	}
	for _, tc := range []struct{ file, want string }{
		{"database:\n  max_open_conns: -1\n", `"database.max_open_conns": must not be negative`},
		{"database:\n  max_idle_conns: -2\n", `"database.max_idle_conns": must not be negative`},
		{"database:\n  max_open_conns: 4\n  max_idle_conns: 5\n", `"database.max_idle_conns": 5 is more than database.max_open_conns (4)`},
		{"database:\n  conn_max_lifetime: -1m\n", `"database.conn_max_lifetime": must not be negative`},
		{"database:\n  conn_max_idle_time: -1s\n", `"database.conn_max_idle_time": must not be negative`},
		{"database:\n  max_open_conns: many\n", `max_open_conns`},
	} {
		_, err := configs.Load(writeFile(t, tc.file), nil, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to mention %s", tc.file, err, tc.want)
		}
	}
}
