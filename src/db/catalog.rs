//! Products, versions and environments: lookups, find-or-create for the event path, edits.

use super::ids::{new_id, now};
use super::models::{Environment, Product, Version};
use super::prepared::{self, statement};
use super::schema::{
    deployment_events, deployments, environments, products, release_versions, versions,
};
use super::AnyConnection;
use crate::domain::EnvType;
use crate::error::AppError;
use diesel::prelude::*;

/// Serialises concurrent writers that touch the same key on PostgreSQL, for the rest of the
/// transaction. SQLite needs nothing: its write transactions already run one at a time.
pub fn lock_key(conn: &mut AnyConnection, key: &str) -> QueryResult<()> {
    if let AnyConnection::Postgresql(_) = conn {
        if super::writer::may_block_on_lock() {
            prepared::execute::<AdvisoryLock>(conn, &[key.into()])?;
        } else {
            // In a group-commit batch that holds locks already: never wait while holding
            // them (see `db::writer`); the write runs again in the next batch instead.
            let got: Option<bool> = prepared::first::<TryAdvisoryLock, diesel::sql_types::Bool, _>(
                conn,
                &[key.into()],
            )?;
            if got != Some(true) {
                return Err(super::writer::lock_busy());
            }
        }
    }
    Ok(())
}

statement!(AdvisoryLock, "SELECT pg_advisory_xact_lock(hashtext(?))");
statement!(
    TryAdvisoryLock,
    "SELECT pg_try_advisory_xact_lock(hashtext(?))"
);

// ---------------------------------------------------------------------------------------------
// Products

pub fn product_by_name(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<Product>> {
    products::table
        .filter(products::name.eq(name))
        .select(Product::as_select())
        .first(conn)
        .optional()
}

pub fn product(conn: &mut AnyConnection, id: &str) -> QueryResult<Product> {
    products::table
        .find(id)
        .select(Product::as_select())
        .first(conn)
}

/// The product with this (validated) name, created on first mention.
pub fn find_or_create_product(conn: &mut AnyConnection, name: &str) -> QueryResult<Product> {
    if let Some(p) = product_by_name(conn, name)? {
        return Ok(p);
    }
    create_product(conn, name, None)
}

/// A new product, not yet written.
pub fn new_product(name: &str, description: Option<&str>) -> Product {
    let t = now();
    Product {
        id: new_id(),
        name: name.to_string(),
        description: description.map(str::to_string),
        created_at: t,
        updated_at: t,
    }
}

pub fn create_product(
    conn: &mut AnyConnection,
    name: &str,
    description: Option<&str>,
) -> QueryResult<Product> {
    let p = new_product(name, description);
    prepared::execute::<InsertProduct>(
        conn,
        &[
            (&p.id).into(),
            (&p.name).into(),
            (&p.description).into(),
            p.created_at.into(),
            p.updated_at.into(),
        ],
    )?;
    Ok(p)
}

statement!(
    InsertProduct,
    "INSERT INTO products (id, name, description, created_at, updated_at) \
     VALUES (?, ?, ?, ?, ?)"
);

/// All products by name (byte order on both databases, whatever PostgreSQL's collation).
pub fn list_products(conn: &mut AnyConnection) -> QueryResult<Vec<Product>> {
    let mut rows: Vec<Product> = products::table.select(Product::as_select()).load(conn)?;
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// Renames or re-describes a product; `None` leaves a field alone, `Some(None)` clears it.
pub fn update_product(
    conn: &mut AnyConnection,
    id: &str,
    name: Option<&str>,
    description: Option<Option<&str>>,
) -> Result<Product, AppError> {
    let current = product(conn, id)?;
    if let Some(name) = name {
        if name != current.name && product_by_name(conn, name)?.is_some() {
            return Err(AppError::Conflict(format!(
                "a product named '{name}' already exists"
            )));
        }
        diesel::update(products::table.find(id))
            .set(products::name.eq(name))
            .execute(conn)?;
    }
    if let Some(description) = description {
        diesel::update(products::table.find(id))
            .set(products::description.eq(description))
            .execute(conn)?;
    }
    diesel::update(products::table.find(id))
        .set(products::updated_at.eq(now()))
        .execute(conn)?;
    Ok(product(conn, id)?)
}

/// Deletes a product with its versions and deployment history, unless one of its versions is
/// part of a release (SPEC §5: 409 then).
pub fn delete_product(conn: &mut AnyConnection, id: &str) -> Result<(), AppError> {
    let p = product(conn, id)?;
    let in_releases: i64 = release_versions::table
        .filter(release_versions::product_id.eq(id))
        .count()
        .get_result(conn)?;
    if in_releases > 0 {
        return Err(AppError::Conflict(format!(
            "product '{}' has versions in {in_releases} release(s); remove them from the releases first",
            p.name
        )));
    }
    super::heads::forget_product(conn, id)?;
    let deployment_ids = deployments::table
        .filter(deployments::product_id.eq(id))
        .select(deployments::id);
    diesel::delete(
        deployment_events::table.filter(deployment_events::deployment_id.eq_any(deployment_ids)),
    )
    .execute(conn)?;
    diesel::delete(deployments::table.filter(deployments::product_id.eq(id))).execute(conn)?;
    diesel::delete(versions::table.filter(versions::product_id.eq(id))).execute(conn)?;
    diesel::delete(products::table.find(id)).execute(conn)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Environments

pub fn environment_by_name(
    conn: &mut AnyConnection,
    name: &str,
) -> QueryResult<Option<Environment>> {
    environments::table
        .filter(environments::name.eq(name))
        .select(Environment::as_select())
        .first(conn)
        .optional()
}

pub fn environment(conn: &mut AnyConnection, id: &str) -> QueryResult<Environment> {
    environments::table
        .find(id)
        .select(Environment::as_select())
        .first(conn)
}

/// The environment with this (validated) name, created on first mention with its type
/// inferred from the name.
pub fn find_or_create_environment(
    conn: &mut AnyConnection,
    name: &str,
) -> QueryResult<Environment> {
    if let Some(e) = environment_by_name(conn, name)? {
        return Ok(e);
    }
    create_environment(conn, name, EnvType::infer_from_name(name), 0, None)
}

pub fn create_environment(
    conn: &mut AnyConnection,
    name: &str,
    kind: EnvType,
    position: i32,
    description: Option<&str>,
) -> QueryResult<Environment> {
    let t = now();
    let e = Environment {
        id: new_id(),
        name: name.to_string(),
        env_type: kind.as_str().to_string(),
        position,
        description: description.map(str::to_string),
        created_at: t,
        updated_at: t,
    };
    diesel::insert_into(environments::table)
        .values((
            environments::id.eq(&e.id),
            environments::name.eq(&e.name),
            environments::env_type.eq(&e.env_type),
            environments::position.eq(e.position),
            environments::description.eq(&e.description),
            environments::created_at.eq(e.created_at),
            environments::updated_at.eq(e.updated_at),
        ))
        .execute(conn)?;
    Ok(e)
}

/// All environments in matrix column order (SPEC §2), optionally of one type.
pub fn list_environments(
    conn: &mut AnyConnection,
    kind: Option<EnvType>,
) -> QueryResult<Vec<Environment>> {
    let mut query = environments::table
        .select(Environment::as_select())
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(environments::env_type.eq(kind.as_str()));
    }
    let mut envs = query.load(conn)?;
    Environment::sort(&mut envs);
    Ok(envs)
}

/// The fields of an environment a user may change; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct EnvironmentChanges {
    pub name: Option<String>,
    pub kind: Option<EnvType>,
    pub position: Option<i32>,
    pub description: Option<Option<String>>,
}

pub fn update_environment(
    conn: &mut AnyConnection,
    id: &str,
    changes: &EnvironmentChanges,
) -> Result<Environment, AppError> {
    let current = environment(conn, id)?;
    let target = environments::table.find(id);
    if let Some(name) = &changes.name {
        if *name != current.name && environment_by_name(conn, name)?.is_some() {
            return Err(AppError::Conflict(format!(
                "an environment named '{name}' already exists"
            )));
        }
        diesel::update(target)
            .set(environments::name.eq(name))
            .execute(conn)?;
    }
    if let Some(kind) = changes.kind {
        diesel::update(target)
            .set(environments::env_type.eq(kind.as_str()))
            .execute(conn)?;
    }
    if let Some(position) = changes.position {
        diesel::update(target)
            .set(environments::position.eq(position))
            .execute(conn)?;
    }
    if let Some(description) = &changes.description {
        diesel::update(target)
            .set(environments::description.eq(description))
            .execute(conn)?;
    }
    diesel::update(target)
        .set(environments::updated_at.eq(now()))
        .execute(conn)?;
    Ok(environment(conn, id)?)
}

// ---------------------------------------------------------------------------------------------
// Versions

/// A version with the name of its product, as every API answer shows it.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub version: Version,
    pub product_name: String,
}

pub fn version_of(
    conn: &mut AnyConnection,
    product_id: &str,
    version: &str,
) -> QueryResult<Option<Version>> {
    versions::table
        .filter(versions::product_id.eq(product_id))
        .filter(versions::version.eq(version))
        .select(Version::as_select())
        .first(conn)
        .optional()
}

pub fn version(conn: &mut AnyConnection, id: &str) -> QueryResult<VersionRow> {
    versions::table
        .inner_join(products::table)
        .filter(versions::id.eq(id))
        .select((Version::as_select(), products::name))
        .first::<(Version, String)>(conn)
        .map(|(version, product_name)| VersionRow {
            version,
            product_name,
        })
}

/// Filters of `GET /api/versions/`.
#[derive(Debug, Default, Clone)]
pub struct VersionFilter {
    pub product: Option<String>,
    pub scm_sha: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Versions newest first, with the total count before paging.
pub fn list_versions(
    conn: &mut AnyConnection,
    f: &VersionFilter,
) -> QueryResult<(Vec<VersionRow>, i64)> {
    let build = || {
        let mut q = versions::table.inner_join(products::table).into_boxed();
        if let Some(p) = &f.product {
            q = q.filter(products::name.eq(p.clone()));
        }
        if let Some(sha) = &f.scm_sha {
            q = q.filter(versions::scm_sha.eq(sha.clone()));
        }
        q
    };
    let total = build().count().get_result(conn)?;
    let rows = build()
        .order((versions::created_at.desc(), versions::id.desc()))
        .limit(f.limit)
        .offset(f.offset)
        .select((Version::as_select(), products::name))
        .load::<(Version, String)>(conn)?;
    Ok((
        rows.into_iter()
            .map(|(version, product_name)| VersionRow {
                version,
                product_name,
            })
            .collect(),
        total,
    ))
}

/// The newest versions with their product names, for pickers (no total: nothing to page).
pub fn recent_versions(conn: &mut AnyConnection, limit: i64) -> QueryResult<Vec<VersionRow>> {
    let rows = versions::table
        .inner_join(products::table)
        .order((versions::created_at.desc(), versions::id.desc()))
        .limit(limit)
        .select((Version::as_select(), products::name))
        .load::<(Version, String)>(conn)?;
    Ok(rows
        .into_iter()
        .map(|(version, product_name)| VersionRow {
            version,
            product_name,
        })
        .collect())
}

/// Build facts reported about a version; each fills the field only while it is empty.
#[derive(Debug, Default, Clone)]
pub struct BuildFacts {
    pub scm_sha: Option<String>,
    pub scm_branch: Option<String>,
    pub scm_repository: Option<String>,
    pub build_url: Option<String>,
    pub build_number: Option<String>,
    pub built_by: Option<String>,
    pub source_system: Option<String>,
    /// Serialized JSON object; merged key by key, existing keys win.
    pub extra_metadata: Option<String>,
}

/// The version of a product, created on first mention. An existing version is immutable:
/// facts only fill in its empty fields. Returns whether it was created.
pub fn find_or_create_version(
    conn: &mut AnyConnection,
    product: &Product,
    version: &str,
    facts: &BuildFacts,
) -> QueryResult<(Version, bool)> {
    if let Some(mut existing) = version_of(conn, &product.id, version)? {
        fill_version(conn, &mut existing, facts)?;
        return Ok((existing, false));
    }
    Ok((insert_version(conn, product, version, facts)?, true))
}

/// Fills the empty fields of an existing version from new facts (versions are immutable
/// otherwise), writing only when something changed.
pub fn fill_version(
    conn: &mut AnyConnection,
    existing: &mut Version,
    facts: &BuildFacts,
) -> QueryResult<()> {
    if fill_empty_fields(existing, facts) {
        existing.updated_at = now();
        diesel::update(versions::table.find(&existing.id))
            .set(&*existing)
            .execute(conn)?;
    }
    Ok(())
}

/// A new version of `product`, with what the facts tell about its build, not yet written.
pub fn new_version(product: &Product, version: &str, facts: &BuildFacts) -> Version {
    let t = now();
    Version {
        id: new_id(),
        product_id: product.id.clone(),
        version: version.to_string(),
        scm_sha: facts.scm_sha.clone(),
        scm_branch: facts.scm_branch.clone(),
        scm_repository: facts.scm_repository.clone(),
        build_url: facts.build_url.clone(),
        build_number: facts.build_number.clone(),
        built_by: facts.built_by.clone(),
        source_system: facts.source_system.clone(),
        extra_metadata: facts.extra_metadata.clone().unwrap_or_else(|| "{}".into()),
        created_at: t,
        updated_at: t,
    }
}

/// The columns of a version in the order of [`InsertVersion`].
pub(crate) fn version_args(v: &Version) -> [prepared::Arg<'_>; 13] {
    [
        (&v.id).into(),
        (&v.product_id).into(),
        (&v.version).into(),
        (&v.scm_sha).into(),
        (&v.scm_branch).into(),
        (&v.scm_repository).into(),
        (&v.build_url).into(),
        (&v.build_number).into(),
        (&v.built_by).into(),
        (&v.source_system).into(),
        (&v.extra_metadata).into(),
        v.created_at.into(),
        v.updated_at.into(),
    ]
}

/// A new version of `product`, with what the facts tell about its build.
pub fn insert_version(
    conn: &mut AnyConnection,
    product: &Product,
    version: &str,
    facts: &BuildFacts,
) -> QueryResult<Version> {
    let v = new_version(product, version, facts);
    prepared::execute::<InsertVersion>(conn, &version_args(&v))?;
    Ok(v)
}

statement!(
    InsertVersion,
    "INSERT INTO versions (id, product_id, version, scm_sha, scm_branch, scm_repository, \
     build_url, build_number, built_by, source_system, extra_metadata, created_at, updated_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
);

/// Fills the empty fields of a version from new facts; true if anything changed.
pub(crate) fn fill_empty_fields(v: &mut Version, facts: &BuildFacts) -> bool {
    let mut changed = false;
    let mut fill = |slot: &mut Option<String>, value: &Option<String>| {
        if slot.is_none() && value.is_some() {
            slot.clone_from(value);
            changed = true;
        }
    };
    fill(&mut v.scm_sha, &facts.scm_sha);
    fill(&mut v.scm_branch, &facts.scm_branch);
    fill(&mut v.scm_repository, &facts.scm_repository);
    fill(&mut v.build_url, &facts.build_url);
    fill(&mut v.build_number, &facts.build_number);
    fill(&mut v.built_by, &facts.built_by);
    fill(&mut v.source_system, &facts.source_system);
    if let Some(new_meta) = &facts.extra_metadata {
        let merged = merge_metadata(&v.extra_metadata, new_meta);
        if merged != v.extra_metadata {
            v.extra_metadata = merged;
            changed = true;
        }
    }
    changed
}

/// Adds the keys of `new` that `old` lacks: existing metadata is never overwritten.
fn merge_metadata(old: &str, new: &str) -> String {
    let (Ok(serde_json::Value::Object(mut old_map)), Ok(serde_json::Value::Object(new_map))) =
        (serde_json::from_str(old), serde_json::from_str(new))
    else {
        return old.to_string();
    };
    for (k, v) in new_map {
        old_map.entry(k).or_insert(v);
    }
    serde_json::Value::Object(old_map).to_string()
}
