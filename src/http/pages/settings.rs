//! `/settings`: users and API keys, for admins. A new password or key is shown once, on the
//! page that answers the form (it is never stored, so it cannot be shown again).

use super::form::FormErrors;
use super::views::when;
use super::{clear_flash, render, see_other, Frame, PageError};
use crate::app::state::AppState;
use crate::domain::access::{self, KeyScope, Role};
use crate::http::gate::{Access, Actor};
use crate::service::accounts;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

pub struct UserRow {
    pub name: String,
    pub role: String,
    pub disabled: bool,
    /// Admins cannot disable themselves (and so lock out the last admin by accident).
    pub is_me: bool,
}

pub struct KeyRow {
    pub name: String,
    pub scope: String,
    pub created: String,
    pub created_by: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

/// A secret shown once.
pub struct Revealed {
    pub heading: String,
    pub advice: String,
    pub secret: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    frame: Frame,
    revealed: Option<Revealed>,
    users: Vec<UserRow>,
    keys: Vec<KeyRow>,
    roles: Vec<&'static str>,
    scopes: Vec<&'static str>,
    user_form: UserForm,
    user_errors: FormErrors,
    key_form: KeyForm,
    key_errors: FormErrors,
}

impl SettingsPage {
    async fn load(state: &AppState, frame: Frame) -> Result<SettingsPage, PageError> {
        let me = frame.user.clone().unwrap_or_default();
        let users = accounts::list_users(&state.ctx)
            .await?
            .into_iter()
            .map(|u| UserRow {
                is_me: u.name == me,
                role: u.role,
                disabled: u.disabled,
                name: u.name,
            })
            .collect();
        let keys = accounts::list_api_keys(&state.ctx)
            .await?
            .into_iter()
            .map(|k| KeyRow {
                created: when(k.created_at),
                last_used: k.last_used_at.map_or("never".into(), when),
                revoked: k.revoked_at.map(when),
                created_by: k.created_by,
                scope: k.scope,
                name: k.name,
            })
            .collect();
        Ok(SettingsPage {
            frame,
            revealed: None,
            users,
            keys,
            roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
            scopes: KeyScope::ALL.iter().map(|s| s.as_str()).collect(),
            user_form: UserForm {
                role: Role::Editor.as_str().into(),
                ..UserForm::default()
            },
            user_errors: FormErrors::default(),
            key_form: KeyForm {
                scope: KeyScope::Ingest.as_str().into(),
                ..KeyForm::default()
            },
            key_errors: FormErrors::default(),
        })
    }
}

pub async fn show(
    _who: Actor<Access>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let page = SettingsPage::load(&state, Frame::new(&req, "settings")).await?;
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}

/// Answers a form that made a secret: the settings page with the secret shown once.
async fn reveal(
    req: &HttpRequest,
    state: &AppState,
    revealed: Revealed,
) -> Result<HttpResponse, PageError> {
    let mut page = SettingsPage::load(state, Frame::without_flash(req, "settings")).await?;
    page.revealed = Some(revealed);
    Ok(render(StatusCode::OK, &page))
}

pub async fn create_user(
    _who: Actor<Access>,
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<UserForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let attempt = async {
        let role = access::role(&form.role)?;
        accounts::create_user(&state.ctx, &form.name, role, None).await
    };
    match attempt.await {
        Ok((user, password)) => {
            reveal(
                &req,
                &state,
                Revealed {
                    heading: format!("Created {} {}", user.role, user.name),
                    advice: format!("Give {} this password; they sign in at /login.", user.name),
                    secret: password,
                },
            )
            .await
        }
        Err(e) => {
            let (status, errors) = FormErrors::from_error(e, "name")?;
            let mut page =
                SettingsPage::load(&state, Frame::without_flash(&req, "settings")).await?;
            page.user_form = form;
            page.user_errors = errors;
            Ok(render(status, &page))
        }
    }
}

pub async fn new_password(
    _who: Actor<Access>,
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, PageError> {
    let password = accounts::set_password(&state.ctx, &form.name, None).await?;
    reveal(
        &req,
        &state,
        Revealed {
            heading: format!("New password for {}", form.name.trim()),
            advice: "Their sessions have ended; give them this password to sign in again.".into(),
            secret: password,
        },
    )
    .await
}

async fn set_disabled(
    who: &Actor<Access>,
    req: &HttpRequest,
    state: &AppState,
    name: &str,
    disabled: bool,
) -> Result<HttpResponse, PageError> {
    let name = name.trim();
    // The audit name of a signed-in admin is their user name.
    let me = who.name();
    accounts::set_disabled(&state.ctx, name, disabled, Some(&me)).await?;
    let verb = if disabled {
        "disabled; their sessions have ended"
    } else {
        "enabled"
    };
    Ok(see_other(req, "/settings", &format!("User {name} {verb}.")))
}

pub async fn disable_user(
    who: Actor<Access>,
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, PageError> {
    set_disabled(&who, &req, &state, &form.name, true).await
}

pub async fn enable_user(
    who: Actor<Access>,
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, PageError> {
    set_disabled(&who, &req, &state, &form.name, false).await
}

pub async fn create_key(
    who: Actor<Access>,
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<KeyForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let attempt = async {
        let scope = access::scope(&form.scope)?;
        accounts::create_api_key(&state.ctx, &form.name, scope, &who.name()).await
    };
    match attempt.await {
        Ok(issued) => {
            reveal(
                &req,
                &state,
                Revealed {
                    heading: format!("Created {} key {}", issued.key.scope, issued.key.name),
                    advice: "Store it now, e.g. as a CI secret named RELEASEBOARD_API_KEY; \
                             pipelines send it as `Authorization: Bearer …`."
                        .into(),
                    secret: issued.secret,
                },
            )
            .await
        }
        Err(e) => {
            let (status, errors) = FormErrors::from_error(e, "name")?;
            let mut page =
                SettingsPage::load(&state, Frame::without_flash(&req, "settings")).await?;
            page.key_form = form;
            page.key_errors = errors;
            Ok(render(status, &page))
        }
    }
}

pub async fn revoke_key(
    _who: Actor<Access>,
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, PageError> {
    let name = form.name.trim().to_string();
    accounts::revoke_api_key(&state.ctx, &name).await?;
    Ok(see_other(
        &req,
        "/settings",
        &format!("Key {name} revoked: it no longer works."),
    ))
}
