//! Rows as stored. `Foo` is a row read back (Queryable + Selectable), `NewFoo` one to insert.

use super::schema::*;
use super::time::{MaybeStoredTime, StoredTime};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = products)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = StoredTime)]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = environments)]
pub struct Environment {
    pub id: String,
    pub name: String,
    pub env_type: String,
    pub position: i32,
    pub description: Option<String>,
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = StoredTime)]
    pub updated_at: NaiveDateTime,
}

impl Environment {
    /// The stored type; an unknown value (never written by this code) falls back to inference.
    pub fn kind(&self) -> crate::domain::EnvType {
        crate::domain::EnvType::parse(&self.env_type)
            .unwrap_or_else(|| crate::domain::EnvType::infer_from_name(&self.name))
    }

    /// Sorts environments into the column order of every matrix (SPEC §2).
    pub fn sort(envs: &mut [Environment]) {
        envs.sort_by(|a, b| {
            crate::domain::environment::column_order(
                (a.kind(), a.position, &a.name),
                (b.kind(), b.position, &b.name),
            )
        });
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable, AsChangeset)]
#[diesel(table_name = versions)]
pub struct Version {
    pub id: String,
    pub product_id: String,
    pub version: String,
    pub scm_sha: Option<String>,
    pub scm_branch: Option<String>,
    pub scm_repository: Option<String>,
    pub build_url: Option<String>,
    pub build_number: Option<String>,
    pub built_by: Option<String>,
    pub source_system: Option<String>,
    pub extra_metadata: String,
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = StoredTime)]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable, AsChangeset)]
#[diesel(table_name = deployments)]
#[diesel(treat_none_as_null = true)]
pub struct Deployment {
    pub id: String,
    pub product_id: String,
    pub version_id: String,
    pub environment_id: String,
    pub status: String,
    pub invoke_id: Option<String>,
    pub deployed_by: Option<String>,
    pub deployed_by_name: Option<String>,
    pub deployed_by_email: Option<String>,
    pub build_url: Option<String>,
    pub deploy_url: Option<String>,
    pub build_number: Option<String>,
    pub source_system: Option<String>,
    #[diesel(deserialize_as = MaybeStoredTime)]
    pub started_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = MaybeStoredTime)]
    pub completed_at: Option<NaiveDateTime>,
    pub extra_metadata: String,
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = StoredTime)]
    pub updated_at: NaiveDateTime,
}

impl Deployment {
    pub fn status(&self) -> crate::domain::DeploymentStatus {
        // Only canonical names are ever written; an unknown one reads as the safest state.
        crate::domain::DeploymentStatus::from_db(&self.status)
            .unwrap_or(crate::domain::DeploymentStatus::Pending)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = deployment_events)]
pub struct DeploymentEvent {
    pub id: String,
    pub deployment_id: String,
    pub status: String,
    pub reported_status: String,
    pub applied: bool,
    pub payload: String,
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRecord {
    pub scope: String,
    pub idem_key: String,
    pub request_hash: String,
    pub response_status: i32,
    pub response_body: String,
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = releases)]
pub struct Release {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: String,
    pub extra_metadata: String,
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = StoredTime)]
    pub updated_at: NaiveDateTime,
    #[diesel(deserialize_as = MaybeStoredTime)]
    pub completed_at: Option<NaiveDateTime>,
}

impl Release {
    pub fn status(&self) -> crate::domain::ReleaseStatus {
        crate::domain::ReleaseStatus::parse(&self.status)
            .unwrap_or(crate::domain::ReleaseStatus::Draft)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = release_versions)]
pub struct ReleaseVersion {
    pub release_id: String,
    pub version_id: String,
    pub product_id: String,
    #[diesel(deserialize_as = StoredTime)]
    pub added_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_entries)]
pub struct AuditEntry {
    pub id: String,
    pub release_id: String,
    pub action: String,
    pub actor: String,
    pub details: String,
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
}
