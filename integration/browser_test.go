package integration

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// chromiumPath is Debian's chromium (apt-get install -y chromium).
const chromiumPath = "/usr/bin/chromium"

// EnvScreenshotDir, when set, receives a copy of the consent-page
// screenshot (the test always writes one into its temporary directory).
const EnvScreenshotDir = "AUTHGATE_SCREENSHOT_DIR"

// TestBrowserConsentFlow clicks through login and consent in a real
// headless Chromium: the client's redirect URI is a loopback server here
// that receives the code, which x/oauth2 then exchanges.
func TestBrowserConsentFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		// .ci/run sets AUTHGATE_REQUIRE_BROWSER=1: there a missing browser
		// is a failure, as in authserver/web's browser tests.
		if os.Getenv("AUTHGATE_REQUIRE_BROWSER") == "1" {
			t.Fatalf("AUTHGATE_REQUIRE_BROWSER=1 but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("browser test skipped: %s not found (install it with `apt-get install -y chromium`)", chromiumPath)
	}
	ag := startAuthgate(t, dbtest.SQLiteDSN(t), nil)

	codes := make(chan string, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("iss") == ag.URL && r.URL.Query().Get("state") == "browser-state" {
			select {
			case codes <- r.URL.Query().Get("code"):
			default:
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><title>done</title><p id=done>You may close this window.</p>"))
	}))
	t.Cleanup(cb.Close)
	client := ag.registerClient(authserver.ClientSpec{
		Name: "Browser Test App", Public: true,
		RedirectURIs: []string{cb.URL + "/callback"},
		Scopes:       ag.allScopes(),
	})
	cfg := ag.oauthConfig(client, "session:read")
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("browser-state", oauth2.S256ChallengeOption(verifier))

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("headless", true),
		chromedp.WindowSize(1000, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), userName),
		chromedp.SendKeys(chromedp.ID("password"), userPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("consent-allow")),
	}
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("login and consent page: %v", err)
	}
	consentText, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("scopes")))
	if err != nil {
		t.Fatalf("read consent page: %v", err)
	}
	if !strings.Contains(consentText, "session:read") || !strings.Contains(consentText, "Ability to perform HTTP GET") {
		t.Fatalf("consent page does not describe the scope: %q", consentText)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(shot)); err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	path := filepath.Join(t.TempDir(), "consent.png")
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv(EnvScreenshotDir); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "consent.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("consent page screenshot: %s (%d bytes)", path, len(shot))

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("consent-allow")),
		chromedp.WaitVisible(chromedp.ID("done")),
	); err != nil {
		t.Fatalf("allow: %v", err)
	}
	var code string
	select {
	case code = <-codes:
	case <-ctx.Done():
		t.Fatal("the client's redirect URI never received a code with state and iss")
	}
	tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if status, body := ag.apiSession(tok.AccessToken); status != http.StatusOK {
		t.Fatalf("GET /api/session/: %d %v", status, body)
	}
}
