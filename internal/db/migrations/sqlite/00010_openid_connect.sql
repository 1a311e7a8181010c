-- +goose Up
-- OpenID Connect (see docs/openid-connect.md). Users get the profile and
-- email claims: name (the display name) and whether the email address was
-- verified. Clients may ask for ID tokens signed with another algorithm
-- than RS256 ('' = RS256). Signing keys get a purpose: 'access' keys form
-- the access-token rotation as before; 'id_token' keys, one rotation per
-- algorithm, sign ID tokens, so an RS256 key exists whatever signs access
-- tokens.
ALTER TABLE users ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE oauth_clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT '';
ALTER TABLE signing_keys ADD COLUMN purpose TEXT NOT NULL DEFAULT 'access';

-- +goose Down
DELETE FROM signing_keys WHERE purpose <> 'access';
ALTER TABLE signing_keys DROP COLUMN purpose;
ALTER TABLE oauth_clients DROP COLUMN id_token_signed_response_alg;
ALTER TABLE users DROP COLUMN email_verified;
ALTER TABLE users DROP COLUMN name;
