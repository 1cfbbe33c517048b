-- Portable SQL: this file runs unchanged on SQLite and PostgreSQL.
-- Ids are UUIDs stored as TEXT (one schema for both backends); times are UTC TIMESTAMPs;
-- JSON documents (extra_metadata) are TEXT holding a serialized JSON object.

CREATE TABLE products (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX products_name_key ON products (name);

CREATE TABLE environments (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    env_type    TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    description TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX environments_name_key ON environments (name);

CREATE TABLE versions (
    id              TEXT PRIMARY KEY NOT NULL,
    product_id      TEXT NOT NULL REFERENCES products (id),
    version         TEXT NOT NULL,
    scm_sha         TEXT,
    scm_branch      TEXT,
    scm_repository  TEXT,
    build_url       TEXT,
    build_number    TEXT,
    built_by        TEXT,
    source_system   TEXT,
    extra_metadata  TEXT NOT NULL DEFAULT '{}',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX versions_product_version_key ON versions (product_id, version);
CREATE INDEX versions_scm_sha_idx ON versions (scm_sha);
-- Newest versions first (the version picker), ties broken by id as the query does.
CREATE INDEX versions_created_idx ON versions (created_at, id);

CREATE TABLE deployments (
    id                TEXT PRIMARY KEY NOT NULL,
    product_id        TEXT NOT NULL REFERENCES products (id),
    version_id        TEXT NOT NULL REFERENCES versions (id),
    environment_id    TEXT NOT NULL REFERENCES environments (id),
    status            TEXT NOT NULL,
    invoke_id         TEXT,
    deployed_by       TEXT,
    deployed_by_name  TEXT,
    deployed_by_email TEXT,
    build_url         TEXT,
    deploy_url        TEXT,
    build_number      TEXT,
    source_system     TEXT,
    started_at        TIMESTAMP,
    completed_at      TIMESTAMP,
    extra_metadata    TEXT NOT NULL DEFAULT '{}',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
-- Correlation by invoke_id: at most one deployment per (version, environment, invoke_id).
-- NULL invoke_ids never collide (SQL NULL semantics on both backends).
CREATE UNIQUE INDEX deployments_invoke_key ON deployments (version_id, environment_id, invoke_id);
-- Latest attempt of a version in an environment (correlation, matrix cells).
CREATE INDEX deployments_version_env_idx ON deployments (version_id, environment_id, created_at);
-- Latest deployment of a product in an environment (state matrix, "superseded by").
CREATE INDEX deployments_product_env_idx ON deployments (product_id, environment_id, created_at);
CREATE INDEX deployments_env_idx ON deployments (environment_id, created_at);
CREATE INDEX deployments_status_idx ON deployments (status, created_at);
CREATE INDEX deployments_created_idx ON deployments (created_at);

CREATE TABLE deployment_events (
    id             TEXT PRIMARY KEY NOT NULL,
    deployment_id  TEXT NOT NULL REFERENCES deployments (id),
    status         TEXT NOT NULL,
    reported_status TEXT NOT NULL,
    applied        BOOLEAN NOT NULL,
    payload        TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX deployment_events_deployment_idx ON deployment_events (deployment_id, created_at);

CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE releases (
    id             TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT,
    status         TEXT NOT NULL,
    extra_metadata TEXT NOT NULL DEFAULT '{}',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    completed_at   TIMESTAMP
);
CREATE UNIQUE INDEX releases_name_key ON releases (name);
CREATE INDEX releases_status_created_idx ON releases (status, created_at);
CREATE INDEX releases_created_idx ON releases (created_at);
CREATE INDEX releases_completed_idx ON releases (completed_at);

CREATE TABLE release_versions (
    release_id  TEXT NOT NULL REFERENCES releases (id),
    version_id  TEXT NOT NULL REFERENCES versions (id),
    product_id  TEXT NOT NULL REFERENCES products (id),
    added_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (release_id, version_id)
);
-- SPEC §4: one version per product in a release, enforced by the database itself.
CREATE UNIQUE INDEX release_versions_one_per_product ON release_versions (release_id, product_id);
CREATE INDEX release_versions_version_idx ON release_versions (version_id);
CREATE INDEX release_versions_product_idx ON release_versions (product_id);

CREATE TABLE audit_entries (
    id          TEXT PRIMARY KEY NOT NULL,
    release_id  TEXT NOT NULL REFERENCES releases (id),
    action      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX audit_entries_release_idx ON audit_entries (release_id, created_at);

-- Maintained read models, updated in the same transaction as every deployment change, so that
-- the matrix, the state page and the history cost the same at 10k or 10M deployments.

-- The latest non-aborted deployment of each version in each environment: a matrix cell.
CREATE TABLE version_env_heads (
    version_id     TEXT NOT NULL REFERENCES versions (id),
    environment_id TEXT NOT NULL REFERENCES environments (id),
    product_id     TEXT NOT NULL REFERENCES products (id),
    deployment_id  TEXT NOT NULL REFERENCES deployments (id),
    status         TEXT NOT NULL,
    deployed_by    TEXT,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (version_id, environment_id)
);

-- When each version first completed a deployment to each environment (history page).
CREATE TABLE version_env_firsts (
    version_id        TEXT NOT NULL REFERENCES versions (id),
    environment_id    TEXT NOT NULL REFERENCES environments (id),
    first_completed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (version_id, environment_id)
);

-- What runs in each environment: the deployment of each product that completed last.
CREATE TABLE product_env_current (
    product_id     TEXT NOT NULL REFERENCES products (id),
    environment_id TEXT NOT NULL REFERENCES environments (id),
    version_id     TEXT NOT NULL REFERENCES versions (id),
    deployment_id  TEXT NOT NULL REFERENCES deployments (id),
    completed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (product_id, environment_id)
);

-- The latest attempt (any status) of each product in each environment.
CREATE TABLE product_env_latest (
    product_id     TEXT NOT NULL REFERENCES products (id),
    environment_id TEXT NOT NULL REFERENCES environments (id),
    version_id     TEXT NOT NULL REFERENCES versions (id),
    deployment_id  TEXT NOT NULL REFERENCES deployments (id),
    status         TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (product_id, environment_id)
);
