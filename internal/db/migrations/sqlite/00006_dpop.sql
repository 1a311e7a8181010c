-- +goose Up
-- DPoP (RFC 9449). dpop_jtis remembers every accepted proof (the hex SHA-256
-- of its key thumbprint and jti) until its iat leaves the acceptance window,
-- so a replayed proof is refused by every instance (§11.1).
CREATE TABLE dpop_jtis (
    jti_key    TEXT        PRIMARY KEY,
    expires_at DATETIME    NOT NULL
);
CREATE INDEX dpop_jtis_expires_at ON dpop_jtis (expires_at);

-- jkt is the RFC 7638 thumbprint of the key a token is bound to ('' for an
-- unbound token): opaque access tokens and public clients' refresh tokens.
ALTER TABLE oauth_tokens ADD COLUMN jkt TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE oauth_tokens DROP COLUMN jkt;
DROP TABLE dpop_jtis;
