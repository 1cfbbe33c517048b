//! `/compare/environments` and `/compare/releases` (SPEC §13): what to promote next, and what
//! two releases hold, product by product. Plain GET forms choose the two sides.

use super::views::{ago, iso, when};
use super::{clear_flash, path_id, render, Frame, PageError};
use crate::app::state::AppState;
use crate::domain::Entity;
use crate::service::catalog;
use crate::service::compare;
use crate::service::releases::{self, ReleaseFilter};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// One side of a row: (version, when as read, when for `datetime`, how long ago).
pub type SideView = Option<(String, String, String, String)>;

pub struct EnvRowView {
    pub product: String,
    pub product_id: String,
    pub from: SideView,
    pub to: SideView,
    pub differs: bool,
}

#[derive(Template)]
#[template(path = "compare_environments.html")]
struct EnvironmentsPage {
    frame: Frame,
    environments: Vec<String>,
    from: String,
    to: String,
    /// `None` until both sides are chosen.
    rows: Option<Vec<EnvRowView>>,
    differing: usize,
}

#[derive(Debug, Deserialize)]
pub struct EnvironmentsQuery {
    from: Option<String>,
    to: Option<String>,
}

pub async fn environments(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<EnvironmentsQuery>,
) -> Result<HttpResponse, PageError> {
    let from = super::search_term("from", query.from.as_deref())?;
    let to = super::search_term("to", query.to.as_deref())?;
    let (_, environments) = catalog::names(&state.ctx).await?;
    let rows = if from.is_empty() || to.is_empty() {
        None
    } else {
        let now = chrono::Utc::now().naive_utc();
        let cmp = compare::environments(&state.ctx, from.clone(), to.clone()).await?;
        let side = |c: &Option<crate::service::state::Current>| -> SideView {
            c.as_ref().map(|c| {
                (
                    c.version.clone(),
                    when(c.completed_at),
                    iso(c.completed_at),
                    ago(c.completed_at, now),
                )
            })
        };
        Some(
            cmp.rows
                .iter()
                .map(|r| EnvRowView {
                    product: r.product_name.clone(),
                    product_id: r.product_id.clone(),
                    from: side(&r.from),
                    to: side(&r.to),
                    differs: r.differs,
                })
                .collect::<Vec<_>>(),
        )
    };
    let differing = rows
        .as_ref()
        .map_or(0, |r| r.iter().filter(|r| r.differs).count());
    let page = EnvironmentsPage {
        frame: Frame::new(&req, ""),
        environments,
        from,
        to,
        rows,
        differing,
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}

pub struct ReleaseRowView {
    pub product: String,
    pub a: Option<String>,
    pub b: Option<String>,
    pub differs: bool,
}

#[derive(Template)]
#[template(path = "compare_releases.html")]
struct ReleasesPage {
    frame: Frame,
    /// (id, name) of the releases offered, newest first.
    choices: Vec<(String, String)>,
    a: String,
    b: String,
    /// The names of the two chosen, and the rows, once both are chosen.
    compared: Option<(String, String, Vec<ReleaseRowView>)>,
}

#[derive(Debug, Deserialize)]
pub struct ReleasesQuery {
    a: Option<String>,
    b: Option<String>,
}

/// How many of the newest releases the form offers; any two can be compared by id in the URL.
const CHOICES: i64 = 200;

pub async fn releases_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ReleasesQuery>,
) -> Result<HttpResponse, PageError> {
    // Not chosen yet: empty; an id that is no UUID names no release (404, as on its page).
    let id = |raw: &Option<String>| match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(String::new()),
        Some(s) => path_id(s, Entity::Release),
    };
    let (a, b) = (id(&query.a)?, id(&query.b)?);
    let (newest, _) = releases::list(
        &state.ctx,
        ReleaseFilter {
            limit: CHOICES,
            ..Default::default()
        },
    )
    .await?;
    let mut choices: Vec<(String, String)> = newest
        .into_iter()
        .map(|s| (s.release.id, s.release.name))
        .collect();
    let compared = if a.is_empty() || b.is_empty() {
        None
    } else {
        let cmp = compare::releases(&state.ctx, a.clone(), b.clone()).await?;
        // Chosen releases older than the newest ones stay selectable.
        for r in [&cmp.a, &cmp.b] {
            if !choices.iter().any(|(id, _)| *id == r.id) {
                choices.push((r.id.clone(), r.name.clone()));
            }
        }
        let rows = cmp
            .rows
            .iter()
            .map(|r| ReleaseRowView {
                product: r.product_name.clone(),
                a: r.a.as_ref().map(|v| v.version.version.clone()),
                b: r.b.as_ref().map(|v| v.version.version.clone()),
                differs: r.differs,
            })
            .collect();
        Some((cmp.a.name.clone(), cmp.b.name.clone(), rows))
    };
    let page = ReleasesPage {
        frame: Frame::new(&req, "releases"),
        choices,
        a,
        b,
        compared,
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}
