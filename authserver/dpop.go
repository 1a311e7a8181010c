package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/authgate/authgate/resources/dpop"
)

// jktFrom returns the thumbprint of the DPoP key the tokens issued for this
// request are bound to; "" without a verified proof.
func jktFrom(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.jkt
	}
	return ""
}

// newDPoP builds the proof verifier when DPoP is on: the replay store is the
// dpop_jtis table, shared by every instance.
func (s *Server) newDPoP() (*dpop.Verifier, error) {
	if !s.cfg.DPoP.Enabled {
		return nil, nil
	}
	return dpop.NewVerifier(dpop.Options{
		Algs: s.cfg.DPoP.SigningAlgs, MaxAge: s.cfg.DPoP.ProofMaxAge,
		Replay: NewSQLReplayStore(s.db), Now: s.now,
	})
}

// DPoP returns the proof verifier for protected resources (nil when DPoP
// is off). Its replay store is the one the token endpoint uses.
func (s *Server) DPoP() *dpop.Verifier { return s.dpop }

// tokenProof checks the DPoP header of a token request (RFC 9449 §4.3, with
// htm POST and htu the token endpoint) and returns the key thumbprint; ""
// when the request has no DPoP header or DPoP is off (the header is then
// ignored, as by a server that does not know it: nothing is bound).
func (s *Server) tokenProof(r *http.Request) (string, *oauthError) {
	proofs := r.Header.Values(dpop.Header)
	if len(proofs) == 0 || s.dpop == nil {
		return "", nil
	}
	if len(proofs) > 1 {
		// §4.3 check 1: exactly one DPoP header.
		return "", oerr(codeInvalidDPoPProof, "send exactly one DPoP header")
	}
	p, err := s.dpop.Verify(r.Context(), proofs[0], dpop.Request{Method: http.MethodPost, URL: s.cfg.Issuer + PathToken})
	if errors.Is(err, dpop.ErrInvalidProof) {
		s.metrics.security("dpop_invalid_proof")
		return "", oerr(codeInvalidDPoPProof, dpop.Reason(err))
	}
	if err != nil {
		s.log.Error("dpop proof check failed", "error", err)
		return "", errServer
	}
	return p.JKT, nil
}

// tokenResponse is the ResponseWriter handleToken hands the library; dpop
// says the tokens it issues are DPoP-bound.
type tokenResponse struct {
	http.ResponseWriter
	dpop bool
	st   *reqState
}

// writeTokenResponse is go-oauth2's ResponseTokenHandler: the library's own
// writer, except that a DPoP-bound token is reported with token_type DPoP
// (RFC 9449 §5; the library writes its configured "Bearer").
func writeTokenResponse(w http.ResponseWriter, data map[string]any, header http.Header, statusCode ...int) error {
	if tw, ok := w.(*tokenResponse); ok {
		_, issued := data["access_token"]
		if issued && tw.dpop {
			data["token_type"] = dpop.TokenType
		}
		if issued && tw.st != nil && tw.st.idToken != "" {
			data["id_token"] = tw.st.idToken // OpenID Connect Core §3.1.3.3
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	for k := range header {
		h.Set(k, header.Get(k))
	}
	status := http.StatusOK
	if len(statusCode) > 0 && statusCode[0] > 0 {
		status = statusCode[0]
	}
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(data)
}
