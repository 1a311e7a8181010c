package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/tokens"
)

// TestBrowserAdminAudit: an admin signs in, creates a user with a
// generated password (shown once), deactivates them, and finds both
// changes on the audit page filtered by actor, newest first. Screenshot:
// admin-audit.png.
func TestBrowserAdminAudit(t *testing.T) {
	c := newChrome(t)
	e := testenv.New(t)
	if _, raw, err := e.App.Tokens.Generate(tokens.WithActor(context.Background(), e.User.ID),
		tokens.GenerateParams{User: e.User, Note: "deploy script"}); err != nil {
		t.Fatal(err)
	} else {
		e.Logs.Secret(raw)
	}
	c.do("sign in as admin",
		chromedp.Navigate(e.URL+"/admin/users/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), testenv.AdminUsername),
		chromedp.SendKeys(chromedp.CSS("#password"), testenv.AdminPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#create-user")),
	)
	c.do("create a user",
		chromedp.SendKeys(chromedp.CSS("#new-username"), "bob"),
		chromedp.SendKeys(chromedp.CSS("#new-name"), "Bob Example"),
		chromedp.Click(chromedp.CSS("#create-submit")),
		chromedp.WaitVisible(chromedp.CSS("#shown-password")),
	)
	password := c.value("#shown-password")
	if len(password) < 20 {
		t.Fatalf("generated password %q", password)
	}
	e.Logs.Secret(password)
	bob, err := e.App.Users.GetByUsername(context.Background(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	c.do("deactivate the user",
		chromedp.Click(chromedp.CSS("#users-back")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#deactivate-%d", bob.ID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#deactivate-%d", bob.ID))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#activate-%d", bob.ID))),
	)
	c.do("filter the audit log by actor",
		chromedp.Navigate(e.URL+"/admin/audit/"),
		chromedp.WaitVisible(chromedp.CSS("#audit-all")),
		chromedp.SendKeys(chromedp.CSS("#actor"), testenv.AdminUsername),
		chromedp.Click(chromedp.CSS("#filter-submit")),
		// The caption's ID changes with the filter: wait for the new page.
		chromedp.WaitVisible(chromedp.CSS("#audit-filtered")),
	)
	rows := c.text("#audit tbody")
	deact, created := strings.Index(rows, "user.deactivated"), strings.Index(rows, "user.created")
	if deact < 0 || created < 0 || deact > created || strings.Contains(rows, "token.created") {
		t.Fatalf("filtered audit events, newest first, want user.deactivated before user.created and no token event:\n%s", rows)
	}
	c.do("show every event", chromedp.Click(chromedp.CSS("#filter-clear")), chromedp.WaitVisible(chromedp.CSS("#audit-all")))
	if !strings.Contains(c.text("#audit tbody"), "token.created") {
		t.Error("the unfiltered log lacks the token event")
	}
	c.screenshot("admin-audit")
}
