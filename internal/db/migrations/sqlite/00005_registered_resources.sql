-- +goose Up
-- Resources of separate resource servers registered at run time through
-- PUT /api/resources/{policy_id}/ (DESIGN §5). Every instance loads them
-- into its scope registry, so policy IDs and scopes agree across instances.
CREATE TABLE registered_resources (
    policy_id        TEXT     PRIMARY KEY,
    name             TEXT     NOT NULL,
    scope_name       TEXT     NOT NULL,
    -- Upper-case HTTP methods, sorted, separated by single spaces.
    methods          TEXT     NOT NULL DEFAULT '',
    description      TEXT     NOT NULL DEFAULT '',
    api_token_access INTEGER  NOT NULL DEFAULT 1,
    oauth2_access    INTEGER  NOT NULL DEFAULT 1,
    -- Who registered it: "user:<username>" or "client:<client_id>".
    registered_by    TEXT     NOT NULL DEFAULT '',
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL
);

-- +goose Down
DROP TABLE registered_resources;
