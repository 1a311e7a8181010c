package resources

import (
	"context"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
)

// DeniedObjectIDs returns, sorted, the object IDs of the protecting
// resource that the caller's API-token policy names and denies for GET.
// A list handler leaves those objects out of its results (Djblets (see
// docs/api-tokens.md, "List filtering"):
// intended, broken in Djblets with a 500, working here). It is nil for
// every caller that is not an API token.
//
// Only IDs named in the policy are returned; a resource-wide block already
// refused the list request itself.
//
// ctx is the request's context, or the *gin.Context of a gin handler.
func DeniedObjectIDs(ctx context.Context) []string {
	if gc, ok := ctx.(*gin.Context); ok {
		ctx = gc.Request.Context()
	}
	g, ok := ctx.Value(ctxKey{}).(*guarded)
	if !ok || g.p == nil || g.p.Method != MethodAPIToken {
		return nil
	}
	return g.p.Policy.DeniedIDs(g.pr.policyID, "GET")
}

// FilterList returns the items whose object ID (objectID(item), the raw URL
// value an item URL would carry) the caller's policy does not deny for GET;
// see DeniedObjectIDs. The input slice is not modified.
func FilterList[T any](ctx context.Context, items []T, objectID func(T) string) []T {
	denied := DeniedObjectIDs(ctx)
	if len(denied) == 0 {
		return items
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		if _, hidden := slices.BinarySearch(denied, objectID(it)); !hidden {
			out = append(out, it)
		}
	}
	return out
}

// Hidden is what a list handler must leave out: the object IDs the
// caller's API-token policy names and denies for GET (see
// DeniedObjectIDs). The zero Hidden hides nothing.
type Hidden struct{ ids []string } // sorted

// Has reports whether the object with this ID must be left out.
func (h Hidden) Has(id string) bool {
	_, found := slices.BinarySearch(h.ids, id)
	return found
}

// IDs returns the hidden IDs, sorted, e.g. for a "NOT IN" clause.
func (h Hidden) IDs() []string { return slices.Clone(h.ids) }

// Filter returns the items whose ID (id(item), the raw value an item URL
// would carry) h does not hide. The input slice is not modified.
func Filter[T any](h Hidden, items []T, id func(T) string) []T {
	if len(h.ids) == 0 {
		return items
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		if !h.Has(id(it)) {
			out = append(out, it)
		}
	}
	return out
}

func hiddenOf(ctx context.Context) Hidden { return Hidden{ids: DeniedObjectIDs(ctx)} }

// List protects a list route of r (net/http) and hands the handler what it
// must leave out, so that a list cannot forget the objects a policy hides
// from an item route. r has no IDParam: a list names no object; List
// panics otherwise, when the route is set up.
func (g *Guard) List(r Resource, h func(w http.ResponseWriter, req *http.Request, hidden Hidden)) http.Handler {
	mustBeList(r)
	return g.Middleware(r)(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h(w, req, hiddenOf(req.Context()))
	}))
}

// ProtectList is the gin form of List.
func (g *Guard) ProtectList(r Resource, h func(c *gin.Context, hidden Hidden)) gin.HandlerFunc {
	mustBeList(r)
	pr := g.prepare(r)
	return func(c *gin.Context) {
		if g.serveGin(c, pr) {
			h(c, hiddenOf(c.Request.Context()))
		}
	}
}

func mustBeList(r Resource) {
	if r.IDParam != "" {
		panic("resources: List and ProtectList protect list routes; Resource " + r.Name + " has an IDParam")
	}
}
