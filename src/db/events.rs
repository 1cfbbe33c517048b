//! The event write path (SPEC §3): one function per event kind, each a single transaction that
//! auto-creates the catalog, correlates, applies the transition and appends to the event log.

use super::catalog::{self, BuildFacts, VersionRow};
use super::heads;
use super::ids::{new_id, now};
use super::models::{Deployment, Environment, Product, Version};
use super::prepared::{self, statement, Arg};
use super::AnyConnection;
use crate::domain::{DeploymentStatus, EnvType, Transition};
use crate::error::AppError;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

/// A validated deployment event.
#[derive(Debug, Clone)]
pub struct DeploymentEventInput {
    pub product_name: String,
    pub version: String,
    pub environment_name: String,
    pub status: DeploymentStatus,
    /// What the client sent before normalisation, kept in the event log.
    pub reported_status: String,
    pub invoke_id: Option<String>,
    pub deployed_by: Option<String>,
    pub deployed_by_name: Option<String>,
    pub deployed_by_email: Option<String>,
    pub build_url: Option<String>,
    pub deploy_url: Option<String>,
    pub build_number: Option<String>,
    pub source_system: Option<String>,
    pub started_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub extra_metadata: Option<String>,
    pub facts: BuildFacts,
    /// The event as received (canonical JSON), for the append-only log.
    pub payload: String,
}

/// What recording a deployment event did.
#[derive(Debug, Clone)]
pub struct DeploymentOutcome {
    /// A new deployment was created (201) rather than an existing one touched (200).
    pub created: bool,
    pub event_id: String,
    pub deployment: Deployment,
    pub product: Product,
    pub version: super::models::Version,
    pub environment: Environment,
}

/// Records one deployment event. Runs inside the caller's write transaction.
///
/// The hot path of ingestion, so it is written for few statements, each kept prepared
/// ([`super::prepared`]): one lookup finds the product, environment, version and the deployment
/// the event correlates to; the transition is decided before anything is written (a refused
/// event writes nothing); then one insert or update per changed row.
pub fn record_deployment_event(
    conn: &mut AnyConnection,
    input: &DeploymentEventInput,
) -> Result<DeploymentOutcome, AppError> {
    catalog::lock_key(conn, &lock_key(input))?;
    let found = lookup(conn, input)?;
    let next = correlate(found.deployment, input)?;
    let environment = match found.environment {
        Some(e) => e,
        None => catalog::create_environment(
            conn,
            &input.environment_name,
            EnvType::infer_from_name(&input.environment_name),
            0,
            None,
        )?,
    };
    let t = now();
    let event_id = new_id();
    // PostgreSQL: the rows of an event go in one statement (data-modifying CTEs), because
    // there every statement is a network round trip. SQLite runs in-process: one statement
    // per row costs less than one that plans them all.
    let pg = matches!(conn, AnyConnection::Postgresql(_));
    let mut logged = false;

    let (product, new_product) = match found.product {
        Some(p) => (p, false),
        None if pg => (catalog::new_product(&input.product_name, None), true),
        None => (
            catalog::create_product(conn, &input.product_name, None)?,
            false,
        ),
    };
    let (version, new_version) = match found.version {
        Some(mut v) => {
            catalog::fill_version(conn, &mut v, &input.facts)?;
            (v, false)
        }
        None if pg => (
            catalog::new_version(&product, &input.version, &input.facts),
            true,
        ),
        None => (
            catalog::insert_version(conn, &product, &input.version, &input.facts)?,
            false,
        ),
    };

    let (deployment, created, applied) = match next {
        Next::Create => {
            let d = new_deployment(&product, &version.id, &environment, input, t);
            if pg {
                let p = &product;
                let v = &version;
                let mut args: Vec<Arg<'_>> = vec![
                    (&p.id).into(),
                    (&p.name).into(),
                    p.created_at.into(),
                    p.updated_at.into(),
                    new_product.into(),
                ];
                args.extend(catalog::version_args(v));
                args.push(new_version.into());
                args.extend(deployment_args(&d));
                args.extend(event_args(&event_id, input, t));
                prepared::execute::<PgCreate>(conn, &args)?;
                logged = true;
            } else {
                prepared::execute::<InsertDeployment>(conn, &deployment_args(&d))?;
                heads::record(conn, &d, true)?;
            }
            (d, true, true)
        }
        Next::Apply(mut d) => {
            apply(&mut d, input, t);
            if pg && read_models_follow_in_sql(input.status) {
                let mut args = changed_args(&d).to_vec();
                args.extend(event_args(&event_id, input, t));
                prepared::execute::<PgUpdate>(conn, &args)?;
                logged = true;
            } else {
                prepared::execute::<UpdateDeployment>(conn, &changed_args(&d))?;
                heads::record(conn, &d, false)?;
            }
            (d, false, true)
        }
        Next::Log(d) => (d, false, false),
    };
    // Every event is logged, applied or not (a repeat, a late non-terminal one).
    if !logged {
        insert_event(conn, &event_id, &deployment.id, input, applied, t)?;
    }

    Ok(DeploymentOutcome {
        created,
        event_id,
        deployment,
        product,
        version,
        environment,
    })
}

/// The advisory lock an event takes (PostgreSQL): concurrent events for one product in one
/// environment apply one at a time, since besides the deployment they correlate to they share
/// the read models of (product, environment).
pub(super) fn lock_key(input: &DeploymentEventInput) -> String {
    format!(
        "deploy\u{1f}{}\u{1f}{}",
        input.product_name, input.environment_name
    )
}

/// What an event does to the deployment it correlates to (SPEC §3).
pub(super) enum Next {
    /// A new deployment: none matched, or (without invoke_id) the one there has finished.
    Create,
    /// The deployment moves to the event's status.
    Apply(Deployment),
    /// Nothing changes (a repeat, a late non-terminal event); the event is only logged.
    Log(Deployment),
}

/// Decides what an event does to `found`, the deployment the lookup correlated it to, before
/// anything is written: a refused event (409) changes nothing.
pub(super) fn correlate(
    found: Option<Deployment>,
    input: &DeploymentEventInput,
) -> Result<Next, AppError> {
    let Some(d) = found else {
        return Ok(Next::Create);
    };
    let current = d.status();
    // Without invoke_id a finished deployment means a redeploy: a new one.
    if current.is_terminal() && input.invoke_id.is_none() {
        return Ok(Next::Create);
    }
    match DeploymentStatus::transition(current, input.status) {
        Transition::Apply => Ok(Next::Apply(d)),
        Transition::Conflict => Err(AppError::Conflict(format!(
            "deployment {} of {} {} to {} is already {}; a '{}' event cannot change it \
             (send a new invoke_id to record a redeploy)",
            d.id,
            input.product_name,
            input.version,
            input.environment_name,
            current.as_str(),
            input.status.as_str()
        ))),
        Transition::NoOp | Transition::LogOnly => Ok(Next::Log(d)),
    }
}

statement!(
    InsertEvent,
    "INSERT INTO deployment_events \
     (id, deployment_id, status, reported_status, applied, payload, created_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?)"
);

/// What one lookup found for an event: its catalog rows, and the deployment it may belong to.
struct Found {
    product: Option<Product>,
    environment: Option<Environment>,
    version: Option<Version>,
    deployment: Option<Deployment>,
}

/// The columns of the lookup, in model order (see `models.rs`).
macro_rules! lookup_select {
    () => {
        "SELECT p.id, p.name, p.description, p.created_at, p.updated_at, \
         e.id, e.name, e.env_type, e.position, e.description, e.created_at, e.updated_at, \
         v.id, v.product_id, v.version, v.scm_sha, v.scm_branch, v.scm_repository, \
         v.build_url, v.build_number, v.built_by, v.source_system, v.extra_metadata, \
         v.created_at, v.updated_at, \
         d.id, d.product_id, d.version_id, d.environment_id, d.status, d.invoke_id, \
         d.deployed_by, d.deployed_by_name, d.deployed_by_email, d.build_url, d.deploy_url, \
         d.build_number, d.source_system, d.started_at, d.completed_at, d.extra_metadata, \
         d.created_at, d.updated_at "
    };
}
pub(super) use lookup_select;

/// The one event's product and environment, by name.
macro_rules! lookup_columns {
    () => {
        concat!(
            lookup_select!(),
            "FROM (SELECT 1 AS one) base \
             LEFT JOIN products p ON p.name = ? \
             LEFT JOIN environments e ON e.name = ? "
        )
    };
}

/// SQLite's lookup: the deployment by the id a subquery picks (SQLite has no LATERAL).
macro_rules! lookup_sql {
    ($correlation:expr) => {
        concat!(
            lookup_columns!(),
            "LEFT JOIN versions v ON v.product_id = p.id AND v.version = ? \
             LEFT JOIN deployments d ON d.id = (SELECT d2.id FROM deployments d2 \
             WHERE d2.version_id = v.id AND d2.environment_id = e.id ",
            $correlation,
            " LIMIT 1)"
        )
    };
}

/// PostgreSQL's lookup: each step a LATERAL subquery that cannot be flattened into a join
/// (`LIMIT 1`), so that its plan looks the row up by the key of the step before. The writer
/// keeps it prepared with one generic plan (see `writer::prepare_connection`); written as
/// plain joins, that plan filtered `versions` by the version string alone.
macro_rules! lookup_sql_pg {
    ($correlation:expr) => {
        concat!(
            lookup_columns!(),
            "LEFT JOIN LATERAL (SELECT * FROM versions v0 \
             WHERE v0.product_id = p.id AND v0.version = ? LIMIT 1) v ON TRUE \
             LEFT JOIN LATERAL (SELECT * FROM deployments d2 \
             WHERE d2.version_id = v.id AND d2.environment_id = e.id ",
            $correlation,
            " LIMIT 1) d ON TRUE"
        )
    };
}

/// SPEC §3 correlation without invoke_id, among the version's deployments there (`d2`): the
/// latest. Every lookup of an event uses it (here and in `db::event_batch`).
macro_rules! latest_there {
    () => {
        "ORDER BY d2.created_at DESC, d2.id DESC"
    };
}
pub(super) use latest_there;

/// SPEC §3 correlation with invoke_id (the SQL expression given): the deployment of that
/// invocation.
macro_rules! of_invocation {
    ($invoke_id:expr) => {
        concat!("AND d2.invoke_id = ", $invoke_id)
    };
}
pub(super) use of_invocation;

statement!(
    /// The event lookup without invoke_id (SQLite).
    LookupLatest,
    lookup_sql!(latest_there!())
);
statement!(
    /// The event lookup with invoke_id (SQLite).
    LookupInvocation,
    lookup_sql!(of_invocation!("?"))
);
statement!(
    /// [`LookupLatest`] for PostgreSQL.
    PgLookupLatest,
    lookup_sql_pg!(latest_there!())
);
statement!(
    /// [`LookupInvocation`] for PostgreSQL.
    PgLookupInvocation,
    lookup_sql_pg!(of_invocation!("?"))
);

type ProductSql = (Text, Text, Nullable<Text>, Timestamp, Timestamp);
type EnvironmentSql = (
    Text,
    Text,
    Text,
    Integer,
    Nullable<Text>,
    Timestamp,
    Timestamp,
);
type VersionSql = (
    Text,
    Text,
    Text,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Text,
    Timestamp,
    Timestamp,
);
pub(crate) type DeploymentSql = (
    Text,
    Text,
    Text,
    Text,
    Text,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Timestamp>,
    Nullable<Timestamp>,
    Text,
    Timestamp,
    Timestamp,
);
pub(super) type LookupSql = (
    Nullable<ProductSql>,
    Nullable<EnvironmentSql>,
    Nullable<VersionSql>,
    Nullable<DeploymentSql>,
);
pub(super) type LookupRow = (
    Option<Product>,
    Option<Environment>,
    Option<Version>,
    Option<Deployment>,
);

/// One statement for the product, environment and version named by the event and the
/// deployment it correlates to (SPEC §3), so that correlation costs one round trip.
fn lookup(conn: &mut AnyConnection, input: &DeploymentEventInput) -> QueryResult<Found> {
    let names = [
        (&input.product_name).into(),
        (&input.environment_name).into(),
        (&input.version).into(),
    ];
    let pg = matches!(conn, AnyConnection::Postgresql(_));
    let row: Option<LookupRow> = match &input.invoke_id {
        Some(invoke_id) => {
            let args = [names[0], names[1], names[2], invoke_id.into()];
            if pg {
                prepared::first::<PgLookupInvocation, LookupSql, _>(conn, &args)?
            } else {
                prepared::first::<LookupInvocation, LookupSql, _>(conn, &args)?
            }
        }
        None if pg => prepared::first::<PgLookupLatest, LookupSql, _>(conn, &names)?,
        None => prepared::first::<LookupLatest, LookupSql, _>(conn, &names)?,
    };
    let (product, environment, version, deployment) = row.unwrap_or((None, None, None, None));
    Ok(Found {
        product,
        environment,
        version,
        deployment,
    })
}

/// A new deployment for the event, not yet written.
pub(super) fn new_deployment(
    product: &Product,
    version_id: &str,
    environment: &Environment,
    input: &DeploymentEventInput,
    t: NaiveDateTime,
) -> Deployment {
    let mut d = Deployment {
        id: new_id(),
        product_id: product.id.clone(),
        version_id: version_id.to_string(),
        environment_id: environment.id.clone(),
        status: DeploymentStatus::Pending.as_str().to_string(),
        invoke_id: input.invoke_id.clone(),
        deployed_by: None,
        deployed_by_name: None,
        deployed_by_email: None,
        build_url: None,
        deploy_url: None,
        build_number: None,
        source_system: None,
        started_at: None,
        completed_at: None,
        extra_metadata: "{}".into(),
        created_at: t,
        updated_at: t,
    };
    apply(&mut d, input, t);
    d
}

fn event_args<'a>(
    event_id: &'a str,
    input: &'a DeploymentEventInput,
    t: NaiveDateTime,
) -> [Arg<'a>; 5] {
    [
        event_id.into(),
        input.status.as_str().into(),
        (&input.reported_status).into(),
        (&input.payload).into(),
        t.into(),
    ]
}

fn insert_event(
    conn: &mut AnyConnection,
    event_id: &str,
    deployment_id: &str,
    input: &DeploymentEventInput,
    applied: bool,
    t: NaiveDateTime,
) -> QueryResult<()> {
    let [id, status, reported, payload, at] = event_args(event_id, input, t);
    prepared::execute::<InsertEvent>(
        conn,
        &[
            id,
            deployment_id.into(),
            status,
            reported,
            applied.into(),
            payload,
            at,
        ],
    )?;
    Ok(())
}

/// The columns of a deployment in the order of [`InsertDeployment`] and [`UpdateDeployment`]:
/// the changeable ones first, the id last.
pub(super) fn deployment_args(d: &Deployment) -> [Arg<'_>; 18] {
    [
        (&d.status).into(),
        (&d.deployed_by).into(),
        (&d.deployed_by_name).into(),
        (&d.deployed_by_email).into(),
        (&d.build_url).into(),
        (&d.deploy_url).into(),
        (&d.build_number).into(),
        (&d.source_system).into(),
        d.started_at.into(),
        d.completed_at.into(),
        (&d.extra_metadata).into(),
        d.updated_at.into(),
        (&d.product_id).into(),
        (&d.version_id).into(),
        (&d.environment_id).into(),
        (&d.invoke_id).into(),
        d.created_at.into(),
        (&d.id).into(),
    ]
}

/// The columns of a deployment in the order of [`deployment_args`].
macro_rules! deployment_columns {
    () => {
        "status, deployed_by, deployed_by_name, deployed_by_email, build_url, deploy_url, \
         build_number, source_system, started_at, completed_at, extra_metadata, updated_at, \
         product_id, version_id, environment_id, invoke_id, created_at, id"
    };
}
pub(super) use deployment_columns;

statement!(
    InsertDeployment,
    concat!(
        "INSERT INTO deployments (",
        deployment_columns!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
);
statement!(
    UpdateDeployment,
    "UPDATE deployments SET status = ?, deployed_by = ?, deployed_by_name = ?, \
     deployed_by_email = ?, build_url = ?, deploy_url = ?, build_number = ?, \
     source_system = ?, started_at = ?, completed_at = ?, extra_metadata = ?, updated_at = ? \
     WHERE id = ?"
);

/// The changeable fields of a deployment and its id, in the order of [`UpdateDeployment`].
pub(super) fn changed_args(d: &Deployment) -> [Arg<'_>; 13] {
    let all = deployment_args(d);
    let mut changed = [Arg::Bool(false); 13];
    changed[..12].copy_from_slice(&all[..12]);
    changed[12] = all[17];
    changed
}

/// PostgreSQL, as CTEs: the read models a completion among the deployments of the CTE `$rows`
/// changes — it is what runs there now, and may be its version's first completion there.
macro_rules! completions_of {
    ($rows:expr) => {
        concat!(
            "pc AS (INSERT INTO product_env_current (product_id, environment_id, version_id, \
             deployment_id, completed_at) \
             SELECT product_id, environment_id, version_id, id, updated_at FROM ",
            $rows,
            " WHERE status = 'completed' \
             ON CONFLICT (product_id, environment_id) DO UPDATE SET \
             version_id = excluded.version_id, deployment_id = excluded.deployment_id, \
             completed_at = excluded.completed_at), \
             vf AS (INSERT INTO version_env_firsts (version_id, environment_id, \
             first_completed_at) SELECT version_id, environment_id, updated_at FROM ",
            $rows,
            " WHERE status = 'completed' \
             ON CONFLICT (version_id, environment_id) DO NOTHING) "
        )
    };
}
pub(super) use completions_of;

/// PostgreSQL: the read models brought up to date with the new deployments of the CTE `nd`
/// (as `heads::record` keeps them), as CTEs. The conditions on `status` are those of
/// `heads::record`: an aborted deployment is never a cell's head; a completed one is a
/// completion ([`completions_of!`]).
macro_rules! read_models_of_new {
    () => {
        concat!(
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
             status = excluded.status, created_at = excluded.created_at), \
             ",
            $crate::db::events::completions_of!("nd")
        )
    };
}
pub(super) use read_models_of_new;

/// Whether [`read_models_of_changed!`] keeps the read models of a deployment moving on to
/// `status`: not an abort, after which the cell's head must be looked for again among the
/// earlier deployments (`heads::record`).
pub(super) fn read_models_follow_in_sql(status: DeploymentStatus) -> bool {
    status != DeploymentStatus::Aborted
}

/// PostgreSQL: the read models following the deployments of the CTE `ud` that moved on (see
/// [`read_models_follow_in_sql`]), as CTEs: the head and the latest attempt only while `ud` is
/// their newest; a completion is what runs now.
macro_rules! read_models_of_changed {
    () => {
        concat!(
            "vh AS (UPDATE version_env_heads h SET status = ud.status, \
             deployed_by = ud.deployed_by, updated_at = ud.updated_at FROM ud \
             WHERE h.version_id = ud.version_id AND h.environment_id = ud.environment_id \
             AND h.deployment_id = ud.id), \
             ul AS (UPDATE product_env_latest l SET status = ud.status FROM ud \
             WHERE l.product_id = ud.product_id AND l.environment_id = ud.environment_id \
             AND l.deployment_id = ud.id), \
             ",
            $crate::db::events::completions_of!("ud")
        )
    };
}
pub(super) use read_models_of_changed;

statement!(
    /// PostgreSQL, a new deployment: its product and version when they are new, the deployment,
    /// the read models and the event log entry, in one statement.
    PgCreate,
    concat!(
        "WITH np AS (INSERT INTO products (id, name, description, created_at, updated_at) \
         SELECT ?, ?, NULL, ?, ? WHERE ?), \
         nv AS (INSERT INTO versions (id, product_id, version, scm_sha, scm_branch, \
         scm_repository, build_url, build_number, built_by, source_system, extra_metadata, \
         created_at, updated_at) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ?), \
         nd AS (INSERT INTO deployments (",
        deployment_columns!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *), ",
        read_models_of_new!(),
        "INSERT INTO deployment_events \
         (id, deployment_id, status, reported_status, applied, payload, created_at) \
         SELECT ?, id, ?, ?, TRUE, ?, ? FROM nd"
    )
);

statement!(
    /// PostgreSQL, a deployment moving on (to anything but aborted): the deployment, the read
    /// models that follow it and the event log entry, in one statement.
    PgUpdate,
    concat!(
        "WITH ud AS (UPDATE deployments SET status = ?, deployed_by = ?, \
         deployed_by_name = ?, deployed_by_email = ?, build_url = ?, deploy_url = ?, \
         build_number = ?, source_system = ?, started_at = ?, completed_at = ?, \
         extra_metadata = ?, updated_at = ? WHERE id = ? RETURNING *), ",
        read_models_of_changed!(),
        "INSERT INTO deployment_events \
         (id, deployment_id, status, reported_status, applied, payload, created_at) \
         SELECT ?, id, ?, ?, TRUE, ?, ? FROM ud"
    )
);

/// Moves a deployment to the event's status and fills in what the event tells about it.
pub(super) fn apply(d: &mut Deployment, input: &DeploymentEventInput, t: NaiveDateTime) {
    d.status = input.status.as_str().to_string();
    d.updated_at = t;
    let fill = |slot: &mut Option<String>, value: &Option<String>| {
        if value.is_some() {
            slot.clone_from(value);
        }
    };
    fill(&mut d.deployed_by, &input.deployed_by);
    fill(&mut d.deployed_by_name, &input.deployed_by_name);
    fill(&mut d.deployed_by_email, &input.deployed_by_email);
    fill(&mut d.build_url, &input.build_url);
    fill(&mut d.deploy_url, &input.deploy_url);
    fill(&mut d.build_number, &input.build_number);
    fill(&mut d.source_system, &input.source_system);
    if let Some(meta) = &input.extra_metadata {
        d.extra_metadata.clone_from(meta);
    }
    if input.started_at.is_some() {
        d.started_at = input.started_at;
    } else if input.status == DeploymentStatus::Started && d.started_at.is_none() {
        d.started_at = Some(t);
    }
    if input.status.is_terminal() {
        d.completed_at = Some(input.completed_at.unwrap_or(t));
    }
}

/// A validated build event.
#[derive(Debug, Clone)]
pub struct BuildEventInput {
    pub product_name: String,
    pub version: String,
    pub facts: BuildFacts,
}

/// Records a build event: registers the version (and product). A different `scm_sha` for an
/// existing version is refused: versions are immutable (SPEC §2).
pub fn record_build_event(
    conn: &mut AnyConnection,
    input: &BuildEventInput,
) -> Result<(VersionRow, bool), AppError> {
    catalog::lock_key(
        conn,
        &format!("build\u{1f}{}\u{1f}{}", input.product_name, input.version),
    )?;
    let product = catalog::find_or_create_product(conn, &input.product_name)?;
    if let (Some(existing), Some(sha)) = (
        catalog::version_of(conn, &product.id, &input.version)?,
        &input.facts.scm_sha,
    ) {
        if let Some(known) = &existing.scm_sha {
            if known != sha {
                return Err(AppError::Conflict(format!(
                    "version {} of {} is already registered with scm_sha {known}; versions are \
                     immutable, so a build with scm_sha {sha} needs a new version string",
                    input.version, product.name
                )));
            }
        }
    }
    let (version, created) =
        catalog::find_or_create_version(conn, &product, &input.version, &input.facts)?;
    Ok((
        VersionRow {
            version,
            product_name: product.name,
        },
        created,
    ))
}

/// What an `Idempotency-Key` lookup found.
pub enum Replay {
    /// First time this key is seen: run the request.
    Fresh,
    /// Same key, same body: answer what was answered the first time.
    Same { status: u16, body: String },
}

/// Looks an idempotency key up; the same key with a different body is a 409.
pub fn idempotency_lookup(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    request_hash: &str,
) -> Result<Replay, AppError> {
    let found: Option<(String, i32, String)> = prepared::first::<
        IdempotencyLookup,
        (Text, Integer, Text),
        _,
    >(conn, &[scope.into(), key.into()])?;
    match found {
        None => Ok(Replay::Fresh),
        Some((hash, status, body)) if hash == request_hash => Ok(Replay::Same {
            status: u16::try_from(status).unwrap_or(200),
            body,
        }),
        Some(_) => Err(AppError::Conflict(format!(
            "Idempotency-Key '{key}' was already used with a different request body"
        ))),
    }
}

/// Stores the answer to a request made with an idempotency key, in the request's transaction.
pub fn idempotency_store(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    request_hash: &str,
    status: u16,
    body: &str,
) -> QueryResult<()> {
    prepared::execute::<IdempotencyStore>(
        conn,
        &[
            scope.into(),
            key.into(),
            request_hash.into(),
            i32::from(status).into(),
            body.into(),
            now().into(),
        ],
    )?;
    Ok(())
}

statement!(
    IdempotencyLookup,
    "SELECT request_hash, response_status, response_body FROM idempotency_keys \
     WHERE scope = ? AND idem_key = ?"
);
statement!(
    IdempotencyStore,
    "INSERT INTO idempotency_keys \
     (scope, idem_key, request_hash, response_status, response_body, created_at) \
     VALUES (?, ?, ?, ?, ?, ?)"
);
