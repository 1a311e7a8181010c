package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/authgate/authgate/authserver/web"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/scopes"
)

// webResources gives the admin console the management API's resource
// registration path (mgmtapi.ResourceAdmin), translating its refusals into
// web.ResourceRefusal: the console registers and removes resources exactly
// as PUT and DELETE /api/resources/{policy_id}/ do, as an admin.
type webResources struct{ admin mgmtapi.ResourceAdmin }

func newWebResources(store *mgmtapi.ResourceStore, reg *scopes.Registry, logger *slog.Logger) web.Resources {
	return webResources{mgmtapi.ResourceAdmin{Store: store, Registry: reg, Logger: logger}}
}

func (r webResources) RegisteredBy(ctx context.Context) (map[string]string, error) {
	return r.admin.Store.RegisteredBy(ctx)
}

func (r webResources) Register(ctx context.Context, policyID string, fields map[string]string, admin string) (bool, error) {
	_, created, err := r.admin.Register(ctx, policyID, mgmtapi.ResourceFields(fields), mgmtapi.Registrant{Username: admin})
	return created, refusal(err)
}

func (r webResources) Unregister(ctx context.Context, policyID, admin string) error {
	return refusal(r.admin.Unregister(ctx, policyID, mgmtapi.Registrant{Username: admin}))
}

// refusal maps ResourceAdmin's refusals; other errors pass unchanged.
func refusal(err error) error {
	var fields mgmtapi.FieldErrors
	var clash *mgmtapi.ClashError
	switch {
	case errors.As(err, &fields):
		return &web.ResourceRefusal{Fields: fields}
	case errors.As(err, &clash):
		return &web.ResourceRefusal{Message: clash.Msg}
	case errors.Is(err, scopes.ErrNotRegistered):
		return &web.ResourceRefusal{NotFound: true}
	}
	return err
}
