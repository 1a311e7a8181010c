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
// subscriber is told to reload everything (id All). On SQLite, which has no
// NOTIFY, every notice is also a row of the change_feed table written in
// the same transaction; every serving process polls the table (every
// 250 ms by default) and delivers the rows other processes wrote, so a
// management command's change reaches a running server within a second,
// and the publishing process's own subscribers hear it at once after the
// commit (feed.go).
package notify
