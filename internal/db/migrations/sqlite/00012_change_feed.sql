-- +goose Up
-- The cross-process change feed of SQLite (docs/architecture.md, "Storage
-- and invalidation"). Every announced change (internal/notify's Publish and
-- PublishInTx) appends one row in the transaction that makes it, so a
-- rolled-back change leaves none; every process polls for rows past the last
-- seq it saw and drops what they name from its caches. AUTOINCREMENT keeps a
-- seq from ever being reused, and SQLite's single writer assigns seqs in
-- commit order, so a reader that finds a gap knows rows were pruned before it
-- saw them and reloads everything. created_at (Unix seconds) drives pruning.
CREATE TABLE change_feed (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    item       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE change_feed;
