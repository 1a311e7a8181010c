// Package audit is authgate's append-only audit log
// (docs/architecture.md, "Operations"): one table,
// audit_events, holding what happened to API tokens, OAuth clients, grants
// and consents, by whom and when. Emitters (tokens, authserver) call Append
// inside the transaction that makes the change, so the change and its entry
// commit together; List reads the log for the CLI and tests.
//
// An entry's Data never holds a secret or a secret's digest. The database
// refuses UPDATE and DELETE on audit_events (triggers of migration 00002 on
// both dialects).
package audit
