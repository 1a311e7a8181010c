package mgmtapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
)

// PathCredentialsRevoke is the public leaked-credential report endpoint.
const PathCredentialsRevoke = "/api/credentials/revoke"

// LeakedReason is the invalid_reason of an API token reported as leaked;
// clients that still use it see it in the 401 message.
const LeakedReason = "Reported as leaked."

// Limits of one report.
const (
	maxReportedCredentials = 100
	maxCredentialLength    = 8192
	maxReportBody          = 1 << 20
)

// Default per-IP rate limit of the report endpoint: it does database writes
// for anyone, so it is far stricter than the API's anonymous limit.
const (
	DefaultReportLimit  = 60
	DefaultReportPeriod = time.Hour
)

// CredentialRevoker revokes an OAuth access or refresh token reported as
// leaked, with its whole grant, and records the audit event; the
// authorization server implements it. It reports whether anything was
// revoked.
type CredentialRevoker interface {
	RevokeReported(ctx context.Context, raw string) (bool, error)
}

// revokeCredentials is POST /api/credentials/revoke: anyone who holds a
// credential may report it as leaked, as with GitHub's credential
// revocation API. The body is {"credentials": ["…", …]}; each value that
// is an API token is invalidated with reason LeakedReason, and each that is
// an OAuth access or refresh token has its grant revoked. A well-formed
// body always gets 202 and the same empty answer, whatever it held, so the
// endpoint tells nothing about which values were credentials; a body that
// is not such a JSON object gets 400, which says nothing about credentials
// either. Requests are rate-limited per client IP. See
// docs/migrating-from-review-board.md, "Reporting leaked credentials".
func (h *handlers) revokeCredentials(c *gin.Context) {
	if ok, retry, limit := h.reportLimiter.Allow("ip:"+c.ClientIP(), false); !ok {
		resources.Fail(c, resources.RateLimitExceeded(retry, limit))
		return
	}
	creds, e := readCredentials(c)
	if e != nil {
		resources.Fail(c, e)
		return
	}
	ctx := c.Request.Context()
	found := 0
	for _, raw := range creds {
		ok, err := h.revokeOne(ctx, raw)
		if err != nil {
			// The reporter still gets 202: the failure is ours, and a 500
			// would tell them the value was a credential.
			h.log.LogAttrs(ctx, slog.LevelError, "revoke reported credential", slog.String("error", err.Error()))
		}
		if ok {
			found++
		}
	}
	// Counts only: never a value, a prefix or who owned it.
	h.log.LogAttrs(ctx, slog.LevelInfo, "credentials reported", slog.Int("reported", len(creds)),
		slog.Int("revoked", found), slog.String("ip", c.ClientIP()))
	c.Header("Cache-Control", "no-store")
	resources.OK(c, http.StatusAccepted, gin.H{})
}

// revokeOne revokes raw as an API token, else as an OAuth token.
func (h *handlers) revokeOne(ctx context.Context, raw string) (bool, error) {
	if _, ok := h.Tokens.ValidateFormat(raw); ok {
		_, now, err := h.Tokens.InvalidateToken(ctx, raw, LeakedReason)
		if errors.Is(err, tokens.ErrNotFound) {
			err = nil
		}
		if err != nil || now {
			return now, err
		}
	}
	if h.Credentials == nil {
		return false, nil
	}
	return h.Credentials.RevokeReported(ctx, raw)
}

// readCredentials parses {"credentials": [string, …]}: at most
// maxReportedCredentials distinct non-empty values.
func readCredentials(c *gin.Context) ([]string, *resources.APIError) {
	bad := func(msg string) *resources.APIError {
		return resources.InvalidFormData(map[string][]string{"credentials": {msg}})
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxReportBody))
	if err != nil {
		return nil, resources.InvalidFormData(nil).WithMessage(bodyError(err))
	}
	var req struct {
		Credentials *[]string `json:"credentials"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		return nil, bad(`The body must be a JSON object {"credentials": ["…"]} with a list of strings.`)
	}
	if req.Credentials == nil {
		return nil, bad(requiredMsg)
	}
	if len(*req.Credentials) > maxReportedCredentials {
		return nil, bad("Report at most 100 credentials per request.")
	}
	seen := map[string]bool{}
	var out []string
	for _, v := range *req.Credentials {
		v = strings.TrimSpace(v)
		if v == "" || len(v) > maxCredentialLength || seen[v] {
			continue // cannot be a credential: nothing to do, nothing to say
		}
		seen[v] = true
		out = append(out, v)
	}
	return out, nil
}
