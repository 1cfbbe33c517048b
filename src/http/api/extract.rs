//! Request extraction for the JSON API, so that every bad input gets the error SPEC §5 names:
//! 415 wrong content type, 413 over 1 MiB, 400 malformed JSON, 422 per-field details.

use super::error::{ApiError, Located};
use crate::domain::{validate, Entity, Missing};
use crate::http::MAX_BODY_BYTES;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// A JSON body, deserialized into `T`, with the document itself for idempotency checks.
pub struct JsonBody<T> {
    pub value: T,
    json: serde_json::Value,
}

impl<T> JsonBody<T> {
    /// SHA-256 of the body re-serialized with sorted keys (equal JSON documents give equal
    /// digests), to recognise a retry of the same request. Computed only when asked: most
    /// requests send no `Idempotency-Key`.
    pub fn digest(&self) -> String {
        format!("{:x}", Sha256::digest(self.json.to_string().as_bytes()))
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(ct) = ct.to_str() else { return false };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as JSON with 'Content-Type: application/json'".into(),
                ));
            }
            if declared_len.is_some_and(|n| n > MAX_BODY_BYTES) {
                return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| ApiError::BadRequest(format!("reading the body: {e}")))?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
                }
                body.extend_from_slice(&chunk);
            }
            let value: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
            let json = value;
            let value = serde_path_to_error::deserialize(&json).map_err(|e| {
                let path = e.path().to_string();
                ApiError::Invalid(vec![field_error(&path, &e.into_inner().to_string())])
            })?;
            Ok(JsonBody { value, json })
        })
    }
}

/// Turns a serde message into a FastAPI-style field error (`loc`, `msg`, `type`).
fn field_error(path: &str, message: &str) -> Located {
    // serde reports a missing field at the parent's path: "missing field `status`".
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        let mut loc = vec!["body".to_string()];
        if path != "." {
            loc.extend(path.split('.').map(str::to_string));
        }
        loc.push(name.to_string());
        return Located {
            loc,
            msg: "field required".into(),
            kind: "missing".into(),
        };
    }
    let mut loc = vec!["body".to_string()];
    if path != "." {
        loc.extend(path.split('.').map(str::to_string));
    }
    let kind = if message.starts_with("invalid type") {
        "type_error"
    } else {
        "value_error"
    };
    Located {
        loc,
        msg: message.to_string(),
        kind: kind.into(),
    }
}

/// Query strings that do not parse (`?limit=abc`) are 422s that name the parameter.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        ApiError::Invalid(vec![Located::at(
            &["query"],
            err.to_string(),
            "value_error",
        )])
        .into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err, _req| ApiError::NoRoute.into())
}

/// Deserializes a field that may be absent (leave alone), null (clear) or set.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

/// A path id: anything that is not a UUID cannot name a record, so it is a 404.
pub fn path_id(raw: &str, what: Entity) -> Result<String, ApiError> {
    validate::id(raw).ok_or(ApiError::Domain(Missing::Record(what).into()))
}
