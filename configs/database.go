package configs

import "fmt"

// validatePool checks the pool keys of the database section: negative
// values are refused (zero takes the dialect's default, in internal/db).
func (c Config) validatePool() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("invalid value for %q: %s", key, fmt.Sprintf(format, args...)))
	}
	p := c.Database
	if p.MaxOpenConns < 0 {
		bad("database.max_open_conns", "must not be negative (0: the dialect's default)")
	}
	if p.MaxIdleConns < 0 {
		bad("database.max_idle_conns", "must not be negative (0: the dialect's default)")
	}
	if p.MaxOpenConns > 0 && p.MaxIdleConns > p.MaxOpenConns {
		bad("database.max_idle_conns", "%d is more than database.max_open_conns (%d)", p.MaxIdleConns, p.MaxOpenConns)
	}
	if p.ConnMaxLifetime < 0 {
		bad("database.conn_max_lifetime", "must not be negative (0: no limit)")
	}
	if p.ConnMaxIdleTime < 0 {
		bad("database.conn_max_idle_time", "must not be negative (0: the dialect's default)")
	}
	return errs
}
