package authserver

import "github.com/authgate/authgate/authserver/oauthstore"

// Prefixes of the opaque values authgate issues; the token store owns the
// format (authserver/oauthstore/tokenformat.go).
const (
	PrefixCode         = oauthstore.PrefixCode
	PrefixRefreshToken = oauthstore.PrefixRefreshToken
	PrefixAccessToken  = oauthstore.PrefixAccessToken
	PrefixClientSecret = oauthstore.PrefixClientSecret
	PrefixClientID     = oauthstore.PrefixClientID
	PrefixDeviceCode   = oauthstore.PrefixDeviceCode
)

// Short local names for the store's format helpers.
var (
	newOpaque  = oauthstore.NewOpaque
	wellFormed = oauthstore.WellFormed
	hasPrefix  = oauthstore.HasPrefix
)
