//! The JSON shapes the API answers with (SPEC §3–§5), built from database rows.

use crate::domain::catalog::{BuildRun, Environment, Product};
use crate::domain::deployment::LoggedEvent;
use crate::domain::{CellState, DeploymentStatus, EnvType, ReleaseStatus};
use crate::http::utc;
use crate::service::catalog::{DeploymentRow, VersionRow};
use crate::service::ingest::Recorded;
use crate::service::matrix::ReleaseMatrix;
use crate::service::releases::{AuditEntry, Export, ReleaseSummary};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Stored metadata is always a serialized object; should it ever not parse, show `{}`.
fn metadata(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::Object(Default::default()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentOut {
    /// The deployment's id.
    pub id: String,
    /// The deployment's id again, in the answer to an event only: Versioner's GitHub Action
    /// reads it under this name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    pub event_id: Option<String>,
    pub product_id: String,
    pub product_name: String,
    pub version_id: String,
    pub version: String,
    pub environment_id: String,
    pub environment_name: String,
    pub status: DeploymentStatus,
    pub invoke_id: Option<String>,
    pub deployed_by: Option<String>,
    pub deployed_by_name: Option<String>,
    pub deployed_by_email: Option<String>,
    pub build_url: Option<String>,
    pub deploy_url: Option<String>,
    pub build_number: Option<String>,
    pub source_system: Option<String>,
    #[schema(value_type = Object)]
    pub extra_metadata: Value,
    pub started_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl DeploymentOut {
    pub fn from_row(r: &DeploymentRow, event_id: Option<String>) -> Self {
        let d = &r.deployment;
        DeploymentOut {
            id: d.id.clone(),
            deployment_id: None,
            event_id,
            product_id: d.product_id.clone(),
            product_name: r.product_name.clone(),
            version_id: d.version_id.clone(),
            version: r.version.clone(),
            environment_id: d.environment_id.clone(),
            environment_name: r.environment_name.clone(),
            status: d.status,
            invoke_id: d.invoke_id.clone(),
            deployed_by: d.deployed_by.clone(),
            deployed_by_name: d.deployed_by_name.clone(),
            deployed_by_email: d.deployed_by_email.clone(),
            build_url: d.build_url.clone(),
            deploy_url: d.deploy_url.clone(),
            build_number: d.build_number.clone(),
            source_system: d.source_system.clone(),
            extra_metadata: metadata(&d.extra_metadata),
            started_at: d.started_at.map(utc),
            created_at: utc(d.created_at),
            updated_at: utc(d.updated_at),
            completed_at: d.completed_at.map(utc),
        }
    }

    pub fn from_outcome(o: &Recorded) -> Self {
        let row = DeploymentRow {
            deployment: o.deployment.clone(),
            product_name: o.product.name.clone(),
            version: o.version.version.clone(),
            environment_name: o.environment.name.clone(),
        };
        let mut out = Self::from_row(&row, Some(o.event_id.clone()));
        out.deployment_id = Some(out.id.clone());
        out
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub id: String,
    /// The canonical status the event was normalised to.
    pub status: DeploymentStatus,
    /// The status exactly as reported.
    pub reported_status: String,
    /// Whether the event changed the deployment (false: repeated or late).
    pub applied: bool,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub created_at: DateTime<Utc>,
}

impl From<&LoggedEvent> for EventOut {
    fn from(e: &LoggedEvent) -> Self {
        EventOut {
            id: e.id.clone(),
            status: e.status,
            reported_status: e.reported_status.clone(),
            applied: e.applied,
            payload: serde_json::from_str(&e.payload).unwrap_or(Value::Null),
            created_at: utc(e.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentDetailOut {
    #[serde(flatten)]
    pub deployment: DeploymentOut,
    pub events: Vec<EventOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionOut {
    pub id: String,
    pub product_id: String,
    pub product_name: String,
    pub version: String,
    pub scm_sha: Option<String>,
    pub scm_branch: Option<String>,
    pub scm_repository: Option<String>,
    pub build_url: Option<String>,
    pub build_number: Option<String>,
    pub built_by: Option<String>,
    pub source_system: Option<String>,
    #[schema(value_type = Object)]
    pub extra_metadata: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The latest build event's run; null until a build event names the version.
    pub build: Option<BuildOut>,
    /// Added to a release before any pipeline reported it; false from its first event on.
    pub planned: bool,
}

/// What the latest build event said about the version's build run (SPEC §3).
#[derive(Debug, Serialize, ToSchema)]
pub struct BuildOut {
    pub invoke_id: Option<String>,
    pub status: DeploymentStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub built_by: Option<String>,
    pub built_by_name: Option<String>,
    pub built_by_email: Option<String>,
}

impl From<BuildRun> for BuildOut {
    fn from(r: BuildRun) -> Self {
        BuildOut {
            invoke_id: r.invoke_id,
            status: r.status,
            started_at: r.started_at.map(utc),
            completed_at: r.completed_at.map(utc),
            built_by: r.built_by,
            built_by_name: r.built_by_name,
            built_by_email: r.built_by_email,
        }
    }
}

/// The answer to a build event: the version, with `version_id` (= `id`) and the event's
/// canonical `status`, which Versioner's clients read.
#[derive(Debug, Serialize, ToSchema)]
pub struct BuildAnswerOut {
    #[serde(flatten)]
    pub version: VersionOut,
    pub version_id: String,
    /// The status the event reported, normalised.
    pub status: DeploymentStatus,
}

impl BuildAnswerOut {
    pub fn new(row: &VersionRow, status: DeploymentStatus) -> Self {
        BuildAnswerOut {
            version_id: row.version.id.clone(),
            version: VersionOut::from(row),
            status,
        }
    }
}

impl From<&VersionRow> for VersionOut {
    fn from(r: &VersionRow) -> Self {
        let v = &r.version;
        VersionOut {
            id: v.id.clone(),
            product_id: v.product_id.clone(),
            product_name: r.product_name.clone(),
            version: v.version.clone(),
            scm_sha: v.scm_sha.clone(),
            scm_branch: v.scm_branch.clone(),
            scm_repository: v.scm_repository.clone(),
            build_url: v.build_url.clone(),
            build_number: v.build_number.clone(),
            built_by: v.built_by.clone(),
            source_system: v.source_system.clone(),
            extra_metadata: metadata(&v.extra_metadata),
            created_at: utc(v.created_at),
            updated_at: utc(v.updated_at),
            build: v.build_run().map(BuildOut::from),
            planned: v.planned,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductOut {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Product> for ProductOut {
    fn from(p: &Product) -> Self {
        ProductOut {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            created_at: utc(p.created_at),
            updated_at: utc(p.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentOut {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: EnvType,
    pub position: i32,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Environment> for EnvironmentOut {
    fn from(e: &Environment) -> Self {
        EnvironmentOut {
            id: e.id.clone(),
            name: e.name.clone(),
            kind: e.kind(),
            position: e.position,
            description: e.description.clone(),
            created_at: utc(e.created_at),
            updated_at: utc(e.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseOut {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: ReleaseStatus,
    #[schema(value_type = Object)]
    pub extra_metadata: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub version_count: i64,
}

impl From<&ReleaseSummary> for ReleaseOut {
    fn from(s: &ReleaseSummary) -> Self {
        let r = &s.release;
        ReleaseOut {
            id: r.id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            status: r.status(),
            extra_metadata: metadata(&r.extra_metadata),
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
            completed_at: r.completed_at.map(utc),
            version_count: s.version_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressEnvironmentOut {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: EnvType,
    pub deployed: usize,
    pub total: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressOut {
    pub environments: Vec<ProgressEnvironmentOut>,
    pub ready_to_complete: bool,
}

impl From<&ReleaseMatrix> for ProgressOut {
    fn from(m: &ReleaseMatrix) -> Self {
        ProgressOut {
            environments: m
                .progress
                .iter()
                .map(|p| ProgressEnvironmentOut {
                    name: p.environment.name.clone(),
                    kind: p.environment.kind(),
                    deployed: p.deployed,
                    total: p.total,
                })
                .collect(),
            ready_to_complete: m.ready_to_complete,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseDetailOut {
    #[serde(flatten)]
    pub release: ReleaseOut,
    pub versions: Vec<VersionOut>,
    pub progress: ProgressOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatrixCellOut {
    pub environment_name: String,
    pub state: CellState,
    pub deployment_id: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub deployed_by: Option<String>,
    /// The version running there now, when this deployed version no longer does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// That version is older than this one: the environment was rolled back, and this cell
    /// does not count as deployed for progress or readiness.
    pub rolled_back: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatrixRowOut {
    pub product_name: String,
    pub version: String,
    pub version_id: String,
    /// Added before any pipeline reported it.
    pub planned: bool,
    pub cells: Vec<MatrixCellOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatrixOut {
    pub environments: Vec<EnvironmentOut>,
    pub rows: Vec<MatrixRowOut>,
}

impl From<&ReleaseMatrix> for MatrixOut {
    fn from(m: &ReleaseMatrix) -> Self {
        MatrixOut {
            environments: m.columns.iter().map(EnvironmentOut::from).collect(),
            rows: m
                .rows
                .iter()
                .map(|r| MatrixRowOut {
                    product_name: r.product_name.clone(),
                    version: r.version.clone(),
                    version_id: r.version_id.clone(),
                    planned: r.planned,
                    cells: r
                        .cells
                        .iter()
                        .map(|c| MatrixCellOut {
                            environment_name: c.environment_name.clone(),
                            state: c.state,
                            deployment_id: c.deployment_id.clone(),
                            at: c.at.map(utc),
                            deployed_by: c.deployed_by.clone(),
                            superseded_by: c.superseded_by.clone(),
                            rolled_back: c.rolled_back,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// When an environment was fully reached by a release (every version first completed there).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReachedOut {
    pub environment_name: String,
    /// `null` while a version has not reached it.
    pub at: Option<DateTime<Utc>>,
}

/// `GET /releases/{id}/export.json` (SPEC §11): the release, its versions, its matrix and its
/// audit trail in one document, each in the shape the API gives it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportOut {
    pub release: ReleaseOut,
    pub versions: Vec<VersionOut>,
    pub progress: ProgressOut,
    pub matrix: MatrixOut,
    pub fully_reached: Vec<ReachedOut>,
    pub audit: Vec<AuditOut>,
}

impl From<&Export> for ExportOut {
    fn from(e: &Export) -> Self {
        ExportOut {
            release: ReleaseOut::from(&e.summary),
            versions: e.versions.iter().map(VersionOut::from).collect(),
            progress: ProgressOut::from(&e.matrix),
            matrix: MatrixOut::from(&e.matrix),
            fully_reached: e
                .matrix
                .columns
                .iter()
                .zip(&e.movement.fully_reached)
                .map(|(env, at)| ReachedOut {
                    environment_name: env.name.clone(),
                    at: at.map(utc),
                })
                .collect(),
            audit: e.audit.iter().map(AuditOut::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: String,
    pub release_id: String,
    /// created, edited, status_changed, version_added or version_removed.
    pub action: String,
    pub actor: String,
    #[schema(value_type = Object)]
    pub details: Value,
    pub created_at: DateTime<Utc>,
}

impl From<&AuditEntry> for AuditOut {
    fn from(a: &AuditEntry) -> Self {
        AuditOut {
            id: a.id.clone(),
            release_id: a.release_id.clone(),
            action: a.action.clone(),
            actor: a.actor.clone(),
            details: metadata(&a.details),
            created_at: utc(a.created_at),
        }
    }
}
