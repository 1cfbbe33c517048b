//! Release pages and forms: list, history, create, the release page, edits, versions, status.

use super::form::FormErrors;
use super::views::{
    duration_text, iso, page_number, pretty_json, when, MatrixView, Pager, ReleaseRowView,
};
use super::{clear_flash, path_id, render, see_other, see_other_to_section, Frame, PageError};
use crate::app::state::AppState;
use crate::domain::release::{
    self as rules, NewRelease, Placement, RawNewRelease, RawReleaseChanges, ReleaseChanges,
    VersionRef, CREATE_CHOICES,
};
use crate::domain::{Entity, Error, ReleaseStatus};
use crate::http::gate::{Actor, Releases};
use crate::http::query_escape;
use crate::service::matrix::ReleaseMatrix;
use crate::service::releases::{self, Member, Movement, Page, ReleaseFilter};
use crate::service::suggestions::Lists;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

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
    /// "product version", sorted by product.
    pub products: Vec<String>,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    frame: Frame,
    q: String,
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
    let q = super::search_term("q", query.q.as_deref())?;
    let name_contains = (!q.is_empty()).then(|| q.clone());
    let mut h =
        releases::history(&state.ctx, name_contains, PER_PAGE, (page - 1) * PER_PAGE).await?;
    let rows = h
        .releases
        .iter()
        .map(|s| {
            let at = h.reached_production.get(&s.release.id).copied();
            HistoryRow {
                release: ReleaseRowView::from(s),
                reached_production: at.map(when),
                reached_production_iso: at.map(iso),
                products: h
                    .members
                    .remove(&s.release.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(p, v)| format!("{p} {v}"))
                    .collect(),
            }
        })
        .collect();
    let base = if q.is_empty() {
        String::new()
    } else {
        format!("q={}", query_escape(&q))
    };
    let page_view = HistoryPage {
        frame: Frame::new(&req, "history"),
        q,
        rows,
        total: h.total,
        pager: Pager::new("/releases/history", &base, page, PER_PAGE, h.total),
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

/// The create form offers only the statuses that leave a new release open.
fn status_options() -> Vec<(&'static str, &'static str)> {
    CREATE_CHOICES
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
        if !CREATE_CHOICES.contains(&new.status) {
            let e = "a new release starts as draft or in progress; complete or cancel it \
                     from its page";
            return Err(Error::invalid("status", e));
        }
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

pub struct AuditView {
    pub when: String,
    pub iso: String,
    pub actor: String,
    pub text: String,
}

pub struct StatusChoice {
    pub value: &'static str,
    pub label: String,
    /// Final changes are styled as such (and confirmed first, see `needs_confirmation`).
    pub danger: bool,
}

/// What the add-version form was sent with, kept when it is shown again.
#[derive(Debug, Default, Deserialize)]
pub struct AddVersionForm {
    #[serde(default)]
    product_name: String,
    #[serde(default)]
    version: String,
    /// Still accepted (older forms, scripts): a version by id.
    #[serde(default)]
    version_id: String,
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
    /// When a completed release reached production: (datetime, as read).
    reached_production: Option<(String, String)>,
    movement: MovementView,
    matrix: MatrixView,
    choices: Vec<StatusChoice>,
    suggestions: Lists,
    audit: Vec<AuditView>,
    errors: FormErrors,
    form: AddVersionForm,
}

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
        "version_replaced" => format!(
            "replaced {} {} by {}",
            s("product"),
            s("replaced_version"),
            s("version")
        ),
        other => other.replace('_', " "),
    }
}

/// How the release moved (SPEC §12), as the page says it.
pub struct MovementView {
    /// Each environment and when it was fully reached: (name, (datetime, as read)).
    pub environments: Vec<(String, Option<(String, String)>)>,
    /// Between consecutive stages: (from, to, how long).
    pub waits: Vec<(&'static str, &'static str, Option<String>)>,
    pub lead_time: Option<String>,
}

impl MovementView {
    fn new(m: &ReleaseMatrix, mv: &Movement) -> Self {
        MovementView {
            environments: m
                .columns
                .iter()
                .zip(&mv.fully_reached)
                .map(|(e, at)| (e.name.clone(), at.map(|t| (iso(t), when(t)))))
                .collect(),
            waits: mv
                .waits
                .iter()
                .map(|(a, b, w)| (a.as_str(), b.as_str(), w.map(duration_text)))
                .collect(),
            lead_time: mv.lead_time.map(duration_text),
        }
    }
}

/// The label of a status button.
fn choice_label(to: ReleaseStatus, ready: bool) -> String {
    match to {
        ReleaseStatus::Draft => "Back to draft".into(),
        ReleaseStatus::InProgress => "Start (in progress)".into(),
        ReleaseStatus::Completed if ready => "Complete ✓ ready".into(),
        ReleaseStatus::Completed => "Complete (not ready)…".into(),
        ReleaseStatus::Cancelled => "Cancel release…".into(),
    }
}

/// The release page, built from what the use case read.
fn release_page(p: Page, frame: Frame, errors: FormErrors, form: AddVersionForm) -> ReleasePage {
    let Page {
        release: r,
        matrix: m,
        audit,
        suggestions,
        reached_production,
        movement,
    } = p;
    let status = r.status();
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
        reached_production: reached_production.map(|t| (iso(t), when(t))),
        movement: MovementView::new(&m, &movement),
        matrix: MatrixView::new(&m, chrono::Utc::now().naive_utc()),
        choices: status
            .next_choices()
            .into_iter()
            // An empty release cannot be completed: no button for it.
            .filter(|s| rules::may_take(&r.name, *s, m.rows.len()).is_ok())
            .map(|s| StatusChoice {
                value: s.as_str(),
                label: choice_label(s, ready),
                danger: rules::needs_confirmation(s, ready),
            })
            .collect(),
        suggestions,
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
        form,
    }
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = release_id(&id)?;
    let frame = Frame::new(&req, "releases");
    let data = releases::page(&state.ctx, id, frame.can_edit).await?;
    let page = release_page(
        data,
        frame,
        FormErrors::default(),
        AddVersionForm::default(),
    );
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}

/// A form on the release page failed: show the page again with the error next to the form,
/// and the user's input kept. Its actions sit under the header, so the message is on the
/// first screen.
async fn release_page_again(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    e: Error,
    field: &'static str,
    form: AddVersionForm,
) -> Result<HttpResponse, PageError> {
    let (status, errors) = FormErrors::from_error(e, field)?;
    let frame = Frame::without_flash(req, "releases");
    let data = releases::page(&state.ctx, id, frame.can_edit).await?;
    let page = release_page(data, frame, errors, form);
    Ok(render(status, &page))
}

/// The release page's path.
fn release_path(id: &str) -> String {
    format!("/releases/{id}")
}

pub async fn add_version(
    actor: Actor<Releases>,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<AddVersionForm>,
) -> Result<HttpResponse, PageError> {
    let id = release_id(&id)?;
    let form = form.into_inner();
    let given = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let (version_id, product, version) = (
        given(&form.version_id),
        given(&form.product_name),
        given(&form.version),
    );
    // The form has no version_id field: with nothing typed, say what to type.
    let parsed = if (&version_id, &product, &version) == (&None, &None, &None) {
        Err(Error::invalid(
            "product_name",
            "type the product and the version to add",
        ))
    } else {
        VersionRef::parse(
            version_id.as_deref(),
            product.as_deref(),
            version.as_deref(),
        )
    };
    let which = match parsed {
        Ok(which) => which,
        // A version id that is no UUID came from a stale or edited form.
        Err(Error::NotFound(missing)) => {
            let e = Error::invalid("version_id", missing.to_string());
            return release_page_again(&state, &req, id, e, "versions", form).await;
        }
        Err(e) => return release_page_again(&state, &req, id, e, "versions", form).await,
    };
    let result = releases::add_version(&state.ctx, id.clone(), which, actor.name()).await;
    match result {
        Ok((row, added)) => {
            let planned = if row.version.planned {
                " (planned: no pipeline has reported it yet)"
            } else {
                ""
            };
            let msg = if added {
                format!(
                    "Added {} {}{planned}.",
                    row.product_name, row.version.version
                )
            } else {
                format!(
                    "{} {} was already in the release.",
                    row.product_name, row.version.version
                )
            };
            Ok(see_other_to_section(
                &req,
                &release_path(&id),
                "versions",
                &msg,
            ))
        }
        // An unknown version id is the form's problem (a stale form), not a missing page.
        Err(Error::NotFound(missing)) if missing.entity() == Entity::Version => {
            let e = Error::invalid("version_id", missing.to_string());
            release_page_again(&state, &req, id, e, "versions", form).await
        }
        Err(e) => release_page_again(&state, &req, id, e, "versions", form).await,
    }
}

/// A confirmation page: what will happen, and the one form that does it. Nothing changes
/// until it is submitted (SPEC §6: no JavaScript `confirm()`).
#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    frame: Frame,
    release_id: String,
    release_name: String,
    heading: String,
    /// What will happen, sentence by sentence.
    consequences: Vec<String>,
    action: String,
    /// Hidden fields the confirmed form posts (besides the CSRF token and `confirmed`).
    fields: Vec<(&'static str, String)>,
    button: String,
    back: String,
}

/// The form field a confirmation page adds.
const CONFIRMED: &str = "yes";

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    confirmed: String,
}

pub async fn remove_version(
    actor: Actor<Releases>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, PageError> {
    let (id, version_id) = path.into_inner();
    let id = release_id(&id)?;
    let version_id = path_id(&version_id, Entity::Version)?;
    if form.confirmed != CONFIRMED {
        let m = releases::member(&state.ctx, id.clone(), version_id.clone()).await?;
        // An archived release refuses the removal anyway: say so at once, not after a
        // confirmation.
        if !m.release.status().is_final() {
            return Ok(confirm_removal(&req, &m));
        }
    }
    match releases::remove_version(&state.ctx, id.clone(), version_id, actor.name()).await {
        Ok(row) => Ok(see_other_to_section(
            &req,
            &release_path(&id),
            "versions",
            &format!("Removed {} {}.", row.product_name, row.version.version),
        )),
        Err(e @ Error::Conflict(_)) => {
            release_page_again(&state, &req, id, e, "versions", AddVersionForm::default()).await
        }
        Err(e) => Err(PageError::Domain(e)),
    }
}

/// The confirmation page of a removal: what leaves, and what stays.
fn confirm_removal(req: &HttpRequest, m: &Member) -> HttpResponse {
    let (id, name) = (&m.release.id, &m.release.name);
    let (product, version) = (&m.version.product_name, &m.version.version.version);
    let page = ConfirmPage {
        frame: Frame::new(req, "releases"),
        release_id: id.clone(),
        release_name: name.clone(),
        heading: format!("Remove {product} {version} from “{name}”?"),
        consequences: vec![
            format!(
                "{product} will no longer be part of this release: its row leaves the matrix \
                 and the progress."
            ),
            format!(
                "The version itself stays, with its deployments; you can add {product} again \
                 later, at this or another version."
            ),
            "The timeline records who removed it.".into(),
        ],
        action: format!("/releases/{id}/versions/{}/delete", m.version.version.id),
        fields: Vec::new(),
        button: format!("Remove {product} {version}"),
        back: format!("/releases/{id}#versions"),
    };
    clear_flash(req, render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    confirmed: String,
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
        Err(e) => {
            return release_page_again(&state, &req, id, e, "status", AddVersionForm::default())
                .await
        }
    };
    if let (Some(to), false) = (changes.status, form.confirmed == CONFIRMED) {
        let p = releases::page(&state.ctx, id.clone(), false).await?;
        let ready = p.matrix.ready_to_complete;
        if rules::needs_confirmation(to, ready) && p.release.status().can_become(to) {
            return Ok(confirm_status(&req, &p, to));
        }
    }
    let result = releases::update(&state.ctx, id.clone(), changes, actor.name()).await;
    match result {
        Ok(updated) => Ok(see_other_to_section(
            &req,
            &release_path(&id),
            "status",
            &format!(
                "“{}” is now {}.",
                updated.release.name,
                updated.release.status().label().to_lowercase()
            ),
        )),
        Err(e) => {
            release_page_again(&state, &req, id, e, "status", AddVersionForm::default()).await
        }
    }
}

/// The confirmation page of a final status change: what it does, and what is missing.
fn confirm_status(req: &HttpRequest, p: &Page, to: ReleaseStatus) -> HttpResponse {
    let r = &p.release;
    let mut consequences = Vec::new();
    let (heading, button) = match to {
        ReleaseStatus::Cancelled => {
            consequences.push(
                "The release will be archived as cancelled: its versions and its status can no \
                 longer change. It stays browsable."
                    .to_string(),
            );
            consequences.push(
                "Nothing is undeployed: releaseboard tracks deployments, it never makes them."
                    .into(),
            );
            (
                format!("Cancel “{}”?", r.name),
                "Cancel the release".to_string(),
            )
        }
        _ => {
            consequences.push(
                "This release is not ready to complete: not every version is deployed to its \
                 production targets."
                    .to_string(),
            );
            let missing: Vec<String> = not_ready(&p.matrix);
            if !missing.is_empty() {
                consequences.push(format!("Not yet in production: {}.", missing.join(", ")));
            }
            consequences.push(
                "Completing archives it: its versions and its status can no longer change, and \
                 it shows in the history as completed now."
                    .into(),
            );
            (
                format!("Complete “{}” although it is not ready?", r.name),
                "Complete the release anyway".to_string(),
            )
        }
    };
    let page = ConfirmPage {
        frame: Frame::new(req, "releases"),
        release_id: r.id.clone(),
        release_name: r.name.clone(),
        heading,
        consequences,
        action: format!("/releases/{}/status", r.id),
        fields: vec![("status", to.as_str().to_string())],
        button,
        back: format!("/releases/{}#status", r.id),
    };
    clear_flash(req, render(StatusCode::OK, &page))
}

/// The versions not yet at their production targets, for the confirmation (ten named at most).
fn not_ready(m: &ReleaseMatrix) -> Vec<String> {
    let mut out: Vec<String> = m
        .rows
        .iter()
        .filter(|r| !r.at_production_targets)
        .map(|r| format!("{} {}", r.product_name, r.version))
        .collect();
    if out.len() > 10 {
        let more = out.len() - 10;
        out.truncate(10);
        out.push(format!("and {more} more"));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Replacing a version

#[derive(Template)]
#[template(path = "replace.html")]
struct ReplacePage {
    frame: Frame,
    release_id: String,
    release_name: String,
    product: String,
    current: String,
    current_id: String,
    alternatives: Vec<String>,
    version: String,
    errors: FormErrors,
}

async fn replace_page(
    state: &AppState,
    frame: Frame,
    id: String,
    version_id: String,
    version: String,
    errors: FormErrors,
) -> Result<ReplacePage, PageError> {
    let m = releases::member(&state.ctx, id.clone(), version_id).await?;
    Ok(ReplacePage {
        frame,
        release_id: id,
        release_name: m.release.name,
        product: m.version.product_name,
        current_id: m.version.version.id,
        current: m.version.version.version,
        alternatives: m.alternatives,
        version,
        errors,
    })
}

/// `GET /releases/{id}/versions/{version_id}/replace`: the form that replaces a row's version.
pub async fn replace_form(
    _who: Actor<Releases>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, version_id) = path.into_inner();
    let id = release_id(&id)?;
    let version_id = path_id(&version_id, Entity::Version)?;
    let frame = Frame::new(&req, "releases");
    let page = replace_page(
        &state,
        frame,
        id,
        version_id,
        String::new(),
        FormErrors::default(),
    )
    .await?;
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}

#[derive(Debug, Deserialize)]
pub struct ReplaceForm {
    #[serde(default)]
    version: String,
}

/// `POST /releases/{id}/versions/{version_id}/replace`: the product's version becomes
/// `version`, in one change (`PUT /api/releases/{id}/products/{product}` on the API).
pub async fn replace(
    actor: Actor<Releases>,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<ReplaceForm>,
) -> Result<HttpResponse, PageError> {
    let (id, version_id) = path.into_inner();
    let id = release_id(&id)?;
    let version_id = path_id(&version_id, Entity::Version)?;
    let m = releases::member(&state.ctx, id.clone(), version_id.clone()).await?;
    let product = m.version.product_name.clone();
    let attempt = async {
        let which = VersionRef::parse(None, Some(&product), Some(&form.version))?;
        releases::place_version(&state.ctx, id.clone(), product.clone(), which, actor.name()).await
    };
    match attempt.await {
        Ok((row, placement)) => {
            let msg = match placement {
                Placement::Replaced { .. } => format!(
                    "Replaced {} {} by {}.",
                    product, m.version.version.version, row.version.version
                ),
                Placement::Unchanged | Placement::Added => format!(
                    "{} {} is the release's version of {}.",
                    product, row.version.version, product
                ),
            };
            Ok(see_other_to_section(
                &req,
                &release_path(&id),
                "versions",
                &msg,
            ))
        }
        Err(e) => {
            let (status, errors) = FormErrors::from_error(e, "version")?;
            let frame = Frame::without_flash(&req, "releases");
            let page =
                replace_page(&state, frame, id, version_id, form.version.clone(), errors).await?;
            Ok(render(status, &page))
        }
    }
}
