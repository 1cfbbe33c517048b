//! Every statement of the event path, built from the column registry (`store::rows`): the
//! lookup that correlates an event, the per-row writes (SQLite), the per-event statements that
//! write a deployment, its read models and its log entry at once (PostgreSQL), and the
//! set-based statements that do the same for a whole batch (PostgreSQL, `ingest::batch`).
//!
//! Three rules are restated here in SQL, for speed, and held to their Rust definitions by
//! `tests/integration/rules_in_sql.rs`: the correlation candidate ([`LATEST_THERE`],
//! [`of_invocation`]: `domain::deployment::candidate`) and the read models ([`read_models_of_new`],
//! [`read_models_of_changed`]: `domain::read_models`, as `store::read_models::record` keeps them
//! one statement at a time).

use crate::store::prepared::statement;
use crate::store::registry::{insert, list, params, select, unnest, update};
use crate::store::rows::{deployment_row, environment_row, event_row, product_row, version_row};
use diesel::sql_types::Nullable;

/// The SQL types of a lookup row: the event's product, environment, version and candidate
/// deployment, each absent when there is none.
pub type LookupSql = (
    Nullable<product_row::Sql>,
    Nullable<environment_row::Sql>,
    Nullable<version_row::Sql>,
    Nullable<deployment_row::Sql>,
);

/// SPEC §3 correlation without invoke_id, among the version's deployments in the environment
/// (`d2`): the latest. Every lookup of an event uses it (one by one and in a batch).
pub const LATEST_THERE: &str = "ORDER BY d2.created_at DESC, d2.id DESC";

/// SPEC §3 correlation with an invoke_id (the SQL expression given): the deployment of that
/// invocation.
pub fn of_invocation(invoke_id: &str) -> String {
    format!("AND d2.invoke_id = {invoke_id}")
}

/// The columns of a lookup row, in registry order.
fn lookup_select() -> String {
    format!(
        "SELECT {}, {}, {}, {} ",
        select("p", product_row::NAMES),
        select("e", environment_row::NAMES),
        select("v", version_row::NAMES),
        select("d", deployment_row::NAMES)
    )
}

/// The one event's product and environment, by name.
fn lookup_start() -> String {
    lookup_select()
        + "FROM (SELECT 1 AS one) base \
           LEFT JOIN products p ON p.name = ? \
           LEFT JOIN environments e ON e.name = ? "
}

/// SQLite's lookup: the deployment by the id a subquery picks (SQLite has no LATERAL).
fn lookup_sqlite(correlation: &str) -> String {
    lookup_start()
        + "LEFT JOIN versions v ON v.product_id = p.id AND v.version = ? \
           LEFT JOIN deployments d ON d.id = (SELECT d2.id FROM deployments d2 \
           WHERE d2.version_id = v.id AND d2.environment_id = e.id "
        + correlation
        + " LIMIT 1)"
}

/// PostgreSQL's lookup: each step a LATERAL subquery that cannot be flattened into a join
/// (`LIMIT 1`), so that its plan looks the row up by the key of the step before. The writer
/// keeps it prepared with one generic plan (see `writer::prepare_connection`); written as
/// plain joins, that plan filtered `versions` by the version string alone.
fn lookup_pg(correlation: &str) -> String {
    lookup_start()
        + "LEFT JOIN LATERAL (SELECT * FROM versions v0 \
           WHERE v0.product_id = p.id AND v0.version = ? LIMIT 1) v ON TRUE \
           LEFT JOIN LATERAL (SELECT * FROM deployments d2 \
           WHERE d2.version_id = v.id AND d2.environment_id = e.id "
        + correlation
        + " LIMIT 1) d ON TRUE"
}

statement!(
    /// The event lookup without invoke_id (SQLite).
    LookupLatest,
    lookup_sqlite(LATEST_THERE)
);
statement!(
    /// The event lookup with invoke_id (SQLite).
    LookupInvocation,
    lookup_sqlite(&of_invocation("?"))
);
statement!(
    /// [`LookupLatest`] for PostgreSQL.
    PgLookupLatest,
    lookup_pg(LATEST_THERE)
);
statement!(
    /// [`LookupInvocation`] for PostgreSQL.
    PgLookupInvocation,
    lookup_pg(&of_invocation("?"))
);

statement!(
    InsertDeployment,
    insert(deployment_row::TABLE, deployment_row::NAMES)
);
statement!(
    UpdateDeployment,
    update(
        deployment_row::TABLE,
        deployment_row::CHANGING,
        deployment_row::KEY
    )
);
statement!(InsertEvent, insert(event_row::TABLE, event_row::NAMES));

// ---------------------------------------------------------------------------------------------
// The read models as CTEs (PostgreSQL), over the deployments a statement inserted or updated.

/// The read models a completion among the deployments of the CTE `rows` changes: it is what
/// runs there now, and may be its version's first completion there.
fn completions_of(rows: &str) -> String {
    format!(
        "pc AS (INSERT INTO product_env_current (product_id, environment_id, version_id, \
         deployment_id, completed_at) \
         SELECT product_id, environment_id, version_id, id, updated_at FROM {rows} \
         WHERE status = 'completed' \
         ON CONFLICT (product_id, environment_id) DO UPDATE SET \
         version_id = excluded.version_id, deployment_id = excluded.deployment_id, \
         completed_at = excluded.completed_at), \
         vf AS (INSERT INTO version_env_firsts (version_id, environment_id, \
         first_completed_at) SELECT version_id, environment_id, updated_at FROM {rows} \
         WHERE status = 'completed' \
         ON CONFLICT (version_id, environment_id) DO NOTHING) "
    )
}

/// The read models brought up to date with the new deployments of the CTE `nd` (as
/// `store::read_models::record` keeps them): an aborted deployment is never a cell's head; a
/// new one is the newest of its cell and of its product there; a completed one is a completion.
pub fn read_models_of_new() -> String {
    "vh AS (INSERT INTO version_env_heads (version_id, environment_id, product_id, \
     deployment_id, status, deployed_by, created_at, updated_at) \
     SELECT version_id, environment_id, product_id, id, status, deployed_by, created_at, \
     updated_at FROM nd WHERE status <> 'aborted' \
     ON CONFLICT (version_id, environment_id) DO UPDATE SET \
     deployment_id = excluded.deployment_id, status = excluded.status, \
     deployed_by = excluded.deployed_by, created_at = excluded.created_at, \
     updated_at = excluded.updated_at), \
     pl AS (INSERT INTO product_env_latest (product_id, environment_id, version_id, \
     deployment_id, status, created_at) \
     SELECT product_id, environment_id, version_id, id, status, created_at FROM nd \
     ON CONFLICT (product_id, environment_id) DO UPDATE SET \
     version_id = excluded.version_id, deployment_id = excluded.deployment_id, \
     status = excluded.status, created_at = excluded.created_at), "
        .to_string()
        + &completions_of("nd")
}

/// Whether [`read_models_of_changed`] keeps the read models of a deployment moving on to
/// `status`: not an abort, after which the cell's head must be looked for again among the
/// earlier deployments (`store::read_models::record`).
pub fn read_models_follow_in_sql(status: crate::domain::DeploymentStatus) -> bool {
    status != crate::domain::DeploymentStatus::Aborted
}

/// The read models following the deployments of the CTE `ud` that moved on (see
/// [`read_models_follow_in_sql`]): the head and the latest attempt only while `ud` is their
/// newest; a completion is what runs now.
pub fn read_models_of_changed() -> String {
    "vh AS (UPDATE version_env_heads h SET status = ud.status, \
     deployed_by = ud.deployed_by, updated_at = ud.updated_at FROM ud \
     WHERE h.version_id = ud.version_id AND h.environment_id = ud.environment_id \
     AND h.deployment_id = ud.id), \
     ul AS (UPDATE product_env_latest l SET status = ud.status FROM ud \
     WHERE l.product_id = ud.product_id AND l.environment_id = ud.environment_id \
     AND l.deployment_id = ud.id), "
        .to_string()
        + &completions_of("ud")
}

// ---------------------------------------------------------------------------------------------
// One event in one statement (PostgreSQL)

/// `INSERT INTO t (cols) SELECT ?, …, ? <rest>`: a row of parameters, written only when
/// `rest` (a `WHERE ?` or a `FROM cte`) lets it.
fn insert_select(table: &str, names: &[&str], rest: &str) -> String {
    format!(
        "INSERT INTO {table} ({}) SELECT {} {rest}",
        list(names),
        params(names.len())
    )
}

statement!(
    /// A new deployment: its product and version when they are new (each behind a `WHERE ?`),
    /// the deployment, the read models and the event log entry, in one statement.
    PgCreate,
    format!(
        "WITH np AS ({}), nv AS ({}), nd AS ({} RETURNING *), {}{}",
        insert_select(product_row::TABLE, product_row::NAMES, "WHERE ?"),
        insert_select(version_row::TABLE, version_row::NAMES, "WHERE ?"),
        insert(deployment_row::TABLE, deployment_row::NAMES),
        read_models_of_new(),
        insert_select(event_row::TABLE, event_row::NAMES, "FROM nd")
    )
);

statement!(
    /// A deployment moving on (to anything but aborted): the deployment, the read models that
    /// follow it and the event log entry, in one statement.
    PgUpdate,
    format!(
        "WITH ud AS ({} RETURNING *), {}{}",
        update(
            deployment_row::TABLE,
            deployment_row::CHANGING,
            deployment_row::KEY
        ),
        read_models_of_changed(),
        insert_select(event_row::TABLE, event_row::NAMES, "FROM ud")
    )
);

// ---------------------------------------------------------------------------------------------
// A batch's events in a few statements (PostgreSQL, `ingest::batch`): each parameter an array
// holding one column of the batch's rows.

/// `INSERT INTO t (cols) SELECT * FROM unnest(…) AS x(cols)`
fn insert_unnest(table: &str, names: &[&str], arrays: &[&str]) -> String {
    format!(
        "INSERT INTO {table} ({}) SELECT * FROM {}",
        list(names),
        unnest("x", names, arrays)
    )
}

/// Appends a batch's events to the log.
fn insert_events() -> String {
    insert_unnest(event_row::TABLE, event_row::NAMES, event_row::ARRAYS)
}

statement!(
    /// Tries each key's advisory lock, in the order given (as `catalog::lock_key` does).
    TryLocks,
    "SELECT pg_try_advisory_xact_lock(hashtext(k)) \
     FROM unnest(?::text[]) WITH ORDINALITY AS x(k, n) ORDER BY n"
);

statement!(
    /// The lookup of `ingest::record` for many events, one row each, in the order given. One
    /// `LATERAL` step serves both correlations: with invoke_id the first branch is off,
    /// without it the second matches nothing.
    BatchLookup,
    lookup_select()
        + "FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY \
           AS i(product_name, environment_name, version, invoke_id, n) \
           LEFT JOIN products p ON p.name = i.product_name \
           LEFT JOIN environments e ON e.name = i.environment_name \
           LEFT JOIN LATERAL (SELECT * FROM versions v0 \
           WHERE v0.product_id = p.id AND v0.version = i.version LIMIT 1) v ON TRUE \
           LEFT JOIN LATERAL ((SELECT * FROM deployments d2 WHERE i.invoke_id IS NULL \
           AND d2.version_id = v.id AND d2.environment_id = e.id "
        + LATEST_THERE
        + " LIMIT 1) UNION ALL (SELECT * FROM deployments d2 \
           WHERE d2.version_id = v.id AND d2.environment_id = e.id "
        + &of_invocation("i.invoke_id")
        + " LIMIT 1)) d ON TRUE ORDER BY i.n"
);

statement!(
    /// New deployments with their new products and versions, read models and events: what
    /// [`PgCreate`] does per event, over arrays.
    BatchCreate,
    format!(
        "WITH np AS ({}), nv AS ({}), nd AS ({} RETURNING *), {}{}",
        insert_unnest(product_row::TABLE, product_row::NAMES, product_row::ARRAYS),
        insert_unnest(version_row::TABLE, version_row::NAMES, version_row::ARRAYS),
        insert_unnest(
            deployment_row::TABLE,
            deployment_row::NAMES,
            deployment_row::ARRAYS
        ),
        read_models_of_new(),
        insert_events()
    )
);

/// The changing columns and the key of a batch update, as `unnest`'s columns.
fn update_columns() -> Vec<&'static str> {
    let mut names = deployment_row::CHANGING.to_vec();
    names.push(deployment_row::KEY);
    names
}

statement!(
    /// Deployments moving on (to anything but aborted), their read models and events: what
    /// [`PgUpdate`] does per event, over arrays.
    BatchUpdate,
    format!(
        "WITH ud AS (UPDATE {table} d SET {set} FROM {rows} WHERE d.{key} = x.{key} \
         RETURNING d.*), {models}{events}",
        table = deployment_row::TABLE,
        set = deployment_row::CHANGING
            .iter()
            .map(|c| format!("{c} = x.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        rows = unnest("x", &update_columns(), deployment_row::UPDATE_ARRAYS),
        key = deployment_row::KEY,
        models = read_models_of_changed(),
        events = insert_events()
    )
);

statement!(
    /// Events that changed nothing (a repeat, a late non-terminal one): logged only.
    BatchLog,
    insert_events()
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::prepared::set::parameter_types;
    use crate::store::prepared::Sql;

    fn binds<K: Sql>() -> usize {
        K::sql().matches('?').count()
    }

    /// Each statement has exactly the parameters its callers bind (`ingest`, `ingest::batch`),
    /// counted from the registry; and each set-based statement declares, for each parameter,
    /// the array type of the column bound there.
    #[test]
    fn every_statement_takes_the_arguments_its_callers_bind() {
        use crate::store::rows::*;
        let (p, e, v, d, ev) = (
            product_row::N,
            environment_row::N,
            version_row::N,
            deployment_row::N,
            event_row::N,
        );
        assert_eq!(e, 7);
        let cases = [
            ("LookupLatest", binds::<LookupLatest>(), 3),
            ("LookupInvocation", binds::<LookupInvocation>(), 4),
            ("PgLookupLatest", binds::<PgLookupLatest>(), 3),
            ("PgLookupInvocation", binds::<PgLookupInvocation>(), 4),
            ("InsertDeployment", binds::<InsertDeployment>(), d),
            (
                "UpdateDeployment",
                binds::<UpdateDeployment>(),
                deployment_row::NC + 1,
            ),
            ("InsertEvent", binds::<InsertEvent>(), ev),
            ("PgCreate", binds::<PgCreate>(), p + 1 + v + 1 + d + ev),
            ("PgUpdate", binds::<PgUpdate>(), deployment_row::NC + 1 + ev),
            ("TryLocks", binds::<TryLocks>(), 1),
            ("BatchLookup", binds::<BatchLookup>(), 4),
            ("BatchCreate", binds::<BatchCreate>(), p + v + d + ev),
            (
                "BatchUpdate",
                binds::<BatchUpdate>(),
                deployment_row::NC + 1 + ev,
            ),
            ("BatchLog", binds::<BatchLog>(), ev),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, want, "{name}");
        }

        let declared = |sql: &str| -> Vec<&'static str> {
            parameter_types(sql)
                .into_iter()
                .map(|t| t.expect("every parameter declares its array type"))
                .collect()
        };
        let concat = |parts: &[&[&'static str]]| -> Vec<&'static str> { parts.concat() };
        assert_eq!(
            declared(BatchCreate::sql()),
            concat(&[
                product_row::ARRAYS,
                version_row::ARRAYS,
                deployment_row::ARRAYS,
                event_row::ARRAYS
            ])
        );
        assert_eq!(
            declared(BatchUpdate::sql()),
            concat(&[deployment_row::UPDATE_ARRAYS, event_row::ARRAYS])
        );
        assert_eq!(declared(BatchLog::sql()), event_row::ARRAYS);
        assert_eq!(declared(BatchLookup::sql()), ["text[]"; 4]);
    }
}
