-- +goose Up
-- When a token of the user's grant to the client was last issued or
-- refreshed, for the authorized-apps page (docs/web-pages.md, "Last
-- used"). NULL: not used since this column exists. The token
-- endpoint moves it forward at most once a minute per consent, so a busy
-- client does not turn every refresh into a second write.
ALTER TABLE oauth_consents ADD COLUMN last_used_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE oauth_consents DROP COLUMN last_used_at;
