package policy_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/authgate/authgate/tokens/policy"
)

// knownSomeobject is the policy-ID set of Djblets' test_api_policy.py
// (docs/api-tokens.md, "Policy validation").
func knownSomeobject(id string) bool { return id == "someobject" }

// validationCases are docs/api-tokens.md, "Policy validation" V1–V29, verbatim. want ""
// means valid. A row with value set is validated as a Go value (V19 cannot
// be written in JSON).
var validationCases = []struct {
	name  string
	in    string
	value any
	want  string
	ptr   string
}{
	{name: "V1", in: `{}`},
	{name: "V2", in: `[]`, want: `The policy must be a JSON object.`, ptr: ""},
	{name: "V3", in: `{"foo":{}}`, want: `The policy is missing a "resources" section.`, ptr: ""},
	{name: "V4", in: `{"resources":{}}`, want: `The policy's "resources" section must not be empty.`, ptr: "/resources"},
	{name: "V5", in: `{"resources":[]}`, want: `The policy's "resources" section must be a JSON object.`, ptr: "/resources"},
	{name: "V6", in: `{"resources":{"*":{"allow":["*"],"block":["POST"]}}}`},
	{name: "V7", in: `{"resources":{"*":{}}}`, want: `The "resources.*" section must have "allow" and/or "block" rules.`, ptr: "/resources/*"},
	{name: "V8", in: `{"resources":{"*":[]}}`, want: `The "resources.*" section must be a JSON object.`, ptr: "/resources/*"},
	{name: "V9", in: `{"resources":{"*":{"allow":{}}}}`, want: `The "resources.*" section's "allow" rule must be a list.`, ptr: "/resources/*/allow"},
	{name: "V10", in: `{"resources":{"*":{"block":{}}}}`, want: `The "resources.*" section's "block" rule must be a list.`, ptr: "/resources/*/block"},
	{name: "V11", in: `{"resources":{"someobject":{"*":{"allow":["*"],"block":["POST"]}}}}`},
	{name: "V12", in: `{"resources":{"someobject":{"*":{}}}}`, want: `The "resources.someobject.*" section must have "allow" and/or "block" rules.`, ptr: "/resources/someobject/*"},
	{name: "V13", in: `{"resources":{"foobar":{"*":{"allow":["*"]}}}}`, want: `"foobar" is not a valid resource policy ID.`, ptr: "/resources/foobar"},
	{name: "V14", in: `{"resources":{"someobject":{"*":[]}}}`, want: `The "resources.someobject.*" section must be a JSON object.`, ptr: "/resources/someobject/*"},
	{name: "V15", in: `{"resources":{"someobject":{"*":{"allow":{}}}}}`, want: `The "resources.someobject.*" section's "allow" rule must be a list.`, ptr: "/resources/someobject/*/allow"},
	{name: "V16", in: `{"resources":{"someobject":{"*":{"block":{}}}}}`, want: `The "resources.someobject.*" section's "block" rule must be a list.`, ptr: "/resources/someobject/*/block"},
	{name: "V17", in: `{"resources":{"someobject":{"42":{"allow":["*"],"block":["POST"]}}}}`},
	{name: "V18", in: `{"resources":{"someobject":{"42":{}}}}`, want: `The "resources.someobject.42" section must have "allow" and/or "block" rules.`, ptr: "/resources/someobject/42"},
	{
		name: "V19",
		value: map[string]any{"resources": map[string]any{"someobject": map[any]any{
			42: map[string]any{"allow": []any{"*"}},
		}}},
		want: `42 must be a string in "resources.someobject"`,
		ptr:  "/resources/someobject/42",
	},
	{name: "V20", in: `{"resources":{"someobject":{"42":[]}}}`, want: `The "resources.someobject.42" section must be a JSON object.`, ptr: "/resources/someobject/42"},
	{name: "V21", in: `{"resources":{"someobject":{"42":{"allow":{}}}}}`, want: `The "resources.someobject.42" section's "allow" rule must be a list.`, ptr: "/resources/someobject/42/allow"},
	{name: "V22", in: `{"resources":{"someobject":{"42":{"block":{}}}}}`, want: `The "resources.someobject.42" section's "block" rule must be a list.`, ptr: "/resources/someobject/42/block"},
	{name: "V23", in: `{"perms":"ro","resources":{"*":{"allow":["*"]}}}`},
	{name: "V24", in: `{"resources":{"someobject":{}}}`},
	{name: "V25", in: `{"resources":{"*":{"allow":["get","bogus",1]}}}`},
	{name: "V26", in: `{"resources":{"*":{"allow":[],"block":[]}}}`},
	{name: "V27", in: `{"resources":{"*":{"bad":{}}}}`, want: `The "resources.*" section must have "allow" and/or "block" rules.`, ptr: "/resources/*"},
	{name: "V28", in: `{"resources":{"foobar":{"*":{"allow":["*"]}},"*":{}}}`, want: `The "resources.*" section must have "allow" and/or "block" rules.`, ptr: "/resources/*"},
	{name: "V29", in: `{"resources":{"someobject":[]}}`, want: `The "resources.someobject" section must be a JSON object.`, ptr: "/resources/someobject"},
}

func TestValidateDjbletsCases(t *testing.T) {
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.value != nil {
				_, err = policy.ValidateValue(tc.value, knownSomeobject)
			} else {
				doc, perr := policy.Parse([]byte(tc.in))
				if perr != nil {
					t.Fatalf("Parse(%s): %v", tc.in, perr)
				}
				_, err = policy.Validate(doc, knownSomeobject)
			}
			assertValidation(t, err, tc.want, tc.ptr)

			if tc.value != nil {
				return
			}
			// The same document as plain Go values (encoding/json's
			// map[string]any) must be judged the same way.
			var v any
			if err := json.Unmarshal([]byte(tc.in), &v); err != nil {
				t.Fatal(err)
			}
			_, err = policy.ValidateValue(v, knownSomeobject)
			assertValidation(t, err, tc.want, tc.ptr)
		})
	}
}

func assertValidation(t *testing.T, err error, want, ptr string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError %q, got %T %v", want, err, err)
	}
	if ve.Message != want || ve.Error() != want {
		t.Errorf("message:\n got %q\nwant %q", ve.Message, want)
	}
	if ve.Pointer != ptr {
		t.Errorf("pointer: got %q, want %q", ve.Pointer, ptr)
	}
}

// TestValidateBeyondDjblets covers authgate's additions: errors where Djblets
// crashes or guesses, parse errors, duplicate keys and pointer escaping.
func TestValidateBeyondDjblets(t *testing.T) {
	allKnown := func(string) bool { return true }
	tests := []struct {
		name    string
		in      string
		known   func(string) bool
		want    string // exact message, or prefix when prefix is set
		prefix  bool
		ptr     string
		parseOK bool // the error comes from Validate, not Parse
	}{
		{name: "string resource entry", in: `{"resources":{"review":"x"}}`, known: allKnown, parseOK: true,
			want: `The "resources.review" section must be a JSON object.`, ptr: "/resources/review"},
		{name: "null resource entry", in: `{"resources":{"review":null}}`, parseOK: true,
			want: `The "resources.review" section must be a JSON object.`, ptr: "/resources/review"},
		{name: "unknown ID checked before entry type", in: `{"resources":{"review":"x"}}`, known: knownSomeobject, parseOK: true,
			want: `"review" is not a valid resource policy ID.`, ptr: "/resources/review"},
		{name: "nil knownID skips the ID check", in: `{"resources":{"anything":{"*":{"allow":["GET"],"block":["*"]}}}}`, parseOK: true},
		{name: "first bad resource in document order", in: `{"resources":{"b":[],"a":[]}}`, parseOK: true,
			want: `The "resources.b" section must be a JSON object.`, ptr: "/resources/b"},
		{name: "null resources", in: `{"resources":null}`, parseOK: true,
			want: `The policy's "resources" section must be a JSON object.`, ptr: "/resources"},
		{name: "null allow", in: `{"resources":{"*":{"allow":null}}}`, parseOK: true,
			want: `The "resources.*" section's "allow" rule must be a list.`, ptr: "/resources/*/allow"},
		{name: "string block", in: `{"resources":{"*":{"allow":[],"block":"*"}}}`, parseOK: true,
			want: `The "resources.*" section's "block" rule must be a list.`, ptr: "/resources/*/block"},
		{name: "pointer escaping", in: `{"resources":{"a/b~c":{"x/y":[]}}}`, parseOK: true,
			want: `The "resources.a/b~c.x/y" section must be a JSON object.`, ptr: "/resources/a~1b~0c/x~1y"},
		{name: "string policy", in: `"x"`, parseOK: true, want: `The policy must be a JSON object.`},
		{name: "null policy", in: `null`, parseOK: true, want: `The policy must be a JSON object.`},
		{name: "invalid JSON", in: `{"resources":}`, prefix: true,
			want: `The policy is not valid JSON: invalid character '}' looking for beginning of value (line 1, column 14)`},
		{name: "invalid JSON second line", in: "{\n  \"resources\": {,}}", prefix: true,
			want: `The policy is not valid JSON: invalid character ',' looking for beginning of object key string (line 2, column 17)`},
		{name: "empty input", in: ``, prefix: true, want: `The policy is not valid JSON: unexpected end of JSON input`},
		{name: "trailing data", in: `{} {}`, prefix: true, want: `The policy is not valid JSON: invalid character '{' after top-level value`},
		{name: "duplicate top-level key", in: `{"resources":{"*":{"allow":["GET"]}},"resources":{}}`,
			want: `The policy has a duplicate "resources" key.`, ptr: "/resources"},
		{name: "duplicate resource", in: `{"resources":{"*":{"block":["*"]},"*":{"allow":["*"]}}}`,
			want: `The policy's "resources" section has a duplicate "*" key.`, ptr: "/resources/*"},
		{name: "duplicate rule", in: `{"resources":{"review":{"42":{"block":["*"],"block":[]}}}}`,
			want: `The "resources.review.42" section has a duplicate "block" key.`, ptr: "/resources/review/42/block"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := policy.Parse([]byte(tc.in))
			if tc.parseOK {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				_, err = policy.Validate(doc, tc.known)
			} else if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error", tc.in)
			}
			if tc.prefix {
				var ve *policy.ValidationError
				if !errors.As(err, &ve) || !strings.HasPrefix(ve.Message, tc.want) {
					t.Fatalf("got %v, want prefix %q", err, tc.want)
				}
				return
			}
			assertValidation(t, err, tc.want, tc.ptr)
		})
	}
}

func TestValidateValueGoShapes(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string
		ptr   string
	}{
		{name: "nil", value: nil, want: `The policy must be a JSON object.`},
		{name: "struct", value: struct{ A int }{1}, want: `The policy must be a JSON object.`},
		{name: "empty map", value: map[string]any{}},
		{name: "typed nested maps", value: map[string]map[string]map[string][]string{
			"resources": {"*": {"allow": {"GET"}, "block": {"*"}}},
		}},
		{name: "non-string policy ID", value: map[string]any{"resources": map[any]any{7: map[string]any{}}},
			want: `"7" is not a valid resource policy ID.`, ptr: "/resources/7"},
		{name: "document", value: mustParse(t, `{"resources":{"*":{}}}`),
			want: `The "resources.*" section must have "allow" and/or "block" rules.`, ptr: "/resources/*"},
		{name: "raw message", value: json.RawMessage(`{"resources":{"someobject":{"1":{"allow":[]}}}}`)},
		{name: "cyclic value does not hang", value: cyclic(), want: `The policy must be a JSON object.`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.ValidateValue(tc.value, knownSomeobject)
			assertValidation(t, err, tc.want, tc.ptr)
		})
	}
}

// cyclic builds a slice that contains itself: not a policy, but it must
// produce an error rather than recurse forever.
func cyclic() any {
	s := make([]any, 1)
	s[0] = s
	return s
}

func TestValidateWarnings(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []policy.Warning
	}{
		{name: "read-only preset", in: readOnlyPreset},
		{name: "review bot example", in: reviewBotPolicy},
		{name: "custom template", in: `{"resources":{"*":{"allow":["*"],"block":[]}}}`},
		{name: "resource allow backed by global block", in: `{"resources":{"*":{"block":["*"]},"test":{"*":{"allow":["GET","PUT"]}}}}`},
		{name: "ID allow backed by resource block", in: `{"resources":{"test":{"*":{"block":["*"]},"42":{"allow":["GET"]}}}}`},
		{name: "global allow-only", in: `{"resources":{"*":{"allow":["GET"]}}}`, want: []policy.Warning{{
			Message: `The "resources.*" section has "allow" rules but no "block" rules, so it is not a whitelist: methods it does not list are still allowed. Add "block": ["*"] to deny them.`,
			Pointer: "/resources/*",
		}}},
		{name: "ID allow-only, empty block list", in: `{"resources":{"test":{"42":{"allow":["GET"],"block":[]}}}}`, want: []policy.Warning{{
			Message: `The "resources.test.42" section has "allow" rules but no "block" rules, so it is not a whitelist: methods it does not list are still allowed. Add "block": ["*"] to deny them.`,
			Pointer: "/resources/test/42",
		}}},
		{name: "V25 entries that never match", in: `{"resources":{"*":{"allow":["get","bogus",1],"block":["*"]}}}`, want: []policy.Warning{
			{Message: `The "resources.*" section's "allow" rule contains "get", which never matches: method names are case-sensitive ("GET").`, Pointer: "/resources/*/allow/0"},
			{Message: `The "resources.*" section's "allow" rule contains "bogus", which never matches: method names are case-sensitive ("BOGUS").`, Pointer: "/resources/*/allow/1"},
			{Message: `The "resources.*" section's "allow" rule contains 1, which is not a method name and never matches.`, Pointer: "/resources/*/allow/2"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := policy.Validate(mustParse(t, tc.in), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) != len(tc.want) {
				t.Fatalf("got %d warnings %v, want %d %v", len(ws), ws, len(tc.want), tc.want)
			}
			for i := range ws {
				if ws[i] != tc.want[i] {
					t.Errorf("warning %d:\n got %+v\nwant %+v", i, ws[i], tc.want[i])
				}
			}
		})
	}
}

func mustParse(t testing.TB, s string) *policy.Document {
	t.Helper()
	doc, err := policy.Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return doc
}
