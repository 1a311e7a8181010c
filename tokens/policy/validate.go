package policy

import (
	"strconv"
	"strings"
)

// Djblets' validation messages (docs/api-tokens.md, "Policy validation"), byte for byte.
const (
	msgNotObject           = "The policy must be a JSON object."
	msgMissingResources    = `The policy is missing a "resources" section.`
	msgResourcesNotObject  = `The policy's "resources" section must be a JSON object.`
	msgResourcesEmpty      = `The policy's "resources" section must not be empty.`
	fmtUnknownPolicyID     = `"%s" is not a valid resource policy ID.`
	fmtSubKeyNotString     = `%s must be a string in "%s"`
	fmtSectionNotObject    = `The "%s" section must be a JSON object.`
	fmtSectionMissingRules = `The "%s" section must have "allow" and/or "block" rules.`
	fmtSectionRuleNotAList = `The "%s" section's "%s" rule must be a list.`
	globalSectionPath      = "resources.*"
	resourcesKey           = "resources"
	wildcard               = "*"
	allowKey               = "allow"
	blockKey               = "block"
)

// sprintf is a tiny %s-only formatter, so the message templates above read
// exactly like Djblets' Python format strings.
func sprintf(format string, args ...string) string {
	var b strings.Builder
	for _, a := range args {
		i := strings.Index(format, "%s")
		if i < 0 {
			break
		}
		b.WriteString(format[:i])
		b.WriteString(a)
		format = format[i+2:]
	}
	b.WriteString(format)
	return b.String()
}

// Validate checks doc with Djblets' algorithm (docs/api-tokens.md, "Policy validation"):
// the checks run in Djblets' order and the first failure is returned as a
// *ValidationError with Djblets' message and a JSON pointer.
//
// knownID reports whether a resource policy ID exists; nil skips that check
// (structure only). On success Validate returns warnings about constructs
// that are legal but probably not what the author meant.
func Validate(doc *Document, knownID func(policyID string) bool) ([]Warning, error) {
	if doc == nil {
		return nil, &ValidationError{Message: msgNotObject}
	}
	return validateRoot(doc.root, knownID)
}

// ValidateValue validates a policy given as a Go value instead of JSON:
// map[string]any, map[any]any, []any, strings, numbers, *Document and the
// like. Maps have no order, so their keys are checked in sorted order. This
// is the only way to meet Djblets' non-string-key error (V19), which JSON
// cannot express.
func ValidateValue(v any, knownID func(policyID string) bool) ([]Warning, error) {
	return validateRoot(fromGo(v, 0), knownID)
}

func validateRoot(root *node, knownID func(string) bool) ([]Warning, error) {
	// Djblets (see docs/api-tokens.md, "Policy validation", step 1).
	if root == nil || root.kind != kindObject {
		return nil, &ValidationError{Message: msgNotObject, Pointer: ""}
	}
	// Step 2: {} is full access.
	if len(root.members) == 0 {
		return nil, nil
	}
	// Step 3.
	res := root.get(resourcesKey)
	if res == nil {
		return nil, &ValidationError{Message: msgMissingResources, Pointer: ""}
	}
	// Step 4.
	if res.kind != kindObject {
		return nil, &ValidationError{Message: msgResourcesNotObject, Pointer: pointer(resourcesKey)}
	}
	// Step 5.
	if len(res.members) == 0 {
		return nil, &ValidationError{Message: msgResourcesEmpty, Pointer: pointer(resourcesKey)}
	}
	// Step 6: "*" is validated before every other key, wherever it appears.
	if g := res.get(wildcard); g != nil {
		if err := validateSection(g, globalSectionPath, resourcesKey, wildcard); err != nil {
			return nil, err
		}
	}
	// Step 7: the other keys, in document order.
	for _, m := range res.members {
		if m.keyIsString && m.key == wildcard {
			continue
		}
		// Step 7.1. A non-string key can never be a known ID.
		if knownID != nil && (!m.keyIsString || !knownID(m.key)) {
			return nil, &ValidationError{
				Message: sprintf(fmtUnknownPolicyID, m.key),
				Pointer: pointer(resourcesKey, m.key),
			}
		}
		// Djblets crashes here on a non-object entry (docs/api-tokens.md, "Policy validation" [gap], V29);
		// authgate reports it like any other non-object section.
		resPath := resourcesKey + "." + m.key
		if m.val.kind != kindObject {
			return nil, &ValidationError{
				Message: sprintf(fmtSectionNotObject, resPath),
				Pointer: pointer(resourcesKey, m.key),
			}
		}
		// Step 7.2.
		for _, sub := range m.val.members {
			if !sub.keyIsString {
				return nil, &ValidationError{
					Message: sprintf(fmtSubKeyNotString, sub.key, resPath),
					Pointer: pointer(resourcesKey, m.key, sub.key),
				}
			}
			if err := validateSection(sub.val, resPath+"."+sub.key, resourcesKey, m.key, sub.key); err != nil {
				return nil, err
			}
		}
	}
	return warnings(res), nil
}

// validateSection is Djblets (see docs/api-tokens.md, "Policy validation",
// step 8) for the section at dotted path p,
// whose JSON pointer tokens are tokens.
func validateSection(n *node, p string, tokens ...string) error {
	if n.kind != kindObject {
		return &ValidationError{Message: sprintf(fmtSectionNotObject, p), Pointer: pointer(tokens...)}
	}
	allow, block := n.get(allowKey), n.get(blockKey)
	if allow == nil && block == nil {
		return &ValidationError{Message: sprintf(fmtSectionMissingRules, p), Pointer: pointer(tokens...)}
	}
	if allow != nil && allow.kind != kindArray {
		return &ValidationError{Message: sprintf(fmtSectionRuleNotAList, p, allowKey), Pointer: pointer(append(tokens, allowKey)...)}
	}
	if block != nil && block.kind != kindArray {
		return &ValidationError{Message: sprintf(fmtSectionRuleNotAList, p, blockKey), Pointer: pointer(append(tokens, blockKey)...)}
	}
	return nil
}

// warnings inspects an already valid "resources" object for rules that
// Djblets accepts but that cannot do what their author probably meant.
func warnings(res *node) []Warning {
	var ws []Warning
	global := res.get(wildcard)
	ws = sectionWarnings(ws, global, globalSectionPath, []string{resourcesKey, wildcard})
	ws = allowOnlyWarning(ws, global, globalSectionPath, []string{resourcesKey, wildcard})
	for _, m := range res.members {
		if m.keyIsString && m.key == wildcard {
			continue
		}
		resStar := m.val.get(wildcard)
		for _, sub := range m.val.members {
			p := resourcesKey + "." + m.key + "." + sub.key
			tokens := []string{resourcesKey, m.key, sub.key}
			ws = sectionWarnings(ws, sub.val, p, tokens)
			if sub.keyIsString && sub.key == wildcard {
				ws = allowOnlyWarning(ws, sub.val, p, tokens, global)
			} else {
				ws = allowOnlyWarning(ws, sub.val, p, tokens, resStar, global)
			}
		}
	}
	return ws
}

// sectionWarnings flags method entries that can never match a request:
// non-strings, and names that are not upper case (Djblets compares methods
// exactly and case-sensitively, docs/api-tokens.md, "Policy grammar").
func sectionWarnings(ws []Warning, sec *node, p string, tokens []string) []Warning {
	if sec == nil {
		return ws
	}
	for _, rule := range []string{allowKey, blockKey} {
		list := sec.get(rule)
		if list == nil {
			continue
		}
		for i, e := range list.elems {
			ptr := pointer(append(append([]string(nil), tokens...), rule, strconv.Itoa(i))...)
			switch {
			case e.kind != kindString:
				ws = append(ws, Warning{
					Message: `The "` + p + `" section's "` + rule + `" rule contains ` + string(appendCanonical(nil, e)) +
						`, which is not a method name and never matches.`,
					Pointer: ptr,
				})
			case e.text != strings.ToUpper(e.text):
				ws = append(ws, Warning{
					Message: `The "` + p + `" section's "` + rule + `" rule contains ` + strconv.Quote(e.text) +
						`, which never matches: method names are case-sensitive (` + strconv.Quote(strings.ToUpper(e.text)) + `).`,
					Pointer: ptr,
				})
			}
		}
	}
	return ws
}

// allowOnlyWarning flags a section that allows named methods but blocks
// nothing, when no less specific section blocks "*" either: such an allow
// list is not a whitelist, since unlisted methods fall through to the
// default ALLOW (Djblets; see docs/api-tokens.md, "Policy decisions", rule 3).
// allow ["*"] is an explicit grant,
// not a mistaken whitelist, and is not flagged.
func allowOnlyWarning(ws []Warning, sec *node, p string, tokens []string, fallbacks ...*node) []Warning {
	if sec == nil {
		return ws
	}
	allow := sec.get(allowKey)
	if allow == nil || !hasString(allow, func(s string) bool { return true }) || hasString(allow, isWildcard) {
		return ws
	}
	if block := sec.get(blockKey); block != nil && hasString(block, func(string) bool { return true }) {
		return ws
	}
	for _, f := range fallbacks {
		if f == nil {
			continue
		}
		if block := f.get(blockKey); block != nil && hasString(block, isWildcard) {
			return ws
		}
	}
	return append(ws, Warning{
		Message: `The "` + p + `" section has "allow" rules but no "block" rules, so it is not a whitelist: ` +
			`methods it does not list are still allowed. Add "block": ["*"] to deny them.`,
		Pointer: pointer(tokens...),
	})
}

func isWildcard(s string) bool { return s == wildcard }

// hasString reports whether the array n has a string element satisfying f.
func hasString(n *node, f func(string) bool) bool {
	if n.kind != kindArray {
		return false
	}
	for _, e := range n.elems {
		if e.kind == kindString && f(e.text) {
			return true
		}
	}
	return false
}
