package resources

import (
	"context"
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
