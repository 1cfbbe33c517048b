//! The cookies of signing in: the session cookie and the sign-in form's CSRF cookie.
//!
//! The session cookie holds an opaque random token; the server keeps only its digest, with
//! the user and an expiry, so signing out (or disabling the user) ends the session at once
//! on every instance.

use crate::config::Config;
use crate::service::accounts::SESSION_DAYS;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::HttpRequest;

pub const SESSION_COOKIE: &str = "rb_session";
pub const LOGIN_COOKIE: &str = "rb_login";

/// Whether cookies get the `Secure` flag: when configured, or when the request came over TLS
/// (directly or, per `X-Forwarded-Proto`, through a proxy).
/// Whether cookies are marked `Secure`: when the operator says the site is served over HTTPS
/// (`RELEASEBOARD_SECURE_COOKIES`). releaseboard itself speaks plain HTTP behind a TLS proxy,
/// and a client's `X-Forwarded-Proto` is not trusted (anyone can send one; trusted proxies
/// arrive with SPEC §15's `RELEASEBOARD_TRUSTED_PROXIES`).
pub fn wants_secure(_req: &HttpRequest, config: &Config) -> bool {
    config.secure_cookies
}

pub fn session_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(CookieDuration::days(SESSION_DAYS))
        .finish()
}

pub fn end_session_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie("", secure);
    c.make_removal();
    c
}

/// The sign-in form's token, sent back with the form. Strict: never sent from another site.
pub fn login_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(LOGIN_COOKIE, token.to_string())
        .path("/login")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(CookieDuration::hours(2))
        .finish()
}

pub fn clear_login_cookie(secure: bool) -> Cookie<'static> {
    let mut c = login_cookie("", secure);
    c.make_removal();
    c
}
