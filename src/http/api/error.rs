//! How the JSON API answers an error (SPEC §5): `{"detail": "…"}`, a 409 with its rule's
//! `code` and `message` too, a 422 with `{"detail": [{"loc", "msg", "type"}]}`. The mapping of
//! a use case's `domain::Error` happens here, once; the request gate's refusals are answered
//! here too ([`refusal`]).

use crate::domain::{Conflict, Error, FieldError};
use crate::http::gate::Refusal;
use crate::http::{log_failure, status_of};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// One invalid input, located as FastAPI (and Versioner's clients) do: `["body", "field"]`,
/// `["query", "limit"]`, `["header", "Idempotency-Key"]`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Located {
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl Located {
    pub fn at(loc: &[&str], msg: impl Into<String>, kind: &str) -> Located {
        Located {
            loc: loc.iter().map(|s| s.to_string()).collect(),
            msg: msg.into(),
            kind: kind.to_string(),
        }
    }

    /// A field of the body (or of the query string, `place` = `"query"`) that the domain
    /// found invalid.
    fn from_field(place: &str, f: &FieldError) -> Located {
        Located::at(&[place, f.field], &f.message, "value_error")
    }
}

/// The outcome of parsing a body into a command, with what the API found wrong itself before
/// (a JSON type the domain never sees): every invalid field at once.
pub fn parsed<T>(result: Result<T, Error>, mut found: Vec<Located>) -> Result<T, ApiError> {
    match result {
        Ok(value) if found.is_empty() => Ok(value),
        Ok(_) => Err(ApiError::Invalid(found)),
        Err(Error::Invalid(fields)) => {
            let mut all: Vec<Located> = fields
                .iter()
                .map(|f| Located::from_field("body", f))
                .collect();
            all.append(&mut found);
            Err(ApiError::Invalid(all))
        }
        Err(other) => Err(ApiError::Domain(other)),
    }
}

/// An error of the JSON API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// What a use case reported.
    #[error(transparent)]
    Domain(#[from] Error),
    /// Invalid input the API found itself (a JSON type, a header, a query string).
    #[error("invalid input")]
    Invalid(Vec<Located>),
    #[error("{0}")]
    BadRequest(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body did not arrive within {} seconds", .0.as_secs())]
    RequestTimeout(std::time::Duration),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No valid credentials: 401 with a `WWW-Authenticate` challenge.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials that do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// A path the API does not have.
    #[error("no such API route; see /api/openapi.json")]
    NoRoute,
}

impl ApiError {
    /// The domain's field errors of query parameters, located in the query string.
    pub fn in_query(e: Error) -> ApiError {
        match e {
            Error::Invalid(fields) => ApiError::Invalid(
                fields
                    .iter()
                    .map(|f| Located::from_field("query", f))
                    .collect(),
            ),
            other => ApiError::Domain(other),
        }
    }
}

#[derive(Serialize)]
struct Detail<T: Serialize> {
    detail: T,
}

/// A 409: the sentence, and the rule's stable code (Versioner's clients read `code` and
/// `message`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConflictOut {
    /// What conflicts, and what to do about it.
    pub detail: String,
    /// The rule, stable across releases: match on this rather than on the sentence.
    #[schema(schema_with = conflict_codes)]
    pub code: &'static str,
    /// The same sentence as `detail`.
    pub message: String,
}

/// The `code` of a 409: one of the rules' codes.
fn conflict_codes() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(Conflict::CODES))
        .build()
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Domain(e) => status_of(e),
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NoRoute => StatusCode::NOT_FOUND,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            ApiError::Domain(e) => {
                log_failure(e);
                match e {
                    Error::Busy => {
                        res.insert_header((header::RETRY_AFTER, "1"));
                    }
                    Error::Invalid(fields) => {
                        let located: Vec<Located> = fields
                            .iter()
                            .map(|f| Located::from_field("body", f))
                            .collect();
                        return res.json(Detail { detail: located });
                    }
                    Error::Conflict(c) => {
                        return res.json(ConflictOut {
                            detail: c.to_string(),
                            code: c.code(),
                            message: c.to_string(),
                        })
                    }
                    _ => {}
                }
                res.json(Detail {
                    detail: e.to_string(),
                })
            }
            ApiError::Invalid(located) => res.json(Detail { detail: located }),
            ApiError::Unauthorized(m) => res
                .insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="releaseboard""#))
                .json(Detail { detail: m }),
            other => res.json(Detail {
                detail: other.to_string(),
            }),
        }
    }
}

/// The API's answer to a request the gate refused.
pub fn refusal(r: Refusal) -> HttpResponse {
    let e = match r {
        Refusal::Unauthenticated(m) => ApiError::Unauthorized(m),
        Refusal::SignIn { .. } => ApiError::Unauthorized("sign in or send an API key".into()),
        Refusal::Forbidden(m) => ApiError::Forbidden(m),
        Refusal::BadBody(m) => ApiError::BadRequest(m),
        Refusal::TooLarge(limit) => ApiError::PayloadTooLarge(limit),
        Refusal::TimedOut(after) => ApiError::RequestTimeout(after),
        Refusal::Failed(e) => ApiError::Domain(e),
    };
    e.error_response()
}

/// Unknown API paths.
pub async fn no_route() -> HttpResponse {
    ApiError::NoRoute.error_response()
}
