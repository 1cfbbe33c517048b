//! Release pages and forms: list, history, create, the release page, edits, versions, status.

use super::form::FormErrors;
use super::views::{iso, page_number, pretty_json, when, MatrixView, Pager, ReleaseRowView};
use super::{clear_flash, path_id, render, see_other, Frame, PageError};
use crate::app::state::AppState;
use crate::domain::release::{
    NewRelease, RawNewRelease, RawReleaseChanges, ReleaseChanges, VersionRef,
};
use crate::domain::{validate, Entity, Error, ReleaseStatus};
use crate::http::gate::{Actor, Releases};
use crate::http::query_escape;
use crate::service::releases::{self, Page, ReleaseFilter};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::BTreeMap;

const PER_PAGE: i64 = 25;

fn release_id(raw: &str) -> Result<String, PageError> {
    path_id(raw, Entity::Release)
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
) -> Result<HttpResponse, PageError> {
    // Unknown filter values show everything rather than an error: these are links people edit.
    let status = query.status.as_deref().and_then(ReleaseStatus::parse);
    let q = super::search_term("q", query.q.as_deref())?;
    let page = page_number(query.page.as_deref());
    let filter = ReleaseFilter {
        statuses: status.into_iter().collect(),
        name_contains: (!q.is_empty()).then(|| q.clone()),
        limit: PER_PAGE,
        offset: (page - 1) * PER_PAGE,
        by_completion: false,
    };
    let (rows, total) = releases::list(&state.ctx, filter).await?;
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
) -> Result<HttpResponse, PageError> {
    let page = page_number(query.page.as_deref());
    let h = releases::history(&state.ctx, PER_PAGE, (page - 1) * PER_PAGE).await?;
    let rows = h
        .releases
        .iter()
        .map(|s| {
            let at = h.reached_production.get(&s.release.id).copied();
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
        total: h.total,
        pager: Pager::new("/releases/history", "", page, PER_PAGE, h.total),
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
    fn metadata_value(&self) -> Result<serde_json::Value, Error> {
        let text = self.metadata.trim();
        if text.is_empty() {
            return Ok(serde_json::Value::Object(Default::default()));
        }
        let hint = "must be a JSON object such as {\"ticket\": \"REL-42\"}";
        match serde_json::from_str(text) {
            // `null` would silently mean "no metadata": say what is expected instead.
            Ok(serde_json::Value::Null) => Err(Error::invalid("metadata", hint)),
            Ok(v) => Ok(v),
            Err(e) => Err(Error::invalid("metadata", format!("{hint} ({e})"))),
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
    e: Error,
    release_id: Option<String>,
    heading: String,
    action: String,
    form: ReleaseForm,
) -> Result<HttpResponse, PageError> {
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
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let attempt = async {
        let metadata = form.metadata_value()?;
        let new = NewRelease::parse(&RawNewRelease {
            name: &form.name,
            description: Some(&form.description),
            status: Some(form.status.as_str()).filter(|s| !s.trim().is_empty()),
            extra_metadata: Some(&metadata),
        })?;
        releases::create(&state.ctx, new, actor.name()).await
    };
    match attempt.await {
        Ok(created) => Ok(see_other(
            &req,
            &format!("/releases/{}", created.release.id),
            &format!("Release “{}” created.", created.release.name),
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
) -> Result<HttpResponse, PageError> {
    let id = release_id(&id)?;
    let r = releases::get(&state.ctx, id.clone()).await?;
    let page = ReleaseFormPage {
        frame: Frame::new(&req, "releases"),
        release_id: Some(id.clone()),
        heading: format!("Edit “{}”", r.name),
        action: format!("/releases/{id}/edit"),
        form: ReleaseForm {
            name: r.name.clone(),
            description: r.description.clone().unwrap_or_default(),
            status: r.status.clone(),
            metadata: pretty_json(&r.extra_metadata).unwrap_or_default(),
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
) -> Result<HttpResponse, PageError> {
    let id = release_id(&id)?;
    let form = form.into_inner();
    // A missing release is a 404 page, not a form error.
    let current = releases::get(&state.ctx, id.clone()).await?;
    let attempt = async {
        let metadata = form.metadata_value()?;
        let changes = ReleaseChanges::parse(&RawReleaseChanges {
            name: Some(&form.name),
            description: Some(Some(&form.description)),
            status: None,
            extra_metadata: Some(&metadata),
        })?;
        releases::update(&state.ctx, id.clone(), changes, actor.name()).await
    };
    match attempt.await {
        Ok(saved) => Ok(see_other(
            &req,
            &format!("/releases/{}", saved.release.id),
            &format!("Release “{}” saved.", saved.release.name),
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

/// The release page, built from what the use case read.
fn release_page(p: Page, frame: Frame, errors: FormErrors, selected: Option<&str>) -> ReleasePage {
    let Page {
        release: r,
        matrix: m,
        audit,
        choices,
    } = p;
    let status = r.status();
    let mut by_product: BTreeMap<String, Vec<VersionOption>> = BTreeMap::new();
    for v in choices {
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
    let ready = m.ready_to_complete;
    ReleasePage {
        frame,
        id: r.id.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        status: status.as_str(),
        status_label: status.label(),
        archived: status.is_final(),
        metadata: pretty_json(&r.extra_metadata),
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
        groups: by_product
            .into_iter()
            .map(|(product, versions)| VersionGroup { product, versions })
            .collect(),
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
    }
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = release_id(&id)?;
    let data = releases::page(&state.ctx, id, SELECT_LIMIT).await?;
    let page = release_page(
        data,
        Frame::new(&req, "releases"),
        FormErrors::default(),
        None,
    );
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}

/// A form on the release page failed: show the page again with the error next to the form.
async fn release_page_again(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    e: Error,
    field: &'static str,
    selected: Option<String>,
) -> Result<HttpResponse, PageError> {
    let (status, errors) = FormErrors::from_error(e, field)?;
    let data = releases::page(&state.ctx, id, SELECT_LIMIT).await?;
    let frame = Frame::without_flash(req, "releases");
    let page = release_page(data, frame, errors, selected.as_deref());
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
) -> Result<HttpResponse, PageError> {
    let id = release_id(&id)?;
    let Some(version_id) = validate::id(&form.version_id) else {
        let e = Error::invalid("version_id", "choose a version to add");
        return release_page_again(&state, &req, id, e, "version_id", None).await;
    };
    let which = VersionRef::Id(version_id.clone());
    let result = releases::add_version(&state.ctx, id.clone(), which, actor.name()).await;
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
            Ok(see_other(&req, &format!("/releases/{id}"), &msg))
        }
        // An unknown version is the form's problem (a stale select), not a missing page.
        Err(Error::NotFound(missing)) if missing.entity() == Entity::Version => {
            let e = Error::invalid("version_id", missing.to_string());
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
) -> Result<HttpResponse, PageError> {
    let (id, version_id) = path.into_inner();
    let id = release_id(&id)?;
    let version_id = path_id(&version_id, Entity::Version)?;
    match releases::remove_version(&state.ctx, id.clone(), version_id, actor.name()).await {
        Ok(row) => Ok(see_other(
            &req,
            &format!("/releases/{id}"),
            &format!("Removed {} {}.", row.product_name, row.version.version),
        )),
        Err(e @ Error::Conflict(_)) => {
            release_page_again(&state, &req, id, e, "versions", None).await
        }
        Err(e) => Err(PageError::Domain(e)),
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
) -> Result<HttpResponse, PageError> {
    let id = release_id(&id)?;
    // The same command as `PATCH /api/releases/{id}` with a status.
    let raw = RawReleaseChanges {
        status: Some(&form.status),
        ..RawReleaseChanges::default()
    };
    let changes = match ReleaseChanges::parse(&raw) {
        Ok(changes) => changes,
        Err(e) => return release_page_again(&state, &req, id, e, "status", None).await,
    };
    let result = releases::update(&state.ctx, id.clone(), changes, actor.name()).await;
    match result {
        Ok(updated) => Ok(see_other(
            &req,
            &format!("/releases/{id}"),
            &format!(
                "“{}” is now {}.",
                updated.release.name,
                updated.release.status().label().to_lowercase()
            ),
        )),
        Err(e) => release_page_again(&state, &req, id, e, "status", None).await,
    }
}
