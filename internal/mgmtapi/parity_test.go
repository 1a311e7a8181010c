package mgmtapi_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
)

// TestSessionCSRFToken: a session caller learns its CSRF token from GET
// /api/session/ and can use it on an unsafe request; other callers get
// none.
func TestSessionCSRFToken(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		cookie, want := h.session(h.alice)
		r := h.do(req{method: "GET", path: mgmtapi.PathSession, cookie: cookie})
		got, _ := r.get("session", "csrf_token").(string)
		if r.code != 200 || got != want || r.get("session", "csrf_header") != resources.CSRFHeader {
			t.Fatalf("session: %d %s; want csrf_token %q", r.code, r.raw, want)
		}
		created := h.do(req{method: "POST", path: tokensPath("alice"), cookie: cookie, csrf: got, form: url.Values{"note": {"x"}, "policy": {"{}"}}})
		if created.code != 201 {
			t.Fatalf("POST with the CSRF token from /api/session/: %d %s", created.code, created.raw)
		}
		for name, r := range map[string]resp{
			"basic":     h.do(req{method: "GET", path: mgmtapi.PathSession, authz: h.basic("alice")}),
			"anonymous": h.do(req{method: "GET", path: mgmtapi.PathSession}),
		} {
			if r.code != 200 || r.get("session", "csrf_token") != nil {
				t.Errorf("%s: %d %s; want no csrf_token", name, r.code, r.raw)
			}
		}
	})
}

// TestNullPolicyMeansFullAccess: "policy": null in the API is {} (Djblets'
// JSONField reads NULL as {}), as in `token create` and `policy check`.
func TestNullPolicyMeansFullAccess(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		r := h.do(req{method: "POST", path: tokensPath("alice"), authz: h.basic("alice"), json: `{"note":"n","policy":null}`})
		if r.code != 201 || r.get("api_token", "policy") == nil || len(r.get("api_token", "policy").(map[string]any)) != 0 {
			t.Fatalf("POST policy null: %d %s", r.code, r.raw)
		}
	})
}

// TestBulkInvalidateAPI: POST /api/api-tokens/invalidate/ for admins, with
// the CLI's filters and a dry run.
func TestBulkInvalidateAPI(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		ctx := context.Background()
		mk := func(u string, note string) *tokens.Token {
			p := tokens.GenerateParams{User: h.alice, Note: note}
			if u == "bob" {
				p.User = h.bob
			}
			tok, _, err := h.tokens.Generate(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		a1, a2, b1 := mk("alice", "CI deploy"), mk("alice", "laptop"), mk("bob", "CI deploy")
		path := mgmtapi.PathAPITokensInvalidate
		admin := h.basic("admin")
		cookie, csrf := h.session(h.admin)

		for _, c := range []struct {
			name   string
			r      req
			status int
			code   int
		}{
			{"not an admin", req{method: "POST", path: path, authz: h.basic("alice"), form: url.Values{"reason": {"x"}}}, 403, 101},
			{"anonymous", req{method: "POST", path: path, form: url.Values{"reason": {"x"}}}, 401, 103},
			{"session without CSRF", req{method: "POST", path: path, cookie: cookie, form: url.Values{"reason": {"x"}}}, 403, 101},
			{"reason required", req{method: "POST", path: path, authz: admin, form: url.Values{}}, 400, 105},
			{"bad time", req{method: "POST", path: path, authz: admin, form: url.Values{"reason": {"x"}, "created_before": {"soon"}}}, 400, 105},
			{"unknown user", req{method: "POST", path: path, authz: admin, form: url.Values{"reason": {"x"}, "users": {"nobody"}}}, 400, 105},
			{"empty user list is not everyone", req{method: "POST", path: path, authz: admin, form: url.Values{"reason": {"x"}, "users": {" , "}}}, 400, 105},
			{"unknown generator", req{method: "POST", path: path, authz: admin, form: url.Values{"reason": {"x"}, "generator": {"md5"}}}, 400, 105},
		} {
			if r := h.do(c.r); r.code != c.status || r.errCode() != c.code {
				t.Errorf("%s: %d %s; want %d code %d", c.name, r.code, r.raw, c.status, c.code)
			}
		}

		dry := h.do(req{method: "POST", path: path, cookie: cookie, csrf: csrf, json: `{"note_contains":"CI","dry_run":true}`})
		if dry.code != 200 || dry.get("total_results") != float64(2) || dry.get("dry_run") != true {
			t.Fatalf("dry run: %d %s", dry.code, dry.raw)
		}
		for _, tok := range []*tokens.Token{a1, a2, b1} {
			if got, _ := h.tokens.Get(ctx, tok.ID); !got.Valid {
				t.Fatalf("dry run invalidated token %d", tok.ID)
			}
		}
		r := h.do(req{method: "POST", path: path, authz: admin, form: url.Values{
			"users": {"alice,bob"}, "note_contains": {"CI"}, "created_after": {time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
			"only_unexpired": {"true"}, "reason": {"Rotated."}}})
		if r.code != 200 || r.get("total_results") != float64(2) {
			t.Fatalf("invalidate: %d %s", r.code, r.raw)
		}
		for tok, valid := range map[*tokens.Token]bool{a1: false, a2: true, b1: false} {
			got, _ := h.tokens.Get(ctx, tok.ID)
			if got.Valid != valid || !valid && got.InvalidReason != "Rotated." {
				t.Errorf("token %d (%s): valid %v reason %q", tok.ID, tok.Note, got.Valid, got.InvalidReason)
			}
		}
		evs, err := h.tokens.AuditEvents(ctx, audit.Filter{Kind: string(tokens.EventInvalidated)})
		if err != nil || len(evs) != 2 || evs[0].ActorUserID == nil || *evs[0].ActorUserID != h.admin.ID {
			t.Errorf("audit: %+v, %v", evs, err)
		}
	})
}

// fixedLimiter allows n requests in all.
type fixedLimiter struct{ n int }

func (l *fixedLimiter) Allow(string, bool) (bool, time.Duration, int) {
	l.n--
	return l.n >= 0, time.Minute, 2
}

// TestCredentialsRevoke: anyone may report an API token as leaked; the
// answer is 202 whatever was sent; malformed bodies get 400; the endpoint
// is rate-limited.
func TestCredentialsRevoke(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		h := newHarness(t, e, harnessOpts{reportLimiter: &fixedLimiter{n: 6}})
		ctx := context.Background()
		raw, tok := h.apiToken(h.alice, `{}`)
		other, otherTok := h.apiToken(h.alice, `{}`)
		body := `{"credentials":["` + raw + `","agp_unknown","","not a token","` + raw + `"]}`
		r := h.do(req{method: "POST", path: mgmtapi.PathCredentialsRevoke, json: body})
		junk := h.do(req{method: "POST", path: mgmtapi.PathCredentialsRevoke, json: `{"credentials":["agp_unknown"]}`})
		if r.code != 202 || junk.code != 202 || r.raw != junk.raw || r.raw != `{"stat":"ok"}` {
			t.Fatalf("report: %d %s; junk: %d %s — must be the same 202", r.code, r.raw, junk.code, junk.raw)
		}
		got, _ := h.tokens.Get(ctx, tok.ID)
		if got.Valid || got.InvalidReason != mgmtapi.LeakedReason {
			t.Fatalf("reported token: valid %v reason %q", got.Valid, got.InvalidReason)
		}
		if o, _ := h.tokens.Get(ctx, otherTok.ID); !o.Valid {
			t.Fatal("a token that was not reported was invalidated")
		}
		s := h.do(req{method: "GET", path: mgmtapi.PathSession, authz: "token " + raw})
		if s.code != 401 || !strings.HasSuffix(s.errMsg(), ": Reported as leaked.") {
			t.Errorf("reported token still works or wrong message: %d %s", s.code, s.raw)
		}
		if s := h.do(req{method: "GET", path: mgmtapi.PathSession, authz: "token " + other}); s.code != 200 {
			t.Errorf("other token: %d", s.code)
		}
		evs, _ := h.tokens.AuditEvents(ctx, audit.Filter{Kind: string(tokens.EventInvalidated)})
		if len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"reason":"Reported as leaked."`) || evs[0].ActorUserID != nil {
			t.Errorf("audit: %+v", evs)
		}
		if strings.Contains(h.logs.String(), raw[8:]) {
			t.Error("the log contains a reported token")
		}
		for _, bad := range []string{`[]`, `{"credentials":"x"}`, `{}`, `{"credentials":[1]}`} {
			if r := h.do(req{method: "POST", path: mgmtapi.PathCredentialsRevoke, json: bad}); r.code != 400 || r.errCode() != 105 {
				t.Errorf("body %s: %d %s; want 400 code 105", bad, r.code, r.raw)
			}
		}
		// Six requests were allowed; the seventh is refused in the envelope.
		r = h.do(req{method: "POST", path: mgmtapi.PathCredentialsRevoke, json: `{"credentials":[]}`})
		if r.code != 429 || r.errCode() != 114 || r.header.Get("Retry-After") != "60" {
			t.Errorf("over the limit: %d %s %v", r.code, r.raw, r.header)
		}
	}, apiEnv)
}
