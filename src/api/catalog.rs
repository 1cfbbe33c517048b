//! Products, versions and environments (SPEC §5).

use super::extract::{double_option, path_id, Checker, JsonBody};
use super::json::{EnvironmentOut, ProductOut, VersionOut};
use super::Page;
use crate::db::catalog::{self, EnvironmentChanges, VersionFilter};
use crate::domain::{validate, EnvType};
use crate::error::AppError;
use crate::gate::{Actor, Catalog};
use crate::startup::AppState;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/products")
            .route(web::get().to(list_products))
            .route(web::post().to(create_product)),
    )
    .service(
        web::resource("/products/{id}")
            .route(web::get().to(get_product))
            .route(web::patch().to(update_product))
            .route(web::delete().to(delete_product)),
    )
    .route("/versions", web::get().to(list_versions))
    .route("/versions/{id}", web::get().to(get_version))
    .service(
        web::resource("/environments")
            .route(web::get().to(list_environments))
            .route(web::post().to(create_environment)),
    )
    .service(
        web::resource("/environments/{id}")
            .route(web::get().to(get_environment))
            .route(web::patch().to(update_environment)),
    );
}

// ---------------------------------------------------------------------------------------------
// Products

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProductIn {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProductPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

#[utoipa::path(get, path = "/api/products/", tag = "catalog", responses((status = 200, body = Vec<ProductOut>)))]
pub async fn list_products(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let rows = state
        .db
        .read(|conn| Ok(catalog::list_products(conn)?))
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(ProductOut::from).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/products/", tag = "catalog", request_body = ProductIn,
    responses((status = 201, body = ProductOut), (status = 409), (status = 422)))]
pub async fn create_product(
    _who: Actor<Catalog>,
    state: web::Data<AppState>,
    body: JsonBody<ProductIn>,
) -> Result<HttpResponse, AppError> {
    let mut c = Checker::default();
    let name = c.check("name", validate::name(&body.value.name));
    let description = c.check(
        "description",
        validate::optional_text(
            body.value.description.as_deref(),
            validate::MAX_DESCRIPTION_CHARS,
        ),
    );
    c.finish()?;
    let p = state
        .db
        .write(move |conn| {
            if catalog::product_by_name(conn, &name)?.is_some() {
                return Err(AppError::Conflict(format!(
                    "a product named '{name}' already exists"
                )));
            }
            Ok(catalog::create_product(
                conn,
                &name,
                description.as_deref(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(ProductOut::from(&p)))
}

#[utoipa::path(get, path = "/api/products/{id}", tag = "catalog", responses((status = 200, body = ProductOut), (status = 404)))]
pub async fn get_product(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "product")?;
    let p = state
        .db
        .read(move |conn| Ok(catalog::product(conn, &id)?))
        .await?;
    Ok(HttpResponse::Ok().json(ProductOut::from(&p)))
}

#[utoipa::path(patch, path = "/api/products/{id}", tag = "catalog", request_body = ProductPatch,
    responses((status = 200, body = ProductOut), (status = 404), (status = 409), (status = 422)))]
pub async fn update_product(
    _who: Actor<Catalog>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<ProductPatch>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "product")?;
    let mut c = Checker::default();
    let name = body
        .value
        .name
        .as_ref()
        .map(|n| c.check("name", validate::name(n)));
    let description = body.value.description.as_ref().map(|d| {
        c.check(
            "description",
            validate::optional_text(d.as_deref(), validate::MAX_DESCRIPTION_CHARS),
        )
    });
    c.finish()?;
    let p = state
        .db
        .write(move |conn| {
            catalog::update_product(
                conn,
                &id,
                name.as_deref(),
                description.as_ref().map(|d| d.as_deref()),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(ProductOut::from(&p)))
}

#[utoipa::path(delete, path = "/api/products/{id}", tag = "catalog",
    responses((status = 204), (status = 404), (status = 409, description = "a version is in a release")))]
pub async fn delete_product(
    _who: Actor<Catalog>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "product")?;
    state
        .db
        .write(move |conn| catalog::delete_product(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------------------------------------
// Versions

#[derive(Debug, Deserialize, IntoParams)]
pub struct VersionQuery {
    /// Product name.
    pub product: Option<String>,
    pub scm_sha: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/versions/", tag = "catalog", params(VersionQuery),
    responses((status = 200, body = Vec<VersionOut>, headers(("X-Total-Count" = i64)))))]
pub async fn list_versions(
    state: web::Data<AppState>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let mut c = Checker::default();
    let page = Page::checked(&mut c, q.limit, q.offset);
    c.finish().map_err(super::as_query_error)?;
    let filter = VersionFilter {
        product: q.product.filter(|s| !s.trim().is_empty()),
        scm_sha: q.scm_sha.filter(|s| !s.trim().is_empty()),
        limit: page.limit,
        offset: page.offset,
    };
    let (rows, total) = state
        .db
        .read(move |conn| Ok(catalog::list_versions(conn, &filter)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(rows.iter().map(VersionOut::from).collect::<Vec<_>>()))
}

#[utoipa::path(get, path = "/api/versions/{id}", tag = "catalog", responses((status = 200, body = VersionOut), (status = 404)))]
pub async fn get_version(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "version")?;
    let row = state
        .db
        .read(move |conn| Ok(catalog::version(conn, &id)?))
        .await?;
    Ok(HttpResponse::Ok().json(VersionOut::from(&row)))
}

// ---------------------------------------------------------------------------------------------
// Environments

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnvironmentIn {
    pub name: String,
    /// dev, test, staging or production; inferred from the name when absent.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub position: Option<i32>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnvironmentPatch {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub position: Option<i32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EnvironmentQuery {
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

fn parse_type(c: &mut Checker, raw: &str) -> Option<EnvType> {
    c.check(
        "type",
        EnvType::parse(raw).map(Some).ok_or_else(|| {
            format!(
                "unknown type '{}'; use dev, test, staging or production",
                raw.trim()
            )
        }),
    )
}

#[utoipa::path(get, path = "/api/environments/", tag = "catalog", params(EnvironmentQuery),
    responses((status = 200, description = "in column order", body = Vec<EnvironmentOut>)))]
pub async fn list_environments(
    state: web::Data<AppState>,
    query: web::Query<EnvironmentQuery>,
) -> Result<HttpResponse, AppError> {
    let mut c = Checker::default();
    let kind = query
        .kind
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|k| parse_type(&mut c, k));
    c.finish().map_err(super::as_query_error)?;
    let rows = state
        .db
        .read(move |conn| Ok(catalog::list_environments(conn, kind)?))
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(EnvironmentOut::from).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/environments/", tag = "catalog", request_body = EnvironmentIn,
    responses((status = 201, body = EnvironmentOut), (status = 409), (status = 422)))]
pub async fn create_environment(
    _who: Actor<Catalog>,
    state: web::Data<AppState>,
    body: JsonBody<EnvironmentIn>,
) -> Result<HttpResponse, AppError> {
    let b = &body.value;
    let mut c = Checker::default();
    let name = c.check("name", validate::name(&b.name));
    let kind = b.kind.as_deref().and_then(|k| parse_type(&mut c, k));
    let description = c.check(
        "description",
        validate::optional_text(b.description.as_deref(), validate::MAX_DESCRIPTION_CHARS),
    );
    let position = b.position.unwrap_or(0);
    c.finish()?;
    let kind = kind.unwrap_or_else(|| EnvType::infer_from_name(&name));
    let e = state
        .db
        .write(move |conn| {
            if catalog::environment_by_name(conn, &name)?.is_some() {
                return Err(AppError::Conflict(format!(
                    "an environment named '{name}' already exists"
                )));
            }
            Ok(catalog::create_environment(
                conn,
                &name,
                kind,
                position,
                description.as_deref(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(EnvironmentOut::from(&e)))
}

#[utoipa::path(get, path = "/api/environments/{id}", tag = "catalog", responses((status = 200, body = EnvironmentOut), (status = 404)))]
pub async fn get_environment(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "environment")?;
    let e = state
        .db
        .read(move |conn| Ok(catalog::environment(conn, &id)?))
        .await?;
    Ok(HttpResponse::Ok().json(EnvironmentOut::from(&e)))
}

/// Validates environment changes; shared with the environments page form.
pub fn environment_changes(p: &EnvironmentPatch) -> Result<EnvironmentChanges, AppError> {
    let mut c = Checker::default();
    let changes = EnvironmentChanges {
        name: p.name.as_ref().map(|n| c.check("name", validate::name(n))),
        kind: p.kind.as_deref().and_then(|k| parse_type(&mut c, k)),
        position: p.position,
        description: p.description.as_ref().map(|d| {
            c.check(
                "description",
                validate::optional_text(d.as_deref(), validate::MAX_DESCRIPTION_CHARS),
            )
        }),
    };
    c.finish()?;
    Ok(changes)
}

#[utoipa::path(patch, path = "/api/environments/{id}", tag = "catalog", request_body = EnvironmentPatch,
    responses((status = 200, body = EnvironmentOut), (status = 404), (status = 409), (status = 422)))]
pub async fn update_environment(
    _who: Actor<Catalog>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<EnvironmentPatch>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id, "environment")?;
    let changes = environment_changes(&body.value)?;
    let e = state
        .db
        .write(move |conn| catalog::update_environment(conn, &id, &changes))
        .await?;
    Ok(HttpResponse::Ok().json(EnvironmentOut::from(&e)))
}
