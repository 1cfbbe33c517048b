//! The maintained read models (see the migration): kept up to date in the same transaction as
//! every deployment change, so that reads never scan the deployment history.
//!
//! - `version_env_heads`: latest non-aborted deployment per (version, environment) — a cell.
//! - `version_env_firsts`: first completion per (version, environment) — history page.
//! - `product_env_current`: per (product, environment), the deployment that completed last.
//! - `product_env_latest`: per (product, environment), the latest attempt of any status.

use super::models::Deployment;
use super::schema::{
    deployments, product_env_current, product_env_latest, version_env_firsts, version_env_heads,
};
use super::AnyConnection;
use crate::domain::DeploymentStatus;
use diesel::prelude::*;

/// Brings the read models up to date after `d` was inserted (`created`) or changed.
pub fn record(conn: &mut AnyConnection, d: &Deployment, created: bool) -> QueryResult<()> {
    let status = d.status();
    if created {
        // A new deployment is the most recent of its (version, environment) by definition.
        if status != DeploymentStatus::Aborted {
            set_version_head(conn, d)?;
        }
        set_latest(conn, d)?;
    } else {
        let head: Option<String> = version_env_heads::table
            .find((&d.version_id, &d.environment_id))
            .select(version_env_heads::deployment_id)
            .first(conn)
            .optional()?;
        // Changes to older deployments do not touch the cell: the newest one decides it.
        if head.as_deref() == Some(d.id.as_str()) {
            if status == DeploymentStatus::Aborted {
                recompute_version_head(conn, &d.version_id, &d.environment_id)?;
            } else {
                set_version_head(conn, d)?;
            }
        }
        diesel::update(
            product_env_latest::table
                .find((&d.product_id, &d.environment_id))
                .filter(product_env_latest::deployment_id.eq(&d.id)),
        )
        .set(product_env_latest::status.eq(&d.status))
        .execute(conn)?;
    }
    if status == DeploymentStatus::Completed {
        // It completed just now, later than any other: it is what runs there.
        set_current(conn, d)?;
        set_first_completion(conn, d)?;
    }
    Ok(())
}

fn set_version_head(conn: &mut AnyConnection, d: &Deployment) -> QueryResult<()> {
    let changed = diesel::update(version_env_heads::table.find((&d.version_id, &d.environment_id)))
        .set((
            version_env_heads::deployment_id.eq(&d.id),
            version_env_heads::status.eq(&d.status),
            version_env_heads::deployed_by.eq(&d.deployed_by),
            version_env_heads::created_at.eq(d.created_at),
            version_env_heads::updated_at.eq(d.updated_at),
        ))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(version_env_heads::table)
            .values((
                version_env_heads::version_id.eq(&d.version_id),
                version_env_heads::environment_id.eq(&d.environment_id),
                version_env_heads::product_id.eq(&d.product_id),
                version_env_heads::deployment_id.eq(&d.id),
                version_env_heads::status.eq(&d.status),
                version_env_heads::deployed_by.eq(&d.deployed_by),
                version_env_heads::created_at.eq(d.created_at),
                version_env_heads::updated_at.eq(d.updated_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The head was aborted: the cell falls back to the latest earlier non-aborted deployment.
fn recompute_version_head(
    conn: &mut AnyConnection,
    version_id: &str,
    environment_id: &str,
) -> QueryResult<()> {
    let previous: Option<Deployment> = deployments::table
        .filter(deployments::version_id.eq(version_id))
        .filter(deployments::environment_id.eq(environment_id))
        .filter(deployments::status.ne(DeploymentStatus::Aborted.as_str()))
        .order((deployments::created_at.desc(), deployments::id.desc()))
        .select(Deployment::as_select())
        .first(conn)
        .optional()?;
    match previous {
        Some(p) => set_version_head(conn, &p),
        None => diesel::delete(version_env_heads::table.find((version_id, environment_id)))
            .execute(conn)
            .map(|_| ()),
    }
}

fn set_current(conn: &mut AnyConnection, d: &Deployment) -> QueryResult<()> {
    let changed =
        diesel::update(product_env_current::table.find((&d.product_id, &d.environment_id)))
            .set((
                product_env_current::version_id.eq(&d.version_id),
                product_env_current::deployment_id.eq(&d.id),
                product_env_current::completed_at.eq(d.updated_at),
            ))
            .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(product_env_current::table)
            .values((
                product_env_current::product_id.eq(&d.product_id),
                product_env_current::environment_id.eq(&d.environment_id),
                product_env_current::version_id.eq(&d.version_id),
                product_env_current::deployment_id.eq(&d.id),
                product_env_current::completed_at.eq(d.updated_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn set_first_completion(conn: &mut AnyConnection, d: &Deployment) -> QueryResult<()> {
    let known: i64 = version_env_firsts::table
        .find((&d.version_id, &d.environment_id))
        .count()
        .get_result(conn)?;
    if known == 0 {
        diesel::insert_into(version_env_firsts::table)
            .values((
                version_env_firsts::version_id.eq(&d.version_id),
                version_env_firsts::environment_id.eq(&d.environment_id),
                version_env_firsts::first_completed_at.eq(d.updated_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn set_latest(conn: &mut AnyConnection, d: &Deployment) -> QueryResult<()> {
    let changed =
        diesel::update(product_env_latest::table.find((&d.product_id, &d.environment_id)))
            .set((
                product_env_latest::version_id.eq(&d.version_id),
                product_env_latest::deployment_id.eq(&d.id),
                product_env_latest::status.eq(&d.status),
                product_env_latest::created_at.eq(d.created_at),
            ))
            .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(product_env_latest::table)
            .values((
                product_env_latest::product_id.eq(&d.product_id),
                product_env_latest::environment_id.eq(&d.environment_id),
                product_env_latest::version_id.eq(&d.version_id),
                product_env_latest::deployment_id.eq(&d.id),
                product_env_latest::status.eq(&d.status),
                product_env_latest::created_at.eq(d.created_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes every read-model row of a product (before its deployments are deleted).
pub fn forget_product(conn: &mut AnyConnection, product_id: &str) -> QueryResult<()> {
    diesel::delete(version_env_heads::table.filter(version_env_heads::product_id.eq(product_id)))
        .execute(conn)?;
    diesel::delete(
        version_env_firsts::table.filter(
            version_env_firsts::version_id.eq_any(
                super::schema::versions::table
                    .filter(super::schema::versions::product_id.eq(product_id))
                    .select(super::schema::versions::id),
            ),
        ),
    )
    .execute(conn)?;
    diesel::delete(
        product_env_current::table.filter(product_env_current::product_id.eq(product_id)),
    )
    .execute(conn)?;
    diesel::delete(product_env_latest::table.filter(product_env_latest::product_id.eq(product_id)))
        .execute(conn)?;
    Ok(())
}
