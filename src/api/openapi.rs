//! `GET /api/openapi.json`, generated from the handlers' annotations so it cannot drift.

use super::{catalog, deployments, events, json, releases, state};
use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "releaseboard",
        description = "Release tracking: deployment events in, release matrices out."
    ),
    paths(
        events::post_deployment_event,
        events::post_build_event,
        releases::create,
        releases::list,
        releases::detail,
        releases::update,
        releases::add_version,
        releases::remove_version,
        releases::versions,
        releases::release_deployments,
        releases::release_matrix,
        releases::audit,
        catalog::list_products,
        catalog::create_product,
        catalog::get_product,
        catalog::update_product,
        catalog::delete_product,
        catalog::list_versions,
        catalog::get_version,
        catalog::list_environments,
        catalog::create_environment,
        catalog::get_environment,
        catalog::update_environment,
        deployments::list,
        deployments::detail,
        state::get_state,
        state::health,
    ),
    components(schemas(
        json::DeploymentOut,
        json::VersionOut,
        json::ReleaseOut,
        crate::error::FieldError
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi_json));
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
