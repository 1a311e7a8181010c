package mgmtapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
)

// resourceJSON renders a registry declaration with its scopes.
func (h *handlers) resourceJSON(d scopes.Decl) gin.H {
	sc := make([]gin.H, 0, 3)
	for _, in := range h.Registry.Scopes() {
		if in.PolicyID == d.PolicyID {
			sc = append(sc, gin.H{"name": in.Name, "description": in.Description})
		}
	}
	methods := d.Methods
	if methods == nil {
		methods = []string{}
	}
	return gin.H{
		"policy_id":        d.PolicyID,
		"name":             d.Name,
		"scope_name":       d.ScopeName,
		"methods":          methods,
		"description":      d.Description,
		"api_token_access": d.AllowsAPITokens(),
		"oauth2_access":    d.AllowsOAuth2(),
		"origin":           string(d.Origin),
		"audience":         d.Audience,
		"scopes":           sc,
		"links":            gin.H{"self": link(PathResources + d.PolicyID + "/")},
	}
}

// listResources is GET /api/resources/: every declared resource.
func (h *handlers) listResources(c *gin.Context) {
	decls := h.Registry.Decls()
	out := make([]gin.H, 0, len(decls))
	for _, d := range decls {
		out = append(out, h.resourceJSON(d))
	}
	resources.OK(c, http.StatusOK, gin.H{"resources": out, "total_results": len(out)})
}

// getResource is GET /api/resources/{policy_id}/.
func (h *handlers) getResource(c *gin.Context) {
	d, ok := h.Registry.Lookup(c.Param("policy_id"))
	if !ok {
		resources.Fail(c, resources.DoesNotExist())
		return
	}
	resources.OK(c, http.StatusOK, gin.H{"resource": h.resourceJSON(d)})
}

// registrant returns who the caller registers as: a first-party admin, or
// a client the RegistrarAllowed hook admits (the authorization server's
// rule for resource-server clients). ok is false for anyone else.
func (h *handlers) registrant(c *gin.Context) (r Registrant, ok bool, err error) {
	p := principal(c)
	if p.IsFirstParty() && p.User.IsAdmin {
		return Registrant{Username: p.User.Username}, true, nil
	}
	if h.RegistrarAllowed == nil || p.Method != resources.MethodOAuth2 || p.ClientID == "" {
		return Registrant{}, false, nil
	}
	ok, err = h.RegistrarAllowed(c.Request.Context(), p)
	return Registrant{ClientID: p.ClientID}, ok, err
}

// registrantOrFail answers 403 (or 500) for a caller who may not register
// resources, and 503 when registration is not configured.
func (h *handlers) registrantOrFail(c *gin.Context) (Registrant, bool) {
	r, ok, err := h.registrant(c)
	switch {
	case err != nil:
		h.serverError(c, "check resource registrar", err)
		return r, false
	case !ok:
		resources.Fail(c, resources.PermissionDenied())
		return r, false
	case h.Resources == nil:
		resources.Fail(c, resources.ServiceNotConfigured().WithMessage("Run-time resource registration is not configured on this server."))
		return r, false
	}
	return r, true
}

// failRegistration maps ResourceAdmin's refusals to the API's envelope.
func (h *handlers) failRegistration(c *gin.Context, what string, err error) {
	var fields FieldErrors
	var clash *ClashError
	switch {
	case errors.As(err, &fields):
		resources.Fail(c, resources.InvalidFormData(fields))
	case errors.As(err, &clash):
		resources.Fail(c, resources.DuplicateItem().WithMessage(clash.Msg))
	case errors.Is(err, ErrNotOwner):
		resources.Fail(c, resources.PermissionDenied().WithMessage(`The resource "`+c.Param("policy_id")+`" is registered by another client.`))
	case errors.Is(err, scopes.ErrNotRegistered):
		resources.Fail(c, resources.DoesNotExist())
	default:
		h.serverError(c, what, err)
	}
}

// parseMethods accepts a JSON array of strings or a list separated by
// spaces and/or commas.
func parseMethods(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var ms []string
		if json.Unmarshal([]byte(s), &ms) != nil {
			return nil, false
		}
		return ms, true
	}
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }), true
}

// resourceAdmin is the write path the handlers share with the console.
func (h *handlers) resourceAdmin() ResourceAdmin {
	return ResourceAdmin{Store: h.Resources, Registry: h.Registry, Logger: h.log}
}

// putResource is PUT /api/resources/{policy_id}/: register or replace a
// resource-server resource (fields: see ResourceFields). Resources
// declared by authgate or its configuration cannot be replaced; a
// registration can be replaced only by the client that made it (or an
// admin); a scope name another resource declares is refused (409), so no
// registration can take over another resource's scopes or rewrite their
// consent text.
func (h *handlers) putResource(c *gin.Context) {
	by, ok := h.registrantOrFail(c)
	if !ok {
		return
	}
	policyID := c.Param("policy_id")
	if err := scopes.ValidName(policyID); err != nil {
		resources.Fail(c, resources.InvalidFormData(map[string][]string{"policy_id": {fieldMessage(err)}}))
		return
	}
	f, e := readForm(c)
	if e != nil {
		resources.Fail(c, e)
		return
	}
	n, created, err := h.resourceAdmin().Register(c.Request.Context(), policyID, ResourceFields(f), by)
	if err != nil {
		h.failRegistration(c, "register resource", err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	resources.OK(c, status, gin.H{"resource": h.resourceJSON(n)})
}

// deleteResource is DELETE /api/resources/{policy_id}/ (204) for
// run-time registrations, by the client that made them or an admin.
func (h *handlers) deleteResource(c *gin.Context) {
	by, ok := h.registrantOrFail(c)
	if !ok {
		return
	}
	if err := h.resourceAdmin().Unregister(c.Request.Context(), c.Param("policy_id"), by); err != nil {
		h.failRegistration(c, "unregister resource", err)
		return
	}
	c.Status(http.StatusNoContent)
}

func originName(o scopes.Origin) string {
	if o == scopes.OriginConfig {
		return "configuration"
	}
	return "own API"
}

// fieldMessage turns a scopes.ValidName error into a field message.
func fieldMessage(err error) string {
	return strings.TrimPrefix(err.Error(), scopes.ErrInvalidScope.Error()+": ")
}
