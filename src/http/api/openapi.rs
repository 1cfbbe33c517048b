//! `GET /api/openapi.json`, generated from the handlers' annotations so it cannot drift.

use super::{catalog, deployments, events, json, releases, state};
use actix_web::HttpResponse;
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi};

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
        super::error::Located
    )),
    modifiers(&ApiKeyAuth)
)]
pub struct ApiDoc;

/// Declares the bearer API key (SPEC §7) and, on every write operation, that it is required:
/// 401 without a valid key, 403 when the key's scope does not allow the operation.
struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("rb_…")
                    .description(Some(
                        "`releaseboard api-key create NAME --scope ingest|write`; ingest keys \
                         may only post events",
                    ))
                    .build(),
            ),
        );
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.security = Some(vec![SecurityRequirement::new(
                    "api_key",
                    Vec::<String>::new(),
                )]);
                op.responses
                    .responses
                    .insert("401".into(), RefOr::T(Response::new("no valid API key")));
                op.responses.responses.insert(
                    "403".into(),
                    RefOr::T(Response::new("the key's scope does not allow this")),
                );
                op.responses.responses.insert(
                    "503".into(),
                    RefOr::T(Response::new(
                        "too many writes are waiting for the database; retry after the \
                         `Retry-After` seconds",
                    )),
                );
            }
        }
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
