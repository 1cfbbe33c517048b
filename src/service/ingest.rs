//! Pipelines reporting in (SPEC §3): deployment events and build events, with the
//! `Idempotency-Key` protocol that makes a retry safe.
//!
//! A face parses the event (`domain::deployment::DeploymentEvent::parse`,
//! `domain::catalog::BuildEvent::parse`) and says how to render the outcome; the use case
//! records it and hands back the [`Answer`]. With a key, the answer is rendered inside the
//! transaction and stored with the change, so that the same key with the same body returns the
//! first answer and changes nothing, and with another body is refused; without one, it is
//! rendered after the commit, on the request's own thread, so that the writer spends its time
//! on the database only.

use super::changes::Change;
use super::run::{self, Tx};
use super::Context;
use crate::domain::catalog::BuildEvent;
use crate::domain::deployment::DeploymentEvent;
use crate::domain::{Conflict, Error};
use crate::store::catalog::{self, VersionRow};
use crate::store::idempotency;
use crate::store::AnyConnection;
use std::sync::Arc;

pub use crate::store::ingest::Recorded;

/// The scopes answers are stored under: one per kind of event, followed by the credential
/// (`keyed`). Rows stored before keys belonged to credentials have the bare scope and are no
/// longer matched: such a retry is recorded as a new request (docs/decisions.md).
const DEPLOYMENT_EVENTS: &str = "deployment-events";
const BUILD_EVENTS: &str = "build-events";

/// An `Idempotency-Key` a client sent, with the digest of its request's body and the
/// credential that sent it (`Principal::credential`): keys of different credentials never
/// meet, so one client can neither replay another's answer nor make its event fail.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
    pub credential: String,
}

/// An answer as rendered by the face: status code and body. `replayed` when it is the stored
/// answer to an earlier request with the same key and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

impl Answer {
    /// A first answer (not a replay).
    fn fresh((status, body): (u16, String)) -> Answer {
        Answer {
            status,
            body,
            replayed: false,
        }
    }
}

/// Records a deployment event and answers with what `render` makes of the outcome.
pub async fn record_deployment<R>(
    ctx: &Context,
    event: DeploymentEvent,
    key: Option<Idempotency>,
    render: R,
) -> Result<Answer, Error>
where
    R: Fn(&Recorded) -> Result<(u16, String), Error> + Send + Sync + 'static,
{
    let (answer, recorded) = match key {
        // The common case: recorded as the event it is, so that a batch's events can be
        // written together (`store::ingest::batch`).
        None => {
            let recorded = run::record_event(&ctx.db, event).await?;
            (Answer::fresh(render(&recorded)?), Some(recorded))
        }
        Some(key) => {
            keyed(ctx, DEPLOYMENT_EVENTS, key, render, move |conn| {
                crate::store::ingest::record(conn, &event)
            })
            .await?
        }
    };
    if let Some(r) = recorded.filter(|r| r.changed) {
        ctx.changes.announce(|| Change::Deployment {
            id: r.deployment.id,
            product_id: r.deployment.product_id,
            version_id: r.deployment.version_id,
            environment_id: r.deployment.environment_id,
            status: r.deployment.status,
        });
    }
    Ok(answer)
}

/// What a build event registered: the version, and whether it was new.
pub type Registered = (VersionRow, bool);

/// Records a build event: registers the version (and its product) and answers with what
/// `render` makes of it.
pub async fn record_build<R>(
    ctx: &Context,
    event: BuildEvent,
    key: Option<Idempotency>,
    render: R,
) -> Result<Answer, Error>
where
    R: Fn(&Registered) -> Result<(u16, String), Error> + Send + Sync + 'static,
{
    let work = move |conn: &mut AnyConnection| register_build(conn, &event);
    let (answer, registered) = match key {
        None => {
            let registered = run::write_bare(&ctx.db, work).await?;
            (Answer::fresh(render(&registered)?), Some(registered))
        }
        Some(key) => keyed(ctx, BUILD_EVENTS, key, render, work).await?,
    };
    if let Some((row, true)) = registered {
        ctx.changes.announce(|| Change::Version {
            id: row.version.id,
            product_id: row.version.product_id,
        });
    }
    Ok(answer)
}

/// Registers a build: the version is immutable, so a build naming another commit than the one
/// registered is refused (`Version::check_build`); otherwise its facts fill empty fields.
pub(crate) fn register_build(conn: &mut AnyConnection, event: &BuildEvent) -> Tx<Registered> {
    catalog::lock_key(
        conn,
        &format!("build\u{1f}{}\u{1f}{}", event.product_name, event.version),
    )?;
    let product = catalog::find_or_create_product(conn, &event.product_name)?;
    if let Some(existing) = catalog::version_of(conn, &product.id, &event.version)? {
        existing.check_build(&product.name, &event.facts)?;
    }
    let (version, created) =
        catalog::find_or_create_version(conn, &product, &event.version, &event.facts)?;
    let row = VersionRow {
        version,
        product_name: product.name,
    };
    Ok((row, created))
}

/// Runs `work` behind the idempotency key, in one write transaction with the stored answer.
/// Returns the answer, and the outcome when it is a first answer (not a replay).
async fn keyed<T, W, R>(
    ctx: &Context,
    scope: &'static str,
    key: Idempotency,
    render: R,
    mut work: W,
) -> Result<(Answer, Option<T>), Error>
where
    T: Send + 'static,
    W: FnMut(&mut AnyConnection) -> Tx<T> + Send + 'static,
    R: Fn(&T) -> Result<(u16, String), Error> + Send + Sync + 'static,
{
    let render = Arc::new(render);
    // Stored per (route, credential), keyed by the client's key: the table's primary key is
    // (scope, key).
    let scope = format!("{scope}\u{1f}{}", key.credential);
    // Both kinds of event take their lock before they write (see `run::write_bare`).
    run::write_bare(&ctx.db, move |conn| {
        if let Some(stored) = idempotency::lookup(conn, &scope, &key.key)? {
            if stored.request_hash != key.request_hash {
                return Err(Conflict::IdempotencyKeyReused {
                    key: key.key.clone(),
                }
                .into());
            }
            let answer = Answer {
                status: stored.status,
                body: stored.body,
                replayed: true,
            };
            return Ok((answer, None));
        }
        let outcome = work(conn)?;
        let answer = Answer::fresh(render(&outcome)?);
        idempotency::store(
            conn,
            &scope,
            &key.key,
            &key.request_hash,
            answer.status,
            &answer.body,
        )?;
        Ok((answer, Some(outcome)))
    })
    .await
}
