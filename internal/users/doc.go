// Package users stores authgate's people — the owners of API tokens and the
// resource owners who log in and consent — and hashes their passwords with
// argon2id.
//
// Store is the storage contract; NewSQLStore implements it for both dialects
// of internal/db, and the conformance suite in this package proves it.
package users
