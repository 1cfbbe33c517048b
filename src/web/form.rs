//! Form plumbing: errors keyed by field for the templates, and the form extractor's config.

use crate::error::AppError;
use actix_web::http::StatusCode;
use std::collections::HashMap;

/// Errors of a submitted form, by field name, for `{% call field_error(errors, "name") %}`.
#[derive(Debug, Default, Clone)]
pub struct FormErrors(HashMap<String, String>);

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&String> {
        self.0.get(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn insert(&mut self, field: &str, msg: impl Into<String>) {
        self.0.insert(field.to_string(), msg.into());
    }

    /// Splits an `AppError` into what a form shows: the status to answer with and the errors
    /// next to their fields (`general` for errors that belong to no field). Errors that are
    /// not the user's to fix are handed back.
    pub fn from_error(
        e: AppError,
        conflict_field: &str,
    ) -> Result<(StatusCode, FormErrors), AppError> {
        let mut errors = FormErrors::default();
        match e {
            AppError::Validation(fields) => {
                for f in fields {
                    let name = match f.field() {
                        "extra_metadata" => "metadata".to_string(),
                        other => other.to_string(),
                    };
                    errors.insert(&name, f.msg);
                }
                Ok((StatusCode::UNPROCESSABLE_ENTITY, errors))
            }
            AppError::Conflict(msg) => {
                errors.insert(conflict_field, msg);
                Ok((StatusCode::CONFLICT, errors))
            }
            other => Err(other),
        }
    }
}

/// Form bodies that cannot be parsed at all (not url-encoded) are a 400 page.
pub fn form_config() -> actix_web::web::FormConfig {
    actix_web::web::FormConfig::default()
        .limit(crate::api::extract::MAX_BODY_BYTES)
        .error_handler(|err, _req| {
            super::WebError(AppError::BadRequest(format!("unreadable form: {err}"))).into()
        })
}
