//! `Actor<N>`: the extractor with which a write handler says which permission it needs, and
//! `Refusal`: how a refused request is answered (JSON under `/api`, a page or the sign-in
//! redirect elsewhere).

use super::{is_api, principal};
use crate::auth::{Permission, Principal};
use crate::error::AppError;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use std::future::{ready, Ready};
use std::marker::PhantomData;

/// A permission a handler needs, as a type: `Actor<Releases>`.
pub trait Need {
    const PERMISSION: Permission;
    /// Completes "… may not {WHAT}".
    const WHAT: &'static str;
}

/// Posting deployment and build events.
pub struct Events;
/// Creating and changing releases and their versions.
pub struct Releases;
/// Creating and changing products and environments.
pub struct Catalog;
/// Users and API keys.
pub struct Access;

impl Need for Events {
    const PERMISSION: Permission = Permission::PostEvents;
    const WHAT: &'static str = "post events";
}
impl Need for Releases {
    const PERMISSION: Permission = Permission::ManageReleases;
    const WHAT: &'static str = "change releases";
}
impl Need for Catalog {
    const PERMISSION: Permission = Permission::ManageCatalog;
    const WHAT: &'static str = "change products or environments";
}
impl Need for Access {
    const PERMISSION: Permission = Permission::ManageAccess;
    const WHAT: &'static str = "manage users or API keys";
}

/// Who makes this change, proven to hold permission `N`. Put it first among a handler's
/// arguments, so that a refusal comes before the body is even read.
pub struct Actor<N: Need> {
    principal: Principal,
    _need: PhantomData<N>,
}

impl<N: Need> Actor<N> {
    /// The name the audit trail records.
    pub fn name(&self) -> String {
        self.principal.actor()
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

impl<N: Need> FromRequest for Actor<N> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let api = is_api(req.path());
        let outcome = match principal(req) {
            Some(p) if p.may(N::PERMISSION) => Ok(Actor {
                principal: p,
                _need: PhantomData,
            }),
            Some(p) => Err(Refusal::Forbidden(format!(
                "{} may not {}",
                p.describe(),
                N::WHAT
            ))),
            None if api => Err(Refusal::Unauthenticated(format!(
                "an API key is needed to {}",
                N::WHAT
            ))),
            None => Err(Refusal::SignIn {
                next: req
                    .uri()
                    .path_and_query()
                    .map_or("/".into(), |pq| pq.as_str().to_string()),
            }),
        };
        ready(outcome.map_err(|r| r.into_error(api)))
    }
}

/// Why a request is refused.
#[derive(Debug)]
pub enum Refusal {
    /// No valid credentials (API: 401).
    Unauthenticated(String),
    /// A page that needs a signed-in user: to the sign-in page, then back to `next`.
    SignIn { next: String },
    /// Credentials that do not allow this (403).
    Forbidden(String),
    /// The check itself failed (database, body too large…).
    Failed(AppError),
}

impl Refusal {
    pub fn response(self, api: bool) -> HttpResponse {
        match (self, api) {
            (Refusal::Failed(e), true) => e.error_response(),
            (Refusal::Failed(e), false) => crate::web::WebError(e).error_response(),
            (Refusal::Unauthenticated(m), true) => AppError::Unauthorized(m).error_response(),
            (Refusal::SignIn { .. }, true) => {
                AppError::Unauthorized("sign in or send an API key".into()).error_response()
            }
            (Refusal::Forbidden(m), true) => AppError::Forbidden(m).error_response(),
            (Refusal::SignIn { next }, false) => HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/login?next={}", crate::web::views::query_escape(&next)),
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish(),
            (Refusal::Unauthenticated(m), false) => {
                crate::web::error_page(StatusCode::UNAUTHORIZED, "Please sign in", &m)
            }
            (Refusal::Forbidden(m), false) => {
                crate::web::error_page(StatusCode::FORBIDDEN, "Not allowed", &m)
            }
        }
    }

    fn into_error(self, api: bool) -> actix_web::Error {
        let cause = format!("{self:?}");
        actix_web::error::InternalError::from_response(cause, self.response(api)).into()
    }
}
