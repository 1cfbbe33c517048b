//! The event write path (SPEC §3): one function per event kind, each a single transaction that
//! auto-creates the catalog, correlates, applies the transition and appends to the event log.

use super::catalog::{self, BuildFacts, VersionRow};
use super::heads;
use super::ids::{new_id, now};
use super::models::{Deployment, DeploymentEvent, Environment, IdempotencyRecord, Product};
use super::schema::{deployment_events, deployments, idempotency_keys};
use super::AnyConnection;
use crate::domain::{DeploymentStatus, Transition};
use crate::error::AppError;
use chrono::NaiveDateTime;
use diesel::prelude::*;

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
pub fn record_deployment_event(
    conn: &mut AnyConnection,
    input: &DeploymentEventInput,
) -> Result<DeploymentOutcome, AppError> {
    // Concurrent events for one product in one environment apply one at a time: besides the
    // deployment they correlate to, they share the read models of (product, environment).
    catalog::lock_key(
        conn,
        &format!(
            "deploy\u{1f}{}\u{1f}{}",
            input.product_name, input.environment_name
        ),
    )?;
    let product = catalog::find_or_create_product(conn, &input.product_name)?;
    let environment = catalog::find_or_create_environment(conn, &input.environment_name)?;
    let (version, _) =
        catalog::find_or_create_version(conn, &product, &input.version, &input.facts)?;

    let existing = correlate(
        conn,
        &version.id,
        &environment.id,
        input.invoke_id.as_deref(),
    )?;
    let t = now();
    let (deployment, created, applied) = match existing {
        None => {
            let d = insert_deployment(conn, &product, &version.id, &environment, input, t)?;
            heads::record(conn, &d, true)?;
            (d, true, true)
        }
        Some(mut d) => {
            let current = d.status();
            match DeploymentStatus::transition(current, input.status) {
                Transition::Apply => {
                    apply(&mut d, input, t);
                    diesel::update(deployments::table.find(&d.id))
                        .set(&d)
                        .execute(conn)?;
                    heads::record(conn, &d, false)?;
                    (d, false, true)
                }
                Transition::NoOp | Transition::LogOnly => (d, false, false),
                Transition::Conflict => {
                    return Err(AppError::Conflict(format!(
                        "deployment {} of {} {} to {} is already {}; a '{}' event cannot change it \
                         (send a new invoke_id to record a redeploy)",
                        d.id,
                        product.name,
                        version.version,
                        environment.name,
                        current.as_str(),
                        input.status.as_str()
                    )))
                }
            }
        }
    };

    let event = DeploymentEvent {
        id: new_id(),
        deployment_id: deployment.id.clone(),
        status: input.status.as_str().to_string(),
        reported_status: input.reported_status.clone(),
        applied,
        payload: input.payload.clone(),
        created_at: t,
    };
    diesel::insert_into(deployment_events::table)
        .values(&event)
        .execute(conn)?;

    Ok(DeploymentOutcome {
        created,
        event_id: event.id,
        deployment,
        product,
        version,
        environment,
    })
}

/// SPEC §3 correlation: by invoke_id when given; otherwise the latest deployment of this
/// version in this environment while it is still open (a finished one means a redeploy).
fn correlate(
    conn: &mut AnyConnection,
    version_id: &str,
    environment_id: &str,
    invoke_id: Option<&str>,
) -> QueryResult<Option<Deployment>> {
    let base = deployments::table
        .filter(deployments::version_id.eq(version_id))
        .filter(deployments::environment_id.eq(environment_id))
        .select(Deployment::as_select());
    match invoke_id {
        Some(invoke_id) => base
            .filter(deployments::invoke_id.eq(invoke_id))
            .first(conn)
            .optional(),
        None => {
            let latest = base
                .order((deployments::created_at.desc(), deployments::id.desc()))
                .first(conn)
                .optional()?;
            Ok(latest.filter(|d| !d.status().is_terminal()))
        }
    }
}

fn insert_deployment(
    conn: &mut AnyConnection,
    product: &Product,
    version_id: &str,
    environment: &Environment,
    input: &DeploymentEventInput,
    t: NaiveDateTime,
) -> QueryResult<Deployment> {
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
    diesel::insert_into(deployments::table)
        .values(&d)
        .execute(conn)?;
    Ok(d)
}

/// Moves a deployment to the event's status and fills in what the event tells about it.
fn apply(d: &mut Deployment, input: &DeploymentEventInput, t: NaiveDateTime) {
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
    let found = idempotency_keys::table
        .find((scope, key))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .optional()?;
    match found {
        None => Ok(Replay::Fresh),
        Some(r) if r.request_hash == request_hash => Ok(Replay::Same {
            status: u16::try_from(r.response_status).unwrap_or(200),
            body: r.response_body,
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
    diesel::insert_into(idempotency_keys::table)
        .values(&IdempotencyRecord {
            scope: scope.to_string(),
            idem_key: key.to_string(),
            request_hash: request_hash.to_string(),
            response_status: i32::from(status),
            response_body: body.to_string(),
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}
