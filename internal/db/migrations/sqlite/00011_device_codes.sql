-- +goose Up
-- Device authorization grant (RFC 8628); see docs/device-flow.md. One row per
-- device authorization request. device_digest is the hex SHA-256 of the
-- device_code and user_digest that of the normalised user_code (upper case,
-- no dash): neither value is stored. status is pending until the user
-- approves or denies on /device; redeemed_at marks the one poll that got
-- tokens. last_poll_at and interval_seconds are the slow_down bookkeeping
-- (§3.5). extension carries the grant's audience, as oauth_tokens does.
CREATE TABLE device_codes (
    id               INTEGER  PRIMARY KEY AUTOINCREMENT,
    device_digest    TEXT     NOT NULL UNIQUE,
    user_digest      TEXT     NOT NULL UNIQUE,
    prefix           TEXT     NOT NULL DEFAULT '',
    client_id        TEXT     NOT NULL REFERENCES oauth_clients(client_id) ON DELETE CASCADE,
    scope            TEXT     NOT NULL DEFAULT '',
    extension        TEXT     NOT NULL DEFAULT '',
    status           TEXT     NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
    user_id          INTEGER  REFERENCES users(id) ON DELETE CASCADE,
    interval_seconds INTEGER  NOT NULL,
    created_at       DATETIME NOT NULL,
    expires_at       DATETIME NOT NULL,
    last_poll_at     DATETIME,
    decided_at       DATETIME,
    redeemed_at      DATETIME
);
CREATE INDEX device_codes_client_id ON device_codes (client_id);
CREATE INDEX device_codes_expires_at ON device_codes (expires_at);

-- +goose Down
DROP TABLE device_codes;
