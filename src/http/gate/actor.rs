//! `Actor<N>`: the extractor with which a write handler says which permission it needs, and
//! `Refusal`: why the gate (or an `Actor`) turns a request away. The gate decides; each face
//! answers a refusal its own way (JSON under `/api`, a page or the sign-in redirect elsewhere),
//! through the [`Answers`] the application registers.

use super::{is_api, principal, routed_path};
use crate::domain::access::{Permission, Principal};
use crate::domain::Error;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use std::future::{ready, Ready};
use std::marker::PhantomData;

/// Why a request is refused.
#[derive(Debug)]
pub enum Refusal {
    /// No valid credentials (API: 401).
    Unauthenticated(String),
    /// A page that needs a signed-in user: to the sign-in page, then back to `next`.
    SignIn { next: String },
    /// Credentials that do not allow this (403).
    Forbidden(String),
    /// The body could not be read (400).
    BadBody(String),
    /// The body is larger than the limit (413).
    TooLarge(usize),
    /// The body did not arrive within the request timeout (408; the connection is closed).
    TimedOut(std::time::Duration),
    /// The check itself failed (the database).
    Failed(Error),
}

/// How each face answers a refusal. The application registers one as app data
/// (`app::routes`); the gate and [`Actor`] pick the face by the request's path.
#[derive(Clone, Copy)]
pub struct Answers {
    pub api: fn(Refusal) -> HttpResponse,
    pub page: fn(Refusal) -> HttpResponse,
}

impl Answers {
    pub fn answer(&self, refusal: Refusal, api: bool) -> HttpResponse {
        if api {
            (self.api)(refusal)
        } else {
            (self.page)(refusal)
        }
    }
}

/// Answers `refusal` as the face of `req` does.
pub(super) fn refuse(req: &HttpRequest, refusal: Refusal) -> HttpResponse {
    let api = is_api(routed_path(req));
    match req.app_data::<web::Data<Answers>>() {
        Some(answers) => answers.answer(refusal, api),
        // Only an application built without `app::routes` lacks them.
        None => HttpResponse::Forbidden().body(format!("{refusal:?}")),
    }
}

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

    /// The credential that sent the request (`Principal::credential`).
    pub fn credential(&self) -> String {
        self.principal.credential()
    }
}

impl<N: Need> FromRequest for Actor<N> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
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
            None if is_api(routed_path(req)) => Err(Refusal::Unauthenticated(format!(
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
        ready(outcome.map_err(|refusal| {
            let cause = format!("{refusal:?}");
            actix_web::error::InternalError::from_response(cause, refuse(req, refusal)).into()
        }))
    }
}
