package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/internal/sessions"
)

const webPathAdminKeys = webPathAdmin + "keys/"

// SigningKeys is what /admin/keys/ needs of the signing keys: the calls
// `authgate key list` and `authgate key rotate` make. *signing.KeySet
// implements it; its rotation is announced to every instance sharing the
// database, as the CLI's is.
type SigningKeys interface {
	List(ctx context.Context) ([]signing.KeyInfo, error)
	RotateFor(ctx context.Context, purpose, alg string, activateIn time.Duration) (signing.KeyInfo, error)
}

var _ SigningKeys = (*signing.KeySet)(nil)

// keyAlgs are the algorithms a key can be rotated to.
var keyAlgs = []string{signing.AlgEdDSA, signing.AlgRS256, signing.AlgES256}

// keyStates explain each state of `authgate key list` in a sentence.
var keyStates = []struct{ Name, Note string }{
	{signing.KeyPending, "published in the JWKS, not signing yet"},
	{signing.KeyActive, "signs new tokens"},
	{signing.KeyRetired, "superseded; published until its last token expires"},
	{signing.KeyExpired, "superseded; no token it signed is still valid"},
}

// keyRotateForm is the rotate form, as submitted.
type keyRotateForm struct {
	Purpose, Alg string
	Error        string
}

func (w *Pages) mountAdminKeys(g gin.IRoutes) {
	if w.deps.Keys == nil {
		return
	}
	g.GET(webPathAdminKeys, w.adminKeys)
	g.POST(webPathAdminKeys+"rotate", w.adminKeyRotate)
}

func (w *Pages) adminKeys(c *gin.Context) {
	cur := w.signedInAdmin(c, webPathAdminKeys)
	if cur == nil {
		return
	}
	w.renderKeys(c, http.StatusOK, cur, keyRotateForm{Purpose: signing.PurposeAccess}, c.Query("rotated"))
}

// renderKeys shows the key list, newest first, and the rotate form; rotated
// names a key just added, announced above the list.
func (w *Pages) renderKeys(c *gin.Context, status int, cur *sessions.Current, f keyRotateForm, rotated string) {
	keys, err := w.deps.Keys.List(c.Request.Context())
	if err != nil {
		w.internalError(c, "list signing keys", err)
		return
	}
	slices.Reverse(keys)
	data := adminData(cur, "Signing keys", webPathAdminKeys)
	data["Keys"] = keys
	data["States"] = keyStates
	data["Algs"] = keyAlgs
	data["Form"] = f
	data["DefaultAlg"] = w.cfg.SigningAlg
	data["IDTokenAlg"] = signing.AlgRS256
	data["PublishDelay"] = shortDuration(w.cfg.KeyPublishDelay)
	if i := slices.IndexFunc(keys, func(k signing.KeyInfo) bool { return k.KID == rotated }); rotated != "" && i >= 0 {
		data["Rotated"] = keys[i]
	}
	w.render(c, status, "admin_keys.html", data)
}

// adminKeyRotate is POST /admin/keys/rotate: KeySet.RotateFor with the
// defaults of `authgate key rotate [--id-token]`: the access-token key
// in oauth.signing_alg, an ID-token key in RS256, each signing after
// oauth.key_publish_delay, so resource servers that cache the JWKS learn
// the key before a token carries its kid.
func (w *Pages) adminKeyRotate(c *gin.Context) {
	cur := w.signedInAdminForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	f := keyRotateForm{Purpose: c.PostForm("purpose"), Alg: c.PostForm("alg")}
	switch f.Purpose {
	case signing.PurposeAccess, signing.PurposeIDToken:
	default:
		f.Error = "Choose which key to rotate: the access-token key or an ID-token key."
	}
	alg := f.Alg
	switch {
	case f.Error != "":
	case alg == "" && f.Purpose == signing.PurposeIDToken:
		alg = signing.AlgRS256
	case alg == "":
		alg = w.cfg.SigningAlg
	case !slices.Contains(keyAlgs, alg):
		f.Error = "Choose EdDSA, RS256 or ES256."
	}
	if f.Error != "" {
		w.renderKeys(c, http.StatusBadRequest, cur, f, "")
		return
	}
	info, err := w.deps.Keys.RotateFor(c.Request.Context(), f.Purpose, alg, w.cfg.KeyPublishDelay)
	if err != nil {
		w.internalError(c, "rotate signing key", err)
		return
	}
	w.deps.Logger.Info("signing key rotated", "kid", info.KID, "alg", info.Alg, "purpose", info.Purpose,
		"activates_at", info.ActivatesAt, "actor_user_id", cur.User.ID)
	seeOther(c, webPathAdminKeys+"?rotated="+url.QueryEscape(info.KID))
}

// shortDuration writes d as time.Duration does, without zero minutes and
// seconds: 1h, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
