-- +goose Up
-- Resource-server clients and resource ownership (see
-- docs/introspection-and-audience.md). A client flagged resource_server may
-- register resources and introspect any token; every other client learns
-- only about the tokens issued to it.
ALTER TABLE oauth_clients ADD COLUMN resource_server BOOLEAN NOT NULL DEFAULT FALSE;

-- A run-time registration belongs to the client that made it ('' for one
-- made by an admin): only that client, or an admin, may replace or remove
-- it. Registrations made by a client before this migration keep that client
-- as their owner.
ALTER TABLE registered_resources ADD COLUMN owner_client_id TEXT NOT NULL DEFAULT '';
UPDATE registered_resources SET owner_client_id = substr(registered_by, 8)
    WHERE registered_by LIKE 'client:%';

-- The base URL of the resource server (RFC 8707 resource indicator); tokens
-- meant for it carry it as aud. '' for none.
ALTER TABLE registered_resources ADD COLUMN audience TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE registered_resources DROP COLUMN audience;
ALTER TABLE registered_resources DROP COLUMN owner_client_id;
ALTER TABLE oauth_clients DROP COLUMN resource_server;
