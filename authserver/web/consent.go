package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
)

// consentScope is one line of the consent page.
type consentScope struct {
	Name        string
	Description string
	// Granted marks a scope the user already approved for this client.
	Granted bool
}

// appOwner is what the consent page says about who registered an
// application. authgate has no verified-publisher metadata (no client_uri,
// no logo): the only fact it holds is which account registered the client,
// so that is what it shows, and a client a non-administrator registered is
// called unverified. See docs/web-pages.md, "Sign-in, consent and error pages".
type appOwner struct {
	// Text is the sentence naming the registrant.
	Text string
	// Unverified: no administrator registered the application.
	Unverified bool
}

func (w *Pages) appOwner(ctx context.Context, cl Client) (appOwner, error) {
	if cl.OwnerID == 0 {
		return appOwner{Text: "Registered by the operator of this server."}, nil
	}
	u, err := w.deps.Users.Get(ctx, cl.OwnerID)
	switch {
	case errors.Is(err, users.ErrNotFound):
		return appOwner{Text: "Registered by an account that no longer exists.", Unverified: true}, nil
	case err != nil:
		return appOwner{}, err
	case u.IsAdmin:
		return appOwner{Text: "Registered by " + u.Username + ", an administrator of this server."}, nil
	}
	return appOwner{Text: "Registered by " + u.Username + ", a user of this server; no administrator has reviewed it.", Unverified: true}, nil
}

// redirectTarget describes where the browser goes after the decision: the
// redirect URI's origin, which is what a user can check, and in words for
// the two kinds of URI that have no web origin (RFC 8252 §7.1, §7.3).
type redirectTarget struct {
	Origin string // e.g. https://app.example.com
	Note   string // "an application on this computer", ...
	URI    string // the whole redirect URI
}

func describeRedirect(raw string) redirectTarget {
	t := redirectTarget{URI: raw, Origin: raw}
	u, err := url.Parse(raw)
	if err != nil {
		return t
	}
	switch {
	case u.Host == "":
		t.Origin = u.Scheme + ":"
		t.Note = "an application installed on your device"
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		t.Origin = u.Scheme + "://" + u.Host
		t.Note = "an application running on this computer"
	default:
		t.Origin = u.Scheme + "://" + u.Host
	}
	return t
}

func isLoopback(h string) bool {
	return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
}

// renderConsent shows the consent page: each requested scope with the
// registry's description, an Allow and a Deny button, and the request's
// parameters as hidden fields so the decision re-runs the full validation.
func (w *Pages) renderConsent(c *gin.Context, ar *authzRequest, cur *sessions.Current, granted scopes.Set) {
	w.renderConsentWith(c, ar, cur, granted, webPathAuthorize, ar.encode())
}

// renderConsentWith renders the consent page posting params to action
// (the device verification page uses it with no redirect URI).
func (w *Pages) renderConsentWith(c *gin.Context, ar *authzRequest, cur *sessions.Current, granted scopes.Set, action string, params url.Values) {
	var list []consentScope
	for _, s := range ar.Scope.Items() {
		desc, ok := w.deps.Scopes.Describe(s)
		if !ok || desc == "" {
			desc = s
		}
		list = append(list, consentScope{Name: s, Description: desc, Granted: granted.Has(s)})
	}
	name := ar.Client.Name
	if name == "" {
		name = ar.Client.ID
	}
	owner, err := w.appOwner(c.Request.Context(), ar.Client)
	if err != nil {
		w.internalError(c, "load client owner", err)
		return
	}
	var target *redirectTarget
	if ar.RedirectURI != "" {
		t := describeRedirect(ar.RedirectURI)
		target = &t
	}
	w.render(c, http.StatusOK, "consent.html", map[string]any{
		"Title":      "Authorize " + name,
		"ClientName": name,
		"ClientID":   ar.Client.ID,
		"Owner":      owner,
		"Redirect":   target,
		"Scopes":     list,
		"Params":     params,
		"CSRF":       cur.CSRFToken(),
		"User":       cur.User,
		"Action":     action,
	})
}
