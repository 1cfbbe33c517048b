//! Validation of names, version strings and metadata (SPEC §2). Each function returns the
//! cleaned value or a message that tells the user what to fix; [`Checker`] collects those
//! messages by field, so that a request hears of every invalid field at once.

use super::error::{Error, FieldError};
use serde_json::Value;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_METADATA_BYTES: usize = 100 * 1024;
/// Free-text fields of events (URLs, actor names, build numbers).
pub const MAX_TEXT_CHARS: usize = 2000;
/// Descriptions of releases, products and environments.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// Product, environment and release names: 1–200 characters after trimming, no control chars.
pub fn name(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_string())
}

/// Version strings: 1–200 characters, no whitespace or control characters.
pub fn version(raw: &str) -> Result<String, String> {
    // Surrounding whitespace is a copy-paste accident, not part of the version: trim it.
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace or control characters".into());
    }
    Ok(trimmed.to_string())
}

/// `extra_metadata`: a JSON object of at most 100 KB serialized. `null` means empty.
pub fn metadata(value: &Value) -> Result<String, String> {
    match value {
        Value::Null => Ok("{}".into()),
        Value::Object(_) => {
            let s = value.to_string();
            if s.len() > MAX_METADATA_BYTES {
                Err(format!(
                    "must be at most {MAX_METADATA_BYTES} bytes serialized (got {})",
                    s.len()
                ))
            } else {
                Ok(s)
            }
        }
        _ => Err("must be a JSON object".into()),
    }
}

/// Optional free-text fields (descriptions, URLs, actor names): trimmed, empty means absent.
/// Line breaks and tabs are text; any other control character (NUL above all, which
/// PostgreSQL's `text` cannot hold while SQLite would keep it) is refused here, where input is
/// parsed, so that both databases give the same answer (SPEC §2).
pub fn optional_text(raw: Option<&str>, max_chars: usize) -> Result<Option<String>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > max_chars => {
            Err(format!("must be at most {max_chars} characters"))
        }
        Some(s)
            if s.chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) =>
        {
            Err("must not contain control characters other than tabs and line breaks".into())
        }
        Some(s) => Ok(Some(s.to_string())),
    }
}

/// A search or filter term from a query string: trimmed, empty means none. A control
/// character can match nothing stored (no stored text holds one), and PostgreSQL refuses a NUL
/// in a parameter: the term is refused with the field's name rather than sent.
pub fn search_term(raw: Option<&str>) -> Result<Option<String>, String> {
    optional_text(raw, MAX_NAME_CHARS)
}

/// An id from a URL or a body in its stored form (a lowercase hyphenated UUID); `None` when it
/// is not a UUID, so it names no record.
pub fn id(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw.trim())
        .ok()
        .map(|u| u.to_string())
}

/// Collects field errors while a command is parsed, then fails once with all of them.
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    /// Records the error of `result` under `field`. Returns the value when valid, a default
    /// otherwise; [`Checker::finish`] then fails, so a default is never used.
    pub fn check<T: Default>(&mut self, field: &'static str, result: Result<T, String>) -> T {
        match result {
            Ok(v) => v,
            Err(message) => {
                self.errors.push(FieldError::new(field, message));
                T::default()
            }
        }
    }

    /// Records an error found by the caller.
    pub fn error(&mut self, field: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// `value` when no error was recorded, else every error at once.
    pub fn finish<T>(self, value: T) -> Result<T, Error> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(Error::Invalid(self.errors))
        }
    }
}

/// A free-text field of at most [`MAX_TEXT_CHARS`] (URLs, actors, build numbers), checked into
/// `c` under `field`.
pub fn text(c: &mut Checker, field: &'static str, raw: Option<&str>) -> Option<String> {
    c.check(field, optional_text(raw, MAX_TEXT_CHARS))
}

/// A description of at most [`MAX_DESCRIPTION_CHARS`], checked into `c`.
pub fn description(c: &mut Checker, raw: Option<&str>) -> Option<String> {
    c.check("description", optional_text(raw, MAX_DESCRIPTION_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn free_text_keeps_line_breaks_and_refuses_other_control_characters() {
        let table: &[(&str, Option<&str>)] = &[
            ("  deploy notes  ", Some("deploy notes")),
            (
                "line one\nline two\r\n\tindented",
                Some("line one\nline two\r\n\tindented"),
            ),
            ("   ", None),
            ("nul\0inside", None),
            ("bell\u{7}", None),
            ("esc\u{1b}[31m", None),
            ("del\u{7f}", None),
            ("c1\u{85}x", None),
        ];
        for (raw, want) in table {
            let got = optional_text(Some(raw), 100);
            match want {
                Some(w) => assert_eq!(got.as_ref().ok().cloned().flatten().as_deref(), Some(*w)),
                None if raw.trim().is_empty() => assert_eq!(got, Ok(None)),
                None => assert!(got.is_err(), "{raw:?} is refused"),
            }
        }
        assert!(search_term(Some("a\0")).is_err());
        assert_eq!(search_term(Some(" q ")), Ok(Some("q".into())));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("  api  ").as_deref(), Ok("api"));
        assert!(name("   ").is_err());
        assert!(name(&"x".repeat(201)).is_err());
        assert!(name(&"é".repeat(200)).is_ok());
        assert!(name("a\u{7}b").is_err());
    }

    #[test]
    fn versions_have_no_inner_whitespace() {
        assert_eq!(version("1.2.3").as_deref(), Ok("1.2.3"));
        assert!(version("1.2 3").is_err());
        assert!(version("").is_err());
    }

    #[test]
    fn metadata_must_be_a_small_object() {
        assert_eq!(metadata(&json!({"a": 1})).as_deref(), Ok(r#"{"a":1}"#));
        assert_eq!(metadata(&Value::Null).as_deref(), Ok("{}"));
        assert!(metadata(&json!([1])).is_err());
        assert!(metadata(&json!("x")).is_err());
        assert!(metadata(&json!({"a": "x".repeat(MAX_METADATA_BYTES)})).is_err());
    }

    #[test]
    fn a_checker_reports_every_field_at_once() {
        let mut c = Checker::default();
        let n = c.check("name", name(" "));
        let v = c.check("version", version("1 2"));
        let ok = c.check("product_name", name("api"));
        assert_eq!((n.as_str(), v.as_str(), ok.as_str()), ("", "", "api"));
        match c.finish(()) {
            Err(Error::Invalid(fields)) => {
                let names: Vec<_> = fields.iter().map(|f| f.field).collect();
                assert_eq!(names, ["name", "version"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(Checker::default().finish(1).is_ok());
    }
}
