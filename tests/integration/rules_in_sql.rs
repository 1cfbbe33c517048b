//! Rules the store restates in SQL for speed, held to their one definition in Rust
//! (`domain`): on the same data, the SQL and the function must agree.
//!
//! - the correlation lookup of the event path (`store::ingest::statements`) and
//!   `domain::deployment::candidate`;
//! - the read models, as the event path maintains them (statement by statement on SQLite, as
//!   CTEs one event or one batch at a time on PostgreSQL) and as `store::rebuild` derives them,
//!   and `domain::read_models`;
//! - the release name search (`store::releases`, over the folded name) and
//!   `domain::search::matches`.

use crate::common::{self, urlencode, TestApp};
use crate::read_models::{eventful_history, snapshot, Snapshot};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use releaseboard::domain::deployment::{
    candidate, Deployment, DeploymentEvent, RawDeploymentEvent,
};
use releaseboard::domain::{read_models, search};
use releaseboard::store::rebuild::rebuild_read_models;
use releaseboard::store::rows::deployment_row;
use releaseboard::store::schema::deployments;
use releaseboard::store::{bulk, ingest, AnyConnection};
use serde_json::json;

fn all_deployments(conn: &mut AnyConnection) -> Vec<Deployment> {
    deployments::table
        .select(deployment_row::COLUMNS)
        .load(conn)
        .expect("the deployments")
}

/// An event naming a cell, as the write path would look it up.
fn looking_up(product: &str, version: &str, env: &str, invoke_id: Option<&str>) -> DeploymentEvent {
    let raw = RawDeploymentEvent {
        product_name: product,
        version,
        environment_name: env,
        status: "started",
        invoke_id,
        ..RawDeploymentEvent::default()
    };
    DeploymentEvent::parse(&raw, "{}".into()).expect("a valid event")
}

/// The write path's lookup finds, among a cell's deployments, the one
/// `domain::deployment::candidate` picks: the invocation's, or the latest by creation time and
/// then id — with ties on time, ids that sort differently at every position, and invocations.
#[tokio::test]
async fn the_correlation_lookup_picks_what_the_rule_picks() {
    let app = common::spawn_app().await;
    let first = app.deploy_ok("svc", "1.0", "Prod", "success").await;
    let mut pooled = app.db.conn().expect("a connection");
    let conn: &mut AnyConnection = &mut pooled;
    let existing = all_deployments(conn);
    let template = existing[0].clone();
    assert_eq!(template.id, first["id"].as_str().expect("an id"));

    let t0 = template.created_at + Duration::minutes(1);
    let at = |minutes: i64| -> NaiveDateTime { t0 + Duration::minutes(minutes) };
    // (id, created minute, invoke_id)
    let crafted: [(&str, i64, Option<&str>); 7] = [
        ("0aaaaaaa-0000-7000-8000-000000000000", 5, None),
        ("0fffffff-0000-7000-8000-000000000000", 5, None),
        ("0aaaaaaa-ffff-7000-8000-000000000000", 5, Some("run-1")),
        ("00000000-0000-7000-8000-00000000000f", 3, Some("run-2")),
        ("ffffffff-0000-7000-8000-000000000000", 1, None),
        ("0bbbbbbb-0000-7000-8000-000000000000", 2, Some("run-3")),
        ("0bbbbbbb-0000-7000-8000-00000000000a", 2, None),
    ];
    let rows: Vec<Deployment> = crafted
        .iter()
        .map(|(id, minute, run)| Deployment {
            id: id.to_string(),
            invoke_id: run.map(Into::into),
            created_at: at(*minute),
            updated_at: at(*minute),
            ..template.clone()
        })
        .collect();
    bulk::insert_deployments(conn, &rows).expect("the crafted deployments");
    let there = all_deployments(conn);

    for run in [
        None,
        Some("run-1"),
        Some("run-2"),
        Some("run-3"),
        Some("run-9"),
    ] {
        let event = looking_up("svc", "1.0", "Prod", run);
        let by_sql = ingest::candidate_of(conn, &event).expect("the lookup");
        let by_rule = candidate(&there, run).cloned();
        assert_eq!(
            by_sql.as_ref().map(|d| &d.id),
            by_rule.as_ref().map(|d| &d.id),
            "invoke_id {run:?}"
        );
    }
    // The latest is one of the two at minute 5 without a run… or with one: the rule does not
    // look at invoke_ids without one, and neither does the SQL.
    let latest = candidate(&there, None).expect("a latest");
    assert_eq!(latest.id, "0fffffff-0000-7000-8000-000000000000");
}

/// The four read-model tables hold what `domain::read_models` derives from the deployments.
fn assert_read_models_follow_the_rules(conn: &mut AnyConnection, stored: &Snapshot) {
    let history = all_deployments(conn);
    let mut heads: Vec<(String, String, String, String)> = read_models::heads(&history)
        .into_iter()
        .map(|((v, e), d)| (v.into(), e.into(), d.id.clone(), d.status.as_str().into()))
        .collect();
    heads.sort();
    let mut stored_heads: Vec<(String, String, String, String)> = stored
        .heads
        .iter()
        .map(|h| (h.0.clone(), h.1.clone(), h.3.clone(), h.4.clone()))
        .collect();
    stored_heads.sort();
    assert_eq!(stored_heads, heads, "version_env_heads");

    let mut firsts: Vec<(String, String, NaiveDateTime)> = read_models::firsts(&history)
        .into_iter()
        .map(|((v, e), t)| (v.into(), e.into(), t))
        .collect();
    firsts.sort();
    let mut stored_firsts = stored.firsts.clone();
    stored_firsts.sort();
    assert_eq!(stored_firsts, firsts, "version_env_firsts");

    let mut current: Vec<(String, String, String, String, NaiveDateTime)> =
        read_models::current(&history)
            .into_iter()
            .map(|((p, e), d)| {
                let row = (d.version_id.clone(), d.id.clone(), d.updated_at);
                (p.into(), e.into(), row.0, row.1, row.2)
            })
            .collect();
    current.sort();
    let mut stored_current = stored.current.clone();
    stored_current.sort();
    assert_eq!(stored_current, current, "product_env_current");

    let mut latest: Vec<(String, String, String, String, String, NaiveDateTime)> =
        read_models::latest(&history)
            .into_iter()
            .map(|((p, e), d)| {
                let status = d.status.as_str().to_string();
                (
                    p.into(),
                    e.into(),
                    d.version_id.clone(),
                    d.id.clone(),
                    status,
                    d.created_at,
                )
            })
            .collect();
    latest.sort();
    let mut stored_latest = stored.latest.clone();
    stored_latest.sort();
    assert_eq!(stored_latest, latest, "product_env_latest");
}

/// Events one at a time (every rule of the read models, see `read_models::eventful_history`),
/// then a burst of concurrent events (recorded together in batches on PostgreSQL): what the
/// event path maintained, and what a rebuild derives, are what the rules define.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_models_hold_what_the_rules_define() {
    let app = common::spawn_app().await;
    eventful_history(&app).await;
    burst(&app).await;

    let mut pooled = app.db.conn().expect("a connection");
    let conn: &mut AnyConnection = &mut pooled;
    let maintained = snapshot(conn);
    assert!(maintained.heads.len() > 10, "{}", maintained.heads.len());
    assert_read_models_follow_the_rules(conn, &maintained);

    conn.transaction::<_, diesel::result::Error, _>(rebuild_read_models)
        .expect("rebuild");
    let rebuilt = snapshot(conn);
    assert_read_models_follow_the_rules(conn, &rebuilt);
}

/// Forty events at once over a few products and environments, so that the writer takes them
/// in batches.
async fn burst(app: &TestApp) {
    let statuses = ["pending", "started", "success", "failed", "aborted"];
    let sends = (0..40).map(|i| {
        let product = format!("burst-{}", i % 4);
        let version = format!("1.{}", i % 3);
        let env = ["Dev", "Test", "Production"][i % 3];
        let status = statuses[(i / 3) % statuses.len()];
        let extra = if i % 7 == 0 {
            json!({"invoke_id": format!("run-{}", i % 2)})
        } else {
            json!({})
        };
        async move {
            let res = app.deploy(&product, &version, env, status, extra).await;
            // A refused event (409: a run cannot change its terminal status) is a rule too.
            assert!(
                res.status().is_success() || res.status().as_u16() == 409,
                "{}",
                res.status()
            );
        }
    });
    futures_util::future::join_all(sends).await;
}

/// Release names as the API's search finds them.
async fn found(app: &TestApp, q: &str) -> Vec<String> {
    let mut names: Vec<String> = app
        .get_json(&format!("/api/releases/?limit=200&q={}", urlencode(q)))
        .await
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["name"].as_str().expect("a name").to_string())
        .collect();
    names.sort();
    names
}

const NAMES: [&str; 9] = [
    "Релиз 2",
    "релиз 3 (hotfix)",
    "RELEASE 1",
    "Straße",
    "ΟΔΥΣΣΕΥΣ",
    "100% done",
    "snake_case",
    "back\\slash",
    "Ünïcode Q4",
];

/// The search finds what `domain::search::matches` finds, in every script and with `%`, `_`
/// and `\` taken literally.
#[tokio::test]
async fn the_release_search_finds_what_the_rule_finds() {
    let app = common::spawn_app().await;
    for name in NAMES {
        app.create_release(name).await;
    }
    for q in [
        "релиз",
        "РЕЛИЗ",
        "Релиз 2",
        "release",
        "e 1",
        "strasse",
        "STRASSE",
        "οδυσσευς",
        "Οδυσσεύς",
        "%",
        "0%",
        "_",
        "e_c",
        "\\",
        "üNÏ",
        "q4",
        "x",
    ] {
        let mut want: Vec<String> = NAMES
            .iter()
            .filter(|n| search::matches(n, q))
            .map(|n| n.to_string())
            .collect();
        want.sort();
        assert_eq!(found(&app, q).await, want, "q = {q:?}");
    }
}

/// SPEC §4 `q`: `Релиз 2` is found by `релиз` and by `РЕЛИЗ`, through the API and on the
/// releases page, on both databases.
#[tokio::test]
async fn a_cyrillic_name_is_found_whatever_its_case() {
    let app = common::spawn_app().await;
    app.create_release("Релиз 2").await;
    app.create_release("Release 3").await;
    for q in ["релиз", "РЕЛИЗ"] {
        assert_eq!(found(&app, q).await, ["Релиз 2"], "q = {q}");
        let page = app.page(&format!("/releases?q={}", urlencode(q))).await;
        assert_eq!(page.status, 200);
        let names = common::css_texts(&page.body, "table a[href^='/releases/']");
        assert!(
            names.iter().any(|n| n.contains("Релиз 2")),
            "{q}: {names:?}"
        );
        assert!(
            !names.iter().any(|n| n.contains("Release 3")),
            "{q}: {names:?}"
        );
    }
}

/// Releases written before names were folded (or by an older instance during an upgrade)
/// become searchable when the server next starts: the migrations fill the folded names.
#[tokio::test]
async fn names_written_before_folding_are_folded_at_start_up() {
    use releaseboard::store::schema::releases;
    let app = common::spawn_app().await;
    let id = app.create_release("Релиз 7").await;
    let mut pooled = app.db.conn().expect("a connection");
    let conn: &mut AnyConnection = &mut pooled;
    diesel::update(releases::table.find(&id))
        .set(releases::name_folded.eq(None::<String>))
        .execute(conn)
        .expect("unfold");
    assert!(found(&app, "релиз").await.is_empty());
    releaseboard::store::pool::run_migrations(conn).expect("migrations");
    assert_eq!(found(&app, "РЕЛИЗ").await, ["Релиз 7"]);
    let folded: Option<String> = releases::table
        .find(&id)
        .select(releases::name_folded)
        .first(conn)
        .expect("the release");
    assert_eq!(folded.as_deref(), Some("релиз 7"));
}

/// `store::access::prune_throttle` deletes exactly the records `domain::throttle::forgotten`
/// says change nothing: around every edge of the window and the lockout.
#[tokio::test]
async fn the_throttle_prune_deletes_what_the_rule_forgets() {
    use releaseboard::domain::throttle::{forgotten, Record, FORGET_AFTER};
    use releaseboard::store::access::{prune_throttle, save_throttle, throttle_record};
    let app = common::spawn_app().await;
    let mut pooled = app.db.conn().expect("a connection");
    let conn: &mut AnyConnection = &mut pooled;
    let now = releaseboard::store::ids::now();
    let second = Duration::seconds(1);
    let starts = [
        now,
        now - FORGET_AFTER + second,
        now - FORGET_AFTER,
        now - FORGET_AFTER - second,
        now - Duration::hours(5),
    ];
    let locks = [
        None,
        Some(now + Duration::minutes(10)),
        Some(now + second),
        Some(now),
        Some(now - second),
        Some(now - Duration::hours(1)),
    ];
    let mut records = Vec::new();
    for (i, start) in starts.iter().enumerate() {
        for (j, lock) in locks.iter().enumerate() {
            let subject = format!("test:{i}:{j}");
            let r = Record {
                failures: 3,
                window_start: *start,
                locked_until: *lock,
            };
            save_throttle(conn, &subject, &r).expect("saved");
            records.push((subject, r));
        }
    }
    prune_throttle(conn, now).expect("pruned");
    for (subject, r) in &records {
        let kept = throttle_record(conn, subject).expect("read").is_some();
        assert_eq!(kept, !forgotten(r, now), "{subject}: {r:?}");
    }
    assert!(records.iter().any(|(_, r)| forgotten(r, now)));
    assert!(records.iter().any(|(_, r)| !forgotten(r, now)));
}
