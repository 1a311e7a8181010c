package loadgen

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// browser is one user agent: its own cookie jar over the shared transport.
// Redirects are followed by codeFlow itself, so it can stop at the client's
// redirect URI without connecting to it.
type browser struct{ hc *http.Client }

func (c *common) newBrowser() *browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &browser{hc: &http.Client{Transport: c.t.HTTP.Transport, Timeout: c.t.HTTP.Timeout, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// maxSteps bounds the requests of one flow: authorize, login page, login
// POST, authorize again, consent POST, with room for a server that
// redirects once or twice more.
const maxSteps = 12

// codeFlow runs one authorization code flow with PKCE (RFC 7636, S256) in
// b and exchanges the code. The status returned is the one that failed the
// flow, or the token endpoint's.
func (c *common) codeFlow(ctx context.Context, b *browser) (int, tokenResponse, error) {
	verifier, state := randomString(), randomString()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.cr.ClientID}, "redirect_uri": {c.cr.RedirectURI},
		"state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "prompt": {"consent"},
	}
	if c.cr.Scope != "" {
		q.Set("scope", c.cr.Scope)
	}
	redirect, err := url.Parse(c.cr.RedirectURI)
	if err != nil {
		return 0, tokenResponse{}, fmt.Errorf("redirect URI: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.t.Metadata.AuthorizationEndpoint+"?"+q.Encode(), nil)
	if err != nil {
		return 0, tokenResponse{}, err
	}
	var code string
	for step := 0; code == "" && req != nil; step++ {
		if step == maxSteps {
			return 0, tokenResponse{}, fmt.Errorf("no code after %d requests", maxSteps)
		}
		var status int
		status, code, req, err = c.browse(ctx, b, req, redirect, state)
		if err != nil {
			return status, tokenResponse{}, err
		}
	}
	return c.tokenRequest(ctx, b.hc, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {c.cr.RedirectURI}, "code_verifier": {verifier}})
}

// browse sends one request of the flow and decides the next: a redirect
// is followed (or, at the redirect URI, yields the code), a page with a
// form is submitted as the user would.
func (c *common) browse(ctx context.Context, b *browser, req *http.Request, redirect *url.URL, state string) (status int, code string, next *http.Request, err error) {
	req.Header.Set("Accept", "text/html")
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, "", nil, err
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc, err := resp.Location()
		if err != nil {
			return resp.StatusCode, "", nil, fmt.Errorf("%s: redirect without Location", req.URL.Path)
		}
		if loc.Scheme == redirect.Scheme && loc.Host == redirect.Host && loc.Path == redirect.Path {
			p := loc.Query()
			if e := p.Get("error"); e != "" {
				return resp.StatusCode, "", nil, fmt.Errorf("authorization error %s: %s", e, p.Get("error_description"))
			}
			if p.Get("state") != state {
				return resp.StatusCode, "", nil, errors.New("the redirect's state differs from the request's")
			}
			if p.Get("code") == "" {
				return resp.StatusCode, "", nil, errors.New("redirect without code")
			}
			return resp.StatusCode, p.Get("code"), nil, nil
		}
		next, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
		return resp.StatusCode, "", next, err
	case resp.StatusCode != http.StatusOK:
		return resp.StatusCode, "", nil, statusError(resp)
	}
	f, ok := parseForm(string(body))
	if !ok {
		return resp.StatusCode, "", nil, fmt.Errorf("%s: a page without a form", req.URL.Path)
	}
	action, err := req.URL.Parse(f.action)
	if err != nil {
		return resp.StatusCode, "", nil, fmt.Errorf("%s: form action: %w", req.URL.Path, err)
	}
	if f.password != "" {
		f.values.Set(f.username, c.cr.Username)
		f.values.Set(f.password, c.cr.Password)
	} else if f.decision == "" {
		return resp.StatusCode, "", nil, fmt.Errorf("%s: neither a login nor a consent form", req.URL.Path)
	}
	next, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(f.values.Encode()))
	if err != nil {
		return resp.StatusCode, "", nil, err
	}
	next.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return resp.StatusCode, "", next, nil
}

// form is the first POST form of a page, filled as a browser would: hidden
// fields (CSRF token, return_to, the authorization request) kept, the
// "allow" button pressed.
type form struct {
	action             string
	values             url.Values
	username, password string // names of the login fields, if any
	decision           string // name of the button valued "allow", if any
}

var (
	formRe   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	fieldRe  = regexp.MustCompile(`(?is)<(input|button)\b([^>]*)>`)
	attrRe   = regexp.MustCompile(`(?s)([a-zA-Z_:-]+)\s*=\s*"([^"]*)"`)
	methodRe = regexp.MustCompile(`(?i)^post$`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

func parseForm(page string) (form, bool) {
	for _, fm := range formRe.FindAllStringSubmatch(page, -1) {
		fa := attrs(fm[1])
		if !methodRe.MatchString(fa["method"]) {
			continue
		}
		f := form{action: fa["action"], values: url.Values{}}
		for _, in := range fieldRe.FindAllStringSubmatch(fm[2], -1) {
			a := attrs(in[2])
			name := a["name"]
			if name == "" {
				continue
			}
			switch typ := strings.ToLower(a["type"]); {
			case strings.EqualFold(in[1], "button"):
				if a["value"] == "allow" {
					f.decision = name
					f.values.Set(name, "allow")
				}
			case typ == "hidden":
				f.values.Add(name, a["value"])
			case typ == "password":
				f.password = name
			case typ == "text" || typ == "email" || typ == "":
				f.username = name
			}
		}
		return f, true
	}
	return form{}, false
}

// randomString is 32 random bytes in base64url: a PKCE verifier (RFC 7636
// §4.1 asks for 43-128 characters) or a state value.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
