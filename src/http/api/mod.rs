//! The JSON API under `/api` (SPEC §3–§5): one file per resource. A handler extracts its input
//! (`extract`), parses it into a command of `domain`, calls one use case of `service`, and
//! renders the answer (`json`) or the error (`error`). Its routes are in `app::routes`.

pub mod catalog;
pub mod compare;
pub mod deployments;
pub mod error;
pub mod events;
pub mod extract;
pub mod json;
pub mod openapi;
pub mod releases;
pub mod state;

use crate::domain::validate::Checker;
use crate::domain::Error;
use actix_web::HttpResponse;
use serde::Serialize;

/// One page of a list: the items, and the total before paging in `X-Total-Count`.
pub fn listed<T: Serialize>(items: Vec<T>, total: i64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(items)
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
    pub fn checked(c: &mut Checker, limit: Option<i64>, offset: Option<i64>) -> Page {
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

    /// The paging of a query string alone.
    pub fn of(limit: Option<i64>, offset: Option<i64>) -> Result<Page, Error> {
        let mut c = Checker::default();
        let page = Page::checked(&mut c, limit, offset);
        c.finish(page)
    }
}
