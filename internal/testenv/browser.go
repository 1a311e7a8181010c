package testenv

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// Browser is an HTTP client with its own cookie jar that never follows
// redirects, so a test sees every hop. All browsers of an Env share the
// client address 127.0.0.1.
type Browser struct {
	e      *Env
	Client *http.Client
	// BaseURL is where relative paths go: the Env's server unless a test
	// serves something else (a handler built from the App's parts).
	BaseURL string
}

// Page is one response, body read.
type Page struct {
	Status int
	Header http.Header
	Body   string
}

// Browser returns a new browser with no cookies.
func (e *Env) Browser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{e: e, BaseURL: e.URL, Client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Get fetches path (relative to the server, or an absolute URL).
func (b *Browser) Get(path string) Page { return b.Do(http.MethodGet, path, nil, nil) }

// Post submits form urlencoded to path.
func (b *Browser) Post(path string, form url.Values) Page {
	return b.Do(http.MethodPost, path, form, nil)
}

// Do sends a request with an optional urlencoded form and extra headers.
func (b *Browser) Do(method, path string, form url.Values, header http.Header) Page {
	t := b.e.t
	t.Helper()
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = b.BaseURL + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, Header: resp.Header, Body: string(raw)}
}

// Location is the page's parsed Location header; the test fails without one.
func (p Page) Location(t interface {
	Helper()
	Fatalf(string, ...any)
}) *url.URL {
	t.Helper()
	loc := p.Header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location (status %d): %s", p.Status, p.Body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	return u
}

// Cookie returns the value of the cookie named name that the response set,
// "" when it set none.
func (p Page) Cookie(name string) string {
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// Hidden returns the page's hidden form fields, HTML-unescaped: a form's
// CSRF token (csrf_token), return_to, an authorization request's
// parameters.
func (p Page) Hidden() url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(p.Body, -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// CSRF returns the CSRF token of the form at path (the login form's
// double-submit token before sign-in, the session's token after).
func (b *Browser) CSRF(path string) string {
	b.e.t.Helper()
	tok := b.Get(path).Hidden().Get("csrf_token")
	if tok == "" {
		b.e.t.Fatalf("testenv: no csrf_token on %s", path)
	}
	return tok
}

// SignIn signs username in through the login form, as a person would.
func (b *Browser) SignIn(username, password string) {
	b.e.t.Helper()
	f := b.Get("/login").Hidden()
	f.Set("username", username)
	f.Set("password", password)
	if p := b.Post("/login", f); p.Status != http.StatusSeeOther {
		b.e.t.Fatalf("testenv: sign in %q: status %d: %s", username, p.Status, p.Body)
	}
}
