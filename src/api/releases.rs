//! The releases API (SPEC §4): lifecycle, composition, matrix, audit trail.

use super::extract::{double_option, path_id, Checker, JsonBody};
use super::json::{
    AuditOut, DeploymentOut, MatrixOut, ProgressOut, ReleaseDetailOut, ReleaseOut, VersionOut,
};
use super::Page;
use crate::db::deployments::{self, DeploymentFilter};
use crate::db::releases::{self, NewReleaseInput, ReleaseChanges, ReleaseFilter, VersionRef};
use crate::db::{matrix, AnyConnection};
use crate::domain::{validate, ReleaseStatus};
use crate::error::AppError;
use crate::gate::{Actor, Releases};
use crate::startup::AppState;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/releases")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/releases/{id}")
            .route(web::get().to(detail))
            .route(web::patch().to(update)),
    )
    .service(
        web::resource("/releases/{id}/versions")
            .route(web::get().to(versions))
            .route(web::post().to(add_version)),
    )
    .route(
        "/releases/{id}/versions/{version_id}",
        web::delete().to(remove_version),
    )
    .route(
        "/releases/{id}/deployments",
        web::get().to(release_deployments),
    )
    .route("/releases/{id}/matrix", web::get().to(release_matrix))
    .route("/releases/{id}/audit", web::get().to(audit));
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReleaseIn {
    pub name: String,
    pub description: Option<String>,
    /// draft (default), in_progress, completed or cancelled.
    pub status: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub extra_metadata: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReleasePatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub status: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub extra_metadata: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddVersionIn {
    pub version_id: Option<String>,
    pub product_name: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// draft, in_progress, completed or cancelled.
    pub status: Option<String>,
    /// Name contains, case-insensitively.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn parse_status(c: &mut Checker, raw: &str) -> ReleaseStatus {
    c.check(
        "status",
        ReleaseStatus::parse(raw).ok_or_else(|| {
            format!(
                "unknown status '{}'; use draft, in_progress, completed or cancelled",
                raw.trim()
            )
        }),
    )
}

impl ReleaseIn {
    pub fn validate(&self) -> Result<NewReleaseInput, AppError> {
        let mut c = Checker::default();
        let name = c.check("name", validate::name(&self.name));
        let description = c.check(
            "description",
            validate::optional_text(self.description.as_deref(), validate::MAX_DESCRIPTION_CHARS),
        );
        let status = match &self.status {
            None => ReleaseStatus::Draft,
            Some(s) => parse_status(&mut c, s),
        };
        let extra_metadata = c.check(
            "extra_metadata",
            validate::metadata(self.extra_metadata.as_ref().unwrap_or(&Value::Null)),
        );
        c.finish()?;
        Ok(NewReleaseInput {
            name,
            description,
            status,
            extra_metadata,
        })
    }
}

impl ReleasePatch {
    pub fn validate(&self) -> Result<ReleaseChanges, AppError> {
        let mut c = Checker::default();
        let changes = ReleaseChanges {
            name: self
                .name
                .as_ref()
                .map(|n| c.check("name", validate::name(n))),
            description: self.description.as_ref().map(|d| {
                c.check(
                    "description",
                    validate::optional_text(d.as_deref(), validate::MAX_DESCRIPTION_CHARS),
                )
            }),
            status: self.status.as_ref().map(|s| parse_status(&mut c, s)),
            extra_metadata: self
                .extra_metadata
                .as_ref()
                .map(|m| c.check("extra_metadata", validate::metadata(m))),
        };
        c.finish()?;
        Ok(changes)
    }
}

impl AddVersionIn {
    fn validate(&self) -> Result<VersionRef, AppError> {
        let mut c = Checker::default();
        let which = match (&self.version_id, &self.product_name, &self.version) {
            (Some(id), _, _) => match crate::db::ids::parse(id) {
                Some(id) => VersionRef::Id(id),
                None => return Err(AppError::NotFound(format!("version {id} not found"))),
            },
            (None, Some(product), Some(version)) => VersionRef::Named {
                product: c.check("product_name", validate::name(product)),
                version: c.check("version", validate::version(version)),
            },
            (None, None, _) => {
                c.error("version_id", "give version_id, or product_name and version");
                VersionRef::Id(String::new())
            }
            (None, Some(_), None) => {
                c.error("version", "field required with product_name");
                VersionRef::Id(String::new())
            }
        };
        c.finish()?;
        Ok(which)
    }
}

fn summary_json(conn: &mut AnyConnection, id: &str) -> Result<ReleaseOut, AppError> {
    Ok(ReleaseOut::from(&releases::summary(conn, id)?))
}

#[utoipa::path(post, path = "/api/releases/", tag = "releases", request_body = ReleaseIn,
    responses((status = 201, body = ReleaseOut), (status = 409, description = "name taken"), (status = 422)))]
pub async fn create(
    actor: Actor<Releases>,
    state: web::Data<AppState>,
    body: JsonBody<ReleaseIn>,
) -> Result<HttpResponse, AppError> {
    let input = body.value.validate()?;
    let out = state
        .db
        .write(move |conn| {
            let r = releases::create(conn, &input, &actor.name())?;
            summary_json(conn, &r.id)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[utoipa::path(get, path = "/api/releases/", tag = "releases", params(ListQuery),
    responses((status = 200, body = Vec<ReleaseOut>, headers(("X-Total-Count" = i64)))))]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let mut c = Checker::default();
    let statuses = match &q.status {
        Some(s) if !s.trim().is_empty() => vec![parse_status(&mut c, s)],
        _ => vec![],
    };
    let page = Page::checked(&mut c, q.limit, q.offset);
    c.finish().map_err(super::as_query_error)?;
    let filter = ReleaseFilter {
        statuses,
        name_contains: q.q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        limit: page.limit,
        offset: page.offset,
        by_completion: false,
    };
    let (rows, total) = state
        .db
        .read(move |conn| Ok(releases::list(conn, &filter)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(rows.iter().map(ReleaseOut::from).collect::<Vec<_>>()))
}

#[utoipa::path(get, path = "/api/releases/{id}", tag = "releases",
    responses((status = 200, body = ReleaseDetailOut), (status = 404)))]
pub async fn detail(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "release")?;
    let out = state
        .db
        .read(move |conn| {
            let release = summary_json(conn, &id)?;
            let versions = releases::versions(conn, &id)?;
            let m = matrix::release_matrix(conn, &id)?;
            Ok(ReleaseDetailOut {
                release,
                versions: versions.iter().map(VersionOut::from).collect(),
                progress: ProgressOut::from(&m),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(patch, path = "/api/releases/{id}", tag = "releases", request_body = ReleasePatch,
    responses((status = 200, body = ReleaseOut), (status = 404), (status = 409, description = "archived or name taken"), (status = 422)))]
pub async fn update(
    actor: Actor<Releases>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<ReleasePatch>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "release")?;
    let changes = body.value.validate()?;
    let out = state
        .db
        .write(move |conn| {
            releases::update(conn, &id, &changes, &actor.name())?;
            summary_json(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(post, path = "/api/releases/{id}/versions", tag = "releases", request_body = AddVersionIn,
    responses((status = 201, description = "added", body = VersionOut), (status = 200, description = "already there", body = VersionOut),
        (status = 404), (status = 409, description = "another version of the product is there, or the release is archived")))]
pub async fn add_version(
    actor: Actor<Releases>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<AddVersionIn>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "release")?;
    let which = body.value.validate()?;
    let (row, added) = state
        .db
        .write(move |conn| releases::add_version(conn, &id, &which, &actor.name()))
        .await?;
    let out = VersionOut::from(&row);
    Ok(if added {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    })
}

#[utoipa::path(delete, path = "/api/releases/{id}/versions/{version_id}", tag = "releases",
    responses((status = 204), (status = 404), (status = 409, description = "archived")))]
pub async fn remove_version(
    actor: Actor<Releases>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, version_id) = path.into_inner();
    let id = path_id(&id, "release")?;
    let version_id = path_id(&version_id, "version")?;
    state
        .db
        .write(move |conn| releases::remove_version(conn, &id, &version_id, &actor.name()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/releases/{id}/versions", tag = "releases",
    responses((status = 200, body = Vec<VersionOut>), (status = 404)))]
pub async fn versions(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "release")?;
    let rows = state
        .db
        .read(move |conn| {
            releases::get(conn, &id)?;
            Ok(releases::versions(conn, &id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(VersionOut::from).collect::<Vec<_>>()))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/releases/{id}/deployments", tag = "releases", params(PageQuery),
    responses((status = 200, body = Vec<DeploymentOut>), (status = 404)))]
pub async fn release_deployments(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "release")?;
    let mut c = Checker::default();
    let page = Page::checked(&mut c, query.limit, query.offset);
    c.finish().map_err(super::as_query_error)?;
    let (rows, total) = state
        .db
        .read(move |conn| {
            releases::get(conn, &id)?;
            let filter = DeploymentFilter {
                release_id: Some(id),
                limit: page.limit,
                offset: page.offset,
                ..Default::default()
            };
            Ok(deployments::list(conn, &filter)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(
            rows.iter()
                .map(|r| DeploymentOut::from_row(r, None))
                .collect::<Vec<_>>(),
        ))
}

#[utoipa::path(get, path = "/api/releases/{id}/matrix", tag = "releases",
    responses((status = 200, body = MatrixOut), (status = 404)))]
pub async fn release_matrix(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "release")?;
    let m = state
        .db
        .read(move |conn| {
            releases::get(conn, &id)?;
            matrix::release_matrix(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(MatrixOut::from(&m)))
}

#[utoipa::path(get, path = "/api/releases/{id}/audit", tag = "releases",
    responses((status = 200, body = Vec<AuditOut>), (status = 404)))]
pub async fn audit(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "release")?;
    let rows = state
        .db
        .read(move |conn| {
            releases::get(conn, &id)?;
            Ok(releases::audit_trail(conn, &id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(AuditOut::from).collect::<Vec<_>>()))
}
