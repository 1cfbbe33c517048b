//! Versioner's own clients, unchanged (SPEC §3, §5, §6): the bodies its Go CLI and its GitHub
//! Action send, what they read back, the 409 body they parse, and the "View" link the Action
//! prints.
//!
//! The bodies are written out field by field as those clients send them (their request types:
//! `BuildEventCreate`, `DeploymentEventCreate`, the Action's `VersionEventPayload`), and the
//! expected answers are written from the spec, not computed by the code under test.

use crate::common::{
    answer, arr, assert_utc, css_attrs, css_count, css_texts, spawn_app, TestApp, UNKNOWN,
};
use serde_json::{json, Value};

/// What the Action posts for a build: `building` first, `built` at the end (its `event_type:
/// build`), with the GitHub context and its `vi_gh_*` metadata.
fn action_build(status: &str, completed_at: Option<&str>) -> Value {
    let mut body = json!({
        "product_name": "checkout",
        "version": "2.4.0",
        "status": status,
        "scm_repository": "acme/checkout",
        "scm_sha": "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c",
        "scm_branch": "main",
        "source_system": "github",
        "build_number": "128",
        "invoke_id": "9876543210",
        "build_url": "https://github.com/acme/checkout/actions/runs/9876543210",
        "built_by": "octocat",
        "built_by_email": "octocat@example.com",
        "built_by_name": "The Octocat",
        "built_at": "2026-12-01T10:04:00Z",
        "started_at": "2026-12-01T10:00:00+00:00",
        "extra_metadata": {
            "vi_gh_workflow": "release.yml",
            "vi_gh_job": "build",
            "vi_gh_run_attempt": "1"
        }
    });
    if let Some(t) = completed_at {
        body["completed_at"] = json!(t);
    }
    body
}

#[tokio::test]
async fn build_events_with_building_and_built_answer_what_the_clients_read() {
    let app = spawn_app().await;

    // `building`: the version is registered (201), the run has started.
    let (code, first) = answer(
        app.post_json(
            "/api/build-events/",
            &action_build("building", Some("2026-12-01T10:00:30Z")),
        )
        .await,
    )
    .await;
    assert_eq!(code, 201, "{first}");
    assert_eq!(first["status"], "started", "building is started");
    assert_eq!(first["version_id"], first["id"], "{first}");
    assert!(first["product_id"].is_string(), "{first}");
    assert_eq!(first["version"], "2.4.0");
    assert_eq!(first["product_name"], "checkout");
    assert_eq!(
        first["build"],
        json!({
            "invoke_id": "9876543210",
            "status": "started",
            "started_at": "2026-12-01T10:00:00Z",
            // A build still running has not completed, whatever time the client stamped.
            "completed_at": null,
            "built_by": "octocat",
            "built_by_name": "The Octocat",
            "built_by_email": "octocat@example.com",
        })
    );

    // `built`: the same version (200); the run is now the latest event's.
    let (code, second) = answer(
        app.post_json(
            "/api/version-events/",
            &action_build("built", Some("2026-12-01T10:04:00.5Z")),
        )
        .await,
    )
    .await;
    assert_eq!(code, 200, "{second}");
    assert_eq!(second["status"], "completed", "built is completed");
    assert_eq!(second["version_id"], first["version_id"]);
    assert_eq!(second["build"]["status"], "completed");
    assert_eq!(second["build"]["completed_at"], "2026-12-01T10:04:00.500Z");
    assert_eq!(second["build"]["started_at"], "2026-12-01T10:00:00Z");

    // `GET /api/versions/{id}` shows the same facts, and every field the events filled.
    let id = first["id"].as_str().expect("id");
    let v = app.get_json(&format!("/api/versions/{id}")).await;
    assert_eq!(v["build"], second["build"]);
    assert_eq!(v["built_by"], "octocat");
    assert_eq!(v["scm_branch"], "main");
    assert_eq!(v["build_number"], "128");
    assert_eq!(v["source_system"], "github");
    assert_eq!(
        v["extra_metadata"],
        json!({"vi_gh_workflow": "release.yml", "vi_gh_job": "build", "vi_gh_run_attempt": "1"})
    );
    for t in [
        &v["created_at"],
        &v["updated_at"],
        &v["build"]["started_at"],
    ] {
        assert_utc(t);
    }
    // A field no version has (`built_at`) was ignored, not stored.
    assert!(v.get("built_at").is_none(), "{v}");
}

#[tokio::test]
async fn a_version_no_build_event_named_has_no_build() {
    let app = spawn_app().await;
    let d = app.deploy_ok("api", "1.0.0", "dev", "completed").await;
    let v = app
        .get_json(&format!(
            "/api/versions/{}",
            d["version_id"].as_str().expect("version id")
        ))
        .await;
    assert_eq!(v["build"], Value::Null, "{v}");
    // A build event later gives it one.
    let (code, b) = answer(
        app.post_json(
            "/api/build-events",
            &json!({"product_name": "api", "version": "1.0.0", "status": "BUILT"}),
        )
        .await,
    )
    .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(b["build"]["status"], "completed");
    assert_eq!(b["build"]["invoke_id"], Value::Null);
}

#[tokio::test]
async fn building_and_built_are_build_statuses_only() {
    let app = spawn_app().await;
    for status in ["building", "built"] {
        let (code, body) = answer(app.deploy("api", "1.0.0", "dev", status, json!({})).await).await;
        assert_eq!(code, 422, "a deployment that is {status}: {body}");
        assert_eq!(body["detail"][0]["loc"], json!(["body", "status"]));
    }
    let (code, body) = answer(
        app.post_json(
            "/api/build-events/",
            &json!({"product_name": "api", "version": "1.0.0", "status": "compiled"}),
        )
        .await,
    )
    .await;
    assert_eq!(code, 422, "{body}");
    let msg = body["detail"][0]["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("building") && msg.contains("built"), "{msg}");
}

/// What the Action posts for a deployment: `completed_at` stamped on every event, even
/// `started`; the CLI's base URL ends in `/api/`, so its paths start with a double slash.
#[tokio::test]
async fn deployment_events_as_the_action_and_the_cli_send_them() {
    let app = spawn_app().await;
    let body = |status: &str| {
        json!({
            "product_name": "checkout",
            "version": "2.4.0",
            "environment_name": "production",
            "status": status,
            "scm_repository": "acme/checkout",
            "scm_sha": "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c",
            "source_system": "github",
            "build_number": "129",
            "invoke_id": "555",
            "build_url": "https://github.com/acme/checkout/actions/runs/555",
            "deployed_by": "octocat",
            "deployed_by_email": "octocat@example.com",
            "deployed_by_name": "The Octocat",
            "completed_at": "2026-12-01T11:00:00Z",
            "skip_preflight_checks": false,
            "extra_metadata": {"vi_gh_environment": "production", "vi_gh_ref": "refs/heads/main"}
        })
    };
    let (code, started) = answer(
        app.post_json("/api//deployment-events/", &body("started"))
            .await,
    )
    .await;
    assert_eq!(code, 201, "{started}");
    assert_eq!(started["status"], "started");
    assert_eq!(
        started["completed_at"],
        Value::Null,
        "a started deployment has not completed: {started}"
    );
    // The Action reads `deployment_id` and `event_id`; the CLI reads `id`.
    assert_eq!(started["deployment_id"], started["id"]);
    assert!(started["event_id"].is_string());

    let (code, done) = answer(
        app.post_json("/api//deployment-events", &body("success"))
            .await,
    )
    .await;
    assert_eq!(code, 200, "{done}");
    assert_eq!(done["id"], started["id"]);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["completed_at"], "2026-12-01T11:00:00Z");

    let id = started["id"].as_str().expect("id");
    let d = app.get_json(&format!("/api/deployments/{id}")).await;
    assert_eq!(d["deployed_by_name"], "The Octocat");
    assert_eq!(d["deployed_by_email"], "octocat@example.com");
    assert_eq!(d["invoke_id"], "555");
    assert_eq!(
        d["extra_metadata"],
        json!({"vi_gh_environment": "production", "vi_gh_ref": "refs/heads/main"})
    );
    assert_eq!(arr(&d["events"]).len(), 2);
    // Lists do not repeat the id under a second name.
    let list = app.get_json("/api/deployments/").await;
    assert!(arr(&list)[0].get("deployment_id").is_none(), "{list}");
}

// ---------------------------------------------------------------------------------------------
// 409s

/// One 409 answer, checked for the body Versioner's clients read: `code`, and `message` equal
/// to `detail`. Returns the code.
async fn conflict(what: &str, res: reqwest::Response) -> String {
    let (code, body) = answer(res).await;
    assert_eq!(code, 409, "{what}: {body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(!detail.is_empty(), "{what}: {body}");
    assert_eq!(body["message"], body["detail"], "{what}");
    let rule = body["code"].as_str().unwrap_or_default().to_string();
    assert!(
        !rule.is_empty() && rule.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "{what}: code {rule:?} is not snake_case"
    );
    rule
}

async fn post_keyed(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/deployment-events/"))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("POST")
}

#[tokio::test]
async fn every_409_of_the_api_names_its_rule_with_its_own_code() {
    let app = spawn_app().await;
    let mut seen: Vec<(&str, String)> = Vec::new();

    // Names are unique: releases, products, environments (create and rename).
    let r1 = app.create_release("R1").await;
    let r2 = app.create_release("R2").await;
    seen.push((
        "release name taken",
        conflict(
            "release name",
            app.post_json("/api/releases/", &json!({"name": "R1"}))
                .await,
        )
        .await,
    ));
    let renamed = conflict(
        "release renamed to a taken name",
        app.patch_json(&format!("/api/releases/{r2}"), &json!({"name": "R1"}))
            .await,
    )
    .await;
    assert_eq!(renamed, seen[0].1, "create and rename break one rule");
    app.deploy_ok("api", "1.0.0", "dev", "started").await;
    seen.push((
        "product name taken",
        conflict(
            "product name",
            app.post_json("/api/products/", &json!({"name": "api"}))
                .await,
        )
        .await,
    ));
    seen.push((
        "environment name taken",
        conflict(
            "environment name",
            app.post_json("/api/environments/", &json!({"name": "dev"}))
                .await,
        )
        .await,
    ));

    // A finished deployment keeps its terminal status.
    let run = json!({"invoke_id": "run-1"});
    assert!(app
        .deploy("api", "1.0.0", "prod", "completed", run.clone())
        .await
        .status()
        .is_success());
    seen.push((
        "terminal status",
        conflict(
            "terminal status",
            app.deploy("api", "1.0.0", "prod", "failed", run).await,
        )
        .await,
    ));

    // Versions are immutable.
    let build = |sha: &str| json!({"product_name": "lib", "version": "1.0", "status": "built", "scm_sha": sha});
    assert_eq!(
        app.post_json("/api/build-events/", &build("aaa"))
            .await
            .status()
            .as_u16(),
        201
    );
    seen.push((
        "version immutable",
        conflict(
            "another commit",
            app.post_json("/api/build-events/", &build("bbb")).await,
        )
        .await,
    ));

    // One version per product in a release.
    app.deploy_ok("api", "1.0.1", "dev", "started").await;
    assert_eq!(app.add_to_release(&r1, "api", "1.0.0").await, 201);
    seen.push((
        "product already in release",
        conflict(
            "second version of a product",
            app.post_json(
                &format!("/api/releases/{r1}/versions"),
                &json!({"product_name": "api", "version": "1.0.1"}),
            )
            .await,
        )
        .await,
    ));

    // A product in a release cannot be deleted.
    let product = app.get_json("/api/products/").await;
    let api_id = arr(&product)
        .iter()
        .find(|p| p["name"] == "api")
        .and_then(|p| p["id"].as_str())
        .expect("api's id")
        .to_string();
    seen.push((
        "product in release",
        conflict(
            "deleting a product in a release",
            app.delete(&format!("/api/products/{api_id}")).await,
        )
        .await,
    ));

    // An archived release is frozen.
    let done = app
        .patch_json(
            &format!("/api/releases/{r2}"),
            &json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(done.status().as_u16(), 200);
    seen.push((
        "release archived",
        conflict(
            "adding to a cancelled release",
            app.post_json(
                &format!("/api/releases/{r2}/versions"),
                &json!({"product_name": "api", "version": "1.0.0"}),
            )
            .await,
        )
        .await,
    ));

    // An idempotency key is one request.
    let e = json!({"product_name": "api", "version": "2.0", "environment_name": "dev", "status": "started"});
    assert_eq!(post_keyed(&app, "k-1", &e).await.status().as_u16(), 201);
    let mut other = e.clone();
    other["status"] = json!("completed");
    seen.push((
        "idempotency key reused",
        conflict(
            "the key with another body",
            post_keyed(&app, "k-1", &other).await,
        )
        .await,
    ));

    // Every rule its own code, each one the OpenAPI document lists.
    let mut codes: Vec<&str> = seen.iter().map(|(_, c)| c.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), seen.len(), "{seen:?}");
    let doc = app.get_json("/api/openapi.json").await;
    let listed: Vec<&str> =
        arr(&doc["components"]["schemas"]["ConflictOut"]["properties"]["code"]["enum"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
    for (rule, code) in &seen {
        assert!(
            listed.contains(&code.as_str()),
            "{rule}: {code} not in {listed:?}"
        );
    }
    // The codes the spec names, where it names them.
    let code_of = |rule: &str| {
        seen.iter()
            .find(|(r, _)| *r == rule)
            .map(|(_, c)| c.as_str())
    };
    assert_eq!(code_of("terminal status"), Some("terminal_status_conflict"));
    assert_eq!(
        code_of("product already in release"),
        Some("product_already_in_release")
    );
    assert_eq!(code_of("release archived"), Some("release_archived"));
}

// ---------------------------------------------------------------------------------------------
// The deployment page and the Action's link

#[tokio::test]
async fn the_deployment_page_shows_its_event_log_and_the_releases_holding_its_version() {
    let app = spawn_app().await;
    let run = json!({
        "invoke_id": "run-42",
        "deployed_by": "alice",
        "deployed_by_name": "Alice <Ops>",
        "build_url": "https://ci.example.com/builds/42",
        "deploy_url": "javascript:alert(1)",
        "build_number": 42,
    });
    let first = app
        .deploy("web", "3.1.0", "staging", "started", run.clone())
        .await;
    let (code, first) = answer(first).await;
    assert_eq!(code, 201, "{first}");
    let id = first["id"].as_str().expect("id").to_string();
    assert_eq!(
        app.deploy("web", "3.1.0", "staging", "success", run.clone())
            .await
            .status()
            .as_u16(),
        200
    );
    // Late: kept in the log, changes nothing.
    assert_eq!(
        app.deploy("web", "3.1.0", "staging", "in_progress", run)
            .await
            .status()
            .as_u16(),
        200
    );
    let holding = app.create_release("Spring <launch>").await;
    assert_eq!(app.add_to_release(&holding, "web", "3.1.0").await, 201);
    let _other = app.create_release("Unrelated").await;

    let page = app.page(&format!("/deployments/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = &page.body;
    let facts: Vec<String> = css_texts(html, ".facts dd")
        .iter()
        .map(|s| s.trim().to_string())
        .collect();
    assert!(facts.contains(&"web".to_string()), "{facts:?}");
    assert!(facts.contains(&"3.1.0".to_string()), "{facts:?}");
    assert!(facts.contains(&"staging".to_string()), "{facts:?}");
    assert!(facts.contains(&"completed".to_string()), "{facts:?}");
    assert!(
        facts
            .iter()
            .any(|f| f.contains("Alice <Ops>") && f.contains("alice")),
        "who, escaped as text: {facts:?}"
    );
    assert!(!html.contains("Alice <Ops>"), "user text is escaped");
    // The build link is a link; the javascript: deploy URL is not.
    assert_eq!(
        css_attrs(html, ".facts a[href^='https://ci.example.com']", "href"),
        ["https://ci.example.com/builds/42"]
    );
    assert_eq!(css_count(html, "a[href^='javascript']"), 0);
    // Three events, oldest first: two applied, the late one logged only.
    let log = css_texts(html, "#events-h ~ .table-scroll tbody tr td:nth-child(2)");
    assert_eq!(log, ["started", "success", "in_progress"]);
    let effects = css_texts(html, "#events-h ~ .table-scroll tbody tr td:nth-child(4)");
    assert_eq!(effects[..2], ["applied", "applied"]);
    assert!(effects[2].starts_with("logged only"), "{effects:?}");
    // The releases holding the version, and only those.
    assert_eq!(
        css_attrs(html, "#releases-h ~ ul a", "href"),
        [format!("/releases/{holding}")]
    );
    assert_eq!(css_texts(html, "#releases-h ~ ul a"), ["Spring <launch>"]);

    // Linked from the deployments list, the product page and the release matrix.
    let link = format!("/deployments/{id}");
    let list = app.page("/deployments").await;
    assert!(
        css_attrs(&list.body, "tbody a", "href").contains(&link),
        "deployments list"
    );
    let product = first["product_id"].as_str().expect("product id");
    let product_page = app.page(&format!("/products/{product}")).await;
    assert!(
        css_attrs(&product_page.body, "#history-h ~ .table-scroll a", "href").contains(&link),
        "product page"
    );
    let release_page = app.page(&format!("/releases/{holding}")).await;
    assert_eq!(
        css_attrs(
            &release_page.body,
            "td[data-environment='staging'][data-state='deployed'] a",
            "href"
        ),
        std::slice::from_ref(&link),
        "release matrix cell"
    );
    assert_eq!(
        css_count(&release_page.body, "td[data-state='not_deployed'] a"),
        0,
        "a cell with no deployment links nowhere"
    );
}

#[tokio::test]
async fn a_deployment_page_for_no_deployment_is_a_404_page() {
    let app = spawn_app().await;
    for path in [
        format!("/deployments/{UNKNOWN}"),
        "/deployments/nope".into(),
    ] {
        let page = app.page(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.content_type.starts_with("text/html"), "{path}");
    }
}

#[tokio::test]
async fn the_actions_view_link_redirects_to_the_deployment_page() {
    let app = spawn_app().await;
    let d = app.deploy_ok("web", "1.0.0", "dev", "started").await;
    let id = d["id"].as_str().expect("id");
    let page = app
        .page(&format!("/app/manage/deployments?view={id}"))
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/deployments/{id}").as_str())
    );
    // Followed, as the browser does, anonymously: the page is there.
    let shown = app.page_as(None, &format!("/deployments/{id}")).await;
    assert_eq!(shown.status, 200);
    // Without a usable id: the deployments list, never a page built from the text.
    for query in ["", "?view=", "?view=%2F%2Fevil.example", "?view=<script>"] {
        let page = app.page(&format!("/app/manage/deployments{query}")).await;
        assert_eq!(page.status, 303, "{query}");
        assert_eq!(page.location.as_deref(), Some("/deployments"), "{query}");
    }
}
