//! `releaseboard demo`: the examples of SPEC §9, with deployments that put every kind of
//! matrix cell on screen (deployed, in progress, failed, not deployed, superseded).

use crate::db::catalog::{self, BuildFacts};
use crate::db::events::{self, DeploymentEventInput};
use crate::db::releases::{self, NewReleaseInput, ReleaseChanges, VersionRef};
use crate::db::schema::{products, releases as releases_table};
use crate::db::{AnyConnection, Db};
use crate::domain::{DeploymentStatus, EnvType, ReleaseStatus};
use crate::error::AppError;
use diesel::prelude::*;

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
pub fn load(db: &Db) -> Result<String, AppError> {
    db.write_blocking(|conn| {
        let has_products: i64 = products::table.count().get_result(conn)?;
        let has_releases: i64 = releases_table::table.count().get_result(conn)?;
        if has_products + has_releases > 0 {
            return Err(AppError::Conflict(
                "the database already has data; the demo loads only into an empty database \
                 (use a new DATABASE_URL, e.g. --database-url demo.db)"
                    .into(),
            ));
        }
        load_into(conn)
    })
}

fn load_into(conn: &mut AnyConnection) -> Result<String, AppError> {
    for (i, name) in ["Dev", "Test", "Staging", "Production"].iter().enumerate() {
        let kind = EnvType::infer_from_name(name);
        catalog::create_environment(conn, name, kind, i32::try_from(i).unwrap_or(0), None)?;
    }
    let mut ids = Vec::new();
    for (name, description, _, versions) in RELEASES {
        let r = releases::create(
            conn,
            &NewReleaseInput {
                name: name.to_string(),
                description: Some(description.to_string()),
                status: ReleaseStatus::Draft,
                extra_metadata: "{}".into(),
            },
            ACTOR,
        )?;
        for (product, version) in versions.iter() {
            releases::add_version(
                conn,
                &r.id,
                &VersionRef::Named {
                    product: product.to_string(),
                    version: version.to_string(),
                },
                ACTOR,
            )?;
        }
        ids.push(r.id);
    }
    for (product, version, environment, status, by) in DEPLOYMENTS {
        events::record_deployment_event(conn, &event(product, version, environment, status, by))?;
    }
    for ((_, _, status, _), id) in RELEASES.iter().zip(&ids) {
        if *status == ReleaseStatus::Completed {
            // Through in_progress, as a release manager would.
            for step in [ReleaseStatus::InProgress, ReleaseStatus::Completed] {
                change_status(conn, id, step)?;
            }
        } else if *status != ReleaseStatus::Draft {
            change_status(conn, id, *status)?;
        }
    }
    Ok(format!(
        "loaded {} releases, {} products and {} deployment events",
        RELEASES.len(),
        catalog::list_products(conn)?.len(),
        DEPLOYMENTS.len()
    ))
}

fn change_status(conn: &mut AnyConnection, id: &str, to: ReleaseStatus) -> Result<(), AppError> {
    let changes = ReleaseChanges {
        status: Some(to),
        ..Default::default()
    };
    releases::update(conn, id, &changes, ACTOR).map(|_| ())
}

fn event(
    product: &str,
    version: &str,
    environment: &str,
    status: &str,
    by: &str,
) -> DeploymentEventInput {
    DeploymentEventInput {
        product_name: product.into(),
        version: version.into(),
        environment_name: environment.into(),
        // The table above uses only statuses of SPEC §3.
        status: DeploymentStatus::normalise(status).unwrap_or(DeploymentStatus::Pending),
        reported_status: status.into(),
        invoke_id: None,
        deployed_by: Some(by.into()),
        deployed_by_name: None,
        deployed_by_email: None,
        build_url: None,
        deploy_url: None,
        build_number: None,
        source_system: Some(by.into()),
        started_at: None,
        completed_at: None,
        extra_metadata: None,
        facts: BuildFacts::default(),
        payload: serde_json::json!({
            "product_name": product, "version": version, "environment_name": environment,
            "status": status, "deployed_by": by, "source": "releaseboard demo"
        })
        .to_string(),
    }
}
