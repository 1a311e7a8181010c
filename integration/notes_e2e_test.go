package integration

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authgate/authgate/internal/db/dbtest"
)

// notesRevocationBound is the --revocation-bound the suite gives notes:
// short, so the revocation step is quick, and long enough that a token
// used just before authgate stops is still cached while it is down.
const notesRevocationBound = 3 * time.Second

// notesRig is authgate and examples/notes running as two processes.
type notesRig struct {
	bin, dsn  string
	agAddr    string
	ag        *e2eServer
	agProc    *proc
	agLogs    *lockedBuffer
	notes     string // base URL of notes, also its audience
	notesProc *proc
	notesLogs *lockedBuffer
	mu        sync.Mutex
	secrets   []string // never to appear in a log
	notesID   string   // notes' own client (resource server)
	appID     string   // the third-party app (public client)
	appRedir  string
	botID     string // a client_credentials client holding note:read
	botSecret string
}

// cli is authgate's CLI helpers reporting to t (the test or subtest
// running on this goroutine).
func (r *notesRig) cli(t *testing.T) *e2eServer {
	s := *r.ag
	s.t = t
	return &s
}

// secret records a value that must never appear in a log.
func (r *notesRig) secret(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, s)
	return s
}

// client creates an OAuth2 client with the CLI.
func (r *notesRig) client(t *testing.T, args ...string) (id, secret string) {
	t.Helper()
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	r.cli(t).cliJSON(&c, append([]string{"client", "create"}, args...)...)
	if c.ID == "" {
		t.Fatal("client create printed no client_id")
	}
	if c.Secret != "" {
		r.secret(c.Secret)
	}
	return c.ID, c.Secret
}

func startNotesRig(t *testing.T, agBin, notesBin, dsn string) *notesRig {
	t.Helper()
	r := &notesRig{bin: agBin, dsn: dsn, agAddr: freeAddr(t), agLogs: &lockedBuffer{}, notesLogs: &lockedBuffer{}}
	notesAddr := freeAddr(t)
	r.notes = "http://" + notesAddr
	r.ag, r.agProc = startAuthgateAt(t, agBin, dsn, r.agAddr, r.agLogs)
	r.secret(e2eAdminPassword)
	r.secret(userPassword)
	r.ag.cliStdin(userPassword+"\n", "user", "create", userName, "--password-stdin")

	// The resource server's own client: a resource-server client may
	// register resources (client_credentials with resource:write) and
	// introspect the tokens other clients hold.
	var secret string
	r.notesID, secret = r.client(t, "--name", "notes", "--resource-server", "--grant", "client_credentials", "--scope", "resource:write")
	secretFile := filepath.Join(t.TempDir(), "notes.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.notesProc = startProc(t, "notes", notesBin, []string{
		"--addr", notesAddr, "--issuer", r.ag.base, "--client-id", r.notesID,
		"--client-secret-file", secretFile, "--revocation-bound", notesRevocationBound.String(),
		// Every request comes from 127.0.0.1: without this the 1,000 junk
		// credentials would lock the address out (notes' failed-auth limit)
		// instead of showing that each is refused locally.
		"--failed-auth-attempts", "-1",
	}, os.Environ(), r.notesLogs)
	r.notesProc.waitReady(t, r.notes+"/healthz")

	// Registered: the scopes exist now, so clients may be given them.
	var md struct {
		ScopesSupported []string `json:"scopes_supported"`
	}
	(&authgate{t: t, URL: r.ag.base}).getJSON("/.well-known/oauth-authorization-server", &md)
	for _, s := range []string{"note:read", "note:write", "note:destroy"} {
		if !slices.Contains(md.ScopesSupported, s) {
			t.Fatalf("after notes registered, scopes_supported %v lacks %s", md.ScopesSupported, s)
		}
	}
	r.appRedir = "http://127.0.0.1:8400/callback"
	r.appID, _ = r.client(t, "--name", "Note Reader", "--public", "--redirect-uri", r.appRedir,
		"--grant", "authorization_code", "--scope", "note:read,note:write")
	r.botID, r.botSecret = r.client(t, "--name", "note bot", "--grant", "client_credentials", "--scope", "note:read")
	return r
}

// aliceToken makes an API token for alice with the CLI.
func (r *notesRig) aliceToken(t *testing.T, policy string) string {
	t.Helper()
	tok, _ := r.cli(t).createTokenFor(userName, policy)
	return r.secret(tok)
}

// botToken is a fresh client_credentials access token holding note:read.
func (r *notesRig) botToken(t *testing.T) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: r.botID, ClientSecret: r.botSecret, TokenURL: r.ag.base + "/oauth/token",
		Scopes: []string{"note:read"}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("client_credentials token: %v", err)
	}
	return r.secret(tok.AccessToken)
}

// appToken runs the third-party app's authorization-code + PKCE flow
// with golang.org/x/oauth2: alice signs in and consents in a browser
// (an http.Client with a cookie jar), the app exchanges the code.
func (r *notesRig) appToken(t *testing.T, scope string) string {
	t.Helper()
	ag := &authgate{t: t, URL: r.ag.base}
	cfg := ag.oauthConfig(registeredClient{ID: r.appID, RedirectURI: r.appRedir}, scope)
	verifier := oauth2.GenerateVerifier()
	q := callback(t, ag, ag.browser().authorize(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))), r.appRedir)
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return r.secret(tok.AccessToken)
}

// do calls notes.
func (r *notesRig) do(t *testing.T, method, path, authz string, form url.Values) apiResp {
	t.Helper()
	return call(t, method, r.notes+path, authz, form)
}

// until repeats fn every 50ms until ok(resp) or d passes; it returns the
// last response and how long it took.
func until(d time.Duration, fn func() apiResp, ok func(apiResp) bool) (apiResp, time.Duration) {
	start := time.Now()
	for {
		resp := fn()
		if ok(resp) || time.Since(start) > d {
			return resp, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func want(t *testing.T, what string, r apiResp, status, code int) {
	t.Helper()
	if r.Status != status || r.Body.Err.Code != code {
		t.Fatalf("%s: HTTP %d code %d, want %d/%d: %s", what, r.Status, r.Body.Err.Code, status, code, r.Raw)
	}
}

func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// junkJWT is shaped like an RFC 9068 access token but signed by no one.
func junkJWT(i int) string {
	h := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"alg":"EdDSA","typ":"at+jwt","kid":"junk-%d"}`, i))
	c := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"x","sub":"1","aud":"y","exp":4102444800,"scope":"note:read"}`))
	return h + "." + c + "." + randomB64(64)
}

// sendJunk sends n credentials from mk to GET /api/notes/ (4 at a time)
// and fails unless every one is a 401.
func (r *notesRig) sendJunk(t *testing.T, n int, mk func(i int) string) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				if status, err := getStatus(r.notes+"/api/notes/", mk(i)); err != nil || status != 401 {
					mu.Lock()
					bad++
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if bad > 0 {
		t.Fatalf("%d of %d junk credentials were not answered 401", bad, n)
	}
}

// TestNotesEndToEnd runs authgate and examples/notes as two built
// binaries, on SQLite and PostgreSQL, and drives them as a third-party
// app (golang.org/x/oauth2, authorization code + PKCE), a first-party
// script (API tokens made with the CLI) and an operator (key rotation,
// stopping authgate) would.
func TestNotesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two binaries")
	}
	dir := t.TempDir()
	var agBin, notesBin string
	var agErr, notesErr error
	var wg sync.WaitGroup
	wg.Go(func() { agBin, agErr = buildAuthgate(dir) })
	wg.Go(func() { notesBin, notesErr = buildNotes(dir) })
	wg.Wait()
	if agErr != nil || notesErr != nil {
		t.Fatal(agErr, notesErr)
	}
	for _, dialect := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "authgate.db") }},
		{"postgres", func(t *testing.T) string { return dbtest.PostgresDSN(t) }},
	} {
		t.Run(dialect.name, func(t *testing.T) {
			start := time.Now()
			testNotes(t, startNotesRig(t, agBin, notesBin, dialect.dsn(t)))
			t.Logf("%s run: %s", dialect.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

func testNotes(t *testing.T, r *notesRig) {
	writer := "token " + r.aliceToken(t, `{}`)
	for i := 1; i <= 5; i++ {
		resp := r.do(t, "POST", "/api/notes/", writer, url.Values{"title": {fmt.Sprintf("note %d", i)}})
		want(t, "create note", resp, 201, 0)
		if resp.Body.Note.ID != int64(i) || resp.Body.Note.Author != userName {
			t.Fatalf("note %d created as %d by %q", i, resp.Body.Note.ID, resp.Body.Note.Author)
		}
	}

	app := "Bearer " + r.appToken(t, "note:read")
	revoked := "Bearer " + r.appToken(t, "note:read") // revoked below
	t.Run("third-party app with note:read", func(t *testing.T) {
		resp := r.do(t, "GET", "/api/notes/", app, nil)
		want(t, "list", resp, 200, 0)
		if got := resp.noteIDs(); !slices.Equal(got, []int64{1, 2, 3, 4, 5}) || resp.Body.TotalResults != 5 {
			t.Fatalf("list: %v (total %d)", got, resp.Body.TotalResults)
		}
		want(t, "read note 2", r.do(t, "GET", "/api/notes/2/", app, nil), 200, 0)
		resp = r.do(t, "POST", "/api/notes/", app, url.Values{"title": {"not allowed"}})
		want(t, "POST with note:read", resp, 403, 112)
		if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="note:write"`) {
			t.Fatalf("WWW-Authenticate %q", ch)
		}
	})

	// The signing key rotates now; on SQLite the running authgate signs
	// with it within 30 s (its key refresh), so the steps below run
	// meanwhile and the check comes later.
	var rotated struct {
		KID string `json:"kid"`
	}
	oldKID := kidOf(t, strings.TrimPrefix(app, "Bearer "))
	r.cli(t).cliJSON(&rotated, "key", "rotate", "--activate-in", "0s")
	rotatedAt := time.Now()
	if rotated.KID == "" || rotated.KID == oldKID {
		t.Fatalf("rotated kid %q (old %q)", rotated.KID, oldKID)
	}

	t.Run("API token whose policy blocks note 4", func(t *testing.T) {
		tok := "token " + r.aliceToken(t, `{"resources":{"note":{"4":{"block":["*"]}}}}`)
		resp := r.do(t, "GET", "/api/notes/", tok, nil)
		want(t, "list", resp, 200, 0)
		if got := resp.noteIDs(); !slices.Equal(got, []int64{1, 2, 3, 5}) || resp.Body.TotalResults != 4 {
			t.Fatalf("list: %v (total %d), want 1 2 3 5", got, resp.Body.TotalResults)
		}
		want(t, "GET note 4", r.do(t, "GET", "/api/notes/4/", tok, nil), 403, 101)
		want(t, "GET note 3", r.do(t, "GET", "/api/notes/3/", tok, nil), 200, 0)
		want(t, "comments of note 4", r.do(t, "GET", "/api/notes/4/comments/", tok, nil), 403, 101)
		// Another spelling of 4 names no note, rather than slipping past
		// the policy's "4".
		want(t, "GET note 04", r.do(t, "GET", "/api/notes/04/", tok, nil), 404, 100)
	})

	t.Run("read-only API token", func(t *testing.T) {
		tok := "token " + r.aliceToken(t, `{"resources":{"note":{"*":{"allow":["GET"],"block":["*"]}}}}`)
		want(t, "GET", r.do(t, "GET", "/api/notes/1/", tok, nil), 200, 0)
		want(t, "DELETE", r.do(t, "DELETE", "/api/notes/1/", tok, nil), 403, 101)
		want(t, "POST comment", r.do(t, "POST", "/api/notes/1/comments/", tok, url.Values{"text": {"hi"}}), 403, 101)
		want(t, "note 1 still there", r.do(t, "GET", "/api/notes/1/", writer, nil), 200, 0)
	})

	t.Run("revoked tokens refused within the revocation bound", func(t *testing.T) {
		apiTok, apiID := r.cli(t).createTokenFor(userName, `{}`)
		r.secret(apiTok)
		api := "token " + apiTok
		// Used just now, so notes holds fresh "active" answers: the
		// measured delays are the cache's, not luck.
		want(t, "OAuth2 token before revocation", r.do(t, "GET", "/api/notes/", revoked, nil), 200, 0)
		want(t, "API token before invalidation", r.do(t, "GET", "/api/notes/", api, nil), 200, 0)
		form := url.Values{"token": {strings.TrimPrefix(revoked, "Bearer ")}, "client_id": {r.appID}}
		revokedAt := map[string]time.Time{revoked: time.Now()}
		if resp := call(t, "POST", r.ag.base+"/oauth/revoke", "", form); resp.Status != 200 {
			t.Fatalf("revoke: %d %s", resp.Status, resp.Raw)
		}
		revokedAt[api] = time.Now()
		r.cli(t).cli("token", "invalidate", fmt.Sprint(apiID), "--reason", "Revoked.")
		for _, authz := range []string{revoked, api} {
			kind := map[string]string{revoked: "OAuth2 token", api: "API token"}[authz]
			resp, _ := until(notesRevocationBound+2*time.Second, func() apiResp { return r.do(t, "GET", "/api/notes/", authz, nil) },
				func(a apiResp) bool { return a.Status != 200 })
			took := time.Since(revokedAt[authz])
			want(t, "revoked "+kind, resp, 401, 104)
			if strings.HasPrefix(authz, "Bearer") && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
			if took > notesRevocationBound+500*time.Millisecond {
				t.Fatalf("%s refused %s after revocation; the bound is %s", kind, took, notesRevocationBound)
			}
			t.Logf("%s refused %s after revocation (bound %s)", kind, took.Round(time.Millisecond), notesRevocationBound)
		}
	})

	t.Run("key rotation: old and new tokens accepted without a restart", func(t *testing.T) {
		var fresh string
		for {
			fresh = r.botToken(t)
			if kidOf(t, fresh) == rotated.KID {
				break
			}
			if time.Since(rotatedAt) > 40*time.Second {
				t.Fatalf("authgate still signs with %s 40s after the rotation", kidOf(t, fresh))
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Logf("first token signed by the new key %s after the rotation", time.Since(rotatedAt).Round(time.Millisecond))
		want(t, "token signed by the old key", r.do(t, "GET", "/api/notes/", app, nil), 200, 0)
		// notes fetches the JWKS again for an unknown kid at most every
		// 5 s, so the new key is accepted within that.
		resp, took := until(6*time.Second, func() apiResp { return r.do(t, "GET", "/api/notes/", "Bearer "+fresh, nil) },
			func(a apiResp) bool { return a.Status == 200 })
		want(t, "token signed by the new key", resp, 200, 0)
		t.Logf("notes accepts the new key after %s", took.Round(time.Millisecond))
	})

	t.Run("aud is notes' audience", func(t *testing.T) {
		var claims struct {
			Aud any `json:"aud"`
		}
		jwtPart(t, r.botToken(t), 1, &claims)
		if fmt.Sprint(claims.Aud) != r.notes && fmt.Sprint(claims.Aud) != "["+r.notes+"]" {
			t.Fatalf("aud %v, want %s", claims.Aud, r.notes)
		}
		// A token for authgate's own API is not for notes.
		id, secret := r.client(t, "--name", "session reader", "--grant", "client_credentials", "--scope", "session:read")
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: r.ag.base + "/oauth/token",
			Scopes: []string{"session:read"}, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		resp := r.do(t, "GET", "/api/notes/", "Bearer "+r.secret(tok.AccessToken), nil)
		want(t, "a token for authgate's API", resp, 401, 104)
		if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="invalid_token"`) {
			t.Fatalf("WWW-Authenticate %q", ch)
		}
	})

	// Last before the restart: were junk to reach authgate, its rate limit
	// on /oauth/* (per IP, shared with this test) would fail what follows.
	t.Run("1000 junk bearer tokens reach no introspection", func(t *testing.T) {
		before := r.cli(t).introspections()
		r.sendJunk(t, 1000, func(i int) string {
			if i%2 == 0 {
				return "Bearer " + junkJWT(i)
			}
			return "Bearer " + randomB64(30)
		})
		if after := r.cli(t).introspections(); after != before {
			t.Fatalf("junk bearer tokens caused %d introspection requests", after-before)
		}
	})

	t.Run("1000 junk API tokens reach no introspection", func(t *testing.T) {
		before := r.cli(t).introspections()
		r.sendJunk(t, 1000, func(i int) string {
			if i%2 == 0 { // the right length and alphabet, a wrong checksum
				return "token agp_" + strings.NewReplacer("-", "a", "_", "b").Replace(randomB64(27))
			}
			return "token " + randomB64(30)
		})
		if after := r.cli(t).introspections(); after != before {
			t.Fatalf("junk API tokens caused %d introspection requests", after-before)
		}
	})

	t.Run("authgate stopped, then back", func(t *testing.T) {
		cached := "token " + r.aliceToken(t, `{}`)
		uncached := "token " + r.aliceToken(t, `{}`)
		uncachedJWT := "Bearer " + r.botToken(t)
		want(t, "cached token before the stop", r.do(t, "GET", "/api/notes/", cached, nil), 200, 0)
		usedAt := time.Now()
		r.agProc.stop()
		if resp := r.do(t, "GET", "/api/notes/", cached, nil); time.Since(usedAt) < notesRevocationBound {
			want(t, "cached token while authgate is down", resp, 200, 0)
		} else {
			t.Logf("stopping authgate took longer than the cache holds a token (%s)", notesRevocationBound)
		}
		// An uncached token cannot be checked: it is refused, never let
		// through, and the client is told to come back (503, Retry-After,
		// code 1001), neither blamed (401) nor shown a server fault (500).
		for _, authz := range []string{uncached, uncachedJWT} {
			resp := r.do(t, "GET", "/api/notes/", authz, nil)
			want(t, "uncached "+strings.Fields(authz)[0]+" credential while authgate is down", resp, 503, 1001)
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
				t.Fatalf("503 without a Retry-After in seconds: %q", resp.Header.Get("Retry-After"))
			}
		}
		r.ag, r.agProc = startAuthgateAt(t, r.bin, r.dsn, r.agAddr, r.agLogs)
		for _, authz := range []string{uncached, uncachedJWT} {
			want(t, "uncached token once authgate is back", r.do(t, "GET", "/api/notes/", authz, nil), 200, 0)
		}
	})

	logs := r.agLogs.String() + r.notesLogs.String()
	if strings.Contains(r.notesLogs.String(), "DATA RACE") {
		t.Fatalf("a data race in notes:\n%s", r.notesLogs)
	}
	for _, s := range r.secrets {
		if strings.Contains(logs, s) {
			t.Fatal("a secret reached a log")
		}
	}
}
