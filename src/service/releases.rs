//! Releases (SPEC §4): creating and changing them, their version lists, what they show.
//!
//! Each change is one transaction that takes the release's lock (PostgreSQL), checks the rules
//! of `domain::release` against what is stored, writes, and appends to the audit trail; the
//! `*_in` functions are those transactions, for callers that compose several in one (`demo`).

use super::changes::{Change, ReleaseChange};
use super::matrix::{self, ReleaseMatrix};
use super::run::{self, Tx};
use super::suggestions::Lists;
use super::Context;
use crate::domain::catalog::name_free;
use crate::domain::error::Named;
use crate::domain::release::{self as rules, NewRelease, Placement, ReleaseChanges, VersionRef};
use crate::domain::{insight, Entity, EnvType, Error, Missing, ReleaseStatus};
use crate::store::catalog::{self, VersionRow};
use crate::store::deployments::{self, DeploymentFilter, DeploymentRow};
use crate::store::ids::now;
use crate::store::{read_models, releases, AnyConnection};
use chrono::NaiveDateTime;
use serde_json::{json, Value};
use std::collections::HashMap;

pub use crate::store::models::{AuditEntry, Release};
pub use crate::store::releases::{ReleaseFilter, ReleaseSummary};

/// The advisory lock of one release: its changes apply one at a time (PostgreSQL).
fn lock(conn: &mut AnyConnection, id: &str) -> Tx<()> {
    Ok(catalog::lock_key(conn, &format!("release\u{1f}{id}"))?)
}

fn release(conn: &mut AnyConnection, id: &str) -> Tx<Release> {
    Ok(releases::get(conn, id)?.ok_or(Missing::Record(Entity::Release))?)
}

fn summary(conn: &mut AnyConnection, id: &str) -> Tx<ReleaseSummary> {
    Ok(releases::summary(conn, id)?.ok_or(Missing::Record(Entity::Release))?)
}

/// Appends to the audit trail: who did what to the release.
fn audit(conn: &mut AnyConnection, id: &str, action: &str, actor: &str, details: Value) -> Tx<()> {
    Ok(releases::audit(conn, id, action, actor, details)?)
}

// ---------------------------------------------------------------------------------------------
// Changes

/// Creates a release; its name must be free.
pub fn create_in(conn: &mut AnyConnection, new: &NewRelease, actor: &str) -> Tx<Release> {
    // A new release holds nothing yet: it cannot start out completed.
    rules::may_take(&new.name, new.status, 0)?;
    name_free(
        Named::Release,
        &new.name,
        releases::named(conn, &new.name)?.as_deref(),
        None,
    )?;
    let r = releases::new_release(
        &new.name,
        new.description.clone(),
        new.status,
        new.extra_metadata.clone(),
        now(),
    );
    releases::insert(conn, &r)?;
    audit(
        conn,
        &r.id,
        "created",
        actor,
        json!({"name": r.name, "status": r.status}),
    )?;
    Ok(r)
}

pub async fn create(
    ctx: &Context,
    new: NewRelease,
    actor: String,
) -> Result<ReleaseSummary, Error> {
    let created = run::write(&ctx.db, move |conn| {
        let r = create_in(conn, &new, &actor)?;
        summary(conn, &r.id)
    })
    .await?;
    announce(ctx, &created.release.id, ReleaseChange::Created);
    Ok(created)
}

/// Applies edits and a status change in one transaction. Archived releases refuse status
/// changes (409); their name, description and metadata stay editable so typos can be fixed
/// (docs/decisions.md). What changed, for the announcement.
pub fn update_in(
    conn: &mut AnyConnection,
    id: &str,
    changes: &ReleaseChanges,
    actor: &str,
) -> Tx<Vec<ReleaseChange>> {
    lock(conn, id)?;
    let current = release(conn, id)?;
    let mut edited = serde_json::Map::new();
    let mut what = Vec::new();

    if let Some(name) = &changes.name {
        if *name != current.name {
            name_free(
                Named::Release,
                name,
                releases::named(conn, name)?.as_deref(),
                Some(id),
            )?;
            releases::set_name(conn, id, name)?;
            edited.insert("name".into(), json!({"from": current.name, "to": name}));
        }
    }
    if let Some(description) = &changes.description {
        if *description != current.description {
            releases::set_description(conn, id, description.as_deref())?;
            edited.insert("description".into(), json!(description));
        }
    }
    if let Some(meta) = &changes.extra_metadata {
        if *meta != current.extra_metadata {
            releases::set_metadata(conn, id, meta)?;
            edited.insert("extra_metadata".into(), json!(true));
        }
    }
    if !edited.is_empty() {
        audit(conn, id, "edited", actor, Value::Object(edited))?;
        what.push(ReleaseChange::Edited);
    }

    if let Some(to) = changes.status {
        let from = current.status();
        let versions = usize::try_from(releases::member_count(conn, id)?).unwrap_or(usize::MAX);
        if rules::status_change(&current.name, from, to, versions)? {
            releases::set_status(conn, id, to, to.completed_at(now()))?;
            audit(
                conn,
                id,
                "status_changed",
                actor,
                json!({"from": from.as_str(), "to": to.as_str()}),
            )?;
            what.push(ReleaseChange::StatusChanged { from, to });
        }
    }
    releases::touch(conn, id)?;
    Ok(what)
}

pub async fn update(
    ctx: &Context,
    id: String,
    changes: ReleaseChanges,
    actor: String,
) -> Result<ReleaseSummary, Error> {
    let key = id.clone();
    let (what, updated) = run::write(&ctx.db, move |conn| {
        let what = update_in(conn, &key, &changes, &actor)?;
        Ok((what, summary(conn, &key)?))
    })
    .await?;
    for w in what {
        announce(ctx, &id, w);
    }
    Ok(updated)
}

/// Adds a version (created with its product when named and unknown, so that a release can be
/// planned before its builds exist): the version, and whether it was added (false: already
/// there).
pub fn add_version_in(
    conn: &mut AnyConnection,
    release_id: &str,
    which: &VersionRef,
    actor: &str,
) -> Tx<(VersionRow, bool)> {
    let (r, row, there) = slot(conn, release_id, which)?;
    let added = rules::add_to(&r.name, there.as_ref().map(as_member), as_member(&row))?;
    if added {
        releases::add_member(conn, release_id, &row.version)?;
        releases::touch(conn, release_id)?;
        audit(conn, release_id, "version_added", actor, details(&row))?;
    }
    Ok((row, added))
}

pub async fn add_version(
    ctx: &Context,
    release_id: String,
    which: VersionRef,
    actor: String,
) -> Result<(VersionRow, bool), Error> {
    let key = release_id.clone();
    let (row, added) = run::write(&ctx.db, move |conn| {
        add_version_in(conn, &key, &which, &actor)
    })
    .await?;
    if added {
        let version_id = row.version.id.clone();
        announce(ctx, &release_id, ReleaseChange::VersionAdded { version_id });
    }
    Ok((row, added))
}

/// The version a command names: by id, or by product and version string, created as planned
/// (with its product) when no pipeline has reported it yet (SPEC §4).
fn find_or_plan(conn: &mut AnyConnection, which: &VersionRef) -> Tx<VersionRow> {
    Ok(match which {
        VersionRef::Id(id) => {
            catalog::version(conn, id)?.ok_or_else(|| Missing::Version { id: id.clone() })?
        }
        VersionRef::Named { product, version } => {
            let p = catalog::find_or_create_product(conn, product)?;
            let v = match catalog::version_of(conn, &p.id, version)? {
                Some(v) => v,
                None => catalog::insert_planned_version(conn, &p, version)?,
            };
            VersionRow {
                version: v,
                product_name: p.name,
            }
        }
    })
}

/// What a change to a release's version list starts from, in its transaction: the release
/// (locked: changes to one release apply one at a time, the unique index backs this up, and
/// open), the version the command names, and the version of the same product the release
/// holds (if any).
fn slot(
    conn: &mut AnyConnection,
    release_id: &str,
    which: &VersionRef,
) -> Tx<(Release, VersionRow, Option<VersionRow>)> {
    lock(conn, release_id)?;
    let r = release(conn, release_id)?;
    rules::ensure_open(&r.name, r.status())?;
    let row = find_or_plan(conn, which)?;
    let v = &row.version;
    let there = match releases::member_of_product(conn, release_id, &v.product_id)? {
        Some(id) if id != v.id => catalog::version(conn, &id)?,
        Some(_) => Some(row.clone()),
        None => None,
    };
    Ok((r, row, there))
}

/// A version as the composition rules see it.
fn as_member(row: &VersionRow) -> rules::Member<'_> {
    (
        row.version.id.as_str(),
        row.product_name.as_str(),
        row.version.version.as_str(),
    )
}

/// What an audit entry records of a version.
fn details(row: &VersionRow) -> Value {
    let v = &row.version;
    json!({"product": row.product_name, "version": v.version, "version_id": v.id})
}

/// Sets a product's version in a release (`PUT /api/releases/{id}/products/{product}`): adds
/// it when the product is not there, replaces the version there in one change (one audit
/// entry, "replaced 1.2.3 by 1.2.4"), or changes nothing. The version set, and what it did.
pub fn place_version_in(
    conn: &mut AnyConnection,
    release_id: &str,
    product: &str,
    which: &VersionRef,
    actor: &str,
) -> Tx<(VersionRow, Placement)> {
    let (_, row, there) = slot(conn, release_id, which)?;
    let placement = rules::place(product, there.as_ref().map(as_member), as_member(&row))?;
    let v = &row.version;
    let mut details = details(&row);
    match &placement {
        Placement::Unchanged => return Ok((row, placement)),
        Placement::Added => {
            releases::add_member(conn, release_id, v)?;
            audit(conn, release_id, "version_added", actor, details)?;
        }
        Placement::Replaced { was } => {
            if let Some(t) = &there {
                details["replaced_version"] = json!(t.version.version);
                details["replaced_version_id"] = json!(t.version.id);
            }
            releases::remove_member(conn, release_id, was)?;
            releases::add_member(conn, release_id, v)?;
            audit(conn, release_id, "version_replaced", actor, details)?;
        }
    }
    releases::touch(conn, release_id)?;
    Ok((row, placement))
}

pub async fn place_version(
    ctx: &Context,
    release_id: String,
    product: String,
    which: VersionRef,
    actor: String,
) -> Result<(VersionRow, Placement), Error> {
    let key = release_id.clone();
    let (row, placement) = run::write(&ctx.db, move |conn| {
        place_version_in(conn, &key, &product, &which, &actor)
    })
    .await?;
    let version_id = row.version.id.clone();
    match &placement {
        Placement::Unchanged => {}
        Placement::Added => announce(ctx, &release_id, ReleaseChange::VersionAdded { version_id }),
        Placement::Replaced { was } => announce(
            ctx,
            &release_id,
            ReleaseChange::VersionReplaced {
                was: was.clone(),
                version_id,
            },
        ),
    }
    Ok((row, placement))
}

/// Removes a version from a release (the version itself stays); the version removed.
pub async fn remove_version(
    ctx: &Context,
    release_id: String,
    version_id: String,
    actor: String,
) -> Result<VersionRow, Error> {
    let (key, vid) = (release_id.clone(), version_id.clone());
    let row = run::write(&ctx.db, move |conn| {
        lock(conn, &key)?;
        let r = release(conn, &key)?;
        rules::ensure_open(&r.name, r.status())?;
        let row =
            catalog::version(conn, &vid)?.ok_or_else(|| Missing::Version { id: vid.clone() })?;
        if releases::remove_member(conn, &key, &vid)? == 0 {
            return Err(Missing::NotInRelease {
                product: row.product_name.clone(),
                version: row.version.version.clone(),
                release: r.name,
            }
            .into());
        }
        releases::touch(conn, &key)?;
        audit(conn, &key, "version_removed", &actor, details(&row))?;
        Ok(row)
    })
    .await?;
    announce(
        ctx,
        &release_id,
        ReleaseChange::VersionRemoved { version_id },
    );
    Ok(row)
}

fn announce(ctx: &Context, id: &str, what: ReleaseChange) {
    ctx.changes.announce(|| Change::Release {
        id: id.to_string(),
        what,
    });
}

// ---------------------------------------------------------------------------------------------
// Reads

pub async fn list(
    ctx: &Context,
    filter: ReleaseFilter,
) -> Result<(Vec<ReleaseSummary>, i64), Error> {
    run::read(&ctx.db, move |conn| Ok(releases::list(conn, &filter)?)).await
}

pub async fn get(ctx: &Context, id: String) -> Result<Release, Error> {
    run::read(&ctx.db, move |conn| release(conn, &id)).await
}

/// A release with its versions and its matrix (for the progress).
pub struct Detail {
    pub summary: ReleaseSummary,
    pub versions: Vec<VersionRow>,
    pub matrix: ReleaseMatrix,
}

pub async fn detail(ctx: &Context, id: String) -> Result<Detail, Error> {
    run::read(&ctx.db, move |conn| {
        Ok(Detail {
            summary: summary(conn, &id)?,
            versions: releases::versions(conn, &id)?,
            matrix: matrix::release_matrix(conn, &id)?,
        })
    })
    .await
}

pub async fn versions(ctx: &Context, id: String) -> Result<Vec<VersionRow>, Error> {
    run::read(&ctx.db, move |conn| {
        release(conn, &id)?;
        Ok(releases::versions(conn, &id)?)
    })
    .await
}

/// The deployments of the release's versions, newest first, and their total.
pub async fn deployments(
    ctx: &Context,
    id: String,
    limit: i64,
    offset: i64,
) -> Result<(Vec<DeploymentRow>, i64), Error> {
    run::read(&ctx.db, move |conn| {
        release(conn, &id)?;
        let filter = DeploymentFilter {
            release_id: Some(id),
            limit,
            offset,
            ..Default::default()
        };
        Ok(deployments::list(conn, &filter)?)
    })
    .await
}

pub async fn matrix(ctx: &Context, id: String) -> Result<ReleaseMatrix, Error> {
    run::read(&ctx.db, move |conn| {
        release(conn, &id)?;
        Ok(matrix::release_matrix(conn, &id)?)
    })
    .await
}

pub async fn audit_trail(ctx: &Context, id: String) -> Result<Vec<AuditEntry>, Error> {
    run::read(&ctx.db, move |conn| {
        release(conn, &id)?;
        Ok(releases::audit_trail(conn, &id)?)
    })
    .await
}

/// Completed releases, newest completion first, with when each reached production and the
/// products (with their versions) each shipped.
pub struct History {
    pub releases: Vec<ReleaseSummary>,
    pub reached_production: HashMap<String, NaiveDateTime>,
    /// Per release id: (product, version), sorted by product.
    pub members: HashMap<String, Vec<(String, String)>>,
    pub total: i64,
}

/// `name_contains`: the history's search (release names, ignoring case in any script).
pub async fn history(
    ctx: &Context,
    name_contains: Option<String>,
    limit: i64,
    offset: i64,
) -> Result<History, Error> {
    let filter = ReleaseFilter {
        statuses: vec![ReleaseStatus::Completed],
        name_contains,
        limit,
        offset,
        by_completion: true,
    };
    run::read(&ctx.db, move |conn| {
        let (rows, total) = releases::list(conn, &filter)?;
        let ids: Vec<String> = rows.iter().map(|r| r.release.id.clone()).collect();
        let reached_production = releases::reached_production(conn, &ids)?;
        let mut members: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (release_id, product, version) in releases::members_of(conn, &ids)? {
            members
                .entry(release_id)
                .or_default()
                .push((product, version));
        }
        Ok(History {
            releases: rows,
            reached_production,
            members,
            total,
        })
    })
    .await
}

/// How a release moved (SPEC §12): when it fully reached each environment, the waits between
/// stages, and its lead time to ready to complete (`domain::insight`).
#[derive(Debug, Clone, Default)]
pub struct Movement {
    /// Per column of the matrix.
    pub fully_reached: Vec<Option<NaiveDateTime>>,
    pub waits: Vec<(EnvType, EnvType, Option<chrono::Duration>)>,
    pub lead_time: Option<chrono::Duration>,
}

/// Reads the versions' first completions (by the `version_env_firsts` key) and lets
/// `domain::insight` decide.
fn movement(conn: &mut AnyConnection, created: NaiveDateTime, m: &ReleaseMatrix) -> Tx<Movement> {
    let ids: Vec<&str> = m.rows.iter().map(|r| r.version_id.as_str()).collect();
    let loaded = read_models::firsts_of(conn, &ids, None)?;
    // Looked up by borrowed keys: no key strings allocated per cell.
    let firsts: HashMap<(&str, &str), NaiveDateTime> = loaded
        .iter()
        .map(|(v, e, t)| ((v.as_str(), e.as_str()), *t))
        .collect();
    let first = |version: &str, env: &str| firsts.get(&(version, env)).copied();
    let versions: Vec<insight::VersionFirsts> = m
        .rows
        .iter()
        .map(|r| insight::VersionFirsts {
            firsts: m
                .columns
                .iter()
                .map(|e| first(&r.version_id, &e.id))
                .collect(),
            product_ever_completed: r.product_ever_completed.clone(),
        })
        .collect();
    let fully_reached: Vec<Option<NaiveDateTime>> = (0..m.columns.len())
        .map(|i| insight::fully_reached(versions.iter().map(|v| v.firsts[i])))
        .collect();
    let kinds: Vec<EnvType> = m.columns.iter().map(|e| e.kind()).collect();
    Ok(Movement {
        waits: insight::waits(&insight::stages(&kinds, &fully_reached)),
        lead_time: insight::lead_time(created, &kinds, &versions),
        fully_reached,
    })
}

/// A release as its exports print it (SPEC §11): the release, its versions, its matrix, its
/// audit trail, and how it moved, in one read.
pub struct Export {
    pub summary: ReleaseSummary,
    pub versions: Vec<VersionRow>,
    pub matrix: ReleaseMatrix,
    pub audit: Vec<AuditEntry>,
    pub movement: Movement,
}

pub async fn export(ctx: &Context, id: String) -> Result<Export, Error> {
    run::read(&ctx.db, move |conn| {
        let summary = summary(conn, &id)?;
        let versions = releases::versions(conn, &id)?;
        let matrix = matrix::release_matrix(conn, &id)?;
        let audit = releases::audit_trail(conn, &id)?;
        let movement = movement(conn, summary.release.created_at, &matrix)?;
        Ok(Export {
            summary,
            versions,
            matrix,
            audit,
            movement,
        })
    })
    .await
}

/// Everything the release page shows, in one read.
pub struct Page {
    pub release: Release,
    pub matrix: ReleaseMatrix,
    pub audit: Vec<AuditEntry>,
    /// The add-version form's suggestions: every product name and every distinct version
    /// string (empty once archived, or when not asked for).
    pub suggestions: Lists,
    /// When a completed release reached production (its last version's first completion
    /// there), if it did.
    pub reached_production: Option<NaiveDateTime>,
    pub movement: Movement,
}

/// `suggestions`: load the add-version form's suggestions (only people who may add versions
/// see the form; a wall screen does not need them).
pub async fn page(ctx: &Context, id: String, suggestions: bool) -> Result<Page, Error> {
    let (kept, changes) = (ctx.suggestions.clone(), ctx.changes.announced());
    run::read(&ctx.db, move |conn| {
        let r = release(conn, &id)?;
        let m = matrix::release_matrix(conn, &id)?;
        let audit = releases::audit_trail(conn, &id)?;
        let status = r.status();
        let suggestions = if status.is_final() || !suggestions {
            Lists::default()
        } else {
            kept.get(changes, || {
                Ok::<_, diesel::result::Error>((
                    releases::product_names(conn)?,
                    releases::version_strings(conn)?,
                ))
            })?
        };
        let movement = movement(conn, r.created_at, &m)?;
        let reached_production = if status == ReleaseStatus::Completed {
            releases::reached_production(conn, std::slice::from_ref(&id))?.remove(&id)
        } else {
            None
        };
        Ok(Page {
            release: r,
            matrix: m,
            audit,
            suggestions,
            reached_production,
            movement,
        })
    })
    .await
}

/// One row of a release's version list, for the pages that act on it (replace, remove).
pub struct Member {
    pub release: Release,
    pub version: VersionRow,
    /// Every version of the member's product, newest first (the replace form's suggestions).
    pub alternatives: Vec<String>,
}

/// A version of a release, with its product's versions; 404 when the version is not in it.
pub async fn member(ctx: &Context, id: String, version_id: String) -> Result<Member, Error> {
    run::read(&ctx.db, move |conn| {
        let r = release(conn, &id)?;
        let row = catalog::version(conn, &version_id)?.ok_or_else(|| Missing::Version {
            id: version_id.clone(),
        })?;
        if releases::member_of_product(conn, &id, &row.version.product_id)?.as_deref()
            != Some(version_id.as_str())
        {
            return Err(Missing::NotInRelease {
                product: row.product_name.clone(),
                version: row.version.version.clone(),
                release: r.name,
            }
            .into());
        }
        let alternatives = catalog::version_strings_of(conn, &row.version.product_id)?;
        Ok(Member {
            release: r,
            version: row,
            alternatives,
        })
    })
    .await
}
