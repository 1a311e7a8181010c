package db_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/lib/pq"

	"github.com/authgate/authgate/internal/db"
)

func TestUnavailableClassifiesErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("syntax error"), false},
		{fmt.Errorf("load: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), true},
		{driver.ErrBadConn, true},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("load client: %w", &pq.Error{Code: "57P03"}), true}, // cannot_connect_now (starting up)
		{&pq.Error{Code: "57P01"}, true},                                // admin_shutdown
		{&pq.Error{Code: "08006"}, true},                                // connection_failure
		{&pq.Error{Code: "23505"}, false},                               // unique_violation
	} {
		if got := db.Unavailable(tc.err); got != tc.want {
			t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
