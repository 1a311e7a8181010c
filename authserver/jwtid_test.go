package authserver_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// jwtID returns the jti claim of a JWT, unverified ("" if none).
func jwtID(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.JTI
}

// flip returns a checksum character other than c.
func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
