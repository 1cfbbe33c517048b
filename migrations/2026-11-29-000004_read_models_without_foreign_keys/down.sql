-- Puts the read models' foreign keys back (see up.sql).

CREATE TABLE version_env_heads_v1 (
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
INSERT INTO version_env_heads_v1 (version_id, environment_id, product_id, deployment_id, status, deployed_by, created_at, updated_at)
SELECT version_id, environment_id, product_id, deployment_id, status, deployed_by, created_at, updated_at FROM version_env_heads;
DROP TABLE version_env_heads;
ALTER TABLE version_env_heads_v1 RENAME TO version_env_heads;

CREATE TABLE version_env_firsts_v1 (
    version_id        TEXT NOT NULL REFERENCES versions (id),
    environment_id    TEXT NOT NULL REFERENCES environments (id),
    first_completed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (version_id, environment_id)
);
INSERT INTO version_env_firsts_v1 (version_id, environment_id, first_completed_at)
SELECT version_id, environment_id, first_completed_at FROM version_env_firsts;
DROP TABLE version_env_firsts;
ALTER TABLE version_env_firsts_v1 RENAME TO version_env_firsts;

CREATE TABLE product_env_current_v1 (
    product_id     TEXT NOT NULL REFERENCES products (id),
    environment_id TEXT NOT NULL REFERENCES environments (id),
    version_id     TEXT NOT NULL REFERENCES versions (id),
    deployment_id  TEXT NOT NULL REFERENCES deployments (id),
    completed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (product_id, environment_id)
);
INSERT INTO product_env_current_v1 (product_id, environment_id, version_id, deployment_id, completed_at)
SELECT product_id, environment_id, version_id, deployment_id, completed_at FROM product_env_current;
DROP TABLE product_env_current;
ALTER TABLE product_env_current_v1 RENAME TO product_env_current;

CREATE TABLE product_env_latest_v1 (
    product_id     TEXT NOT NULL REFERENCES products (id),
    environment_id TEXT NOT NULL REFERENCES environments (id),
    version_id     TEXT NOT NULL REFERENCES versions (id),
    deployment_id  TEXT NOT NULL REFERENCES deployments (id),
    status         TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (product_id, environment_id)
);
INSERT INTO product_env_latest_v1 (product_id, environment_id, version_id, deployment_id, status, created_at)
SELECT product_id, environment_id, version_id, deployment_id, status, created_at FROM product_env_latest;
DROP TABLE product_env_latest;
ALTER TABLE product_env_latest_v1 RENAME TO product_env_latest;
