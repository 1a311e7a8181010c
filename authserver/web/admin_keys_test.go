package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/testenv"
)

// TestAdminKeys: the page lists the signing keys with their state; rotate
// adds a key through KeySet.RotateFor with `authgate key rotate`'s
// defaults (the access-token key in oauth.signing_alg, an ID-token key in
// RS256, each pending for oauth.key_publish_delay) and announces it after
// a 303; a bad choice is refused in place and adds nothing. On PostgreSQL
// a second instance on the same database publishes the new key at once,
// as it does after the CLI's rotation.
func TestAdminKeys(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		var other *app.App
		if strings.HasPrefix(e.App.Config.Database.URL, "postgres") {
			var err error
			if other, err = app.New(ctx, e.App.Config, nil, app.Options{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
		}
		b := adminBrowser(e)
		p := b.Get("/admin/keys/")
		before, err := e.App.OAuth.Keys.List(ctx)
		if err != nil || len(before) == 0 {
			t.Fatalf("keys: %v %v", before, err)
		}
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="key-`+before[0].KID+`"`) || !strings.Contains(p.Body, "badge key-active") {
			t.Fatalf("list: %d %s", p.Status, p.Body)
		}
		csrf := p.Hidden().Get("csrf_token")
		var otherBefore []string
		if other != nil {
			otherBefore = jwksKIDs(t, other) // cached by the other instance now
		}

		for _, bad := range []url.Values{{"purpose": {"refresh"}}, {"purpose": {"access"}, "alg": {"HS256"}}, {}} {
			bad.Set("csrf_token", csrf)
			if p := b.Post("/admin/keys/rotate", bad); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="form-error"`) {
				t.Errorf("rotate %v: %d, want 400 with the error in place", bad, p.Status)
			}
		}

		rotate := func(form url.Values) signing.KeyInfo {
			t.Helper()
			form.Set("csrf_token", csrf)
			start := time.Now()
			p := b.Post("/admin/keys/rotate", form)
			loc := p.Location(t)
			if p.Status != http.StatusSeeOther || loc.Path != "/admin/keys/" {
				t.Fatalf("rotate %v: %d %s", form, p.Status, p.Body)
			}
			kid := loc.Query().Get("rotated")
			keys, err := e.App.OAuth.Keys.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(keys, func(k signing.KeyInfo) bool { return k.KID == kid })
			if i < 0 {
				t.Fatalf("rotated key %q not in %v", kid, keys)
			}
			k := keys[i]
			if delay := k.ActivatesAt.Sub(start); k.State != signing.KeyPending || delay < 59*time.Minute || delay > 61*time.Minute {
				t.Errorf("new key %+v: want pending for oauth.key_publish_delay (1h)", k)
			}
			if page := b.Get(loc.String()); !strings.Contains(page.Body, `id="key-rotated"`) || !strings.Contains(page.Body, kid) {
				t.Errorf("no announcement of %s after the redirect", kid)
			}
			return k
		}
		acc := rotate(url.Values{"purpose": {"access"}})
		if acc.Purpose != signing.PurposeAccess || acc.Alg != e.App.OAuth.Settings().SigningAlg {
			t.Errorf("default rotation made %+v, want an access-token key in %s", acc, e.App.OAuth.Settings().SigningAlg)
		}
		if id := rotate(url.Values{"purpose": {"id_token"}}); id.Purpose != signing.PurposeIDToken || id.Alg != signing.AlgRS256 {
			t.Errorf("ID-token rotation made %+v, want RS256", id)
		}
		if es := rotate(url.Values{"purpose": {"access"}, "alg": {"ES256"}}); es.Alg != signing.AlgES256 || es.Purpose != signing.PurposeAccess {
			t.Errorf("ES256 rotation made %+v", es)
		}
		if after, _ := e.App.OAuth.Keys.List(ctx); len(after) != len(before)+3 {
			t.Errorf("%d keys after three rotations and three refusals, had %d", len(after), len(before))
		}

		if other != nil {
			start := time.Now()
			for !slices.Contains(jwksKIDs(t, other), acc.KID) {
				if time.Since(start) > 2*time.Second {
					t.Fatalf("the other instance's JWKS lacks %s 2s after the rotation (had %v)", acc.KID, otherBefore)
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("the other instance publishes %s after %s", acc.KID, time.Since(start).Round(time.Millisecond))
		}
	})
}

// jwksKIDs returns the kids a's JWKS publishes.
func jwksKIDs(t *testing.T, a *app.App) []string {
	t.Helper()
	w := httptest.NewRecorder()
	a.Router.ServeHTTP(w, httptest.NewRequest(http.MethodGet, authserver.PathJWKS, nil))
	var set signing.JWKS
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &set) != nil {
		t.Fatalf("jwks: %d %s", w.Code, w.Body)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}
