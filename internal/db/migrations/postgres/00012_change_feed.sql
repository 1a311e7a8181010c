-- +goose Up
-- The cross-process change feed (docs/architecture.md, "Storage and
-- invalidation"). PostgreSQL announces changes with NOTIFY and leaves this
-- table empty; it exists so both dialects have the same tables. On SQLite
-- every announced change appends a row in its transaction and every process
-- polls for new rows.
CREATE TABLE change_feed (
    seq        BIGSERIAL PRIMARY KEY,
    kind       TEXT      NOT NULL,
    item       TEXT      NOT NULL,
    created_at BIGINT    NOT NULL
);

-- +goose Down
DROP TABLE change_feed;
