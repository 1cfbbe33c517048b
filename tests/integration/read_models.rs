//! The read models of `store::read_models`, kept up to date event by event, are exactly what
//! `store::rebuild` derives from the deployment history in SQL (what `seed` relies on): after a
//! history with redeploys, failures, aborted heads, out-of-order completions and late fields,
//! rebuilding changes no row of any of the four tables.

use crate::common;

use crate::common::TestApp;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use releaseboard::store::rebuild::rebuild_read_models;
use releaseboard::store::schema::{
    product_env_current, product_env_latest, version_env_firsts, version_env_heads,
};
use releaseboard::store::AnyConnection;
use serde_json::json;

type Heads = Vec<(
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
)>;
type Firsts = Vec<(String, String, NaiveDateTime)>;
type Currents = Vec<(String, String, String, String, NaiveDateTime)>;
type Latests = Vec<(String, String, String, String, String, NaiveDateTime)>;

#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot {
    pub heads: Heads,
    pub firsts: Firsts,
    pub current: Currents,
    pub latest: Latests,
}

pub(crate) fn snapshot(conn: &mut AnyConnection) -> Snapshot {
    Snapshot {
        heads: version_env_heads::table
            .order((
                version_env_heads::version_id,
                version_env_heads::environment_id,
            ))
            .select((
                version_env_heads::version_id,
                version_env_heads::environment_id,
                version_env_heads::product_id,
                version_env_heads::deployment_id,
                version_env_heads::status,
                version_env_heads::deployed_by,
                version_env_heads::created_at,
                version_env_heads::updated_at,
            ))
            .load(conn)
            .expect("heads"),
        firsts: version_env_firsts::table
            .order((
                version_env_firsts::version_id,
                version_env_firsts::environment_id,
            ))
            .select((
                version_env_firsts::version_id,
                version_env_firsts::environment_id,
                version_env_firsts::first_completed_at,
            ))
            .load(conn)
            .expect("firsts"),
        current: product_env_current::table
            .order((
                product_env_current::product_id,
                product_env_current::environment_id,
            ))
            .select((
                product_env_current::product_id,
                product_env_current::environment_id,
                product_env_current::version_id,
                product_env_current::deployment_id,
                product_env_current::completed_at,
            ))
            .load(conn)
            .expect("current"),
        latest: product_env_latest::table
            .order((
                product_env_latest::product_id,
                product_env_latest::environment_id,
            ))
            .select((
                product_env_latest::product_id,
                product_env_latest::environment_id,
                product_env_latest::version_id,
                product_env_latest::deployment_id,
                product_env_latest::status,
                product_env_latest::created_at,
            ))
            .load(conn)
            .expect("latest"),
    }
}

async fn event(
    app: &TestApp,
    product: &str,
    version: &str,
    env: &str,
    status: &str,
    extra: serde_json::Value,
) {
    let res = app.deploy(product, version, env, status, extra).await;
    let code = res.status();
    assert!(
        code.is_success(),
        "{product} {version} {env} {status}: {code} {}",
        res.text().await.unwrap_or_default()
    );
}

/// A history that exercises every rule of the read models.
pub(crate) async fn eventful_history(app: &TestApp) {
    let none = json!({});
    // Plain deployments through started to completed, on several environments.
    event(
        app,
        "svc-a",
        "1.0",
        "Dev",
        "started",
        json!({"deployed_by": "alice"}),
    )
    .await;
    event(app, "svc-a", "1.0", "Dev", "completed", none.clone()).await;
    event(app, "svc-a", "1.0", "Production", "success", none.clone()).await;
    // An aborted head: the cell falls back to nothing, the latest attempt is the aborted one.
    event(app, "svc-a", "1.1", "Production", "pending", none.clone()).await;
    event(app, "svc-a", "1.1", "Production", "aborted", none.clone()).await;
    // A failure, then a redeploy (a new deployment after a terminal one) that completes.
    event(app, "svc-a", "1.1", "Dev", "failed", none.clone()).await;
    event(
        app,
        "svc-a",
        "1.1",
        "Dev",
        "completed",
        json!({"deployed_by": "bob"}),
    )
    .await;
    // A second completion of the same version: the first completion stays, current moves.
    event(app, "svc-a", "1.0", "Dev", "completed", none.clone()).await;
    // Two runs of one version: the older one completes after the newer one started.
    event(
        app,
        "svc-b",
        "2.0",
        "Staging",
        "started",
        json!({"invoke_id": "run-1"}),
    )
    .await;
    event(
        app,
        "svc-b",
        "2.0",
        "Staging",
        "started",
        json!({"invoke_id": "run-2"}),
    )
    .await;
    event(
        app,
        "svc-b",
        "2.0",
        "Staging",
        "completed",
        json!({"invoke_id": "run-1"}),
    )
    .await;
    event(
        app,
        "svc-b",
        "2.0",
        "Staging",
        "failed",
        json!({"invoke_id": "run-2", "deployed_by": "ci"}),
    )
    .await;
    // An older version completes after a newer one: it is what runs there now.
    event(app, "svc-b", "2.1", "Production", "pending", none.clone()).await;
    event(app, "svc-b", "2.0", "Production", "started", none.clone()).await;
    event(app, "svc-b", "2.1", "Production", "completed", none.clone()).await;
    event(app, "svc-b", "2.0", "Production", "completed", none.clone()).await;
    // Only aborted attempts: no head, no current, a latest.
    event(app, "svc-c", "3.0", "Dev", "aborted", none.clone()).await;
    // A head aborted behind an earlier completion, with a later attempt still running.
    event(app, "svc-c", "3.0", "Test", "completed", none.clone()).await;
    event(app, "svc-c", "3.1", "Test", "pending", none.clone()).await;
    event(app, "svc-c", "3.1", "Test", "cancelled", none.clone()).await;
    event(app, "svc-c", "3.1", "Test", "deploying", none.clone()).await;
    // A late non-terminal event for a terminal deployment of a run changes nothing.
    event(
        app,
        "svc-b",
        "2.0",
        "Staging",
        "started",
        json!({"invoke_id": "run-1"}),
    )
    .await;
}

/// Rebuilds the read models from the deployments and asserts it gives `maintained`, table by
/// table.
fn assert_a_rebuild_gives(conn: &mut AnyConnection, maintained: &Snapshot) {
    conn.transaction::<_, diesel::result::Error, _>(rebuild_read_models)
        .expect("rebuild");
    let rebuilt = snapshot(conn);
    assert_eq!(rebuilt.heads, maintained.heads, "version_env_heads");
    assert_eq!(rebuilt.firsts, maintained.firsts, "version_env_firsts");
    assert_eq!(rebuilt.current, maintained.current, "product_env_current");
    assert_eq!(rebuilt.latest, maintained.latest, "product_env_latest");
}

#[tokio::test]
async fn rebuilding_the_read_models_in_sql_gives_the_rows_the_events_maintained() {
    let app = common::spawn_app().await;
    eventful_history(&app).await;

    let mut pooled = app.db.conn().expect("a connection");
    let conn: &mut AnyConnection = &mut pooled;
    let incremental = snapshot(conn);
    assert!(!incremental.heads.is_empty() && !incremental.latest.is_empty());
    // The history above leaves at least one of every kind of row worth comparing.
    assert!(incremental.heads.iter().any(|h| h.4 == "failed"));
    assert!(incremental.heads.iter().any(|h| h.4 == "started"));
    assert!(incremental.latest.iter().any(|l| l.4 == "aborted"));

    assert_a_rebuild_gives(conn, &incremental);
}

#[tokio::test]
async fn rebuilding_an_empty_history_leaves_the_read_models_empty() {
    let app = common::spawn_app().await;
    let mut pooled = app.db.conn().expect("a connection");
    let conn: &mut AnyConnection = &mut pooled;
    conn.transaction::<_, diesel::result::Error, _>(rebuild_read_models)
        .expect("rebuild");
    let s = snapshot(conn);
    assert!(
        s.heads.is_empty() && s.firsts.is_empty() && s.current.is_empty() && s.latest.is_empty()
    );
}

/// The read models have no foreign keys (the migration `read_models_without_foreign_keys`), so
/// nothing but `store::read_models::forget_product` keeps them from pointing at a deleted product: after a
/// deletion they hold no row of it, and they are what a rebuild of the remaining history gives.
#[tokio::test]
async fn deleting_a_product_leaves_the_read_models_a_rebuild_would_give() {
    let app = common::spawn_app().await;
    eventful_history(&app).await;
    let products = app.get_json("/api/products/").await;
    let id_of = |name: &str| {
        products
            .as_array()
            .expect("a list")
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["id"].as_str())
            .expect("the product")
            .to_string()
    };
    let (gone, kept) = (id_of("svc-b"), id_of("svc-a"));
    let res = app.delete(&format!("/api/products/{gone}")).await;
    assert_eq!(res.status().as_u16(), 204);

    let mut pooled = app.db.conn().expect("a connection");
    let conn: &mut AnyConnection = &mut pooled;
    let after = snapshot(conn);
    assert!(after.heads.iter().all(|h| h.2 != gone), "heads of svc-b");
    assert!(
        after.current.iter().all(|c| c.0 != gone),
        "current of svc-b"
    );
    assert!(after.latest.iter().all(|l| l.0 != gone), "latest of svc-b");
    // The other products' rows stayed.
    assert!(after.heads.iter().any(|h| h.2 == kept));
    assert!(after.latest.iter().any(|l| l.0 == kept));

    assert_a_rebuild_gives(conn, &after);
}

/// Many clients at once over a few shared products and environments: on PostgreSQL the writer
/// lanes record most of these events together (`store::ingest::batch`), the rest one by one, two
/// lanes at a time. Whatever the interleaving, the read models end up as a rebuild from the
/// deployments gives, and every event answered is in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_events_leave_the_read_models_a_rebuild_would_give() {
    use std::sync::atomic::Ordering;
    // Two lanes: their batches also contend with each other (one is the default).
    let app = std::sync::Arc::new(common::spawn_app_with_pg_lanes(2).await);
    const CLIENTS: usize = 16;
    const EVENTS: usize = 40;
    let statuses = [
        "pending",
        "started",
        "success",
        "failed",
        "aborted",
        "deploying",
    ];
    let environments = ["Dev", "Test", "Staging", "Production"];
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let app = app.clone();
        clients.push(tokio::spawn(async move {
            let mut answered = 0;
            // Each client's own reproducible sequence (an LCG): which product, version,
            // environment and status, and sometimes an invoke_id shared with other clients.
            let mut state = (client as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut pick = move |n: u64| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((state >> 33) % n) as usize
            };
            for _ in 0..EVENTS {
                let mut extra = json!({ "deployed_by": format!("client-{client}") });
                if pick(3) == 0 {
                    extra["invoke_id"] = json!(format!("run-{}", pick(4)));
                }
                let res = app
                    .deploy(
                        &format!("svc-{}", pick(3)),
                        &format!("1.{}", pick(2)),
                        environments[pick(3)],
                        statuses[pick(statuses.len() as u64)],
                        extra,
                    )
                    .await;
                let code = res.status().as_u16();
                assert!(
                    [200, 201, 409].contains(&code),
                    "{code} {}",
                    res.text().await.unwrap_or_default()
                );
                if code != 409 {
                    answered += 1;
                }
            }
            answered
        }));
    }
    let mut answered = 0;
    for c in clients {
        answered += c.await.expect("client");
    }

    let mut pooled = app.db.conn().expect("a connection");
    let conn: &mut AnyConnection = &mut pooled;
    let logged: i64 = releaseboard::store::schema::deployment_events::table
        .count()
        .get_result(conn)
        .expect("count");
    assert_eq!(logged, answered as i64, "every answered event is logged");
    let incremental = snapshot(conn);
    assert!(!incremental.heads.is_empty() && !incremental.current.is_empty());
    // The clients moved deployments on, not only created them.
    use releaseboard::store::schema::deployments::dsl as d;
    let moved_on: i64 = d::deployments
        .filter(d::updated_at.gt(d::created_at))
        .count()
        .get_result(conn)
        .expect("count");
    assert!(moved_on > 0);
    assert_a_rebuild_gives(conn, &incremental);
    if app.db.backend() == releaseboard::store::Backend::Postgres {
        let together = app
            .db
            .writer_signals()
            .expect("the application writes through its writer")
            .recorded_together
            .load(Ordering::Relaxed);
        assert!(together > 0, "some events went together");
    }
}
