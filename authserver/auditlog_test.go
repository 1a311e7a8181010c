package authserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/testenv"
)

// Audit-log events of the authorization server (docs/architecture.md, "Operations", oauthstore/auditlog.go):
// each client admin operation, each detected attack and each consent
// withdrawal leaves exactly its event, with the right actor, and no secret
// anywhere in audit_events.

// lastAuditID returns the newest audit event's ID (0 when there is none).
func (h *harness) lastAuditID() int64 {
	h.t.Helper()
	evs, err := audit.List(context.Background(), h.d, audit.Filter{NewestFirst: true, Limit: 1})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(evs) == 0 {
		return 0
	}
	return evs[0].ID
}

// auditAfter returns the events appended after ID since, oldest first.
func (h *harness) auditAfter(since int64) []audit.Event {
	h.t.Helper()
	evs, err := audit.List(context.Background(), h.d, audit.Filter{AfterID: since})
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

// wantEvent is the one event an operation must leave.
type wantEvent struct {
	kind        string
	subjectType string
	subjectID   string
	actor       *int64
	data        string // JSON, compared as a value
}

// expectOneEvent checks that exactly want was appended after since.
func expectOneEvent(t *testing.T, h *harness, since int64, want wantEvent) {
	t.Helper()
	evs := h.auditAfter(since)
	if len(evs) != 1 {
		t.Fatalf("%d audit events, want exactly one %s: %+v", len(evs), want.kind, evs)
	}
	e := evs[0]
	if e.Kind != want.kind || e.SubjectType != want.subjectType || e.SubjectID != want.subjectID {
		t.Errorf("event %s %s/%s, want %s %s/%s", e.Kind, e.SubjectType, e.SubjectID, want.kind, want.subjectType, want.subjectID)
	}
	switch {
	case (e.ActorUserID == nil) != (want.actor == nil):
		t.Errorf("actor %v, want %v", e.ActorUserID, want.actor)
	case e.ActorUserID != nil && *e.ActorUserID != *want.actor:
		t.Errorf("actor %d, want %d", *e.ActorUserID, *want.actor)
	}
	var got, exp any
	if err := json.Unmarshal(e.Data, &got); err != nil {
		t.Fatalf("data %s: %v", e.Data, err)
	}
	if err := json.Unmarshal([]byte(want.data), &exp); err != nil {
		t.Fatalf("bad expectation %s: %v", want.data, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("data\n got %s\nwant %s", e.Data, want.data)
	}
}

// expectNoEvent checks that nothing was appended after since.
func expectNoEvent(t *testing.T, h *harness, since int64) {
	t.Helper()
	if evs := h.auditAfter(since); len(evs) != 0 {
		t.Fatalf("unexpected audit events: %+v", evs)
	}
}

// auditTableText is every column of every audit_events row as text, read
// with plain SQL so that nothing the audit package adds or drops hides a
// leak.
func auditTableText(t *testing.T, d *db.DB) string {
	t.Helper()
	rows, err := d.Queryx(`SELECT * FROM audit_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		cols, err := rows.SliceScan()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			if bs, ok := c.([]byte); ok {
				c = string(bs)
			}
			fmt.Fprintf(&b, "%v\t", c)
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// expectNoSecrets fails when any secret, or its SHA-256 digest, appears in
// audit_events.
func expectNoSecrets(t *testing.T, d *db.DB, secrets ...string) {
	t.Helper()
	text := auditTableText(t, d)
	if text == "" {
		t.Fatal("audit_events is empty: the scan would prove nothing")
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("empty secret in the scan list")
		}
		if strings.Contains(text, s) {
			t.Errorf("audit_events holds a secret (%.9s…)", s)
		}
		if strings.Contains(text, oauthstore.Digest(s)) {
			t.Errorf("audit_events holds the digest of a secret (%.9s…)", s)
		}
	}
}

func ptrID(v int64) *int64 { return &v }

// TestAuditLog_ClientAdminOperations: the Server's client operations, as the
// CLI calls them (no actor).
func TestAuditLog_ClientAdminOperations(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		ctx := context.Background()
		var (
			id      string
			secrets []string
		)
		steps := []struct {
			name string
			op   func() error
			want *wantEvent // nil: the step must append nothing
		}{
			{"create", func() error {
				c, secret, err := h.s.CreateClient(ctx, authserver.ClientSpec{Name: "Dash", RedirectURIs: []string{"https://dash.example.com/cb"}, Scopes: []string{"test:read"}})
				if err == nil {
					id, secrets = c.ID, append(secrets, secret)
				}
				return err
			}, &wantEvent{kind: authserver.AuditClientCreated, data: `{"name":"Dash","public":false,"redirect_uris":["https://dash.example.com/cb"],
				"grant_types":["authorization_code","refresh_token"],"scopes":["test:read"]}`}},
			{"update", func() error {
				_, err := h.s.UpdateClient(ctx, id, func(sp *authserver.ClientSpec) error {
					sp.Name, sp.Scopes = "Dash 2", []string{"test:read", "test:write"}
					return nil
				})
				return err
			}, &wantEvent{kind: authserver.AuditClientUpdated, data: `{"name":"Dash 2","changed":["name","scopes"],
				"from":{"name":"Dash","scopes":["test:read"]},"to":{"name":"Dash 2","scopes":["test:read","test:write"]}}`}},
			{"update changing nothing", func() error {
				_, err := h.s.UpdateClient(ctx, id, func(*authserver.ClientSpec) error { return nil })
				return err
			}, &wantEvent{kind: authserver.AuditClientUpdated, data: `{"name":"Dash 2"}`}}, // as tokens: an update is recorded, changed or not
			{"refused update", func() error {
				_, err := h.s.UpdateClient(ctx, id, func(sp *authserver.ClientSpec) error { sp.Scopes = []string{"nope:read"}; return nil })
				if err == nil {
					return fmt.Errorf("unknown scope accepted")
				}
				return nil
			}, nil},
			{"rotate secret", func() error {
				_, secret, err := h.s.RotateClientSecret(ctx, id)
				secrets = append(secrets, secret)
				return err
			}, &wantEvent{kind: authserver.AuditClientSecretRotated, data: `{"name":"Dash 2","changed":["secret"]}`}},
			{"disable", func() error { _, err := h.s.DisableClient(ctx, id); return err },
				&wantEvent{kind: authserver.AuditClientDisabled, data: `{"name":"Dash 2","changed":["disabled"]}`}},
			{"disable again", func() error { _, err := h.s.DisableClient(ctx, id); return err }, nil},
			{"enable", func() error { _, err := h.s.EnableClient(ctx, id); return err },
				&wantEvent{kind: authserver.AuditClientEnabled, data: `{"name":"Dash 2","changed":["disabled"]}`}},
			{"enable again", func() error { _, err := h.s.EnableClient(ctx, id); return err }, nil},
			{"delete", func() error { return h.s.DeleteClient(ctx, id) },
				&wantEvent{kind: authserver.AuditClientDeleted, data: `{"name":"Dash 2"}`}},
			{"delete again", func() error {
				if err := h.s.DeleteClient(ctx, id); err == nil {
					return fmt.Errorf("deleted a deleted client")
				}
				return nil
			}, nil},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				since := h.lastAuditID()
				if err := st.op(); err != nil {
					t.Fatal(err)
				}
				if st.want == nil {
					expectNoEvent(t, h, since)
					return
				}
				w := *st.want
				w.subjectType, w.subjectID = authserver.AuditSubjectClient, id
				expectOneEvent(t, h, since, w)
			})
		}
		t.Run("no secret in the log", func(t *testing.T) { expectNoSecrets(t, h.d, secrets...) })
	})
}

// grantOf returns the grant ID of a stored code or token and how many of
// its family's rows are not revoked yet.
func (h *harness) grantOf(raw string) (grantID string, live int) {
	h.t.Helper()
	if err := h.d.Get(&grantID, h.d.Rebind(`SELECT grant_id FROM oauth_tokens WHERE digest = ?`), oauthstore.Digest(raw)); err != nil {
		h.t.Fatal(err)
	}
	if err := h.d.Get(&live, h.d.Rebind(`SELECT COUNT(*) FROM oauth_tokens WHERE grant_id = ? AND revoked_at IS NULL`), grantID); err != nil {
		h.t.Fatal(err)
	}
	return grantID, live
}

// TestAuditLog_CodeReplayAndRefreshReuse: the two attacks the token
// endpoint detects are recorded with the grant they revoked.
func TestAuditLog_CodeReplayAndRefreshReuse(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		other, otherSecret := h.webClient("test:read")
		var secrets []string

		t.Run("code replay", func(t *testing.T) {
			v, ch := pkce()
			code := h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch})
			first := h.exchange(c, secret, code, v)
			if first.Status != http.StatusOK {
				t.Fatalf("redeem: %d %s", first.Status, first.Raw)
			}
			secrets = append(secrets, code, first.str("access_token"), first.str("refresh_token"))
			grant, live := h.grantOf(code)
			if live != 3 {
				t.Fatalf("%d live rows in the grant before the replay, want 3 (code, access, refresh)", live)
			}
			since := h.lastAuditID()
			expectError(t, h.exchange(c, secret, code, v), http.StatusBadRequest, "invalid_grant")
			expectOneEvent(t, h, since, wantEvent{kind: authserver.AuditCodeReplayed, subjectType: authserver.AuditSubjectGrant, subjectID: grant,
				data: fmt.Sprintf(`{"client_id":%q,"grant_id":%q,"user_id":%d,"tokens_revoked":3}`, c.ID, grant, h.alice.ID)})

			// Replayed again, by another client: recorded again, naming
			// that client; nothing is left to revoke.
			since = h.lastAuditID()
			expectError(t, h.exchange(other, otherSecret, code, v), http.StatusBadRequest, "invalid_grant")
			expectOneEvent(t, h, since, wantEvent{kind: authserver.AuditCodeReplayed, subjectType: authserver.AuditSubjectGrant, subjectID: grant,
				data: fmt.Sprintf(`{"client_id":%q,"presented_by":%q,"grant_id":%q,"user_id":%d,"tokens_revoked":0}`, c.ID, other.ID, grant, h.alice.ID)})
		})

		t.Run("unknown or fresh codes record nothing", func(t *testing.T) {
			since := h.lastAuditID()
			v, ch := pkce()
			code := h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch})
			expectError(t, h.exchange(c, secret, newOpaqueForTest(t, authserver.PrefixCode), v), http.StatusBadRequest, "invalid_grant")
			if r := h.exchange(c, secret, code, v); r.Status != http.StatusOK {
				t.Fatalf("redeem: %d %s", r.Status, r.Raw)
			} else {
				secrets = append(secrets, code, r.str("access_token"), r.str("refresh_token"))
			}
			expectNoEvent(t, h, since)
		})

		t.Run("refresh reuse", func(t *testing.T) {
			old := h.tokens(c, secret, "test:read")
			next := h.refresh(c, secret, old.str("refresh_token"), "")
			if next.Status != http.StatusOK {
				t.Fatalf("rotation: %d %s", next.Status, next.Raw)
			}
			secrets = append(secrets, old.str("access_token"), old.str("refresh_token"), next.str("access_token"), next.str("refresh_token"))
			grant, live := h.grantOf(old.str("refresh_token"))
			since := h.lastAuditID()
			expectError(t, h.refresh(c, secret, old.str("refresh_token"), ""), http.StatusBadRequest, "invalid_grant")
			expectOneEvent(t, h, since, wantEvent{kind: authserver.AuditRefreshReused, subjectType: authserver.AuditSubjectGrant, subjectID: grant,
				data: fmt.Sprintf(`{"client_id":%q,"grant_id":%q,"user_id":%d,"tokens_revoked":%d}`, c.ID, grant, h.alice.ID, live)})
			if _, left := h.grantOf(old.str("refresh_token")); left != 0 || live < 4 {
				t.Fatalf("family: %d live before, %d after the reuse", live, left)
			}
			// The revoked family's current refresh token is refused, but
			// that is a revoked token, not a reuse: nothing more recorded.
			since = h.lastAuditID()
			expectError(t, h.refresh(c, secret, next.str("refresh_token"), ""), http.StatusBadRequest, "invalid_grant")
			expectNoEvent(t, h, since)
		})

		t.Run("no secret in the log", func(t *testing.T) { expectNoSecrets(t, h.d, append(secrets, secret, otherSecret)...) })
	})
}

// newOpaqueForTest returns a well-formed value that was never issued.
func newOpaqueForTest(t *testing.T, prefix string) string {
	t.Helper()
	v, err := oauthstore.NewOpaque(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAuditLog_ConsentRevoked: a user withdrawing an app on the account
// page is recorded with the user as actor and the tokens it revoked.
func TestAuditLog_ConsentRevoked(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		tok := h.tokens(c, secret, "test:read")
		cookie := h.browserSession(h.alice, c, "test:read")
		var live int
		if err := h.d.Get(&live, h.d.Rebind(`SELECT COUNT(*) FROM oauth_tokens WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL`), h.alice.ID, c.ID); err != nil {
			t.Fatal(err)
		}

		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/account/", nil)
		req.AddCookie(cookie)
		page := h.do(req)
		csrf := testenv.Page{Body: page.Raw}.Hidden().Get("csrf_token")
		if page.Status != http.StatusOK || csrf == "" {
			t.Fatalf("account page: %d, csrf %q", page.Status, csrf)
		}
		since := h.lastAuditID()
		req, _ = http.NewRequest(http.MethodPost, h.srv.URL+"/account/apps/revoke",
			strings.NewReader(url.Values{"client_id": {c.ID}, "csrf_token": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		if r := h.do(req); r.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d %s", r.Status, r.Raw)
		}
		expectOneEvent(t, h, since, wantEvent{kind: authserver.AuditConsentRevoked, subjectType: authserver.AuditSubjectConsent,
			subjectID: fmt.Sprintf("%d:%s", h.alice.ID, c.ID), actor: ptrID(h.alice.ID),
			data: fmt.Sprintf(`{"user_id":%d,"client_id":%q,"tokens_revoked":%d}`, h.alice.ID, c.ID, live)})
		if live != 3 {
			t.Errorf("%d live tokens before the withdrawal, want 3 (code, access, refresh)", live)
		}
		if h.active(tok.str("access_token")) {
			t.Error("access token alive after the user withdrew the app")
		}
		if _, err := h.consents.Get(context.Background(), h.alice.ID, c.ID); err == nil {
			t.Error("consent survived the withdrawal")
		}
		expectNoSecrets(t, h.d, secret, tok.str("access_token"), tok.str("refresh_token"))
	})
}

// TestAuditLog_RevokeUserClientRollsBackTogether: the revocation and its
// event share one transaction — a failed append leaves the tokens alive.
func TestAuditLog_RevokeUserClientRollsBackTogether(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		h.tokens(c, secret, "test:read")
		liveTokens := func() int {
			var n int
			if err := h.d.Get(&n, h.d.Rebind(`SELECT COUNT(*) FROM oauth_tokens WHERE client_id = ? AND revoked_at IS NULL`), c.ID); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := liveTokens()
		if _, err := h.d.Exec(`DROP TABLE audit_events`); err != nil {
			t.Fatal(err)
		}
		if err := h.s.RevokeUserClient(context.Background(), h.alice.ID, c.ID); err == nil {
			t.Fatal("RevokeUserClient succeeded without an audit log")
		}
		if after := liveTokens(); before == 0 || after != before {
			t.Fatalf("live tokens %d before, %d after a failed withdrawal: the revocation outlived its event", before, after)
		}
		// The same holds for a client operation.
		if _, err := h.s.DisableClient(context.Background(), c.ID); err == nil {
			t.Fatal("DisableClient succeeded without an audit log")
		}
		if cl, err := h.s.Clients.GetClient(context.Background(), c.ID); err != nil || cl.Disabled() {
			t.Fatalf("client disabled although its event was not written: %v", err)
		}
	})
}
