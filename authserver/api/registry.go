package api

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

// mayRegister: first-party admins, and whoever RegistrarAllowed admits
// (the authorization server's hook for resource-server clients).
func (h *handlers) mayRegister(c *gin.Context) bool {
	p := principal(c)
	if p.IsFirstParty() && p.User.IsAdmin {
		return true
	}
	return h.RegistrarAllowed != nil && h.RegistrarAllowed(p)
}

func registrant(p *resources.Principal) string {
	if p.Method == resources.MethodOAuth2 && p.ClientID != "" {
		return "client:" + p.ClientID
	}
	return "user:" + p.User.Username
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
// scope_name, methods, description, api_token_access, oauth2_access.
// Resources declared by authgate or its configuration cannot be replaced.
func (h *handlers) putResource(c *gin.Context) {
	if !h.mayRegister(c) {
		resources.Fail(c, resources.PermissionDenied())
		return
	}
	if h.Resources == nil {
		resources.Fail(c, resources.ServiceNotConfigured().WithMessage("Run-time resource registration is not configured on this server."))
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
	d := scopes.Decl{PolicyID: policyID, Name: f["name"], ScopeName: f["scope_name"], Description: f["description"], Origin: scopes.OriginRegistered}
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
	p := principal(c)
	created, err := h.Resources.Put(c.Request.Context(), n, registrant(p))
	if err != nil {
		h.serverError(c, "register resource", err)
		return
	}
	if err := h.Registry.Add(n); err != nil {
		h.serverError(c, "register resource", err)
		return
	}
	h.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "resource registered",
		slog.String("policy_id", n.PolicyID), slog.String("by", registrant(p)), slog.Bool("created", created))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	resources.OK(c, status, gin.H{"resource": h.resourceJSON(n)})
}

// deleteResource is DELETE /api/resources/{policy_id}/ (204) for
// run-time registrations.
func (h *handlers) deleteResource(c *gin.Context) {
	if !h.mayRegister(c) {
		resources.Fail(c, resources.PermissionDenied())
		return
	}
	if h.Resources == nil {
		resources.Fail(c, resources.ServiceNotConfigured().WithMessage("Run-time resource registration is not configured on this server."))
		return
	}
	policyID := c.Param("policy_id")
	cur, ok := h.Registry.Lookup(policyID)
	if ok && cur.Origin != scopes.OriginRegistered {
		resources.Fail(c, resources.DuplicateItem().WithMessage(`The resource "`+policyID+`" is declared by authgate's `+originName(cur.Origin)+` and cannot be removed at run time.`))
		return
	}
	err := h.Resources.Delete(c.Request.Context(), policyID)
	if errors.Is(err, scopes.ErrNotRegistered) {
		h.Registry.Remove(policyID) // another instance removed it first
		resources.Fail(c, resources.DoesNotExist())
		return
	}
	if err != nil {
		h.serverError(c, "unregister resource", err)
		return
	}
	h.Registry.Remove(policyID)
	h.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "resource unregistered",
		slog.String("policy_id", policyID), slog.String("by", registrant(principal(c))))
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
