//! The server-rendered dashboard (askama templates, plain forms) and static assets.

use crate::config::Config;
use actix_web::{web, HttpRequest, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig, config: &Config) {
    cfg.service(actix_files::Files::new("/static", &config.static_dir).use_etag(true))
        .route("/", web::get().to(index));
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><title>releaseboard</title><h1>releaseboard</h1><p>The dashboard is on its way; the JSON API is at <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>")
}

/// Unknown pages: JSON under /api is handled there; everything else gets an HTML 404.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api") {
        return actix_web::ResponseError::error_response(&crate::error::AppError::NotFound(
            "no such API route".into(),
        ));
    }
    HttpResponse::NotFound()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><title>Not found · releaseboard</title><h1>Not found</h1><p><a href=\"/\">Back to the dashboard</a></p>")
}
