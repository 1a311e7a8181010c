package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/testenv"
)

// signInAs signs username in through the login page, arriving at next.
func (c *chrome) signInAs(e *testenv.Env, username, password, next string) {
	c.t.Helper()
	c.do("sign in as "+username,
		chromedp.Navigate(e.URL+next),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("header.site nav")),
	)
	if loc, err := chromedp.Run(c.ctx, chromedp.Location()); err != nil || loc != e.URL+next {
		c.t.Fatalf("after sign-in at %q (%v), want %q", loc, err, e.URL+next)
	}
}

// TestBrowserAdminClients: as admin, register a confidential client with
// client_credentials in the page, read the secret shown once and use it at
// the token endpoint over HTTP; rotate a signing key.
func TestBrowserAdminClients(t *testing.T) {
	c := newChrome(t)
	e := testenv.New(t)
	// Two more clients fill the list's screenshot: a public app and a
	// disabled resource server.
	e.RegisterClient(authserver.ClientSpec{Name: "Photo Printer", Public: true,
		RedirectURIs: []string{"https://photos.example/callback"}, Scopes: []string{"openid", "user:read"}})
	rs, _ := e.RegisterClient(authserver.ClientSpec{Name: "Inventory API", ResourceServer: true, Scopes: []string{"resource:write"}})
	if _, err := e.App.OAuth.DisableClient(context.Background(), rs.ID); err != nil {
		t.Fatal(err)
	}

	c.signInAs(e, testenv.AdminUsername, testenv.AdminPassword, "/admin/clients/")
	c.do("register a confidential client",
		chromedp.Click(chromedp.CSS("#client-new")),
		chromedp.WaitVisible(chromedp.CSS("#client-form")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Nightly report"),
		chromedp.Click(chromedp.CSS("#type-confidential")),
		chromedp.Click(chromedp.CSS("#grant-client-credentials")),
		chromedp.Click(chromedp.CSS(`input[name=scopes][value="user:read"]`)),
	)
	c.screenshot("admin-client-form")
	c.do("submit the register form",
		chromedp.Click(chromedp.CSS("#client-submit")),
		chromedp.WaitVisible(chromedp.CSS("#client-secret")),
		chromedp.WaitVisible(chromedp.CSS("#copy-secret")), // the script runs under the CSP
	)
	id, secret := c.value("#client-id"), c.value("#client-secret")
	e.Logs.Secret(secret)
	c.screenshot("admin-client-secret")

	req, _ := http.NewRequest(http.MethodPost, e.URL+authserver.PathToken,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"user:read"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || tok.AccessToken == "" {
		t.Fatalf("client_credentials with the secret the page showed: %d %+v (%v)", resp.StatusCode, tok, err)
	}
	e.Logs.Secret(tok.AccessToken)

	c.do("client list", chromedp.Click(chromedp.CSS("#clients-back")), chromedp.WaitVisible(chromedp.CSS("#client-"+id)))
	if got := c.text("#client-" + id); !strings.Contains(got, "Nightly report") || !strings.Contains(got, "confidential") ||
		!strings.Contains(got, "Client credentials") || strings.Contains(got, secret) {
		t.Fatalf("client row: %q", got)
	}
	if got := c.text("#client-" + rs.ID); !strings.Contains(got, "disabled") || !strings.Contains(got, "resource server") {
		t.Fatalf("disabled resource server row: %q", got)
	}
	c.screenshot("admin-clients")

	c.do("rotate the access-token key",
		chromedp.Navigate(e.URL+"/admin/keys/"),
		chromedp.WaitVisible(chromedp.CSS("#keys")),
		chromedp.Click(chromedp.CSS("#key-rotate")),
		chromedp.WaitVisible(chromedp.CSS("#key-rotated")),
	)
	if got := c.text("#keys"); !strings.Contains(got, "pending") || !strings.Contains(got, "active") {
		t.Fatalf("keys after rotation: %q", got)
	}
	c.screenshot("admin-keys")
}

// TestBrowserAdminForbidden: a signed-in non-admin gets 403 on /admin/,
// with the explanation.
func TestBrowserAdminForbidden(t *testing.T) {
	c := newChrome(t)
	e := testenv.New(t)
	c.signInAs(e, testenv.UserUsername, testenv.UserPassword, "/account/")
	res, err := chromedp.Run(c.ctx, chromedp.NavigateResponse(e.URL+"/admin/"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusForbidden || !strings.Contains(c.text("main"), "Administrators only") {
		t.Fatalf("non-admin on /admin/: %d %q", res.Status, c.text("main"))
	}
	c.screenshot("admin-forbidden")
}
