//! Every route of releaseboard, in one table: the JSON API under `/api` (`http::api`), the
//! dashboard (`http::pages`) and its static assets. Which permission a write needs is said by
//! its handler (`Actor<…>`); what holds for whole groups of routes, by the gate (`http::gate`).

use crate::config::Config;
use crate::http::api::{self, catalog, compare, deployments, events, openapi, releases, state};
use crate::http::gate::Answers;
use crate::http::pages;
use actix_web::web::{self, delete, get, patch, post, put};

pub fn routes(cfg: &mut web::ServiceConfig, config: &Config) {
    // How each face answers a request the gate turns away.
    cfg.app_data(web::Data::new(Answers {
        api: api::error::refusal,
        page: pages::refusal,
    }));

    cfg.service(
        web::scope("/api")
            // SPEC §3: deployment and build events. A path with several methods is one resource, so
            // that another method is answered 405.
            .route(
                "/deployment-events",
                post().to(events::post_deployment_event),
            )
            .route("/build-events", post().to(events::post_build_event))
            .route("/version-events", post().to(events::post_build_event))
            // SPEC §4: releases.
            .service(
                web::resource("/releases")
                    .route(get().to(releases::list))
                    .route(post().to(releases::create)),
            )
            .service(
                web::resource("/releases/{id}")
                    .route(get().to(releases::detail))
                    .route(patch().to(releases::update)),
            )
            .service(
                web::resource("/releases/{id}/versions")
                    .route(get().to(releases::versions))
                    .route(post().to(releases::add_version)),
            )
            .route(
                "/releases/{id}/versions/{version_id}",
                delete().to(releases::remove_version),
            )
            .route(
                "/releases/{id}/deployments",
                get().to(releases::release_deployments),
            )
            .route(
                "/releases/{id}/products/{product_name}",
                put().to(releases::place_version),
            )
            .route("/releases/{id}/matrix", get().to(releases::release_matrix))
            // SPEC §13.
            .route("/compare/environments", get().to(compare::environments))
            .route("/compare/releases", get().to(compare::releases))
            .route("/releases/{id}/audit", get().to(releases::audit))
            // SPEC §5: catalog and state.
            .service(
                web::resource("/products")
                    .route(get().to(catalog::list_products))
                    .route(post().to(catalog::create_product)),
            )
            .service(
                web::resource("/products/{id}")
                    .route(get().to(catalog::get_product))
                    .route(patch().to(catalog::update_product))
                    .route(delete().to(catalog::delete_product)),
            )
            .route("/versions", get().to(catalog::list_versions))
            .route("/versions/{id}", get().to(catalog::get_version))
            .service(
                web::resource("/environments")
                    .route(get().to(catalog::list_environments))
                    .route(post().to(catalog::create_environment)),
            )
            .service(
                web::resource("/environments/{id}")
                    .route(get().to(catalog::get_environment))
                    .route(patch().to(catalog::update_environment)),
            )
            .route("/deployments", get().to(deployments::list))
            .route("/deployments/{id}", get().to(deployments::detail))
            .route("/state", get().to(state::get_state))
            .route("/health", get().to(state::health))
            .route("/openapi.json", get().to(openapi::openapi_json))
            .default_service(web::to(api::error::no_route)),
    );

    // SPEC §6: the dashboard.
    use pages::{
        catalog as cat, compare as cmp, dashboard, deployments as deps, exports, feeds,
        releases as rel, session, settings,
    };
    cfg.app_data(pages::form::form_config())
        .service(
            actix_files::Files::new("/static", &config.static_dir)
                .use_etag(true)
                .use_last_modified(true),
        )
        .route("/", get().to(dashboard::index))
        .route("/releases", get().to(rel::list))
        .route("/releases", post().to(rel::create))
        .route("/releases/new", get().to(rel::new_form))
        .route("/releases/history", get().to(rel::history))
        .route("/releases/history.atom", get().to(feeds::history))
        .route("/compare/environments", get().to(cmp::environments))
        .route("/compare/releases", get().to(cmp::releases_page))
        .route("/deployments.atom", get().to(feeds::deployments))
        .route("/releases/{id}", get().to(rel::show))
        .route("/releases/{id}/edit", get().to(rel::edit_form))
        .route("/releases/{id}/edit", post().to(rel::edit))
        .route("/releases/{id}/versions", post().to(rel::add_version))
        .route(
            "/releases/{id}/versions/{version_id}/delete",
            post().to(rel::remove_version),
        )
        .route("/releases/{id}/status", post().to(rel::change_status))
        // SPEC §11: a release's exports, beside its page.
        .route("/releases/{id}/notes.md", get().to(exports::notes))
        .route("/releases/{id}/matrix.csv", get().to(exports::matrix_csv))
        .route(
            "/releases/{id}/export.json",
            get().to(api::releases::export),
        )
        .route(
            "/releases/{id}/versions/{version_id}/replace",
            get().to(rel::replace_form),
        )
        .route(
            "/releases/{id}/versions/{version_id}/replace",
            post().to(rel::replace),
        )
        .route("/products", get().to(cat::products))
        .route("/products/{id}", get().to(cat::product))
        .route("/environments", get().to(cat::environments))
        .route("/environments/{id}", post().to(cat::update_environment))
        .route("/deployments", get().to(deps::list))
        .route("/deployments/{id}", get().to(deps::show))
        // Versioner's GitHub Action links its job summary here.
        .route("/app/manage/deployments", get().to(deps::versioner_link))
        // SPEC §7: signing in, users and keys.
        .route("/login", get().to(session::form))
        .route("/login", post().to(session::sign_in))
        .route("/logout", post().to(session::sign_out))
        .route("/settings", get().to(settings::show))
        .route("/settings/users", post().to(settings::create_user))
        .route(
            "/settings/users/password",
            post().to(settings::new_password),
        )
        .route("/settings/users/disable", post().to(settings::disable_user))
        .route("/settings/users/enable", post().to(settings::enable_user))
        .route("/settings/keys", post().to(settings::create_key))
        .route("/settings/keys/revoke", post().to(settings::revoke_key))
        .default_service(web::to(pages::not_found));
}
