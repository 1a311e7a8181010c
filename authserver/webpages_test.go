package authserver_test

import (
	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/web"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
)

// The OAuth harness (oauth_harness_test.go) needs the authorization
// endpoint, which lives in authserver/web; an internal test file importing
// it would be an import cycle, so this external one hands it over.
func init() {
	authserver.MountWebPagesForTest = func(r gin.IRouter, s *authserver.Server, sm *sessions.Manager, us users.Store,
		cs authserver.ConsentStore, reg *scopes.Registry) error {
		w, err := web.NewFor(s, web.Config{}, web.Deps{Sessions: sm, Users: us, Consents: cs, Scopes: reg})
		if err != nil {
			return err
		}
		w.Mount(r)
		return nil
	}
}
