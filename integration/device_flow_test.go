package integration

import (
	"context"
	"errors"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/testenv"
)

var userCodeFieldRE = regexp.MustCompile(`name="user_code" value="([^"]*)"`)

// TestDeviceFlowXOAuth2 runs the device authorization grant (RFC 8628)
// with a client no one on the project wrote: golang.org/x/oauth2's
// Config.DeviceAuth starts two requests and Config.DeviceAccessToken polls
// each in a goroutine, while the test, as a browser, opens
// verification_uri_complete, is sent through the login form and back,
// submits the pre-filled code form and allows the first on the consent
// page and denies the second. The first poller gets a token that works on
// the API; the second gets access_denied. On SQLite and PostgreSQL.
func TestDeviceFlowXOAuth2(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		tv, _ := e.RegisterClient(authserver.ClientSpec{Name: "Terminal", Public: true,
			GrantTypes: []string{authserver.GrantDeviceCode, authserver.GrantRefreshToken}, Scopes: []string{"session:read"}})
		cfg := &oauth2.Config{
			ClientID: tv.ID,
			Scopes:   []string{"session:read"},
			Endpoint: oauth2.Endpoint{
				DeviceAuthURL: e.URL + authserver.PathDeviceAuthorization,
				TokenURL:      e.URL + authserver.PathToken,
				AuthStyle:     oauth2.AuthStyleInParams,
			},
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		type result struct {
			tok *oauth2.Token
			err error
		}
		start := func() (*oauth2.DeviceAuthResponse, chan result) {
			da, err := cfg.DeviceAuth(ctx)
			if err != nil {
				t.Fatalf("DeviceAuth: %v", err)
			}
			ch := make(chan result, 1)
			go func() {
				tok, err := cfg.DeviceAccessToken(ctx, da)
				ch <- result{tok, err}
			}()
			return da, ch
		}
		allowDA, allowed := start()
		denyDA, denied := start()
		if allowDA.VerificationURI != e.URL+"/device" || allowDA.Interval != 5 || allowDA.UserCode == denyDA.UserCode {
			t.Fatalf("device authorization responses: %+v %+v", allowDA, denyDA)
		}

		b := e.Browser()
		decide := func(da *oauth2.DeviceAuthResponse, decision string) {
			t.Helper()
			// The code-entry form, pre-filled from verification_uri_complete.
			p := b.Get(da.VerificationURIComplete)
			for p.Status == http.StatusSeeOther {
				loc := p.Location(t)
				if loc.Path == "/login" { // signed out: the login form, which returns here
					login := b.Get(loc.String())
					f := login.Hidden()
					f.Set("username", testenv.UserUsername)
					f.Set("password", testenv.UserPassword)
					p = b.Post("/login", f)
					continue
				}
				p = b.Get(loc.String())
			}
			m := userCodeFieldRE.FindStringSubmatch(p.Body)
			if p.Status != http.StatusOK || m == nil || html.UnescapeString(m[1]) != da.UserCode {
				t.Fatalf("code form = %d, user_code field %v, want %q", p.Status, m, da.UserCode)
			}
			form := p.Hidden()
			form.Set("user_code", html.UnescapeString(m[1]))
			consent := b.Post("/device", form)
			if consent.Status != http.StatusOK || !strings.Contains(consent.Body, "Terminal") {
				t.Fatalf("consent page = %d %s", consent.Status, consent.Body)
			}
			f := consent.Hidden()
			f.Set("decision", decision)
			if done := b.Post("/device", f); done.Status != http.StatusOK || !strings.Contains(done.Body, `id="device-done"`) {
				t.Fatalf("%s = %d %s", decision, done.Status, done.Body)
			}
		}
		decide(allowDA, "allow")
		decide(denyDA, "deny")

		r := <-allowed
		if r.err != nil || r.tok.AccessToken == "" || r.tok.RefreshToken == "" {
			t.Fatalf("DeviceAccessToken after allow = %+v, %v", r.tok, r.err)
		}
		resp, err := cfg.Client(ctx, r.tok).Get(e.URL + "/api/session/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/session/ with the device token = %d", resp.StatusCode)
		}
		// The refresh token the device got refreshes through x/oauth2 too.
		expired := *r.tok
		expired.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(ctx, &expired).Token()
		if err != nil || fresh.AccessToken == r.tok.AccessToken {
			t.Fatalf("refresh the device's token: %+v, %v", fresh, err)
		}

		r = <-denied
		var re *oauth2.RetrieveError
		if !errors.As(r.err, &re) || re.ErrorCode != "access_denied" {
			t.Fatalf("DeviceAccessToken after deny = %+v, %v", r.tok, r.err)
		}
	})
}
