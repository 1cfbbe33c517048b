//! Releases: lifecycle, composition, audit trail (SPEC §4). The matrix lives in `matrix.rs`.

use super::catalog::{self, VersionRow};
use super::ids::{new_id, now};
use super::models::{AuditEntry, Release, ReleaseVersion, Version};
use super::schema::{audit_entries, products, release_versions, releases, versions};
use super::AnyConnection;
use crate::domain::ReleaseStatus;
use crate::error::AppError;
use diesel::prelude::*;
use serde_json::json;
use std::collections::HashMap;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A release with the number of versions in it, as lists show it.
#[derive(Debug, Clone)]
pub struct ReleaseSummary {
    pub release: Release,
    pub version_count: i64,
}

/// A validated new release.
#[derive(Debug, Clone)]
pub struct NewReleaseInput {
    pub name: String,
    pub description: Option<String>,
    pub status: ReleaseStatus,
    pub extra_metadata: String,
}

/// Validated changes to a release; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct ReleaseChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub status: Option<ReleaseStatus>,
    pub extra_metadata: Option<String>,
}

/// Which version to add to a release.
#[derive(Debug, Clone)]
pub enum VersionRef {
    Id(String),
    /// Product and version strings; both are created when unknown, so a release can be
    /// planned before its builds exist.
    Named {
        product: String,
        version: String,
    },
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Release, AppError> {
    releases::table
        .find(id)
        .select(Release::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("release"))
}

fn name_taken(conn: &mut AnyConnection, name: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        releases::table.filter(releases::name.eq(name)),
    ))
    .get_result(conn)
}

fn conflict_name(name: &str) -> AppError {
    AppError::Conflict(format!("a release named '{name}' already exists"))
}

pub fn create(
    conn: &mut AnyConnection,
    input: &NewReleaseInput,
    actor: &str,
) -> Result<Release, AppError> {
    if name_taken(conn, &input.name)? {
        return Err(conflict_name(&input.name));
    }
    let t = now();
    let release = Release {
        id: new_id(),
        name: input.name.clone(),
        description: input.description.clone(),
        status: input.status.as_str().to_string(),
        extra_metadata: input.extra_metadata.clone(),
        created_at: t,
        updated_at: t,
        completed_at: (input.status == ReleaseStatus::Completed).then_some(t),
    };
    diesel::insert_into(releases::table)
        .values(&release)
        .execute(conn)?;
    audit(
        conn,
        &release.id,
        "created",
        actor,
        json!({"name": release.name, "status": release.status}),
    )?;
    Ok(release)
}

/// Filters of the release lists.
#[derive(Debug, Clone, Default)]
pub struct ReleaseFilter {
    pub statuses: Vec<ReleaseStatus>,
    pub name_contains: Option<String>,
    pub limit: i64,
    pub offset: i64,
    /// Order by completion time (history) instead of creation time.
    pub by_completion: bool,
}

/// Releases newest first with their version counts, and the total before paging.
pub fn list(
    conn: &mut AnyConnection,
    f: &ReleaseFilter,
) -> QueryResult<(Vec<ReleaseSummary>, i64)> {
    let build = || {
        let mut q = releases::table.into_boxed();
        if !f.statuses.is_empty() {
            q = q.filter(releases::status.eq_any(f.statuses.iter().map(|s| s.as_str())));
        }
        if let Some(needle) = &f.name_contains {
            // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not;
            // users expect the same answer from both.
            let pattern = format!("%{}%", escape_like(&needle.to_lowercase()));
            q = q.filter(lower(releases::name).like(pattern).escape('\\'));
        }
        q
    };
    let total: i64 = build().count().get_result(conn)?;
    let mut page = build();
    page = if f.by_completion {
        page.order((releases::completed_at.desc(), releases::id.desc()))
    } else {
        page.order((releases::created_at.desc(), releases::id.desc()))
    };
    let rows: Vec<Release> = page
        .limit(f.limit)
        .offset(f.offset)
        .select(Release::as_select())
        .load(conn)?;
    let counts = version_counts(conn, rows.iter().map(|r| r.id.clone()).collect())?;
    Ok((
        rows.into_iter()
            .map(|release| {
                let version_count = counts.get(&release.id).copied().unwrap_or(0);
                ReleaseSummary {
                    release,
                    version_count,
                }
            })
            .collect(),
        total,
    ))
}

/// `%` and `_` typed by a user are literal characters in a name search.
fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn version_counts(
    conn: &mut AnyConnection,
    release_ids: Vec<String>,
) -> QueryResult<HashMap<String, i64>> {
    if release_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = release_versions::table
        .filter(release_versions::release_id.eq_any(release_ids))
        .group_by(release_versions::release_id)
        .select((release_versions::release_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn summary(conn: &mut AnyConnection, id: &str) -> Result<ReleaseSummary, AppError> {
    let release = get(conn, id)?;
    let version_count = release_versions::table
        .filter(release_versions::release_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(ReleaseSummary {
        release,
        version_count,
    })
}

/// Applies edits and status changes. Archived releases refuse status changes (409); their
/// name, description and metadata stay editable so typos can be fixed (docs/decisions.md).
pub fn update(
    conn: &mut AnyConnection,
    id: &str,
    changes: &ReleaseChanges,
    actor: &str,
) -> Result<Release, AppError> {
    catalog::lock_key(conn, &format!("release\u{1f}{id}"))?;
    let current = get(conn, id)?;
    let t = now();
    let mut edited = serde_json::Map::new();

    if let Some(name) = &changes.name {
        if *name != current.name {
            if name_taken(conn, name)? {
                return Err(conflict_name(name));
            }
            diesel::update(releases::table.find(id))
                .set(releases::name.eq(name))
                .execute(conn)?;
            edited.insert("name".into(), json!({"from": current.name, "to": name}));
        }
    }
    if let Some(description) = &changes.description {
        if *description != current.description {
            diesel::update(releases::table.find(id))
                .set(releases::description.eq(description))
                .execute(conn)?;
            edited.insert("description".into(), json!(description));
        }
    }
    if let Some(meta) = &changes.extra_metadata {
        if *meta != current.extra_metadata {
            diesel::update(releases::table.find(id))
                .set(releases::extra_metadata.eq(meta))
                .execute(conn)?;
            edited.insert("extra_metadata".into(), json!(true));
        }
    }
    if !edited.is_empty() {
        audit(conn, id, "edited", actor, serde_json::Value::Object(edited))?;
    }

    if let Some(next) = changes.status {
        let from = current.status();
        if next != from {
            if !from.can_become(next) {
                return Err(AppError::Conflict(format!(
                    "release '{}' is {} and archived; its status can no longer change",
                    current.name,
                    from.as_str()
                )));
            }
            let completed_at = (next == ReleaseStatus::Completed).then_some(t);
            diesel::update(releases::table.find(id))
                .set((
                    releases::status.eq(next.as_str()),
                    releases::completed_at.eq(completed_at),
                ))
                .execute(conn)?;
            audit(
                conn,
                id,
                "status_changed",
                actor,
                json!({"from": from.as_str(), "to": next.as_str()}),
            )?;
        }
        // Asking for the status a release already has changes nothing, archived or not.
    }
    diesel::update(releases::table.find(id))
        .set(releases::updated_at.eq(t))
        .execute(conn)?;
    get(conn, id)
}

fn ensure_open(release: &Release) -> Result<(), AppError> {
    let status = release.status();
    if status.is_final() {
        return Err(AppError::Conflict(format!(
            "release '{}' is {} and archived; its versions can no longer change",
            release.name,
            status.as_str()
        )));
    }
    Ok(())
}

/// Adds a version; returns it and whether it was added (false: it was already there).
pub fn add_version(
    conn: &mut AnyConnection,
    release_id: &str,
    which: &VersionRef,
    actor: &str,
) -> Result<(VersionRow, bool), AppError> {
    // Adds to one release are serialised; the unique index backs this up (SPEC §4).
    catalog::lock_key(conn, &format!("release\u{1f}{release_id}"))?;
    let release = get(conn, release_id)?;
    ensure_open(&release)?;
    let row = match which {
        VersionRef::Id(id) => catalog::version(conn, id)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("version {id} not found")))?,
        VersionRef::Named { product, version } => {
            let p = catalog::find_or_create_product(conn, product)?;
            let (v, _) = catalog::find_or_create_version(conn, &p, version, &Default::default())?;
            VersionRow {
                version: v,
                product_name: p.name,
            }
        }
    };
    let v = &row.version;
    let same_product: Option<String> = release_versions::table
        .filter(release_versions::release_id.eq(release_id))
        .filter(release_versions::product_id.eq(&v.product_id))
        .select(release_versions::version_id)
        .first(conn)
        .optional()?;
    match same_product {
        Some(existing) if existing == v.id => return Ok((row, false)),
        Some(existing) => {
            let there = catalog::version(conn, &existing)?;
            return Err(AppError::Conflict(format!(
                "release '{}' already contains {} {}; remove it before adding {} {}",
                release.name,
                there.product_name,
                there.version.version,
                row.product_name,
                v.version
            )));
        }
        None => {}
    }
    let t = now();
    diesel::insert_into(release_versions::table)
        .values(&ReleaseVersion {
            release_id: release_id.to_string(),
            version_id: v.id.clone(),
            product_id: v.product_id.clone(),
            added_at: t,
        })
        .execute(conn)?;
    touch(conn, release_id)?;
    audit(
        conn,
        release_id,
        "version_added",
        actor,
        json!({"product": row.product_name, "version": v.version, "version_id": v.id}),
    )?;
    Ok((row, true))
}

pub fn remove_version(
    conn: &mut AnyConnection,
    release_id: &str,
    version_id: &str,
    actor: &str,
) -> Result<(), AppError> {
    catalog::lock_key(conn, &format!("release\u{1f}{release_id}"))?;
    let release = get(conn, release_id)?;
    ensure_open(&release)?;
    let row = catalog::version(conn, version_id)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("version {version_id} not found")))?;
    let removed = diesel::delete(
        release_versions::table
            .filter(release_versions::release_id.eq(release_id))
            .filter(release_versions::version_id.eq(version_id)),
    )
    .execute(conn)?;
    if removed == 0 {
        return Err(AppError::NotFound(format!(
            "{} {} is not in release '{}'",
            row.product_name, row.version.version, release.name
        )));
    }
    touch(conn, release_id)?;
    audit(
        conn,
        release_id,
        "version_removed",
        actor,
        json!({"product": row.product_name, "version": row.version.version, "version_id": version_id}),
    )?;
    Ok(())
}

fn touch(conn: &mut AnyConnection, release_id: &str) -> QueryResult<()> {
    diesel::update(releases::table.find(release_id))
        .set(releases::updated_at.eq(now()))
        .execute(conn)
        .map(|_| ())
}

/// The release's versions with their product names, sorted by product name.
pub fn versions(conn: &mut AnyConnection, release_id: &str) -> QueryResult<Vec<VersionRow>> {
    let rows = release_versions::table
        .inner_join(versions::table.inner_join(products::table))
        .filter(release_versions::release_id.eq(release_id))
        .select((Version::as_select(), products::name))
        .load::<(Version, String)>(conn)?;
    let mut rows: Vec<VersionRow> = rows
        .into_iter()
        .map(|(version, product_name)| VersionRow {
            version,
            product_name,
        })
        .collect();
    // Sorted here, by bytes, so that both databases give the same order whatever
    // PostgreSQL's collation (SQLite compares bytes).
    rows.sort_by(|a, b| {
        (a.product_name.as_str(), a.version.version.as_str())
            .cmp(&(b.product_name.as_str(), b.version.version.as_str()))
    });
    Ok(rows)
}

/// A version the release page offers to add.
#[derive(Debug, Clone)]
pub struct VersionChoice {
    pub id: String,
    pub version: String,
    pub product_name: String,
}

/// The newest `limit` versions (by creation, ties by id), for the add-version select: only the
/// three columns it shows, read in the order of the `versions_created_idx` index.
pub fn version_choices(conn: &mut AnyConnection, limit: i64) -> QueryResult<Vec<VersionChoice>> {
    let rows: Vec<(String, String, String)> = versions::table
        .inner_join(products::table)
        .order((versions::created_at.desc(), versions::id.desc()))
        .limit(limit)
        .select((versions::id, versions::version, products::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, version, product_name)| VersionChoice {
            id,
            version,
            product_name,
        })
        .collect())
}

/// Appends to the release's audit trail.
pub fn audit(
    conn: &mut AnyConnection,
    release_id: &str,
    action: &str,
    actor: &str,
    details: serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(audit_entries::table)
        .values(&AuditEntry {
            id: new_id(),
            release_id: release_id.to_string(),
            action: action.to_string(),
            actor: actor.to_string(),
            details: details.to_string(),
            created_at: now(),
        })
        .execute(conn)
        .map(|_| ())
}

/// The audit trail, oldest first.
pub fn audit_trail(conn: &mut AnyConnection, release_id: &str) -> QueryResult<Vec<AuditEntry>> {
    audit_entries::table
        .filter(audit_entries::release_id.eq(release_id))
        .order((audit_entries::created_at.asc(), audit_entries::id.asc()))
        .select(AuditEntry::as_select())
        .load(conn)
}

/// When each release reached production: the moment its last version first completed a
/// deployment to a production-type environment. Releases with a version never deployed to
/// production are absent.
///
/// Three key lookups, no join or grouping in SQL: the production environments, the releases'
/// versions (by the `release_versions` primary key) and the first completions of exactly those
/// (version, production environment) pairs (by the `version_env_firsts` primary key). The
/// grouping — earliest per version, latest per release — is done here on at most a few thousand
/// rows. A join let the planner start from the environments and scan every first completion.
pub fn reached_production(
    conn: &mut AnyConnection,
    release_ids: &[String],
) -> QueryResult<HashMap<String, chrono::NaiveDateTime>> {
    use super::schema::{environments, version_env_firsts};
    use chrono::NaiveDateTime;
    if release_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let production: Vec<String> = environments::table
        .filter(environments::env_type.eq(crate::domain::EnvType::Production.as_str()))
        .select(environments::id)
        .load(conn)?;
    if production.is_empty() {
        return Ok(HashMap::new());
    }
    let links: Vec<(String, String)> = release_versions::table
        .filter(release_versions::release_id.eq_any(release_ids))
        .select((release_versions::release_id, release_versions::version_id))
        .load(conn)?;
    let mut version_ids: Vec<&str> = links.iter().map(|(_, v)| v.as_str()).collect();
    version_ids.sort_unstable();
    version_ids.dedup();
    // First completion of each of these versions in any production-type environment.
    let mut first: HashMap<String, NaiveDateTime> = HashMap::with_capacity(version_ids.len());
    // Bounded bind lists: both backends cap the parameters of one statement.
    for chunk in version_ids.chunks(5_000) {
        let rows: Vec<(String, NaiveDateTime)> = version_env_firsts::table
            .filter(version_env_firsts::version_id.eq_any(chunk))
            .filter(version_env_firsts::environment_id.eq_any(&production))
            .select((
                version_env_firsts::version_id,
                version_env_firsts::first_completed_at,
            ))
            .load(conn)?;
        for (version_id, at) in rows {
            first
                .entry(version_id)
                .and_modify(|t| *t = (*t).min(at))
                .or_insert(at);
        }
    }
    // A release reached production when its last version did; one version that never did
    // keeps the whole release out.
    let mut reached: HashMap<&str, Option<NaiveDateTime>> = HashMap::new();
    for (release_id, version_id) in &links {
        let at = first.get(version_id).copied();
        let entry = reached.entry(release_id.as_str()).or_insert(at);
        *entry = match (*entry, at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    Ok(reached
        .into_iter()
        .filter_map(|(id, at)| Some((id.to_string(), at?)))
        .collect())
}
