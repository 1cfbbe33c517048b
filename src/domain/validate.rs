//! Validation of names, version strings and metadata (SPEC §2). Each function returns the
//! cleaned value or a message that tells the user what to fix.

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
pub fn optional_text(raw: Option<&str>, max_chars: usize) -> Result<Option<String>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > max_chars => {
            Err(format!("must be at most {max_chars} characters"))
        }
        Some(s) => Ok(Some(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
