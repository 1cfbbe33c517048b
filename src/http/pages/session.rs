//! Signing in and out: `GET/POST /login`, `POST /logout`.
//!
//! The sign-in form carries a token that is also set as a short-lived cookie (checked by the
//! gate), so another site cannot sign a visitor into an account of its choosing.

use super::{render, see_other, Frame, PageError};
use crate::app::state::AppState;
use crate::domain::access::safe_next;
use crate::http::gate::{
    self, clear_login_cookie, end_session_cookie, login_cookie, session_cookie,
};
use crate::secret;
use crate::service::accounts::{self, SignIn};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    frame: Frame,
    public_read: bool,
    token: String,
    next: String,
    name: String,
    problem: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    next: String,
    name: String,
    problem: Option<String>,
) -> HttpResponse {
    // A fresh token per form shown; the cookie carries its twin.
    let token = secret::new_token();
    let page = LoginPage {
        frame: Frame::new(req, "login"),
        public_read: state.config.public_read,
        token: token.clone(),
        next,
        name,
        problem,
    };
    let mut res = super::clear_flash(req, render(status, &page));
    let secure = gate::session::wants_secure(req, &state.config);
    let _ = res.add_cookie(&login_cookie(&token, secure));
    res
}

pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<NextQuery>,
) -> HttpResponse {
    let next = safe_next(query.next.as_deref()).to_string();
    login_page(&req, &state, StatusCode::OK, next, String::new(), None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let LoginForm {
        name,
        password,
        next,
    } = form.into_inner();
    let name = name.trim().to_string();
    let next = safe_next(Some(&next)).to_string();
    // The TCP peer, not a forwarded header a client could make up (see docs/decisions.md).
    let address = req
        .peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string());
    let secure = gate::session::wants_secure(&req, &state.config);
    // The session the browser came with, if any: replaced by the new one.
    let previous = gate::signed_in(&req).map(|u| u.session_id);
    match accounts::sign_in(&state.ctx, &name, password, &address, previous).await? {
        SignIn::Welcome { token, user } => {
            let mut res = see_other(&req, &next, &format!("Signed in as {user}."));
            let _ = res.add_cookie(&session_cookie(&token, secure));
            let _ = res.add_cookie(&clear_login_cookie(secure));
            Ok(res)
        }
        // The same words whether the name exists or not.
        SignIn::Wrong => Ok(login_page(
            &req,
            &state,
            StatusCode::UNAUTHORIZED,
            next,
            name,
            Some("Wrong user name or password.".into()),
        )),
        SignIn::Locked { seconds: wait } => {
            let minutes = (wait + 59) / 60;
            let mut res = login_page(
                &req,
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                next,
                name,
                Some(format!(
                    "Too many failed sign-ins. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                )),
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
            Ok(res)
        }
    }
}

pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    // The gate only lets signed-in users post here.
    if let Some(user) = gate::signed_in(&req) {
        accounts::sign_out(&state.ctx, &user.session_id).await?;
    }
    let secure = gate::session::wants_secure(&req, &state.config);
    let mut res = see_other(&req, "/", "Signed out.");
    let _ = res.add_cookie(&end_session_cookie(secure));
    Ok(res)
}
