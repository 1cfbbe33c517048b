//! `POST /api/deployment-events/` and `POST /api/build-events/` (alias `/api/version-events/`):
//! the write path CD tools use (SPEC §3).

use super::error::{parsed, ApiError, Located};
use super::extract::JsonBody;
use super::json::{BuildAnswerOut, DeploymentOut};
use crate::app::state::AppState;
use crate::domain::catalog::{BuildEvent, RawBuildEvent};
use crate::domain::deployment::{DeploymentEvent, RawDeploymentEvent};
use crate::domain::Error;
use crate::http::gate::{Actor, Events};
use crate::service::ingest::{self, Answer, Idempotency};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use utoipa::ToSchema;

/// A deployment step reported by a pipeline. Unknown fields are ignored and not stored.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
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
    /// pending, started, completed, failed, aborted, one of their aliases, or `building`
    /// (started) and `built` (completed).
    pub status: String,
    pub built_by: Option<String>,
    pub built_by_name: Option<String>,
    pub built_by_email: Option<String>,
    pub scm_sha: Option<String>,
    pub scm_branch: Option<String>,
    pub scm_repository: Option<String>,
    pub build_url: Option<String>,
    #[schema(value_type = Option<String>)]
    pub build_number: Option<Value>,
    pub source_system: Option<String>,
    pub invoke_id: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub extra_metadata: Option<Value>,
}

/// Build numbers arrive as strings or numbers depending on the CI system: as text, or the
/// error of anything else.
fn build_number<'a>(v: &'a Option<Value>, found: &mut Vec<Located>) -> Option<Cow<'a, str>> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Cow::Borrowed(s)),
        Some(Value::Number(n)) => Some(Cow::Owned(n.to_string())),
        Some(_) => {
            found.push(Located::at(
                &["body", "build_number"],
                "must be a string or a number",
                "value_error",
            ));
            None
        }
    }
}

impl DeploymentEventIn {
    /// The event as the log keeps it: the fields this API knows, as received (canonical JSON,
    /// absent and null fields left out). Unknown fields are not stored (SPEC §7): they would
    /// go around every limit the known ones have.
    fn logged(&self) -> Result<String, ApiError> {
        let mut value =
            serde_json::to_value(self).map_err(|e| ApiError::Domain(Error::internal(e)))?;
        if let Value::Object(fields) = &mut value {
            fields.retain(|_, v| !v.is_null());
        }
        Ok(value.to_string())
    }

    /// The event as a command, with what the event log keeps of it.
    fn parse(&self) -> Result<DeploymentEvent, ApiError> {
        let payload = self.logged()?;
        let mut found = Vec::new();
        let number = build_number(&self.build_number, &mut found);
        let raw = RawDeploymentEvent {
            product_name: &self.product_name,
            version: &self.version,
            environment_name: &self.environment_name,
            status: &self.status,
            deployed_by: self.deployed_by.as_deref(),
            deployed_by_name: self.deployed_by_name.as_deref(),
            deployed_by_email: self.deployed_by_email.as_deref(),
            scm_sha: self.scm_sha.as_deref(),
            scm_branch: self.scm_branch.as_deref(),
            scm_repository: self.scm_repository.as_deref(),
            build_url: self.build_url.as_deref(),
            deploy_url: self.deploy_url.as_deref(),
            build_number: number.as_deref(),
            source_system: self.source_system.as_deref(),
            invoke_id: self.invoke_id.as_deref(),
            started_at: self.started_at.as_deref(),
            completed_at: self.completed_at.as_deref(),
            extra_metadata: self.extra_metadata.as_ref(),
        };
        parsed(DeploymentEvent::parse(&raw, payload), found)
    }
}

impl BuildEventIn {
    fn parse(&self) -> Result<BuildEvent, ApiError> {
        let mut found = Vec::new();
        let number = build_number(&self.build_number, &mut found);
        let raw = RawBuildEvent {
            product_name: &self.product_name,
            version: &self.version,
            status: &self.status,
            built_by: self.built_by.as_deref(),
            built_by_name: self.built_by_name.as_deref(),
            built_by_email: self.built_by_email.as_deref(),
            scm_sha: self.scm_sha.as_deref(),
            scm_branch: self.scm_branch.as_deref(),
            scm_repository: self.scm_repository.as_deref(),
            build_url: self.build_url.as_deref(),
            build_number: number.as_deref(),
            source_system: self.source_system.as_deref(),
            invoke_id: self.invoke_id.as_deref(),
            started_at: self.started_at.as_deref(),
            completed_at: self.completed_at.as_deref(),
            extra_metadata: self.extra_metadata.as_ref(),
        };
        parsed(BuildEvent::parse(&raw), found)
    }
}

/// The `Idempotency-Key` header with the body's digest, if the client sent a usable key.
fn idempotency(
    req: &HttpRequest,
    request_hash: impl FnOnce() -> String,
    credential: String,
) -> Result<Option<Idempotency>, ApiError> {
    match req.headers().get("Idempotency-Key") {
        None => Ok(None),
        Some(v) => match v.to_str().map(str::trim) {
            Ok(k) if !k.is_empty() && k.len() <= 255 => Ok(Some(Idempotency {
                key: k.to_string(),
                request_hash: request_hash(),
                credential,
            })),
            _ => Err(ApiError::Invalid(vec![Located::at(
                &["header", "Idempotency-Key"],
                "must be 1–255 visible ASCII characters",
                "value_error",
            )])),
        },
    }
}

/// An answer as rendered (and maybe replayed byte for byte).
fn respond(answer: Answer) -> HttpResponse {
    let mut res =
        HttpResponse::build(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK));
    res.insert_header((header::CONTENT_TYPE, "application/json"));
    if answer.replayed {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    res.body(answer.body)
}

/// A body as JSON text, for an answer that may be stored.
fn json_text<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(Error::internal)
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
        (status = 409, description = "conflicting terminal status, or the idempotency key was used with another body"),
        (status = 422, description = "invalid field"),
    )
)]
pub async fn post_deployment_event(
    who: Actor<Events>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<DeploymentEventIn>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency(&req, || body.digest(), who.credential())?;
    let event = body.value.parse()?;
    let answer = ingest::record_deployment(&state.ctx, event, key, |recorded| {
        let body = json_text(&DeploymentOut::from_outcome(recorded))?;
        Ok((if recorded.created { 201 } else { 200 }, body))
    })
    .await?;
    Ok(respond(answer))
}

#[utoipa::path(
    post,
    path = "/api/build-events/",
    tag = "events",
    request_body = BuildEventIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses(
        (status = 201, description = "the version was registered", body = BuildAnswerOut),
        (status = 200, description = "the version was known already", body = BuildAnswerOut),
        (status = 409, description = "the version exists with another scm_sha, or the idempotency key was used with another body"),
        (status = 422, description = "invalid field"),
    )
)]
pub async fn post_build_event(
    who: Actor<Events>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<BuildEventIn>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency(&req, || body.digest(), who.credential())?;
    let event = body.value.parse()?;
    let status = event.status();
    let answer = ingest::record_build(&state.ctx, event, key, move |(row, created)| {
        let body = json_text(&BuildAnswerOut::new(row, status))?;
        Ok((if *created { 201 } else { 200 }, body))
    })
    .await?;
    Ok(respond(answer))
}
