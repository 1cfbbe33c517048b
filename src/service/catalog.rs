//! Products, versions, environments and deployments (SPEC §5): the catalog's changes, with
//! their rules (unique names; a product in a release cannot be deleted), and what is read of it.

use super::changes::Change;
use super::releases::Release;
use super::run::{self, Tx};
use super::state::{self, StateMatrix};
use super::Context;
use crate::domain::catalog::{
    name_free, Environment, EnvironmentChanges, NewEnvironment, NewProduct, Product, ProductChanges,
};
use crate::domain::deployment::LoggedEvent;
use crate::domain::error::Named;
use crate::domain::{Conflict, Entity, EnvType, Error, Missing};
use crate::store::read_models::{self, Current};
use crate::store::{catalog, deployments, releases, AnyConnection, Backend};
use std::collections::HashMap;

pub use crate::store::catalog::{VersionFilter, VersionRow};
pub use crate::store::deployments::{DeploymentFilter, DeploymentRow};

fn product(conn: &mut AnyConnection, id: &str) -> Tx<Product> {
    Ok(catalog::product(conn, id)?.ok_or(Missing::Record(Entity::Product))?)
}

fn environment(conn: &mut AnyConnection, id: &str) -> Tx<Environment> {
    Ok(catalog::environment(conn, id)?.ok_or(Missing::Record(Entity::Environment))?)
}

fn changed(ctx: &Context) {
    ctx.changes.announce(|| Change::Catalog);
}

// ---------------------------------------------------------------------------------------------
// Products

pub async fn products(ctx: &Context) -> Result<Vec<Product>, Error> {
    run::read(&ctx.db, |conn| Ok(catalog::list_products(conn)?)).await
}

pub async fn product_by_id(ctx: &Context, id: String) -> Result<Product, Error> {
    run::read(&ctx.db, move |conn| product(conn, &id)).await
}

pub async fn create_product(ctx: &Context, new: NewProduct) -> Result<Product, Error> {
    let p = run::write(&ctx.db, move |conn| {
        let holder = catalog::product_by_name(conn, &new.name)?.map(|p| p.id);
        name_free(Named::Product, &new.name, holder.as_deref(), None)?;
        Ok(catalog::create_product(
            conn,
            &new.name,
            new.description.as_deref(),
        )?)
    })
    .await?;
    changed(ctx);
    Ok(p)
}

pub async fn update_product(
    ctx: &Context,
    id: String,
    changes: ProductChanges,
) -> Result<Product, Error> {
    let p = run::write(&ctx.db, move |conn| {
        product(conn, &id)?;
        if let Some(name) = &changes.name {
            let holder = catalog::product_by_name(conn, name)?.map(|p| p.id);
            name_free(Named::Product, name, holder.as_deref(), Some(&id))?;
        }
        catalog::update_product(conn, &id, &changes)?;
        product(conn, &id)
    })
    .await?;
    changed(ctx);
    Ok(p)
}

/// Deletes a product with its versions and deployment history, unless one of its versions is
/// part of a release (SPEC §5: 409 then).
pub async fn delete_product(ctx: &Context, id: String) -> Result<(), Error> {
    run::write(&ctx.db, move |conn| {
        let p = product(conn, &id)?;
        let releases = catalog::releases_holding(conn, &id)?;
        if releases > 0 {
            return Err(Conflict::ProductInReleases {
                product: p.name,
                releases,
            }
            .into());
        }
        Ok(catalog::delete_product(conn, &id)?)
    })
    .await?;
    changed(ctx);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Versions

pub async fn versions(
    ctx: &Context,
    filter: VersionFilter,
) -> Result<(Vec<VersionRow>, i64), Error> {
    run::read(&ctx.db, move |conn| {
        Ok(catalog::list_versions(conn, &filter)?)
    })
    .await
}

pub async fn version(ctx: &Context, id: String) -> Result<VersionRow, Error> {
    run::read(&ctx.db, move |conn| {
        Ok(catalog::version(conn, &id)?.ok_or(Missing::Record(Entity::Version))?)
    })
    .await
}

/// A product: what runs in each environment now, a page of its versions (newest first) with
/// the releases holding each, and a page of its deployment history.
pub struct ProductPage {
    pub product: Product,
    /// Every environment, in column order, with what runs there now (if anything).
    pub running: Vec<(Environment, Option<Current>)>,
    pub versions: Vec<VersionRow>,
    pub versions_total: i64,
    /// Per version id: the releases holding it, newest first.
    pub releases: HashMap<String, Vec<Release>>,
    pub deployments: Vec<DeploymentRow>,
    pub deployments_total: i64,
}

/// Which page of each list the product page shows.
#[derive(Debug, Clone, Copy)]
pub struct ProductPaging {
    pub versions_limit: i64,
    pub versions_offset: i64,
    pub deployments_limit: i64,
    pub deployments_offset: i64,
}

pub async fn product_page(
    ctx: &Context,
    id: String,
    paging: ProductPaging,
) -> Result<ProductPage, Error> {
    run::read(&ctx.db, move |conn| {
        let p = product(conn, &id)?;
        let mut now_running: HashMap<String, Current> =
            read_models::current_versions(conn, Some(std::slice::from_ref(&p.id)))?
                .into_iter()
                .map(|(_, env, current)| (env, current))
                .collect();
        let running = catalog::list_environments(conn, None)?
            .into_iter()
            .map(|e| {
                let c = now_running.remove(&e.id);
                (e, c)
            })
            .collect();
        let (rows, total) = catalog::list_versions(
            conn,
            &VersionFilter {
                product: Some(p.name.clone()),
                limit: paging.versions_limit,
                offset: paging.versions_offset,
                ..Default::default()
            },
        )?;
        let ids: Vec<String> = rows.iter().map(|r| r.version.id.clone()).collect();
        let mut holding: HashMap<String, Vec<Release>> = HashMap::new();
        for (version_id, r) in releases::holding_versions(conn, &ids)? {
            holding.entry(version_id).or_default().push(r);
        }
        let (history, history_total) = deployments::list(
            conn,
            &DeploymentFilter {
                product: Some(p.name.clone()),
                limit: paging.deployments_limit,
                offset: paging.deployments_offset,
                ..Default::default()
            },
        )?;
        Ok(ProductPage {
            product: p,
            running,
            versions: rows,
            versions_total: total,
            releases: holding,
            deployments: history,
            deployments_total: history_total,
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Environments

/// Environments in column order (SPEC §2), optionally of one type.
pub async fn environments(ctx: &Context, kind: Option<EnvType>) -> Result<Vec<Environment>, Error> {
    run::read(&ctx.db, move |conn| {
        Ok(catalog::list_environments(conn, kind)?)
    })
    .await
}

pub async fn environment_by_id(ctx: &Context, id: String) -> Result<Environment, Error> {
    run::read(&ctx.db, move |conn| environment(conn, &id)).await
}

pub async fn create_environment(ctx: &Context, new: NewEnvironment) -> Result<Environment, Error> {
    let e = run::write(&ctx.db, move |conn| {
        let holder = catalog::environment_by_name(conn, &new.name)?.map(|e| e.id);
        name_free(Named::Environment, &new.name, holder.as_deref(), None)?;
        Ok(catalog::create_environment(conn, &new)?)
    })
    .await?;
    changed(ctx);
    Ok(e)
}

pub async fn update_environment(
    ctx: &Context,
    id: String,
    changes: EnvironmentChanges,
) -> Result<Environment, Error> {
    let e = run::write(&ctx.db, move |conn| {
        environment(conn, &id)?;
        if let Some(name) = &changes.name {
            let holder = catalog::environment_by_name(conn, name)?.map(|e| e.id);
            name_free(Named::Environment, name, holder.as_deref(), Some(&id))?;
        }
        catalog::update_environment(conn, &id, &changes)?;
        environment(conn, &id)
    })
    .await?;
    changed(ctx);
    Ok(e)
}

// ---------------------------------------------------------------------------------------------
// Deployments and state

/// Deployments newest first, and their total (unless the filter skips counting).
pub async fn deployments(
    ctx: &Context,
    filter: DeploymentFilter,
) -> Result<(Vec<DeploymentRow>, i64), Error> {
    run::read(&ctx.db, move |conn| Ok(deployments::list(conn, &filter)?)).await
}

/// One deployment with its event log, oldest first.
pub async fn deployment(
    ctx: &Context,
    id: String,
) -> Result<(DeploymentRow, Vec<LoggedEvent>), Error> {
    run::read(&ctx.db, move |conn| {
        let row = deployments::get(conn, &id)?.ok_or(Missing::Record(Entity::Deployment))?;
        let events = deployments::events(conn, &id)?;
        Ok((row, events))
    })
    .await
}

/// The deployment page (SPEC §6): one deployment, its event log (oldest first) and the
/// releases that hold its version (newest first).
pub struct DeploymentPage {
    pub row: DeploymentRow,
    pub events: Vec<LoggedEvent>,
    pub releases: Vec<Release>,
}

pub async fn deployment_page(ctx: &Context, id: String) -> Result<DeploymentPage, Error> {
    run::read(&ctx.db, move |conn| {
        let row = deployments::get(conn, &id)?.ok_or(Missing::Record(Entity::Deployment))?;
        let events = deployments::events(conn, &id)?;
        let version = std::slice::from_ref(&row.deployment.version_id);
        let releases = releases::holding_versions(conn, version)?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        Ok(DeploymentPage {
            row,
            events,
            releases,
        })
    })
    .await
}

/// Product and environment names, for the filters of the deployments page.
pub async fn names(ctx: &Context) -> Result<(Vec<String>, Vec<String>), Error> {
    run::read(&ctx.db, |conn| {
        let products = catalog::list_products(conn)?
            .into_iter()
            .map(|p| p.name)
            .collect();
        let environments = catalog::list_environments(conn, None)?
            .into_iter()
            .map(|e| e.name)
            .collect();
        Ok((products, environments))
    })
    .await
}

/// The environment state matrix: what runs where now.
pub async fn state(ctx: &Context) -> Result<StateMatrix, Error> {
    run::read(&ctx.db, |conn| Ok(state::state_matrix(conn)?)).await
}

/// Which database serves, and whether it answers.
pub async fn health(ctx: &Context) -> (Backend, bool) {
    let reachable = run::read(&ctx.db, |conn| {
        use diesel::connection::SimpleConnection;
        Ok(conn.batch_execute("SELECT 1").is_ok())
    })
    .await
    .unwrap_or(false);
    (ctx.db.backend(), reachable)
}
