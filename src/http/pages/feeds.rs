//! Atom 1.0 feeds (RFC 4287, SPEC §11): the 50 most recently completed releases, and the
//! latest 50 finished deployments (of one environment, or all). Readers need absolute links:
//! they are built from the request's host, over https when the server says it is served so
//! (`RELEASEBOARD_SECURE_COOKIES`), since forwarded-protocol headers are not trusted.

use super::views::iso_exact;
use super::PageError;
use crate::app::state::AppState;
use crate::http::query_escape;
use crate::service::catalog::{self, DeploymentFilter};
use crate::service::releases;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// How many entries a feed holds.
const ENTRIES: i64 = 50;

pub struct Entry {
    /// A permanent id: `urn:uuid:` and the record's id.
    pub id: String,
    pub title: String,
    pub updated: String,
    pub link: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "feed.xml")]
struct Feed {
    id: String,
    title: String,
    updated: String,
    self_link: String,
    page_link: String,
    entries: Vec<Entry>,
}

/// `https://host` or `http://host`: the base of a feed's absolute links.
fn base(req: &HttpRequest, state: &AppState) -> String {
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{}", req.connection_info().host())
}

fn answer(feed: &Feed) -> Result<HttpResponse, PageError> {
    let xml = feed
        .render()
        .map_err(|e| crate::domain::Error::internal(anyhow::anyhow!(e)))?;
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type("application/atom+xml; charset=utf-8")
        .body(xml))
}

/// `GET /releases/history.atom`.
pub async fn history(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let base = base(&req, &state);
    let h = releases::history(&state.ctx, None, ENTRIES, 0).await?;
    let mut members = h.members;
    let entries: Vec<Entry> = h
        .releases
        .iter()
        .map(|s| {
            let r = &s.release;
            let done = r.completed_at.unwrap_or(r.updated_at);
            let products: Vec<String> = members
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(p, v)| format!("{p} {v}"))
                .collect();
            let mut summary = format!("Completed {}", iso_exact(done));
            if let Some(t) = h.reached_production.get(&r.id) {
                summary.push_str(&format!("; reached production {}", iso_exact(*t)));
            }
            if !products.is_empty() {
                summary.push_str(&format!("; {}", products.join(", ")));
            }
            Entry {
                id: format!("urn:uuid:{}", r.id),
                title: r.name.clone(),
                updated: iso_exact(done),
                link: format!("{base}/releases/{}", r.id),
                summary,
            }
        })
        .collect();
    let updated = entries
        .first()
        .map(|e| e.updated.clone())
        .unwrap_or_else(|| iso_exact(chrono::Utc::now().naive_utc()));
    answer(&Feed {
        id: format!("{base}/releases/history.atom"),
        title: "Completed releases".into(),
        updated,
        self_link: format!("{base}/releases/history.atom"),
        page_link: format!("{base}/releases/history"),
        entries,
    })
}

#[derive(Debug, Deserialize)]
pub struct DeploymentsFeedQuery {
    environment: Option<String>,
}

/// `GET /deployments.atom?environment=NAME`.
pub async fn deployments(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<DeploymentsFeedQuery>,
) -> Result<HttpResponse, PageError> {
    let base = base(&req, &state);
    let environment = super::search_term("environment", query.environment.as_deref())?;
    let filter = DeploymentFilter {
        environment: (!environment.is_empty()).then(|| environment.clone()),
        terminal: true,
        skip_total: true,
        limit: ENTRIES,
        ..Default::default()
    };
    let (rows, _) = catalog::deployments(&state.ctx, filter).await?;
    let entries: Vec<Entry> = rows
        .iter()
        .map(|r| {
            let d = &r.deployment;
            let by = d
                .deployed_by_name
                .as_deref()
                .or(d.deployed_by.as_deref())
                .map(|b| format!(" by {b}"))
                .unwrap_or_default();
            Entry {
                id: format!("urn:uuid:{}", d.id),
                title: format!(
                    "{} {} {} in {}",
                    r.product_name,
                    r.version,
                    d.status.as_str(),
                    r.environment_name
                ),
                updated: iso_exact(d.updated_at),
                link: format!("{base}/deployments/{}", d.id),
                summary: format!(
                    "{} {} to {}: {}{by}, {}",
                    r.product_name,
                    r.version,
                    r.environment_name,
                    d.status.as_str(),
                    iso_exact(d.updated_at)
                ),
            }
        })
        .collect();
    let query = if environment.is_empty() {
        String::new()
    } else {
        format!("?environment={}", query_escape(&environment))
    };
    let updated = entries
        .iter()
        .map(|e| e.updated.clone())
        .max()
        .unwrap_or_else(|| iso_exact(chrono::Utc::now().naive_utc()));
    let title = if environment.is_empty() {
        "Finished deployments".to_string()
    } else {
        format!("Finished deployments to {environment}")
    };
    answer(&Feed {
        id: format!("{base}/deployments.atom{query}"),
        title,
        updated,
        self_link: format!("{base}/deployments.atom{query}"),
        page_link: format!("{base}/deployments{query}"),
        entries,
    })
}
