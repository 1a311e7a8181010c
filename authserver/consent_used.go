package authserver

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/go-oauth2/oauth2/v4"

	"github.com/authgate/authgate/authserver/oauthstore"
)

// consentUse records, on the consent behind a user's grant, that a token of
// it was just issued or refreshed: the "last used" of the authorized-apps
// page (docs/web-pages.md, "Last used").
type consentUse struct {
	consents *oauthstore.SQLConsentStore
	log      *slog.Logger
}

// mark records the use of ti's grant. The tokens are already committed:
// a failure to record it is logged, never the client's error.
// SQLConsentStore.MarkUsed writes at most once a minute per consent.
func (u consentUse) mark(ctx context.Context, ti oauth2.TokenInfo) {
	if u.consents == nil || ti == nil {
		return
	}
	userID, err := strconv.ParseInt(ti.GetUserID(), 10, 64)
	if err != nil || userID == 0 {
		return // no user: nothing was consented to
	}
	if _, err := u.consents.MarkUsed(context.WithoutCancel(ctx), userID, ti.GetClientID()); err != nil {
		u.log.Warn("record the consent's last use", "client_id", ti.GetClientID(), "user_id", userID, "error", err)
	}
}
