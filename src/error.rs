//! `AppError`: the one error type. Rules raise it; its HTTP form is decided here and nowhere
//! else — JSON `{"detail": …}` for the API (the dashboard renders its own page from it).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;

/// One invalid input field: where it is and what to fix.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl FieldError {
    /// An error on a body field, e.g. `FieldError::body("name", "must not be empty")`.
    pub fn body(field: &str, msg: impl Into<String>) -> Self {
        Self::at(&["body", field], msg, "value_error")
    }

    pub fn at(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        FieldError {
            loc: loc.iter().map(|s| s.to_string()).collect(),
            msg: msg.into(),
            kind: kind.to_string(),
        }
    }

    /// The field name (last element of `loc`), for forms that show errors next to fields.
    pub fn field(&self) -> &str {
        self.loc.last().map(String::as_str).unwrap_or("")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// No valid credentials: 401 with a `WWW-Authenticate` challenge.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials that do not allow this: 403.
    #[error("{0}")]
    Forbidden(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The server cannot take the request now (its write queue is full): 503 with
    /// `Retry-After`, which pipelines retry (SPEC §8).
    #[error("{0}")]
    Unavailable(String),
    #[error("database error")]
    Database(#[from] DieselError),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} not found"))
    }

    /// A single-field validation error on the request body.
    pub fn invalid(field: &str, msg: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::body(field, msg)])
    }

    /// The message shown to a user; internal details are never part of it.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Database(DieselError::NotFound) => "not found".into(),
            AppError::Database(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _,
            )) => "conflicts with an existing record; retry the request".into(),
            AppError::Database(_) | AppError::Internal(_) => {
                "internal error; the server log has the details".into()
            }
            AppError::Validation(fields) => fields
                .iter()
                .map(|f| format!("{}: {}", f.field(), f.msg))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }
}

#[derive(Serialize)]
struct Detail<T: Serialize> {
    detail: T,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) | AppError::Database(DieselError::NotFound) => {
                StatusCode::NOT_FOUND
            }
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_)
            | AppError::Database(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _,
            )) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let AppError::Unavailable(why) = self {
            // Overload, not a fault: one line, without a cause chain.
            tracing::warn!(reason = %why, "request refused");
        } else if status.is_server_error() {
            // The cause chain goes to the log, never to the client.
            tracing::error!(error = ?anyhow_chain(self), "request failed");
        }
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        if let AppError::Unavailable(_) = self {
            res.insert_header((header::RETRY_AFTER, "1"));
        }
        if let AppError::Unauthorized(_) = self {
            res.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="releaseboard""#));
        }
        match self {
            AppError::Validation(fields) => res.json(Detail { detail: fields }),
            other => res.json(Detail {
                detail: other.public_message(),
            }),
        }
    }
}

fn anyhow_chain(e: &AppError) -> String {
    match e {
        AppError::Internal(inner) => format!("{inner:#}"),
        other => format!("{other:?}"),
    }
}
