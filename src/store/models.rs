//! Rows of the release tables as stored (Queryable + Selectable + Insertable). The rows of the
//! tables the event path writes are domain types loaded through the column registry
//! (`store::rows`).

use super::schema::*;
use super::time::{MaybeStoredTime, StoredTime};
use chrono::NaiveDateTime;
use diesel::prelude::*;

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
    /// The name as searched (`domain::search::fold`); `None` only on rows written before the
    /// column existed, until start-up fills it.
    pub name_folded: Option<String>,
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
