// Package scale holds the growth benchmark (issue #11, "Growth"): it seeds
// a database with N API tokens and N OAuth tokens, with users, clients,
// revoked JWT ids and audit events in proportion, by bulk INSERT … SELECT
// over a generated series, then measures the hot paths through the real
// application (internal/testenv) against the same paths on a small
// database. The package has no code of its own; see docs/performance.md,
// "Growth".
package scale
