//! `GET /api/compare/environments` and `GET /api/compare/releases` (SPEC §13).

use super::error::ApiError;
use crate::app::state::AppState;
use crate::domain::validate::{self, Checker};
use crate::domain::Entity;
use crate::http::utc;
use crate::service::compare;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnvironmentsQuery {
    /// The environment to promote from (a name).
    pub from: Option<String>,
    /// The environment to promote to (a name).
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentCompareRowOut {
    pub product_name: String,
    pub from_version: Option<String>,
    pub from_deployed_at: Option<DateTime<Utc>>,
    pub to_version: Option<String>,
    pub to_deployed_at: Option<DateTime<Utc>>,
    /// The two environments run different versions (or only one runs the product).
    pub differs: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentCompareOut {
    pub from: String,
    pub to: String,
    /// Products running in either environment, those that differ first.
    pub products: Vec<EnvironmentCompareRowOut>,
}

/// A required query parameter, checked into `c`.
fn required(c: &mut Checker, field: &'static str, raw: Option<&str>) -> String {
    c.check(
        field,
        match validate::search_term(raw) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err("field required".to_string()),
            Err(e) => Err(e),
        },
    )
}

#[utoipa::path(get, path = "/api/compare/environments", tag = "compare", params(EnvironmentsQuery),
    responses((status = 200, body = EnvironmentCompareOut), (status = 404, description = "an unknown environment"), (status = 422)))]
pub async fn environments(
    state: web::Data<AppState>,
    query: web::Query<EnvironmentsQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut c = Checker::default();
    let from = required(&mut c, "from", query.from.as_deref());
    let to = required(&mut c, "to", query.to.as_deref());
    c.finish(()).map_err(ApiError::in_query)?;
    let cmp = compare::environments(&state.ctx, from, to).await?;
    Ok(HttpResponse::Ok().json(EnvironmentCompareOut {
        from: cmp.from.name.clone(),
        to: cmp.to.name.clone(),
        products: cmp
            .rows
            .iter()
            .map(|r| EnvironmentCompareRowOut {
                product_name: r.product_name.clone(),
                from_version: r.from.as_ref().map(|c| c.version.clone()),
                from_deployed_at: r.from.as_ref().map(|c| utc(c.completed_at)),
                to_version: r.to.as_ref().map(|c| c.version.clone()),
                to_deployed_at: r.to.as_ref().map(|c| utc(c.completed_at)),
                differs: r.differs,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReleasesQuery {
    /// A release id.
    pub a: Option<String>,
    /// Another release id.
    pub b: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseRefOut {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseCompareRowOut {
    pub product_name: String,
    pub a_version: Option<String>,
    pub b_version: Option<String>,
    pub differs: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseCompareOut {
    pub a: ReleaseRefOut,
    pub b: ReleaseRefOut,
    /// Every product of either release, those that differ first.
    pub products: Vec<ReleaseCompareRowOut>,
}

#[utoipa::path(get, path = "/api/compare/releases", tag = "compare", params(ReleasesQuery),
    responses((status = 200, body = ReleaseCompareOut), (status = 404, description = "an unknown release"), (status = 422)))]
pub async fn releases(
    state: web::Data<AppState>,
    query: web::Query<ReleasesQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut c = Checker::default();
    let a = required(&mut c, "a", query.a.as_deref());
    let b = required(&mut c, "b", query.b.as_deref());
    c.finish(()).map_err(ApiError::in_query)?;
    // An id that is no UUID names no release: 404, as in the release routes.
    let (a, b) = (
        super::extract::path_id(&a, Entity::Release)?,
        super::extract::path_id(&b, Entity::Release)?,
    );
    let cmp = compare::releases(&state.ctx, a, b).await?;
    let side = |r: &crate::service::releases::Release| ReleaseRefOut {
        id: r.id.clone(),
        name: r.name.clone(),
    };
    Ok(HttpResponse::Ok().json(ReleaseCompareOut {
        a: side(&cmp.a),
        b: side(&cmp.b),
        products: cmp
            .rows
            .iter()
            .map(|r| ReleaseCompareRowOut {
                product_name: r.product_name.clone(),
                a_version: r.a.as_ref().map(|v| v.version.version.clone()),
                b_version: r.b.as_ref().map(|v| v.version.version.clone()),
                differs: r.differs,
            })
            .collect(),
    }))
}
