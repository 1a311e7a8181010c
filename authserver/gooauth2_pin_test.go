package authserver

// Pins of go-oauth2 v4.5.4: every behaviour of the library authgate relies
// on, or replaces because of what it does, is driven here against the
// library alone (small in-memory stores, a recording manager, no database),
// so an upgrade that changes one fails a test named for it. Each test names
// the library function it pins (paths relative to
// github.com/go-oauth2/oauth2/v4@v4.5.4). The list, and why authgate needs
// each behaviour, is docs/go-oauth2.md, "Behaviours authgate relies on".

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4"
	oerrors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
)

// pinLog records callback names in call order.
type pinLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *pinLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, fmt.Sprintf(format, args...))
}

func (l *pinLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

func (l *pinLog) has(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.calls {
		if strings.HasPrefix(c, name) {
			return true
		}
	}
	return false
}

// pinManager is an oauth2.Manager that records its calls and the token
// generate requests it receives.
type pinManager struct {
	log *pinLog
	tgr *oauth2.TokenGenerateRequest
	err error // returned by the Generate*/Refresh methods when set
}

func (m *pinManager) ti() *models.Token {
	ti := models.NewToken()
	ti.SetAccess("access-1")
	ti.SetAccessExpiresIn(90 * time.Second)
	ti.SetScope("read")
	return ti
}

func (m *pinManager) GetClient(_ context.Context, id string) (oauth2.ClientInfo, error) {
	m.log.add("Manager.GetClient")
	return &models.Client{ID: id}, nil
}

func (m *pinManager) GenerateAuthToken(_ context.Context, rt oauth2.ResponseType, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	m.log.add("Manager.GenerateAuthToken(%s)", rt)
	m.tgr = tgr
	if m.err != nil {
		return nil, m.err
	}
	ti := models.NewToken()
	ti.SetCode("code-1")
	return ti, nil
}

func (m *pinManager) GenerateAccessToken(_ context.Context, gt oauth2.GrantType, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	m.log.add("Manager.GenerateAccessToken(%s)", gt)
	m.tgr = tgr
	if m.err != nil {
		return nil, m.err
	}
	return m.ti(), nil
}

func (m *pinManager) RefreshAccessToken(_ context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	m.log.add("Manager.RefreshAccessToken")
	m.tgr = tgr
	if m.err != nil {
		return nil, m.err
	}
	return m.ti(), nil
}

func (m *pinManager) RemoveAccessToken(context.Context, string) error {
	m.log.add("Manager.RemoveAccessToken")
	return nil
}

func (m *pinManager) RemoveRefreshToken(context.Context, string) error {
	m.log.add("Manager.RemoveRefreshToken")
	return nil
}

func (m *pinManager) LoadAccessToken(context.Context, string) (oauth2.TokenInfo, error) {
	m.log.add("Manager.LoadAccessToken")
	return m.ti(), nil
}

func (m *pinManager) LoadRefreshToken(context.Context, string) (oauth2.TokenInfo, error) {
	m.log.add("Manager.LoadRefreshToken")
	ti := m.ti()
	ti.SetScope("read write")
	return ti, nil
}

// pinServer is a server.Server configured like authserver.New (the three
// grants, code only, S256) with every hook set to a recorder, so a test
// sees which hooks a request reaches and in what order.
func pinServer(log *pinLog, forcePKCE bool) (*server.Server, *pinManager) {
	m := &pinManager{log: log}
	srv := server.NewServer(&server.Config{
		TokenType:                   "Bearer",
		AllowedResponseTypes:        []oauth2.ResponseType{oauth2.Code},
		AllowedGrantTypes:           []oauth2.GrantType{oauth2.AuthorizationCode, oauth2.ClientCredentials, oauth2.Refreshing},
		AllowedCodeChallengeMethods: []oauth2.CodeChallengeMethod{oauth2.CodeChallengeS256},
		ForcePKCE:                   forcePKCE,
	}, m)
	srv.SetClientInfoHandler(func(r *http.Request) (string, string, error) {
		log.add("ClientInfoHandler")
		return "client-from-hook", "secret-from-hook", nil
	})
	srv.SetClientAuthorizedHandler(func(id string, gt oauth2.GrantType) (bool, error) {
		log.add("ClientAuthorizedHandler(%s)", gt)
		return true, nil
	})
	srv.SetClientScopeHandler(func(*oauth2.TokenGenerateRequest) (bool, error) {
		log.add("ClientScopeHandler")
		return true, nil
	})
	srv.SetRefreshingScopeHandler(func(_ *oauth2.TokenGenerateRequest, old string) (bool, error) {
		log.add("RefreshingScopeHandler(%s)", old)
		return true, nil
	})
	srv.SetRefreshingValidationHandler(func(oauth2.TokenInfo) (bool, error) {
		log.add("RefreshingValidationHandler")
		return true, nil
	})
	srv.SetRefreshTokenResolveHandler(func(r *http.Request) (string, error) {
		log.add("RefreshTokenResolveHandler")
		return server.RefreshTokenFormResolveHandler(r)
	})
	srv.SetAccessTokenExpHandler(func(http.ResponseWriter, *http.Request) (time.Duration, error) {
		log.add("AccessTokenExpHandler")
		return time.Minute, nil
	})
	srv.SetAuthorizeScopeHandler(func(http.ResponseWriter, *http.Request) (string, error) {
		log.add("AuthorizeScopeHandler")
		return "", nil
	})
	srv.SetUserAuthorizationHandler(func(http.ResponseWriter, *http.Request) (string, error) {
		log.add("UserAuthorizationHandler")
		return "", nil
	})
	srv.SetPasswordAuthorizationHandler(func(context.Context, string, string, string) (string, error) {
		log.add("PasswordAuthorizationHandler")
		return "", oerrors.ErrAccessDenied
	})
	srv.SetPreRedirectErrorHandler(func(_ http.ResponseWriter, _ *server.AuthorizeRequest, err error) error {
		log.add("PreRedirectErrorHandler")
		return err
	})
	srv.SetInternalErrorHandler(func(err error) *oerrors.Response {
		log.add("InternalErrorHandler")
		return nil
	})
	srv.SetResponseErrorHandler(func(*oerrors.Response) { log.add("ResponseErrorHandler") })
	srv.SetExtensionFieldsHandler(func(oauth2.TokenInfo) map[string]any {
		log.add("ExtensionFieldsHandler")
		return map[string]any{"extra": "x", "access_token": "overridden"}
	})
	srv.SetResponseTokenHandler(func(w http.ResponseWriter, data map[string]any, h http.Header, status ...int) error {
		code := 200
		if len(status) > 0 && status[0] > 0 {
			code = status[0]
		}
		log.add("ResponseTokenHandler(%d)", code)
		w.Header().Set("X-Pin-Data", fmt.Sprint(data))
		w.Header().Set("X-Pin-WWW-Authenticate", h.Get("WWW-Authenticate"))
		w.WriteHeader(code)
		return nil
	})
	srv.SetAccessTokenResolveHandler(func(r *http.Request) (string, bool) {
		log.add("AccessTokenResolveHandler")
		return "", false
	})
	return srv, m
}

func pinTokenRequest(srv *server.Server, form url.Values) (*httptest.ResponseRecorder, *http.Request) {
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	_ = srv.HandleTokenRequest(w, r)
	return w, r
}

// TestGoOAuth2Pin_TokenRequestCallbackOrder pins the order in which
// server.HandleTokenRequest (ValidationTokenRequest, GetAccessToken,
// GetTokenData, token in server/server.go) calls the hooks for each grant
// authgate serves. authgate authenticates the client in ClientInfoHandler
// and hands the result to its manager through the request context, so
// ClientInfoHandler must run first and the manager after it.
func TestGoOAuth2Pin_TokenRequestCallbackOrder(t *testing.T) {
	cases := []struct {
		name string
		form url.Values
		want []string
	}{
		{"client_credentials", url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}, []string{
			"ClientInfoHandler", "ClientAuthorizedHandler(client_credentials)", "ClientScopeHandler",
			"Manager.GenerateAccessToken(client_credentials)", "ExtensionFieldsHandler", "ResponseTokenHandler(200)",
		}},
		{"authorization_code", url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {"https://app/cb"}}, []string{
			"ClientInfoHandler", "ClientAuthorizedHandler(authorization_code)",
			"Manager.GenerateAccessToken(authorization_code)", "ExtensionFieldsHandler", "ResponseTokenHandler(200)",
		}},
		{"refresh_token with scope", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}, "scope": {"read"}}, []string{
			"ClientInfoHandler", "RefreshTokenResolveHandler", "ClientAuthorizedHandler(refresh_token)",
			"Manager.LoadRefreshToken", "RefreshingScopeHandler(read write)",
			"Manager.LoadRefreshToken", "RefreshingValidationHandler",
			"Manager.RefreshAccessToken", "ExtensionFieldsHandler", "ResponseTokenHandler(200)",
		}},
		{"refresh_token without scope", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}}, []string{
			"ClientInfoHandler", "RefreshTokenResolveHandler", "ClientAuthorizedHandler(refresh_token)",
			"Manager.LoadRefreshToken", "RefreshingValidationHandler",
			"Manager.RefreshAccessToken", "ExtensionFieldsHandler", "ResponseTokenHandler(200)",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := &pinLog{}
			srv, _ := pinServer(log, false)
			pinTokenRequest(srv, tc.form)
			if got := log.take(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("hook order changed (server/server.go HandleTokenRequest):\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestGoOAuth2Pin_TokenRequestFieldsFromFormAndClientHook pins what
// server.ValidationTokenRequest puts into the TokenGenerateRequest the
// manager receives: the client ID and secret come from ClientInfoHandler
// (never the form), each grant reads only its own parameters, and Request
// is the very *http.Request passed in (authgate's manager reads the
// authenticated client and the DPoP key from its context).
func TestGoOAuth2Pin_TokenRequestFieldsFromFormAndClientHook(t *testing.T) {
	cases := []struct {
		form url.Values
		want oauth2.TokenGenerateRequest
	}{
		{url.Values{"grant_type": {"authorization_code"}, "code": {"c1"}, "redirect_uri": {"https://app/cb"},
			"code_verifier": {"v1"}, "scope": {"ignored"}, "client_id": {"form-client"}, "client_secret": {"form-secret"}},
			oauth2.TokenGenerateRequest{Code: "c1", RedirectURI: "https://app/cb", CodeVerifier: "v1"}},
		{url.Values{"grant_type": {"client_credentials"}, "scope": {"read write"}, "redirect_uri": {"https://ignored"}},
			oauth2.TokenGenerateRequest{Scope: "read write"}},
		{url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r1"}, "scope": {"read"}, "code": {"ignored"}},
			oauth2.TokenGenerateRequest{Refresh: "r1", Scope: "read"}},
	}
	for _, tc := range cases {
		t.Run(tc.form.Get("grant_type"), func(t *testing.T) {
			srv, m := pinServer(&pinLog{}, false)
			_, r := pinTokenRequest(srv, tc.form)
			if m.tgr == nil {
				t.Fatal("the manager was not called")
			}
			if m.tgr.Request != r {
				t.Error("TokenGenerateRequest.Request is not the request passed to HandleTokenRequest")
			}
			got := *m.tgr
			got.Request = nil
			want := tc.want
			want.ClientID, want.ClientSecret = "client-from-hook", "secret-from-hook"
			if !reflect.DeepEqual(got, want) {
				t.Errorf("TokenGenerateRequest changed (server/server.go ValidationTokenRequest):\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestGoOAuth2Pin_CodeGrantRequiresRedirectURIAndForcedVerifier pins two
// checks of server.ValidationTokenRequest: a code grant without
// redirect_uri is invalid_request before the manager is called (which is why
// authgate's token endpoint substitutes a marker for an omitted one), and
// with ForcePKCE a code grant without code_verifier is too.
func TestGoOAuth2Pin_CodeGrantRequiresRedirectURIAndForcedVerifier(t *testing.T) {
	for _, tc := range []struct {
		name  string
		force bool
		form  url.Values
	}{
		{"no redirect_uri", false, url.Values{"grant_type": {"authorization_code"}, "code": {"c"}}},
		{"ForcePKCE, no code_verifier", true, url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {"https://app/cb"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &pinLog{}
			srv, m := pinServer(log, tc.force)
			w, _ := pinTokenRequest(srv, tc.form)
			if m.tgr != nil {
				t.Error("the manager was called")
			}
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Header().Get("X-Pin-Data"), "error:invalid_request") {
				t.Errorf("got %d %q, want 400 invalid_request", w.Code, w.Header().Get("X-Pin-Data"))
			}
		})
	}
}

// TestGoOAuth2Pin_ClientInfoHandlerErrorEndsRequest pins that an error from
// ClientInfoHandler ends the token request before any other hook or the
// manager, and reaches InternalErrorHandler as the same value (authgate
// returns its own *oauthError there, or a library sentinel, which classify
// looks up by identity), whose response header reaches ResponseTokenHandler.
func TestGoOAuth2Pin_ClientInfoHandlerErrorEndsRequest(t *testing.T) {
	log := &pinLog{}
	srv, m := pinServer(log, false)
	authErr := errors.New("client authentication failed (authgate's own error)")
	var seen error
	srv.SetClientInfoHandler(func(*http.Request) (string, string, error) {
		log.add("ClientInfoHandler")
		return "", "", authErr
	})
	srv.SetInternalErrorHandler(func(err error) *oerrors.Response {
		log.add("InternalErrorHandler")
		seen = err
		r := &oerrors.Response{Error: errors.New("invalid_client"), StatusCode: http.StatusUnauthorized}
		r.SetHeader("WWW-Authenticate", "Basic")
		return r
	})
	w, _ := pinTokenRequest(srv, url.Values{"grant_type": {"client_credentials"}})
	want := []string{"ClientInfoHandler", "InternalErrorHandler", "ResponseErrorHandler", "ResponseTokenHandler(401)"}
	if got := log.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("hooks: got %q, want %q", got, want)
	}
	if seen != authErr {
		t.Errorf("InternalErrorHandler got %v, want the ClientInfoHandler error itself", seen)
	}
	if m.tgr != nil {
		t.Error("the manager was called after ClientInfoHandler failed")
	}
	if got := w.Header().Get("X-Pin-WWW-Authenticate"); got != "Basic" {
		t.Errorf("ResponseTokenHandler got WWW-Authenticate %q, want the InternalErrorHandler's header", got)
	}
}

// TestGoOAuth2Pin_GrantTypeCheckedAfterParsing pins that
// server.HandleTokenRequest checks AllowedGrantTypes only in GetAccessToken,
// after ValidationTokenRequest has authenticated the client and, for
// grant_type=password, called PasswordAuthorizationHandler with the
// user's credentials even though password is not allowed, while a grant
// type it does not know is unsupported_grant_type. This is why authgate
// refuses unsupported grant types before calling the library.
func TestGoOAuth2Pin_GrantTypeCheckedAfterParsing(t *testing.T) {
	log := &pinLog{}
	srv, m := pinServer(log, false)
	srv.SetPasswordAuthorizationHandler(func(context.Context, string, string, string) (string, error) {
		log.add("PasswordAuthorizationHandler")
		return "user-1", nil
	})
	w, _ := pinTokenRequest(srv, url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}})
	want := []string{"ClientInfoHandler", "PasswordAuthorizationHandler", "ResponseErrorHandler", "ResponseTokenHandler(401)"}
	if got := log.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("password grant (not allowed): got %q, want %q", got, want)
	}
	if !strings.Contains(w.Header().Get("X-Pin-Data"), "error:unauthorized_client") {
		t.Errorf("got %q, want unauthorized_client", w.Header().Get("X-Pin-Data"))
	}
	// A grant type outside the four it knows (GrantType.String, const.go)
	// is unsupported_grant_type before client authentication.
	w, _ = pinTokenRequest(srv, url.Values{"grant_type": {"urn:example:unknown"}})
	want = []string{"ResponseErrorHandler", "ResponseTokenHandler(401)"}
	if got := log.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("unknown grant type: got %q, want %q", got, want)
	}
	if !strings.Contains(w.Header().Get("X-Pin-Data"), "error:unsupported_grant_type") {
		t.Errorf("unknown grant type: got %q, want unsupported_grant_type", w.Header().Get("X-Pin-Data"))
	}
	if m.tgr != nil {
		t.Error("the manager was called for a grant type that is not allowed")
	}
}

// TestGoOAuth2Pin_ErrorDataRouting pins server.GetErrorData and the
// errors package tables: a sentinel listed in errors.Descriptions is
// answered with errors.StatusCodes and never reaches InternalErrorHandler;
// every other error — the library's internal sentinels authgate maps in
// libraryErrors, and any wrapped error — does, compared by identity;
// ResponseErrorHandler runs last and its changes are what is written.
func TestGoOAuth2Pin_ErrorDataRouting(t *testing.T) {
	wantStatus := map[error]int{
		oerrors.ErrInvalidRequest: 400, oerrors.ErrInvalidScope: 400,
		oerrors.ErrInvalidClient: 401, oerrors.ErrInvalidGrant: 401,
		oerrors.ErrUnauthorizedClient: 401, oerrors.ErrUnsupportedGrantType: 401,
		oerrors.ErrUnsupportedResponseType: 401, oerrors.ErrAccessDenied: 403,
		oerrors.ErrServerError: 500, oerrors.ErrTemporarilyUnavailable: 503,
		oerrors.ErrCodeChallengeRquired: 400, oerrors.ErrUnsupportedCodeChallengeMethod: 400,
		oerrors.ErrInvalidCodeChallengeLen: 400,
	}
	if len(oerrors.Descriptions) != len(wantStatus) || len(oerrors.StatusCodes) != len(wantStatus) {
		t.Errorf("errors.Descriptions has %d entries, StatusCodes %d; want %d", len(oerrors.Descriptions), len(oerrors.StatusCodes), len(wantStatus))
	}
	for err, status := range wantStatus {
		if _, ok := oerrors.Descriptions[err]; !ok {
			t.Errorf("%v is no longer in errors.Descriptions", err)
		}
		if oerrors.StatusCodes[err] != status {
			t.Errorf("errors.StatusCodes[%v] = %d, want %d", err, oerrors.StatusCodes[err], status)
		}
	}
	// The PKCE sentinels read "invalid_request" but are distinct values:
	// Web.issueCode tells a reused challenge (ErrInvalidRequest) from them.
	for _, e := range []error{oerrors.ErrCodeChallengeRquired, oerrors.ErrUnsupportedCodeChallengeMethod, oerrors.ErrInvalidCodeChallengeLen} {
		if errors.Is(e, oerrors.ErrInvalidRequest) || e.Error() != "invalid_request" {
			t.Errorf("PKCE sentinel %q is ErrInvalidRequest or changed its text", e)
		}
	}

	var seen []error
	srv := server.NewServer(server.NewConfig(), &pinManager{log: &pinLog{}})
	srv.SetInternalErrorHandler(func(err error) *oerrors.Response {
		seen = append(seen, err)
		return &oerrors.Response{Error: errors.New("mapped"), StatusCode: 418}
	})
	srv.SetResponseErrorHandler(func(re *oerrors.Response) {
		re.StatusCode++
		re.SetHeader("X-Last", re.Error.Error())
	})
	for err := range wantStatus {
		seen = nil
		data, status, _ := srv.GetErrorData(err)
		if seen != nil || status != wantStatus[err]+1 || data["error"] != err.Error() {
			t.Errorf("%v: InternalErrorHandler saw %v, status %d, data %v", err, seen, status, data)
		}
	}
	internal := []error{}
	for err := range libraryErrors {
		internal = append(internal, err)
	}
	internal = append(internal, fmt.Errorf("wrapped: %w", oerrors.ErrInvalidGrant), errors.New("store failure"))
	for _, err := range internal {
		seen = nil
		data, status, hdr := srv.GetErrorData(err)
		if len(seen) != 1 || seen[0] != err {
			t.Errorf("%v: InternalErrorHandler saw %v, want exactly this error", err, seen)
		}
		if status != 419 || data["error"] != "mapped" || hdr.Get("X-Last") != "mapped" {
			t.Errorf("%v: got %d %v %v; the handlers' response is not what is written", err, status, data, hdr)
		}
	}
}

// TestGoOAuth2Pin_GetAccessTokenTranslatesManagerErrors pins the error
// translation in server.GetAccessToken: for the code grant only
// ErrInvalidAuthorizeCode, ErrInvalidCodeChallenge and
// ErrMissingCodeChallenge become invalid_grant (ErrMissingCodeVerifier
// passes through, hence authgate's libraryErrors); for refresh,
// ErrInvalidRefreshToken and ErrExpiredRefreshToken; comparison is by
// identity, so a wrapped sentinel passes through unchanged.
func TestGoOAuth2Pin_GetAccessTokenTranslatesManagerErrors(t *testing.T) {
	wrapped := fmt.Errorf("x: %w", oerrors.ErrInvalidAuthorizeCode)
	cases := []struct {
		gt       oauth2.GrantType
		in, want error
	}{
		{oauth2.AuthorizationCode, oerrors.ErrInvalidAuthorizeCode, oerrors.ErrInvalidGrant},
		{oauth2.AuthorizationCode, oerrors.ErrInvalidCodeChallenge, oerrors.ErrInvalidGrant},
		{oauth2.AuthorizationCode, oerrors.ErrMissingCodeChallenge, oerrors.ErrInvalidGrant},
		{oauth2.AuthorizationCode, oerrors.ErrMissingCodeVerifier, oerrors.ErrMissingCodeVerifier},
		{oauth2.AuthorizationCode, oerrors.ErrInvalidClient, oerrors.ErrInvalidClient},
		{oauth2.AuthorizationCode, wrapped, wrapped},
		{oauth2.Refreshing, oerrors.ErrInvalidRefreshToken, oerrors.ErrInvalidGrant},
		{oauth2.Refreshing, oerrors.ErrExpiredRefreshToken, oerrors.ErrInvalidGrant},
		{oauth2.Refreshing, oerrors.ErrInvalidAuthorizeCode, oerrors.ErrInvalidAuthorizeCode},
		{oauth2.ClientCredentials, oerrors.ErrInvalidAuthorizeCode, oerrors.ErrInvalidAuthorizeCode},
	}
	for _, tc := range cases {
		srv, m := pinServer(&pinLog{}, false)
		m.err = tc.in
		_, err := srv.GetAccessToken(context.Background(), tc.gt, &oauth2.TokenGenerateRequest{ClientID: "c", Refresh: "r"})
		if err != tc.want {
			t.Errorf("%s: manager error %v became %v, want %v", tc.gt, tc.in, err, tc.want)
		}
	}
}

// TestGoOAuth2Pin_TokenResponseData pins server.GetTokenData and token: the
// success body has access_token, token_type (Config.TokenType), expires_in
// in whole seconds, scope and refresh_token only when non-empty, extension
// fields never override those; ResponseTokenHandler receives the very
// ResponseWriter passed to HandleTokenRequest (authgate's
// writeTokenResponse recognises its DPoP wrapper by type).
func TestGoOAuth2Pin_TokenResponseData(t *testing.T) {
	srv, _ := pinServer(&pinLog{}, false)
	var gotW http.ResponseWriter
	var gotData map[string]any
	srv.SetResponseTokenHandler(func(w http.ResponseWriter, data map[string]any, _ http.Header, _ ...int) error {
		gotW, gotData = w, data
		return nil
	})
	type wrapped struct{ http.ResponseWriter }
	w := &wrapped{httptest.NewRecorder()}
	form := url.Values{"grant_type": {"client_credentials"}}
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = srv.HandleTokenRequest(w, r)
	if gotW != w {
		t.Error("ResponseTokenHandler did not receive the ResponseWriter passed to HandleTokenRequest")
	}
	want := map[string]any{"access_token": "access-1", "token_type": "Bearer", "expires_in": int64(90), "scope": "read", "extra": "x"}
	if !reflect.DeepEqual(gotData, want) {
		t.Errorf("token data:\n got %#v\nwant %#v", gotData, want)
	}

	ti := models.NewToken()
	ti.SetAccess("a")
	ti.SetRefresh("r")
	ti.SetAccessExpiresIn(1500 * time.Millisecond)
	srv.SetExtensionFieldsHandler(nil)
	data := srv.GetTokenData(ti)
	want = map[string]any{"access_token": "a", "token_type": "Bearer", "expires_in": int64(1), "refresh_token": "r"}
	if !reflect.DeepEqual(data, want) {
		t.Errorf("token data with refresh, no scope:\n got %#v\nwant %#v", data, want)
	}
}

// TestGoOAuth2Pin_GetAuthorizeTokenPassesRequest pins server.GetAuthorizeToken,
// which Web.issueCode calls with a request it validated itself: it asks
// ClientAuthorizedHandler (authorization_code) and ClientScopeHandler, then
// the manager with every field of the AuthorizeRequest; it calls no other
// hook (AccessTokenExpHandler is authgate's to call) and never redirects.
func TestGoOAuth2Pin_GetAuthorizeTokenPassesRequest(t *testing.T) {
	log := &pinLog{}
	srv, m := pinServer(log, false)
	r := httptest.NewRequest(http.MethodPost, "/oauth/authorize", nil)
	req := &server.AuthorizeRequest{
		ResponseType: oauth2.Code, ClientID: "c1", UserID: "42", RedirectURI: "https://app/cb",
		Scope: "read", State: "st", AccessTokenExp: time.Minute, Request: r,
		CodeChallenge: strings.Repeat("a", 43), CodeChallengeMethod: oauth2.CodeChallengeS256,
	}
	ti, err := srv.GetAuthorizeToken(context.Background(), req)
	if err != nil || ti.GetCode() != "code-1" {
		t.Fatalf("GetAuthorizeToken: %v, %v", ti, err)
	}
	want := []string{"ClientAuthorizedHandler(authorization_code)", "ClientScopeHandler", "Manager.GenerateAuthToken(code)"}
	if got := log.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("hooks: got %q, want %q", got, want)
	}
	wantTGR := oauth2.TokenGenerateRequest{ClientID: "c1", UserID: "42", RedirectURI: "https://app/cb", Scope: "read",
		AccessTokenExp: time.Minute, Request: r, CodeChallenge: req.CodeChallenge, CodeChallengeMethod: oauth2.CodeChallengeS256}
	if !reflect.DeepEqual(*m.tgr, wantTGR) {
		t.Errorf("TokenGenerateRequest:\n got %+v\nwant %+v", *m.tgr, wantTGR)
	}
	m.err = oerrors.ErrInvalidScope
	if _, err := srv.GetAuthorizeToken(context.Background(), req); err != oerrors.ErrInvalidScope {
		t.Errorf("a manager error came back as %v, want it unchanged", err)
	}
	if log.has("PreRedirectErrorHandler") {
		t.Error("GetAuthorizeToken called PreRedirectErrorHandler")
	}
}

// pinStore is an in-memory oauth2.TokenStore that records its calls.
type pinStore struct {
	log      *pinLog
	created  []oauth2.TokenInfo
	byCode   map[string]oauth2.TokenInfo
	byAccess map[string]oauth2.TokenInfo
	byRef    map[string]oauth2.TokenInfo
	err      error // returned by the Get* methods when set
	rmErr    error // returned by RemoveByCode when set
}

func newPinStore(log *pinLog) *pinStore {
	return &pinStore{log: log, byCode: map[string]oauth2.TokenInfo{}, byAccess: map[string]oauth2.TokenInfo{}, byRef: map[string]oauth2.TokenInfo{}}
}

func (s *pinStore) Create(_ context.Context, ti oauth2.TokenInfo) error {
	s.log.add("Store.Create")
	s.created = append(s.created, ti)
	return nil
}
func (s *pinStore) RemoveByCode(_ context.Context, v string) error {
	s.log.add("Store.RemoveByCode(%s)", v)
	return s.rmErr
}
func (s *pinStore) RemoveByAccess(_ context.Context, v string) error {
	s.log.add("Store.RemoveByAccess(%s)", v)
	return nil
}
func (s *pinStore) RemoveByRefresh(_ context.Context, v string) error {
	s.log.add("Store.RemoveByRefresh(%s)", v)
	return nil
}
func (s *pinStore) GetByCode(_ context.Context, v string) (oauth2.TokenInfo, error) {
	s.log.add("Store.GetByCode(%s)", v)
	return s.byCode[v], s.err
}
func (s *pinStore) GetByAccess(_ context.Context, v string) (oauth2.TokenInfo, error) {
	s.log.add("Store.GetByAccess(%s)", v)
	return s.byAccess[v], s.err
}
func (s *pinStore) GetByRefresh(_ context.Context, v string) (oauth2.TokenInfo, error) {
	s.log.add("Store.GetByRefresh(%s)", v)
	return s.byRef[v], s.err
}

// pinClient is a ClientInfo that, like authgate's clientInfo, verifies
// its secret through ClientPasswordVerifier and reports no plaintext.
type pinClient struct {
	models.Client
	log *pinLog
	ok  bool
}

func (c *pinClient) VerifyPassword(secret string) bool {
	c.log.add("VerifyPassword(%s)", secret)
	return c.ok
}

type pinClients map[string]oauth2.ClientInfo

func (c pinClients) GetByID(_ context.Context, id string) (oauth2.ClientInfo, error) {
	if id == "broken" {
		return nil, errPinStore
	}
	return c[id], nil // (nil, nil) for an unknown client, as authgate's adapter
}

var errPinStore = errors.New("client store failure")

// pinGen records what the generators are given and returns fixed values.
type pinGen struct {
	log  *pinLog
	data *oauth2.GenerateBasic
	snap models.Token // the TokenInfo as it was when the generator ran
}

func (g *pinGen) Token(_ context.Context, data *oauth2.GenerateBasic) (string, error) {
	g.log.add("AuthorizeGenerate")
	g.data, g.snap = data, *data.TokenInfo.(*models.Token)
	return "code-1", nil
}

type pinAccessGen struct{ *pinGen }

func (g pinAccessGen) Token(_ context.Context, data *oauth2.GenerateBasic, genRefresh bool) (string, string, error) {
	g.log.add("AccessGenerate(refresh=%v)", genRefresh)
	g.data, g.snap = data, *data.TokenInfo.(*models.Token)
	if genRefresh {
		return "access-2", "refresh-2", nil
	}
	return "access-2", "", nil
}

// pinManage is a manage.Manager wired like authserver.New, over the
// recording stores and generators.
func pinManage(log *pinLog) (*manage.Manager, *pinStore, *pinGen, pinClients) {
	m := manage.NewManager()
	st := newPinStore(log)
	g := &pinGen{log: log}
	clients := pinClients{
		"conf":   &pinClient{Client: models.Client{ID: "conf", Domain: "https://app/cb\nhttps://app/other"}, log: log, ok: true},
		"public": &pinClient{Client: models.Client{ID: "public", Public: true}, log: log, ok: true},
		"wrong":  &pinClient{Client: models.Client{ID: "wrong", Secret: "plain"}, log: log, ok: false},
	}
	m.MapClientStorage(clients)
	m.MapTokenStorage(st)
	m.MapAuthorizeGenerate(g)
	m.MapAccessGenerate(pinAccessGen{g})
	m.SetAuthorizeCodeExp(5 * time.Minute)
	m.SetAuthorizeCodeTokenCfg(&manage.Config{AccessTokenExp: time.Hour, RefreshTokenExp: 24 * time.Hour, IsGenerateRefresh: true})
	m.SetClientTokenCfg(&manage.Config{AccessTokenExp: 30 * time.Minute})
	m.SetValidateURIHandler(func(domain, uri string) error {
		log.add("ValidateURI(%q, %q)", domain, uri)
		if uri == "https://evil/cb" {
			return oerrors.ErrInvalidRedirectURI
		}
		return nil
	})
	m.SetExtractExtensionHandler(func(_ *oauth2.TokenGenerateRequest, ti oauth2.ExtendableTokenInfo) {
		log.add("ExtractExtension(nil=%v)", ti.GetExtension() == nil)
		ext := url.Values{"grant": {"g1"}}
		for k, v := range ti.GetExtension() {
			ext[k] = v
		}
		ti.SetExtension(ext)
	})
	return m, st, g, clients
}

// TestGoOAuth2Pin_ManagerIssuesCodeFromRequest pins manage.Manager.
// GenerateAuthToken (manage/manager.go), which issues authgate's codes: it
// checks the redirect URI with the ValidateURIHandler, given the client's
// GetDomain (authgate's newline-joined list) and only when one was sent;
// calls the extension hook; copies client, user, redirect URI, scope,
// challenge and method and the requested access lifetime into the code;
// the code lifetime is SetAuthorizeCodeExp; the generator sees the client
// from the store and the request; the store's Create runs once, after.
func TestGoOAuth2Pin_ManagerIssuesCodeFromRequest(t *testing.T) {
	log := &pinLog{}
	m, st, g, clients := pinManage(log)
	r := httptest.NewRequest(http.MethodGet, "/oauth/authorize", nil)
	before := time.Now()
	ti, err := m.GenerateAuthToken(context.Background(), oauth2.Code, &oauth2.TokenGenerateRequest{
		ClientID: "conf", UserID: "42", RedirectURI: "https://app/other", Scope: "read write",
		CodeChallenge: "ch", CodeChallengeMethod: oauth2.CodeChallengeS256, AccessTokenExp: time.Minute, Request: r,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`ValidateURI("https://app/cb\nhttps://app/other", "https://app/other")`, "ExtractExtension(nil=false)", "AuthorizeGenerate", "Store.Create"}
	if got := log.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls: got %q, want %q", got, want)
	}
	if len(st.created) != 1 || st.created[0] != ti {
		t.Fatalf("Create got %v, want the returned code once", st.created)
	}
	if ti.GetCode() != "code-1" || ti.GetClientID() != "conf" || ti.GetUserID() != "42" ||
		ti.GetRedirectURI() != "https://app/other" || ti.GetScope() != "read write" ||
		ti.GetCodeChallenge() != "ch" || ti.GetCodeChallengeMethod() != oauth2.CodeChallengeS256 ||
		ti.GetCodeExpiresIn() != 5*time.Minute || ti.GetAccessExpiresIn() != time.Minute ||
		ti.GetCodeCreateAt().Before(before) || ti.GetAccess() != "" || ti.GetRefresh() != "" {
		t.Errorf("code TokenInfo changed: %+v", ti)
	}
	if ext := ti.(oauth2.ExtendableTokenInfo).GetExtension(); ext.Get("grant") != "g1" {
		t.Errorf("extension %v, want the hook's", ext)
	}
	if g.data.Client != clients["conf"] || g.data.UserID != "42" || g.data.Request != r || g.data.TokenInfo != ti {
		t.Errorf("AuthorizeGenerate got %+v", g.data)
	}

	// No redirect_uri: no validation (authgate's manager fills it first).
	if _, err := m.GenerateAuthToken(context.Background(), oauth2.Code, &oauth2.TokenGenerateRequest{ClientID: "conf"}); err != nil {
		t.Fatal(err)
	}
	if log.has("ValidateURI") {
		t.Error("an omitted redirect_uri was validated")
	}
	log.take()
	for _, tc := range []struct {
		id, uri string
		want    error
	}{
		{"conf", "https://evil/cb", oerrors.ErrInvalidRedirectURI},
		{"unknown", "", oerrors.ErrInvalidClient},
		{"broken", "", errPinStore},
	} {
		_, err := m.GenerateAuthToken(context.Background(), oauth2.Code, &oauth2.TokenGenerateRequest{ClientID: tc.id, RedirectURI: tc.uri})
		if err != tc.want {
			t.Errorf("%s %q: got %v, want %v unchanged", tc.id, tc.uri, err, tc.want)
		}
	}
	if log.has("Store.Create") {
		t.Error("a refused code was stored")
	}
}

// TestGoOAuth2Pin_ManagerClientCredentialsToken pins manage.Manager.
// GenerateAccessToken for client_credentials, which issues authgate's
// client tokens: the secret from ClientInfoHandler goes to VerifyPassword
// (GetSecret is not compared when the client implements it); a public
// client is invalid_client; the extension hook sees a nil extension; the
// generator sees client, scope, creation time and the SetClientTokenCfg
// lifetime already set, and no refresh token is made.
func TestGoOAuth2Pin_ManagerClientCredentialsToken(t *testing.T) {
	log := &pinLog{}
	m, st, g, _ := pinManage(log)
	ti, err := m.GenerateAccessToken(context.Background(), oauth2.ClientCredentials,
		&oauth2.TokenGenerateRequest{ClientID: "conf", ClientSecret: "s3cret", Scope: "read"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"VerifyPassword(s3cret)", "ExtractExtension(nil=true)", "AccessGenerate(refresh=false)", "Store.Create"}
	if got := log.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls: got %q, want %q", got, want)
	}
	snap := g.snap
	if snap.ClientID != "conf" || snap.UserID != "" || snap.Scope != "read" || snap.AccessExpiresIn != 30*time.Minute ||
		snap.AccessCreateAt.IsZero() || snap.Extension.Get("grant") != "g1" || snap.Access != "" {
		t.Errorf("TokenInfo at generation: %+v", snap)
	}
	if ti.GetAccess() != "access-2" || ti.GetRefresh() != "" || len(st.created) != 1 || st.created[0] != ti {
		t.Errorf("issued %+v, created %v", ti, st.created)
	}
	for _, id := range []string{"wrong", "public"} {
		_, err := m.GenerateAccessToken(context.Background(), oauth2.ClientCredentials,
			&oauth2.TokenGenerateRequest{ClientID: id, ClientSecret: "plain"})
		if err != oerrors.ErrInvalidClient {
			t.Errorf("%s: got %v, want ErrInvalidClient", id, err)
		}
	}
}

// TestGoOAuth2Pin_ManagerLoadComparesValueAndExpiry pins manage.Manager.
// LoadAccessToken and LoadRefreshToken: an empty value is refused without
// a store call; (nil, nil) from the store, or a record whose value differs
// from the one asked for (authgate's store, holding digests, copies the
// plaintext back), is ErrInvalid*; expiry is checked against the record's
// create time and lifetime (0 = never); store errors pass unchanged.
func TestGoOAuth2Pin_ManagerLoadComparesValueAndExpiry(t *testing.T) {
	log := &pinLog{}
	m, st, _, _ := pinManage(log)
	ctx := context.Background()
	rec := func(access, refresh string, aAge, aExp, rAge, rExp time.Duration) *models.Token {
		ti := models.NewToken()
		ti.SetAccess(access)
		ti.SetRefresh(refresh)
		ti.SetAccessCreateAt(time.Now().Add(-aAge))
		ti.SetAccessExpiresIn(aExp)
		ti.SetRefreshCreateAt(time.Now().Add(-rAge))
		ti.SetRefreshExpiresIn(rExp)
		return ti
	}
	st.byAccess["live"] = rec("live", "", time.Minute, time.Hour, 0, 0)
	st.byAccess["forever"] = rec("forever", "", 1000*time.Hour, 0, 0, 0)
	st.byAccess["other"] = rec("different", "", 0, time.Hour, 0, 0)
	st.byAccess["expired"] = rec("expired", "", 2*time.Hour, time.Hour, 0, 0)
	st.byAccess["refresh-expired"] = rec("refresh-expired", "r", 0, time.Hour, 2*time.Hour, time.Hour)
	st.byRef["live"] = rec("a", "live", 0, 0, time.Minute, time.Hour)
	st.byRef["forever"] = rec("a", "forever", 0, 0, 1000*time.Hour, 0)
	st.byRef["other"] = rec("a", "different", 0, 0, 0, time.Hour)
	st.byRef["expired"] = rec("a", "expired", 0, 0, 2*time.Hour, time.Hour)
	for v, want := range map[string]error{"live": nil, "forever": nil, "other": oerrors.ErrInvalidAccessToken,
		"expired": oerrors.ErrExpiredAccessToken, "refresh-expired": oerrors.ErrExpiredRefreshToken, "unknown": oerrors.ErrInvalidAccessToken} {
		if _, err := m.LoadAccessToken(ctx, v); err != want {
			t.Errorf("LoadAccessToken(%s) = %v, want %v", v, err, want)
		}
	}
	for v, want := range map[string]error{"live": nil, "forever": nil, "other": oerrors.ErrInvalidRefreshToken,
		"expired": oerrors.ErrExpiredRefreshToken, "unknown": oerrors.ErrInvalidRefreshToken} {
		if _, err := m.LoadRefreshToken(ctx, v); err != want {
			t.Errorf("LoadRefreshToken(%s) = %v, want %v", v, err, want)
		}
	}
	log.take()
	if _, err := m.LoadAccessToken(ctx, ""); err != oerrors.ErrInvalidAccessToken {
		t.Errorf("LoadAccessToken(\"\") = %v", err)
	}
	if _, err := m.LoadRefreshToken(ctx, ""); err != oerrors.ErrInvalidRefreshToken {
		t.Errorf("LoadRefreshToken(\"\") = %v", err)
	}
	if got := log.take(); len(got) != 0 {
		t.Errorf("an empty value reached the store: %q", got)
	}
	st.err = errPinStore
	if _, err := m.LoadAccessToken(ctx, "live"); err != errPinStore {
		t.Errorf("store error became %v", err)
	}
	if _, err := m.LoadRefreshToken(ctx, "live"); err != errPinStore {
		t.Errorf("store error became %v", err)
	}
}

// TestGoOAuth2Pin_ManagerCodeExchangeGetThenRemove pins the library's own
// code redemption (manage.Manager.GenerateAccessToken, getAndDelAuthorizationCode,
// validateCodeChallenge), which authgate replaces: GetByCode, then
// RemoveByCode with the code, in separate calls (a double spend under
// concurrency); the code is removed before PKCE is checked; a wrong client
// or redirect URI is ErrInvalidAuthorizeCode without removal; a missing
// method means plain; the token copies user, scope, access lifetime and the
// very extension map of the code, and takes its redirect URI from the
// request. If this changes, docs/go-oauth2.md, "Findings and their tests"
// needs re-reading.
func TestGoOAuth2Pin_ManagerCodeExchangeGetThenRemove(t *testing.T) {
	log := &pinLog{}
	m, st, g, _ := pinManage(log)
	ctx := context.Background()
	code := func(v, challenge string, method oauth2.CodeChallengeMethod) *models.Token {
		ti := models.NewToken()
		ti.SetCode(v)
		ti.SetClientID("conf")
		ti.SetUserID("42")
		ti.SetRedirectURI("https://app/cb")
		ti.SetScope("read")
		ti.SetCodeCreateAt(time.Now())
		ti.SetCodeExpiresIn(time.Minute)
		ti.SetAccessExpiresIn(7 * time.Minute)
		ti.SetCodeChallenge(challenge)
		ti.SetCodeChallengeMethod(method)
		ti.Extension.Set("grant", "from-code")
		return ti
	}
	st.byCode["c1"] = code("c1", "", "")
	tgr := &oauth2.TokenGenerateRequest{ClientID: "conf", Code: "c1", RedirectURI: "https://app/cb"}
	ti, err := m.GenerateAccessToken(ctx, oauth2.AuthorizationCode, tgr)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"VerifyPassword()", `ValidateURI("https://app/cb\nhttps://app/other", "https://app/cb")`,
		"Store.GetByCode(c1)", "Store.RemoveByCode(c1)", "ExtractExtension(nil=false)", "AccessGenerate(refresh=true)", "Store.Create"}
	if got := log.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls: got %q, want %q", got, want)
	}
	if ti.GetUserID() != "42" || ti.GetScope() != "read" || ti.GetAccessExpiresIn() != 7*time.Minute ||
		ti.GetRedirectURI() != "https://app/cb" || ti.GetRefreshExpiresIn() != 24*time.Hour || ti.GetRefresh() != "refresh-2" {
		t.Errorf("token from code: %+v", ti)
	}
	if ext := ti.(oauth2.ExtendableTokenInfo).GetExtension(); ext.Get("grant") != "from-code" {
		t.Errorf("extension %v is not the code's", ext)
	}
	if g.snap.Extension.Get("grant") != "from-code" {
		t.Errorf("the generator saw extension %v, not the code's", g.snap.Extension)
	}

	// PKCE is checked after the code is removed; no method means plain.
	st.byCode["c2"] = code("c2", strings.Repeat("p", 43), "")
	_, err = m.GenerateAccessToken(ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{ClientID: "conf", Code: "c2", RedirectURI: "https://app/cb", CodeVerifier: "wrong"})
	if err != oerrors.ErrInvalidCodeChallenge || !log.has("Store.RemoveByCode(c2)") {
		t.Errorf("wrong verifier: %v, calls %q", err, log.take())
	}
	log.take()
	if _, err := m.GenerateAccessToken(ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{ClientID: "conf", Code: "c2", RedirectURI: "https://app/cb", CodeVerifier: strings.Repeat("p", 43)}); err != nil {
		t.Errorf("plain verifier for a code without method: %v", err)
	}
	log.take()
	// authgate's RemoveByCode is the atomic consume: a losing caller gets
	// ErrInvalidAuthorizeCode, which must come back unchanged.
	st.byCode["c4"] = code("c4", "", "")
	st.rmErr = oerrors.ErrInvalidAuthorizeCode
	if _, err := m.GenerateAccessToken(ctx, oauth2.AuthorizationCode, &oauth2.TokenGenerateRequest{ClientID: "conf", Code: "c4", RedirectURI: "https://app/cb"}); err != oerrors.ErrInvalidAuthorizeCode || log.has("Store.Create") {
		t.Errorf("RemoveByCode's error became %v, or a token was stored anyway", err)
	}
	st.rmErr = nil
	log.take()
	st.byCode["c3"] = code("c3", "", "")
	for _, tc := range []*oauth2.TokenGenerateRequest{
		{ClientID: "public", Code: "c3", RedirectURI: "https://app/cb"},
		{ClientID: "conf", Code: "c3", RedirectURI: "https://app/other"},
		{ClientID: "conf", Code: "c3", RedirectURI: "https://app/cb", CodeVerifier: strings.Repeat("v", 43)},
	} {
		_, err := m.GenerateAccessToken(ctx, oauth2.AuthorizationCode, tc)
		want := oerrors.ErrInvalidAuthorizeCode
		if tc.CodeVerifier != "" {
			want = oerrors.ErrMissingCodeVerifier // a verifier for a code without challenge
		}
		if err != want {
			t.Errorf("%+v: got %v, want %v", tc, err, want)
		}
		if removed := log.has("Store.RemoveByCode"); removed != (tc.CodeVerifier != "") {
			t.Errorf("%+v: RemoveByCode called = %v", tc, removed)
		}
		log.take()
	}
}

// TestGoOAuth2Pin_ManagerRefreshUnboundAndWidens pins the library's own
// refresh (manage.Manager.RefreshAccessToken), which authgate replaces: it
// ignores the requesting client, replaces the scope with any requested
// one, stores the new token, then calls RemoveByAccess (IsRemoveAccess)
// and RemoveByRefresh (IsRemoveRefreshing) with the old values, in that
// order, after Create. If this changes, docs/go-oauth2.md,
// "Refresh tokens" needs re-reading.
func TestGoOAuth2Pin_ManagerRefreshUnboundAndWidens(t *testing.T) {
	log := &pinLog{}
	m, st, _, _ := pinManage(log)
	m.SetRefreshTokenCfg(&manage.RefreshingConfig{AccessTokenExp: time.Hour, RefreshTokenExp: time.Hour,
		IsGenerateRefresh: true, IsRemoveAccess: true, IsRemoveRefreshing: true})
	old := models.NewToken()
	old.SetClientID("conf")
	old.SetAccess("old-access")
	old.SetRefresh("old-refresh")
	old.SetScope("read")
	old.SetRefreshCreateAt(time.Now())
	old.SetRefreshExpiresIn(time.Hour)
	st.byRef["old-refresh"] = old
	ti, err := m.RefreshAccessToken(context.Background(), &oauth2.TokenGenerateRequest{
		ClientID: "someone-else", ClientSecret: "anything", Refresh: "old-refresh", Scope: "read admin"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Store.GetByRefresh(old-refresh)", "AccessGenerate(refresh=true)", "Store.Create",
		"Store.RemoveByAccess(old-access)", "Store.RemoveByRefresh(old-refresh)"}
	if got := log.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("calls: got %q, want %q", got, want)
	}
	if ti.GetClientID() != "conf" || ti.GetScope() != "read admin" || ti.GetAccess() != "access-2" || ti.GetRefresh() != "refresh-2" {
		t.Errorf("refreshed token %+v", ti)
	}
}

// TestGoOAuth2Pin_DefaultValidateURIMatchesHostSuffix pins
// manage.DefaultValidateURI, the default authgate replaces with
// exactURIValidator: it accepts any host ending in the registered one.
func TestGoOAuth2Pin_DefaultValidateURIMatchesHostSuffix(t *testing.T) {
	if err := manage.DefaultValidateURI("https://example.com/cb", "https://evil-example.com/steal"); err != nil {
		t.Errorf("host-suffix match no longer accepted (%v): docs/go-oauth2.md, \"Redirect URIs\" needs re-reading", err)
	}
	if err := manage.DefaultValidateURI("https://example.com/cb", "https://example.org/cb"); err != oerrors.ErrInvalidRedirectURI {
		t.Errorf("a different host: %v, want ErrInvalidRedirectURI", err)
	}
	if err := exactURIValidator("https://example.com/cb", "https://evil-example.com/steal"); err == nil {
		t.Error("exactURIValidator accepted a host suffix")
	}
}

// TestGoOAuth2Pin_NewTokenHasExtensionMap pins models.NewToken: the
// Extension map is allocated (authserver's issue writes into it directly)
// and SetExtension stores the map itself.
func TestGoOAuth2Pin_NewTokenHasExtensionMap(t *testing.T) {
	ti := models.NewToken()
	if ti.Extension == nil {
		t.Fatal("models.NewToken no longer allocates Extension")
	}
	ext := url.Values{"k": {"v"}}
	ti.SetExtension(ext)
	ext.Set("k", "changed")
	if ti.GetExtension().Get("k") != "changed" {
		t.Error("SetExtension copies the map")
	}
}

// TestGoOAuth2Pin_ServerDefaults pins the defaults of server.NewConfig,
// server.NewServer and server/handler.go: authgate relies on the default
// RefreshTokenResolveHandler (refresh_token from the form, missing =
// invalid_request) and replaces the others because of what is pinned here
// (implicit and password on, plain PKCE, Basic credentials not
// URL-decoded, access_token accepted as a query parameter, an omitted
// code_challenge_method taken as plain).
func TestGoOAuth2Pin_ServerDefaults(t *testing.T) {
	cfg := server.NewConfig()
	if !reflect.DeepEqual(cfg.AllowedResponseTypes, []oauth2.ResponseType{oauth2.Code, oauth2.Token}) ||
		!reflect.DeepEqual(cfg.AllowedGrantTypes, []oauth2.GrantType{oauth2.AuthorizationCode, oauth2.PasswordCredentials, oauth2.ClientCredentials, oauth2.Refreshing}) ||
		!reflect.DeepEqual(cfg.AllowedCodeChallengeMethods, []oauth2.CodeChallengeMethod{oauth2.CodeChallengePlain, oauth2.CodeChallengeS256}) ||
		cfg.ForcePKCE || cfg.AllowGetAccessRequest || cfg.TokenType != "Bearer" {
		t.Errorf("server.NewConfig changed: %+v", cfg)
	}
	srv := server.NewServer(cfg, &pinManager{log: &pinLog{}})
	form := func(body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token?access_token=q", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	if v, err := srv.RefreshTokenResolveHandler(form("refresh_token=r1")); v != "r1" || err != nil {
		t.Errorf("default RefreshTokenResolveHandler: %q, %v", v, err)
	}
	if _, err := srv.RefreshTokenResolveHandler(form("")); err != oerrors.ErrInvalidRequest {
		t.Errorf("default RefreshTokenResolveHandler without refresh_token: %v, want ErrInvalidRequest", err)
	}
	r := form("")
	r.SetBasicAuth("a%3Ab", "s%20x")
	if id, secret, err := srv.ClientInfoHandler(r); id != "a%3Ab" || secret != "s%20x" || err != nil {
		t.Errorf("default ClientInfoHandler: %q %q %v, want Basic credentials not URL-decoded", id, secret, err)
	}
	if tok, ok := srv.AccessTokenResolveHandler(form("")); tok != "q" || !ok {
		t.Errorf("default AccessTokenResolveHandler: %q %v, want the access_token query parameter", tok, ok)
	}
	ar, err := srv.ValidationAuthorizeRequest(httptest.NewRequest(http.MethodGet,
		"/oauth/authorize?client_id=c&response_type=code&code_challenge="+strings.Repeat("a", 43), nil))
	if err != nil || ar.CodeChallengeMethod != oauth2.CodeChallengePlain {
		t.Errorf("omitted code_challenge_method: %+v, %v, want plain", ar, err)
	}
}

// TestGoOAuth2Pin_BearerValidationUsesResolverThenManager pins
// server.ValidationBearerToken: the token comes from AccessTokenResolveHandler
// (authgate sets bearerHeaderOnly), and only then Manager.LoadAccessToken.
func TestGoOAuth2Pin_BearerValidationUsesResolverThenManager(t *testing.T) {
	log := &pinLog{}
	srv, _ := pinServer(log, false)
	if _, err := srv.ValidationBearerToken(httptest.NewRequest(http.MethodGet, "/?access_token=x", nil)); err != oerrors.ErrInvalidAccessToken {
		t.Errorf("no token resolved: %v, want ErrInvalidAccessToken", err)
	}
	if got, want := log.take(), []string{"AccessTokenResolveHandler"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls: got %q, want %q", got, want)
	}
	srv.SetAccessTokenResolveHandler(bearerHeaderOnly)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "bearer tok")
	if ti, err := srv.ValidationBearerToken(r); err != nil || ti.GetAccess() != "access-1" {
		t.Errorf("bearer header: %v, %v", ti, err)
	}
	if got, want := log.take(), []string{"Manager.LoadAccessToken"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls: got %q, want %q", got, want)
	}
}
