package integration

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/tokens"
)

// secrets is every secret value the flows handle, by value, with a label.
type secrets struct {
	mu sync.Mutex
	m  map[string]string
}

// add records v, and for a prefixed value ("agrt_…") its random part too,
// and the signature of a JWT, so a leak of a fragment is caught as well.
func (s *secrets) add(label, v string) {
	if len(v) < 8 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[v] = label
	if enc := url.QueryEscape(v); enc != v {
		s.m[enc] = label + " (URL-encoded)"
	}
	if i := strings.IndexByte(v, '_'); i > 0 && len(v)-i > 24 {
		s.m[v[i+1:]] = label + " (random part)"
	}
	if parts := strings.Split(v, "."); len(parts) == 3 && len(parts[2]) > 20 {
		s.m[parts[2]] = label + " (JWT signature)"
	}
}

// scan returns "label in where" for every secret contained in text.
func (s *secrets) scan(where, text string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []string
	for v, label := range s.m {
		if strings.Contains(text, v) {
			hits = append(hits, label+" in "+where)
		}
	}
	return hits
}

// recorder is an http.RoundTripper that keeps every error response body and
// notes every cookie the server sets as a secret.
type recorder struct {
	base    http.RoundTripper
	secrets *secrets
	mu      sync.Mutex
	errors  []string
	total   int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	for _, c := range resp.Cookies() {
		r.secrets.add("cookie "+c.Name, c.Value)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	if resp.StatusCode >= 400 {
		r.errors = append(r.errors, fmt.Sprintf("%d %s %s\n%v\n%s", resp.StatusCode, req.Method, req.URL.Path, resp.Header, body))
	}
	return resp, nil
}

// TestNoSecretInLogsAuditOrErrors runs the flows of the integration suite
// against the built binary with debug logging, then scans every log line
// (server and CLI), every column of every table (audit_events included) and
// every error response body for any secret it issued or was sent: passwords
// (right and wrong), client secrets, API tokens, authorization codes (used
// and replayed), access and refresh tokens, session cookies. There must be
// no hit; a planted secret shows the scanner finds one.
func TestNoSecretInLogsAuditOrErrors(t *testing.T) {
	bin := sharedAuthgate(t)
	dsn := dbtest.SQLiteDSN(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr
	sec := &secrets{m: map[string]string{}}
	const adminPassword, wrongPassword = "admin-Pa55word-for-scan", "wrong-Pa55word-guess"
	sec.add("admin password", adminPassword)
	sec.add("user password", userPassword)
	sec.add("wrong password", wrongPassword)
	env := append(os.Environ(), "AUTHGATE_ADMIN_PASSWORD="+adminPassword, "AUTHGATE_OAUTH__ISSUER="+base,
		"AUTHGATE_LOG__LEVEL=debug", "AUTHGATE_DATABASE__URL="+dsn)
	cliLogs := &lockedBuffer{}
	cli := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, cliLogs
		if err := cmd.Run(); err != nil {
			t.Fatalf("authgate %v: %v\n%s", args, err, cliLogs)
		}
		return out.String()
	}
	client := func(args ...string) registeredClient {
		var c struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		out := cli("", append([]string{"client", "create", "--output", "json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatalf("client create %q: %v", out, err)
		}
		sec.add("client secret", c.ClientSecret)
		return registeredClient{ID: c.ClientID, Secret: c.ClientSecret}
	}

	// The server, with its own first start creating the admin.
	srvLogs := &lockedBuffer{}
	cmd := exec.Command(bin, "serve", "--addr", addr)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, srvLogs, srvLogs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitReady(t, base, exited, srvLogs)

	cli(userPassword+"\n", "user", "create", userName, "--password-stdin")
	conf := client("--name", "Web App", "--redirect-uri", "https://app.example.com/cb",
		"--grant", "authorization_code", "--grant", "refresh_token", "--scope", "session:read")
	conf.RedirectURI = "https://app.example.com/cb"
	svc := client("--name", "svc", "--grant", "client_credentials", "--scope", "session:read")
	rs := client("--name", "resource server", "--grant", "client_credentials", "--resource-server")

	rec := &recorder{base: http.DefaultTransport, secrets: sec}
	saved := http.DefaultClient
	http.DefaultClient = &http.Client{Transport: rec, Timeout: 30 * time.Second}
	t.Cleanup(func() { http.DefaultClient = saved })
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, http.DefaultClient)
	ag := &authgate{t: t, URL: base, conf: conf}

	// Authorization code + PKCE through the login and consent forms, after
	// one wrong password.
	b := ag.browser()
	b.c.Transport = rec
	cfg := ag.oauthConfig(conf, "session:read")
	verifier := oauth2.GenerateVerifier()
	sec.add("PKCE verifier", verifier)
	authURL := cfg.AuthCodeURL("state-scan", oauth2.S256ChallengeOption(verifier))
	if r := b.loginThrough(b.get(authURL), wrongPassword); r.Status == http.StatusSeeOther {
		t.Fatalf("wrong password accepted: %d", r.Status)
	}
	q := callback(t, ag, b.authorize(authURL), conf.RedirectURI)
	code := q.Get("code")
	sec.add("authorization code", code)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	sec.add("access token", tok.AccessToken)
	sec.add("refresh token", tok.RefreshToken)
	if status, body := ag.apiSession(tok.AccessToken); status != http.StatusOK {
		t.Fatalf("api with the access token: %d %v", status, body)
	}
	// A replayed code fails and revokes what it issued (RFC 6749 §4.1.2).
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a replayed code was accepted")
	}

	// Refresh with rotation, then reuse of the rotated-out refresh token.
	v2 := oauth2.GenerateVerifier()
	q2 := callback(t, ag, b.authorize(cfg.AuthCodeURL("s2", oauth2.S256ChallengeOption(v2))), conf.RedirectURI)
	sec.add("authorization code", q2.Get("code"))
	tok2, err := cfg.Exchange(ctx, q2.Get("code"), oauth2.VerifierOption(v2))
	if err != nil {
		t.Fatal(err)
	}
	sec.add("access token", tok2.AccessToken)
	sec.add("refresh token", tok2.RefreshToken)
	old := &oauth2.Token{RefreshToken: tok2.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
	fresh, err := cfg.TokenSource(ctx, old).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	sec.add("access token", fresh.AccessToken)
	sec.add("refresh token", fresh.RefreshToken)

	// Introspection and revocation.
	if body := ag.introspect(rs, fresh.AccessToken); body["active"] != true {
		t.Fatalf("introspect: %v", body)
	}
	ag.introspect(rs, fresh.RefreshToken)
	if status, _ := ag.post("/oauth/revoke", url.Values{"token": {fresh.AccessToken}}, conf); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	if status, _ := ag.apiSession(fresh.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", status)
	}
	// Reuse of the rotated-out refresh token (revokes the family).
	if _, err := cfg.TokenSource(ctx, old).Token(); err == nil {
		t.Fatal("a rotated-out refresh token was accepted")
	}

	// client_credentials, right and wrong secret.
	cc := &clientcredentials.Config{ClientID: svc.ID, ClientSecret: svc.Secret, TokenURL: base + "/oauth/token", Scopes: []string{"session:read"}}
	ccTok, err := cc.Token(ctx)
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	sec.add("access token", ccTok.AccessToken)
	wrong := *cc
	wrong.ClientSecret = svc.Secret[:len(svc.Secret)-4] + "XXXX"
	sec.add("wrong client secret", wrong.ClientSecret)
	if _, err := wrong.Token(ctx); err == nil {
		t.Fatal("a wrong client secret was accepted")
	}

	// API token: create, use, a wrong one, invalidate, use again.
	var created struct {
		Token    string `json:"token"`
		APIToken struct {
			ID int64 `json:"id"`
		} `json:"api_token"`
	}
	if err := json.Unmarshal([]byte(cli("", "token", "create", "--user", userName, "--note", "scan", "--policy", "{}", "--output", "json")), &created); err != nil {
		t.Fatal(err)
	}
	sec.add("API token", created.Token)
	apiCall := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/session/", nil)
		req.Header.Set("Authorization", "token "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := apiCall(created.Token); s != http.StatusOK {
		t.Fatalf("API token: %d", s)
	}
	bogus, _ := tokens.VendorChecksum{}.Create(tokens.TokenInfo{TokenType: "agp", Length: 40})
	sec.add("unknown API token", bogus)
	if s := apiCall(bogus); s != http.StatusUnauthorized {
		t.Fatalf("unknown API token: %d", s)
	}
	cli("", "token", "invalidate", fmt.Sprint(created.APIToken.ID))
	deadline := time.Now().Add(3 * time.Second)
	for apiCall(created.Token) != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("invalidated API token still accepted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Basic auth with the wrong password on the API.
	req, _ := http.NewRequest(http.MethodGet, base+"/api/session/", nil)
	req.SetBasicAuth(userName, wrongPassword)
	sec.add("Basic credentials", strings.TrimPrefix(req.Header.Get("Authorization"), "Basic "))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	for _, c := range b.c.Jar.Cookies(&url.URL{Scheme: "http", Host: addr, Path: "/"}) {
		sec.add("cookie "+c.Name, c.Value)
	}

	// Stop the server so every write (last-used dates, audit_events rows) is done.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}

	// The scan.
	var hits []string
	logText := srvLogs.String() + cliLogs.String()
	hits = append(hits, sec.scan("the logs", logText)...)
	for i, body := range rec.errors {
		hits = append(hits, sec.scan(fmt.Sprintf("error response %d", i), body)...)
	}
	rows, cells, audit, dbHits := scanDatabase(t, dsn, sec)
	hits = append(hits, dbHits...)
	sort.Strings(hits)
	for _, h := range hits {
		t.Errorf("secret found: %s", h)
	}
	t.Logf("scanned %d log lines (%d debug), %d responses (%d error bodies), %d rows / %d cells in every table (%d audit events) for %d secret values: %d hits",
		strings.Count(logText, "\n"), strings.Count(logText, "level=DEBUG"), rec.total, len(rec.errors), rows, cells, audit, len(sec.m), len(hits))
	if len(rec.errors) < 5 || audit == 0 || !strings.Contains(logText, "msg=request") {
		t.Errorf("the flows did not produce what the scan needs: %d error bodies, %d audit events, %d log lines",
			len(rec.errors), audit, strings.Count(logText, "\n"))
	}

	// The scanner finds a planted secret of every kind, in every place.
	kinds := map[string]string{}
	for v, label := range sec.m {
		kinds[label] = v
	}
	for label, v := range kinds {
		if len(sec.scan("planted", logText+"\nlevel=DEBUG msg=oops value="+v+"\n")) == 0 {
			t.Errorf("the scanner misses a planted %s", label)
		}
	}
}

// scanDatabase reads every column of every row of every table of the SQLite
// database and scans it; it returns rows, cells, audit_events rows and hits.
func scanDatabase(t *testing.T, dsn string, sec *secrets) (rows, cells, audit int, hits []string) {
	t.Helper()
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var tables []string
	if err := d.Select(&tables, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		rs, err := d.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			rows++
			if table == "audit_events" {
				audit++
			}
			for i, v := range vals {
				cells++
				hits = append(hits, sec.scan(table+"."+cols[i], string(v))...)
			}
		}
		rs.Close()
	}
	return rows, cells, audit, hits
}
