//! Deployment events recorded together (PostgreSQL): a group-commit batch's events in a few
//! set-based statements instead of three statements each.
//!
//! One by one ([`events::record_deployment_event`]), each event costs an advisory lock, a
//! lookup and a write statement: three round trips, and three times PostgreSQL's fixed cost of
//! a statement (binding, executor start-up, triggers' set-up), which profiles showed to be a
//! large part of the database's work. Here a batch takes all its events' locks in one
//! statement, looks them all up in one, and writes them in one per kind of change (new
//! deployments, deployments moving on, events only logged) — the same SQL as the one-by-one
//! path (`events::read_models_of_new!` and the others), over arrays (`unnest`).
//!
//! Only events that cannot see each other's writes go together: one per lock key, and at most
//! one creating any product or version. The others — and those needing a new environment,
//! filling a version's build facts, or aborting a deployment (which looks the cell's head up
//! again) — are left to the one-by-one path, which runs after this in the same transaction and
//! so sees these writes. Same order per key, same rules, same rows: only fewer statements.

use super::catalog;
use super::events::{
    self, apply, changed_args, correlate, deployment_args, lookup_select, new_deployment,
    DeploymentEventInput, DeploymentOutcome, LookupRow, LookupSql, Next,
};
use super::ids::{new_id, now};
use super::models::{Deployment, Environment, Product, Version};
use super::prepared::set::{self, Table};
use super::prepared::{statement, Arg};
use super::AnyConnection;
use crate::error::AppError;
use chrono::NaiveDateTime;
use diesel::sql_types::Bool;
use diesel::QueryResult;
use std::collections::HashSet;

/// What recording a batch's events together did.
pub struct Together {
    /// Per event, in the order given: its outcome, or `None` when it is left to the
    /// one-by-one path.
    pub outcomes: Vec<Option<Result<DeploymentOutcome, AppError>>>,
    /// Whether the transaction now holds advisory locks (see `db::writer`).
    pub locked: bool,
}

/// Records what it can of `inputs` inside the caller's transaction (see the module
/// documentation). On SQLite nothing: there a statement costs no round trip.
pub fn record_together(
    conn: &mut AnyConnection,
    inputs: &[&DeploymentEventInput],
) -> QueryResult<Together> {
    let mut outcomes: Vec<Option<Result<DeploymentOutcome, AppError>>> =
        inputs.iter().map(|_| None).collect();
    let AnyConnection::Postgresql(pg) = conn else {
        return Ok(Together {
            outcomes,
            locked: false,
        });
    };

    // The first event of each lock key; the later ones apply after it, one by one.
    let keys: Vec<String> = inputs.iter().map(|i| events::lock_key(i)).collect();
    let mut seen = HashSet::new();
    let first: Vec<usize> = (0..inputs.len())
        .filter(|&i| seen.insert(keys[i].as_str()))
        .collect();

    // Try every lock, never wait: a batch never waits while it holds locks (`db::writer`).
    // An event whose lock is taken is left to the one-by-one path, which defers it.
    let mut locks = Table::new::<1>();
    for &i in &first {
        locks.push([keys[i].as_str().into()]);
    }
    let got: Vec<bool> = set::load::<TryLocks, Bool, bool>(pg, &[locks])?;
    let locked: Vec<usize> = first
        .iter()
        .zip(got)
        .filter_map(|(&i, got)| got.then_some(i))
        .collect();
    if locked.is_empty() {
        return Ok(Together {
            outcomes,
            locked: false,
        });
    }

    // Looked up after the locks are held, so that no one changes what was found.
    let mut names = Table::new::<4>();
    for &i in &locked {
        let input = inputs[i];
        names.push([
            (&input.product_name).into(),
            (&input.environment_name).into(),
            (&input.version).into(),
            (&input.invoke_id).into(),
        ]);
    }
    let found: Vec<LookupRow> = set::load::<Lookup, LookupSql, LookupRow>(pg, &[names])?;
    if found.len() != locked.len() {
        return Err(diesel::result::Error::QueryBuilderError(
            "the set-based event lookup returned a row count unlike its input's".into(),
        ));
    }

    let mut plans = Vec::with_capacity(locked.len());
    let mut new_products = HashSet::new();
    let mut new_versions = HashSet::new();
    for (&i, (product, environment, version, deployment)) in locked.iter().zip(found) {
        let input = inputs[i];
        let Some(environment) = environment else {
            continue;
        };
        let next = match correlate(deployment, input) {
            Ok(next) => next,
            Err(refused) => {
                outcomes[i] = Some(Err(refused));
                continue;
            }
        };
        if matches!(next, Next::Apply(_)) && !events::read_models_follow_in_sql(input.status) {
            continue;
        }
        if let Some(v) = &version {
            if catalog::fill_empty_fields(&mut v.clone(), &input.facts) {
                continue;
            }
        }
        let version_key = (input.product_name.as_str(), input.version.as_str());
        if (product.is_none() && new_products.contains(&input.product_name))
            || (version.is_none() && new_versions.contains(&version_key))
        {
            continue;
        }
        let (product, new_product) = match product {
            Some(p) => (p, false),
            None => {
                new_products.insert(input.product_name.clone());
                (catalog::new_product(&input.product_name, None), true)
            }
        };
        let (version, new_version) = match version {
            Some(v) => (v, false),
            None => {
                new_versions.insert(version_key);
                (
                    catalog::new_version(&product, &input.version, &input.facts),
                    true,
                )
            }
        };
        let t = now();
        let (deployment, change) = match next {
            Next::Create => (
                new_deployment(&product, &version.id, &environment, input, t),
                Change::Created {
                    new_product,
                    new_version,
                },
            ),
            Next::Apply(mut d) => {
                apply(&mut d, input, t);
                (d, Change::Applied)
            }
            Next::Log(d) => (d, Change::Logged),
        };
        plans.push(Plan {
            at: i,
            event_id: new_id(),
            t,
            product,
            version,
            environment,
            deployment,
            change,
        });
    }

    write(pg, inputs, &plans)?;
    for plan in plans {
        outcomes[plan.at] = Some(Ok(DeploymentOutcome {
            created: matches!(plan.change, Change::Created { .. }),
            event_id: plan.event_id,
            deployment: plan.deployment,
            product: plan.product,
            version: plan.version,
            environment: plan.environment,
        }));
    }
    Ok(Together {
        outcomes,
        locked: true,
    })
}

/// What an event recorded together does.
enum Change {
    Created {
        new_product: bool,
        new_version: bool,
    },
    Applied,
    Logged,
}

/// An event recorded together, decided and not yet written.
struct Plan {
    /// Its place in the batch.
    at: usize,
    event_id: String,
    t: NaiveDateTime,
    product: Product,
    version: Version,
    environment: Environment,
    /// As it will be once written.
    deployment: Deployment,
    change: Change,
}

/// Writes the plans: one statement per kind of change that has any.
fn write(
    pg: &mut diesel::PgConnection,
    inputs: &[&DeploymentEventInput],
    plans: &[Plan],
) -> QueryResult<()> {
    let mut products = Table::new::<4>();
    let mut versions = Table::new::<13>();
    let mut created = Table::new::<18>();
    let mut created_events = Table::new::<6>();
    let mut changed = Table::new::<13>();
    let mut changed_events = Table::new::<6>();
    let mut logged_events = Table::new::<6>();
    for plan in plans {
        let input = inputs[plan.at];
        let event = event_row(plan, input);
        match plan.change {
            Change::Created {
                new_product,
                new_version,
            } => {
                if new_product {
                    let p = &plan.product;
                    products.push([
                        (&p.id).into(),
                        (&p.name).into(),
                        p.created_at.into(),
                        p.updated_at.into(),
                    ]);
                }
                if new_version {
                    versions.push(catalog::version_args(&plan.version));
                }
                created.push(deployment_args(&plan.deployment));
                created_events.push(event);
            }
            Change::Applied => {
                changed.push(changed_args(&plan.deployment));
                changed_events.push(event);
            }
            Change::Logged => logged_events.push(event),
        }
    }
    if !created.is_empty() {
        set::execute::<Create>(pg, &[products, versions, created, created_events])?;
    }
    if !changed.is_empty() {
        set::execute::<Update>(pg, &[changed, changed_events])?;
    }
    if !logged_events.is_empty() {
        set::execute::<Log>(pg, &[logged_events])?;
    }
    Ok(())
}

/// An event's row in the event log, in the order of [`event_table!`].
fn event_row<'a>(plan: &'a Plan, input: &'a DeploymentEventInput) -> [Arg<'a>; 6] {
    [
        (&plan.event_id).into(),
        (&plan.deployment.id).into(),
        input.status.as_str().into(),
        (&input.reported_status).into(),
        (&input.payload).into(),
        plan.t.into(),
    ]
}

/// The event log rows of one kind of change, as a table `x` for an `INSERT … SELECT`.
macro_rules! event_table {
    () => {
        "unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamp[]) \
         AS x(id, deployment_id, status, reported_status, payload, created_at)"
    };
}

/// Appends the events of one kind of change to the log; `$applied` says if they changed it.
macro_rules! insert_events {
    ($applied:expr) => {
        concat!(
            "INSERT INTO deployment_events \
             (id, deployment_id, status, reported_status, applied, payload, created_at) \
             SELECT id, deployment_id, status, reported_status, ",
            $applied,
            ", payload, created_at FROM ",
            event_table!()
        )
    };
}

statement!(
    /// Tries each key's advisory lock, in the order given (as `catalog::lock_key` does).
    TryLocks,
    "SELECT pg_try_advisory_xact_lock(hashtext(k)) \
     FROM unnest(?::text[]) WITH ORDINALITY AS x(k, n) ORDER BY n"
);

statement!(
    /// The lookup of `events::record_deployment_event` for many events, one row each, in the
    /// order given. One `LATERAL` step serves both correlations: with invoke_id the first
    /// branch is off, without it the second matches nothing.
    Lookup,
    concat!(
        lookup_select!(),
        "FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY \
         AS i(product_name, environment_name, version, invoke_id, n) \
         LEFT JOIN products p ON p.name = i.product_name \
         LEFT JOIN environments e ON e.name = i.environment_name \
         LEFT JOIN LATERAL (SELECT * FROM versions v0 \
         WHERE v0.product_id = p.id AND v0.version = i.version LIMIT 1) v ON TRUE \
         LEFT JOIN LATERAL ((SELECT * FROM deployments d2 WHERE i.invoke_id IS NULL \
         AND d2.version_id = v.id AND d2.environment_id = e.id ",
        events::latest_there!(),
        " LIMIT 1) UNION ALL (SELECT * FROM deployments d2 \
         WHERE d2.version_id = v.id AND d2.environment_id = e.id ",
        events::of_invocation!("i.invoke_id"),
        " LIMIT 1)) d ON TRUE ORDER BY i.n"
    )
);

statement!(
    /// New deployments with their new products and versions, read models and events: the
    /// statement `events::PgCreate` runs per event, over arrays.
    Create,
    concat!(
        "WITH np AS (INSERT INTO products (id, name, description, created_at, updated_at) \
         SELECT id, name, NULL, created_at, updated_at \
         FROM unnest(?::text[], ?::text[], ?::timestamp[], ?::timestamp[]) \
         AS x(id, name, created_at, updated_at)), \
         nv AS (INSERT INTO versions (id, product_id, version, scm_sha, scm_branch, \
         scm_repository, build_url, build_number, built_by, source_system, extra_metadata, \
         created_at, updated_at) \
         SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
         ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
         ?::timestamp[], ?::timestamp[])), \
         nd AS (INSERT INTO deployments (",
        events::deployment_columns!(),
        ") SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
         ?::text[], ?::text[], ?::text[], ?::timestamp[], ?::timestamp[], ?::text[], \
         ?::timestamp[], ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamp[], \
         ?::text[]) RETURNING *), ",
        events::read_models_of_new!(),
        insert_events!("TRUE")
    )
);

statement!(
    /// Deployments moving on (to anything but aborted), their read models and events: the
    /// statement `events::PgUpdate` runs per event, over arrays.
    Update,
    concat!(
        "WITH ud AS (UPDATE deployments d SET status = x.status, \
         deployed_by = x.deployed_by, deployed_by_name = x.deployed_by_name, \
         deployed_by_email = x.deployed_by_email, build_url = x.build_url, \
         deploy_url = x.deploy_url, build_number = x.build_number, \
         source_system = x.source_system, started_at = x.started_at, \
         completed_at = x.completed_at, extra_metadata = x.extra_metadata, \
         updated_at = x.updated_at \
         FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
         ?::text[], ?::text[], ?::timestamp[], ?::timestamp[], ?::text[], ?::timestamp[], \
         ?::text[]) AS x(status, deployed_by, deployed_by_name, deployed_by_email, \
         build_url, deploy_url, build_number, source_system, started_at, completed_at, \
         extra_metadata, updated_at, id) \
         WHERE d.id = x.id RETURNING d.*), ",
        events::read_models_of_changed!(),
        insert_events!("TRUE")
    )
);

statement!(
    /// Events that changed nothing (a repeat, a late non-terminal one): logged only.
    Log,
    insert_events!("FALSE")
);
