//! Releases as stored: the release rows, their version lists, the audit trail, and the history
//! page's "reached production". The release rules (lifecycle, frozen archives, one version per
//! product) are the domain's; the service layer applies them (`service::releases`).

use super::catalog::VersionRow;
use super::ids::{new_id, now};
use super::models::{AuditEntry, Release, ReleaseVersion};
use super::read_models;
use super::rows::version_row;
use super::schema::{audit_entries, products, release_versions, releases, versions};
use super::AnyConnection;
use crate::domain::catalog::Version;
use crate::domain::{insight, search, EnvType, ReleaseStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

/// A release with the number of versions in it, as lists show it.
#[derive(Debug, Clone)]
pub struct ReleaseSummary {
    pub release: Release,
    pub version_count: i64,
}

pub fn get(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Release>> {
    releases::table
        .find(id)
        .select(Release::as_select())
        .first(conn)
        .optional()
}

/// The id of the release that has this name, if any.
pub fn named(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<String>> {
    releases::table
        .filter(releases::name.eq(name))
        .select(releases::id)
        .first(conn)
        .optional()
}

/// A new release row, not yet written: its searchable name folded (`domain::search::fold`).
pub fn new_release(
    name: &str,
    description: Option<String>,
    status: ReleaseStatus,
    extra_metadata: String,
    t: NaiveDateTime,
) -> Release {
    Release {
        id: new_id(),
        name: name.to_string(),
        description,
        status: status.as_str().to_string(),
        extra_metadata,
        created_at: t,
        updated_at: t,
        completed_at: status.completed_at(t),
        name_folded: Some(search::fold(name)),
    }
}

pub fn insert(conn: &mut AnyConnection, release: &Release) -> QueryResult<()> {
    diesel::insert_into(releases::table)
        .values(release)
        .execute(conn)
        .map(|_| ())
}

/// Filters of the release lists.
#[derive(Debug, Clone, Default)]
pub struct ReleaseFilter {
    pub statuses: Vec<ReleaseStatus>,
    /// Name contains, ignoring case in any script (`domain::search`).
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
            q = q.filter(
                releases::name_folded
                    .like(contains_pattern(needle))
                    .escape('\\'),
            );
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

/// The `LIKE` pattern of `domain::search::matches` over the folded name: the folded query
/// anywhere, with `%`, `_` and `\` typed by a user taken literally.
pub fn contains_pattern(query: &str) -> String {
    let folded = search::fold(query)
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{folded}%")
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

pub fn summary(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ReleaseSummary>> {
    let Some(release) = get(conn, id)? else {
        return Ok(None);
    };
    let version_count = member_count(conn, id)?;
    Ok(Some(ReleaseSummary {
        release,
        version_count,
    }))
}

/// How many versions the release holds.
pub fn member_count(conn: &mut AnyConnection, id: &str) -> QueryResult<i64> {
    release_versions::table
        .filter(release_versions::release_id.eq(id))
        .count()
        .get_result(conn)
}

/// Renames a release (and its searchable form).
pub fn set_name(conn: &mut AnyConnection, id: &str, name: &str) -> QueryResult<()> {
    diesel::update(releases::table.find(id))
        .set((
            releases::name.eq(name),
            releases::name_folded.eq(search::fold(name)),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn set_description(
    conn: &mut AnyConnection,
    id: &str,
    description: Option<&str>,
) -> QueryResult<()> {
    diesel::update(releases::table.find(id))
        .set(releases::description.eq(description))
        .execute(conn)
        .map(|_| ())
}

pub fn set_metadata(conn: &mut AnyConnection, id: &str, metadata: &str) -> QueryResult<()> {
    diesel::update(releases::table.find(id))
        .set(releases::extra_metadata.eq(metadata))
        .execute(conn)
        .map(|_| ())
}

/// Sets the status, and when the release completed (`None` unless `completed_at` is given).
pub fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    status: ReleaseStatus,
    completed_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    diesel::update(releases::table.find(id))
        .set((
            releases::status.eq(status.as_str()),
            releases::completed_at.eq(completed_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Marks the release changed now.
pub fn touch(conn: &mut AnyConnection, id: &str) -> QueryResult<()> {
    diesel::update(releases::table.find(id))
        .set(releases::updated_at.eq(now()))
        .execute(conn)
        .map(|_| ())
}

/// The version of this product the release holds, if any.
pub fn member_of_product(
    conn: &mut AnyConnection,
    release_id: &str,
    product_id: &str,
) -> QueryResult<Option<String>> {
    release_versions::table
        .filter(release_versions::release_id.eq(release_id))
        .filter(release_versions::product_id.eq(product_id))
        .select(release_versions::version_id)
        .first(conn)
        .optional()
}

pub fn add_member(
    conn: &mut AnyConnection,
    release_id: &str,
    version: &Version,
) -> QueryResult<()> {
    diesel::insert_into(release_versions::table)
        .values(&ReleaseVersion {
            release_id: release_id.to_string(),
            version_id: version.id.clone(),
            product_id: version.product_id.clone(),
            added_at: now(),
        })
        .execute(conn)
        .map(|_| ())
}

/// Removes a version from a release; how many rows went (0: it was not there).
pub fn remove_member(
    conn: &mut AnyConnection,
    release_id: &str,
    version_id: &str,
) -> QueryResult<usize> {
    diesel::delete(
        release_versions::table
            .filter(release_versions::release_id.eq(release_id))
            .filter(release_versions::version_id.eq(version_id)),
    )
    .execute(conn)
}

/// Fills the folded name of releases written before it existed (or by an older instance
/// during a rolling upgrade): run with the migrations, at start-up.
pub fn fold_missing_names(conn: &mut AnyConnection) -> QueryResult<usize> {
    let missing: Vec<(String, String)> = releases::table
        .filter(releases::name_folded.is_null())
        .select((releases::id, releases::name))
        .load(conn)?;
    for (id, name) in &missing {
        diesel::update(releases::table.find(id))
            .set(releases::name_folded.eq(search::fold(name)))
            .execute(conn)?;
    }
    Ok(missing.len())
}

/// The release's versions with their product names, sorted by product name.
pub fn versions(conn: &mut AnyConnection, release_id: &str) -> QueryResult<Vec<VersionRow>> {
    let rows = release_versions::table
        .inner_join(versions::table.inner_join(products::table))
        .filter(release_versions::release_id.eq(release_id))
        .select((version_row::COLUMNS, products::name))
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

/// The releases holding each of these versions: (version id, release), releases newest first
/// (`release_versions_version_idx`).
pub fn holding_versions(
    conn: &mut AnyConnection,
    version_ids: &[String],
) -> QueryResult<Vec<(String, Release)>> {
    if version_ids.is_empty() {
        return Ok(Vec::new());
    }
    release_versions::table
        .inner_join(releases::table)
        .filter(release_versions::version_id.eq_any(version_ids))
        .order((releases::created_at.desc(), releases::id.desc()))
        .select((release_versions::version_id, Release::as_select()))
        .load(conn)
}

/// Every product name, for the add-version form's `<datalist>` (no cap: a name is short, and
/// a release may be planned with any product).
pub fn product_names(conn: &mut AnyConnection) -> QueryResult<Vec<String>> {
    let mut names: Vec<String> = products::table.select(products::name).load(conn)?;
    names.sort_unstable();
    Ok(names)
}

/// Every distinct version string, for the add-version form's `<datalist>`: pipelines reuse
/// the same strings across products (`1.4.2`), so there are far fewer than versions. Sorted
/// here, by bytes, on both backends. No index on `version` alone: PostgreSQL's planner would
/// take it for the event path's (product, version) lookup on small tables.
pub fn version_strings(conn: &mut AnyConnection) -> QueryResult<Vec<String>> {
    let mut strings: Vec<String> = versions::table
        .select(versions::version)
        .distinct()
        .load(conn)?;
    strings.sort_unstable();
    Ok(strings)
}

/// The products of these releases with the version each holds: (release id, product,
/// version), sorted by product name.
pub fn members_of(
    conn: &mut AnyConnection,
    release_ids: &[String],
) -> QueryResult<Vec<(String, String, String)>> {
    if release_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<(String, String, String)> = release_versions::table
        .inner_join(versions::table.inner_join(products::table))
        .filter(release_versions::release_id.eq_any(release_ids))
        .select((
            release_versions::release_id,
            products::name,
            versions::version,
        ))
        .load(conn)?;
    rows.sort_unstable_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
    Ok(rows)
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

/// When each release reached production (`domain::insight::reached_production`); releases
/// with a version never deployed to production are absent.
///
/// Three key lookups, no join or grouping in SQL: the production environments, the releases'
/// versions (by the `release_versions` primary key) and the first completions of exactly those
/// (version, production environment) pairs (`read_models::firsts_of`, by the
/// `version_env_firsts` primary key). A join let the planner start from the environments and
/// scan every first completion.
pub fn reached_production(
    conn: &mut AnyConnection,
    release_ids: &[String],
) -> QueryResult<HashMap<String, NaiveDateTime>> {
    use super::schema::environments;
    if release_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let production: Vec<String> = environments::table
        .filter(environments::env_type.eq(EnvType::Production.as_str()))
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
    let mut firsts: HashMap<String, Vec<NaiveDateTime>> = HashMap::new();
    for (version_id, _, at) in read_models::firsts_of(conn, &version_ids, Some(&production))? {
        firsts.entry(version_id).or_default().push(at);
    }
    let mut versions_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (release_id, version_id) in &links {
        versions_of.entry(release_id).or_default().push(version_id);
    }
    let none = Vec::new();
    Ok(versions_of
        .into_iter()
        .filter_map(|(release_id, versions)| {
            let at = insight::reached_production(
                versions
                    .iter()
                    .map(|v| firsts.get(*v).unwrap_or(&none).iter().copied()),
            )?;
            Some((release_id.to_string(), at))
        })
        .collect())
}
