-- +goose Up
-- OAuth2 clients. The secret itself is never stored: secret_digest is the hex
-- SHA-256 of the 256-bit random secret ('' for public clients). List columns
-- hold JSON arrays of strings.
CREATE TABLE oauth_clients (
    client_id         TEXT        PRIMARY KEY,
    secret_digest     TEXT        NOT NULL DEFAULT '',
    secret_prefix     TEXT        NOT NULL DEFAULT '',
    name              TEXT        NOT NULL,
    owner_id          BIGINT      REFERENCES users(id) ON DELETE SET NULL,
    is_public         BOOLEAN     NOT NULL DEFAULT FALSE,
    redirect_uris     TEXT        NOT NULL DEFAULT '[]',
    grant_types       TEXT        NOT NULL DEFAULT '[]',
    scopes            TEXT        NOT NULL DEFAULT '[]',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    secret_rotated_at TIMESTAMPTZ,
    disabled_at       TIMESTAMPTZ
);
CREATE INDEX oauth_clients_owner_id ON oauth_clients (owner_id);

-- Authorization codes, access tokens and refresh tokens, one row per value.
-- digest is the hex SHA-256 of the raw value (of the whole JWT for JWT access
-- tokens, which also record their jti). grant_id ties every row of one
-- authorization grant (code -> tokens -> rotated refresh tokens) together so a
-- replay or a reuse can revoke the whole family. consumed_at marks a redeemed
-- code or a rotated-out refresh token; revoked_at a revoked row.
CREATE TABLE oauth_tokens (
    id                    BIGSERIAL   PRIMARY KEY,
    kind                  TEXT        NOT NULL,
    digest                TEXT        NOT NULL UNIQUE,
    jti                   TEXT        UNIQUE,
    prefix                TEXT        NOT NULL DEFAULT '',
    grant_id              TEXT        NOT NULL,
    parent_id             BIGINT,
    client_id             TEXT        NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
    user_id               BIGINT      REFERENCES users(id) ON DELETE CASCADE,
    scope                 TEXT        NOT NULL DEFAULT '',
    redirect_uri          TEXT        NOT NULL DEFAULT '',
    code_challenge        TEXT        NOT NULL DEFAULT '',
    code_challenge_method TEXT        NOT NULL DEFAULT '',
    extension             TEXT        NOT NULL DEFAULT '',
    grant_created_at      TIMESTAMPTZ NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    expires_at            TIMESTAMPTZ NOT NULL,
    consumed_at           TIMESTAMPTZ,
    revoked_at            TIMESTAMPTZ
);
CREATE INDEX oauth_tokens_grant_id ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_client_id ON oauth_tokens (client_id);
CREATE INDEX oauth_tokens_user_id ON oauth_tokens (user_id);
CREATE INDEX oauth_tokens_expires_at ON oauth_tokens (expires_at);
-- Finds a client's earlier code with the same PKCE challenge (a constant
-- challenge defeats PKCE).
CREATE INDEX oauth_tokens_challenge ON oauth_tokens (client_id, code_challenge);

-- JWT access tokens are checked by signature, so revoking one means listing
-- its jti here until the token would have expired anyway.
CREATE TABLE revoked_jti (
    jti        TEXT        PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX revoked_jti_expires_at ON revoked_jti (expires_at);

-- JWT signing keys, shared by every instance. A key is published in the JWKS
-- from created_at, signs from activates_at until a newer key activates, and is
-- published until its last token has expired. private_key is PKCS#8 PEM.
CREATE TABLE signing_keys (
    id           BIGSERIAL   PRIMARY KEY,
    kid          TEXT        NOT NULL UNIQUE,
    alg          TEXT        NOT NULL,
    private_key  TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    activates_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE revoked_jti;
DROP TABLE oauth_tokens;
DROP TABLE oauth_clients;
