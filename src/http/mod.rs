//! The HTTP faces of releaseboard and what they share.
//!
//! - `api`: the JSON API under `/api` (SPEC §3–§5);
//! - `pages`: the server-rendered dashboard (SPEC §6);
//! - `gate`: who is asking, and the rules for whole groups of routes (SPEC §7).
//!
//! The two faces never import each other: each parses its input into the commands of `domain`,
//! calls `service`, and renders the answer or the `domain::Error` its own way. What both need
//! about HTTP itself lives here, once.

pub mod api;
pub mod gate;
pub mod pages;

use crate::domain::Error;
use actix_web::http::StatusCode;
use chrono::{DateTime, NaiveDateTime, Utc};

/// Largest accepted request body (JSON or form), SPEC §5.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The status code of a use case's error, whichever face answers it.
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Logs an error that is the server's fault (with its cause chain) or an overload (one line);
/// the user sees neither.
pub fn log_failure(e: &Error) {
    match e {
        Error::Busy => tracing::warn!(reason = %e, "request refused"),
        Error::Internal(cause) => tracing::error!(error = %format!("{cause:#}"), "request failed"),
        _ => {}
    }
}

/// A stored time as answers show it: RFC 3339 in UTC with `Z`.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Everything but unreserved characters (RFC 3986) is percent-encoded.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a value for a query parameter or a cookie.
pub fn query_escape(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Conflict, Entity, Missing};

    #[test]
    fn each_kind_of_error_has_its_status() {
        let table = [
            (Error::NotFound(Missing::Record(Entity::Release)), 404),
            (Error::Conflict(Conflict::DisableSelf), 409),
            (Error::invalid("name", "must not be empty"), 422),
            (Error::Busy, 503),
            (Error::internal(anyhow::anyhow!("boom")), 500),
        ];
        for (e, status) in table {
            assert_eq!(status_of(&e).as_u16(), status, "{e:?}");
        }
    }
}
