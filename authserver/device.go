package authserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-oauth2/oauth2/v4"

	"github.com/authgate/authgate/authserver/grants"
	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/scopes"
)

// The device authorization grant (RFC 8628). See docs/device-flow.md.
const (
	// PathDeviceAuthorization is the device authorization endpoint
	// (RFC 8628 §3.1); PathDeviceVerification the verification page (RFC 8628 §3.3), served
	// by package authserver/web.
	PathDeviceAuthorization = "/oauth/device_authorization"
	PathDeviceVerification  = "/device"
	// GrantDeviceCode is the device_code grant type (RFC 8628 §3.4).
	GrantDeviceCode = oauthstore.GrantDeviceCode
	// DeviceCodeTTL is how long a device code and its user code live: long
	// enough to walk to a computer and sign in, short enough that a user
	// code (≈35 bits) cannot be guessed in its lifetime (RFC 8628 §5.1).
	DeviceCodeTTL = 10 * time.Minute
	// DevicePollInterval is the interval a client is first told to wait
	// between polls (RFC 8628 §3.2's default).
	DevicePollInterval = 5 * time.Second
)

// handleDeviceAuthorization serves POST /oauth/device_authorization
// (RFC 8628 §3.1, §3.2). The client authenticates as at the token endpoint
// (a public client by client_id); an unknown client is invalid_client, one
// not allowed the grant unauthorized_client. The scope and resource
// parameters are checked as for the other grants now, not when the user
// approves.
func (s *Server) handleDeviceAuthorization(c *gin.Context) {
	w, r := c.Writer, c.Request
	if e := parseOAuthForm(w, r); e != nil {
		writeOAuthError(w, e)
		return
	}
	cl, _, _, err := s.authenticateClient(r)
	if err != nil {
		writeOAuthError(w, classify(err, s.log))
		return
	}
	if !cl.AllowsGrant(GrantDeviceCode) {
		writeOAuthError(w, oerr(codeUnauthorizedClient, "the client may not use the device_code grant"))
		return
	}
	set, err := requestedScope(s.scopes, cl, r.PostForm.Get("scope"))
	if err != nil {
		writeOAuthError(w, classify(err, s.log))
		return
	}
	aud, e := resolveAudience(s.scopes, s.cfg.Audience, r.PostForm["resource"], set)
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	ext := url.Values{}
	if len(aud) > 0 {
		ext[extAudience] = aud
	}
	deviceCode, err := newOpaque(PrefixDeviceCode)
	if err != nil {
		writeOAuthError(w, classify(err, s.log))
		return
	}
	var userCode string
	for range 5 { // 20^8 codes: a collision with a live one is rare, five in a row never
		if userCode, err = oauthstore.NewUserCode(); err != nil {
			break
		}
		err = s.Tokens.CreateDevice(r.Context(), oauthstore.NewDevice{
			DeviceCode: deviceCode, UserCode: userCode, ClientID: cl.ID, Scope: set.String(), Extension: ext,
			Interval: DevicePollInterval, TTL: DeviceCodeTTL,
		})
		if !errors.Is(err, oauthstore.ErrUserCodeTaken) {
			break
		}
	}
	if err != nil {
		writeOAuthError(w, classify(err, s.log))
		return
	}
	shown := oauthstore.FormatUserCode(userCode)
	verify := s.cfg.Issuer + PathDeviceVerification
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 shown,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?" + url.Values{"user_code": {shown}}.Encode(),
		"expires_in":                int64(DeviceCodeTTL / time.Second),
		"interval":                  int64(DevicePollInterval / time.Second),
	})
}

// ctxExpectedRefusal marks, in the gin context, a refusal that is part of
// a working protocol rather than a failure: authorization_pending and
// slow_down to a device polling its own live code. The per-address failure
// limit gives the call back, so devices behind one address polling at their
// interval never lock each other out (docs/device-flow.md, "Polling").
const ctxExpectedRefusal = "authgate.expected_refusal"

// serveDeviceToken answers a device_code token request. go-oauth2 knows
// only its four grant types and would answer unsupported_grant_type, so
// handleToken hands this one here after its shared checks: client
// authentication through the same hook, then our grant, then the library's
// token response format. It reports whether the answer was
// authorization_pending or slow_down.
func (s *Server) serveDeviceToken(w http.ResponseWriter, r *http.Request, dpopBound bool) (pending bool) {
	if _, _, err := s.clientInfoHandler(r); err != nil {
		writeDeviceTokenError(w, classify(err, s.log))
		return false
	}
	ti, err := s.grants.device.handle(r.Context(), &oauth2.TokenGenerateRequest{Request: r}, r.PostForm.Get("device_code"))
	if err != nil {
		e := classify(err, s.log)
		writeDeviceTokenError(w, e)
		return e.Code == grants.CodeAuthorizationPending || e.Code == grants.CodeSlowDown
	}
	if err := writeTokenResponse(&tokenResponse{ResponseWriter: w, dpop: dpopBound}, s.OAuth2.GetTokenData(ti), nil); err != nil {
		s.log.Debug("token response not written completely", "error", err)
	}
	return false
}

// writeDeviceTokenError writes a token-endpoint error: RFC 8628 §3.5 sends
// its codes, access_denied included, as RFC 6749 §5.2 errors, status 400.
func writeDeviceTokenError(w http.ResponseWriter, e *oauthError) {
	if e.Code == grants.CodeAccessDenied && e.retryAfter == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": e.Code, "error_description": e.Description})
		return
	}
	writeOAuthError(w, e)
}

// deviceGrant serves the device_code grant (RFC 8628 §3.4).
type deviceGrant struct {
	tokens  *oauthstore.TokenStore
	mint    *minter
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
	used    consentUse
}

// handle polls a device code: the store applies grants.PollDevice in one
// transaction holding the row's lock (the poll bookkeeping behind
// slow_down, the one redemption, the new tokens).
func (g *deviceGrant) handle(ctx context.Context, tgr *oauth2.TokenGenerateRequest, deviceCode string) (oauth2.TokenInfo, error) {
	c, err := authenticatedClient(ctx)
	if err != nil {
		return nil, err
	}
	if !c.AllowsGrant(GrantDeviceCode) {
		return nil, oerr(codeUnauthorizedClient, "the client may not use the device_code grant")
	}
	if deviceCode == "" {
		return nil, oerr(codeInvalidRequest, "device_code is required")
	}
	if !wellFormed(PrefixDeviceCode, deviceCode) {
		return nil, errGrantInvalid // malformed: no database lookup
	}
	if ctx, err = g.mint.prepare(ctx); err != nil {
		return nil, err
	}
	now := g.now()
	out, err := g.tokens.PollDevice(ctx, deviceCode, func(row *oauthstore.DeviceRow) (oauthstore.DeviceOutcome, error) {
		d := grants.PollDevice(grants.DevicePoll{ClientID: c.ID, Now: now}, storedDevice(row, now))
		o := oauthstore.DeviceOutcome{Record: d.Record, Interval: d.Interval, Refusal: refusal(d.Err)}
		if !d.Issue {
			return o, nil
		}
		grantID, err := newGrantID()
		if err != nil {
			return o, err
		}
		o.Issue, err = g.mint.mint(ctx, issueParams{
			client: c, userID: row.UserIDString(), scope: row.Scope, refreshScope: row.Scope,
			grantID: grantID, grantCreatedAt: now, extension: row.Ext(),
			refresh: c.AllowsGrant(GrantRefreshToken), request: tgr.Request,
		})
		return o, err
	})
	if err != nil {
		return nil, err
	}
	if out.Refusal != nil {
		return nil, out.Refusal
	}
	g.metrics.issued(GrantDeviceCode)
	g.used.mark(ctx, out.Issue.Token)
	return out.Issue.Token, nil
}

// storedDevice is the grant-rule view of a device code row (nil: none).
func storedDevice(row *oauthstore.DeviceRow, now time.Time) grants.StoredDevice {
	if row == nil {
		return grants.StoredDevice{}
	}
	d := grants.StoredDevice{
		Found: true, ClientID: row.ClientID, Status: grants.DeviceStatus(row.Status), Redeemed: row.RedeemedAt.Valid,
		Expired: row.Expired(now), Interval: row.Interval(), UserActive: row.UserActive,
	}
	if row.LastPollAt.Valid {
		d.LastPoll = row.LastPollAt.Time
	}
	return d
}

// DeviceRequest is a pending device authorization as the verification
// page shows it for the user's decision.
type DeviceRequest struct {
	// UserCode is the normalised user code.
	UserCode string
	ClientID string
	Scope    scopes.Set
}

// PendingDevice finds the pending device authorization with the user code
// as typed (any case, dash optional); ok is false for a code that is
// malformed, unknown, expired or already decided.
func (s *Server) PendingDevice(ctx context.Context, typed string) (req DeviceRequest, ok bool, err error) {
	code, ok := oauthstore.NormalizeUserCode(typed)
	if !ok {
		return DeviceRequest{}, false, nil
	}
	row, err := s.Tokens.PendingDevice(ctx, code)
	if errors.Is(err, oauthstore.ErrDeviceNotPending) {
		return DeviceRequest{}, false, nil
	}
	if err != nil {
		return DeviceRequest{}, false, err
	}
	return DeviceRequest{UserCode: code, ClientID: row.ClientID, Scope: scopesOf(row.Scope)}, true, nil
}

// DecideDevice records the signed-in user's approval or denial of the
// pending device authorization with the user code; ok is false when it is
// no longer pending (decided elsewhere, or expired).
func (s *Server) DecideDevice(ctx context.Context, userCode string, userID int64, approve bool) (ok bool, err error) {
	code, ok := oauthstore.NormalizeUserCode(userCode)
	if !ok {
		return false, nil
	}
	err = s.Tokens.DecideDevice(ctx, code, userID, approve)
	if errors.Is(err, oauthstore.ErrDeviceNotPending) {
		return false, nil
	}
	return err == nil, err
}
