-- +goose Up
-- A client_credentials JWT access token has no oauth_tokens row (see
-- docs/performance.md, "Issuance"), so revoking "every token of client X"
-- cannot list its jti. tokens_revoked_at is the client's revocation epoch
-- instead: an access token without a row whose iat is at or before it is
-- refused. Disabling a client sets it; re-enabling leaves it, so tokens
-- issued before the client was disabled stay dead.
ALTER TABLE oauth_clients ADD COLUMN tokens_revoked_at DATETIME;

-- +goose Down
ALTER TABLE oauth_clients DROP COLUMN tokens_revoked_at;
