-- +goose Up
-- Audit retention (see docs/operations.md, "Retention and garbage
-- collection"). The audit log stays append-only: UPDATE is always refused,
-- and DELETE only inside the purge's own transaction, which opens this
-- one-row gate, deletes a batch older than the cutoff and closes it again
-- before committing, so no other transaction ever sees it open.
CREATE TABLE audit_purge_gate (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    open BOOLEAN  NOT NULL DEFAULT FALSE
);
INSERT INTO audit_purge_gate (id, open) VALUES (1, FALSE);

-- The purge deletes the oldest rows first, a batch at a time.
CREATE INDEX audit_events_at_idx ON audit_events (at);

DROP TRIGGER audit_events_no_update ON audit_events;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- +goose StatementBegin
CREATE FUNCTION audit_events_purge_only() RETURNS trigger AS $$
BEGIN
    IF NOT COALESCE((SELECT open FROM audit_purge_gate WHERE id = 1), FALSE) THEN
        RAISE EXCEPTION 'audit_events is append-only';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_purge_only();

-- +goose Down
DROP TRIGGER audit_events_no_delete ON audit_events;
DROP FUNCTION audit_events_purge_only();
DROP TRIGGER audit_events_no_update ON audit_events;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
DROP INDEX audit_events_at_idx;
DROP TABLE audit_purge_gate;
