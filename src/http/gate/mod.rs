//! The request gate (SPEC §7): one middleware that finds out who is asking and applies the
//! rules that hold for whole groups of routes, before any handler runs:
//!
//! - API: a presented key must be valid (401 otherwise, even on reads, so a misconfigured
//!   pipeline learns at once); writes need a key — sessions are not accepted for API writes,
//!   which keeps the JSON API out of reach of cross-site requests.
//! - Pages: every form POST needs a signed-in user (anonymous → sign-in page) and the
//!   session's CSRF token (403 otherwise, before the handler could change anything).
//! - Reading needs a user or key only when `RELEASEBOARD_PUBLIC_READ` is false.
//!
//! Which permission each write route needs is said by its handler, with [`Actor`].

mod actor;
pub mod session;

pub use actor::{Access, Actor, Answers, Catalog, Events, Need, Refusal, Releases};
pub use session::{
    clear_login_cookie, end_session_cookie, login_cookie, session_cookie, LOGIN_COOKIE,
    SESSION_COOKIE,
};

use crate::app::state::AppState;
use crate::domain::access::{safe_next, Permission, Principal, SignedIn};
use crate::secret;
use crate::service::accounts;
use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};
use futures_util::StreamExt;

/// Routes open to everyone whatever the read policy: load-balancer health checks and the API
/// description (it holds no data).
fn always_open(path: &str) -> bool {
    matches!(path, "/api/health" | "/api/openapi.json" | "/login") || path.starts_with("/static/")
}

/// The path as the router matches it: after `NormalizePath` (slashes merged, no trailing one)
/// and percent-decoding of everything but `/`, `+` and `%`. The gate decides on this path and
/// never on the raw one, so that `/%61pi/products` is the API for both (SPEC §7).
pub(crate) fn routed_path(req: &HttpRequest) -> &str {
    req.match_info().as_str()
}

pub(crate) fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Who is asking, as the gate found out; `None` for anonymous requests.
pub fn principal(req: &HttpRequest) -> Option<Principal> {
    req.extensions().get::<Principal>().cloned()
}

/// The signed-in user of a page request, if any.
pub fn signed_in(req: &HttpRequest) -> Option<SignedIn> {
    match principal(req) {
        Some(Principal::User(u)) => Some(u),
        _ => None,
    }
}

/// The middleware, for `App::wrap(from_fn(gate::gate))`.
pub async fn gate(
    mut req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let path = routed_path(req.request()).to_string();
    if path.starts_with("/static/") {
        return next.call(req).await;
    }
    let api = is_api(&path);
    let read = is_read(req.method());

    let who = match identify(&state, req.request(), api).await {
        Ok(who) => who,
        Err(refusal) => {
            let answer = actor::refuse(req.request(), refusal);
            return Ok(req.into_response(answer));
        }
    };
    if let Some(p) = &who {
        req.extensions_mut().insert(p.clone());
    }

    let timeout = state.config.request_timeout;
    let verdict = if api {
        match api_rule(&state, who.as_ref(), &path, read) {
            Ok(()) if !read => buffer_body(&mut req, timeout).await.map(drop),
            other => other,
        }
    } else if path == "/login" {
        if read {
            Ok(())
        } else {
            // The sign-in form has no session yet: its token is also in a short-lived cookie
            // set with the form (double submit), which another site can neither read nor set.
            let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_string());
            form_token(&mut req, expected, timeout).await
        }
    } else if read {
        read_rule(&state, who.as_ref(), &path)
    } else {
        match &who {
            Some(Principal::User(u)) => {
                let expected = Some(u.csrf_token.clone());
                form_token(&mut req, expected, timeout).await
            }
            // Back to the page the form was on once signed in.
            _ => Err(Refusal::SignIn {
                next: same_site_referer(req.request()).unwrap_or_else(|| "/".into()),
            }),
        }
    };
    // What is read with credentials, or from a server that is not public, is nobody else's:
    // no cache may keep it (pages carry CSRF tokens; the API, private data).
    let private = who.is_some() || !state.config.public_read;
    match verdict {
        Ok(()) => {
            let mut res = next.call(req).await?;
            if private && !res.headers().contains_key(header::CACHE_CONTROL) {
                res.headers_mut().insert(
                    header::CACHE_CONTROL,
                    header::HeaderValue::from_static("no-store"),
                );
            }
            Ok(res)
        }
        Err(refusal) => {
            // A body not read to its end leaves the connection unusable: close it.
            let close = matches!(refusal, Refusal::TimedOut(_) | Refusal::TooLarge(_));
            let mut answer = actor::refuse(req.request(), refusal);
            if close {
                answer
                    .head_mut()
                    .set_connection_type(actix_web::http::ConnectionType::Close);
            }
            Ok(req.into_response(answer))
        }
    }
}

/// A form post: its body, read within the deadline, must carry the expected CSRF token.
async fn form_token(
    req: &mut ServiceRequest,
    expected: Option<String>,
    timeout: std::time::Duration,
) -> Result<(), Refusal> {
    let body = buffer_body(req, timeout).await?;
    check_form_token(&body, expected)
}

fn api_rule(
    state: &AppState,
    who: Option<&Principal>,
    path: &str,
    read: bool,
) -> Result<(), Refusal> {
    if read {
        return read_rule(state, who, path);
    }
    match who {
        Some(Principal::Key(_)) => Ok(()),
        _ => Err(Refusal::Unauthenticated(
            "API writes need an API key: send `Authorization: Bearer rb_…` (create one with \
             `releaseboard api-key create NAME --scope ingest|write`)"
                .into(),
        )),
    }
}

fn read_rule(state: &AppState, who: Option<&Principal>, path: &str) -> Result<(), Refusal> {
    if state.config.public_read || always_open(path) {
        return Ok(());
    }
    match who {
        None if is_api(path) => Err(Refusal::Unauthenticated(
            "reading needs an API key or a signed-in session on this server".into(),
        )),
        None => Err(Refusal::SignIn {
            next: path.to_string(),
        }),
        Some(p) if !p.may(Permission::Read) => Err(Refusal::Forbidden(format!(
            "{} may only post events",
            p.describe()
        ))),
        Some(_) => Ok(()),
    }
}

/// Finds the principal: an API key (API routes only) or a session cookie. A presented key that
/// is malformed, unknown or revoked is refused; a stale session cookie is just anonymous.
async fn identify(
    state: &AppState,
    req: &HttpRequest,
    api: bool,
) -> Result<Option<Principal>, Refusal> {
    if api {
        if let Some(value) = req.headers().get(header::AUTHORIZATION) {
            return identify_key(state, value).await.map(Some);
        }
    }
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    accounts::session(&state.ctx, cookie.value())
        .await
        .map_err(Refusal::Failed)
}

async fn identify_key(state: &AppState, value: &header::HeaderValue) -> Result<Principal, Refusal> {
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(secret::KEY_PREFIX))
        .ok_or_else(|| {
            Refusal::Unauthenticated("the Authorization header must be `Bearer rb_…`".into())
        })?;
    accounts::key_holder(&state.ctx, token)
        .await
        .map_err(Refusal::Failed)?
        .map(Principal::Key)
        .ok_or_else(|| Refusal::Unauthenticated("unknown or revoked API key".into()))
}

/// Checks the `csrf_token` field of a form body against `expected`.
fn check_form_token(body: &web::Bytes, expected: Option<String>) -> Result<(), Refusal> {
    let sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()
        .and_then(|fields| {
            fields
                .into_iter()
                .find(|(k, _)| k == "csrf_token")
                .map(|(_, v)| v)
        });
    match (sent, expected) {
        (Some(sent), Some(expected)) if !expected.is_empty() && secret::same(&sent, &expected) => {
            Ok(())
        }
        _ => Err(Refusal::Forbidden(
            "This form has expired or did not come from this site. Go back, reload the page \
             and try again."
                .into(),
        )),
    }
}

/// Reads a body of at most `limit` bytes that must have arrived by `deadline`.
async fn read_body(
    mut payload: Payload,
    limit: usize,
    deadline: tokio::time::Instant,
    timeout: std::time::Duration,
) -> Result<web::Bytes, Refusal> {
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| Refusal::BadBody(e.to_string()))?;
            if body.len() + chunk.len() > limit {
                return Err(Refusal::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout_at(deadline, read)
        .await
        .unwrap_or(Err(Refusal::TimedOut(timeout)))
}

/// Reads the whole body before any handler runs, within the request timeout (SPEC §7: a
/// request whose body arrives too slowly is answered 408 and closed), and puts it back for the
/// handler. Bodies are at most 1 MiB, which every handler reads whole anyway; reading them
/// here, once, is what puts one deadline on every face.
async fn buffer_body(
    req: &mut ServiceRequest,
    timeout: std::time::Duration,
) -> Result<web::Bytes, Refusal> {
    let deadline = tokio::time::Instant::now() + timeout;
    let body = read_body(req.take_payload(), super::MAX_BODY_BYTES, deadline, timeout).await?;
    req.set_payload(Payload::from(body.clone()));
    Ok(body)
}

/// The path (and query) of the page a form was on, if it was one of ours.
fn same_site_referer(req: &HttpRequest) -> Option<String> {
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    // The Host header itself: `X-Forwarded-Host` is anyone's to send.
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    let rest = referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?;
    let path = rest.strip_prefix(host)?;
    let path = safe_next(Some(path));
    (path != "/").then(|| path.to_string())
}
