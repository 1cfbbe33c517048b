//! The server-rendered dashboard (SPEC §6): askama pages, plain HTML forms, static assets.
//! A handler extracts its input, parses a form into a command of `domain`, calls `service`,
//! and renders a page — or the error: a form shown again with the problem next to its field,
//! or an error page. It holds no rule of its own. Its routes are in `app::routes`.

pub mod catalog;
pub mod compare;
pub mod dashboard;
pub mod deployments;
pub mod exports;
pub mod feeds;
pub mod form;
pub mod releases;
pub mod session;
pub mod settings;
pub mod views;

use crate::app::state::AppState;
use crate::domain::access::Permission;
use crate::domain::{validate, Entity, Error, Missing};
use crate::http::gate::{self, Refusal};
use crate::http::{log_failure, query_escape, status_of};
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

/// Renders a page with a status code. A template that fails to render is a bug: 500 page.
pub fn render<T: Template>(status: StatusCode, page: &T) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server log has the details.",
            )
        }
    }
}

/// What the frame of every page shows: the current nav entry, the one-time flash message, who
/// is signed in, what they may do, and the CSRF token every form of theirs carries.
#[derive(Debug, Default)]
pub struct Frame {
    pub nav: &'static str,
    pub flash: Option<String>,
    /// The section of the page the flash message belongs to (`versions`, `status`), shown
    /// there rather than at the top; `None`: the top of the page.
    pub flash_section: Option<String>,
    /// The signed-in user's name, if any.
    pub user: Option<String>,
    pub role: &'static str,
    pub csrf: String,
    /// May change releases (editor or admin): the pages show their forms.
    pub can_edit: bool,
    /// May change environments, products, users and keys.
    pub is_admin: bool,
}

impl Frame {
    /// The frame of a page, with the request's flash message (the handler must also
    /// [`clear_flash`] on its response).
    pub fn new(req: &HttpRequest, nav: &'static str) -> Frame {
        let (flash_section, flash) = match take_flash(req) {
            Some(f) => match f.split_once(SECTION_MARK) {
                Some((section, message)) => (Some(section.to_string()), Some(message.to_string())),
                None => (None, Some(f)),
            },
            None => (None, None),
        };
        Frame {
            flash,
            flash_section,
            ..Frame::without_flash(req, nav)
        }
    }

    /// The flash message for the top of the page.
    pub fn top_flash(&self) -> Option<&str> {
        self.flash
            .as_deref()
            .filter(|_| self.flash_section.is_none())
    }

    /// The flash message for one section of the page.
    pub fn flash_in(&self, section: &str) -> Option<&str> {
        self.flash
            .as_deref()
            .filter(|_| self.flash_section.as_deref() == Some(section))
    }

    /// The frame of a page shown again after a failed form: no flash message.
    pub fn without_flash(req: &HttpRequest, nav: &'static str) -> Frame {
        match gate::signed_in(req) {
            Some(u) => Frame {
                nav,
                flash: None,
                flash_section: None,
                role: u.role.as_str(),
                can_edit: u.role.allows(Permission::ManageReleases),
                is_admin: u.role.allows(Permission::ManageAccess),
                user: Some(u.name),
                csrf: u.csrf_token,
            },
            None => Frame {
                nav,
                ..Frame::default()
            },
        }
    }
}

impl Frame {
    /// Whether to offer links to edit forms: to editors, and to visitors who may sign in as one
    /// (the form page asks them to). Viewers are not teased with forms they cannot use.
    pub fn offers_edit(&self) -> bool {
        self.can_edit || self.user.is_none()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    frame: Frame,
    heading: &'a str,
    message: &'a str,
}

pub(crate) fn error_page(status: StatusCode, heading: &str, message: &str) -> HttpResponse {
    let page = ErrorPage {
        frame: Frame::default(),
        heading,
        message,
    };
    let html = page
        .render()
        .unwrap_or_else(|_| format!("<!doctype html><title>{status}</title><h1>{status}</h1>"));
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html)
}

/// An error on a dashboard page, shown as an HTML page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// What a use case reported.
    #[error(transparent)]
    Domain(#[from] Error),
    /// A form body that is not a form at all.
    #[error("{0}")]
    BadRequest(String),
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Domain(e) => status_of(e),
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let PageError::Domain(e) = self {
            // Logs the cause chain; the page shows none of it.
            log_failure(e);
        }
        let heading = match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::SERVICE_UNAVAILABLE => "Too busy right now",
            s if s.is_server_error() => "Something went wrong",
            _ => "That did not work",
        };
        let mut page = error_page(status, heading, &self.to_string());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // As the API says it: try again in a second.
            page.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        page
    }
}

/// A search or filter term of a page's query string (`validate::search_term`): empty when
/// absent; a term no stored text could match (a control character) is a 400 naming it.
pub fn search_term(field: &str, raw: Option<&str>) -> Result<String, PageError> {
    validate::search_term(raw)
        .map(Option::unwrap_or_default)
        .map_err(|m| PageError::BadRequest(format!("the filter '{field}' {m}")))
}

/// A record named in a page's URL: anything but a UUID names none (a 404 page).
pub fn path_id(raw: &str, what: Entity) -> Result<String, PageError> {
    validate::id(raw).ok_or(PageError::Domain(Missing::Record(what).into()))
}

/// The dashboard's answer to a request the gate refused.
pub fn refusal(r: Refusal) -> HttpResponse {
    match r {
        Refusal::SignIn { next } => HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/login?next={}", query_escape(&next)),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Refusal::Unauthenticated(m) => error_page(StatusCode::UNAUTHORIZED, "Please sign in", &m),
        Refusal::Forbidden(m) => error_page(StatusCode::FORBIDDEN, "Not allowed", &m),
        Refusal::BadBody(m) => PageError::BadRequest(m).error_response(),
        Refusal::TooLarge(limit) => error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "That did not work",
            &format!("request body is larger than {limit} bytes"),
        ),
        Refusal::TimedOut(after) => error_page(
            StatusCode::REQUEST_TIMEOUT,
            "That took too long",
            &format!(
                "The form did not arrive within {} seconds. Try again.",
                after.as_secs()
            ),
        ),
        Refusal::Failed(e) => PageError::Domain(e).error_response(),
    }
}

/// Pages that do not exist.
pub async fn not_found() -> HttpResponse {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
}

const FLASH_COOKIE: &str = "rb_flash";

/// A 303 to the page to show next, carrying a one-time flash message (a `Secure` cookie when
/// the session's is).
pub fn see_other(req: &HttpRequest, location: &str, flash: &str) -> HttpResponse {
    let secure = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.secure_cookies);
    let cookie = Cookie::build(FLASH_COOKIE, encode_flash(flash))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(CookieDuration::minutes(5))
        .finish();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .cookie(cookie)
        .finish()
}

/// Separates a flash message's section from its text in the cookie.
const SECTION_MARK: char = '\u{1e}';

/// A 303 back to one section of a page (`/releases/{id}#versions`), its message shown there:
/// after a form post the user lands where they acted, with what happened next to it.
pub fn see_other_to_section(
    req: &HttpRequest,
    path: &str,
    section: &str,
    flash: &str,
) -> HttpResponse {
    see_other(
        req,
        &format!("{path}#{section}"),
        &format!("{section}{SECTION_MARK}{flash}"),
    )
}

/// Reads the flash message of the request, if any. The page that shows it must also clear it
/// with [`clear_flash`].
pub fn take_flash(req: &HttpRequest) -> Option<String> {
    req.cookie(FLASH_COOKIE)
        .map(|c| decode_flash(c.value()))
        .filter(|m| !m.is_empty())
}

/// Expires the flash cookie on a response, so the message shows once.
pub fn clear_flash(req: &HttpRequest, mut res: HttpResponse) -> HttpResponse {
    if req.cookie(FLASH_COOKIE).is_some() {
        let mut gone = Cookie::build(FLASH_COOKIE, "").path("/").finish();
        gone.make_removal();
        let _ = res.add_cookie(&gone);
    }
    res
}

// Cookie values may not hold spaces, quotes or commas: percent-encode the UTF-8 bytes.
fn encode_flash(s: &str) -> String {
    query_escape(s)
}

fn decode_flash(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .chars()
        .take(500)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_messages_round_trip_through_the_cookie() {
        for m in [
            "Release \"<b>x</b>\" created; 3 versions, ✅",
            "plain",
            "100%",
        ] {
            assert_eq!(decode_flash(&encode_flash(m)), m);
        }
    }
}
