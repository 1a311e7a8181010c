package policy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/authgate/authgate/tokens/policy"
)

// refDecide is docs/api-tokens.md, "Policy decisions", step 4;
// docs/api-tokens.md, "Policy decisions", transcribed
// literally over encoding/json's map[string]any. id nil is a null ID.
// It returns whether the request is allowed and the deciding section.
func refDecide(pol map[string]any, policyID, method string, id *string) (bool, string) {
	// Step 4 of docs/api-tokens.md, "Policy decisions": rp missing, null or
	// empty → allow.
	rp, _ := pol["resources"].(map[string]any)
	if len(rp) == 0 {
		return true, "default"
	}
	star := "*"
	// A resource's policy ID is never "*" (that key is the global section,
	// which Python would misread as a resource policy here).
	if policyID != "*" {
		r, _ := rp[policyID].(map[string]any)
		if len(r) > 0 {
			if decided, allowed, key := refCheck(r, method, []*string{id, &star}); decided {
				return allowed, "resources." + policyID + "." + key
			}
		}
	}
	if _, ok := rp["*"]; ok {
		if decided, allowed, _ := refCheck(rp, method, []*string{&star}); decided {
			return allowed, "resources.*"
		}
	}
	return true, "default"
}

func refCheck(container map[string]any, method string, keys []*string) (decided, allowed bool, key string) {
	for _, k := range keys {
		if k == nil { // container[None]: JSON keys are strings, never null
			continue
		}
		s, _ := container[*k].(map[string]any)
		if len(s) == 0 { // missing, null, or an empty object → skip
			continue
		}
		allow, _ := s["allow"].([]any)
		block, _ := s["block"].([]any)
		switch {
		case refIn(method, block):
			return true, false, *k
		case refIn(method, allow):
			return true, true, *k
		case refIn("*", block):
			return true, false, *k
		case refIn("*", allow):
			return true, true, *k
		}
	}
	return false, false, ""
}

func refIn(method string, list []any) bool {
	for _, e := range list {
		if s, ok := e.(string); ok && s == method {
			return true
		}
	}
	return false
}

// probes lists the (policyID, method, objectID) triples worth asking about a
// policy: every ID, object key and method it names, plus strangers.
func probes(t testing.TB, raw []byte) (ids, objects, methods []string) {
	t.Helper()
	var pol map[string]any
	if err := json.Unmarshal(raw, &pol); err != nil {
		t.Fatalf("canonical policy does not unmarshal: %v", err)
	}
	ids = []string{"test", "unknown", "*", ""}
	objects = []string{"", "42", "100", "*"}
	methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "*", "get", "PROPFIND", ""}
	addMethods := func(sec any) {
		s, _ := sec.(map[string]any)
		for _, rule := range []string{"allow", "block"} {
			l, _ := s[rule].([]any)
			for _, e := range l {
				if m, ok := e.(string); ok {
					methods = append(methods, m)
				}
			}
		}
	}
	rp, _ := pol["resources"].(map[string]any)
	for pid, r := range rp {
		if pid == "*" {
			addMethods(r)
			continue
		}
		ids = append(ids, pid)
		rm, _ := r.(map[string]any)
		for obj, sec := range rm {
			objects = append(objects, obj)
			addMethods(sec)
		}
	}
	return ids, objects, methods
}

// assertSameDecisions checks that a and b decide every probe alike.
func assertSameDecisions(t *testing.T, raw []byte, a, b *policy.Compiled) {
	t.Helper()
	ids, objects, methods := probes(t, raw)
	for _, pid := range ids {
		for _, m := range methods {
			for _, o := range objects {
				if da, db := a.Decide(pid, m, o), b.Decide(pid, m, o); da != db {
					t.Fatalf("Decide(%q, %q, %q): %+v vs %+v for %s", pid, m, o, da, db, raw)
				}
			}
			if !slices.Equal(a.DeniedIDs(pid, m), b.DeniedIDs(pid, m)) {
				t.Fatalf("DeniedIDs(%q, %q) differ for %s", pid, m, raw)
			}
		}
	}
}

func addPolicySeeds(f *testing.F, add func(policyJSON string)) {
	for _, tc := range validationCases {
		if tc.in != "" {
			add(tc.in)
		}
	}
	for _, tc := range evaluationCases {
		add(policyFromResources(tc.resources))
	}
	add(reviewBotPolicy)
	add(readOnlyPreset)
	add(benchPolicy(3))
	add(`{"resources":{"*":{"block":["*"]},"*":{"allow":["*"]}}}`)
	add(`{"resources":{"a/b~c":{"":{"allow":["get",1,null,{"x":[]}],"block":["\u0000"]}}}}`)
	add(`{"resources":{"test":{"42":{"block":["GET"]},"*":{"allow":["*"]}}},"x":[1e9,-0.5,true,null]}`)
}

// FuzzParse: Parse and Validate never panic; whatever validates compiles;
// the canonical JSON parses back to the same canonical JSON and the same
// decision function; FromStored agrees with Compile and fails closed.
func FuzzParse(f *testing.F) {
	addPolicySeeds(f, func(s string) { f.Add([]byte(s)) })
	f.Add([]byte(`{"resources":`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := policy.Parse(data)
		stored := policy.FromStored(data)
		// FromStored reads an empty or null stored policy as {}.
		trimmed := bytes.Trim(data, " \t\r\n") // JSON whitespace only
		emptyOrNull := len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null"))
		if emptyOrNull && !stored.FullAccess() {
			t.Fatalf("stored policy %q is not full access", data)
		}
		if err != nil {
			var ve *policy.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error is %T, not *ValidationError", err)
			}
			// Valid JSON is only refused for a duplicate key.
			if json.Valid(data) && !strings.Contains(ve.Message, "duplicate") {
				t.Fatalf("valid JSON %q refused: %v", data, err)
			}
			if !json.Valid(data) && !strings.HasPrefix(ve.Message, "The policy is not valid JSON: ") {
				t.Fatalf("invalid JSON %q: unexpected message %q", data, ve.Message)
			}
			if !emptyOrNull {
				if d := stored.Decide("test", "GET", ""); d.Allowed {
					t.Fatalf("unreadable stored policy %q allows: %+v", data, d)
				}
			}
			return
		}
		_, verr := policy.Validate(doc, nil)
		c, cerr := policy.Compile(doc)
		if (verr == nil) != (cerr == nil) {
			t.Fatalf("Validate err %v but Compile err %v", verr, cerr)
		}
		if verr != nil {
			var ve *policy.ValidationError
			if !errors.As(verr, &ve) {
				t.Fatalf("Validate error is %T", verr)
			}
			if !emptyOrNull && (stored.Err() == nil || stored.Decide("test", "GET", "").Allowed) {
				t.Fatalf("invalid stored policy %q does not fail closed", data)
			}
			return
		}
		canon := c.JSON()
		doc2, err := policy.Parse(canon)
		if err != nil {
			t.Fatalf("canonical %s does not parse: %v", canon, err)
		}
		c2, err := policy.Compile(doc2)
		if err != nil {
			t.Fatalf("canonical %s does not compile: %v", canon, err)
		}
		if !bytes.Equal(c2.JSON(), canon) {
			t.Fatalf("canonical form not stable:\n %s\n %s", canon, c2.JSON())
		}
		assertSameDecisions(t, canon, c, c2)
		assertSameDecisions(t, canon, c, stored)
	})
}

// FuzzDecide compares Decide with refDecide on arbitrary valid policies and
// requests.
func FuzzDecide(f *testing.F) {
	addPolicySeeds(f, func(s string) {
		for _, m := range []string{"GET", "POST", "*", "get", "PROPFIND"} {
			f.Add(s, "test", m, "")
			f.Add(s, "test", m, "42")
		}
	})
	f.Add(reviewBotPolicy, "review", "PUT", "7")
	f.Add(reviewBotPolicy, "repository", "DELETE", "1")
	f.Fuzz(func(t *testing.T, policyJSON, policyID, method, objectID string) {
		doc, err := policy.Parse([]byte(policyJSON))
		if err != nil {
			return
		}
		c, err := policy.Compile(doc)
		if err != nil {
			return
		}
		var pol map[string]any
		if err := json.Unmarshal([]byte(policyJSON), &pol); err != nil {
			t.Fatalf("Parse accepted what encoding/json refuses: %v", err)
		}
		var id *string
		if objectID != "" {
			id = &objectID
		}
		wantAllowed, wantSection := refDecide(pol, policyID, method, id)
		got := c.Decide(policyID, method, objectID)
		if got.Allowed != wantAllowed || got.Section != wantSection {
			t.Fatalf("Decide(%q, %q, %q) = %+v, reference says {Allowed:%v Section:%s}\npolicy: %s",
				policyID, method, objectID, got, wantAllowed, wantSection, policyJSON)
		}
		// docs/api-tokens.md, "List filtering": DeniedIDs lists exactly the named IDs the reference denies.
		var want []string
		rp, _ := pol["resources"].(map[string]any)
		if r, ok := rp[policyID].(map[string]any); ok && policyID != "*" {
			for k := range r {
				if k == "*" {
					continue
				}
				if allowed, _ := refDecide(pol, policyID, method, &k); !allowed {
					want = append(want, k)
				}
			}
		}
		slices.Sort(want)
		if gotIDs := c.DeniedIDs(policyID, method); !slices.Equal(gotIDs, want) {
			t.Fatalf("DeniedIDs(%q, %q) = %q, reference %q\npolicy: %s", policyID, method, gotIDs, want, policyJSON)
		}
	})
}
