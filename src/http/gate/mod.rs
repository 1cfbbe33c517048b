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
use crate::domain::access::{Permission, Principal, SignedIn};
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
    let path = req.path().to_string();
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

    let verdict = if api {
        api_rule(&state, who.as_ref(), &path, read)
    } else if path == "/login" {
        if read {
            Ok(())
        } else {
            // The sign-in form has no session yet: its token is also in a short-lived cookie
            // set with the form (double submit), which another site can neither read nor set.
            let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_string());
            check_form_token(&mut req, expected).await
        }
    } else if read {
        read_rule(&state, who.as_ref(), &path)
    } else {
        match &who {
            Some(Principal::User(u)) => {
                let expected = Some(u.csrf_token.clone());
                check_form_token(&mut req, expected).await
            }
            // Back to the page the form was on once signed in.
            _ => Err(Refusal::SignIn {
                next: same_site_referer(req.request()).unwrap_or_else(|| "/".into()),
            }),
        }
    };
    match verdict {
        Ok(()) => next.call(req).await,
        Err(refusal) => {
            let answer = actor::refuse(req.request(), refusal);
            Ok(req.into_response(answer))
        }
    }
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

/// Reads the form body, checks its `csrf_token` field against `expected`, and puts the body
/// back for the handler.
async fn check_form_token(
    req: &mut ServiceRequest,
    expected: Option<String>,
) -> Result<(), Refusal> {
    let body = read_body(req.take_payload(), super::MAX_BODY_BYTES).await?;
    let sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .and_then(|fields| {
            fields
                .into_iter()
                .find(|(k, _)| k == "csrf_token")
                .map(|(_, v)| v)
        });
    req.set_payload(Payload::from(body));
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

async fn read_body(mut payload: Payload, limit: usize) -> Result<web::Bytes, Refusal> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Refusal::BadBody(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(Refusal::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The path (and query) of the page a form was on, if it was one of ours.
fn same_site_referer(req: &HttpRequest) -> Option<String> {
    let referer = req.headers().get(header::REFERER)?.to_str().ok()?;
    let host = req.connection_info().host().to_string();
    let rest = referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?;
    let path = rest.strip_prefix(host.as_str())?;
    path.starts_with('/').then(|| path.to_string())
}

/// A `next` target that stays on this site: a local path, never `//host` or a scheme.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}
