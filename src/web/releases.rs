//! Release pages and forms: list, history, create, the release page, edits, versions, status.

use super::form::FormErrors;
use super::views::{iso, page_number, query_escape, when, MatrixView, Pager, ReleaseRowView};
use super::{clear_flash, render, see_other, Frame, WebError};
use crate::api::releases::{ReleaseIn, ReleasePatch};
use crate::db::catalog;
use crate::db::releases::{self, ReleaseChanges, ReleaseFilter, VersionRef};
use crate::db::{ids, matrix, AnyConnection};
use crate::domain::ReleaseStatus;
use crate::error::AppError;
use crate::gate::{Actor, Releases};
use crate::startup::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(super::form::form_config())
        .route("/releases", web::get().to(list))
        .route("/releases", web::post().to(create))
        .route("/releases/new", web::get().to(new_form))
        .route("/releases/history", web::get().to(history))
        .route("/releases/{id}", web::get().to(show))
        .route("/releases/{id}/edit", web::get().to(edit_form))
        .route("/releases/{id}/edit", web::post().to(edit))
        .route("/releases/{id}/versions", web::post().to(add_version))
        .route(
            "/releases/{id}/versions/{version_id}/delete",
            web::post().to(remove_version),
        )
        .route("/releases/{id}/status", web::post().to(change_status));
}

const PER_PAGE: i64 = 25;

fn release_id(raw: &str) -> Result<String, WebError> {
    ids::parse(raw).ok_or_else(|| WebError(AppError::not_found("release")))
}

// ---------------------------------------------------------------------------------------------
// Lists

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    page: Option<String>,
}

pub struct Tab {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "releases.html")]
struct ReleasesPage {
    frame: Frame,
    tabs: Vec<Tab>,
    status: String,
    q: String,
    releases: Vec<ReleaseRowView>,
    total: i64,
    pager: Pager,
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    // Unknown filter values show everything rather than an error: these are links people edit.
    let status = query.status.as_deref().and_then(ReleaseStatus::parse);
    let q = query.q.clone().unwrap_or_default().trim().to_string();
    let page = page_number(query.page.as_deref());
    let filter = ReleaseFilter {
        statuses: status.into_iter().collect(),
        name_contains: (!q.is_empty()).then(|| q.clone()),
        limit: PER_PAGE,
        offset: (page - 1) * PER_PAGE,
        by_completion: false,
    };
    let (rows, total) = state
        .db
        .read(move |conn| Ok(releases::list(conn, &filter)?))
        .await?;
    let q_param = if q.is_empty() {
        String::new()
    } else {
        format!("q={}", query_escape(&q))
    };
    let tab = |label: &'static str, s: Option<ReleaseStatus>| {
        let mut params: Vec<String> = s.iter().map(|s| format!("status={}", s.as_str())).collect();
        if !q_param.is_empty() {
            params.push(q_param.clone());
        }
        Tab {
            label,
            href: if params.is_empty() {
                "/releases".into()
            } else {
                format!("/releases?{}", params.join("&"))
            },
            current: s == status,
        }
    };
    let mut tabs = vec![tab("All", None)];
    tabs.extend(
        ReleaseStatus::ALL
            .into_iter()
            .map(|s| tab(s.label(), Some(s))),
    );
    let mut base: Vec<String> = status
        .iter()
        .map(|s| format!("status={}", s.as_str()))
        .collect();
    if !q_param.is_empty() {
        base.push(q_param.clone());
    }
    let page_view = ReleasesPage {
        frame: Frame::new(&req, "releases"),
        tabs,
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        q,
        releases: rows.iter().map(ReleaseRowView::from).collect(),
        total,
        pager: Pager::new("/releases", &base.join("&"), page, PER_PAGE, total),
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page_view)))
}

pub struct HistoryRow {
    pub release: ReleaseRowView,
    pub reached_production: Option<String>,
    pub reached_production_iso: Option<String>,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    frame: Frame,
    rows: Vec<HistoryRow>,
    total: i64,
    pager: Pager,
}

pub async fn history(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let page = page_number(query.page.as_deref());
    let filter = ReleaseFilter {
        statuses: vec![ReleaseStatus::Completed],
        name_contains: None,
        limit: PER_PAGE,
        offset: (page - 1) * PER_PAGE,
        by_completion: true,
    };
    let (rows, reached, total) = state
        .db
        .read(move |conn| {
            let (rows, total) = releases::list(conn, &filter)?;
            let ids: Vec<String> = rows.iter().map(|r| r.release.id.clone()).collect();
            let reached = releases::reached_production(conn, &ids)?;
            Ok((rows, reached, total))
        })
        .await?;
    let rows = rows
        .iter()
        .map(|s| {
            let at = reached.get(&s.release.id).copied();
            HistoryRow {
                release: ReleaseRowView::from(s),
                reached_production: at.map(when),
                reached_production_iso: at.map(iso),
            }
        })
        .collect();
    let page_view = HistoryPage {
        frame: Frame::new(&req, "releases"),
        rows,
        total,
        pager: Pager::new("/releases/history", "", page, PER_PAGE, total),
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page_view)))
}

// ---------------------------------------------------------------------------------------------
// Create and edit

/// The fields of the create and edit forms, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct ReleaseForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    metadata: String,
}

impl ReleaseForm {
    /// The metadata text area holds a JSON object; empty means none.
    fn metadata_value(&self) -> Result<serde_json::Value, AppError> {
        let text = self.metadata.trim();
        if text.is_empty() {
            return Ok(serde_json::Value::Object(Default::default()));
        }
        let hint = "must be a JSON object such as {\"ticket\": \"REL-42\"}";
        match serde_json::from_str(text) {
            // `null` would silently mean "no metadata": say what is expected instead.
            Ok(serde_json::Value::Null) => Err(AppError::invalid("metadata", hint)),
            Ok(v) => Ok(v),
            Err(e) => Err(AppError::invalid("metadata", format!("{hint} ({e})"))),
        }
    }
}

#[derive(Template)]
#[template(path = "release_form.html")]
struct ReleaseFormPage {
    frame: Frame,
    /// `None` for a new release.
    release_id: Option<String>,
    heading: String,
    action: String,
    form: ReleaseForm,
    statuses: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
}

fn status_options() -> Vec<(&'static str, &'static str)> {
    ReleaseStatus::ALL
        .into_iter()
        .map(|s| (s.as_str(), s.label()))
        .collect()
}

pub async fn new_form(_who: Actor<Releases>, req: HttpRequest) -> HttpResponse {
    let page = ReleaseFormPage {
        frame: Frame::new(&req, "releases"),
        release_id: None,
        heading: "New release".into(),
        action: "/releases".into(),
        form: ReleaseForm {
            status: "draft".into(),
            ..Default::default()
        },
        statuses: status_options(),
        errors: FormErrors::default(),
    };
    clear_flash(&req, render(StatusCode::OK, &page))
}

/// Shows a form again with the user's input and the errors next to their fields.
fn form_again(
    req: &HttpRequest,
    e: AppError,
    release_id: Option<String>,
    heading: String,
    action: String,
    form: ReleaseForm,
) -> Result<HttpResponse, WebError> {
    let (status, errors) = FormErrors::from_error(e, "name")?;
    let page = ReleaseFormPage {
        frame: Frame::without_flash(req, "releases"),
        release_id,
        heading,
        action,
        form,
        statuses: status_options(),
        errors,
    };
    Ok(render(status, &page))
}

pub async fn create(
    actor: Actor<Releases>,
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<ReleaseForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let attempt = async {
        let input = ReleaseIn {
            name: form.name.clone(),
            description: Some(form.description.clone()),
            status: Some(form.status.clone()).filter(|s| !s.trim().is_empty()),
            extra_metadata: Some(form.metadata_value()?),
        }
        .validate()?;
        state
            .db
            .write(move |conn| releases::create(conn, &input, &actor.name()))
            .await
    };
    match attempt.await {
        Ok(r) => Ok(see_other(
            &format!("/releases/{}", r.id),
            &format!("Release “{}” created.", r.name),
        )),
        Err(e) => form_again(
            &req,
            e,
            None,
            "New release".into(),
            "/releases".into(),
            form,
        ),
    }
}

pub async fn edit_form(
    _who: Actor<Releases>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id = release_id(&id)?;
    let key = id.clone();
    let r = state.db.read(move |conn| releases::get(conn, &key)).await?;
    let page = ReleaseFormPage {
        frame: Frame::new(&req, "releases"),
        release_id: Some(id.clone()),
        heading: format!("Edit “{}”", r.name),
        action: format!("/releases/{id}/edit"),
        form: ReleaseForm {
            name: r.name.clone(),
            description: r.description.clone().unwrap_or_default(),
            status: r.status.clone(),
            metadata: pretty_metadata(&r.extra_metadata).unwrap_or_default(),
        },
        statuses: status_options(),
        errors: FormErrors::default(),
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}

pub async fn edit(
    actor: Actor<Releases>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<ReleaseForm>,
) -> Result<HttpResponse, WebError> {
    let id = release_id(&id)?;
    let form = form.into_inner();
    let key = id.clone();
    // A missing release is a 404 page, not a form error.
    let current = state.db.read(move |conn| releases::get(conn, &key)).await?;
    let attempt = async {
        let changes = ReleasePatch {
            name: Some(form.name.clone()),
            description: Some(Some(form.description.clone())),
            status: None,
            extra_metadata: Some(form.metadata_value()?),
        }
        .validate()?;
        let key = id.clone();
        state
            .db
            .write(move |conn| releases::update(conn, &key, &changes, &actor.name()))
            .await
    };
    match attempt.await {
        Ok(r) => Ok(see_other(
            &format!("/releases/{}", r.id),
            &format!("Release “{}” saved.", r.name),
        )),
        Err(e) => form_again(
            &req,
            e,
            Some(id.clone()),
            format!("Edit “{}”", current.name),
            format!("/releases/{id}/edit"),
            form,
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The release page

pub struct VersionOption {
    pub id: String,
    pub label: String,
    pub selected: bool,
}

pub struct VersionGroup {
    pub product: String,
    pub versions: Vec<VersionOption>,
}

pub struct AuditView {
    pub when: String,
    pub iso: String,
    pub actor: String,
    pub text: String,
}

pub struct StatusChoice {
    pub value: &'static str,
    pub label: String,
}

#[derive(Template)]
#[template(path = "release.html")]
struct ReleasePage {
    frame: Frame,
    id: String,
    name: String,
    description: Option<String>,
    status: &'static str,
    status_label: &'static str,
    archived: bool,
    metadata: Option<String>,
    created: String,
    completed: Option<String>,
    matrix: MatrixView,
    choices: Vec<StatusChoice>,
    groups: Vec<VersionGroup>,
    audit: Vec<AuditView>,
    errors: FormErrors,
}

/// Pretty-printed metadata, or `None` when there is none worth showing.
fn pretty_metadata(raw: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(m)) if m.is_empty() => None,
        Ok(v) => serde_json::to_string_pretty(&v).ok(),
        Err(_) => None,
    }
}

/// How many versions the add-version select offers: the newest ones, grouped by product.
/// Older versions can still be added through the API (by product name and version).
const SELECT_LIMIT: i64 = 500;

fn audit_text(action: &str, details: &serde_json::Value) -> String {
    let s = |k: &str| {
        details
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string()
    };
    match action {
        "created" => "created the release".into(),
        "edited" => {
            let fields: Vec<&str> = details
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            format!("edited {}", fields.join(", "))
        }
        "status_changed" => format!(
            "changed the status from {} to {}",
            ReleaseStatus::parse(&s("from")).map_or("?", |x| x.label()),
            ReleaseStatus::parse(&s("to")).map_or("?", |x| x.label())
        ),
        "version_added" => format!("added {} {}", s("product"), s("version")),
        "version_removed" => format!("removed {} {}", s("product"), s("version")),
        other => other.replace('_', " "),
    }
}

/// Everything the release page needs, in one read.
fn load_release_page(
    conn: &mut AnyConnection,
    id: &str,
    frame: Frame,
    errors: FormErrors,
    selected: Option<&str>,
) -> Result<ReleasePage, AppError> {
    let r = releases::get(conn, id)?;
    let m = matrix::release_matrix(conn, id)?;
    let audit = releases::audit_trail(conn, id)?;
    let status = r.status();
    let groups = if status.is_final() {
        Vec::new()
    } else {
        let in_release: HashSet<&str> = m.rows.iter().map(|row| row.version_id.as_str()).collect();
        let versions = releases::version_choices(conn, SELECT_LIMIT)?;
        let mut by_product: BTreeMap<String, Vec<VersionOption>> = BTreeMap::new();
        for v in versions {
            if in_release.contains(v.id.as_str()) {
                continue;
            }
            let label = format!("{} {}", v.product_name, v.version);
            by_product
                .entry(v.product_name)
                .or_default()
                .push(VersionOption {
                    selected: selected == Some(v.id.as_str()),
                    id: v.id,
                    label,
                });
        }
        by_product
            .into_iter()
            .map(|(product, versions)| VersionGroup { product, versions })
            .collect()
    };
    let ready = m.ready_to_complete;
    Ok(ReleasePage {
        frame,
        id: r.id.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        status: status.as_str(),
        status_label: status.label(),
        archived: status.is_final(),
        metadata: pretty_metadata(&r.extra_metadata),
        created: when(r.created_at),
        completed: r.completed_at.map(when),
        matrix: MatrixView::from(&m),
        choices: status
            .next_choices()
            .into_iter()
            .map(|s| StatusChoice {
                value: s.as_str(),
                label: match s {
                    ReleaseStatus::Draft => "Back to draft".into(),
                    ReleaseStatus::InProgress => "Start (in progress)".into(),
                    ReleaseStatus::Completed if ready => "Complete ✓ ready".into(),
                    ReleaseStatus::Completed => "Complete".into(),
                    ReleaseStatus::Cancelled => "Cancel release".into(),
                },
            })
            .collect(),
        groups,
        audit: audit
            .iter()
            .map(|a| AuditView {
                when: when(a.created_at),
                iso: iso(a.created_at),
                actor: a.actor.clone(),
                text: audit_text(
                    &a.action,
                    &serde_json::from_str(&a.details).unwrap_or_default(),
                ),
            })
            .collect(),
        errors,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id = release_id(&id)?;
    let frame = Frame::new(&req, "releases");
    let page = state
        .db
        .read(move |conn| load_release_page(conn, &id, frame, FormErrors::default(), None))
        .await?;
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}

/// A form on the release page failed: show the page again with the error next to the form.
async fn release_page_again(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    e: AppError,
    field: &'static str,
    selected: Option<String>,
) -> Result<HttpResponse, WebError> {
    let (status, errors) = FormErrors::from_error(e, field)?;
    let frame = Frame::without_flash(req, "releases");
    let page = state
        .db
        .read(move |conn| load_release_page(conn, &id, frame, errors, selected.as_deref()))
        .await?;
    Ok(render(status, &page))
}

#[derive(Debug, Deserialize)]
pub struct AddVersionForm {
    #[serde(default)]
    version_id: String,
}

pub async fn add_version(
    actor: Actor<Releases>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<AddVersionForm>,
) -> Result<HttpResponse, WebError> {
    let id = release_id(&id)?;
    let chosen = form.version_id.trim().to_string();
    let Some(version_id) = ids::parse(&chosen) else {
        let e = AppError::invalid("version_id", "choose a version to add");
        return release_page_again(&state, &req, id, e, "version_id", None).await;
    };
    let key = id.clone();
    let which = VersionRef::Id(version_id.clone());
    let result = state
        .db
        .write(move |conn| releases::add_version(conn, &key, &which, &actor.name()))
        .await;
    match result {
        Ok((row, added)) => {
            let msg = if added {
                format!("Added {} {}.", row.product_name, row.version.version)
            } else {
                format!(
                    "{} {} was already in the release.",
                    row.product_name, row.version.version
                )
            };
            Ok(see_other(&format!("/releases/{id}"), &msg))
        }
        // An unknown version is the form's problem (a stale select), not a missing page.
        Err(AppError::NotFound(msg)) if msg.starts_with("version") => {
            let e = AppError::invalid("version_id", msg);
            release_page_again(&state, &req, id, e, "version_id", None).await
        }
        Err(e) => release_page_again(&state, &req, id, e, "version_id", Some(version_id)).await,
    }
}

pub async fn remove_version(
    actor: Actor<Releases>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (id, version_id) = path.into_inner();
    let id = release_id(&id)?;
    let version_id =
        ids::parse(&version_id).ok_or_else(|| WebError(AppError::not_found("version")))?;
    let key = id.clone();
    let result = state
        .db
        .write(move |conn| {
            let row =
                catalog::version(conn, &version_id).map_err(|_| AppError::not_found("version"))?;
            releases::remove_version(conn, &key, &version_id, &actor.name())?;
            Ok(row)
        })
        .await;
    match result {
        Ok(row) => Ok(see_other(
            &format!("/releases/{id}"),
            &format!("Removed {} {}.", row.product_name, row.version.version),
        )),
        Err(e @ AppError::Conflict(_)) => {
            release_page_again(&state, &req, id, e, "versions", None).await
        }
        Err(e) => Err(WebError(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

pub async fn change_status(
    actor: Actor<Releases>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, WebError> {
    let id = release_id(&id)?;
    let Some(next) = ReleaseStatus::parse(&form.status) else {
        let e = AppError::invalid(
            "status",
            "choose draft, in_progress, completed or cancelled",
        );
        return release_page_again(&state, &req, id, e, "status", None).await;
    };
    let key = id.clone();
    let changes = ReleaseChanges {
        status: Some(next),
        ..Default::default()
    };
    let result = state
        .db
        .write(move |conn| releases::update(conn, &key, &changes, &actor.name()))
        .await;
    match result {
        Ok(r) => Ok(see_other(
            &format!("/releases/{id}"),
            &format!("“{}” is now {}.", r.name, r.status().label().to_lowercase()),
        )),
        Err(e) => release_page_again(&state, &req, id, e, "status", None).await,
    }
}
