package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/tokens"
)

func (ag *authgate) reportCredentials(creds ...string) (int, string) {
	ag.t.Helper()
	b, _ := json.Marshal(map[string]any{"credentials": creds})
	resp, err := http.Post(ag.URL+"/api/credentials/revoke", "application/json", strings.NewReader(string(b)))
	if err != nil {
		ag.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String()
}

// TestReportLeakedCredentials: POST /api/credentials/revoke with an API
// token, a JWT access token (of one grant) and a refresh token (of
// another) invalidates the API token and revokes both grants, with one
// audit event per credential, and answers exactly as for junk.
func TestReportLeakedCredentials(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		ctx := context.Background()
		_, raw, err := ag.App.Tokens.Generate(ctx, tokens.GenerateParams{User: ag.alice})
		if err != nil {
			t.Fatal(err)
		}
		b := ag.browser()
		_, tok1 := ag.userToken(t, b, "session:read")
		_, tok2 := ag.userToken(t, b, "session:read")

		status, body := ag.reportCredentials(raw, tok1.AccessToken, tok2.RefreshToken, "agrt_nothing", "junk")
		junkStatus, junkBody := ag.reportCredentials("agrt_nothing")
		if status != http.StatusAccepted || junkStatus != status || body != junkBody {
			t.Fatalf("report: %d %s; junk: %d %s — want the same 202", status, body, junkStatus, junkBody)
		}

		// The API token is invalid, with the reason shown to its user.
		req, _ := http.NewRequest(http.MethodGet, ag.URL+"/api/session/", nil)
		req.Header.Set("Authorization", "token "+raw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if msg, _ := env["err"].(map[string]any)["msg"].(string); resp.StatusCode != 401 || !strings.HasSuffix(msg, ": Reported as leaked.") {
			t.Errorf("reported API token: %d %v", resp.StatusCode, env)
		}
		// Grant 1 (reported by its access token) is gone, refresh token included.
		if s, _ := ag.apiSession(tok1.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("reported access token: %d", s)
		}
		for name, rt := range map[string]string{"grant 1": tok1.RefreshToken, "grant 2": tok2.RefreshToken} {
			if _, err := ag.oauthConfig(ag.conf).TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token(); err == nil {
				t.Errorf("%s: refresh token still works", name)
			}
		}
		// Grant 2 was reported by its refresh token: its access token dies too.
		if s, _ := ag.apiSession(tok2.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("access token of the reported refresh token: %d", s)
		}

		evs, err := ag.App.Tokens.AuditEvents(ctx, audit.Filter{Kind: authserver.AuditCredentialReported})
		if err != nil || len(evs) != 2 {
			t.Fatalf("oauth.credential_reported events: %d, %v", len(evs), err)
		}
		inv, _ := ag.App.Tokens.AuditEvents(ctx, audit.Filter{Kind: string(tokens.EventInvalidated)})
		if len(inv) != 1 || !strings.Contains(string(inv[0].Data), `"reason":"Reported as leaked."`) {
			t.Errorf("token.invalidated events: %+v", inv)
		}
		// Reporting again changes nothing and records nothing.
		ag.reportCredentials(raw, tok1.AccessToken, tok2.RefreshToken)
		if again, _ := ag.App.Tokens.AuditEvents(ctx, audit.Filter{Kind: authserver.AuditCredentialReported}); len(again) != 2 {
			t.Errorf("second report added events: %d", len(again))
		}
	})
}

// TestImportedTokensOverHTTP: an imported Review Board rbp_ token and a
// legacy 40-hex token authenticate on the API with their original values;
// the legacy one carries X-API-Token-Deprecated.
func TestImportedTokensOverHTTP(t *testing.T) {
	eachDB(t, configs.Overrides{"tokens.accepted_prefixes": []string{"rbp"}}, func(t *testing.T, ag *authgate) {
		ctx := context.Background()
		entropy := strings.Repeat("rB4", 82)[:245]
		rbp := "rbp_" + entropy + tokens.VendorChecksumOf(entropy)
		const legacy = "ead9190eadc2f8ccc051f813be28ea1f24ba3810"
		var recs []tokens.ImportRecord
		for _, line := range []string{
			`{"user":"` + userName + `","token":"` + rbp + `","token_generator_id":"vendor_checksum","policy":"{}"}`,
			`{"user":"` + userName + `","token":"` + legacy + `","token_generator_id":"legacy_sha1"}`,
		} {
			r, err := tokens.ParseImportLine([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, r)
		}
		out, err := ag.App.Tokens.Import(ctx, recs, tokens.ImportOptions{})
		if err != nil || out[0].Status != tokens.ImportImported || out[1].Status != tokens.ImportImported {
			t.Fatalf("Import = %+v, %v", out, err)
		}
		for _, c := range []struct {
			raw        string
			deprecated bool
		}{{rbp, false}, {legacy, true}} {
			req, _ := http.NewRequest(http.MethodGet, ag.URL+"/api/session/", nil)
			req.Header.Set("Authorization", "token "+c.raw)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || (resp.Header.Get("X-API-Token-Deprecated") == tokens.DeprecatedHeaderValue) != c.deprecated {
				t.Errorf("%.8s…: %d, X-API-Token-Deprecated %q", c.raw, resp.StatusCode, resp.Header.Get("X-API-Token-Deprecated"))
			}
		}
	})
}

// TestReportLeakedOpaqueAccessToken: an opaque access token reported as
// leaked revokes its grant, refresh token included.
func TestReportLeakedOpaqueAccessToken(t *testing.T) {
	eachDB(t, configs.Overrides{"oauth.access_token_format": "opaque"}, func(t *testing.T, ag *authgate) {
		ctx := context.Background()
		_, tok := ag.userToken(t, ag.browser(), "session:read")
		if !strings.HasPrefix(tok.AccessToken, authserver.PrefixAccessToken+"_") {
			t.Fatalf("access token %.8s… is not opaque", tok.AccessToken)
		}
		if s, _ := ag.apiSession(tok.AccessToken); s != http.StatusOK {
			t.Fatalf("before the report: %d", s)
		}
		if s, _ := ag.reportCredentials(tok.AccessToken); s != http.StatusAccepted {
			t.Fatalf("report: %d", s)
		}
		if s, _ := ag.apiSession(tok.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("reported opaque access token: %d", s)
		}
		if _, err := ag.oauthConfig(ag.conf).TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Error("refresh token of the reported grant still works")
		}
		evs, _ := ag.App.Tokens.AuditEvents(ctx, audit.Filter{Kind: authserver.AuditCredentialReported})
		if len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"tokens_revoked":`) {
			t.Errorf("audit: %+v", evs)
		}
	})
}
