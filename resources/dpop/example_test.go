package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/authgate/authgate/resources/dpop"
)

// A client signs a proof for one request; the resource server verifies it
// (method, URL, access-token hash, freshness, replay) and matches its key
// thumbprint to the token's cnf.jkt.
func ExampleVerifier_Verify() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jkt, _ := dpop.Thumbprint(key.Public()) // what the access token's cnf.jkt holds
	proof, _ := dpop.NewProof(key, dpop.ProofFields{Method: "GET", URL: "https://photos.example/photos/", AccessToken: "at"})

	v, err := dpop.NewVerifier(dpop.Options{}) // ES256 and EdDSA, in-memory replay store
	if err != nil {
		panic(err)
	}
	req := dpop.Request{Method: "GET", URL: "https://photos.example/photos/", AccessToken: "at"}
	p, err := v.Verify(context.Background(), proof, req)
	fmt.Println(err == nil && p.JKT == jkt)
	_, err = v.Verify(context.Background(), proof, req) // the same proof again
	fmt.Println(errors.Is(err, dpop.ErrInvalidProof), dpop.Reason(err))
	// Output:
	// true
	// true the DPoP proof was already used (jti replay)
}
