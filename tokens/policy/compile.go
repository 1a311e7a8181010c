package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Section names reported by Decision that are not policy sections.
const (
	// SectionDefault: no section decided; Djblets' default is ALLOW.
	SectionDefault = "default"
	// SectionInvalid: the stored policy could not be read; everything is
	// denied (fail closed, docs/api-tokens.md, "Deliberate differences").
	SectionInvalid = "invalid-policy"
)

// Decision is the outcome of one policy check and the section that made it:
// "resources.<policy_id>.<object_id>", "resources.<policy_id>.*",
// "resources.*", SectionDefault or SectionInvalid.
type Decision struct {
	Allowed bool
	Section string
}

// Compiled is a validated policy prepared for fast evaluation. It is
// immutable and safe for concurrent use. The zero value and a nil *Compiled
// deny everything, so a Compiled that was never built fails closed.
type Compiled struct {
	ok        bool
	full      bool
	err       error // why a stored policy was unreadable (ok == false)
	global    *section
	resources map[string]*resourcePolicy
	canonical []byte
}

// resourcePolicy is resources.<policy_id>. Empty sections are dropped at
// compile time: Djblets (see docs/api-tokens.md, "Policy decisions") skips them.
type resourcePolicy struct {
	star   *section
	ids    map[string]*section
	idKeys []string // every object-ID key (sorted), including empty sections
}

type section struct {
	name         string // precomputed, so Decide never allocates
	allow, block methodSet
}

// Standard HTTP methods get one bit each; everything else is compared as a
// string. Djblets (see docs/api-tokens.md, "Policy grammar"): comparison is
// exact and case-sensitive.
const (
	bitGET uint16 = 1 << iota
	bitHEAD
	bitPOST
	bitPUT
	bitPATCH
	bitDELETE
	bitOPTIONS
	bitTRACE
	bitCONNECT
)

func methodBit(m string) uint16 {
	switch m {
	case "GET":
		return bitGET
	case "HEAD":
		return bitHEAD
	case "POST":
		return bitPOST
	case "PUT":
		return bitPUT
	case "PATCH":
		return bitPATCH
	case "DELETE":
		return bitDELETE
	case "OPTIONS":
		return bitOPTIONS
	case "TRACE":
		return bitTRACE
	case "CONNECT":
		return bitCONNECT
	}
	return 0
}

// methodSet is an allow or block list: standard methods as bits, "*" as a
// flag, and any other strings in a short slice.
type methodSet struct {
	bits  uint16
	star  bool
	other []string
}

func newMethodSet(list *node) methodSet {
	var s methodSet
	if list == nil {
		return s
	}
	for _, e := range list.elems {
		// Non-string entries can never equal a method (Djblets (see
		// docs/api-tokens.md, "Policy grammar") accepts
		// them and they never match).
		if e.kind != kindString {
			continue
		}
		switch bit := methodBit(e.text); {
		case e.text == wildcard:
			s.star = true
		case bit != 0:
			s.bits |= bit
		case !slices.Contains(s.other, e.text):
			s.other = append(s.other, e.text)
		}
	}
	return s
}

// has reports whether the method, whose bit is bit (0 if not standard), is
// named in the set. "*" is only matched through the star flag; that gives
// the same answer for a request method of "*", because Djblets' steps 1/3
// and 2/4 then test the same thing.
func (s *methodSet) has(method string, bit uint16) bool {
	if bit != 0 {
		return s.bits&bit != 0
	}
	for _, o := range s.other {
		if o == method {
			return true
		}
	}
	return false
}

// check is Djblets' per-section precedence (rule 2 of
// docs/api-tokens.md, "Policy decisions"): named block,
// named allow, "*" block, "*" allow; otherwise undecided.
func (s *section) check(method string, bit uint16) (Decision, bool) {
	switch {
	case s.block.has(method, bit):
		return Decision{Allowed: false, Section: s.name}, true
	case s.allow.has(method, bit):
		return Decision{Allowed: true, Section: s.name}, true
	case s.block.star:
		return Decision{Allowed: false, Section: s.name}, true
	case s.allow.star:
		return Decision{Allowed: true, Section: s.name}, true
	}
	return Decision{}, false
}

// compileSection returns nil for a section Djblets skips: missing, null or
// an empty object (docs/api-tokens.md, "Policy decisions").
func compileSection(n *node, name string) *section {
	if n == nil || n.kind != kindObject || len(n.members) == 0 {
		return nil
	}
	return &section{name: name, allow: newMethodSet(n.get(allowKey)), block: newMethodSet(n.get(blockKey))}
}

// Compile validates the structure of doc (policy IDs are not checked; use
// Validate for that) and prepares it for evaluation.
func Compile(doc *Document) (*Compiled, error) {
	if _, err := Validate(doc, nil); err != nil {
		return nil, err
	}
	c := &Compiled{ok: true, canonical: appendCanonical(nil, doc.root)}
	res := doc.root.get(resourcesKey)
	if res == nil { // {}: full access (Djblets; see docs/api-tokens.md, "Policy validation", step 2)
		c.full = true
		return c, nil
	}
	c.global = compileSection(res.get(wildcard), globalSectionPath)
	for _, m := range res.members {
		if m.key == wildcard {
			continue
		}
		rp := &resourcePolicy{}
		prefix := resourcesKey + "." + m.key + "."
		for _, sub := range m.val.members {
			sec := compileSection(sub.val, prefix+sub.key)
			if sub.key == wildcard {
				rp.star = sec
				continue
			}
			rp.idKeys = append(rp.idKeys, sub.key)
			if sec != nil {
				if rp.ids == nil {
					rp.ids = make(map[string]*section)
				}
				rp.ids[sub.key] = sec
			}
		}
		slices.Sort(rp.idKeys)
		if c.resources == nil {
			c.resources = make(map[string]*resourcePolicy)
		}
		c.resources[m.key] = rp
	}
	return c, nil
}

// fullAccess returns a Compiled for the empty policy {}.
func fullAccess() *Compiled {
	return &Compiled{ok: true, full: true, canonical: []byte("{}")}
}

// FromStored compiles a policy read back from storage. It never fails:
// empty input or JSON null is full access (the Djblets default, {}), and
// anything unreadable or invalid gives a Compiled that denies every request
// with Section SectionInvalid. Djblets would treat a bad stored policy as
// full access; authgate fails closed (docs/api-tokens.md, "Deliberate differences").
func FromStored(raw []byte) *Compiled {
	// Only JSON whitespace (RFC 8259 §2) is trimmed: bytes.TrimSpace would
	// also accept bytes that Parse rejects, such as a form feed.
	if trimmed := bytes.Trim(raw, " \t\r\n"); len(trimmed) == 0 || string(trimmed) == "null" {
		return fullAccess()
	}
	doc, err := Parse(raw)
	if err != nil {
		return &Compiled{err: fmt.Errorf("stored policy: %w", err)}
	}
	c, err := Compile(doc)
	if err != nil {
		return &Compiled{err: fmt.Errorf("stored policy: %w", err)}
	}
	return c
}

// Err reports why the policy denies everything: the error that made a
// stored policy unreadable, or a note for a Compiled that was never built.
// It is nil for a usable policy.
func (c *Compiled) Err() error {
	switch {
	case c == nil || (!c.ok && c.err == nil):
		return fmt.Errorf("policy not compiled")
	case !c.ok:
		return c.err
	}
	return nil
}

// FullAccess reports whether the policy is {} (no restriction at all).
func (c *Compiled) FullAccess() bool { return c != nil && c.ok && c.full }

// Decide evaluates a request for the resource with policy ID policyID, HTTP
// method method (compared exactly, case-sensitively) and the object ID from
// the URL; objectID "" means null (a list or singleton request), so object
// sections never apply to it (Djblets; see docs/api-tokens.md, "Policy decisions", rule 5).
//
// Djblets (see docs/api-tokens.md, "Policy decisions"): the first decisive
// section wins, in the order
// resources.<policyID>.<objectID>, resources.<policyID>.*, resources.*;
// if none decides, the default is ALLOW. Decide does not allocate.
func (c *Compiled) Decide(policyID, method, objectID string) Decision {
	return c.decide(policyID, method, objectID, objectID != "")
}

func (c *Compiled) decide(policyID, method, objectID string, hasID bool) Decision {
	if c == nil || !c.ok {
		return Decision{Allowed: false, Section: SectionInvalid}
	}
	bit := methodBit(method)
	if rp := c.resources[policyID]; rp != nil {
		if hasID {
			if s := rp.ids[objectID]; s != nil {
				if d, ok := s.check(method, bit); ok {
					return d
				}
			}
		}
		if rp.star != nil {
			if d, ok := rp.star.check(method, bit); ok {
				return d
			}
		}
	}
	if c.global != nil {
		if d, ok := c.global.check(method, bit); ok {
			return d
		}
	}
	return Decision{Allowed: true, Section: SectionDefault}
}

// DeniedIDs lists, in sorted order, the object IDs named in
// resources.<policyID> for which method is denied. List endpoints use it
// with "GET" to omit those objects (Djblets (see
// docs/api-tokens.md, "List filtering"), which is broken in Djblets
// and works here).
//
// Only IDs named in the policy can be listed; callers must still Decide on
// the list request itself (objectID ""), which covers resource-wide rules.
// For a policy that denies everything it returns nil: the list request is
// already denied.
func (c *Compiled) DeniedIDs(policyID, method string) []string {
	if c == nil || !c.ok {
		return nil
	}
	rp := c.resources[policyID]
	if rp == nil {
		return nil
	}
	var denied []string
	for _, k := range rp.idKeys {
		if !c.decide(policyID, method, k, true).Allowed {
			denied = append(denied, k)
		}
	}
	return denied
}

// JSON returns the policy as compact JSON with object keys sorted (Djblets
// stores policies with sorted keys), for storage and introspection. It is
// nil for a policy that could not be read.
func (c *Compiled) JSON() json.RawMessage {
	if c == nil || !c.ok {
		return nil
	}
	return bytes.Clone(c.canonical)
}
