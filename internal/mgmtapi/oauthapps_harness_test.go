package mgmtapi_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/server"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
)

// The OAuth-apps tests run /api/oauth-apps/ in the real application
// (internal/testenv): the management API's Clients is the authorization
// server, whose token and introspection endpoints and Bearer validator in
// the Guard they use. appsHarness adds the OAuth helpers they share.

type appsHarness struct {
	t         testing.TB
	e         *testenv.Env
	d         *db.DB
	s         *authserver.Server
	srv       *httptest.Server
	apiTokens *tokens.Manager
	http      *http.Client
	alice     users.User // not an admin
	bob       users.User // the seeded admin (testenv.AdminUsername)
}

// appsEnv adds the resource "test" and HTTP Basic on the API, and lifts
// the failure limits: some tests make failing calls on purpose from one
// address; the limits have their own tests (authserver, internal/app).
var appsEnv = testenv.Config(func(c *configs.Config) {
	c.Resources = append(c.Resources, configs.Resource{Name: "test", Methods: []string{"GET", "POST", "DELETE"}})
	c.Auth.EnableBasic = true
	c.Auth.TokenEndpointIPFailRate = -1
	c.Auth.APIFailedAuthAttempts = -1
})

// eachApps runs fn on SQLite and on PostgreSQL.
func eachApps(t *testing.T, fn func(t *testing.T, h *appsHarness)) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		a := e.App
		h := &appsHarness{t: t, e: e, d: a.DB, s: a.OAuth, srv: e.Server, apiTokens: a.Tokens, alice: e.User, bob: e.Admin,
			http: &http.Client{Timeout: 30 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		// No request has reached the router yet: adding a route is safe.
		a.Router.GET("/api/test/", a.Guard.Protect(resources.Resource{Name: "test"}), func(c *gin.Context) {
			c.JSON(http.StatusOK, gin.H{"stat": "ok"})
		})
		fn(t, h)
	}, appsEnv)
}

// response is a decoded response.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r response) str(k string) string { s, _ := r.Body[k].(string); return s }

func (h *appsHarness) do(req *http.Request) response {
	h.t.Helper()
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") && len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			h.t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return out
}

// appsRequest calls the management API as username (HTTP Basic; "bob" is
// the seeded admin), or with the given Authorization header when username
// contains a space.
func (h *appsHarness) appsRequest(method, path, body, username string) response {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case strings.Contains(username, " "):
		req.Header.Set("Authorization", username)
	case username == "bob":
		req.SetBasicAuth(testenv.AdminUsername, testenv.AdminPassword)
	case username != "":
		req.SetBasicAuth(username, testenv.UserPassword)
	}
	return h.do(req)
}

// token posts form to the token endpoint with client id and secret in the
// Basic header.
func (h *appsHarness) token(form url.Values, id, secret string) response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+authserver.PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return h.do(req)
}

// client registers a client through the Server, as the CLI does.
func (h *appsHarness) client(spec authserver.ClientSpec) (*authserver.Client, string) {
	h.t.Helper()
	return h.e.RegisterClient(spec)
}

// serviceClient is a confidential client_credentials client.
func (h *appsHarness) serviceClient(scopeList ...string) (*authserver.Client, string) {
	return h.client(authserver.ClientSpec{GrantTypes: []string{authserver.GrantClientCredentials}, Scopes: scopeList})
}

// tokens runs a code flow for alice (the code issued the way the
// authorization endpoint issues it, with PKCE) and returns the token
// response.
func (h *appsHarness) tokens(c *authserver.Client, secret, scope string) response {
	h.t.Helper()
	var b [32]byte
	_, _ = rand.Read(b[:])
	verifier := base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	ti, err := h.s.OAuth2.GetAuthorizeToken(context.Background(), &server.AuthorizeRequest{
		ResponseType: oauth2.Code, ClientID: c.ID, RedirectURI: c.RedirectURIs[0], Scope: scope,
		UserID: strconv.FormatInt(h.alice.ID, 10), CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]),
		CodeChallengeMethod: oauth2.CodeChallengeS256, Request: httptest.NewRequest(http.MethodGet, authserver.PathAuthorize, nil),
	})
	if err != nil {
		h.t.Fatalf("mint code: %v", err)
	}
	resp := h.token(url.Values{"grant_type": {"authorization_code"}, "code": {ti.GetCode()},
		"redirect_uri": {c.RedirectURIs[0]}, "code_verifier": {verifier}}, c.ID, secret)
	if resp.Status != http.StatusOK {
		h.t.Fatalf("exchange: %d %s", resp.Status, resp.Raw)
	}
	return resp
}

func (h *appsHarness) refresh(c *authserver.Client, secret, refresh string) response {
	h.t.Helper()
	return h.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, c.ID, secret)
}

// active asks the introspection endpoint, as a fresh resource-server
// client, whether raw is active.
func (h *appsHarness) active(raw string) bool {
	h.t.Helper()
	rs, secret := h.client(authserver.ClientSpec{Name: "resource server",
		GrantTypes: []string{authserver.GrantClientCredentials}, ResourceServer: true})
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+authserver.PathIntrospect, strings.NewReader(url.Values{"token": {raw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rs.ID), url.QueryEscape(secret))
	r := h.do(req)
	if r.Status != http.StatusOK {
		h.t.Fatalf("introspect: %d %s", r.Status, r.Raw)
	}
	a, _ := r.Body["active"].(bool)
	return a
}

// api calls a Guard-protected resource with authorization.
func (h *appsHarness) api(authorization string) response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/api/test/", nil)
	req.Header.Set("Authorization", authorization)
	return h.do(req)
}

// expectError checks an RFC 6749 §5.2 error response.
func expectError(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.Status != status || r.str("error") != code {
		t.Fatalf("want %d %s, got %d %s", status, code, r.Status, r.Raw)
	}
}

// lastAuditID returns the newest audit event's ID (0 when there is none).
func (h *appsHarness) lastAuditID() int64 {
	h.t.Helper()
	evs, err := audit.List(context.Background(), h.d, audit.Filter{NewestFirst: true, Limit: 1})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(evs) == 0 {
		return 0
	}
	return evs[0].ID
}

// wantEvent is the one audit event an operation must leave.
type wantEvent struct {
	kind        string
	subjectType string
	subjectID   string
	actor       int64  // 0: none
	data        string // JSON, compared as a value
}

// expectOneEvent checks that exactly want was appended after since.
func (h *appsHarness) expectOneEvent(t *testing.T, since int64, want wantEvent) {
	t.Helper()
	evs, err := audit.List(context.Background(), h.d, audit.Filter{AfterID: since})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d audit events, want exactly one %s: %+v", len(evs), want.kind, evs)
	}
	e := evs[0]
	if e.Kind != want.kind || e.SubjectType != want.subjectType || e.SubjectID != want.subjectID {
		t.Errorf("event %s %s/%s, want %s %s/%s", e.Kind, e.SubjectType, e.SubjectID, want.kind, want.subjectType, want.subjectID)
	}
	if actor := e.ActorUserID; (actor == nil) != (want.actor == 0) || actor != nil && *actor != want.actor {
		t.Errorf("actor %v, want %d", actor, want.actor)
	}
	var got, exp any
	if err := json.Unmarshal(e.Data, &got); err != nil {
		t.Fatalf("data %s: %v", e.Data, err)
	}
	if err := json.Unmarshal([]byte(want.data), &exp); err != nil {
		t.Fatalf("bad expectation %s: %v", want.data, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("data\n got %s\nwant %s", e.Data, want.data)
	}
}

// expectNoSecrets scans every column of every audit_events row, read with
// plain SQL, for the secrets and their SHA-256 digests.
func (h *appsHarness) expectNoSecrets(t *testing.T, secrets ...string) {
	t.Helper()
	rows, err := h.d.Queryx(`SELECT * FROM audit_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		cols, err := rows.SliceScan()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			if bs, ok := c.([]byte); ok {
				c = string(bs)
			}
			fmt.Fprintf(&b, "%v\t", c)
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if text == "" {
		t.Fatal("audit_events is empty: the scan would prove nothing")
	}
	for _, s := range secrets {
		sum := sha256.Sum256([]byte(s))
		if s == "" || strings.Contains(text, s) || strings.Contains(text, hex.EncodeToString(sum[:])) {
			t.Errorf("audit_events holds a secret or its digest (%.9s…)", s)
		}
	}
}
