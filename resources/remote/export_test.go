package remote

// Refreshing reports whether a JWKS fetch is under way (tests only).
func Refreshing(v *JWKSValidator) bool { return v.inflight.Load() }
