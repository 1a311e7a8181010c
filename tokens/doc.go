// Package tokens issues, stores and authenticates API tokens with Djblets'
// WebAPIToken semantics (docs/api-tokens.md) and the
// authgate improvements of docs/api-tokens.md, "Deliberate differences": only
// SHA-256 digests are stored, a
// token's format and checksum are checked before any database query, policy
// is validated on every write, and every change lands in an append-only
// audit log (package internal/audit) and is delivered to registered observers.
//
// The pieces: Token (the model and its permission predicates), Generator and
// Registry (the vendor_checksum and legacy_sha1 token formats), Store (storage
// in the package's own types, with NewSQLStore for SQLite and PostgreSQL) and
// Manager (generation, authentication, update, invalidation, deletion and
// events). FormatDjangoDateTime renders dates the way Djblets' messages do.
package tokens
