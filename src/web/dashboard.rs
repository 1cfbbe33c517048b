//! `GET /`: active releases with their progress, the environment state matrix, latest
//! deployments — or, on an empty database, how to get data in.

use super::views::{when, ColumnView, MatrixView, ProgressView, ReleaseRowView};
use super::{clear_flash, render, Frame, WebError};
use crate::db::deployments::{self as deployments_db, DeploymentFilter, DeploymentRow};
use crate::db::releases::{self, ReleaseFilter};
use crate::db::{matrix, state};
use crate::domain::ReleaseStatus;
use crate::startup::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

/// How many active releases the dashboard shows with their progress.
const ACTIVE_SHOWN: i64 = 10;
const LATEST_SHOWN: i64 = 10;

pub struct ActiveRelease {
    pub release: ReleaseRowView,
    pub progress: Vec<ProgressView>,
    pub ready: bool,
}

pub struct StateCellView {
    pub environment: String,
    pub version: Option<String>,
    pub title: String,
    /// A newer attempt than the running version: its status and version.
    pub latest: Option<String>,
}

pub struct StateRowView {
    pub product_id: String,
    pub product: String,
    pub drift: bool,
    pub cells: Vec<StateCellView>,
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
            status: r.deployment.status().as_str(),
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
struct IndexPage {
    frame: Frame,
    empty: bool,
    active: Vec<ActiveRelease>,
    active_total: i64,
    columns: Vec<ColumnView>,
    state_rows: Vec<StateRowView>,
    latest: Vec<DeploymentView>,
    host: String,
}

pub async fn index(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let (active, active_total, matrix_state, latest) = state
        .db
        .read(|conn| {
            let (rows, total) = releases::list(
                conn,
                &ReleaseFilter {
                    statuses: vec![ReleaseStatus::InProgress, ReleaseStatus::Draft],
                    limit: ACTIVE_SHOWN,
                    ..Default::default()
                },
            )?;
            let mut active = Vec::with_capacity(rows.len());
            for r in &rows {
                let view = MatrixView::from(&matrix::release_matrix(conn, &r.release.id)?);
                active.push(ActiveRelease {
                    release: ReleaseRowView::from(r),
                    progress: view.progress,
                    ready: view.ready_to_complete,
                });
            }
            let sm = state::state_matrix(conn)?;
            let (latest, _) = deployments_db::list(
                conn,
                &DeploymentFilter {
                    limit: LATEST_SHOWN,
                    skip_total: true,
                    ..Default::default()
                },
            )?;
            Ok((active, total, sm, latest))
        })
        .await?;
    let columns: Vec<ColumnView> = matrix_state
        .columns
        .iter()
        .map(|e| ColumnView {
            name: e.name.clone(),
            kind: e.kind().as_str(),
        })
        .collect();
    let state_rows: Vec<StateRowView> = matrix_state
        .rows
        .iter()
        .map(|r| StateRowView {
            product_id: r.product.id.clone(),
            product: r.product.name.clone(),
            drift: r.drift,
            cells: r
                .cells
                .iter()
                .map(|c| {
                    let version = c.current.as_ref().map(|c| c.version.clone());
                    let latest = c
                        .latest
                        .as_ref()
                        .map(|l| format!("{} {}", l.version, l.status.as_str().replace('_', " ")));
                    let title = match &c.current {
                        Some(cur) => format!(
                            "{} {} runs in {} since {}",
                            r.product.name,
                            cur.version,
                            c.environment_name,
                            when(cur.completed_at)
                        ),
                        None => format!("nothing deployed to {} yet", c.environment_name),
                    };
                    StateCellView {
                        environment: c.environment_name.clone(),
                        version,
                        title,
                        latest,
                    }
                })
                .collect(),
        })
        .collect();
    let host = req.connection_info().host().to_string();
    let page = IndexPage {
        frame: Frame::new(&req, ""),
        empty: state_rows.is_empty() && active.is_empty(),
        active,
        active_total,
        columns,
        state_rows,
        latest: latest.iter().map(DeploymentView::from).collect(),
        host,
    };
    Ok(clear_flash(&req, render(StatusCode::OK, &page)))
}
