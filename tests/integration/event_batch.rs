//! Deployment events queued together leave what they leave one at a time. On PostgreSQL a
//! group-commit batch records its events in set-based statements (`store::ingest::batch`) and
//! leaves the rest to the one-by-one path; on SQLite the batch runs them one by one. Either
//! way the answers, the deployments, the event log, the catalog and the read models must be
//! those of the same events recorded one per transaction.

use crate::common;

use crate::common::TestApp;
use diesel::prelude::*;
use diesel::sql_types::Text;
use releaseboard::domain::catalog::BuildFacts;
use releaseboard::domain::deployment::DeploymentEvent as DeploymentEventInput;
use releaseboard::domain::{DeploymentStatus, Error};
use releaseboard::service::ingest::Recorded;
use releaseboard::service::run::record_event;
use releaseboard::store::{AnyConnection, Backend};
use std::sync::atomic::Ordering;

/// An event as the API would hand it to the database: `status` as reported, and optionally an
/// invoke_id, a deployer and a build URL.
fn event(
    product: &str,
    version: &str,
    environment: &str,
    status: &str,
    invoke_id: Option<&str>,
    deployed_by: Option<&str>,
    build_url: Option<&str>,
) -> DeploymentEventInput {
    DeploymentEventInput {
        product_name: product.into(),
        version: version.into(),
        environment_name: environment.into(),
        status: DeploymentStatus::normalise(status).expect("a known status"),
        reported_status: status.into(),
        invoke_id: invoke_id.map(Into::into),
        deployed_by: deployed_by.map(Into::into),
        deployed_by_name: None,
        deployed_by_email: None,
        build_url: None,
        deploy_url: None,
        build_number: None,
        source_system: None,
        started_at: None,
        completed_at: None,
        extra_metadata: None,
        facts: BuildFacts {
            build_url: build_url.map(Into::into),
            ..BuildFacts::default()
        },
        payload: format!("{{\"status\":\"{status}\"}}"),
    }
}

fn plain(product: &str, version: &str, environment: &str, status: &str) -> DeploymentEventInput {
    event(product, version, environment, status, None, None, None)
}

fn run(
    product: &str,
    version: &str,
    environment: &str,
    status: &str,
    invoke_id: &str,
) -> DeploymentEventInput {
    event(
        product,
        version,
        environment,
        status,
        Some(invoke_id),
        None,
        None,
    )
}

/// Deployments the batch then moves on, one per transaction.
fn history() -> Vec<DeploymentEventInput> {
    vec![
        run("svc-x", "1.0", "Dev", "started", "r1"),
        plain("svc-x", "1.0", "Test", "completed"),
        plain("svc-y", "1.0", "Staging", "started"),
        run("svc-y", "1.0", "Production", "completed", "r9"),
        plain("svc-z", "1.0", "Dev", "pending"),
        plain("svc-w", "1.0", "Dev", "started"),
        plain("svc-v", "1.0", "Dev", "completed"),
        run("svc-q", "1.0", "Dev", "completed", "r7"),
        run("svc-r", "1.0", "Dev", "started", "r8"),
    ]
}

/// One batch's worth of events: every way an event can go together with others, and every
/// reason one is left to the one-by-one path.
fn batch() -> Vec<DeploymentEventInput> {
    vec![
        // Together: a run moving on, with who ran it.
        event(
            "svc-x",
            "1.0",
            "Dev",
            "success",
            Some("r1"),
            Some("carol"),
            None,
        ),
        // Together: a redeploy after a completion.
        plain("svc-x", "1.0", "Test", "completed"),
        // Together: a deployment failing.
        plain("svc-y", "1.0", "Staging", "failed"),
        // Together: refused (409), a finished run cannot fail.
        run("svc-y", "1.0", "Production", "failed", "r9"),
        // Its key again: one by one, after it; a late non-terminal event, logged only.
        run("svc-y", "1.0", "Production", "started", "r9"),
        // One by one: an abort looks the cell's head up again.
        plain("svc-z", "1.0", "Dev", "aborted"),
        // One by one: it fills in the version's build URL.
        event(
            "svc-w",
            "1.0",
            "Dev",
            "completed",
            None,
            None,
            Some("https://ci/1"),
        ),
        // Together: new deployments of an existing version and of a new run.
        run("svc-x", "1.0", "Staging", "started", "r1"),
        run("svc-y", "1.0", "Test", "completed", "r5"),
        // Its key again: the same run completing again changes nothing.
        run("svc-y", "1.0", "Test", "completed", "r5"),
        // Together: a new product and version; the same product elsewhere, one by one.
        plain("svc-n", "1.0", "Dev", "started"),
        plain("svc-n", "1.0", "Test", "started"),
        plain("svc-n", "2.0", "Staging", "started"),
        // Together: a new version of an existing product; that version elsewhere, one by one.
        plain("svc-v", "2.0", "Test", "started"),
        plain("svc-v", "2.0", "Staging", "started"),
        // One by one: a new environment.
        plain("svc-m", "1.0", "Qa-9", "completed"),
        // Its key again, after a redeploy in this batch: another redeploy.
        plain("svc-x", "1.0", "Test", "completed"),
        // Together: logged only (a late start of a finished run; the same status again).
        run("svc-q", "1.0", "Dev", "started", "r7"),
        run("svc-r", "1.0", "Dev", "started", "r8"),
        // A chain on one key, all in this batch.
        plain("svc-p", "1.0", "Dev", "pending"),
        plain("svc-p", "1.0", "Dev", "deploying"),
        plain("svc-p", "1.0", "Dev", "success"),
        // An aborted new deployment: never a cell's head.
        plain("svc-s", "1.0", "Production", "aborted"),
    ]
}

/// What an answer tells a client.
fn answer(result: &Result<Recorded, Error>) -> String {
    match result {
        Ok(o) => format!(
            "{} {} {} {} created={}",
            o.product.name,
            o.version.version,
            o.environment.name,
            o.deployment.status.as_str(),
            o.created
        ),
        Err(Error::Conflict(_)) => "409".into(),
        Err(e) => format!("error {e:?}"),
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

/// A deployment named by what it is and its place among its product's deployments there,
/// for comparing databases whose ids and times differ.
macro_rules! deployment_named {
    ($d:literal) => {
        concat!(
            "(SELECT p.name || ' ' || v.version || ' ' || e.name || ' #' || \
             CAST((SELECT COUNT(*) FROM deployments o WHERE o.product_id = ",
            $d,
            ".product_id AND o.environment_id = ",
            $d,
            ".environment_id AND o.created_at < ",
            $d,
            ".created_at) AS TEXT) FROM products p, versions v, environments e \
             WHERE p.id = ",
            $d,
            ".product_id AND v.id = ",
            $d,
            ".version_id AND e.id = ",
            $d,
            ".environment_id)"
        )
    };
}

/// Everything the events wrote, without ids and times.
fn snapshot(conn: &mut AnyConnection) -> Vec<(&'static str, Vec<String>)> {
    let queries: [(&str, &str); 8] = [
        (
            "deployments",
            concat!(
                "SELECT ",
                deployment_named!("d"),
                " || ' ' || d.status || ' ' || COALESCE(d.invoke_id, '-') || ' ' || \
                 COALESCE(d.deployed_by, '-') || ' ' || \
                 CASE WHEN d.started_at IS NULL THEN '-' ELSE 'started' END || ' ' || \
                 CASE WHEN d.completed_at IS NULL THEN '-' ELSE 'completed' END AS row \
                 FROM deployments d"
            ),
        ),
        (
            "events",
            concat!(
                "SELECT ",
                deployment_named!("d"),
                " || ' ' || ev.status || ' ' || ev.reported_status || ' ' || \
                 CASE WHEN ev.applied THEN 'applied' ELSE 'logged' END AS row \
                 FROM deployment_events ev JOIN deployments d ON d.id = ev.deployment_id"
            ),
        ),
        (
            "versions",
            "SELECT p.name || ' ' || v.version || ' ' || COALESCE(v.build_url, '-') AS row \
             FROM versions v JOIN products p ON p.id = v.product_id",
        ),
        (
            "environments",
            "SELECT name || ' ' || env_type AS row FROM environments",
        ),
        (
            "version_env_heads",
            concat!(
                "SELECT ",
                deployment_named!("d"),
                " || ' ' || h.status || ' ' || COALESCE(h.deployed_by, '-') AS row \
                 FROM version_env_heads h JOIN deployments d ON d.id = h.deployment_id"
            ),
        ),
        (
            "product_env_latest",
            concat!(
                "SELECT ",
                deployment_named!("d"),
                " || ' ' || l.status AS row \
                 FROM product_env_latest l JOIN deployments d ON d.id = l.deployment_id"
            ),
        ),
        (
            "product_env_current",
            concat!(
                "SELECT ",
                deployment_named!("d"),
                " AS row FROM product_env_current c JOIN deployments d ON d.id = c.deployment_id"
            ),
        ),
        (
            "version_env_firsts",
            "SELECT p.name || ' ' || v.version || ' ' || e.name AS row \
             FROM version_env_firsts f JOIN versions v ON v.id = f.version_id \
             JOIN products p ON p.id = v.product_id \
             JOIN environments e ON e.id = f.environment_id",
        ),
    ];
    queries
        .into_iter()
        .map(|(table, sql)| {
            let mut rows: Vec<String> = diesel::sql_query(sql)
                .load::<Row>(conn)
                .unwrap_or_else(|e| panic!("{table}: {e}"))
                .into_iter()
                .map(|r| r.row)
                .collect();
            rows.sort();
            (table, rows)
        })
        .collect()
}

/// Records `events` one per transaction, each answered before the next is sent.
async fn one_at_a_time(app: &TestApp, events: Vec<DeploymentEventInput>) -> Vec<String> {
    let mut answers = Vec::new();
    for e in events {
        answers.push(answer(&record_event(&app.db, e).await));
    }
    answers
}

/// Queues `events` in order behind a write that holds the (only) writer lane, then lets the
/// lane go: they are committed as one batch.
async fn queued_together(app: &TestApp, events: Vec<DeploymentEventInput>) -> Vec<String> {
    let held = common::hold_writer_lanes(&app.db, 1);
    // `join_all` polls each future once, in order, before it waits: each event is queued
    // there, so the queue holds them in this order before the lane is let go.
    let pending =
        futures_util::future::join_all(events.into_iter().map(|e| record_event(&app.db, e)));
    let (results, ()) = futures_util::future::join(pending, async { held.release() }).await;
    held.finished().await;
    results.iter().map(answer).collect()
}

// Several threads: the test waits for the writer synchronously while a task holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_queued_together_leave_what_they_leave_one_at_a_time() {
    // One writer lane, so that events queued in an order are recorded in that order.
    let together = common::spawn_app_with_pg_lanes(1).await;
    let alone = common::spawn_app_with_pg_lanes(1).await;
    for app in [&together, &alone] {
        one_at_a_time(app, history()).await;
    }

    let answers_together = queued_together(&together, batch()).await;
    let answers_alone = one_at_a_time(&alone, batch()).await;
    assert_eq!(answers_together, answers_alone);
    // The batch above does all it means to: creates, moves on, refuses.
    assert!(answers_alone.iter().any(|a| a.ends_with("created=true")));
    assert!(answers_alone
        .iter()
        .any(|a| a.contains(" completed created=false")));
    assert!(answers_alone.iter().any(|a| a == "409"));

    // On PostgreSQL the batch went together where it could: every event above marked
    // "together" (twelve), and none of the others. On SQLite one by one.
    let recorded_together = together
        .db
        .writer_signals()
        .expect("the application writes through its writer")
        .recorded_together
        .load(Ordering::Relaxed);
    let expected = match together.db.backend() {
        Backend::Postgres => 12,
        Backend::Sqlite => 0,
    };
    assert_eq!(recorded_together, expected);

    let mut conn = together.db.conn().expect("a connection");
    let got = snapshot(&mut conn);
    let mut conn = alone.db.conn().expect("a connection");
    let want = snapshot(&mut conn);
    for ((table, got), (_, want)) in got.iter().zip(&want) {
        assert!(!want.is_empty(), "{table} holds rows to compare");
        assert_eq!(got, want, "{table}");
    }
}
