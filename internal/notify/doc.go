// Package notify tells every authgate process sharing a database that a
// cached entry changed, so that each one drops or reloads it
// (docs/architecture.md, "Storage and invalidation",
// cross-instance invalidation).
//
// On PostgreSQL a change is announced with NOTIFY authgate_invalidate,
// '<kind>:<id>' — inside the transaction that makes it when there is one,
// so it is delivered exactly when the change commits — and one pq.Listener
// per process LISTENs and hands each notice to the subscribers of its kind.
// After the listener reconnects, notices may have been lost, so every
// subscriber is told to reload everything (id All). On SQLite (a single
// process) the notices fan out in process after the commit.
package notify
