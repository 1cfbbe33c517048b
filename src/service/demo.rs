//! `releaseboard demo`: the examples of SPEC §9, with deployments that put every kind of
//! matrix cell on screen (deployed, in progress, failed, not deployed, superseded). It goes
//! through the same use cases as the API and the pages, all in one transaction: a demo is
//! loaded whole or not at all.

use super::releases::{add_version_in, create_in, update_in};
use super::run::{self, Tx};
use super::Context;
use crate::domain::catalog::NewEnvironment;
use crate::domain::deployment::{DeploymentEvent, RawDeploymentEvent};
use crate::domain::release::{NewRelease, ReleaseChanges, VersionRef};
use crate::domain::{Conflict, EnvType, Error, ReleaseStatus};
use crate::store::{bulk, catalog, ingest, AnyConnection};

const ACTOR: &str = "demo";

/// (release name, description, status, versions)
type DemoRelease = (
    &'static str,
    &'static str,
    ReleaseStatus,
    &'static [(&'static str, &'static str)],
);

const RELEASES: &[DemoRelease] = &[
    (
        "Q4 Sprint 3",
        "Everything the web and mobile teams shipped in the last sprint of Q4.",
        ReleaseStatus::Completed,
        &[
            ("web-frontend", "4.5.0"),
            ("mobile-app", "2.3.0"),
            ("payment-api", "1.8.2"),
            ("notification-service", "3.1.1"),
            ("analytics-service", "2.0.0"),
        ],
    ),
    (
        "User Platform v2.0",
        "Single sign-on and the new session model.",
        ReleaseStatus::InProgress,
        &[
            ("user-service", "1.2.3"),
            ("auth-service", "2.1.0"),
            ("api-gateway", "3.0.1"),
        ],
    ),
    (
        "Security Patch 2024.10.1",
        "Patches for the October advisories.",
        ReleaseStatus::Draft,
        &[
            ("user-service", "1.2.4"),
            ("payment-api", "4.5.7"),
            ("api-gateway", "3.0.2"),
        ],
    ),
];

/// (product, version, environment, status, by), in the order they happened.
const DEPLOYMENTS: &[(&str, &str, &str, &str, &str)] = &[
    // Q4 Sprint 3 went all the way.
    ("web-frontend", "4.5.0", "Dev", "success", "github-actions"),
    ("mobile-app", "2.3.0", "Dev", "success", "github-actions"),
    ("payment-api", "1.8.2", "Dev", "success", "jenkins"),
    (
        "notification-service",
        "3.1.1",
        "Dev",
        "success",
        "gitlab-ci",
    ),
    ("analytics-service", "2.0.0", "Dev", "success", "gitlab-ci"),
    ("web-frontend", "4.5.0", "Test", "success", "github-actions"),
    ("mobile-app", "2.3.0", "Test", "success", "github-actions"),
    ("payment-api", "1.8.2", "Test", "failed", "jenkins"),
    ("payment-api", "1.8.2", "Test", "success", "jenkins"),
    (
        "notification-service",
        "3.1.1",
        "Test",
        "success",
        "gitlab-ci",
    ),
    ("analytics-service", "2.0.0", "Test", "success", "gitlab-ci"),
    ("web-frontend", "4.5.0", "Staging", "success", "argo-cd"),
    ("mobile-app", "2.3.0", "Staging", "success", "argo-cd"),
    ("payment-api", "1.8.2", "Staging", "success", "argo-cd"),
    (
        "notification-service",
        "3.1.1",
        "Staging",
        "success",
        "argo-cd",
    ),
    (
        "analytics-service",
        "2.0.0",
        "Staging",
        "success",
        "argo-cd",
    ),
    ("web-frontend", "4.5.0", "Production", "success", "argo-cd"),
    ("mobile-app", "2.3.0", "Production", "success", "argo-cd"),
    ("payment-api", "1.8.2", "Production", "success", "argo-cd"),
    (
        "notification-service",
        "3.1.1",
        "Production",
        "success",
        "argo-cd",
    ),
    (
        "analytics-service",
        "2.0.0",
        "Production",
        "success",
        "argo-cd",
    ),
    // User Platform v2.0 is on its way: every state shows up.
    ("user-service", "1.2.3", "Dev", "success", "github-actions"),
    ("user-service", "1.2.3", "Test", "success", "github-actions"),
    ("user-service", "1.2.3", "Staging", "success", "argo-cd"),
    ("user-service", "1.2.3", "Production", "success", "argo-cd"),
    ("auth-service", "2.1.0", "Dev", "success", "gitlab-ci"),
    ("auth-service", "2.1.0", "Test", "success", "gitlab-ci"),
    ("auth-service", "2.1.0", "Staging", "started", "argo-cd"),
    ("api-gateway", "3.0.1", "Dev", "success", "jenkins"),
    ("api-gateway", "3.0.1", "Test", "failed", "jenkins"),
    // The security patch has started in Dev: user-service 1.2.3 there is now superseded.
    ("user-service", "1.2.4", "Dev", "success", "github-actions"),
    ("payment-api", "4.5.7", "Dev", "in_progress", "jenkins"),
    ("payment-api", "4.5.7", "Test", "cancelled", "jenkins"),
];

/// Loads the demo data; refuses (with a message saying so) if the database has any data.
pub fn load(ctx: &Context) -> Result<String, Error> {
    ctx.db
        .write_blocking(|conn| {
            if bulk::has_data(conn)? {
                return Err(Conflict::DatabaseNotEmpty.into());
            }
            load_into(conn)
        })
        .map_err(run::failed)
}

fn load_into(conn: &mut AnyConnection) -> Tx<String> {
    for (i, name) in ["Dev", "Test", "Staging", "Production"].iter().enumerate() {
        let env = NewEnvironment {
            name: name.to_string(),
            kind: EnvType::infer_from_name(name),
            position: i32::try_from(i).unwrap_or(0),
            description: None,
        };
        catalog::create_environment(conn, &env)?;
    }
    let mut ids = Vec::new();
    for (name, description, _, versions) in RELEASES {
        let new = NewRelease {
            name: name.to_string(),
            description: Some(description.to_string()),
            status: ReleaseStatus::Draft,
            extra_metadata: "{}".into(),
        };
        let r = create_in(conn, &new, ACTOR)?;
        for (product, version) in versions.iter() {
            let which = VersionRef::Named {
                product: product.to_string(),
                version: version.to_string(),
            };
            add_version_in(conn, &r.id, &which, ACTOR)?;
        }
        ids.push(r.id);
    }
    for (product, version, environment, status, by) in DEPLOYMENTS {
        ingest::record(conn, &event(product, version, environment, status, by)?)?;
    }
    for ((_, _, status, _), id) in RELEASES.iter().zip(&ids) {
        if *status == ReleaseStatus::Completed {
            // Through in_progress, as a release manager would.
            for step in [ReleaseStatus::InProgress, ReleaseStatus::Completed] {
                update_in(conn, id, &ReleaseChanges::status(step), ACTOR)?;
            }
        } else if *status != ReleaseStatus::Draft {
            update_in(conn, id, &ReleaseChanges::status(*status), ACTOR)?;
        }
    }
    Ok(format!(
        "loaded {} releases, {} products and {} deployment events",
        RELEASES.len(),
        catalog::list_products(conn)?.len(),
        DEPLOYMENTS.len()
    ))
}

/// A deployment event of the table above, parsed as the API parses one.
fn event(
    product: &str,
    version: &str,
    environment: &str,
    status: &str,
    by: &str,
) -> Result<DeploymentEvent, Error> {
    let raw = RawDeploymentEvent {
        product_name: product,
        version,
        environment_name: environment,
        status,
        deployed_by: Some(by),
        source_system: Some(by),
        ..RawDeploymentEvent::default()
    };
    let payload = serde_json::json!({
        "product_name": product, "version": version, "environment_name": environment,
        "status": status, "deployed_by": by, "source": "releaseboard demo"
    });
    DeploymentEvent::parse(&raw, payload.to_string())
}
