package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"syscall"

	"github.com/lib/pq"
)

// RetryAfterSeconds is the Retry-After authgate sends while the database is
// unreachable: a restart or failover takes seconds, and the connection pool
// reconnects by itself. See docs/faults-and-fuzzing.md, "Database outages".
const RetryAfterSeconds = 5

// Unavailable reports whether err says the database could not be reached
// (as opposed to refusing a statement): a network error, a connection the
// driver gave up on, a deadline, or PostgreSQL's connection-exception (08),
// insufficient-resources (53) and operator-intervention (57P: shutting
// down, starting up) classes. Such a failure is the server's to retry
// later, answered 503, not a 500.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	var pqe *pq.Error
	switch {
	case errors.As(err, &ne), errors.Is(err, driver.ErrBadConn), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &pqe):
		code := string(pqe.Code)
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") || strings.HasPrefix(code, "57P")
	}
	return false
}
