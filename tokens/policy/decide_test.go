package policy_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/authgate/authgate/tokens/policy"
)

var allSix = []string{"HEAD", "GET", "POST", "PATCH", "PUT", "DELETE"}

// evaluationCases are docs/api-tokens.md, "Policy decisions" E1–E16, verbatim: the
// resources object, the object ID ("" is null), the methods the spec lists
// as allowed and denied, and the section that decides each group.
var evaluationCases = []struct {
	name         string
	resources    string
	id           string
	allowed      []string
	denied       []string
	allowSection string
	denySection  string
}{
	{name: "E1", resources: `{}`, allowed: allSix, allowSection: "default"},
	{name: "E2", resources: `{"*":{"allow":["*"]}}`, allowed: allSix, allowSection: "resources.*"},
	{name: "E3", resources: `{"*":{"block":["*"]}}`, denied: allSix, denySection: "resources.*"},
	{name: "E4", resources: `{"*":{"block":["*"]},"test":{"*":{"allow":["*"]}}}`, allowed: allSix, allowSection: "resources.test.*"},
	{name: "E5", resources: `{"*":{"allow":["*"]},"test":{"*":{"block":["*"]}}}`, denied: allSix, denySection: "resources.test.*"},
	{name: "E6", resources: `{"*":{"block":["*"]},"test":{"*":{"allow":["GET","PUT"]}}}`,
		allowed: []string{"GET", "PUT"}, allowSection: "resources.test.*",
		denied: []string{"HEAD", "POST", "PATCH", "DELETE"}, denySection: "resources.*"},
	{name: "E7", resources: `{"*":{"allow":["*"]},"test":{"*":{"block":["GET","PUT"]}}}`,
		allowed: []string{"HEAD", "POST", "PATCH", "DELETE"}, allowSection: "resources.*",
		denied: []string{"GET", "PUT"}, denySection: "resources.test.*"},
	{name: "E8", resources: `{"test":{"*":{"block":["*"],"allow":["GET","PUT"]}}}`,
		allowed: []string{"GET", "PUT"}, allowSection: "resources.test.*",
		denied: []string{"HEAD", "POST", "PATCH", "DELETE"}, denySection: "resources.test.*"},
	{name: "E9", resources: `{"test":{"*":{"allow":["*"],"block":["GET","PUT"]}}}`,
		allowed: []string{"HEAD", "POST", "DELETE"}, allowSection: "resources.test.*",
		denied: []string{"GET", "PUT"}, denySection: "resources.test.*"},
	{name: "E10", resources: `{"test":{"42":{"allow":["*"]}}}`, id: "42",
		allowed: []string{"HEAD", "GET", "POST", "PUT", "DELETE"}, allowSection: "resources.test.42"},
	{name: "E11a", resources: `{"test":{"42":{"block":["*"]}}}`, id: "42",
		denied: []string{"HEAD", "GET", "POST", "PUT", "DELETE"}, denySection: "resources.test.42"},
	{name: "E11b", resources: `{"test":{"42":{"block":["*"]}}}`, id: "100",
		allowed: []string{"HEAD", "GET", "POST", "PUT", "DELETE"}, allowSection: "default"},
	{name: "E12a", resources: `{"test":{"*":{"block":["*"]},"42":{"allow":["*"]}}}`, id: "42", allowed: allSix, allowSection: "resources.test.42"},
	{name: "E12b", resources: `{"test":{"*":{"block":["*"]},"42":{"allow":["*"]}}}`, id: "100", denied: allSix, denySection: "resources.test.*"},
	{name: "E13a", resources: `{"test":{"*":{"allow":["*"]},"42":{"block":["*"]}}}`, id: "42", denied: allSix, denySection: "resources.test.42"},
	{name: "E13b", resources: `{"test":{"*":{"allow":["*"]},"42":{"block":["*"]}}}`, id: "100", allowed: allSix, allowSection: "resources.test.*"},
	{name: "E14", resources: `{"*":{"block":["*"]},"test":{"42":{"allow":["*"]}}}`, id: "42", allowed: allSix, allowSection: "resources.test.42"},
	{name: "E15a", resources: `{"*":{"allow":["*"]},"test":{"42":{"block":["*"]}}}`, id: "42", denied: allSix, denySection: "resources.test.42"},
	{name: "E15b", resources: `{"*":{"allow":["*"]},"test":{"42":{"block":["*"]}}}`, id: "100", allowed: allSix, allowSection: "resources.*"},
	{name: "E16", resources: `{"test":{"*":{"allow":["*"],"block":["*"]}}}`,
		denied: []string{"HEAD", "GET", "POST", "PUT", "DELETE"}, denySection: "resources.test.*"},
}

// policyFromResources wraps an E-case resources object in a policy. Djblets'
// tests call the evaluator with rp directly; rp {} is the full-access policy
// {} (a policy {"resources":{}} is invalid, V4).
func policyFromResources(rp string) string {
	if rp == `{}` {
		return `{}`
	}
	return `{"resources":` + rp + `}`
}

func TestDecideDjbletsCases(t *testing.T) {
	for _, tc := range evaluationCases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCompile(t, policyFromResources(tc.resources))
			for _, m := range tc.allowed {
				assertDecision(t, c, "test", m, tc.id, policy.Decision{Allowed: true, Section: tc.allowSection})
			}
			for _, m := range tc.denied {
				assertDecision(t, c, "test", m, tc.id, policy.Decision{Allowed: false, Section: tc.denySection})
			}
		})
	}
}

// reviewBotPolicy is the Review Board docs' "review bot" example
// (docs/api-tokens.md, "Policy decisions").
const reviewBotPolicy = `{"resources": {
  "*": {"allow": ["GET","HEAD","OPTIONS"], "block": ["*"]},
  "review": {"*": {"allow": ["*"], "block": []}},
  "review_diff_comment": {"*": {"allow": ["*"], "block": []}},
  "review_file_attachment_comment": {"*": {"allow": ["*"], "block": []}},
  "review_general_comment": {"*": {"allow": ["*"], "block": []}}
}}`

// readOnlyPreset is Review Board's read-only UI preset
// (docs/api-tokens.md, "Policy grammar").
const readOnlyPreset = `{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}`

func TestDecideReviewBoardPolicies(t *testing.T) {
	type q struct {
		policyID, method, id string
		want                 policy.Decision
	}
	allow := func(s string) policy.Decision { return policy.Decision{Allowed: true, Section: s} }
	deny := func(s string) policy.Decision { return policy.Decision{Allowed: false, Section: s} }
	tests := []struct {
		name    string
		policy  string
		queries []q
	}{
		{name: "review bot", policy: reviewBotPolicy, queries: []q{
			{"review", "POST", "", allow("resources.review.*")},
			{"review", "PUT", "7", allow("resources.review.*")},
			{"review", "DELETE", "7", allow("resources.review.*")},
			{"review_diff_comment", "POST", "", allow("resources.review_diff_comment.*")},
			{"review_general_comment", "PATCH", "3", allow("resources.review_general_comment.*")},
			{"review_request", "GET", "42", allow("resources.*")},
			{"review_request", "HEAD", "", allow("resources.*")},
			{"repository", "OPTIONS", "", allow("resources.*")},
			{"review_request", "PUT", "42", deny("resources.*")},
			{"repository", "POST", "", deny("resources.*")},
			{"server_info", "DELETE", "", deny("resources.*")},
			// Djblets (see docs/api-tokens.md, "Policy decisions", rule 7): no cascade; a
			// reply is its own resource.
			{"review_reply", "POST", "", deny("resources.*")},
			{"review", "get", "", allow("resources.review.*")}, // matched by "*", not by name
		}},
		{name: "read-only preset", policy: readOnlyPreset, queries: []q{
			{"review_request", "GET", "", allow("resources.*")},
			{"review_request", "HEAD", "1", allow("resources.*")},
			{"session", "OPTIONS", "", allow("resources.*")},
			{"review_request", "POST", "", deny("resources.*")},
			{"review_request", "PUT", "1", deny("resources.*")},
			{"review_request", "PATCH", "1", deny("resources.*")},
			{"review_request", "DELETE", "1", deny("resources.*")},
			// Djblets (see docs/api-tokens.md, "Policy grammar"): exact, case-sensitive method comparison.
			{"review_request", "get", "", deny("resources.*")},
			{"review_request", "PROPFIND", "", deny("resources.*")},
		}},
		{name: "full access", policy: `{}`, queries: []q{
			{"anything", "DELETE", "1", allow("default")},
			{"anything", "", "", allow("default")},
		}},
		{name: "custom methods and duplicates", policy: `{"resources":{"*":{"allow":["PROPFIND","PROPFIND","get"],"block":["*"]}}}`, queries: []q{
			{"x", "PROPFIND", "", allow("resources.*")},
			{"x", "get", "", allow("resources.*")},
			{"x", "GET", "", deny("resources.*")},
			{"x", "MKCOL", "", deny("resources.*")},
		}},
		{name: "allow-only is not a whitelist", policy: `{"resources":{"*":{"allow":["GET"]}}}`, queries: []q{
			{"x", "GET", "", allow("resources.*")},
			{"x", "POST", "", allow("default")},
		}},
		{name: "empty and undecided sections fall through", policy: `{"resources":{"*":{"block":["*"]},"test":{"*":{"allow":[],"block":[]},"42":{"allow":[]}},"other":{}}}`, queries: []q{
			{"test", "GET", "42", deny("resources.*")},
			{"test", "GET", "", deny("resources.*")},
			{"other", "GET", "", deny("resources.*")},
		}},
		{name: "ID compared as exact string", policy: `{"resources":{"test":{"42":{"block":["*"]}}}}`, queries: []q{
			{"test", "GET", "42", deny("resources.test.42")},
			{"test", "GET", "042", allow("default")},
			{"test", "GET", "", allow("default")},
		}},
		{name: "named global method loses to resource wildcard", policy: `{"resources":{"*":{"allow":["POST"]},"test":{"*":{"block":["*"]}}}}`, queries: []q{
			{"test", "POST", "", deny("resources.test.*")},
			{"other", "POST", "", allow("resources.*")},
		}},
		{name: "empty-string ID key never matches null", policy: `{"resources":{"test":{"":{"block":["*"]}}}}`, queries: []q{
			{"test", "GET", "", allow("default")},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCompile(t, tc.policy)
			for _, q := range tc.queries {
				assertDecision(t, c, q.policyID, q.method, q.id, q.want)
			}
		})
	}
}

func TestFromStored(t *testing.T) {
	deny := policy.Decision{Allowed: false, Section: policy.SectionInvalid}
	allow := policy.Decision{Allowed: true, Section: policy.SectionDefault}
	tests := []struct {
		name    string
		raw     string
		want    policy.Decision // for GET on resource "test", null ID
		full    bool
		wantErr bool
		json    string
	}{
		{name: "empty", raw: "", want: allow, full: true, json: `{}`},
		{name: "whitespace", raw: " \t\r\n", want: allow, full: true, json: `{}`},
		{name: "padded", raw: " {} \n", want: allow, full: true, json: `{}`},
		{name: "form feed is not JSON whitespace", raw: "{}\f", want: deny, wantErr: true},
		{name: "padded null-like", raw: "\fnull", want: deny, wantErr: true},
		{name: "null", raw: "null", want: allow, full: true, json: `{}`},
		{name: "empty object", raw: "{}", want: allow, full: true, json: `{}`},
		{name: "valid", raw: `{"resources":{"test":{"*":{"block":["GET"]}}}}`,
			want: policy.Decision{Allowed: false, Section: "resources.test.*"}, json: `{"resources":{"test":{"*":{"block":["GET"]}}}}`},
		// Djblets would store these as {} (full access); authgate fails closed.
		{name: "not JSON", raw: `{"resources":`, want: deny, wantErr: true},
		{name: "JSON list", raw: `[]`, want: deny, wantErr: true},
		{name: "invalid policy", raw: `{"perms":"ro"}`, want: deny, wantErr: true},
		{name: "non-object entry", raw: `{"resources":{"test":"x"}}`, want: deny, wantErr: true},
		{name: "duplicate keys", raw: `{"resources":{"*":{"block":["*"]},"*":{"allow":["*"]}}}`, want: deny, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := policy.FromStored([]byte(tc.raw))
			assertDecision(t, c, "test", "GET", "", tc.want)
			if tc.wantErr {
				assertDecision(t, c, "test", "GET", "1", tc.want)
				assertDecision(t, c, "other", "HEAD", "", tc.want)
			}
			if c.FullAccess() != tc.full {
				t.Errorf("FullAccess() = %v, want %v", c.FullAccess(), tc.full)
			}
			if (c.Err() != nil) != tc.wantErr {
				t.Errorf("Err() = %v, wantErr %v", c.Err(), tc.wantErr)
			}
			if got := string(c.JSON()); got != tc.json {
				t.Errorf("JSON() = %q, want %q", got, tc.json)
			}
		})
	}
}

func TestUncompiledDeniesEverything(t *testing.T) {
	var nilC *policy.Compiled
	want := policy.Decision{Allowed: false, Section: policy.SectionInvalid}
	for name, c := range map[string]*policy.Compiled{"nil": nilC, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			assertDecision(t, c, "test", "GET", "", want)
			if c.FullAccess() || c.Err() == nil || c.JSON() != nil || c.DeniedIDs("test", "GET") != nil {
				t.Errorf("uncompiled policy: FullAccess=%v Err=%v JSON=%s", c.FullAccess(), c.Err(), c.JSON())
			}
		})
	}
}

func TestCompileRejectsInvalid(t *testing.T) {
	_, err := policy.Compile(mustParse(t, `{"resources":{"test":[]}}`))
	var ve *policy.ValidationError
	if !errors.As(err, &ve) || ve.Pointer != "/resources/test" {
		t.Fatalf("Compile: got %v, want ValidationError at /resources/test", err)
	}
	if _, err := policy.Compile(nil); err == nil {
		t.Fatal("Compile(nil) succeeded")
	}
}

func TestDeniedIDs(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		policyID string
		method   string
		want     []string
	}{
		// Djblets (see docs/api-tokens.md, "List filtering"): the example that crashes
		// Djblets with a TypeError.
		{name: "spec example", policy: `{"resources":{"repository":{"3":{"block":["GET"]}}}}`, policyID: "repository", method: "GET", want: []string{"3"}},
		{name: "other method", policy: `{"resources":{"repository":{"3":{"block":["GET"]}}}}`, policyID: "repository", method: "POST"},
		{name: "other resource", policy: `{"resources":{"repository":{"3":{"block":["GET"]}}}}`, policyID: "review", method: "GET"},
		{name: "mixed, sorted", policy: `{"resources":{"*":{"block":["*"]},"repo":{"*":{"allow":["GET"]},"9":{"block":["GET"]},"10":{"allow":["POST"]},"2":{"block":["*"]},"5":{"block":[]}}}}`,
			policyID: "repo", method: "GET", want: []string{"2", "9"}},
		{name: "ID allowed over resource block", policy: `{"resources":{"repo":{"*":{"block":["GET"]},"1":{"allow":["GET"]},"3":{"allow":[]}}}}`,
			policyID: "repo", method: "GET", want: []string{"3"}},
		{name: "empty-string ID key", policy: `{"resources":{"repo":{"":{"block":["GET"]}}}}`, policyID: "repo", method: "GET", want: []string{""}},
		{name: "full access", policy: `{}`, policyID: "repo", method: "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustCompile(t, tc.policy).DeniedIDs(tc.policyID, tc.method)
			if !slices.Equal(got, tc.want) {
				t.Errorf("DeniedIDs(%q, %q) = %q, want %q", tc.policyID, tc.method, got, tc.want)
			}
		})
	}
}

func TestJSONCanonical(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "sorted keys, compact", in: "{\"resources\": {\"test\": {\"42\": {\"block\": [\"*\"]}, \"*\": {\"allow\": [\"GET\"]}}, \"*\": {\"block\": []}}, \"perms\": \"ro\"}",
			want: `{"perms":"ro","resources":{"*":{"block":[]},"test":{"*":{"allow":["GET"]},"42":{"block":["*"]}}}}`},
		{name: "numbers and escapes kept", in: `{"resources":{"*":{"allow":[1.50,"a\"b\\c\n<&>\u0001é"]}}}`,
			want: `{"resources":{"*":{"allow":[1.50,"a\"b\\c\n<&>\u0001é"]}}}`},
		{name: "full access", in: ` { } `, want: `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCompile(t, tc.in)
			got := c.JSON()
			if string(got) != tc.want {
				t.Fatalf("JSON() =\n %s\nwant\n %s", got, tc.want)
			}
			// The returned slice is a copy: changing it must not change c.
			got[0] = 'X'
			if !bytes.Equal(c.JSON(), []byte(tc.want)) {
				t.Fatal("JSON() exposes internal state")
			}
		})
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	c := mustCompile(t, benchPolicy(20))
	queries := benchQueries(20)
	allocs := testing.AllocsPerRun(100, func() {
		for _, q := range queries {
			_ = c.Decide(q[0], q[1], q[2])
		}
	})
	if allocs != 0 {
		t.Fatalf("Decide allocates %.1f times per %d calls", allocs, len(queries))
	}
}

// benchPolicy builds a policy with n resources, each with a wildcard section
// and two object sections, under a global read-only rule.
func benchPolicy(n int) string {
	var b bytes.Buffer
	b.WriteString(`{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}`)
	for i := range n {
		fmt.Fprintf(&b, `,"resource_%02d":{"*":{"allow":["GET","POST","PROPFIND"],"block":["DELETE"]},"%d":{"block":["*"]},"%d":{"allow":["*"]}}`, i, i, i+100)
	}
	b.WriteString(`}}`)
	return b.String()
}

// benchQueries mixes list and object requests, standard and custom methods,
// and known and unknown resources and IDs.
func benchQueries(n int) [][3]string {
	methods := []string{"GET", "POST", "DELETE", "PATCH", "PROPFIND", "HEAD"}
	var qs [][3]string
	for i := range n {
		pid := fmt.Sprintf("resource_%02d", i)
		qs = append(qs,
			[3]string{pid, methods[i%len(methods)], ""},
			[3]string{pid, methods[(i+1)%len(methods)], fmt.Sprint(i)},
			[3]string{pid, methods[(i+2)%len(methods)], fmt.Sprint(i + 100)},
			[3]string{pid, methods[(i+3)%len(methods)], "999"},
			[3]string{"unknown", methods[(i+4)%len(methods)], ""},
		)
	}
	return qs
}

func BenchmarkDecide20Resources(b *testing.B) {
	c := mustCompile(b, benchPolicy(20))
	queries := benchQueries(20)
	allowed := 0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := &queries[i%len(queries)]
		if c.Decide(q[0], q[1], q[2]).Allowed {
			allowed++
		}
		i++
	}
	if allowed == 0 {
		b.Fatal("nothing allowed: benchmark policy is wrong")
	}
}

func mustCompile(t testing.TB, s string) *policy.Compiled {
	t.Helper()
	c, err := policy.Compile(mustParse(t, s))
	if err != nil {
		t.Fatalf("Compile(%s): %v", s, err)
	}
	return c
}

func assertDecision(t *testing.T, c *policy.Compiled, policyID, method, id string, want policy.Decision) {
	t.Helper()
	if got := c.Decide(policyID, method, id); got != want {
		t.Errorf("Decide(%q, %q, %q) = %+v, want %+v", policyID, method, id, got, want)
	}
}
