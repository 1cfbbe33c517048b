//! The JSON API under `/api` (SPEC §3–§5). One file per resource; shared extraction rules in
//! `extract`, answer shapes in `json`.

pub mod catalog;
pub mod deployments;
pub mod events;
pub mod extract;
pub mod json;
pub mod openapi;
pub mod releases;
pub mod state;

use crate::error::{AppError, FieldError};
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .configure(events::configure)
            .configure(releases::configure)
            .configure(catalog::configure)
            .configure(deployments::configure)
            .configure(state::configure)
            .configure(openapi::configure)
            .default_service(web::to(api_not_found)),
    );
}

async fn api_not_found() -> actix_web::HttpResponse {
    actix_web::ResponseError::error_response(&AppError::NotFound(
        "no such API route; see /api/openapi.json".into(),
    ))
}

/// Validated paging: `limit` 1–200 (default 50), `offset` ≥ 0.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

pub const MAX_LIMIT: i64 = 200;
pub const DEFAULT_LIMIT: i64 = 50;

impl Page {
    pub fn checked(c: &mut extract::Checker, limit: Option<i64>, offset: Option<i64>) -> Page {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        let offset = offset.unwrap_or(0);
        if !(1..=MAX_LIMIT).contains(&limit) {
            c.error("limit", format!("must be between 1 and {MAX_LIMIT}"));
        }
        if offset < 0 {
            c.error("offset", "must not be negative");
        }
        Page { limit, offset }
    }
}

/// Checker errors name body fields; for query parameters the location says so.
pub fn as_query_error(e: AppError) -> AppError {
    match e {
        AppError::Validation(fields) => AppError::Validation(
            fields
                .into_iter()
                .map(|f| FieldError {
                    loc: vec!["query".into(), f.field().to_string()],
                    ..f
                })
                .collect(),
        ),
        other => other,
    }
}
