//! Concurrent writers (SPEC §3 correlation, §4 composition): many clients at once must neither
//! lose an event, nor open two deployments where the rules allow one, nor put two versions of a
//! product into one release.

use crate::common;

use crate::common::TestApp;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::Barrier;

async fn spawn_app() -> Arc<TestApp> {
    Arc::new(common::spawn_app().await)
}

/// Posts JSON and returns the status code with the parsed body (the raw text as a JSON string
/// when it is not JSON, so that a failure message still shows it).
async fn post(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let res = app.post_json(path, body).await;
    let code = res.status().as_u16();
    let text = res.text().await.expect("response body");
    let parsed = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (code, parsed)
}

/// The `X-Total-Count` of a deployment listing.
async fn deployment_total(app: &TestApp, query: &str) -> u64 {
    let path = format!("/api/deployments/?limit=1{query}");
    let res = app.get(&path).await;
    assert_eq!(res.status().as_u16(), 200, "GET {path}");
    res.headers()
        .get("X-Total-Count")
        .unwrap_or_else(|| panic!("GET {path} has no X-Total-Count header"))
        .to_str()
        .expect("ASCII header")
        .parse()
        .expect("X-Total-Count is a number")
}

/// Every deployment matching `query`, following the pages (200 per page).
async fn all_deployments(app: &TestApp, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let path = format!("/api/deployments/?limit=200&offset={}{query}", out.len());
        let page = app.get_json(&path).await;
        let page = page
            .as_array()
            .expect("deployment list is an array")
            .clone();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

fn id_of(v: &Value) -> String {
    text(&v["id"])
}

/// A JSON string as a `String`; anything else fails the test.
fn text(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

/// A deployment event body with the four required fields and no `invoke_id`.
fn event(product: &str, version: &str, environment: &str, status: &str) -> Value {
    json!({
        "product_name": product,
        "version": version,
        "environment_name": environment,
        "status": status,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_posting_fifty_events_each_create_exactly_800_deployments() {
    let app = spawn_app().await;
    let started = std::time::Instant::now();

    // Each client deploys its own product, one new version per event, all to one shared
    // environment (so the environment's first-mention creation is raced too).
    let mut tasks = Vec::new();
    for client in 0..16 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let product = format!("svc-{client:02}");
            let mut ids = Vec::new();
            for n in 0..50 {
                let mut body = event(&product, &format!("1.0.{n}"), "Production", "completed");
                body["invoke_id"] = json!(format!("run-{client}-{n}"));
                let (code, answer) = post(&app, "/api/deployment-events/", &body).await;
                assert_eq!(code, 201, "client {client} event {n}: {answer}");
                assert_eq!(
                    answer["status"], "completed",
                    "client {client} event {n}: {answer}"
                );
                assert_eq!(answer["product_name"], product.as_str());
                ids.push(id_of(&answer));
            }
            ids
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        ids.extend(task.await.expect("client task"));
    }
    eprintln!("800 events from 16 clients in {:?}", started.elapsed());

    assert_eq!(
        ids.len(),
        800,
        "every event answered with its own deployment id"
    );
    assert_eq!(deployment_total(&app, "").await, 800);
    assert_eq!(deployment_total(&app, "&status=completed").await, 800);
    for client in 0..16 {
        assert_eq!(
            deployment_total(&app, &format!("&product=svc-{client:02}")).await,
            50,
            "deployments of svc-{client:02}"
        );
    }
    let listed: HashSet<String> = all_deployments(&app, "").await.iter().map(id_of).collect();
    assert_eq!(
        listed, ids,
        "the listing holds exactly the acknowledged deployments"
    );
    let environments = app.get_json("/api/environments/").await;
    assert_eq!(
        environments.as_array().expect("environment list").len(),
        1,
        "one Production environment despite 16 concurrent first mentions: {environments}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_completing_one_version_in_one_environment_create_exactly_800_deployments()
{
    let app = spawn_app().await;
    let started = std::time::Instant::now();

    // Without invoke_id a completed event after a terminal deployment is a redeploy (SPEC §3),
    // so every one of the 800 events must start, and finish, a deployment of its own.
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = Vec::new();
    for client in 0..16 {
        let app = app.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut ids = Vec::new();
            for n in 0..50 {
                let body = event("hot-service", "9.9.9", "Production", "completed");
                let (code, answer) = post(&app, "/api/deployment-events/", &body).await;
                assert_eq!(code, 201, "client {client} event {n}: {answer}");
                assert_eq!(
                    answer["status"], "completed",
                    "client {client} event {n}: {answer}"
                );
                ids.push(id_of(&answer));
            }
            ids
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        ids.extend(task.await.expect("client task"));
    }
    eprintln!(
        "800 redeploys of one version from 16 clients in {:?}",
        started.elapsed()
    );

    assert_eq!(
        ids.len(),
        800,
        "every event answered with its own deployment id"
    );
    assert_eq!(deployment_total(&app, "").await, 800);
    assert_eq!(deployment_total(&app, "&status=completed").await, 800);
    let listed = all_deployments(&app, "&product=hot-service&environment=Production").await;
    assert_eq!(listed.len(), 800);
    for d in &listed {
        assert_eq!(d["version"], "9.9.9", "{d}");
        assert_eq!(d["status"], "completed", "{d}");
    }
    let listed: HashSet<String> = listed.iter().map(id_of).collect();
    assert_eq!(
        listed, ids,
        "the listing holds exactly the acknowledged deployments"
    );
}

/// Registers `product` `version` through a build event; it must be new.
async fn register_version(app: &TestApp, product: &str, version: &str) -> String {
    let (code, body) = post(
        app,
        "/api/build-events/",
        &json!({ "product_name": product, "version": version, "status": "completed" }),
    )
    .await;
    assert_eq!(code, 201, "registering {product} {version}: {body}");
    id_of(&body)
}

/// Posts every body to the release's versions at the same moment; answers in body order.
async fn race_to_add(
    app: &Arc<TestApp>,
    release_id: &str,
    bodies: Vec<Value>,
) -> Vec<(u16, Value)> {
    let barrier = Arc::new(Barrier::new(bodies.len()));
    let path = format!("/api/releases/{release_id}/versions");
    let mut tasks = Vec::new();
    for body in bodies {
        let app = app.clone();
        let barrier = barrier.clone();
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            post(&app, &path, &body).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("adding task"));
    }
    answers
}

/// The `version_added` entries of a release's audit trail.
async fn versions_added(app: &TestApp, release_id: &str) -> Vec<Value> {
    let audit = app
        .get_json(&format!("/api/releases/{release_id}/audit"))
        .await;
    audit
        .as_array()
        .expect("audit is an array")
        .iter()
        .filter(|e| e["action"] == "version_added")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_clients_adding_versions_of_one_product_to_one_release_get_one_201_and_seven_409s() {
    let app = spawn_app().await;
    let versions: Vec<String> = (1..=8).map(|n| format!("2.0.{n}")).collect();
    let mut version_ids = HashMap::new();
    for v in &versions {
        version_ids.insert(v.clone(), register_version(&app, "checkout", v).await);
    }

    let mut winners = Vec::new();
    for round in 1..=5 {
        let release_id = app.create_release(&format!("Checkout race {round}")).await;
        let bodies = versions
            .iter()
            .map(|v| json!({ "product_name": "checkout", "version": v }))
            .collect();
        let answers = race_to_add(&app, &release_id, bodies).await;

        let codes: Vec<u16> = answers.iter().map(|(c, _)| *c).collect();
        let won: Vec<usize> = (0..8).filter(|&i| codes[i] == 201).collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: exactly one 201, got {answers:?}"
        );
        assert_eq!(
            codes.iter().filter(|&&c| c == 409).count(),
            7,
            "round {round}: seven 409s, got {answers:?}"
        );
        let winner = &versions[won[0]];
        assert_eq!(answers[won[0]].1["version"], winner.as_str());
        assert_eq!(answers[won[0]].1["id"], version_ids[winner].as_str());
        for (i, (code, body)) in answers.iter().enumerate() {
            if *code == 409 {
                let detail = body["detail"]
                    .as_str()
                    .unwrap_or_else(|| panic!("409 detail: {body}"));
                assert!(
                    detail.contains("checkout") && detail.contains(winner.as_str()),
                    "round {round}: the 409 for {} names the product and {winner}, the version \
                     already there: {detail}",
                    versions[i]
                );
            }
        }

        let listed = app
            .get_json(&format!("/api/releases/{release_id}/versions"))
            .await;
        let listed = listed.as_array().expect("version list");
        assert_eq!(listed.len(), 1, "round {round}: {listed:?}");
        assert_eq!(listed[0]["product_name"], "checkout");
        assert_eq!(listed[0]["version"], winner.as_str());
        assert_eq!(listed[0]["id"], version_ids[winner].as_str());

        let release = app.get_json(&format!("/api/releases/{release_id}")).await;
        assert_eq!(release["version_count"], 1, "round {round}: {release}");

        let added = versions_added(&app, &release_id).await;
        assert_eq!(
            added.len(),
            1,
            "round {round}: one version_added audit entry: {added:?}"
        );
        assert_eq!(added[0]["details"]["version"], winner.as_str());
        winners.push(winner.clone());
    }
    eprintln!("winners of the 5 rounds: {winners:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_clients_adding_the_same_version_to_one_release_get_one_201_and_seven_200s() {
    let app = spawn_app().await;
    let version_id = register_version(&app, "billing", "5.1.0").await;

    for round in 1..=5 {
        let release_id = app.create_release(&format!("Billing race {round}")).await;
        // Half of the clients name the version, half give its id: both are the same version.
        let bodies = (0..8)
            .map(|i| {
                if i % 2 == 0 {
                    json!({ "product_name": "billing", "version": "5.1.0" })
                } else {
                    json!({ "version_id": version_id })
                }
            })
            .collect();
        let answers = race_to_add(&app, &release_id, bodies).await;

        let codes: Vec<u16> = answers.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            codes.iter().filter(|&&c| c == 201).count(),
            1,
            "round {round}: {answers:?}"
        );
        assert_eq!(
            codes.iter().filter(|&&c| c == 200).count(),
            7,
            "round {round}: {answers:?}"
        );
        for (_, body) in &answers {
            assert_eq!(body["id"], version_id.as_str(), "round {round}: {body}");
        }

        let listed = app
            .get_json(&format!("/api/releases/{release_id}/versions"))
            .await;
        let listed = listed.as_array().expect("version list");
        assert_eq!(listed.len(), 1, "round {round}: {listed:?}");
        assert_eq!(listed[0]["id"], version_id.as_str());
        let added = versions_added(&app, &release_id).await;
        assert_eq!(
            added.len(),
            1,
            "round {round}: one version_added audit entry: {added:?}"
        );
    }
}

/// The deployments of one version of `product` in `environment`, newest first.
async fn deployments_of(
    app: &TestApp,
    product: &str,
    environment: &str,
    version: &str,
) -> Vec<Value> {
    all_deployments(
        app,
        &format!("&product={product}&environment={environment}"),
    )
    .await
    .into_iter()
    .filter(|d| d["version"] == version)
    .collect()
}

/// The ids of a deployment's events, in the order the detail lists them.
async fn event_ids(app: &TestApp, deployment_id: &str) -> Vec<String> {
    let detail = app
        .get_json(&format!("/api/deployments/{deployment_id}"))
        .await;
    detail["events"]
        .as_array()
        .unwrap_or_else(|| panic!("deployment detail has events: {detail}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Creates `environment` up front (through a deployment of an unrelated product), so that a
/// race below is about correlating deployments only: racing first mentions of the environment
/// or the version would end in a unique violation and a retry, which hides a correlation race.
async fn prepare_environment(app: &TestApp, environment: &str) {
    let (code, body) = post(
        app,
        "/api/deployment-events/",
        &event("warm-up", "0.0.1", environment, "completed"),
    )
    .await;
    assert_eq!(code, 201, "preparing {environment}: {body}");
}

fn created_at(d: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(&text(&d["created_at"]))
        .unwrap_or_else(|e| panic!("created_at of {d}: {e}"))
}

fn is_open(d: &Value) -> bool {
    d["status"] == "pending" || d["status"] == "started"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_started_and_completed_events_without_invoke_id_never_leave_two_open_deployments(
) {
    let app = spawn_app().await;
    prepare_environment(&app, "Staging").await;
    let (mut started_first, mut completed_first) = (0, 0);

    for round in 0..50 {
        let version = format!("4.{round}.0");
        register_version(&app, "race-svc", &version).await;
        let barrier = Arc::new(Barrier::new(2));
        let send = |status: &'static str| {
            let app = app.clone();
            let barrier = barrier.clone();
            let body = event("race-svc", &version, "Staging", status);
            tokio::spawn(async move {
                barrier.wait().await;
                post(&app, "/api/deployment-events/", &body).await
            })
        };
        let (s, c) = (send("started"), send("completed"));
        let (s_code, s_body) = s.await.expect("started task");
        let (c_code, c_body) = c.await.expect("completed task");
        let ctx =
            format!("round {round}: started → {s_code} {s_body}; completed → {c_code} {c_body}");

        let found = deployments_of(&app, "race-svc", "Staging", &version).await;
        assert!(
            found.iter().filter(|d| is_open(d)).count() <= 1,
            "{ctx}; deployments {found:?}"
        );
        match (s_code, c_code) {
            // started won: it opened the deployment, completed finished that same one.
            (201, 200) => {
                started_first += 1;
                assert_eq!(s_body["status"], "started", "{ctx}");
                assert_eq!(c_body["status"], "completed", "{ctx}");
                assert_eq!(s_body["id"], c_body["id"], "{ctx}");
                assert_eq!(found.len(), 1, "{ctx}; deployments {found:?}");
                assert_eq!(found[0]["id"], s_body["id"], "{ctx}");
                assert_eq!(found[0]["status"], "completed", "{ctx}");
                assert_eq!(
                    event_ids(&app, &id_of(&found[0])).await,
                    vec![text(&s_body["event_id"]), text(&c_body["event_id"])],
                    "{ctx}"
                );
            }
            // completed won: a finished deployment, then started opened a redeploy.
            (201, 201) => {
                completed_first += 1;
                assert_eq!(s_body["status"], "started", "{ctx}");
                assert_eq!(c_body["status"], "completed", "{ctx}");
                assert_ne!(s_body["id"], c_body["id"], "{ctx}");
                assert_eq!(found.len(), 2, "{ctx}; deployments {found:?}");
                let by_id: HashMap<String, &Value> = found.iter().map(|d| (id_of(d), d)).collect();
                assert_eq!(by_id[&id_of(&c_body)]["status"], "completed", "{ctx}");
                assert_eq!(by_id[&id_of(&s_body)]["status"], "started", "{ctx}");
                // The redeploy can only have been opened after the completed one existed: an
                // open deployment older than the finished one means both events missed each
                // other (each saw no deployment and created its own).
                assert!(
                    created_at(&c_body) < created_at(&s_body),
                    "{ctx}: the open deployment predates the completed one"
                );
                assert_eq!(
                    event_ids(&app, &id_of(&c_body)).await,
                    vec![text(&c_body["event_id"])]
                );
                assert_eq!(
                    event_ids(&app, &id_of(&s_body)).await,
                    vec![text(&s_body["event_id"])]
                );
            }
            _ => panic!("{ctx}: neither order of the two events answers like that"),
        }
    }
    eprintln!("started first: {started_first}, completed first: {completed_first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_started_events_without_invoke_id_open_exactly_one_deployment() {
    let app = spawn_app().await;
    prepare_environment(&app, "Test").await;

    for round in 0..10 {
        let version = format!("7.{round}.0");
        register_version(&app, "fanout-svc", &version).await;
        let barrier = Arc::new(Barrier::new(8));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let app = app.clone();
            let barrier = barrier.clone();
            let body = event("fanout-svc", &version, "Test", "started");
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                post(&app, "/api/deployment-events/", &body).await
            }));
        }
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.expect("event task"));
        }

        let codes: Vec<u16> = answers.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            codes.iter().filter(|&&c| c == 201).count(),
            1,
            "round {round}: {answers:?}"
        );
        assert_eq!(
            codes.iter().filter(|&&c| c == 200).count(),
            7,
            "round {round}: {answers:?}"
        );
        let ids: HashSet<String> = answers.iter().map(|(_, b)| id_of(b)).collect();
        assert_eq!(
            ids.len(),
            1,
            "round {round}: all events joined one deployment: {answers:?}"
        );

        let found = deployments_of(&app, "fanout-svc", "Test", &version).await;
        assert_eq!(found.len(), 1, "round {round}: {found:?}");
        assert_eq!(found[0]["status"], "started");
        let logged: HashSet<String> = event_ids(&app, &id_of(&found[0]))
            .await
            .into_iter()
            .collect();
        let answered: HashSet<String> = answers.iter().map(|(_, b)| text(&b["event_id"])).collect();
        assert_eq!(logged.len(), 8, "round {round}: every event is in the log");
        assert_eq!(logged, answered, "round {round}");
    }
}

/// Past a bounded number of writes waiting for the database, new ones are refused with 503
/// and `Retry-After` (which pipelines retry) instead of queued without limit; the ones already
/// queued are all committed once the database catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_past_the_queue_limit_are_refused_with_retry_after() {
    use releaseboard::store::writer::{MAX_QUEUED, PG_LANES};
    use releaseboard::store::{Backend, StoreError, TxError};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    let app = spawn_app().await;
    let (lanes, per_lane) = match app.db.backend() {
        Backend::Sqlite => (1, MAX_QUEUED),
        Backend::Postgres => (PG_LANES, MAX_QUEUED),
    };

    // Hold every writer thread inside a write until released.
    let held = common::hold_writer_lanes(&app.db, lanes);

    // Fill every lane, and a hundred more: those are refused at once.
    let capacity = lanes * per_lane;
    let extra = 100;
    let refused = Arc::new(AtomicUsize::new(0));
    let mut queued = Vec::new();
    for _ in 0..capacity + extra {
        let (db, refused) = (app.db.clone(), refused.clone());
        queued.push(tokio::spawn(async move {
            let result = common::write(&db, |_conn| Ok(())).await;
            if let Err(TxError::Store(StoreError::QueueFull)) = result {
                refused.fetch_add(1, Ordering::Relaxed);
            }
            result
        }));
    }
    for _ in 0..1000 {
        if refused.load(Ordering::Relaxed) >= extra {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(refused.load(Ordering::Relaxed), extra);

    // A pipeline's event now gets 503 with Retry-After and a reason, right away.
    let event = json!({"product_name": "svc", "version": "1.0", "environment_name": "Dev",
                       "status": "success"});
    let res = tokio::time::timeout(
        Duration::from_secs(10),
        app.post_json("/api/deployment-events/", &event),
    )
    .await
    .expect("a refusal does not wait for the queue");
    assert_eq!(res.status().as_u16(), 503);
    assert_eq!(
        res.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let body: Value = res.json().await.expect("JSON body");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("retry"),
        "{body}"
    );

    // Once the database catches up, everything that was queued is committed.
    held.release();
    held.finished().await;
    let mut committed = 0;
    for task in queued {
        if task.await.expect("task").is_ok() {
            committed += 1;
        }
    }
    assert_eq!(committed, capacity);
    let res = app.post_json("/api/deployment-events/", &event).await;
    assert_eq!(res.status().as_u16(), 201);
}

/// Two PostgreSQL writer lanes whose batches lock the same two rows in opposite orders: the
/// database breaks the deadlock by failing one write. That write must not run again inside its
/// own batch — the other lane is still waiting for a row an earlier write of that batch holds,
/// so it would only deadlock again — but in the next batch, once its own has committed: every
/// write succeeds. (In CI, eight clients creating one release name while their API key's first
/// use was being recorded once got "deadlock detected" answered as a 500.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_chosen_to_break_a_deadlock_succeeds_in_the_next_batch() {
    use diesel::connection::SimpleConnection;
    use releaseboard::store::Backend;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Barrier;
    use std::time::Duration;

    let app = common::spawn_app_with_pg_lanes(2).await;
    if app.db.backend() != Backend::Postgres {
        return; // one SQLite writer: its batches never wait on each other
    }
    for name in ["p1", "p2"] {
        app.deploy_ok(name, "1.0", "Dev", "success").await;
    }

    // Hold both lanes, so that the four writes below queue two to a lane.
    let held = common::hold_writer_lanes(&app.db, 2);

    // Lane one locks p1 then p2, lane two p2 then p1; the first locks of both are taken
    // before either lane goes on (the barrier, on the first run only).
    let both_locked = Arc::new(Barrier::new(2));
    let update = |first: &'static str, db: &releaseboard::store::Db| {
        let barrier = both_locked.clone();
        let once = Arc::new(AtomicBool::new(true));
        let db = db.clone();
        let lock_first = tokio::spawn({
            let db = db.clone();
            async move {
                common::write(&db, move |conn| {
                    conn.batch_execute(&format!(
                        "UPDATE products SET description = 'first' WHERE name = '{first}'"
                    ))?;
                    if once.swap(false, Ordering::SeqCst) {
                        barrier.wait();
                    }
                    Ok(())
                })
                .await
            }
        });
        (db, lock_first)
    };
    let (db, a1) = update("p1", &app.db);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, b1) = update("p2", &app.db);
    let second = |other: &'static str| {
        let db = db.clone();
        tokio::spawn(async move {
            common::write(&db, move |conn| {
                conn.batch_execute(&format!(
                    "UPDATE products SET description = 'second' WHERE name = '{other}'"
                ))?;
                Ok(())
            })
            .await
        })
    };
    // Queued in this order (a1, b1, a2, b2), the lanes take them alternately: a1 and a2 on
    // one, b1 and b2 on the other.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let a2 = second("p2");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b2 = second("p1");
    tokio::time::sleep(Duration::from_millis(100)).await;
    held.release();
    held.finished().await;
    for (name, write) in [("a1", a1), ("b1", b1), ("a2", a2), ("b2", b2)] {
        let result = tokio::time::timeout(Duration::from_secs(30), write)
            .await
            .expect("the writes finish")
            .expect("task");
        assert!(result.is_ok(), "{name}: {result:?}");
    }
}
