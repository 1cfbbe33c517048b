//! Compare (SPEC §13): what runs in one environment against another (what to promote next),
//! and one release's versions against another's. Read from the `product_env_current` read
//! model (a row per product and environment) and the releases' version lists: their size is
//! the catalog's, never the history's.

use super::run;
use super::Context;
use crate::domain::catalog::Environment;
use crate::domain::compare;
use crate::domain::{Entity, Error, Missing};
use crate::store::catalog::{self, VersionRow};
use crate::store::models::Release;
use crate::store::read_models::{self, Current};
use crate::store::{releases, AnyConnection};
use std::collections::BTreeMap;

/// One product in an environment comparison.
#[derive(Debug, Clone)]
pub struct EnvironmentRow {
    pub product_id: String,
    pub product_name: String,
    pub from: Option<Current>,
    pub to: Option<Current>,
    pub differs: bool,
}

pub struct EnvironmentComparison {
    pub from: Environment,
    pub to: Environment,
    /// Products running something in either environment; differing first.
    pub rows: Vec<EnvironmentRow>,
}

fn environment(conn: &mut AnyConnection, name: &str) -> run::Tx<Environment> {
    Ok(catalog::environment_by_name(conn, name)?.ok_or(Missing::Record(Entity::Environment))?)
}

/// Environments `from` and `to`, by name; an unknown one is a 404.
pub async fn environments(
    ctx: &Context,
    from: String,
    to: String,
) -> Result<EnvironmentComparison, Error> {
    run::read(&ctx.db, move |conn| {
        let (from, to) = (environment(conn, &from)?, environment(conn, &to)?);
        let products: BTreeMap<String, String> = catalog::list_products(conn)?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let mut sides: BTreeMap<String, (Option<Current>, Option<Current>)> = BTreeMap::new();
        for (product, env, current) in read_models::current_versions(conn, None)? {
            if env == from.id {
                sides.entry(product).or_default().0 = Some(current);
            } else if env == to.id {
                sides.entry(product).or_default().1 = Some(current);
            }
        }
        let mut rows: Vec<EnvironmentRow> = sides
            .into_iter()
            .filter_map(|(product_id, (a, b))| {
                let product_name = products.get(&product_id)?.clone();
                let differs = compare::differs(
                    a.as_ref().map(|c| c.version_id.as_str()),
                    b.as_ref().map(|c| c.version_id.as_str()),
                );
                Some(EnvironmentRow {
                    product_id,
                    product_name,
                    from: a,
                    to: b,
                    differs,
                })
            })
            .collect();
        rows.sort_by(|x, y| {
            compare::order((x.differs, &x.product_name), (y.differs, &y.product_name))
        });
        Ok(EnvironmentComparison { from, to, rows })
    })
    .await
}

/// One product in a release comparison.
#[derive(Debug, Clone)]
pub struct ReleaseRow {
    pub product_name: String,
    pub a: Option<VersionRow>,
    pub b: Option<VersionRow>,
    pub differs: bool,
}

pub struct ReleaseComparison {
    pub a: Release,
    pub b: Release,
    pub rows: Vec<ReleaseRow>,
}

fn release(conn: &mut AnyConnection, id: &str) -> run::Tx<Release> {
    Ok(releases::get(conn, id)?.ok_or(Missing::Record(Entity::Release))?)
}

/// Releases `a` and `b`, by id; an unknown one is a 404.
pub async fn releases(ctx: &Context, a: String, b: String) -> Result<ReleaseComparison, Error> {
    run::read(&ctx.db, move |conn| {
        let (ra, rb) = (release(conn, &a)?, release(conn, &b)?);
        let mut sides: BTreeMap<String, (Option<VersionRow>, Option<VersionRow>)> = BTreeMap::new();
        for v in releases::versions(conn, &a)? {
            let slot = sides.entry(v.product_name.clone()).or_default();
            slot.0 = Some(v);
        }
        for v in releases::versions(conn, &b)? {
            let slot = sides.entry(v.product_name.clone()).or_default();
            slot.1 = Some(v);
        }
        let mut rows: Vec<ReleaseRow> = sides
            .into_iter()
            .map(|(product_name, (a, b))| {
                let differs = compare::differs(
                    a.as_ref().map(|v| v.version.id.as_str()),
                    b.as_ref().map(|v| v.version.id.as_str()),
                );
                ReleaseRow {
                    product_name,
                    a,
                    b,
                    differs,
                }
            })
            .collect();
        rows.sort_by(|x, y| {
            compare::order((x.differs, &x.product_name), (y.differs, &y.product_name))
        });
        Ok(ReleaseComparison { a: ra, b: rb, rows })
    })
    .await
}
