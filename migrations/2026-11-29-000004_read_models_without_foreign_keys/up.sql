-- The four read models (see 000001_init and src/db/heads.rs) lose their foreign keys.
--
-- Why: they are derived rows, written only by `heads::record` (and PostgreSQL's event
-- statements, and `rebuild`) from a deployment row that the same transaction has just written
-- or read, and that row's own foreign keys already vouch for its product, version and
-- environment. Checking them again cost one index lookup per key on every upsert: 14 of the
-- 19 foreign-key checks of an event that creates a completed deployment (docs/decisions.md).
-- Deleting a product clears its read-model rows first (`heads::forget_product`);
-- tests/read_models.rs holds that to what a rebuild gives.
--
-- On PostgreSQL the copies' primary-key constraints keep their names (`…_v2_pkey`): renaming
-- a constraint is not portable SQL, and nothing refers to them by name.
--
-- Portable SQL: neither backend can drop a constraint the same way, so each table is copied
-- into one without them and renamed back.

CREATE TABLE version_env_heads_v2 (
    version_id     TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    product_id     TEXT NOT NULL,
    deployment_id  TEXT NOT NULL,
    status         TEXT NOT NULL,
    deployed_by    TEXT,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (version_id, environment_id)
);
INSERT INTO version_env_heads_v2
    (version_id, environment_id, product_id, deployment_id, status, deployed_by, created_at,
     updated_at)
SELECT version_id, environment_id, product_id, deployment_id, status, deployed_by, created_at,
       updated_at
FROM version_env_heads;
DROP TABLE version_env_heads;
ALTER TABLE version_env_heads_v2 RENAME TO version_env_heads;

CREATE TABLE version_env_firsts_v2 (
    version_id         TEXT NOT NULL,
    environment_id     TEXT NOT NULL,
    first_completed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (version_id, environment_id)
);
INSERT INTO version_env_firsts_v2 (version_id, environment_id, first_completed_at)
SELECT version_id, environment_id, first_completed_at FROM version_env_firsts;
DROP TABLE version_env_firsts;
ALTER TABLE version_env_firsts_v2 RENAME TO version_env_firsts;

CREATE TABLE product_env_current_v2 (
    product_id     TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    version_id     TEXT NOT NULL,
    deployment_id  TEXT NOT NULL,
    completed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (product_id, environment_id)
);
INSERT INTO product_env_current_v2
    (product_id, environment_id, version_id, deployment_id, completed_at)
SELECT product_id, environment_id, version_id, deployment_id, completed_at
FROM product_env_current;
DROP TABLE product_env_current;
ALTER TABLE product_env_current_v2 RENAME TO product_env_current;

CREATE TABLE product_env_latest_v2 (
    product_id     TEXT NOT NULL,
    environment_id TEXT NOT NULL,
    version_id     TEXT NOT NULL,
    deployment_id  TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (product_id, environment_id)
);
INSERT INTO product_env_latest_v2
    (product_id, environment_id, version_id, deployment_id, status, created_at)
SELECT product_id, environment_id, version_id, deployment_id, status, created_at
FROM product_env_latest;
DROP TABLE product_env_latest;
ALTER TABLE product_env_latest_v2 RENAME TO product_env_latest;
