//! Deployment events recorded together (PostgreSQL): a group-commit batch's events in a few
//! set-based statements instead of three statements each.
//!
//! One by one ([`super::record`]), each event costs an advisory lock, a lookup and a write
//! statement: three round trips, and three times PostgreSQL's fixed cost of a statement
//! (binding, executor start-up, triggers' set-up), which profiles showed to be a large part of
//! the database's work. Here a batch takes all its events' locks in one statement, looks them
//! all up in one, and writes them in one per kind of change (new deployments, deployments
//! moving on, events only logged) — the same SQL as the one-by-one path
//! (`statements::read_models_of_new` and the others), over arrays (`unnest`), and the same
//! rules (`domain::deployment`).
//!
//! Only events that cannot see each other's writes go together: one per lock key, and at most
//! one creating any product or version. The others — and those needing a new environment,
//! filling a version's build facts, or aborting a deployment (which looks the cell's head up
//! again) — are left to the one-by-one path, which runs after this in the same transaction and
//! so sees these writes. Same order per key, same rules, same rows: only fewer statements.

use super::statements::{
    read_models_follow_in_sql, BatchCreate, BatchLog, BatchLookup, BatchUpdate, LookupSql, TryLocks,
};
use super::{lock_key, log_entry, LookupRow, Recorded};
use crate::domain::catalog::{Environment, Product, Version};
use crate::domain::deployment::{correlate, Deployment, DeploymentEvent, LoggedEvent, Next};
use crate::domain::Error;
use crate::store::error::{TxError, TxResult};
use crate::store::ids::{new_id, now};
use crate::store::prepared::set::{self, Table};
use crate::store::rows::{deployment_row, event_row, product_row, version_row};
use crate::store::AnyConnection;
use chrono::NaiveDateTime;
use diesel::sql_types::Bool;
use diesel::QueryResult;
use std::collections::HashSet;

/// What recording a batch's events together did.
pub struct Together {
    /// Per event, in the order given: its outcome, or `None` when it is left to the
    /// one-by-one path.
    pub outcomes: Vec<Option<TxResult<Recorded, Error>>>,
    /// Whether the transaction now holds advisory locks (see `store::writer`).
    pub locked: bool,
}

/// Records what it can of `inputs` inside the caller's transaction (see the module
/// documentation). On SQLite nothing: there a statement costs no round trip.
pub fn record_together(
    conn: &mut AnyConnection,
    inputs: &[&DeploymentEvent],
) -> QueryResult<Together> {
    let mut outcomes: Vec<Option<TxResult<Recorded, Error>>> =
        inputs.iter().map(|_| None).collect();
    let AnyConnection::Postgresql(pg) = conn else {
        return Ok(Together {
            outcomes,
            locked: false,
        });
    };

    // The first event of each lock key; the later ones apply after it, one by one.
    let keys: Vec<String> = inputs.iter().map(|i| lock_key(i)).collect();
    let mut seen = HashSet::new();
    let first: Vec<usize> = (0..inputs.len())
        .filter(|&i| seen.insert(keys[i].as_str()))
        .collect();

    // Try every lock, never wait: a batch never waits while it holds locks (`store::writer`).
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
    let found: Vec<LookupRow> = set::load::<BatchLookup, LookupSql, LookupRow>(pg, &[names])?;
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
                outcomes[i] = Some(Err(TxError::Abort(refused.into())));
                continue;
            }
        };
        if matches!(next, Next::Apply(_)) && !read_models_follow_in_sql(input.status) {
            continue;
        }
        if let Some(v) = &version {
            if v.clone().fill(&input.facts) {
                continue;
            }
        }
        let version_key = (input.product_name.as_str(), input.version.as_str());
        if (product.is_none() && new_products.contains(&input.product_name))
            || (version.is_none() && new_versions.contains(&version_key))
        {
            continue;
        }
        let t = now();
        let (product, new_product) = match product {
            Some(p) => (p, false),
            None => {
                new_products.insert(input.product_name.clone());
                (Product::new(new_id(), &input.product_name, None, t), true)
            }
        };
        let (version, new_version) = match version {
            Some(v) => (v, false),
            None => {
                new_versions.insert(version_key);
                (
                    Version::new(new_id(), &product.id, &input.version, &input.facts, t),
                    true,
                )
            }
        };
        let (deployment, change) = match next {
            Next::Create => (
                Deployment::start(
                    new_id(),
                    &product.id,
                    &version.id,
                    &environment.id,
                    input,
                    t,
                ),
                Change::Created {
                    new_product,
                    new_version,
                },
            ),
            Next::Apply(mut d) => {
                d.apply(input, t);
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
        outcomes[plan.at] = Some(Ok(Recorded {
            created: matches!(plan.change, Change::Created { .. }),
            changed: !matches!(plan.change, Change::Logged),
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
    inputs: &[&DeploymentEvent],
    plans: &[Plan],
) -> QueryResult<()> {
    // The log entries first: the tables below borrow from them.
    let entries: Vec<LoggedEvent> = plans
        .iter()
        .map(|plan| {
            let applied = !matches!(plan.change, Change::Logged);
            log_entry(
                &plan.event_id,
                &plan.deployment.id,
                inputs[plan.at],
                applied,
                plan.t,
            )
        })
        .collect();
    let mut products = Table::new::<{ product_row::N }>();
    let mut versions = Table::new::<{ version_row::N }>();
    let mut created = Table::new::<{ deployment_row::N }>();
    let mut created_events = Table::new::<{ event_row::N }>();
    let mut changed = Table::new::<{ deployment_row::NC + 1 }>();
    let mut changed_events = Table::new::<{ event_row::N }>();
    let mut logged_events = Table::new::<{ event_row::N }>();
    for (plan, entry) in plans.iter().zip(&entries) {
        let event = event_row::args(entry);
        match plan.change {
            Change::Created {
                new_product,
                new_version,
            } => {
                if new_product {
                    products.push(product_row::args(&plan.product));
                }
                if new_version {
                    versions.push(version_row::args(&plan.version));
                }
                created.push(deployment_row::args(&plan.deployment));
                created_events.push(event);
            }
            Change::Applied => {
                changed.push(deployment_row::update_args(&plan.deployment));
                changed_events.push(event);
            }
            Change::Logged => logged_events.push(event),
        }
    }
    if !created.is_empty() {
        set::execute::<BatchCreate>(pg, &[products, versions, created, created_events])?;
    }
    if !changed.is_empty() {
        set::execute::<BatchUpdate>(pg, &[changed, changed_events])?;
    }
    if !logged_events.is_empty() {
        set::execute::<BatchLog>(pg, &[logged_events])?;
    }
    Ok(())
}
