// Package policy parses, validates and evaluates API-token access policies
// with Djblets' exact semantics (docs/api-tokens.md). It is pure:
// a policy document goes in, path-precise validation errors and an
// immutable, allocation-free decision function come out.
//
// # Semantics worth knowing before writing a policy
//
// Precedence (Djblets; see docs/api-tokens.md, "Policy decisions"): the most
// specific non-empty section decides,
// in the order resources.<policy_id>.<object_id>, resources.<policy_id>.*,
// resources.*, and finally the default, which ALLOWS. Within a section a
// method named in "block" beats one named in "allow", which beats "*" in
// "block", which beats "*" in "allow".
//
// Policies do not cascade to child resources (Djblets; see
// docs/api-tokens.md, "Policy decisions", rule 7): blocking
// resources.review_request.42 does not block /review-requests/42/reviews/,
// which is checked only against the "review" resource's sections and the
// global section. Block the child resources explicitly.
//
// An allow list alone is not a whitelist (Djblets; see
// docs/api-tokens.md, "Policy decisions", rule 3):
// {"resources":{"*":{"allow":["GET"]}}} still allows POST, because POST is
// undecided and the default is ALLOW. To allow only the listed methods add
// "block": ["*"], as the read-only preset does. Validate warns about
// allow-only sections that nothing less specific backs with a block.
//
// Method names are compared exactly and case-sensitively (Djblets; see
// docs/api-tokens.md, "Policy grammar"):
// "get" never matches a GET request. Validate warns about such entries but,
// like Djblets, accepts them.
//
// A stored policy that cannot be read is never treated as full access:
// FromStored returns a Compiled that denies everything (fail closed,
// docs/api-tokens.md, "Deliberate differences").
package policy
