//! Rebuilds the maintained read models of [`super::read_models`] from the deployment history
//! in SQL, one `INSERT … SELECT` per table, portable to SQLite (3.25+) and PostgreSQL.
//!
//! `store::read_models::record` keeps the read models current one deployment change at a time;
//! this gives the same rows for a whole history at once. It is what `seed` uses after its bulk
//! load, and what an operator could run to repair them. Both restate the rules of
//! `domain::read_models` (tests/integration/rules_in_sql.rs holds them to it):
//!
//! - `version_env_heads`: per (version, environment), the newest non-aborted deployment by
//!   (created_at, id), as it is now.
//! - `version_env_firsts`: per (version, environment), the earliest completion. A completed
//!   deployment never changes again, so its `updated_at` is when it completed.
//! - `product_env_current`: per (product, environment), the completed deployment that completed
//!   last (latest `updated_at`; equal times, which the incremental path orders by arrival, are
//!   ordered by id).
//! - `product_env_latest`: per (product, environment), the newest deployment of any status by
//!   (created_at, id), as it is now.

use super::AnyConnection;
use diesel::connection::SimpleConnection;
use diesel::QueryResult;

/// Replaces the rows of the four read models with those derived from `deployments`. Run it in a
/// transaction (or on a database nobody else writes to): the tables are emptied first.
pub fn rebuild_read_models(conn: &mut AnyConnection) -> QueryResult<()> {
    conn.batch_execute(REBUILD)
}

const REBUILD: &str = "
DELETE FROM version_env_heads;
DELETE FROM version_env_firsts;
DELETE FROM product_env_current;
DELETE FROM product_env_latest;

INSERT INTO version_env_heads
    (version_id, environment_id, product_id, deployment_id, status, deployed_by, created_at,
     updated_at)
SELECT version_id, environment_id, product_id, id, status, deployed_by, created_at, updated_at
FROM (
    SELECT d.version_id, d.environment_id, d.product_id, d.id, d.status, d.deployed_by,
           d.created_at, d.updated_at,
           ROW_NUMBER() OVER (PARTITION BY d.version_id, d.environment_id
                              ORDER BY d.created_at DESC, d.id DESC) AS newest
    FROM deployments d
    WHERE d.status <> 'aborted'
) ranked
WHERE newest = 1;

INSERT INTO version_env_firsts (version_id, environment_id, first_completed_at)
SELECT version_id, environment_id, MIN(updated_at)
FROM deployments
WHERE status = 'completed'
GROUP BY version_id, environment_id;

INSERT INTO product_env_current
    (product_id, environment_id, version_id, deployment_id, completed_at)
SELECT product_id, environment_id, version_id, id, updated_at
FROM (
    SELECT d.product_id, d.environment_id, d.version_id, d.id, d.updated_at,
           ROW_NUMBER() OVER (PARTITION BY d.product_id, d.environment_id
                              ORDER BY d.updated_at DESC, d.id DESC) AS newest
    FROM deployments d
    WHERE d.status = 'completed'
) ranked
WHERE newest = 1;

INSERT INTO product_env_latest
    (product_id, environment_id, version_id, deployment_id, status, created_at)
SELECT product_id, environment_id, version_id, id, status, created_at
FROM (
    SELECT d.product_id, d.environment_id, d.version_id, d.id, d.status, d.created_at,
           ROW_NUMBER() OVER (PARTITION BY d.product_id, d.environment_id
                              ORDER BY d.created_at DESC, d.id DESC) AS newest
    FROM deployments d
) ranked
WHERE newest = 1;
";
