-- +goose Up
-- The admin console's audit page filters the log by actor, newest first,
-- a page at a time (WHERE actor_user_id = ? AND id < ? ORDER BY id DESC
-- LIMIT 51). Without this index that walks the whole log backwards for an
-- actor with few events; with it, it reads one page of index entries. See
-- docs/web-pages.md, "Admin: audit log".
CREATE INDEX audit_events_actor_idx ON audit_events (actor_user_id, id);

-- +goose Down
DROP INDEX audit_events_actor_idx;
