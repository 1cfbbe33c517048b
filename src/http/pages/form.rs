//! Form plumbing: errors keyed by field for the templates, and the form extractor's config.

use super::PageError;
use crate::domain::Error;
use crate::http::MAX_BODY_BYTES;
use actix_web::http::StatusCode;
use std::collections::HashMap;

/// Errors of a submitted form, by field name, for `{% call field_error(errors, "name") %}`.
#[derive(Debug, Default, Clone)]
pub struct FormErrors(HashMap<String, String>);

/// The name a form gives a field of the data model: the forms call a release's
/// `extra_metadata` (SPEC §2) `metadata` (SPEC §6); every other field keeps its name.
fn form_field(field: &str) -> &str {
    match field {
        "extra_metadata" => "metadata",
        other => other,
    }
}

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

    /// Splits a use case's error into what a form shows: the status to answer with and the
    /// errors next to their fields (a broken rule next to `conflict_field`). Errors that are
    /// not the user's to fix are handed back, for an error page.
    pub fn from_error(
        e: Error,
        conflict_field: &str,
    ) -> Result<(StatusCode, FormErrors), PageError> {
        let mut errors = FormErrors::default();
        match e {
            Error::Invalid(fields) => {
                for f in fields {
                    errors.insert(form_field(f.field), f.message);
                }
                Ok((StatusCode::UNPROCESSABLE_ENTITY, errors))
            }
            Error::Conflict(c) => {
                errors.insert(conflict_field, c.to_string());
                Ok((StatusCode::CONFLICT, errors))
            }
            other => Err(PageError::Domain(other)),
        }
    }
}

/// Form bodies that cannot be parsed at all (not url-encoded) are a 400 page.
pub fn form_config() -> actix_web::web::FormConfig {
    actix_web::web::FormConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|err, _req| PageError::BadRequest(format!("unreadable form: {err}")).into())
}
