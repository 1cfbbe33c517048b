//! The fast ingestion path (group commit on both backends, one lookup per event, upserted read
//! models): whatever it saves, an acknowledged event is committed, a refused one writes
//! nothing, and the read models say what the history says.

use crate::common;

use crate::common::TestApp;
use diesel::prelude::*;
use releaseboard::store::schema::{deployments, versions};
use serde_json::{json, Value};
use std::sync::Arc;

fn text(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

/// Posts an event and asserts it was accepted; returns the answer body.
async fn deploy(app: &TestApp, body: Value) -> Value {
    let res = app.post_json("/api/deployment-events/", &body).await;
    let code = res.status().as_u16();
    let answer: Value = res.json().await.expect("JSON body");
    assert!(matches!(code, 200 | 201), "{body}: {code} {answer}");
    answer
}

/// The matrix cell of `product@version` in `environment`, through a release holding it.
async fn cell(app: &TestApp, release_id: &str, product: &str, environment: &str) -> Value {
    let matrix = app
        .get_json(&format!("/api/releases/{release_id}/matrix"))
        .await;
    let row = matrix["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["product_name"] == product)
        .unwrap_or_else(|| panic!("no row for {product} in {matrix}"))
        .clone();
    row["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["environment_name"] == environment)
        .unwrap_or_else(|| panic!("no cell for {environment} in {row}"))
        .clone()
}

/// What `/api/state/` says runs of `product` in `environment`.
async fn current_version(app: &TestApp, product: &str, environment: &str) -> Value {
    let state = app.get_json("/api/state/").await;
    let row = state["products"]
        .as_array()
        .expect("products")
        .iter()
        .find(|r| r["product_name"] == product)
        .unwrap_or_else(|| panic!("no state row for {product}: {state}"))
        .clone();
    row["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["environment_name"] == environment)
        .map(|c| c["current_version"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_aborted_head_gives_its_cell_back_to_the_deployment_before_it() {
    let app = common::spawn_app().await;
    let release = app.create_release("Abort check").await;
    let first = deploy(
        &app,
        json!({"product_name": "svc", "version": "1.0", "environment_name": "Production",
               "status": "completed", "invoke_id": "run-1"}),
    )
    .await;
    assert_eq!(app.add_to_release(&release, "svc", "1.0").await, 201);
    let second = deploy(
        &app,
        json!({"product_name": "svc", "version": "1.0", "environment_name": "Production",
               "status": "started", "invoke_id": "run-2"}),
    )
    .await;
    let c = cell(&app, &release, "svc", "Production").await;
    assert_eq!(c["state"], "in_progress", "{c}");
    assert_eq!(c["deployment_id"], second["id"], "{c}");

    // Aborting the newest attempt hands the cell back to the completed one.
    deploy(
        &app,
        json!({"product_name": "svc", "version": "1.0", "environment_name": "Production",
               "status": "aborted", "invoke_id": "run-2"}),
    )
    .await;
    let c = cell(&app, &release, "svc", "Production").await;
    assert_eq!(c["state"], "deployed", "{c}");
    assert_eq!(c["deployment_id"], first["id"], "{c}");
    assert_eq!(current_version(&app, "svc", "Production").await, "1.0");

    // Aborting an older deployment than the head leaves the cell alone.
    let third = deploy(
        &app,
        json!({"product_name": "svc", "version": "1.0", "environment_name": "Production",
               "status": "pending", "invoke_id": "run-3"}),
    )
    .await;
    let fourth = deploy(
        &app,
        json!({"product_name": "svc", "version": "1.0", "environment_name": "Production",
               "status": "failed", "invoke_id": "run-4"}),
    )
    .await;
    deploy(
        &app,
        json!({"product_name": "svc", "version": "1.0", "environment_name": "Production",
               "status": "aborted", "invoke_id": "run-3"}),
    )
    .await;
    let c = cell(&app, &release, "svc", "Production").await;
    assert_eq!(c["state"], "failed", "{c}");
    assert_eq!(c["deployment_id"], fourth["id"], "{c}");
    assert_ne!(third["id"], fourth["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aborting_the_only_deployment_empties_its_cell() {
    let app = common::spawn_app().await;
    let release = app.create_release("Only one").await;
    deploy(
        &app,
        json!({"product_name": "solo", "version": "2.0", "environment_name": "Staging",
               "status": "started", "invoke_id": "a"}),
    )
    .await;
    assert_eq!(app.add_to_release(&release, "solo", "2.0").await, 201);
    deploy(
        &app,
        json!({"product_name": "solo", "version": "2.0", "environment_name": "Staging",
               "status": "aborted", "invoke_id": "a"}),
    )
    .await;
    let c = cell(&app, &release, "solo", "Staging").await;
    assert_eq!(c["state"], "not_deployed", "{c}");
    assert!(c["deployment_id"].is_null(), "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_event_fills_in_nothing_about_its_version() {
    let app = common::spawn_app().await;
    deploy(
        &app,
        json!({"product_name": "api", "version": "3.1", "environment_name": "Dev",
               "status": "completed", "invoke_id": "x"}),
    )
    .await;
    // A different terminal status for the same invocation is a 409 — and the facts it
    // carried about the version must not have been written on the way.
    let res = app
        .post_json(
            "/api/deployment-events/",
            &json!({"product_name": "api", "version": "3.1", "environment_name": "Dev",
                    "status": "failed", "invoke_id": "x", "scm_sha": "abc123"}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 409);
    let mut conn = app.db.conn().expect("connection");
    let sha: Option<String> = versions::table
        .filter(versions::version.eq("3.1"))
        .select(versions::scm_sha)
        .first(&mut *conn)
        .expect("the version");
    assert_eq!(sha, None);
}

/// Group commit answers a batch only once it has committed: every 2xx is already visible to
/// any other connection, on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_event_is_committed_before_its_answer() {
    let app = Arc::new(common::spawn_app().await);
    let mut clients = Vec::new();
    for client in 0..16 {
        let app = app.clone();
        clients.push(tokio::spawn(async move {
            for i in 0..10 {
                let answer = deploy(
                    &app,
                    json!({"product_name": format!("p{}", i % 3), "version": format!("{client}.{i}"),
                           "environment_name": format!("env-{}", client % 4),
                           "status": "started"}),
                )
                .await;
                let id = text(&answer["id"]);
                // A connection of its own, outside the writer: sees only committed rows.
                let db = app.db.clone();
                let seen: i64 = tokio::task::spawn_blocking(move || {
                    let mut conn = db.conn().expect("connection");
                    deployments::table
                        .filter(deployments::id.eq(&id))
                        .count()
                        .get_result(&mut *conn)
                        .expect("count")
                })
                .await
                .expect("reader");
                assert_eq!(seen, 1, "deployment answered but not committed");
            }
        }));
    }
    for c in clients {
        c.await.expect("client");
    }
}

/// Many clients on one product × environment through several writer lanes (PostgreSQL): a
/// batch never waits for a lock while holding others, yet every event applies exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_sharing_one_product_and_environment_each_complete_their_own_invocation() {
    let app = Arc::new(common::spawn_app().await);
    let mut clients = Vec::new();
    for client in 0..12 {
        let app = app.clone();
        clients.push(tokio::spawn(async move {
            for i in 0..8 {
                for status in ["started", "completed"] {
                    deploy(
                        &app,
                        json!({"product_name": "shared", "version": format!("1.{}", i % 2),
                               "environment_name": "Production", "status": status,
                               "invoke_id": format!("{client}-{i}")}),
                    )
                    .await;
                }
            }
        }));
    }
    for c in clients {
        c.await.expect("client");
    }
    let mut conn = app.db.conn().expect("connection");
    let statuses: Vec<String> = deployments::table
        .select(deployments::status)
        .load(&mut *conn)
        .expect("deployments");
    assert_eq!(statuses.len(), 96);
    assert!(statuses.iter().all(|s| s == "completed"), "{statuses:?}");
}

/// The invoke_id key only indexes deployments that have one (see the migration
/// `invoke_key_partial`): the database still refuses a second deployment of one invocation of a
/// version in an environment, and still accepts any number without an invoke_id.
#[tokio::test]
async fn the_database_refuses_a_second_deployment_of_one_invocation() {
    use releaseboard::domain::deployment::Deployment;
    let app = common::spawn_app().await;
    let with_run = deploy(
        &app,
        json!({"product_name": "svc", "version": "1.0", "environment_name": "Dev",
               "status": "started", "invoke_id": "run-7"}),
    )
    .await;
    let without = deploy(
        &app,
        json!({"product_name": "svc", "version": "1.0", "environment_name": "Test",
               "status": "started"}),
    )
    .await;
    let mut pooled = app.db.conn().expect("a connection");
    let conn = &mut *pooled;
    let load = |conn: &mut releaseboard::store::AnyConnection, id: &Value| -> Deployment {
        deployments::table
            .find(text(id))
            .select(releaseboard::store::rows::deployment_row::COLUMNS)
            .first(conn)
            .expect("the deployment")
    };

    let mut copy = load(conn, &with_run["id"]);
    copy.id = releaseboard::store::ids::new_id();
    let insert = |conn: &mut releaseboard::store::AnyConnection, d: &Deployment| {
        releaseboard::store::bulk::insert_deployments(conn, std::slice::from_ref(d))
    };
    let refused = insert(conn, &copy);
    assert!(
        matches!(
            refused,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        ),
        "a second deployment of run-7: {refused:?}"
    );
    // Another invocation of the same version there is a deployment of its own.
    copy.invoke_id = Some("run-8".into());
    insert(conn, &copy).expect("another invocation");

    let mut copy = load(conn, &without["id"]);
    for _ in 0..2 {
        copy.id = releaseboard::store::ids::new_id();
        insert(conn, &copy).expect("deployments without invoke_id never collide");
    }
}

/// One line of `EXPLAIN` (PostgreSQL) or `EXPLAIN QUERY PLAN` (SQLite).
#[derive(QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}
#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

/// `?` placeholders numbered as PostgreSQL wants them.
fn numbered(sql: &str) -> String {
    let mut parts = sql.split('?');
    let mut out = parts.next().unwrap_or_default().to_string();
    for (i, part) in parts.enumerate() {
        out.push_str(&format!("${}{part}", i + 1));
    }
    out
}

/// The event lookup finds every row through an index, whatever the tables held when it was
/// planned. On PostgreSQL the writer keeps it prepared with one generic plan, made here (with
/// the writer's settings) right after ANALYZE found every table empty: the statistics under
/// which a scan looks cheapest, and under which the lookup written as plain joins filtered
/// `versions` by the version string alone.
#[tokio::test]
async fn the_event_lookup_reads_by_index_even_when_planned_on_empty_tables() {
    use diesel::connection::SimpleConnection;
    use releaseboard::store::ingest::statements::{
        LookupInvocation, LookupLatest, PgLookupInvocation, PgLookupLatest,
    };
    use releaseboard::store::prepared::Sql;
    use releaseboard::store::DbTarget;
    let app = common::spawn_app().await;
    match &app.database {
        DbTarget::Postgres(url) => {
            let mut conn = PgConnection::establish(url).expect("a connection");
            conn.batch_execute("ANALYZE").expect("ANALYZE");
            conn.batch_execute(releaseboard::store::writer::PG_WRITER_SETTINGS)
                .expect("the writer's settings");
            for (name, sql) in [
                ("latest", PgLookupLatest::sql()),
                ("invocation", PgLookupInvocation::sql()),
            ] {
                let params = sql.matches('?').count();
                conn.batch_execute(&format!(
                    "PREPARE {name}({}) AS {}",
                    vec!["text"; params].join(", "),
                    numbered(sql)
                ))
                .expect("PREPARE");
                let plan: Vec<String> = diesel::sql_query(format!(
                    "EXPLAIN EXECUTE {name}({})",
                    vec!["'x'"; params].join(", ")
                ))
                .load::<PgPlanLine>(&mut conn)
                .expect("EXPLAIN")
                .into_iter()
                .map(|l| l.line)
                .collect();
                let plan = plan.join("\n");
                assert!(!plan.contains("Seq Scan"), "{name}: {plan}");
                assert!(!plan.contains("Hash"), "{name}: {plan}");
                assert!(!plan.contains("Merge"), "{name}: {plan}");
                for index in [
                    "products_name_key",
                    "environments_name_key",
                    "versions_product_version_key",
                ] {
                    assert!(plan.contains(index), "{name} without {index}: {plan}");
                }
                assert!(
                    plan.contains("Index Cond: ((product_id = p.id) AND (version = $3))"),
                    "{name}: versions looked up by product and version: {plan}"
                );
            }
        }
        DbTarget::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(path).expect("a connection");
            for sql in [LookupLatest::sql(), LookupInvocation::sql()] {
                let plan: Vec<String> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                    .load::<SqlitePlanLine>(&mut conn)
                    .expect("EXPLAIN QUERY PLAN")
                    .into_iter()
                    .map(|l| l.detail)
                    .collect();
                let tables = plan.iter().filter(|l| l.starts_with("SEARCH ")).count();
                assert_eq!(tables, 5, "{plan:#?}");
                for step in [
                    "products_name_key (name=?)",
                    "environments_name_key (name=?)",
                    "versions_product_version_key (product_id=? AND version=?)",
                    "(version_id=? AND environment_id=?",
                ] {
                    assert!(plan.iter().any(|l| l.contains(step)), "{step}: {plan:#?}");
                }
                assert!(
                    plan.iter().all(|l| !l.starts_with("SCAN ")
                        || l == "SCAN CONSTANT ROW"
                        || l.starts_with("SCAN base")),
                    "{plan:#?}"
                );
            }
        }
    }
}

/// The set-based statements of `store::ingest::batch` (PostgreSQL) find their rows by index too,
/// with the writer's generic plans made on empty tables: the batch lookup reads the catalog
/// and the deployments through their keys, and the batch update finds each deployment by its
/// primary key, never by scanning. (SQLite never runs them.)
#[tokio::test]
async fn events_recorded_together_read_by_index_even_when_planned_on_empty_tables() {
    use diesel::connection::SimpleConnection;
    use releaseboard::store::ingest::statements::{BatchLookup as Lookup, BatchUpdate as Update};
    use releaseboard::store::prepared::Sql;
    use releaseboard::store::DbTarget;
    let app = common::spawn_app().await;
    let DbTarget::Postgres(url) = &app.database else {
        return;
    };
    let mut conn = PgConnection::establish(url).expect("a connection");
    conn.batch_execute("ANALYZE").expect("ANALYZE");
    conn.batch_execute(releaseboard::store::writer::PG_WRITER_SETTINGS)
        .expect("the writer's settings");
    let plan_of = |conn: &mut PgConnection, name: &str, sql: &str| -> String {
        let types: Vec<&str> = releaseboard::store::prepared::set::parameter_types(sql)
            .into_iter()
            .map(|t| t.expect("every parameter declares its array type"))
            .collect();
        conn.batch_execute(&format!(
            "PREPARE {name}({}) AS {}",
            types.join(", "),
            numbered(sql)
        ))
        .expect("PREPARE");
        let values: Vec<&str> = types
            .iter()
            .map(|t| match *t {
                "text[]" => "ARRAY['x']",
                "boolean[]" => "ARRAY[true]",
                "integer[]" => "ARRAY[1]",
                _ => "ARRAY[now()::timestamp]",
            })
            .collect();
        diesel::sql_query(format!("EXPLAIN EXECUTE {name}({})", values.join(", ")))
            .load::<PgPlanLine>(conn)
            .expect("EXPLAIN")
            .into_iter()
            .map(|l| l.line)
            .collect::<Vec<_>>()
            .join("\n")
    };

    let lookup = plan_of(&mut conn, "batch_lookup", Lookup::sql());
    for unwanted in ["Seq Scan", "Hash", "Merge"] {
        assert!(!lookup.contains(unwanted), "{unwanted}: {lookup}");
    }
    for index in [
        "products_name_key",
        "environments_name_key",
        "versions_product_version_key",
        "deployments_version_env_idx",
    ] {
        assert!(lookup.contains(index), "lookup without {index}: {lookup}");
    }
    assert!(
        lookup.contains("Index Cond: ((product_id = p.id) AND (version = i.version))"),
        "versions looked up by product and version: {lookup}"
    );

    let update = plan_of(&mut conn, "batch_update", Update::sql());
    assert!(!update.contains("Seq Scan"), "{update}");
    assert!(
        update.contains("Index Scan using deployments_pkey on deployments d"),
        "deployments updated by primary key: {update}"
    );
}
