package web_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/tokens"
)

var (
	fieldRE = regexp.MustCompile(`<(input|textarea|select)\b[^>]*>`)
	idRE    = regexp.MustCompile(`\bid="([^"]+)"`)
)

// unlabelled returns the form fields of body that a screen reader could not
// name: not hidden, with no <label for> naming their id, no wrapping
// <label> and no aria-label.
func unlabelled(body string) []string {
	var out []string
	for _, loc := range fieldRE.FindAllStringIndex(body, -1) {
		tag := body[loc[0]:loc[1]]
		if strings.Contains(tag, `type="hidden"`) || strings.Contains(tag, " hidden>") || strings.Contains(tag, "aria-label=") {
			continue
		}
		if strings.HasSuffix(body[:loc[0]], "<label>") {
			continue
		}
		if m := idRE.FindStringSubmatch(tag); m != nil && strings.Contains(body, `<label for="`+m[1]+`"`) {
			continue
		}
		out = append(out, tag)
	}
	return out
}

// TestFormsLabelled: every visible form field on every page of the
// account area, the sign-in page and the home page has a label.
func TestFormsLabelled(t *testing.T) {
	e := newPagesEnv(t)
	tok, _, err := e.App.Tokens.Generate(context.Background(), tokens.GenerateParams{User: e.User, Note: "n"})
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	anon := e.Browser()
	pages["/"] = anon.Get("/").Body
	pages["/login"] = anon.Get("/login").Body
	b := e.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	for _, p := range []string{"/account/", "/account/api-tokens/", "/account/api-tokens/new", fmt.Sprintf("/account/api-tokens/%d/", tok.ID), "/account/authorized-apps/"} {
		pages[p] = b.Get(p).Body
	}
	created, raw := createToken(t, b, url.Values{"note": {"x"}, "preset": {"full"}})
	e.Logs.Secret(raw)
	pages["created"] = created.Body
	for path, body := range pages {
		if !strings.Contains(body, `id="content"`) {
			t.Errorf("%s: no main landmark for the skip link", path)
		}
		if bad := unlabelled(body); len(bad) > 0 {
			t.Errorf("%s: fields without a label: %v", path, bad)
		}
	}
	if bad := unlabelled(`<input type="text" id="x" name="x">`); len(bad) != 1 {
		t.Fatal("the check does not see an unlabelled field")
	}
}
