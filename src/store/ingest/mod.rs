//! The fast write path of deployment events (SPEC §3): [`record`] writes one event inside the
//! caller's transaction — its catalog rows created on first mention, the deployment it belongs
//! to created or moved on, the read models, the append-only log entry — and [`batch`] writes
//! a whole group-commit batch's worth in a few statements (PostgreSQL).
//!
//! The rules are the domain's: which deployment an event belongs to and what it does to it
//! (`domain::deployment::correlate`), what it fills in (`Deployment::apply`, `Version::fill`).
//! Here is only how to find and write the rows in few statements, each kept prepared
//! ([`statements`], built from the column registry `store::rows`).

pub mod batch;
pub mod statements;

use super::catalog;
use super::error::{StoreError, TxError, TxResult};
use super::ids::{new_id, now};
use super::prepared::{self, Arg};
use super::read_models;
use super::rows::{deployment_row, event_row, product_row, version_row};
use super::AnyConnection;
use crate::domain::catalog::{Environment, NewEnvironment, Product, Version};
use crate::domain::deployment::{correlate, Deployment, DeploymentEvent, LoggedEvent, Next};
use crate::domain::Error;
use chrono::NaiveDateTime;
use diesel::QueryResult;
use statements::*;

/// What recording a deployment event did.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// A new deployment was created (201) rather than an existing one touched (200).
    pub created: bool,
    /// The deployment was created or moved on (false: the event was only logged).
    pub changed: bool,
    pub event_id: String,
    /// The deployment as it is now.
    pub deployment: Deployment,
    pub product: Product,
    pub version: Version,
    pub environment: Environment,
}

/// Records one deployment event inside the caller's write transaction.
///
/// The hot path of ingestion, so it is written for few statements: one lookup finds the
/// product, environment, version and the deployment the event may belong to; the domain decides
/// what the event does before anything is written (a refused event writes nothing); then one
/// statement per changed row on SQLite, one in all on PostgreSQL (where every statement is a
/// network round trip; SQLite runs in-process, where one statement per row costs less than
/// one that plans them all).
pub fn record(conn: &mut AnyConnection, event: &DeploymentEvent) -> TxResult<Recorded, Error> {
    catalog::lock_key(conn, &lock_key(event))?;
    let found = lookup(conn, event)?;
    let next = correlate(found.deployment, event).map_err(|c| TxError::Abort(c.into()))?;
    let environment = match found.environment {
        Some(e) => e,
        None => catalog::create_environment(conn, &NewEnvironment::named(&event.environment_name))?,
    };
    let t = now();
    let event_id = new_id();
    let pg = matches!(conn, AnyConnection::Postgresql(_));
    let mut logged = false;

    // On PostgreSQL new catalog rows go into the event's one statement.
    let (product, new_product) = match found.product {
        Some(p) => (p, false),
        None if pg => (Product::new(new_id(), &event.product_name, None, t), true),
        None => (
            catalog::create_product(conn, &event.product_name, None)?,
            false,
        ),
    };
    let (version, new_version) = match found.version {
        Some(mut v) => {
            catalog::fill_version(conn, &mut v, &event.facts)?;
            (v, false)
        }
        None if pg => (
            Version::new(new_id(), &product.id, &event.version, &event.facts, t),
            true,
        ),
        None => (
            catalog::insert_version(conn, &product, &event.version, &event.facts)?,
            false,
        ),
    };

    let (deployment, created, applied) = match next {
        Next::Create => {
            let d = Deployment::start(
                new_id(),
                &product.id,
                &version.id,
                &environment.id,
                event,
                t,
            );
            let entry = log_entry(&event_id, &d.id, event, true, t);
            if pg {
                let mut args: Vec<Arg<'_>> = product_row::args(&product).to_vec();
                args.push(new_product.into());
                args.extend(version_row::args(&version));
                args.push(new_version.into());
                args.extend(deployment_row::args(&d));
                args.extend(event_row::args(&entry));
                prepared::execute::<PgCreate>(conn, &args)?;
                logged = true;
            } else {
                prepared::execute::<InsertDeployment>(conn, &deployment_row::args(&d))?;
                read_models::record(conn, &d, true)?;
            }
            (d, true, true)
        }
        Next::Apply(mut d) => {
            d.apply(event, t);
            if pg && read_models_follow_in_sql(event.status) {
                let entry = log_entry(&event_id, &d.id, event, true, t);
                let mut args = deployment_row::update_args(&d).to_vec();
                args.extend(event_row::args(&entry));
                prepared::execute::<PgUpdate>(conn, &args)?;
                logged = true;
            } else {
                prepared::execute::<UpdateDeployment>(conn, &deployment_row::update_args(&d))?;
                read_models::record(conn, &d, false)?;
            }
            (d, false, true)
        }
        Next::Log(d) => (d, false, false),
    };
    // Every event is logged, applied or not (a repeat, a late non-terminal one).
    if !logged {
        let entry = log_entry(&event_id, &deployment.id, event, applied, t);
        prepared::execute::<InsertEvent>(conn, &event_row::args(&entry))?;
    }

    Ok(Recorded {
        created,
        changed: applied,
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
pub(super) fn lock_key(event: &DeploymentEvent) -> String {
    format!(
        "deploy\u{1f}{}\u{1f}{}",
        event.product_name, event.environment_name
    )
}

/// The event's entry in the append-only log.
fn log_entry(
    event_id: &str,
    deployment_id: &str,
    event: &DeploymentEvent,
    applied: bool,
    t: NaiveDateTime,
) -> LoggedEvent {
    LoggedEvent {
        id: event_id.to_string(),
        deployment_id: deployment_id.to_string(),
        status: event.status,
        reported_status: event.reported_status.clone(),
        applied,
        payload: event.payload.clone(),
        created_at: t,
    }
}

/// What one lookup found for an event: its catalog rows, and the deployment it may belong to.
struct Found {
    product: Option<Product>,
    environment: Option<Environment>,
    version: Option<Version>,
    deployment: Option<Deployment>,
}

/// A lookup row as loaded.
pub(super) type LookupRow = (
    Option<Product>,
    Option<Environment>,
    Option<Version>,
    Option<Deployment>,
);

/// One statement for the product, environment and version named by the event and the
/// deployment it may belong to (SPEC §3), so that correlation costs one round trip.
fn lookup(conn: &mut AnyConnection, event: &DeploymentEvent) -> QueryResult<Found> {
    let names: [Arg<'_>; 3] = [
        (&event.product_name).into(),
        (&event.environment_name).into(),
        (&event.version).into(),
    ];
    let pg = matches!(conn, AnyConnection::Postgresql(_));
    let row: Option<LookupRow> = match &event.invoke_id {
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

/// The deployment an event names would be correlated to, found as the write path finds it:
/// for tests that hold the lookup's SQL to `domain::deployment::candidate`.
pub fn candidate_of(
    conn: &mut AnyConnection,
    event: &DeploymentEvent,
) -> Result<Option<Deployment>, StoreError> {
    Ok(lookup(conn, event)?.deployment)
}
