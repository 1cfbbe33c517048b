//! Products, versions and environments as stored: lookups, inserts, edits. The rules (unique
//! names, immutable versions, type inference) are the domain's; the service layer applies them.

use super::error::StoreError;
use super::ids::{new_id, now};
use super::prepared::{self, statement};
use super::registry::{insert, update};
use super::rows::{environment_row, product_row, version_row};
use super::schema::{
    deployment_events, deployments, environments, products, release_versions, versions,
};
use super::AnyConnection;
use crate::domain::catalog::{
    BuildFacts, Environment, EnvironmentChanges, NewEnvironment, Product, ProductChanges, Version,
};
use crate::domain::EnvType;
use diesel::prelude::*;

/// Serialises concurrent writers that touch the same key on PostgreSQL, for the rest of the
/// transaction. SQLite needs nothing: its write transactions already run one at a time.
pub fn lock_key(conn: &mut AnyConnection, key: &str) -> Result<(), StoreError> {
    if let AnyConnection::Postgresql(_) = conn {
        if super::writer::may_block_on_lock() {
            prepared::execute::<AdvisoryLock>(conn, &[key.into()])?;
        } else {
            // In a group-commit batch that holds locks already: never wait while holding
            // them (see `store::writer`); the write runs again in the next batch instead.
            let got: Option<bool> = prepared::first::<TryAdvisoryLock, diesel::sql_types::Bool, _>(
                conn,
                &[key.into()],
            )?;
            if got != Some(true) {
                return Err(StoreError::LockBusy);
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
        .select(product_row::COLUMNS)
        .first(conn)
        .optional()
}

pub fn product(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Product>> {
    products::table
        .find(id)
        .select(product_row::COLUMNS)
        .first(conn)
        .optional()
}

/// The product with this (valid) name, created on first mention.
pub fn find_or_create_product(conn: &mut AnyConnection, name: &str) -> QueryResult<Product> {
    if let Some(p) = product_by_name(conn, name)? {
        return Ok(p);
    }
    create_product(conn, name, None)
}

statement!(
    InsertProduct,
    insert(product_row::TABLE, product_row::NAMES)
);

pub fn create_product(
    conn: &mut AnyConnection,
    name: &str,
    description: Option<&str>,
) -> QueryResult<Product> {
    let p = Product::new(new_id(), name, description, now());
    prepared::execute::<InsertProduct>(conn, &product_row::args(&p))?;
    Ok(p)
}

/// All products by name (byte order on both databases, whatever PostgreSQL's collation).
pub fn list_products(conn: &mut AnyConnection) -> QueryResult<Vec<Product>> {
    let mut rows: Vec<Product> = products::table.select(product_row::COLUMNS).load(conn)?;
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// Applies changes to a product (its name's uniqueness is the caller's to check).
pub fn update_product(
    conn: &mut AnyConnection,
    id: &str,
    changes: &ProductChanges,
) -> QueryResult<()> {
    let target = products::table.find(id);
    if let Some(name) = &changes.name {
        diesel::update(target)
            .set(products::name.eq(name))
            .execute(conn)?;
    }
    if let Some(description) = &changes.description {
        diesel::update(target)
            .set(products::description.eq(description))
            .execute(conn)?;
    }
    diesel::update(target)
        .set(products::updated_at.eq(now()))
        .execute(conn)?;
    Ok(())
}

/// How many releases hold a version of the product.
pub fn releases_holding(conn: &mut AnyConnection, product_id: &str) -> QueryResult<i64> {
    release_versions::table
        .filter(release_versions::product_id.eq(product_id))
        .count()
        .get_result(conn)
}

/// Deletes a product with its versions, deployment history and read-model rows.
pub fn delete_product(conn: &mut AnyConnection, id: &str) -> QueryResult<()> {
    super::read_models::forget_product(conn, id)?;
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
        .select(environment_row::COLUMNS)
        .first(conn)
        .optional()
}

pub fn environment(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Environment>> {
    environments::table
        .find(id)
        .select(environment_row::COLUMNS)
        .first(conn)
        .optional()
}

statement!(
    InsertEnvironment,
    insert(environment_row::TABLE, environment_row::NAMES)
);

pub fn create_environment(
    conn: &mut AnyConnection,
    new: &NewEnvironment,
) -> QueryResult<Environment> {
    let e = Environment::new(
        new_id(),
        &new.name,
        new.kind,
        new.position,
        new.description.as_deref(),
        now(),
    );
    prepared::execute::<InsertEnvironment>(conn, &environment_row::args(&e))?;
    Ok(e)
}

/// All environments in matrix column order (SPEC §2), optionally of one type.
pub fn list_environments(
    conn: &mut AnyConnection,
    kind: Option<EnvType>,
) -> QueryResult<Vec<Environment>> {
    let mut query = environments::table
        .select(environment_row::COLUMNS)
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(environments::env_type.eq(kind.as_str()));
    }
    let mut envs: Vec<Environment> = query.load(conn)?;
    Environment::sort(&mut envs);
    Ok(envs)
}

/// Applies changes to an environment (its name's uniqueness is the caller's to check).
pub fn update_environment(
    conn: &mut AnyConnection,
    id: &str,
    changes: &EnvironmentChanges,
) -> QueryResult<()> {
    let target = environments::table.find(id);
    if let Some(name) = &changes.name {
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
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Versions

/// A version with the name of its product, as every answer shows it.
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
        .select(version_row::COLUMNS)
        .first(conn)
        .optional()
}

pub fn version(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<VersionRow>> {
    versions::table
        .inner_join(products::table)
        .filter(versions::id.eq(id))
        .select((version_row::COLUMNS, products::name))
        .first::<(Version, String)>(conn)
        .optional()
        .map(|row| {
            row.map(|(version, product_name)| VersionRow {
                version,
                product_name,
            })
        })
}

/// Filters of `GET /api/versions/` and the product page.
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
        .select((version_row::COLUMNS, products::name))
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

/// The version of a product, created on first mention; an existing one only has its empty
/// fields filled (`Version::fill`). Returns whether it was created.
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

statement!(
    InsertVersion,
    insert(version_row::TABLE, version_row::NAMES)
);
statement!(
    UpdateVersion,
    update(version_row::TABLE, version_row::CHANGING, version_row::KEY)
);

/// Fills the empty fields of an existing version from new facts (`Version::fill`), writing
/// only when something changed.
pub fn fill_version(
    conn: &mut AnyConnection,
    existing: &mut Version,
    facts: &BuildFacts,
) -> QueryResult<()> {
    if existing.fill(facts) {
        existing.updated_at = now();
        prepared::execute::<UpdateVersion>(conn, &version_row::update_args(existing))?;
    }
    Ok(())
}

/// Every version string of a product, newest first (the replace form's suggestions).
pub fn version_strings_of(conn: &mut AnyConnection, product_id: &str) -> QueryResult<Vec<String>> {
    versions::table
        .filter(versions::product_id.eq(product_id))
        .order((versions::created_at.desc(), versions::id.desc()))
        .select(versions::version)
        .load(conn)
}

/// A version of `product` named when planning a release, before any pipeline reported it.
pub fn insert_planned_version(
    conn: &mut AnyConnection,
    product: &Product,
    version: &str,
) -> QueryResult<Version> {
    let v = Version::planned(new_id(), &product.id, version, now());
    prepared::execute::<InsertVersion>(conn, &version_row::args(&v))?;
    Ok(v)
}

/// A new version of `product`, with what the facts tell about its build.
pub fn insert_version(
    conn: &mut AnyConnection,
    product: &Product,
    version: &str,
    facts: &BuildFacts,
) -> QueryResult<Version> {
    let v = Version::new(new_id(), &product.id, version, facts, now());
    prepared::execute::<InsertVersion>(conn, &version_row::args(&v))?;
    Ok(v)
}
