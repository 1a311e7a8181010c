package policy_test

import (
	"testing"

	"github.com/authgate/authgate/tokens/policy"
)

// TestJSONCanonicalEscapes: the canonical form escapes exactly what JSON
// requires: quote, backslash, the short escapes \n \r \t, and other
// control characters as \u00XX with lower-case hex; a space and DEL are
// written as they are.
func TestJSONCanonicalEscapes(t *testing.T) {
	doc, err := policy.Parse([]byte(`{"resources":{"*":{"allow":["\r\t\u001f\u0010 \u007f~\"\\\n"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := policy.Compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"resources\":{\"*\":{\"allow\":[\"\\r\\t\\u001f\\u0010 \x7f~\\\"\\\\\\n\"]}}}"
	if got := string(c.JSON()); got != want {
		t.Fatalf("JSON() = %q\nwant     %q", got, want)
	}
}

// TestValidateValueKeyOrder: Go map keys are checked in sorted order, and
// of a string key and a non-string key that print alike, the string key
// comes first.
func TestValidateValueKeyOrder(t *testing.T) {
	all := func(string) bool { return true }
	_, err := policy.ValidateValue(map[string]any{"resources": map[any]any{
		7:   map[string]any{"allow": []any{"GET"}},
		"7": "not an object",
	}}, all)
	if err == nil || err.Error() != `The "resources.7" section must be a JSON object.` {
		t.Fatalf("err = %v, want the string key's error first", err)
	}
	_, err = policy.ValidateValue(map[string]any{"resources": map[any]any{
		"8": "not an object",
		"7": "not an object either",
	}}, all)
	if err == nil || err.Error() != `The "resources.7" section must be a JSON object.` {
		t.Fatalf("err = %v, want the first key in sorted order", err)
	}
}
