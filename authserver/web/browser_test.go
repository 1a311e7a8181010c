package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/oauth2"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/tokens"
)

// The browser tests drive Debian's chromium through chromedp. They skip
// when it is missing, unless AUTHGATE_REQUIRE_BROWSER=1 (set by .ci/run),
// which makes a missing browser a failure. Screenshots go to the test's
// artifact directory (kept with `go test -artifacts -outputdir DIR`) and,
// when AUTHGATE_SCREENSHOTS_DIR names a directory, there too: that is how
// docs/screenshots/ is regenerated (see docs/web-pages.md).
const (
	envRequireBrowser = "AUTHGATE_REQUIRE_BROWSER"
	envScreenshots    = "AUTHGATE_SCREENSHOTS_DIR"
	chromium          = "/usr/bin/chromium"
)

// chrome is a headless chromium tab for one test.
type chrome struct {
	t   *testing.T
	ctx context.Context
}

func newChrome(t *testing.T) *chrome {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv(envRequireBrowser) == "1" {
			t.Fatalf("%s=1 but %s is missing: %v", envRequireBrowser, chromium, err)
		}
		t.Skipf("browser test skipped: %s not found (apt-get install -y chromium)", chromium)
	}
	if testing.Short() && os.Getenv(envRequireBrowser) != "1" {
		t.Skip("browser test skipped in -short mode")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Flag("headless", true), chromedp.WindowSize(1280, 800))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancel(); cancelCtx(); cancelAlloc() })
	return &chrome{t: t, ctx: ctx}
}

// do runs steps; what names them in the failure.
func (c *chrome) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

func (c *chrome) text(sel string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (c *chrome) value(sel string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

// screenshot saves the full page as name.png.
func (c *chrome) screenshot(name string) {
	c.t.Helper()
	shot, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	if _, err := png.Decode(bytes.NewReader(shot)); err != nil {
		c.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	dirs := []string{c.t.ArtifactDir()}
	if d := os.Getenv(envScreenshots); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), shot, 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
}

// signIn signs alice in through the login page, arriving at next.
func (c *chrome) signIn(e *testenv.Env, next string) {
	c.t.Helper()
	c.do("sign in",
		chromedp.Navigate(e.URL+next),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), testenv.UserUsername),
		chromedp.SendKeys(chromedp.CSS("#password"), testenv.UserPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("header.site nav")),
	)
	loc, err := chromedp.Run(c.ctx, chromedp.Location())
	if err != nil || loc != e.URL+next {
		c.t.Fatalf("after sign-in at %q (%v), want %q", loc, err, e.URL+next)
	}
}

// TestBrowserAPITokens: sign in; create a read-only token and use it over
// HTTP; create a Custom token with an invalid policy and see the error in
// place (live, then from the server on submit; Custom chosen by keyboard);
// invalidate a token and see it refused.
func TestBrowserAPITokens(t *testing.T) {
	c := newChrome(t)
	e := testenv.New(t)
	c.signIn(e, "/account/api-tokens/")

	c.do("create a read-only token",
		chromedp.Click(chromedp.CSS("#token-new")),
		chromedp.WaitVisible(chromedp.CSS("#token-form")),
		chromedp.WaitNotVisible(chromedp.CSS("#custom-policy")), // the script hid the editor
		chromedp.SendKeys(chromedp.CSS("#note"), "CI reads"),
		chromedp.Click(chromedp.CSS("#preset-readonly")),
		chromedp.Click(chromedp.CSS("#token-submit")),
		chromedp.WaitVisible(chromedp.CSS("#new-token")),
		chromedp.WaitVisible(chromedp.CSS("#copy-token")),
	)
	raw := c.value("#new-token")
	e.Logs.Secret(raw)
	c.screenshot("token-created")
	if st := apiStatus(t, e, "/api/users/alice/", raw); st != http.StatusOK {
		t.Fatalf("GET with the token the page showed: %d", st)
	}

	c.do("custom policy with an error",
		chromedp.Navigate(e.URL+"/account/api-tokens/new"),
		chromedp.WaitVisible(chromedp.CSS("#token-form")),
		chromedp.SendKeys(chromedp.CSS("#note"), "deploys"),
		// By keyboard: Tab from the note to the checked preset (Read-only),
		// then the arrow key moves the choice to Custom.
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent(kb.ArrowRight),
		chromedp.WaitVisible(chromedp.CSS("#policy")),
		chromedp.Clear(chromedp.CSS("#policy")),
		chromedp.SendKeys(chromedp.CSS("#policy"), `{"resources": {"*": {"allow": "GET"}}}`),
		chromedp.WaitVisible(chromedp.CSS("#policy-error")),
	)
	want := `Must be a list of HTTP methods. (at /resources/*/allow)`
	if got := c.text("#policy-error"); !strings.Contains(got, "(at /resources/*/allow)") {
		t.Fatalf("live policy error %q, want something like %q", got, want)
	}
	c.screenshot("token-policy-error")
	live := c.text("#policy-error")
	c.do("submit the bad policy", chromedp.Click(chromedp.CSS("#token-submit")), chromedp.WaitVisible(chromedp.CSS("#form-error")))
	if got := c.text("#policy-error"); got != live {
		t.Fatalf("server error %q differs from the live one %q", got, live)
	}
	if note := c.value("#note"); note != "deploys" {
		t.Fatalf("note not kept: %q", note)
	}

	// Two more tokens, made with the manager, show the other badges.
	ctx := context.Background()
	past := time.Now().Add(-time.Hour)
	if _, _, err := e.App.Tokens.Generate(ctx, tokens.GenerateParams{User: e.User, Note: "nightly backup", Expires: &past}); err != nil {
		t.Fatal(err)
	}
	old, _, err := e.App.Tokens.Generate(ctx, tokens.GenerateParams{User: e.User, Note: "old laptop"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Tokens.Invalidate(ctx, old.ID, "laptop retired"); err != nil {
		t.Fatal(err)
	}
	c.do("token list", chromedp.Navigate(e.URL+"/account/api-tokens/"), chromedp.WaitVisible(chromedp.CSS("#tokens")))
	if got := c.text("#tokens"); !strings.Contains(got, "expired") || !strings.Contains(got, "laptop retired") {
		t.Fatalf("token list: %q", got)
	}
	c.screenshot("tokens")
	toks, err := e.App.Tokens.List(ctx, e.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, tk := range toks {
		if tk.Note == "CI reads" {
			id = tk.ID
		}
	}
	c.do("invalidate",
		chromedp.SendKeys(chromedp.CSS(fmt.Sprintf("#reason-%d", id)), "rotated"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#invalidate-%d", id))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#token-%d .badge.invalid", id))),
	)
	if st := apiStatus(t, e, "/api/users/alice/", raw); st != http.StatusUnauthorized {
		t.Fatalf("GET with the invalidated token: %d, want 401", st)
	}
}

// TestBrowserAuthorizedApps: complete an OAuth consent as a signed-out
// user (the login page names the app; the consent page names it, who
// registered it, each scope's description and where the browser goes),
// exchange the code with golang.org/x/oauth2 and use the token on
// /api/session/, see the app on the authorized-apps page with its last
// use, revoke it and see its access token refused.
func TestBrowserAuthorizedApps(t *testing.T) {
	c := newChrome(t)
	e := testenv.New(t)
	codes := make(chan string, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case codes <- r.URL.Query().Get("code"):
		default:
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><title>done</title><p id=done>Done.</p>"))
	}))
	t.Cleanup(cb.Close)
	client, _ := e.RegisterClient(authserver.ClientSpec{Name: "Photo Printer", Public: true, OwnerID: e.Admin.ID,
		RedirectURIs: []string{cb.URL + "/callback"}, Scopes: []string{"session:read", "user:read"}})
	cfg := oauth2.Config{ClientID: client.ID, RedirectURL: cb.URL + "/callback", Scopes: []string{"session:read", "user:read"},
		Endpoint: oauth2.Endpoint{AuthURL: e.URL + authserver.PathAuthorize, TokenURL: e.URL + authserver.PathToken,
			AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()

	c.do("sign in for the app",
		chromedp.Navigate(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))),
		chromedp.WaitVisible(chromedp.CSS("#username")),
	)
	if got := c.text("#content"); !strings.Contains(got, "to continue to Photo Printer") {
		t.Fatalf("login page: %q", got)
	}
	c.do("consent page",
		chromedp.SendKeys(chromedp.CSS("#username"), testenv.UserUsername),
		chromedp.SendKeys(chromedp.CSS("#password"), testenv.UserPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#consent-allow")),
	)
	page := c.text("#content")
	for _, want := range []string{
		"Photo Printer wants to access your account",
		"Registered by " + testenv.AdminUsername + ", an administrator of this server.",
		describe(t, e, "session:read"), describe(t, e, "user:read"),
		"an application running on this computer at", cb.URL, cb.URL + "/callback",
	} {
		if !strings.Contains(page, want) {
			t.Fatalf("consent page lacks %q: %q", want, page)
		}
	}
	c.screenshot("consent")
	c.do("allow", chromedp.Click(chromedp.CSS("#consent-allow")), chromedp.WaitVisible(chromedp.CSS("#done")))
	var code string
	select {
	case code = <-codes:
	case <-c.ctx.Done():
		t.Fatal("no code")
	}
	tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	e.Logs.Secret(tok.AccessToken, tok.RefreshToken)
	bearer := func() int {
		return e.Browser().Do(http.MethodGet, "/api/session/", nil, http.Header{"Authorization": {"Bearer " + tok.AccessToken}}).Status
	}
	if st := bearer(); st != http.StatusOK {
		t.Fatalf("access token before revoke: %d", st)
	}

	c.do("authorized apps",
		chromedp.Navigate(e.URL+"/account/authorized-apps/"),
		chromedp.WaitVisible(chromedp.CSS("#apps")),
	)
	if got := c.text("#apps"); !strings.Contains(got, "Photo Printer") || !strings.Contains(got, "user:read") {
		t.Fatalf("authorized apps: %q", got)
	}
	if got := c.text("#apps .last-used"); !strings.Contains(got, time.Now().UTC().Format("2006-01-02")) {
		t.Fatalf("last used %q, want today", got)
	}
	c.screenshot("authorized-apps")
	c.do("revoke", chromedp.Click(chromedp.CSS("#apps button.danger")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if st := bearer(); st != http.StatusUnauthorized {
		t.Fatalf("access token after revoke: %d, want 401", st)
	}
	if _, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil && tok.RefreshToken != "" {
		t.Fatal("the refresh token still works after revoke")
	}
}

// describe is the registry's description of scope, which the pages show.
func describe(t *testing.T, e *testenv.Env, scope string) string {
	t.Helper()
	d, ok := e.App.Scopes.Describe(scope)
	if !ok || d == "" {
		t.Fatalf("scope %s has no description", scope)
	}
	return d
}
