//! `GET /`: active releases with their progress, the environment state matrix, latest
//! deployments — or, on an empty database, how to get data in.

use super::views::{when, ProgressView, ReleaseRowView, When};
use super::{clear_flash, render, Frame, PageError};
use crate::app::state::AppState;
use crate::domain::{search, DeploymentStatus};
use crate::service::catalog::DeploymentRow;
use crate::service::dashboard;
use crate::service::state::{Current, LatestAttempt};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::fmt;

/// How many active releases the dashboard shows with their progress.
const ACTIVE_SHOWN: i64 = 10;
const LATEST_SHOWN: i64 = 10;

pub struct ActiveRelease {
    pub release: ReleaseRowView,
    pub progress: Vec<ProgressView>,
    pub ready: bool,
}

/// One cell of the state matrix, borrowed from the loaded matrix: the dashboard of 1,000
/// products × 20 environments has 20,000 of them, so nothing is copied or formatted ahead of
/// rendering (the title and the latest-attempt text are written straight into the page).
pub struct StateCellView<'a> {
    pub environment: &'a str,
    pub version: Option<&'a str>,
    pub title: StateTitle<'a>,
    /// A newer attempt than the running version: its status and version.
    pub latest: Option<LatestText<'a>>,
    /// That attempt failed: the cell stands out, by colour and by its text.
    pub failed: bool,
}

/// A column of the state matrix.
pub struct StateColumn {
    pub name: String,
    pub kind: &'static str,
}

/// The state matrix's filters: a product name search and "drift only".
#[derive(Debug, Default, Deserialize)]
pub struct StateQuery {
    q: Option<String>,
    drift: Option<String>,
}

/// "service 1.2.3 runs in Production since …", or "nothing deployed to Production yet".
pub struct StateTitle<'a> {
    product: &'a str,
    environment: &'a str,
    current: Option<&'a Current>,
}

impl fmt::Display for StateTitle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.current {
            Some(cur) => write!(
                f,
                "{} {} runs in {} since {}",
                self.product,
                cur.version,
                self.environment,
                When(cur.completed_at)
            ),
            None => write!(f, "nothing deployed to {} yet", self.environment),
        }
    }
}

/// "1.2.4 failed": the version and status of a newer attempt.
pub struct LatestText<'a>(&'a LatestAttempt);

impl fmt::Display for LatestText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.0.version)?;
        for (i, word) in self.0.status.as_str().split('_').enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(word)?;
        }
        Ok(())
    }
}

pub struct StateRowView<'a> {
    pub product_id: &'a str,
    pub product: &'a str,
    pub drift: bool,
    pub cells: Vec<StateCellView<'a>>,
}

pub struct DeploymentView {
    pub id: String,
    pub product: String,
    pub product_id: String,
    pub version: String,
    pub environment: String,
    pub status: &'static str,
    pub when: String,
    pub by: Option<String>,
}

impl From<&DeploymentRow> for DeploymentView {
    fn from(r: &DeploymentRow) -> Self {
        DeploymentView {
            id: r.deployment.id.clone(),
            product: r.product_name.clone(),
            product_id: r.deployment.product_id.clone(),
            version: r.version.clone(),
            environment: r.environment_name.clone(),
            status: r.deployment.status.as_str(),
            when: when(r.deployment.updated_at),
            by: r
                .deployment
                .deployed_by_name
                .clone()
                .or_else(|| r.deployment.deployed_by.clone()),
        }
    }
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    frame: Frame,
    empty: bool,
    active: Vec<ActiveRelease>,
    active_total: i64,
    columns: Vec<StateColumn>,
    state_rows: Vec<StateRowView<'a>>,
    /// Products before the filters.
    products_total: usize,
    q: String,
    drift_only: bool,
    latest: Vec<DeploymentView>,
    host: String,
}

pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<StateQuery>,
) -> Result<HttpResponse, PageError> {
    let q = super::search_term("q", query.q.as_deref())?;
    // A checkbox sends "on" (or whatever value it has); absent means off.
    let drift_only = query.drift.as_deref().is_some_and(|d| !d.is_empty());
    let overview = dashboard::overview(&state.ctx, ACTIVE_SHOWN, LATEST_SHOWN).await?;
    // Only the progress of active releases is shown: no cell views (and their titles) are built.
    let active: Vec<ActiveRelease> = overview
        .active
        .iter()
        .map(|(r, m)| ActiveRelease {
            release: ReleaseRowView::from(r),
            progress: ProgressView::list(m),
            ready: m.ready_to_complete,
        })
        .collect();
    let (active_total, matrix_state, latest) =
        (overview.active_total, &overview.state, &overview.latest);
    let columns: Vec<StateColumn> = matrix_state
        .columns
        .iter()
        .map(|e| StateColumn {
            name: e.name.clone(),
            kind: e.kind().as_str(),
        })
        .collect();
    let state_rows: Vec<StateRowView> = matrix_state
        .rows
        .iter()
        .filter(|r| !drift_only || r.drift)
        .filter(|r| q.is_empty() || search::matches(&r.product.name, &q))
        .map(|r| StateRowView {
            product_id: &r.product.id,
            product: &r.product.name,
            drift: r.drift,
            cells: matrix_state
                .columns
                .iter()
                .zip(&r.cells)
                .map(|(env, c)| StateCellView {
                    environment: &env.name,
                    version: c.current.as_ref().map(|c| c.version.as_str()),
                    title: StateTitle {
                        product: &r.product.name,
                        environment: &env.name,
                        current: c.current.as_ref(),
                    },
                    latest: c.latest.as_ref().map(LatestText),
                    failed: c
                        .latest
                        .as_ref()
                        .is_some_and(|l| l.status == DeploymentStatus::Failed),
                })
                .collect(),
        })
        .collect();
    let host = req.connection_info().host().to_string();
    let page = IndexPage {
        frame: Frame::new(&req, ""),
        empty: matrix_state.rows.is_empty() && active.is_empty(),
        products_total: matrix_state.rows.len(),
        q,
        drift_only,
        active,
        active_total,
        columns,
        state_rows,
        latest: latest.iter().map(DeploymentView::from).collect(),
        host,
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}
