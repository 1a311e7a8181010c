package clientauthn

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"testing"
)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func TestParse(t *testing.T) {
	cases := []struct {
		name     string
		header   string
		form     url.Values
		want     Credentials
		wantCode string // "" when accepted
		wantDesc string
	}{
		{name: "Basic", header: basic("agci_1", "s3cret"),
			want: Credentials{ID: "agci_1", Secret: "s3cret", Method: MethodBasic}},
		{name: "Basic, lower-case scheme and extra spaces", header: "basic   " + base64.StdEncoding.EncodeToString([]byte("a:b")) + "  ",
			want: Credentials{ID: "a", Secret: "b", Method: MethodBasic}},
		{name: "Basic, form-urlencoded ID and secret are decoded (RFC 6749 §2.3.1)", header: basic("a%3Ab+c", "p%25q+r"),
			want: Credentials{ID: "a:b c", Secret: "p%q r", Method: MethodBasic}},
		{name: "Basic, secret with a colon", header: basic("a", "b:c"),
			want: Credentials{ID: "a", Secret: "b:c", Method: MethodBasic}},
		{name: "Basic, empty secret", header: basic("a", ""),
			want: Credentials{ID: "a", Method: MethodBasic}},
		{name: "Basic, same client_id in the body", header: basic("a", "b"), form: url.Values{"client_id": {"a"}},
			want: Credentials{ID: "a", Secret: "b", Method: MethodBasic}},
		{name: "Basic, other client_id in the body", header: basic("a", "b"), form: url.Values{"client_id": {"c"}},
			wantCode: CodeInvalidRequest, wantDesc: "client_id in the body differs from the Basic credentials"},
		{name: "Basic, empty client_id in the body", header: basic("a", "b"), form: url.Values{"client_id": {""}},
			wantCode: CodeInvalidRequest, wantDesc: "client_id in the body differs from the Basic credentials"},
		{name: "Basic, client_id twice in the body", header: basic("a", "b"), form: url.Values{"client_id": {"a", "a"}},
			wantCode: CodeInvalidRequest, wantDesc: "client_id in the body differs from the Basic credentials"},
		{name: "Basic, no client_id values", header: basic("a", "b"), form: url.Values{"client_id": {}},
			wantCode: CodeInvalidRequest, wantDesc: "client_id in the body differs from the Basic credentials"},
		{name: "Basic and client_secret (two methods)", header: basic("a", "b"), form: url.Values{"client_secret": {"b"}},
			wantCode: CodeInvalidRequest, wantDesc: "use one client authentication method: Basic or client_secret in the body, not both"},
		{name: "Basic and an empty client_secret", header: basic("a", "b"), form: url.Values{"client_secret": {""}},
			wantCode: CodeInvalidRequest, wantDesc: "use one client authentication method: Basic or client_secret in the body, not both"},
		{name: "Bearer scheme", header: "Bearer abc", form: url.Values{"client_id": {"a"}},
			wantCode: CodeInvalidClient, wantDesc: "unsupported client authentication scheme; use Basic"},
		{name: "scheme only", header: "Basic",
			wantCode: CodeInvalidClient, wantDesc: "malformed Basic credentials"},
		{name: "not base64", header: "Basic !!!",
			wantCode: CodeInvalidClient, wantDesc: "malformed Basic credentials"},
		{name: "no colon", header: "Basic " + base64.StdEncoding.EncodeToString([]byte("abc")),
			wantCode: CodeInvalidClient, wantDesc: "malformed Basic credentials"},
		{name: "bad escape in the ID", header: basic("a%zz", "b"),
			wantCode: CodeInvalidClient, wantDesc: "malformed Basic credentials"},
		{name: "bad escape in the secret", header: basic("a", "b%"),
			wantCode: CodeInvalidClient, wantDesc: "malformed Basic credentials"},
		{name: "client_secret_post", form: url.Values{"client_id": {"a"}, "client_secret": {"b"}},
			want: Credentials{ID: "a", Secret: "b", Method: MethodPost}},
		{name: "public client by client_id", form: url.Values{"client_id": {"a"}},
			want: Credentials{ID: "a", Method: MethodNone}},
		{name: "public client, empty client_secret", form: url.Values{"client_id": {"a"}, "client_secret": {""}},
			want: Credentials{ID: "a", Method: MethodNone}},
		{name: "no credentials", form: url.Values{},
			wantCode: CodeInvalidClient, wantDesc: "client authentication is required"},
		{name: "nil form", wantCode: CodeInvalidClient, wantDesc: "client authentication is required"},
		{name: "secret without an ID", form: url.Values{"client_secret": {"b"}},
			wantCode: CodeInvalidClient, wantDesc: "client authentication is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, f := Parse(tc.header, tc.form)
			if tc.wantCode != "" {
				if f == nil || f.Code != tc.wantCode || f.Description != tc.wantDesc {
					t.Fatalf("Parse = %+v, %v; want %s: %s", got, f, tc.wantCode, tc.wantDesc)
				}
				if got != (Credentials{}) {
					t.Fatalf("a refusal came with credentials %+v", got)
				}
				if f.Error() != tc.wantCode+": "+tc.wantDesc {
					t.Fatalf("Error() = %q", f.Error())
				}
				return
			}
			if f != nil || got != tc.want {
				t.Fatalf("Parse = %+v, %v; want %+v", got, f, tc.want)
			}
		})
	}
}

func digest(secret string) string {
	d := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(d[:])
}

func TestAuthenticate(t *testing.T) {
	conf := &Client{SecretDigest: digest("right")}
	disabled := &Client{SecretDigest: digest("right"), Disabled: true}
	public := &Client{Public: true}
	publicDisabled := &Client{Public: true, Disabled: true}
	cases := []struct {
		name       string
		cred       Credentials
		client     *Client
		wantMethod string
		wantOK     bool
	}{
		{"confidential, Basic", Credentials{"c", "right", MethodBasic}, conf, MethodBasic, true},
		{"confidential, body", Credentials{"c", "right", MethodPost}, conf, MethodPost, true},
		{"confidential, wrong secret", Credentials{"c", "wrong", MethodBasic}, conf, "", false},
		{"confidential, no secret", Credentials{"c", "", MethodNone}, conf, "", false},
		{"confidential, disabled, right secret", Credentials{"c", "right", MethodBasic}, disabled, "", false},
		{"confidential, disabled, wrong secret", Credentials{"c", "wrong", MethodBasic}, disabled, "", false},
		{"confidential without a stored digest", Credentials{"c", "x", MethodPost}, &Client{}, "", false},
		{"public, ID only", Credentials{"p", "", MethodNone}, public, MethodNone, true},
		{"public, Basic with an empty secret", Credentials{"p", "", MethodBasic}, public, MethodNone, true},
		{"public with a secret", Credentials{"p", "x", MethodPost}, public, "", false},
		{"public, disabled", Credentials{"p", "", MethodNone}, publicDisabled, "", false},
		{"unknown client", Credentials{"u", "right", MethodBasic}, nil, "", false},
		{"unknown client, no secret", Credentials{"u", "", MethodNone}, nil, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := Authenticate(tc.cred, tc.client)
			if m != tc.wantMethod || ok != tc.wantOK {
				t.Fatalf("Authenticate = %q, %v; want %q, %v", m, ok, tc.wantMethod, tc.wantOK)
			}
		})
	}
}

func TestVerifySecret(t *testing.T) {
	d := digest("right")
	cases := []struct {
		name, digest, secret string
		want                 bool
	}{
		{"right", d, "right", true},
		{"wrong", d, "wrong", false},
		{"prefix", d, "righ", false},
		{"empty secret", digest(""), "", false},
		{"empty digest", "", "right", false},
		{"digest not hex", "zz" + d[2:], "right", false},
		{"digest truncated", d[:62], "right", false},
		{"digest upper-case hex", upper(d), "right", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifySecret(tc.digest, tc.secret); got != tc.want {
				t.Fatalf("VerifySecret = %v, want %v", got, tc.want)
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// TestDummyCheck: an unknown client must cost a digest
// comparison and nothing more observable.
func TestDummyCheck(t *testing.T) {
	if n := testing.AllocsPerRun(10, func() { DummyCheck("secret") }); n != 0 {
		t.Fatalf("DummyCheck allocates %v times", n)
	}
}
