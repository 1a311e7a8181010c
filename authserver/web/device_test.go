package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/testenv"
)

// deviceEnv is the application with a public device client, a
// confidential one and a code-flow client.
type deviceEnv struct {
	*testenv.Env
	tv, conf, web *authserver.Client
	confSecret    string
}

func newDeviceEnv(t *testing.T, e *testenv.Env) *deviceEnv {
	de := &deviceEnv{Env: e}
	de.tv, _ = e.RegisterClient(authserver.ClientSpec{Name: "Living-room TV", Public: true,
		GrantTypes: []string{authserver.GrantDeviceCode, authserver.GrantRefreshToken}, Scopes: []string{"session:read", "user:read"}})
	de.conf, de.confSecret = e.RegisterClient(authserver.ClientSpec{Name: "CLI",
		GrantTypes: []string{authserver.GrantDeviceCode}, Scopes: []string{"session:read"}})
	de.web, _ = e.RegisterClient(authserver.ClientSpec{Name: "Web",
		RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"session:read"}})
	return de
}

// post sends an OAuth form (no cookies) and decodes the JSON answer.
func (de *deviceEnv) post(t *testing.T, path string, form url.Values, basic ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, de.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: answer is not JSON: %v", path, err)
	}
	return resp.StatusCode, out
}

func (de *deviceEnv) authorize(t *testing.T, clientID, scope string) map[string]any {
	t.Helper()
	st, out := de.post(t, authserver.PathDeviceAuthorization, url.Values{"client_id": {clientID}, "scope": {scope}})
	if st != http.StatusOK {
		t.Fatalf("device authorization: %d %v", st, out)
	}
	return out
}

func (de *deviceEnv) poll(t *testing.T, clientID, deviceCode string) (int, map[string]any) {
	t.Helper()
	return de.post(t, authserver.PathToken, url.Values{"grant_type": {authserver.GrantDeviceCode},
		"client_id": {clientID}, "device_code": {deviceCode}})
}

// wantError checks an RFC 6749 §5.2 error answer.
func wantError(t *testing.T, st int, out map[string]any, status int, code string) {
	t.Helper()
	if st != status || out["error"] != code {
		t.Fatalf("answer = %d %v, want %d %s", st, out, status, code)
	}
}

// exec runs SQL on the application's database: the application has no
// injectable clock, so time passes by moving rows.
func (de *deviceEnv) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := de.App.DB.ExecContext(context.Background(), de.App.DB.Rebind(q), args...); err != nil {
		t.Fatal(err)
	}
}

func TestDeviceAuthorizationEndpoint(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		de := newDeviceEnv(t, e)
		var meta authserver.Metadata
		resp, err := http.Get(de.URL + authserver.PathMetadata)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&meta)
		resp.Body.Close()
		if meta.DeviceAuthorizationEndpoint != de.URL+"/oauth/device_authorization" ||
			!strings.Contains(strings.Join(meta.GrantTypesSupported, " "), "urn:ietf:params:oauth:grant-type:device_code") {
			t.Fatalf("metadata: %+v", meta)
		}

		st, out := de.post(t, authserver.PathDeviceAuthorization, url.Values{"client_id": {"agci_nobody"}})
		wantError(t, st, out, http.StatusUnauthorized, "invalid_client")
		st, out = de.post(t, authserver.PathDeviceAuthorization, url.Values{"client_id": {de.conf.ID}}, de.conf.ID, "wrong")
		wantError(t, st, out, http.StatusUnauthorized, "invalid_client")
		st, out = de.post(t, authserver.PathDeviceAuthorization, url.Values{"client_id": {de.web.ID}})
		wantError(t, st, out, http.StatusUnauthorized, "invalid_client") // confidential, no secret
		st, out = de.post(t, authserver.PathDeviceAuthorization, url.Values{"client_id": {de.tv.ID}, "scope": {"root:write"}})
		wantError(t, st, out, http.StatusBadRequest, "invalid_scope")
		st, out = de.post(t, authserver.PathDeviceAuthorization, url.Values{"scope": {"session:read"}}, de.conf.ID, de.confSecret)
		if st != http.StatusOK {
			t.Fatalf("confidential device client: %d %v", st, out)
		}

		out = de.authorize(t, de.tv.ID, "session:read")
		uc, _ := out["user_code"].(string)
		dc, _ := out["device_code"].(string)
		if len(uc) != 9 || uc[4] != '-' || strings.ContainsAny(uc, "AEIOUY01") || !strings.HasPrefix(dc, "agdc_") ||
			out["verification_uri"] != de.URL+"/device" ||
			out["verification_uri_complete"] != de.URL+"/device?user_code="+uc ||
			out["expires_in"] != float64(600) || out["interval"] != float64(5) {
			t.Fatalf("device authorization answer: %v", out)
		}
		// Another client cannot poll it; an unallowed client may not use the grant.
		st, out = de.post(t, authserver.PathToken, url.Values{"grant_type": {authserver.GrantDeviceCode}, "device_code": {dc}},
			de.conf.ID, de.confSecret)
		wantError(t, st, out, http.StatusBadRequest, "invalid_grant")
		st, out = de.poll(t, de.tv.ID, "")
		wantError(t, st, out, http.StatusBadRequest, "invalid_request")
		st, out = de.poll(t, de.tv.ID, "agdc_garbage")
		wantError(t, st, out, http.StatusBadRequest, "invalid_grant")
	})
}

func TestDeviceFlow(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		de := newDeviceEnv(t, e)
		out := de.authorize(t, de.tv.ID, "session:read user:read")
		uc, dc := out["user_code"].(string), out["device_code"].(string)

		// RFC 8628 §3.5: pending, then too fast, then pending again once the
		// interval (now 10 s) has passed.
		st, res := de.poll(t, de.tv.ID, dc)
		wantError(t, st, res, http.StatusBadRequest, "authorization_pending")
		st, res = de.poll(t, de.tv.ID, dc)
		wantError(t, st, res, http.StatusBadRequest, "slow_down")
		de.exec(t, `UPDATE device_codes SET last_poll_at = ?`, time.Now().UTC().Add(-9*time.Second))
		st, res = de.poll(t, de.tv.ID, dc)
		wantError(t, st, res, http.StatusBadRequest, "authorization_pending")
		de.exec(t, `UPDATE device_codes SET last_poll_at = ?`, time.Now().UTC().Add(-11*time.Second))

		// The verification page: login redirect and back, code pre-filled.
		b := de.Browser()
		p := b.Get("/device?user_code=" + url.QueryEscape(uc))
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login?return_to=") {
			t.Fatalf("signed-out /device = %d %v", p.Status, p.Header)
		}
		ret := p.Location(t).Query().Get("return_to")
		if ret != "/device?user_code="+url.QueryEscape(uc) {
			t.Fatalf("return_to = %q", ret)
		}
		b.SignIn(testenv.UserUsername, testenv.UserPassword)
		p = b.Get(ret)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="user_code" value="`+uc+`"`) {
			t.Fatalf("/device form = %d %s", p.Status, p.Body)
		}
		csrf := p.Hidden().Get("csrf_token")

		// No CSRF token: refused.
		if p := b.Post("/device", url.Values{"user_code": {uc}}); p.Status != http.StatusForbidden {
			t.Fatalf("POST /device without CSRF = %d", p.Status)
		}
		// A wrong code: an error in place, never a consent page.
		p = b.Post("/device", url.Values{"csrf_token": {csrf}, "user_code": {"BCDF-GHJK"}})
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="device-error"`) || strings.Contains(p.Body, "consent-allow") {
			t.Fatalf("wrong code = %d %s", p.Status, p.Body)
		}
		// Nor can a decision name a wrong code.
		p = b.Post("/device", url.Values{"csrf_token": {csrf}, "user_code": {"BCDF-GHJK"}, "decision": {"allow"}})
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="device-error"`) {
			t.Fatalf("decision on a wrong code = %d %s", p.Status, p.Body)
		}
		// The right code, typed in lower case without the dash: the
		// consent page for the device's client.
		p = b.Post("/device", url.Values{"csrf_token": {csrf}, "user_code": {strings.ToLower(strings.ReplaceAll(uc, "-", ""))}})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Living-room TV") || !strings.Contains(p.Body, "consent-allow") ||
			!strings.Contains(p.Body, `<code>user:read</code>`) {
			t.Fatalf("consent page = %d %s", p.Status, p.Body)
		}
		f := p.Hidden()
		f.Set("decision", "allow")
		p = b.Post("/device", f)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Device connected") {
			t.Fatalf("allow = %d %s", p.Status, p.Body)
		}
		// Deciding again finds nothing pending.
		if p := b.Post("/device", f); p.Status != http.StatusBadRequest {
			t.Fatalf("second decision = %d", p.Status)
		}

		st, res = de.poll(t, de.tv.ID, dc)
		if st != http.StatusOK || res["access_token"] == nil || res["refresh_token"] == nil || res["token_type"] != "Bearer" ||
			res["scope"] != "session:read user:read" {
			t.Fatalf("poll after approval = %d %v", st, res)
		}
		// The device's tokens are a use of the consent (authorized apps' "last used").
		if co, err := e.App.OAuth.Consents.Get(t.Context(), e.User.ID, de.tv.ID); err != nil || co.LastUsedAt == nil {
			t.Fatalf("consent after the device got tokens = %+v, %v; want a last use", co, err)
		}
		// The token works on authgate's own API.
		req, _ := http.NewRequest(http.MethodGet, de.URL+"/api/session/", nil)
		req.Header.Set("Authorization", "Bearer "+res["access_token"].(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/session/ with the device's token = %d", resp.StatusCode)
		}
		// Redeemed once.
		st, res = de.poll(t, de.tv.ID, dc)
		wantError(t, st, res, http.StatusBadRequest, "invalid_grant")
		// The authorized-apps page lists the device's access.
		if p := b.Get("/account/authorized-apps/"); !strings.Contains(p.Body, "Living-room TV") {
			t.Fatalf("authorized-apps page does not list the device: %s", p.Body)
		}

		// Denied.
		out = de.authorize(t, de.tv.ID, "session:read")
		p = b.Post("/device", url.Values{"csrf_token": {csrf}, "user_code": {out["user_code"].(string)}})
		f = p.Hidden()
		f.Set("decision", "deny")
		if p := b.Post("/device", f); p.Status != http.StatusOK || !strings.Contains(p.Body, "Request denied") {
			t.Fatalf("deny = %d %s", p.Status, p.Body)
		}
		st, res = de.poll(t, de.tv.ID, out["device_code"].(string))
		wantError(t, st, res, http.StatusBadRequest, "access_denied")

		// Expired: the poll says so, and the page no longer takes the code.
		out = de.authorize(t, de.tv.ID, "session:read")
		de.exec(t, `UPDATE device_codes SET expires_at = ? WHERE status = 'pending'`, time.Now().UTC().Add(-time.Second))
		st, res = de.poll(t, de.tv.ID, out["device_code"].(string))
		wantError(t, st, res, http.StatusBadRequest, "expired_token")
		p = b.Post("/device", url.Values{"csrf_token": {csrf}, "user_code": {out["user_code"].(string)}})
		if p.Status != http.StatusBadRequest || strings.Contains(p.Body, "consent-allow") {
			t.Fatalf("expired code on the page = %d", p.Status)
		}
	})
}

// TestDevicePollingIsNotAFailure: polling a live code, however fast, gets
// authorization_pending or slow_down, never the per-address failure
// limit's 429 (60 failures a minute), which guessed device codes still hit.
func TestDevicePollingIsNotAFailure(t *testing.T) {
	de := newDeviceEnv(t, testenv.New(t))
	dc := de.authorize(t, de.tv.ID, "session:read")["device_code"].(string)
	for i := range 80 {
		st, res := de.poll(t, de.tv.ID, dc)
		if st != http.StatusBadRequest || (res["error"] != "authorization_pending" && res["error"] != "slow_down") {
			t.Fatalf("poll %d = %d %v", i, st, res)
		}
	}
	for range 80 {
		st, res := de.poll(t, de.tv.ID, "agdc_guess")
		if st == http.StatusTooManyRequests {
			return
		}
		wantError(t, st, res, http.StatusBadRequest, "invalid_grant")
	}
	t.Fatal("80 guessed device codes from one address were never limited")
}

// TestDeviceCodeGuessingLimited: wrong codes are limited per user and
// address; once the limit is reached even the right code waits.
func TestDeviceCodeGuessingLimited(t *testing.T) {
	de := newDeviceEnv(t, testenv.New(t))
	out := de.authorize(t, de.tv.ID, "session:read")
	b := de.Browser()
	b.SignIn(testenv.UserUsername, testenv.UserPassword)
	csrf := b.CSRF("/device")
	wrong := 0
	for i := range 20 {
		p := b.Post("/device", url.Values{"csrf_token": {csrf}, "user_code": {"BCDF-GHJK"}})
		if p.Status == http.StatusTooManyRequests {
			if p.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			break
		}
		if p.Status != http.StatusBadRequest {
			t.Fatalf("guess %d = %d", i, p.Status)
		}
		wrong++
	}
	if wrong != 10 {
		t.Fatalf("%d wrong codes before the limit, want 10", wrong)
	}
	if p := b.Post("/device", url.Values{"csrf_token": {csrf}, "user_code": {out["user_code"].(string)}}); p.Status != http.StatusTooManyRequests {
		t.Fatalf("right code after the limit = %d", p.Status)
	}
}
