//! The catalog and state API of SPEC §5, end to end through HTTP: products, versions,
//! environments, `/api/state/`, `/api/health` and `/api/openapi.json`.

use crate::common;

use crate::common::{answer, arr, assert_utc, strings, TestApp, UNKNOWN};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers local to this file

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

fn assert_422_at(code: u16, body: &Value, loc: &[&str]) {
    assert_eq!(code, 422, "{body}");
    let want: Vec<Value> = loc.iter().map(|s| json!(s)).collect();
    assert!(
        arr(&body["detail"])
            .iter()
            .any(|e| e["loc"] == Value::Array(want.clone())),
        "no error at {loc:?}: {body}"
    );
}

async fn create_product(app: &TestApp, body: Value) -> (u16, Value) {
    answer(app.post_json("/api/products/", &body).await).await
}

async fn create_environment(app: &TestApp, body: Value) -> (u16, Value) {
    answer(app.post_json("/api/environments/", &body).await).await
}

async fn patch_environment(app: &TestApp, env_id: &str, body: Value) -> (u16, Value) {
    answer(
        app.patch_json(&format!("/api/environments/{env_id}"), &body)
            .await,
    )
    .await
}

async fn environment_named(app: &TestApp, name: &str) -> Value {
    let all = app.get_json("/api/environments/").await;
    arr(&all)
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no environment {name}: {all}"))
}

/// Registers a version through a build event.
async fn build(app: &TestApp, product: &str, version: &str, scm_sha: &str) -> Value {
    let (code, body) = answer(
        app.post_json(
            "/api/build-events/",
            &json!({
                "product_name": product,
                "version": version,
                "status": "success",
                "scm_sha": scm_sha,
            }),
        )
        .await,
    )
    .await;
    assert!(
        code == 200 || code == 201,
        "build {product} {version}: {code} {body}"
    );
    body
}

/// The /api/state/ cell of (product, environment).
fn state_cell<'a>(s: &'a Value, product: &str, environment: &str) -> &'a Value {
    let row = state_row(s, product);
    arr(&row["cells"])
        .iter()
        .find(|c| c["environment_name"] == environment)
        .unwrap_or_else(|| panic!("no cell {product}/{environment}: {s}"))
}

fn state_row<'a>(s: &'a Value, product: &str) -> &'a Value {
    arr(&s["products"])
        .iter()
        .find(|r| r["product_name"] == product)
        .unwrap_or_else(|| panic!("no row for {product}: {s}"))
}

// ---------------------------------------------------------------------------------------------
// Products

#[tokio::test]
async fn a_product_is_created_read_and_listed_by_name() {
    let app = common::spawn_app().await;
    let (code, p) = create_product(
        &app,
        json!({ "name": "user-service", "description": "accounts and profiles" }),
    )
    .await;
    assert_eq!(code, 201, "{p}");
    assert!(uuid::Uuid::parse_str(&id(&p)).is_ok());
    assert_eq!(p["name"], "user-service");
    assert_eq!(p["description"], "accounts and profiles");
    assert_utc(&p["created_at"]);
    assert_utc(&p["updated_at"]);

    let one = app.get_json(&format!("/api/products/{}", id(&p))).await;
    assert_eq!(one, p);

    create_product(&app, json!({ "name": "api-gateway" })).await;
    app.deploy_ok("mobile-app", "2.3.0", "Dev", "success").await;
    let all = app.get_json("/api/products/").await;
    assert_eq!(
        strings(&all, "name"),
        vec!["api-gateway", "mobile-app", "user-service"]
    );
}

#[tokio::test]
async fn a_second_product_with_the_same_name_is_a_conflict() {
    let app = common::spawn_app().await;
    assert_eq!(
        create_product(&app, json!({ "name": "payment-api" }))
            .await
            .0,
        201
    );
    let (code, body) = create_product(&app, json!({ "name": "payment-api" })).await;
    assert_eq!(code, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("payment-api")),
        "{body}"
    );
    // A product first named by an event is the same product.
    app.deploy_ok("billing", "1.0", "Dev", "success").await;
    assert_eq!(
        create_product(&app, json!({ "name": "billing" })).await.0,
        409
    );
    assert_eq!(arr(&app.get_json("/api/products/").await).len(), 2);
}

#[tokio::test]
async fn product_names_are_case_sensitive() {
    let app = common::spawn_app().await;
    assert_eq!(create_product(&app, json!({ "name": "api" })).await.0, 201);
    assert_eq!(create_product(&app, json!({ "name": "API" })).await.0, 201);
    let all = app.get_json("/api/products/").await;
    assert_eq!(arr(&all).len(), 2);
}

#[tokio::test]
async fn an_invalid_product_name_is_a_422_at_the_name_field() {
    let app = common::spawn_app().await;
    for bad in [
        json!({ "name": "" }),
        json!({ "name": "  " }),
        json!({ "name": "y".repeat(201) }),
        json!({ "name": "tab\there" }),
        json!({}),
    ] {
        let (code, body) = create_product(&app, bad).await;
        assert_422_at(code, &body, &["body", "name"]);
    }
    assert_eq!(app.get_json("/api/products/").await, json!([]));
}

#[tokio::test]
async fn a_product_can_be_renamed_and_redescribed() {
    let app = common::spawn_app().await;
    let (_, p) = create_product(&app, json!({ "name": "old-name", "description": "d" })).await;
    let path = format!("/api/products/{}", id(&p));
    let (code, body) = answer(
        app.patch_json(
            &path,
            &json!({ "name": "new-name", "description": "better" }),
        )
        .await,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["name"], "new-name");
    assert_eq!(body["description"], "better");
    assert_eq!(app.get_json(&path).await["name"], "new-name");

    let (code, body) = answer(app.patch_json(&path, &json!({ "description": null })).await).await;
    assert_eq!(code, 200);
    assert_eq!(body["description"], Value::Null);
    assert_eq!(body["name"], "new-name");

    let (code, body) = answer(app.patch_json(&path, &json!({ "name": "" })).await).await;
    assert_422_at(code, &body, &["body", "name"]);
}

#[tokio::test]
async fn renaming_a_product_to_a_taken_name_is_a_conflict() {
    let app = common::spawn_app().await;
    create_product(&app, json!({ "name": "taken" })).await;
    let (_, p) = create_product(&app, json!({ "name": "free" })).await;
    let path = format!("/api/products/{}", id(&p));
    let (code, _) = answer(app.patch_json(&path, &json!({ "name": "taken" })).await).await;
    assert_eq!(code, 409);
    assert_eq!(app.get_json(&path).await["name"], "free");
}

#[tokio::test]
async fn an_unknown_product_is_a_404() {
    let app = common::spawn_app().await;
    for pid in [UNKNOWN, "not-a-uuid"] {
        let path = format!("/api/products/{pid}");
        let (code, body) = answer(app.get(&path).await).await;
        assert_eq!(code, 404, "{body}");
        assert!(body["detail"].is_string());
        let (code, _) = answer(app.patch_json(&path, &json!({ "name": "x" })).await).await;
        assert_eq!(code, 404);
        let (code, _) = answer(app.delete(&path).await).await;
        assert_eq!(code, 404);
    }
}

#[tokio::test]
async fn deleting_a_product_removes_it_with_its_versions() {
    let app = common::spawn_app().await;
    let d = app.deploy_ok("legacy", "0.1", "Dev", "success").await;
    let pid = d["product_id"].as_str().expect("product_id").to_string();
    let vid = d["version_id"].as_str().expect("version_id").to_string();
    let res = app.delete(&format!("/api/products/{pid}")).await;
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(
        app.get(&format!("/api/products/{pid}"))
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        app.get(&format!("/api/versions/{vid}"))
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(app.get_json("/api/products/").await, json!([]));
    assert_eq!(
        app.get_json("/api/deployments/?product=legacy").await,
        json!([])
    );
}

#[tokio::test]
async fn a_product_with_a_version_in_a_release_cannot_be_deleted() {
    let app = common::spawn_app().await;
    let d = app
        .deploy_ok("user-service", "1.2.3", "Dev", "success")
        .await;
    let pid = d["product_id"].as_str().expect("product_id").to_string();
    let vid = d["version_id"].as_str().expect("version_id").to_string();
    let release = app.create_release("Holding on").await;
    assert_eq!(
        app.add_to_release(&release, "user-service", "1.2.3").await,
        201
    );

    let (code, body) = answer(app.delete(&format!("/api/products/{pid}")).await).await;
    assert_eq!(code, 409, "{body}");
    assert!(body["detail"].is_string());
    assert_eq!(
        app.get_json(&format!("/api/products/{pid}")).await["name"],
        "user-service"
    );
    assert_eq!(
        app.get_json(&format!("/api/versions/{vid}")).await["version"],
        "1.2.3"
    );

    // Out of the release, the product may go.
    let res = app
        .delete(&format!("/api/releases/{release}/versions/{vid}"))
        .await;
    assert_eq!(res.status().as_u16(), 204);
    let res = app.delete(&format!("/api/products/{pid}")).await;
    assert_eq!(res.status().as_u16(), 204);
}

#[tokio::test]
async fn a_product_in_an_archived_release_cannot_be_deleted() {
    let app = common::spawn_app().await;
    let d = app.deploy_ok("web", "1.0", "Production", "success").await;
    let pid = d["product_id"].as_str().expect("product_id").to_string();
    let release = app.create_release("Shipped").await;
    app.add_to_release(&release, "web", "1.0").await;
    let res = app
        .patch_json(
            &format!("/api/releases/{release}"),
            &json!({ "status": "completed" }),
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let (code, _) = answer(app.delete(&format!("/api/products/{pid}")).await).await;
    assert_eq!(code, 409);
    let versions = app
        .get_json(&format!("/api/releases/{release}/versions"))
        .await;
    assert_eq!(strings(&versions, "product_name"), vec!["web"]);
}

// ---------------------------------------------------------------------------------------------
// Versions

#[tokio::test]
async fn versions_are_filtered_by_product_and_scm_sha() {
    let app = common::spawn_app().await;
    build(&app, "api", "1.0", "aaa111").await;
    build(&app, "api", "1.1", "bbb222").await;
    build(&app, "web", "2.0", "aaa111").await;
    build(&app, "web", "2.1", "ccc333").await;

    let res = app.get("/api/versions/").await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()
            .get("X-Total-Count")
            .and_then(|v| v.to_str().ok()),
        Some("4")
    );
    let all: Value = res.json().await.expect("JSON");
    assert_eq!(
        strings(&all, "version"),
        vec!["2.1", "2.0", "1.1", "1.0"],
        "newest first"
    );

    let api = app.get_json("/api/versions/?product=api").await;
    assert_eq!(strings(&api, "version"), vec!["1.1", "1.0"]);
    assert!(arr(&api).iter().all(|v| v["product_name"] == "api"));

    let sha = app.get_json("/api/versions/?scm_sha=aaa111").await;
    let mut found: Vec<(String, String)> = arr(&sha)
        .iter()
        .map(|v| {
            (
                v["product_name"].as_str().unwrap_or_default().to_string(),
                v["version"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("api".to_string(), "1.0".to_string()),
            ("web".to_string(), "2.0".to_string())
        ]
    );

    let both = app
        .get_json("/api/versions/?product=web&scm_sha=aaa111")
        .await;
    assert_eq!(strings(&both, "version"), vec!["2.0"]);
    assert_eq!(both[0]["scm_sha"], "aaa111");

    assert_eq!(app.get_json("/api/versions/?product=nope").await, json!([]));
    assert_eq!(app.get_json("/api/versions/?scm_sha=ffff").await, json!([]));
}

#[tokio::test]
async fn a_version_is_read_by_id() {
    let app = common::spawn_app().await;
    build(&app, "auth-service", "2.1.0", "deadbeef").await;
    let listed = app.get_json("/api/versions/?product=auth-service").await;
    let vid = id(&arr(&listed)[0]);
    let v = app.get_json(&format!("/api/versions/{vid}")).await;
    assert_eq!(v["id"], vid.as_str());
    assert_eq!(v["product_name"], "auth-service");
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["scm_sha"], "deadbeef");
    assert!(v["product_id"].is_string());
    assert_utc(&v["created_at"]);

    for bad in [UNKNOWN, "nope"] {
        let (code, body) = answer(app.get(&format!("/api/versions/{bad}")).await).await;
        assert_eq!(code, 404, "{body}");
    }
}

#[tokio::test]
async fn version_lists_refuse_a_limit_over_200() {
    let app = common::spawn_app().await;
    let (code, body) = answer(app.get("/api/versions/?limit=201").await).await;
    assert_422_at(code, &body, &["query", "limit"]);
}

// ---------------------------------------------------------------------------------------------
// Environments

#[tokio::test]
async fn environments_are_listed_in_type_order_whatever_the_creation_order() {
    let app = common::spawn_app().await;
    for env in ["Production", "Dev", "Staging", "Test", "QA-1"] {
        app.deploy_ok("api", "1.0", env, "success").await;
    }
    let all = app.get_json("/api/environments/").await;
    assert_eq!(
        strings(&all, "name"),
        vec!["Dev", "QA-1", "Test", "Staging", "Production"]
    );
    assert_eq!(
        strings(&all, "type"),
        vec!["dev", "test", "test", "staging", "production"]
    );
    for e in arr(&all) {
        assert_eq!(e["position"], 0);
        assert_utc(&e["created_at"]);
    }
}

#[tokio::test]
async fn environments_are_filtered_by_type() {
    let app = common::spawn_app().await;
    for env in ["Production", "Dev", "Staging", "Test", "QA-1", "live-eu"] {
        app.deploy_ok("api", "1.0", env, "success").await;
    }
    let tests = app.get_json("/api/environments/?type=test").await;
    assert_eq!(strings(&tests, "name"), vec!["QA-1", "Test"]);
    let prod = app.get_json("/api/environments/?type=production").await;
    assert_eq!(strings(&prod, "name"), vec!["Production", "live-eu"]);
    let dev = app.get_json("/api/environments/?type=dev").await;
    assert_eq!(strings(&dev, "name"), vec!["Dev"]);

    let (code, body) = answer(app.get("/api/environments/?type=prod").await).await;
    assert_422_at(code, &body, &["query", "type"]);
}

#[tokio::test]
async fn an_environment_is_created_with_type_position_and_description() {
    let app = common::spawn_app().await;
    let (code, e) = create_environment(
        &app,
        json!({
            "name": "Production-mirror",
            "type": "staging",
            "position": 3,
            "description": "a copy of prod",
        }),
    )
    .await;
    assert_eq!(code, 201, "{e}");
    assert!(uuid::Uuid::parse_str(&id(&e)).is_ok());
    assert_eq!(e["name"], "Production-mirror");
    assert_eq!(e["type"], "staging", "an explicit type beats the name");
    assert_eq!(e["position"], 3);
    assert_eq!(e["description"], "a copy of prod");
    assert_utc(&e["created_at"]);
    assert_eq!(
        app.get_json(&format!("/api/environments/{}", id(&e))).await,
        e
    );

    // Events naming it use it rather than creating another.
    app.deploy_ok("api", "1.0", "Production-mirror", "success")
        .await;
    let all = app.get_json("/api/environments/").await;
    assert_eq!(strings(&all, "name"), vec!["Production-mirror"]);
    assert_eq!(all[0]["type"], "staging");
}

#[tokio::test]
async fn an_environment_without_a_type_gets_one_from_its_name() {
    let app = common::spawn_app().await;
    for (name, want) in [
        ("preprod-eu", "staging"),
        ("UAT", "staging"),
        ("Staging-2", "staging"),
        ("prod-us", "production"),
        ("LIVE", "production"),
        ("qa", "test"),
        ("Integration", "test"),
        ("e2e-tests", "test"),
        ("sandbox", "dev"),
    ] {
        let (code, e) = create_environment(&app, json!({ "name": name })).await;
        assert_eq!(code, 201, "{name}: {e}");
        assert_eq!(e["type"], want, "{name}");
        assert_eq!(e["position"], 0, "{name}");
    }
}

#[tokio::test]
async fn an_environment_with_an_unknown_type_is_a_422() {
    let app = common::spawn_app().await;
    let (code, body) = create_environment(&app, json!({ "name": "Prod", "type": "prod" })).await;
    assert_422_at(code, &body, &["body", "type"]);
    let (code, body) = create_environment(&app, json!({ "name": "" })).await;
    assert_422_at(code, &body, &["body", "name"]);
    let (code, body) =
        create_environment(&app, json!({ "name": "Dev", "position": "first" })).await;
    assert_422_at(code, &body, &["body", "position"]);
    assert_eq!(app.get_json("/api/environments/").await, json!([]));
}

#[tokio::test]
async fn a_second_environment_with_the_same_name_is_a_conflict() {
    let app = common::spawn_app().await;
    assert_eq!(
        create_environment(&app, json!({ "name": "Dev" })).await.0,
        201
    );
    let (code, body) = create_environment(&app, json!({ "name": "Dev", "type": "test" })).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(arr(&app.get_json("/api/environments/").await).len(), 1);
}

#[tokio::test]
async fn an_environment_can_be_edited() {
    let app = common::spawn_app().await;
    for env in ["Dev", "Staging", "Production"] {
        app.deploy_ok("api", "1.0", env, "success").await;
    }
    let sandbox = id(&create_environment(&app, json!({ "name": "sandbox" }))
        .await
        .1);

    let (code, e) = patch_environment(
        &app,
        &sandbox,
        json!({
            "name": "perf-lab",
            "type": "staging",
            "position": -1,
            "description": "load tests",
        }),
    )
    .await;
    assert_eq!(code, 200, "{e}");
    assert_eq!(e["id"], sandbox.as_str());
    assert_eq!(e["name"], "perf-lab");
    assert_eq!(e["type"], "staging");
    assert_eq!(e["position"], -1);
    assert_eq!(e["description"], "load tests");
    assert_eq!(
        strings(&app.get_json("/api/environments/").await, "name"),
        vec!["Dev", "perf-lab", "Staging", "Production"]
    );

    // Absent fields stay; null clears the description.
    let (code, e) = patch_environment(&app, &sandbox, json!({ "description": null })).await;
    assert_eq!(code, 200);
    assert_eq!(e["description"], Value::Null);
    assert_eq!(e["type"], "staging");
    assert_eq!(e["position"], -1);
    assert_eq!(e["name"], "perf-lab");

    let (code, e) = patch_environment(&app, &sandbox, json!({ "position": 10 })).await;
    assert_eq!(code, 200);
    assert_eq!(e["position"], 10);
    assert_eq!(
        strings(&app.get_json("/api/environments/").await, "name"),
        vec!["Dev", "Staging", "perf-lab", "Production"]
    );
}

#[tokio::test]
async fn a_position_orders_environments_of_one_type() {
    let app = common::spawn_app().await;
    for env in ["prod-us", "prod-eu", "prod-ap"] {
        app.deploy_ok("api", "1.0", env, "success").await;
    }
    assert_eq!(
        strings(&app.get_json("/api/environments/").await, "name"),
        vec!["prod-ap", "prod-eu", "prod-us"],
        "same position: by name"
    );
    for (name, position) in [("prod-us", 1), ("prod-eu", 2), ("prod-ap", 3)] {
        let e = environment_named(&app, name).await;
        assert_eq!(
            patch_environment(&app, &id(&e), json!({ "position": position }))
                .await
                .0,
            200
        );
    }
    assert_eq!(
        strings(&app.get_json("/api/environments/").await, "name"),
        vec!["prod-us", "prod-eu", "prod-ap"]
    );
}

#[tokio::test]
async fn a_bad_environment_edit_is_refused() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("api", "1.0", "Production", "success").await;
    let dev = id(&environment_named(&app, "Dev").await);

    let (code, body) = patch_environment(&app, &dev, json!({ "type": "prod" })).await;
    assert_422_at(code, &body, &["body", "type"]);
    let (code, body) = patch_environment(&app, &dev, json!({ "name": " " })).await;
    assert_422_at(code, &body, &["body", "name"]);
    let (code, body) = patch_environment(&app, &dev, json!({ "name": "Production" })).await;
    assert_eq!(code, 409, "{body}");

    let e = app.get_json(&format!("/api/environments/{dev}")).await;
    assert_eq!(e["name"], "Dev");
    assert_eq!(e["type"], "dev");

    for bad in [UNKNOWN, "nope"] {
        let (code, _) = answer(app.get(&format!("/api/environments/{bad}")).await).await;
        assert_eq!(code, 404);
        let (code, _) = patch_environment(&app, bad, json!({ "position": 1 })).await;
        assert_eq!(code, 404);
    }
}

// ---------------------------------------------------------------------------------------------
// /api/state/

#[tokio::test]
async fn the_state_shows_the_current_version_of_each_product_in_each_environment() {
    let app = common::spawn_app().await;
    for env in ["Production", "Staging", "Dev"] {
        app.deploy_ok("api", "1.0", env, "success").await;
    }
    let dev_11 = app.deploy_ok("api", "1.1", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Production", "success").await;
    create_product(&app, json!({ "name": "idle" })).await;

    let s = app.get_json("/api/state/").await;
    assert_eq!(
        strings(&s["environments"], "name"),
        vec!["Dev", "Staging", "Production"]
    );
    assert_eq!(
        strings(&s["products"], "product_name"),
        vec!["api", "idle", "web"]
    );
    for row in arr(&s["products"]) {
        assert_eq!(
            strings(&row["cells"], "environment_name"),
            vec!["Dev", "Staging", "Production"]
        );
    }

    let dev = state_cell(&s, "api", "Dev");
    assert_eq!(dev["current_version"], "1.1");
    assert_eq!(dev["current_version_id"], dev_11["version_id"]);
    assert_utc(&dev["deployed_at"]);
    assert_eq!(dev["latest"], Value::Null);
    assert_eq!(state_cell(&s, "api", "Staging")["current_version"], "1.0");
    assert_eq!(
        state_cell(&s, "api", "Production")["current_version"],
        "1.0"
    );

    assert_eq!(state_cell(&s, "web", "Dev")["current_version"], "2.0");
    let nothing = state_cell(&s, "web", "Staging");
    assert_eq!(nothing["current_version"], Value::Null);
    assert_eq!(nothing["current_version_id"], Value::Null);
    assert_eq!(nothing["deployed_at"], Value::Null);
    assert_eq!(nothing["latest"], Value::Null);

    for env in ["Dev", "Staging", "Production"] {
        assert_eq!(state_cell(&s, "idle", env)["current_version"], Value::Null);
    }
}

#[tokio::test]
async fn the_state_shows_a_newer_attempt_next_to_the_current_version() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "success").await;
    app.deploy_ok("api", "1.1", "Production", "failed").await;
    app.deploy_ok("api", "1.0", "Staging", "success").await;
    app.deploy_ok("api", "1.1", "Staging", "started").await;
    app.deploy_ok("api", "1.2", "Dev", "failed").await;

    let s = app.get_json("/api/state/").await;
    let prod = state_cell(&s, "api", "Production");
    assert_eq!(prod["current_version"], "1.0");
    assert_eq!(prod["latest"]["version"], "1.1");
    assert_eq!(prod["latest"]["status"], "failed");
    assert_utc(&prod["latest"]["at"]);

    let staging = state_cell(&s, "api", "Staging");
    assert_eq!(staging["current_version"], "1.0");
    assert_eq!(staging["latest"]["version"], "1.1");
    assert_eq!(staging["latest"]["status"], "started");

    // Never deployed there: only the attempt.
    let dev = state_cell(&s, "api", "Dev");
    assert_eq!(dev["current_version"], Value::Null);
    assert_eq!(dev["latest"]["version"], "1.2");
    assert_eq!(dev["latest"]["status"], "failed");

    // Once the attempt succeeds it is the current version, with nothing newer.
    app.deploy_ok("api", "1.1", "Staging", "success").await;
    let s = app.get_json("/api/state/").await;
    let staging = state_cell(&s, "api", "Staging");
    assert_eq!(staging["current_version"], "1.1");
    assert_eq!(staging["latest"], Value::Null);
}

#[tokio::test]
async fn a_failed_redeploy_of_the_current_version_shows_as_a_newer_attempt() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "success").await;
    app.deploy_ok("api", "1.0", "Production", "failed").await;
    let s = app.get_json("/api/state/").await;
    let prod = state_cell(&s, "api", "Production");
    assert_eq!(prod["current_version"], "1.0");
    assert_eq!(prod["latest"]["version"], "1.0");
    assert_eq!(prod["latest"]["status"], "failed");
}

#[tokio::test]
async fn the_current_version_is_the_one_whose_deployment_completed_last() {
    // 1.0 starts rolling out, 1.1 is deployed meanwhile, then 1.0 finishes: 1.0 runs there now.
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "started").await;
    app.deploy_ok("api", "1.1", "Production", "success").await;
    app.deploy_ok("api", "1.0", "Production", "success").await;
    let s = app.get_json("/api/state/").await;
    let prod = state_cell(&s, "api", "Production");
    assert_eq!(
        prod["current_version"], "1.0",
        "the most recently completed deployment is 1.0's: {prod}"
    );
}

#[tokio::test]
async fn drift_marks_products_whose_environments_run_different_versions() {
    let app = common::spawn_app().await;
    // api: 1.1 in Dev, 1.0 in Production → drift.
    app.deploy_ok("api", "1.0", "Production", "success").await;
    app.deploy_ok("api", "1.1", "Dev", "success").await;
    // web: 2.0 everywhere it runs → no drift, even if a newer attempt failed somewhere.
    app.deploy_ok("web", "2.0", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Production", "success").await;
    app.deploy_ok("web", "2.1", "Dev", "failed").await;
    // solo: one environment only → no drift.
    app.deploy_ok("solo", "1.0", "Dev", "success").await;
    // ghost: never completed anywhere → no drift.
    app.deploy_ok("ghost", "0.1", "Dev", "failed").await;

    let s = app.get_json("/api/state/").await;
    assert_eq!(state_row(&s, "api")["drift"], true);
    assert_eq!(state_row(&s, "web")["drift"], false);
    assert_eq!(state_row(&s, "solo")["drift"], false);
    assert_eq!(state_row(&s, "ghost")["drift"], false);

    // Catching Production up ends the drift.
    app.deploy_ok("api", "1.1", "Production", "success").await;
    let s = app.get_json("/api/state/").await;
    assert_eq!(state_row(&s, "api")["drift"], false);
}

#[tokio::test]
async fn the_state_of_an_empty_database_is_empty() {
    let app = common::spawn_app().await;
    let s = app.get_json("/api/state/").await;
    assert_eq!(s, json!({ "environments": [], "products": [] }));
}

// ---------------------------------------------------------------------------------------------
// Health and OpenAPI

#[tokio::test]
async fn health_says_ok_and_names_the_database() {
    let app = common::spawn_app().await;
    let res = app.get("/api/health").await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.expect("JSON");
    let want = match app.database {
        releaseboard::store::DbTarget::Sqlite(_) => "sqlite",
        releaseboard::store::DbTarget::Postgres(_) => "postgres",
    };
    assert_eq!(body, json!({ "status": "ok", "database": want }));
}

#[tokio::test]
async fn the_openapi_document_lists_the_release_routes() {
    let app = common::spawn_app().await;
    let doc = app.get_json("/api/openapi.json").await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "an OpenAPI 3 document"
    );
    let paths = doc["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("paths object: {doc}"));
    let has = |path: &str, method: &str| {
        let found = paths
            .iter()
            .find(|(p, _)| p.trim_end_matches('/') == path.trim_end_matches('/'))
            .map(|(_, ops)| ops.get(method).is_some())
            .unwrap_or(false);
        assert!(found, "{method} {path} missing from {:?}", paths.keys());
    };
    has("/api/releases/", "get");
    has("/api/releases/", "post");
    has("/api/releases/{id}", "get");
    has("/api/releases/{id}", "patch");
    has("/api/releases/{id}/versions", "get");
    has("/api/releases/{id}/versions", "post");
    has("/api/releases/{id}/versions/{version_id}", "delete");
    has("/api/releases/{id}/deployments", "get");
    has("/api/releases/{id}/matrix", "get");
    has("/api/releases/{id}/audit", "get");
    has("/api/products/", "get");
    has("/api/environments/{id}", "patch");
    has("/api/state/", "get");
    has("/api/health", "get");

    // Writes declare the bearer key they need; reads do not.
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    for (path, method) in [
        ("/api/releases/", "post"),
        ("/api/deployment-events/", "post"),
        ("/api/products/{id}", "delete"),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(
            op["security"][0]["api_key"],
            json!([]),
            "{method} {path}: {op}"
        );
        assert!(op["responses"]["401"].is_object(), "{method} {path}");
    }
    assert!(doc["paths"]["/api/releases/"]["get"]["security"].is_null());
}
