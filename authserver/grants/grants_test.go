package grants

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/authgate/authgate/scopes"
)

// The RFC 7636 Appendix B example.
const (
	verifier  = "dBjftJeZ4CVP-mJ0kdWdV1-a1V6ttW4RnhhODVR0WrIBGgxlOLO_Z3NIAXiMiD8yBfsxDnd6tjrF_Bf3UBGDfrjdbT3O_Ug63Ez9mxpoWbgeXyjSK0LRZSCYjhSMiXkB"
	rfcVerif  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func set(t *testing.T, items ...string) scopes.Set {
	t.Helper()
	s, err := scopes.NewSet(items...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// code returns the error code of a decision's refusal ("" for none).
func code(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	if err != nil {
		return "other:" + err.Error()
	}
	return ""
}

func TestRefusalError(t *testing.T) {
	if got := (&Refusal{Code: "invalid_grant", Description: "no"}).Error(); got != "invalid_grant: no" {
		t.Fatalf("Error() = %q", got)
	}
	if ErrGrantInvalid.Code != CodeInvalidGrant {
		t.Fatalf("ErrGrantInvalid is %q", ErrGrantInvalid.Code)
	}
}

func TestRedeemCode(t *testing.T) {
	if s256(rfcVerif) != challenge {
		t.Fatal("RFC 7636 vector")
	}
	live := StoredCode{
		Stored:      Stored{Found: true, ClientID: "c1", UserActive: true},
		RedirectURI: "https://c.example/cb", Challenge: challenge, ChallengeMethod: MethodS256,
	}
	noPKCE := live
	noPKCE.Challenge, noPKCE.ChallengeMethod = "", ""
	req := CodeRequest{ClientID: "c1", RedirectURI: "https://c.example/cb", Verifier: rfcVerif}
	target := errors.New("invalid_target")
	with := func(f func(*StoredCode)) StoredCode { c := live; f(&c); return c }
	withReq := func(f func(*CodeRequest)) CodeRequest { r := req; f(&r); return r }
	cases := []struct {
		name        string
		req         CodeRequest
		pol         PKCEPolicy
		code        StoredCode
		action      Action
		consume     bool
		errCode     string
		errIsTarget bool
	}{
		{name: "live code, right client, verifier", req: req, code: live, action: Issue, consume: true},
		{name: "unknown code", req: req, code: StoredCode{}, action: Refuse, errCode: CodeInvalidGrant},
		{name: "replay revokes the family", req: req, code: with(func(c *StoredCode) { c.Consumed = true }), action: RevokeFamily, errCode: CodeInvalidGrant},
		{name: "replay by another client revokes too", req: withReq(func(r *CodeRequest) { r.ClientID = "evil" }),
			code: with(func(c *StoredCode) { c.Consumed = true }), action: RevokeFamily, errCode: CodeInvalidGrant},
		{name: "replay of a revoked, expired code still revokes", req: req,
			code: with(func(c *StoredCode) { c.Consumed, c.Revoked, c.Expired = true, true, true }), action: RevokeFamily, errCode: CodeInvalidGrant},
		{name: "revoked code left alone", req: req, code: with(func(c *StoredCode) { c.Revoked = true }), action: Refuse, errCode: CodeInvalidGrant},
		{name: "expired code left alone", req: req, code: with(func(c *StoredCode) { c.Expired = true }), action: Refuse, errCode: CodeInvalidGrant},
		{name: "another client's code is consumed", req: withReq(func(r *CodeRequest) { r.ClientID = "c2" }), code: live,
			action: Refuse, consume: true, errCode: CodeInvalidGrant},
		{name: "redirect_uri mismatch", req: withReq(func(r *CodeRequest) { r.RedirectURI = "https://c.example/other" }), code: live,
			action: Refuse, consume: true, errCode: CodeInvalidGrant},
		{name: "redirect_uri omitted with PKCE", req: withReq(func(r *CodeRequest) { r.RedirectURI, r.RedirectOmitted = "", true }),
			code: live, action: Issue, consume: true},
		{name: "redirect_uri omitted without PKCE", req: withReq(func(r *CodeRequest) { r.RedirectURI, r.RedirectOmitted, r.Verifier = "", true, "" }),
			code: noPKCE, action: Refuse, consume: true, errCode: CodeInvalidRequest},
		{name: "confidential client without PKCE", req: withReq(func(r *CodeRequest) { r.Verifier = "" }), code: noPKCE,
			action: Refuse, consume: true, errCode: CodeInvalidGrant},
		{name: "confidential client without PKCE, allowed", req: withReq(func(r *CodeRequest) { r.Verifier = "" }), code: noPKCE,
			pol: PKCEPolicy{AllowConfidentialWithout: true}, action: Issue, consume: true},
		{name: "public client without PKCE", req: withReq(func(r *CodeRequest) { r.Verifier, r.Public = "", true }), code: noPKCE,
			action: Refuse, consume: true, errCode: CodeInvalidGrant},
		{name: "wrong verifier", req: withReq(func(r *CodeRequest) { r.Verifier = strings.Repeat("a", 43) }), code: live,
			action: Refuse, consume: true, errCode: CodeInvalidGrant},
		{name: "inactive user", req: req, code: with(func(c *StoredCode) { c.UserActive = false }), action: Refuse, consume: true, errCode: CodeInvalidGrant},
		{name: "resource refused", req: withReq(func(r *CodeRequest) { r.TargetErr = target }), code: live,
			action: Refuse, consume: true, errIsTarget: true},
		{name: "inactive user is reported before the resource", req: withReq(func(r *CodeRequest) { r.TargetErr = target }),
			code: with(func(c *StoredCode) { c.UserActive = false }), action: Refuse, consume: true, errCode: CodeInvalidGrant},
		{name: "client checked before redirect", req: withReq(func(r *CodeRequest) { r.ClientID, r.RedirectURI = "c2", "x" }), code: live,
			action: Refuse, consume: true, errCode: CodeInvalidGrant},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := RedeemCode(tc.req, tc.pol, tc.code)
			if d.Action != tc.action || d.Consume != tc.consume {
				t.Fatalf("action %v consume %v, want %v %v (err %v)", d.Action, d.Consume, tc.action, tc.consume, d.Err)
			}
			switch {
			case tc.errIsTarget:
				if d.Err != target {
					t.Fatalf("err %v, want the target error", d.Err)
				}
			case code(d.Err) != tc.errCode:
				t.Fatalf("err %v, want %q", d.Err, tc.errCode)
			}
		})
	}
	// The unknown, replayed, revoked, expired, wrong-client and
	// inactive-user cases give one answer, so a client learns nothing.
	for _, c := range []StoredCode{{}, with(func(c *StoredCode) { c.Consumed = true }), with(func(c *StoredCode) { c.UserActive = false })} {
		if d := RedeemCode(req, PKCEPolicy{}, c); d.Err != ErrGrantInvalid {
			t.Errorf("%+v: %v, want ErrGrantInvalid", c, d.Err)
		}
	}
	if d := RedeemCode(withReq(func(r *CodeRequest) { r.RedirectURI = "x" }), PKCEPolicy{}, live); d.Err == ErrGrantInvalid {
		t.Error("a redirect mismatch says what is wrong")
	}
}

func TestVerifyPKCE(t *testing.T) {
	plain := strings.Repeat("p", 43)
	cases := []struct {
		name              string
		pol               PKCEPolicy
		public            bool
		challenge, method string
		verifier          string
		want              string // "" accepted, else a description fragment
	}{
		{name: "S256 match", challenge: challenge, method: MethodS256, verifier: rfcVerif},
		{name: "S256 match, padded challenge", challenge: challenge + "=", method: MethodS256, verifier: rfcVerif},
		{name: "S256 mismatch", challenge: challenge, method: MethodS256, verifier: verifier[:43], want: "does not match"},
		{name: "S256 longest verifier", challenge: s256(verifier[:128]), method: MethodS256, verifier: verifier[:128]},
		{name: "no challenge, verifier sent", verifier: rfcVerif, want: "had no code_challenge"},
		{name: "no challenge, confidential, allowed", pol: PKCEPolicy{AllowConfidentialWithout: true}, want: ""},
		{name: "no challenge, confidential", want: "must use PKCE"},
		{name: "no challenge, public", public: true, want: "must use PKCE"},
		{name: "no challenge, public, confidential allowed", public: true, pol: PKCEPolicy{AllowConfidentialWithout: true}, want: "must use PKCE"},
		{name: "missing verifier", challenge: challenge, method: MethodS256, want: "is required"},
		{name: "short verifier", challenge: challenge, method: MethodS256, verifier: rfcVerif[:42], want: "malformed"},
		{name: "long verifier", challenge: challenge, method: MethodS256, verifier: verifier[:128] + "a", want: "malformed"},
		{name: "verifier with a bad character", challenge: challenge, method: MethodS256, verifier: rfcVerif[:42] + "+", want: "malformed"},
		{name: "plain refused", challenge: plain, method: MethodPlain, verifier: plain, want: "plain PKCE method is not allowed"},
		{name: "plain allowed", pol: PKCEPolicy{AllowPlain: true}, challenge: plain, method: MethodPlain, verifier: plain},
		{name: "plain allowed, mismatch", pol: PKCEPolicy{AllowPlain: true}, challenge: plain, method: MethodPlain, verifier: strings.Repeat("q", 43),
			want: "does not match"},
		{name: "unknown method", challenge: challenge, method: "S512", verifier: rfcVerif, want: "unsupported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := VerifyPKCE(tc.pol, tc.public, tc.challenge, tc.method, tc.verifier)
			switch {
			case tc.want == "" && r != nil:
				t.Fatalf("refused: %v", r)
			case tc.want != "" && r == nil:
				t.Fatalf("accepted, want %q", tc.want)
			case r != nil && (r.Code != CodeInvalidGrant || !strings.Contains(r.Description, tc.want)):
				t.Fatalf("refusal %v, want invalid_grant %q", r, tc.want)
			}
		})
	}
}

func TestValidPKCEValue(t *testing.T) {
	for v, want := range map[string]bool{
		strings.Repeat("a", 42):                false,
		strings.Repeat("a", 43):                true,
		strings.Repeat("a", 128):               true,
		strings.Repeat("a", 129):               false,
		"AZaz09-._~" + strings.Repeat("x", 33): true,
		strings.Repeat("a", 42) + "/":          false,
		strings.Repeat("a", 42) + " ":          false,
		strings.Repeat("a", 42) + "=":          false,
		"":                                     false,
	} {
		if ValidPKCEValue(v) != want {
			t.Errorf("ValidPKCEValue(%q) = %v", v, !want)
		}
	}
	// Every byte outside the grammar is refused, every byte inside accepted.
	for c := 0; c < 256; c++ {
		in := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
		if got := ValidPKCEValue(strings.Repeat("a", 42) + string(rune(c))); got != in && c < 128 {
			t.Errorf("byte %#x: %v", c, got)
		}
		if got := ValidPKCEValue(string([]byte{byte(c)}) + strings.Repeat("a", 42)); got != in {
			t.Errorf("leading byte %#x: %v", c, got)
		}
	}
}

func TestRotateRefresh(t *testing.T) {
	granted := set(t, "a:read", "b:read", "c:read")
	allowed := set(t, "a:read", "b:read", "c:read", "d:read")
	live := StoredRefresh{Stored: Stored{Found: true, ClientID: "c1", UserActive: true}, Scope: granted}
	req := RefreshRequest{ClientID: "c1", Allowed: allowed}
	target := errors.New("invalid_target")
	with := func(f func(*StoredRefresh)) StoredRefresh { r := live; f(&r); return r }
	withReq := func(f func(*RefreshRequest)) RefreshRequest { r := req; f(&r); return r }
	cases := []struct {
		name        string
		req         RefreshRequest
		tok         StoredRefresh
		action      Action
		errCode     string
		errIsTarget bool
		scope       string
	}{
		{name: "rotation keeps the granted scope", req: req, tok: live, action: Issue, scope: "a:read b:read c:read"},
		{name: "narrower scope", req: withReq(func(r *RefreshRequest) { r.Requested = set(t, "b:read") }), tok: live, action: Issue, scope: "b:read"},
		{name: "equal scope", req: withReq(func(r *RefreshRequest) { r.Requested = granted }), tok: live, action: Issue, scope: "a:read b:read c:read"},
		{name: "wider scope", req: withReq(func(r *RefreshRequest) { r.Requested = set(t, "a:read", "d:read") }), tok: live,
			action: Refuse, errCode: CodeInvalidScope},
		{name: "scope no longer allowed is dropped", req: withReq(func(r *RefreshRequest) { r.Allowed = set(t, "a:read", "b:read") }), tok: live,
			action: Issue, scope: "a:read b:read"},
		{name: "scope no longer allowed cannot be asked for", req: withReq(func(r *RefreshRequest) {
			r.Allowed, r.Requested = set(t, "a:read"), set(t, "b:read")
		}), tok: live, action: Refuse, errCode: CodeInvalidScope},
		{name: "scope the registry forgot is dropped", req: withReq(func(r *RefreshRequest) { r.Known = func(s string) bool { return s != "c:read" } }),
			tok: live, action: Issue, scope: "a:read b:read"},
		{name: "unknown token", req: req, tok: StoredRefresh{}, action: Refuse, errCode: CodeInvalidGrant},
		{name: "another client's token", req: withReq(func(r *RefreshRequest) { r.ClientID = "c2" }), tok: live, action: Refuse, errCode: CodeInvalidGrant},
		{name: "another client's used token is not a reuse", req: withReq(func(r *RefreshRequest) { r.ClientID = "c2" }),
			tok: with(func(r *StoredRefresh) { r.Consumed = true }), action: Refuse, errCode: CodeInvalidGrant},
		{name: "revoked", req: req, tok: with(func(r *StoredRefresh) { r.Revoked = true }), action: Refuse, errCode: CodeInvalidGrant},
		{name: "revoked and used is not revoked again", req: req, tok: with(func(r *StoredRefresh) { r.Revoked, r.Consumed = true, true }),
			action: Refuse, errCode: CodeInvalidGrant},
		{name: "reuse revokes the family", req: req, tok: with(func(r *StoredRefresh) { r.Consumed = true }), action: RevokeFamily, errCode: CodeInvalidGrant},
		{name: "reuse of an expired token revokes too", req: req, tok: with(func(r *StoredRefresh) { r.Consumed, r.Expired = true, true }),
			action: RevokeFamily, errCode: CodeInvalidGrant},
		{name: "expired", req: req, tok: with(func(r *StoredRefresh) { r.Expired = true }), action: Refuse, errCode: CodeInvalidGrant},
		{name: "DPoP-bound without proof", req: req, tok: with(func(r *StoredRefresh) { r.JKT = "k1" }), action: Refuse, errCode: CodeInvalidDPoPProof},
		{name: "DPoP-bound, other key", req: withReq(func(r *RefreshRequest) { r.JKT = "k2" }), tok: with(func(r *StoredRefresh) { r.JKT = "k1" }),
			action: Refuse, errCode: CodeInvalidGrant},
		{name: "DPoP-bound, same key", req: withReq(func(r *RefreshRequest) { r.JKT = "k1" }), tok: with(func(r *StoredRefresh) { r.JKT = "k1" }),
			action: Issue, scope: "a:read b:read c:read"},
		{name: "unbound token with a proof", req: withReq(func(r *RefreshRequest) { r.JKT = "k1" }), tok: live, action: Issue, scope: "a:read b:read c:read"},
		{name: "resource refused", req: withReq(func(r *RefreshRequest) { r.TargetErr = target }), tok: live, action: Refuse, errIsTarget: true},
		{name: "resource is reported before an inactive user", req: withReq(func(r *RefreshRequest) { r.TargetErr = target }),
			tok: with(func(r *StoredRefresh) { r.UserActive = false }), action: Refuse, errIsTarget: true},
		{name: "scope is reported before the resource", req: withReq(func(r *RefreshRequest) { r.TargetErr, r.Requested = target, set(t, "d:read") }),
			tok: live, action: Refuse, errCode: CodeInvalidScope},
		{name: "inactive user", req: req, tok: with(func(r *StoredRefresh) { r.UserActive = false }), action: Refuse, errCode: CodeInvalidGrant},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := RotateRefresh(tc.req, tc.tok)
			if d.Action != tc.action {
				t.Fatalf("action %v, want %v (err %v)", d.Action, tc.action, d.Err)
			}
			// Only an issuance consumes a refresh token: a refusal leaves it
			// for its holder, a reuse revokes it with its family.
			if d.Consume != (tc.action == Issue) {
				t.Fatalf("consume %v", d.Consume)
			}
			switch {
			case tc.errIsTarget:
				if d.Err != target {
					t.Fatalf("err %v, want the target error", d.Err)
				}
			case code(d.Err) != tc.errCode:
				t.Fatalf("err %v, want %q", d.Err, tc.errCode)
			}
			if d.Scope.String() != tc.scope {
				t.Fatalf("scope %q, want %q", d.Scope.String(), tc.scope)
			}
		})
	}
}

func TestCeiling(t *testing.T) {
	g, a := set(t, "a:read", "b:read"), set(t, "b:read", "c:read")
	if got := Ceiling(g, a, nil).String(); got != "b:read" {
		t.Fatalf("Ceiling = %q", got)
	}
	if got := Ceiling(g, g, func(string) bool { return false }); !got.Empty() {
		t.Fatalf("Ceiling with nothing known = %q", got.String())
	}
	if got := Ceiling(g, g, func(s string) bool { return s == "a:read" }).String(); got != "a:read" {
		t.Fatalf("Ceiling = %q", got)
	}
}
