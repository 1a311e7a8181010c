// Package db opens authgate's database — embedded SQLite by default, PostgreSQL in
// production — and applies the embedded goose migrations for that dialect.
//
// Queries are written once with '?' placeholders and rebound for the dialect
// (sqlx.Rebind); InTx and Savepoint are the only transaction helpers.
package db
