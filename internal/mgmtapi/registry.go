package mgmtapi

import (
	"encoding/json"
	"errors"
	"log/slog"
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

// failStore maps the store's refusals to the API's envelope.
func (h *handlers) failStore(c *gin.Context, what, policyID string, n scopes.Decl, err error) {
	switch {
	case errors.Is(err, ErrNotOwner):
		resources.Fail(c, resources.PermissionDenied().WithMessage(`The resource "`+policyID+`" is registered by another client.`))
	case errors.Is(err, ErrScopeNameTaken):
		resources.Fail(c, resources.DuplicateItem().WithMessage(`The scope name "`+n.ScopeName+`" is already declared by another resource.`))
	case errors.Is(err, ErrAudienceTaken):
		resources.Fail(c, resources.DuplicateItem().WithMessage(`The audience "`+n.Audience+`" belongs to a resource registered by another client.`))
	case errors.Is(err, scopes.ErrNotRegistered):
		h.Registry.Remove(policyID) // another instance removed it first
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

// putResource is PUT /api/resources/{policy_id}/: register or replace a
// resource-server resource. Fields: name (default the policy ID),
// scope_name, methods, description, api_token_access, oauth2_access,
// audience. Resources declared by authgate or its configuration cannot be
// replaced; a registration can be replaced only by the client that made it
// (or an admin); a scope name another resource declares is refused (409),
// so no registration can take over another resource's scopes or rewrite
// their consent text.
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
	if cur, ok := h.Registry.Lookup(policyID); ok && cur.Origin != scopes.OriginRegistered {
		resources.Fail(c, resources.DuplicateItem().WithMessage(`The resource "`+policyID+`" is declared by authgate's `+originName(cur.Origin)+` and cannot be changed at run time.`))
		return
	}
	f, e := readForm(c)
	if e != nil {
		resources.Fail(c, e)
		return
	}
	d := scopes.Decl{PolicyID: policyID, Name: f["name"], ScopeName: f["scope_name"], Description: f["description"],
		Audience: f["audience"], Origin: scopes.OriginRegistered}
	if d.Name == "" {
		d.Name = policyID
	}
	fields := fieldErrors{}
	check := func(field, v string) {
		if v == "" {
			return
		}
		if err := scopes.ValidName(v); err != nil {
			fields[field] = []string{fieldMessage(err)}
		}
	}
	check("name", d.Name)
	check("scope_name", d.ScopeName)
	if d.Audience != "" {
		if err := scopes.ValidAudience(d.Audience); err != nil {
			fields["audience"] = []string{strings.TrimPrefix(err.Error(), scopes.ErrInvalidAudience.Error()+": ")}
		}
	}
	ms, ok := parseMethods(f["methods"])
	switch {
	case !ok:
		fields["methods"] = []string{"Give the methods as a JSON list of strings or separated by spaces or commas."}
	case len(ms) == 0:
		fields["methods"] = []string{requiredMsg}
	}
	for _, m := range ms {
		if m == "" || strings.TrimLeft(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			fields["methods"] = []string{`"` + m + `" is not an upper-case HTTP method such as GET.`}
			break
		}
	}
	d.Methods = ms
	for _, k := range []string{"api_token_access", "oauth2_access"} {
		if !f.has(k) {
			continue
		}
		v, ok := parseBool(f[k])
		if !ok {
			fields[k] = []string{"Must be true or false."}
			continue
		}
		if k == "api_token_access" {
			d.APITokenAccess = &v
		} else {
			d.OAuth2Access = &v
		}
	}
	if len(fields) > 0 {
		resources.Fail(c, resources.InvalidFormData(fields))
		return
	}
	n, err := d.Normalize()
	if err != nil { // unreachable after the checks above; keep the API honest
		resources.Fail(c, resources.InvalidFormData(map[string][]string{"resource": {err.Error()}}))
		return
	}
	if holder, taken := h.Registry.ScopeNameHolder(n.ScopeName, n.PolicyID); taken {
		resources.Fail(c, resources.DuplicateItem().WithMessage(`The scope name "`+n.ScopeName+`" is already declared by the resource "`+holder+`".`))
		return
	}
	created, err := h.Resources.Put(c.Request.Context(), n, by)
	if err != nil {
		h.failStore(c, "register resource", policyID, n, err)
		return
	}
	if err := h.Registry.Add(n); err != nil {
		h.serverError(c, "register resource", err)
		return
	}
	h.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "resource registered",
		slog.String("policy_id", n.PolicyID), slog.String("by", by.String()), slog.Bool("created", created))
	if um := n.UnmappedMethods(); len(um) > 0 {
		// As for resources declared in the configuration: a method that
		// maps to no scope action gets no scope, so OAuth2 tokens can never
		// use it. Djblets logs and skips these too (docs/api-tokens.md,
		// "OAuth2 scopes").
		h.log.LogAttrs(c.Request.Context(), slog.LevelWarn, "resource methods map to no scope and get none",
			slog.String("resource", n.Name), slog.String("policy_id", n.PolicyID), slog.Any("methods", um))
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
	policyID := c.Param("policy_id")
	cur, ok := h.Registry.Lookup(policyID)
	if ok && cur.Origin != scopes.OriginRegistered {
		resources.Fail(c, resources.DuplicateItem().WithMessage(`The resource "`+policyID+`" is declared by authgate's `+originName(cur.Origin)+` and cannot be removed at run time.`))
		return
	}
	if err := h.Resources.Delete(c.Request.Context(), policyID, by); err != nil {
		h.failStore(c, "unregister resource", policyID, cur, err)
		return
	}
	h.Registry.Remove(policyID)
	h.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "resource unregistered",
		slog.String("policy_id", policyID), slog.String("by", by.String()))
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
