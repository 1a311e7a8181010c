package app

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/resources"
)

// databaseUnavailable turns a 500 into 503 Service Unavailable with
// Retry-After when the cause is the database being unreachable, in the
// envelope of the endpoint: RFC 6749 §5.2 JSON (temporarily_unavailable) on
// /oauth/, Djblets' on /api/, a plain page elsewhere. A handler's 500 is
// held back until it returns; then the request's gin errors are checked for
// a connection error and, if none says so, the database is pinged (a ping
// that failed less than recentOutage ago counts too). Any other 500 passes
// through unchanged. See docs/faults-and-fuzzing.md,
// "Database outages".
func databaseUnavailable(ping func(context.Context) error) gin.HandlerFunc {
	var lastDown atomic.Int64 // unix nanoseconds of the last failed ping
	down := func(ctx context.Context) bool {
		if pingFails(ctx, ping) {
			lastDown.Store(time.Now().UnixNano())
			return true
		}
		// A statement that failed while the database was coming back
		// ("starting up", a pool connection from before the restart) can
		// be followed by a ping that already succeeds.
		return time.Since(time.Unix(0, lastDown.Load())) < recentOutage
	}
	return func(c *gin.Context) {
		orig := c.Writer
		hold := &held{ResponseWriter: orig}
		c.Writer = hold
		// A panic unwinds past us to the recoverer, which must write to the
		// real writer.
		defer func() { c.Writer = orig }()
		c.Next()
		if !hold.held {
			return
		}
		c.Writer = orig
		if !unavailableErrs(c.Errors) && !down(c.Request.Context()) {
			orig.WriteHeader(hold.status)
			_, _ = orig.Write(hold.body.Bytes())
			return
		}
		renderUnavailable(c)
	}
}

// recentOutage is how long after a failed ping a 500 is still put down to
// the database.
const recentOutage = 2 * time.Second

func unavailableErrs(errs []*gin.Error) bool {
	for _, e := range errs {
		if db.Unavailable(e.Err) {
			return true
		}
	}
	return false
}

func pingFails(ctx context.Context, ping func(context.Context) error) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	return ping(ctx) != nil
}

func renderUnavailable(c *gin.Context) {
	h := c.Writer.Header()
	for _, k := range []string{"Content-Type", "Content-Length", "WWW-Authenticate", "Location"} {
		h.Del(k)
	}
	h.Set("Retry-After", strconv.Itoa(db.RetryAfterSeconds))
	h.Set("Cache-Control", "no-store")
	msg := "the database is unavailable; retry after " + strconv.Itoa(db.RetryAfterSeconds) + "s"
	path := c.Request.URL.Path
	switch {
	case strings.HasPrefix(path, "/oauth/") && path != "/oauth/authorize":
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": "temporarily_unavailable", "error_description": msg})
	case strings.HasPrefix(path, "/api/"):
		resources.Fail(c, &resources.APIError{Code: resources.CodeServerError, HTTPStatus: http.StatusServiceUnavailable,
			Type: "service-unavailable", Msg: "The service is temporarily unavailable. Please try again later."})
	default:
		c.Data(http.StatusServiceUnavailable, "text/plain; charset=utf-8", []byte("Service temporarily unavailable: please try again in a few seconds.\n"))
		c.Abort()
	}
}

// held is a ResponseWriter that keeps a 500 (status and body) back until
// the handler returns, so databaseUnavailable can still replace it.
type held struct {
	gin.ResponseWriter
	held   bool
	status int
	body   bytes.Buffer
}

func (w *held) WriteHeader(code int) {
	if code == http.StatusInternalServerError && !w.ResponseWriter.Written() {
		w.held, w.status = true, code
		return
	}
	if !w.held {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *held) WriteHeaderNow() {
	if !w.held {
		w.ResponseWriter.WriteHeaderNow()
	}
}

func (w *held) Write(b []byte) (int, error) {
	if w.held {
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *held) WriteString(s string) (int, error) {
	if w.held {
		return w.body.WriteString(s)
	}
	return w.ResponseWriter.WriteString(s)
}

func (w *held) Status() int {
	if w.held {
		return w.status
	}
	return w.ResponseWriter.Status()
}

func (w *held) Written() bool { return w.held || w.ResponseWriter.Written() }

func (w *held) Size() int {
	if w.held {
		return w.body.Len()
	}
	return w.ResponseWriter.Size()
}

// Flush is a no-op while a 500 is held (flushing would commit it).
func (w *held) Flush() {
	if !w.held {
		w.ResponseWriter.Flush()
	}
}
