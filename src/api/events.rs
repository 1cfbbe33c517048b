//! `POST /api/deployment-events/` and `POST /api/build-events/` (alias `/api/version-events/`):
//! the write path CD tools use (SPEC §3).

use super::extract::{Checker, JsonBody};
use super::json::{DeploymentOut, VersionOut};
use crate::db::catalog::BuildFacts;
use crate::db::events::{self, BuildEventInput, DeploymentEventInput, Replay};
use crate::domain::{validate, DeploymentStatus};
use crate::error::AppError;
use crate::gate::{Actor, Events};
use crate::startup::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, SubsecRound};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A deployment step reported by a pipeline. Unknown fields are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeploymentEventIn {
    pub product_name: String,
    pub version: String,
    pub environment_name: String,
    /// pending, started, completed, failed, aborted, or one of their aliases.
    pub status: String,
    pub deployed_by: Option<String>,
    pub deployed_by_name: Option<String>,
    pub deployed_by_email: Option<String>,
    pub scm_sha: Option<String>,
    pub scm_branch: Option<String>,
    pub scm_repository: Option<String>,
    pub build_url: Option<String>,
    pub deploy_url: Option<String>,
    #[schema(value_type = Option<String>)]
    pub build_number: Option<Value>,
    pub source_system: Option<String>,
    pub invoke_id: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub extra_metadata: Option<Value>,
}

/// A build of a version reported by a pipeline. Unknown fields are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BuildEventIn {
    pub product_name: String,
    pub version: String,
    pub status: String,
    pub built_by: Option<String>,
    pub scm_sha: Option<String>,
    pub scm_branch: Option<String>,
    pub scm_repository: Option<String>,
    pub build_url: Option<String>,
    #[schema(value_type = Option<String>)]
    pub build_number: Option<Value>,
    pub source_system: Option<String>,
    pub invoke_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub extra_metadata: Option<Value>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/deployment-events", web::post().to(post_deployment_event))
        .route("/build-events", web::post().to(post_build_event))
        .route("/version-events", web::post().to(post_build_event));
}

/// Build numbers arrive as strings or numbers depending on the CI system.
fn text_or_number(v: &Option<Value>) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => validate::optional_text(Some(s), validate::MAX_TEXT_CHARS),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err("must be a string or a number".into()),
    }
}

fn timestamp(raw: &Option<String>) -> Result<Option<NaiveDateTime>, String> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.naive_utc().trunc_subsecs(6)))
            .map_err(|_| "must be an RFC 3339 time such as 2024-11-06T10:00:00Z".into()),
    }
}

fn text(c: &mut Checker, field: &str, v: &Option<String>) -> Option<String> {
    c.check(
        field,
        validate::optional_text(v.as_deref(), validate::MAX_TEXT_CHARS),
    )
}

fn metadata(c: &mut Checker, v: &Option<Value>) -> Option<String> {
    v.as_ref()
        .map(|v| c.check("extra_metadata", validate::metadata(v)))
}

impl DeploymentEventIn {
    fn validate(&self, payload: String) -> Result<DeploymentEventInput, AppError> {
        let mut c = Checker::default();
        let product_name = c.check("product_name", validate::name(&self.product_name));
        let version = c.check("version", validate::version(&self.version));
        let environment_name = c.check("environment_name", validate::name(&self.environment_name));
        let status = DeploymentStatus::normalise(&self.status);
        if status.is_none() {
            c.error(
                "status",
                format!(
                    "unknown status '{}'; use pending, started, completed, failed or aborted \
                     (or an alias such as success, in_progress, cancelled)",
                    self.status.trim()
                ),
            );
        }
        let scm_sha = text(&mut c, "scm_sha", &self.scm_sha);
        let scm_branch = text(&mut c, "scm_branch", &self.scm_branch);
        let scm_repository = text(&mut c, "scm_repository", &self.scm_repository);
        let build_url = text(&mut c, "build_url", &self.build_url);
        let build_number = c.check("build_number", text_or_number(&self.build_number));
        let source_system = text(&mut c, "source_system", &self.source_system);
        let input = DeploymentEventInput {
            invoke_id: text(&mut c, "invoke_id", &self.invoke_id),
            deployed_by: text(&mut c, "deployed_by", &self.deployed_by),
            deployed_by_name: text(&mut c, "deployed_by_name", &self.deployed_by_name),
            deployed_by_email: text(&mut c, "deployed_by_email", &self.deployed_by_email),
            deploy_url: text(&mut c, "deploy_url", &self.deploy_url),
            started_at: c.check("started_at", timestamp(&self.started_at)),
            completed_at: c.check("completed_at", timestamp(&self.completed_at)),
            extra_metadata: metadata(&mut c, &self.extra_metadata),
            facts: BuildFacts {
                scm_sha,
                scm_branch,
                scm_repository,
                build_url: build_url.clone(),
                build_number: build_number.clone(),
                built_by: None,
                source_system: source_system.clone(),
                extra_metadata: None,
            },
            product_name,
            version,
            environment_name,
            status: status.unwrap_or(DeploymentStatus::Pending),
            reported_status: self.status.clone(),
            build_url,
            build_number,
            source_system,
            payload,
        };
        c.finish()?;
        Ok(input)
    }
}

impl BuildEventIn {
    fn validate(&self) -> Result<BuildEventInput, AppError> {
        let mut c = Checker::default();
        let product_name = c.check("product_name", validate::name(&self.product_name));
        let version = c.check("version", validate::version(&self.version));
        // Build events never touch deployments, but an unknown status is still a client bug.
        if DeploymentStatus::normalise(&self.status).is_none() {
            c.error(
                "status",
                format!(
                    "unknown status '{}'; use pending, started, completed, failed or aborted",
                    self.status.trim()
                ),
            );
        }
        let facts = BuildFacts {
            scm_sha: text(&mut c, "scm_sha", &self.scm_sha),
            scm_branch: text(&mut c, "scm_branch", &self.scm_branch),
            scm_repository: text(&mut c, "scm_repository", &self.scm_repository),
            build_url: text(&mut c, "build_url", &self.build_url),
            build_number: c.check("build_number", text_or_number(&self.build_number)),
            built_by: text(&mut c, "built_by", &self.built_by),
            source_system: text(&mut c, "source_system", &self.source_system),
            extra_metadata: metadata(&mut c, &self.extra_metadata),
        };
        text(&mut c, "invoke_id", &self.invoke_id);
        c.finish()?;
        Ok(BuildEventInput {
            product_name,
            version,
            facts,
        })
    }
}

/// The `Idempotency-Key` header, if the client sent a usable one.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    match req.headers().get("Idempotency-Key") {
        None => Ok(None),
        Some(v) => match v.to_str().map(str::trim) {
            Ok(k) if !k.is_empty() && k.len() <= 255 => Ok(Some(k.to_string())),
            _ => Err(AppError::Validation(vec![crate::error::FieldError::at(
                &["header", "Idempotency-Key"],
                "must be 1–255 visible ASCII characters",
                "value_error",
            )])),
        },
    }
}

/// An answer that can be replayed byte for byte.
struct Answer {
    status: u16,
    body: String,
    replayed: bool,
}

impl Answer {
    /// A first answer (not a replay) of `status` with `body`.
    fn fresh((status, body): (u16, String)) -> Answer {
        Answer {
            status,
            body,
            replayed: false,
        }
    }

    fn respond(self) -> HttpResponse {
        let mut res =
            HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK));
        res.insert_header((header::CONTENT_TYPE, "application/json"));
        if self.replayed {
            res.insert_header(("Idempotent-Replayed", "true"));
        }
        res.body(self.body)
    }
}

/// Runs `work` in one write transaction, behind the idempotency check when a key was sent:
/// the stored answer commits with the change, so a retry can never apply an event twice.
///
/// `render` turns the outcome into the answer. Without a key it runs after the commit, on the
/// request's own thread, so the (single) SQLite writer spends its time on the database only.
async fn idempotent<T, F, R>(
    state: &AppState,
    scope: &'static str,
    key: Option<String>,
    digest: String,
    mut work: F,
    render: R,
) -> Result<HttpResponse, AppError>
where
    T: Send + 'static,
    F: FnMut(&mut crate::db::AnyConnection) -> Result<T, AppError> + Send + 'static,
    R: Fn(&T) -> Result<(u16, String), AppError> + Send + Sync + 'static,
{
    let render = std::sync::Arc::new(render);
    let render_inside = render.clone();
    // Both event kinds take their lock before they write (`db::events`).
    let done = state
        .db
        .write_bare(move |conn| {
            let Some(key) = &key else {
                return Ok(Done::Value(work(conn)?));
            };
            if let Replay::Same { status, body } =
                events::idempotency_lookup(conn, scope, key, &digest)?
            {
                return Ok(Done::Answered(Answer {
                    status,
                    body,
                    replayed: true,
                }));
            }
            let answer = Answer::fresh(render_inside(&work(conn)?)?);
            events::idempotency_store(conn, scope, key, &digest, answer.status, &answer.body)?;
            Ok(Done::Answered(answer))
        })
        .await?;
    let answer = match done {
        Done::Answered(answer) => answer,
        Done::Value(value) => Answer::fresh(render(&value)?),
    };
    Ok(answer.respond())
}

/// What a write transaction hands back: an answer already rendered (and stored under its
/// idempotency key), or the outcome to render.
enum Done<T> {
    Answered(Answer),
    Value(T),
}

#[utoipa::path(
    post,
    path = "/api/deployment-events/",
    tag = "events",
    request_body = DeploymentEventIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, description = "a new deployment was created", body = DeploymentOut),
        (status = 200, description = "an existing deployment was updated, or no-op", body = DeploymentOut),
        (status = 409, description = "conflicting terminal status or idempotency key reuse"),
        (status = 422, description = "invalid field"),
    )
)]
pub async fn post_deployment_event(
    _who: Actor<Events>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<DeploymentEventIn>,
) -> Result<HttpResponse, AppError> {
    let key = idempotency_key(&req)?;
    let digest = body.digest();
    let input = body.value.validate(body.canonical)?;
    let render = |outcome: &events::DeploymentOutcome| -> Result<(u16, String), AppError> {
        let body = serde_json::to_string(&DeploymentOut::from_outcome(outcome))
            .map_err(anyhow::Error::from)?;
        Ok((if outcome.created { 201 } else { 200 }, body))
    };
    if key.is_none() {
        // The common case: recorded as the event it is, so that a batch's events can be
        // written together (`db::event_batch`).
        return Ok(Answer::fresh(render(&state.db.record_event(input).await?)?).respond());
    }
    idempotent(
        &state,
        "deployment-events",
        key,
        digest,
        move |conn| events::record_deployment_event(conn, &input),
        render,
    )
    .await
}

#[utoipa::path(
    post,
    path = "/api/build-events/",
    tag = "events",
    request_body = BuildEventIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, description = "the version was registered", body = VersionOut),
        (status = 200, description = "the version was known already", body = VersionOut),
        (status = 409, description = "the version exists with another scm_sha"),
        (status = 422, description = "invalid field"),
    )
)]
pub async fn post_build_event(
    _who: Actor<Events>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<BuildEventIn>,
) -> Result<HttpResponse, AppError> {
    let key = idempotency_key(&req)?;
    let digest = body.digest();
    let input = body.value.validate()?;
    idempotent(
        &state,
        "build-events",
        key,
        digest,
        move |conn| events::record_build_event(conn, &input),
        |(row, created)| {
            let body =
                serde_json::to_string(&VersionOut::from(row)).map_err(anyhow::Error::from)?;
            Ok((if *created { 201 } else { 200 }, body))
        },
    )
    .await
}
