//! The releases API of SPEC §4, end to end through HTTP: lifecycle, composition, audit trail,
//! list, detail and progress, the release matrix and the "ready to complete" verdict.

use crate::common;

use crate::common::{answer, arr, assert_utc, release, strings, TestApp, UNKNOWN};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers local to this file

/// Creates a release from a full body, asserting 201; returns the release object.
async fn create(app: &TestApp, body: Value) -> Value {
    let (code, out) = answer(app.post_json("/api/releases/", &body).await).await;
    assert_eq!(code, 201, "creating {body}: {out}");
    out
}

async fn patch(app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    answer(app.patch_json(&format!("/api/releases/{id}"), &body).await).await
}

async fn set_status(app: &TestApp, id: &str, status: &str) -> (u16, Value) {
    patch(app, id, json!({ "status": status })).await
}

async fn release_versions(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/releases/{id}/versions")).await
}

async fn matrix(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/releases/{id}/matrix")).await
}

async fn audit(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/releases/{id}/audit")).await
}

async fn ready(app: &TestApp, id: &str) -> bool {
    release(app, id).await["progress"]["ready_to_complete"]
        .as_bool()
        .expect("ready_to_complete is a bool")
}

/// Adds a version by name and returns status and body.
async fn add(app: &TestApp, id: &str, product: &str, version: &str) -> (u16, Value) {
    answer(
        app.post_json(
            &format!("/api/releases/{id}/versions"),
            &json!({ "product_name": product, "version": version }),
        )
        .await,
    )
    .await
}

/// The id of a version, registered by a completed deployment to `Dev` if needed.
async fn version_id(app: &TestApp, product: &str, version: &str) -> String {
    let body = app
        .get_json(&format!("/api/versions/?product={product}&limit=200"))
        .await;
    if let Some(v) = arr(&body).iter().find(|v| v["version"] == version) {
        return v["id"].as_str().expect("id").to_string();
    }
    app.deploy_ok(product, version, "Dev", "success").await["version_id"]
        .as_str()
        .expect("version_id")
        .to_string()
}

/// The `loc`s of a 422 answer.
fn locs(body: &Value) -> Vec<Vec<String>> {
    arr(&body["detail"])
        .iter()
        .map(|e| {
            arr(&e["loc"])
                .iter()
                .map(|s| s.as_str().expect("loc part").to_string())
                .collect()
        })
        .collect()
}

fn assert_422_at(code: u16, body: &Value, loc: &[&str]) {
    assert_eq!(code, 422, "{body}");
    let want: Vec<String> = loc.iter().map(|s| s.to_string()).collect();
    assert!(locs(body).contains(&want), "no error at {loc:?}: {body}");
    for e in arr(&body["detail"]) {
        assert!(e["msg"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
        assert!(e["type"].is_string(), "{e}");
    }
}

fn detail_text(body: &Value) -> String {
    body["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("detail should be a message: {body}"))
        .to_string()
}

fn time(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time string")).expect("RFC 3339")
}

/// The matrix cell of (product, environment).
fn cell<'a>(m: &'a Value, product: &str, environment: &str) -> &'a Value {
    let row = arr(&m["rows"])
        .iter()
        .find(|r| r["product_name"] == product)
        .unwrap_or_else(|| panic!("no row for {product}: {m}"));
    arr(&row["cells"])
        .iter()
        .find(|c| c["environment_name"] == environment)
        .unwrap_or_else(|| panic!("no cell {product}/{environment}: {m}"))
}

fn state(m: &Value, product: &str, environment: &str) -> String {
    cell(m, product, environment)["state"]
        .as_str()
        .expect("state")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Creating releases

#[tokio::test]
async fn a_new_release_is_a_draft_with_no_versions() {
    let app = common::spawn_app().await;
    let r = create(
        &app,
        json!({
            "name": "User Platform v2.0",
            "description": "the new login",
            "extra_metadata": { "jira": "UP-42" }
        }),
    )
    .await;
    assert!(
        uuid::Uuid::parse_str(r["id"].as_str().expect("id")).is_ok(),
        "{r}"
    );
    assert_eq!(r["name"], "User Platform v2.0");
    assert_eq!(r["description"], "the new login");
    assert_eq!(r["status"], "draft");
    assert_eq!(r["extra_metadata"], json!({ "jira": "UP-42" }));
    assert_eq!(r["version_count"], 0);
    assert_eq!(r["completed_at"], Value::Null);
    assert_utc(&r["created_at"]);
    assert_utc(&r["updated_at"]);

    let id = r["id"].as_str().expect("id");
    let again = release(&app, id).await;
    assert_eq!(again["name"], "User Platform v2.0");
    assert_eq!(again["status"], "draft");
    assert_eq!(again["versions"], json!([]));
}

#[tokio::test]
async fn a_release_without_metadata_has_an_empty_metadata_object() {
    let app = common::spawn_app().await;
    let r = create(&app, json!({ "name": "Plain" })).await;
    assert_eq!(r["extra_metadata"], json!({}));
    assert_eq!(r["description"], Value::Null);
}

#[tokio::test]
async fn a_release_may_be_created_in_progress() {
    let app = common::spawn_app().await;
    let r = create(&app, json!({ "name": "Hotfix", "status": "in_progress" })).await;
    assert_eq!(r["status"], "in_progress");
    assert_eq!(r["completed_at"], Value::Null);
}

#[tokio::test]
async fn a_second_release_with_the_same_name_is_a_conflict() {
    let app = common::spawn_app().await;
    app.create_release("Q4 Sprint 3").await;
    let (code, body) = answer(
        app.post_json("/api/releases/", &json!({ "name": "Q4 Sprint 3" }))
            .await,
    )
    .await;
    assert_eq!(code, 409, "{body}");
    assert!(detail_text(&body).contains("Q4 Sprint 3"), "{body}");

    // Names are compared after trimming.
    let (code, _) = answer(
        app.post_json("/api/releases/", &json!({ "name": "  Q4 Sprint 3  " }))
            .await,
    )
    .await;
    assert_eq!(code, 409);

    let list = app.get_json("/api/releases/").await;
    assert_eq!(arr(&list).len(), 1);
}

#[tokio::test]
async fn release_names_are_stored_trimmed() {
    let app = common::spawn_app().await;
    let r = create(&app, json!({ "name": "  Padded  " })).await;
    assert_eq!(r["name"], "Padded");
}

#[tokio::test]
async fn an_invalid_release_name_is_a_422_at_the_name_field() {
    let app = common::spawn_app().await;
    for bad in [
        json!({ "name": "" }),
        json!({ "name": "    " }),
        json!({ "name": "x".repeat(201) }),
        json!({ "name": "bad\u{7}name" }),
        json!({ "name": "line\nbreak" }),
        json!({ "name": 42 }),
        json!({ "description": "no name at all" }),
    ] {
        let (code, body) = answer(app.post_json("/api/releases/", &bad).await).await;
        assert_422_at(code, &body, &["body", "name"]);
    }
    // 200 characters is still fine, and so are non-ASCII ones.
    create(&app, json!({ "name": "é".repeat(200) })).await;
    let list = app.get_json("/api/releases/").await;
    assert_eq!(arr(&list).len(), 1, "only the valid release exists");
}

#[tokio::test]
async fn metadata_that_is_not_a_small_object_is_a_422_at_extra_metadata() {
    let app = common::spawn_app().await;
    for bad in [
        json!([1, 2]),
        json!("text"),
        json!(7),
        json!(true),
        json!({ "blob": "x".repeat(100 * 1024) }),
    ] {
        let (code, body) = answer(
            app.post_json(
                "/api/releases/",
                &json!({ "name": "Meta", "extra_metadata": bad }),
            )
            .await,
        )
        .await;
        assert_422_at(code, &body, &["body", "extra_metadata"]);
    }
    let id = app.create_release("Meta").await;
    let (code, body) = patch(&app, &id, json!({ "extra_metadata": [1] })).await;
    assert_422_at(code, &body, &["body", "extra_metadata"]);
    assert_eq!(release(&app, &id).await["extra_metadata"], json!({}));
}

#[tokio::test]
async fn an_unknown_release_status_is_a_422_at_status() {
    let app = common::spawn_app().await;
    let (code, body) = answer(
        app.post_json(
            "/api/releases/",
            &json!({ "name": "Odd", "status": "shipped" }),
        )
        .await,
    )
    .await;
    assert_422_at(code, &body, &["body", "status"]);

    let id = app.create_release("Even").await;
    let (code, body) = set_status(&app, &id, "done").await;
    assert_422_at(code, &body, &["body", "status"]);
    assert_eq!(release(&app, &id).await["status"], "draft");
}

#[tokio::test]
async fn several_invalid_fields_are_reported_together() {
    let app = common::spawn_app().await;
    let (code, body) = answer(
        app.post_json(
            "/api/releases/",
            &json!({ "name": "", "status": "nope", "extra_metadata": [] }),
        )
        .await,
    )
    .await;
    assert_422_at(code, &body, &["body", "name"]);
    assert_422_at(code, &body, &["body", "status"]);
    assert_422_at(code, &body, &["body", "extra_metadata"]);
}

#[tokio::test]
async fn malformed_json_for_a_release_is_a_400_and_a_wrong_content_type_a_415() {
    let app = common::spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/releases/"))
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("POST");
    let (code, body) = answer(res).await;
    assert_eq!(code, 400, "{body}");
    assert!(body["detail"].is_string(), "{body}");

    let res = app
        .client
        .post(app.url("/api/releases/"))
        .header("Content-Type", "text/plain")
        .body("{\"name\": \"x\"}")
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status().as_u16(), 415);
}

// ---------------------------------------------------------------------------------------------
// Status changes

#[tokio::test]
async fn a_draft_and_an_in_progress_release_can_go_back_and_forth() {
    let app = common::spawn_app().await;
    let id = app.create_release("Back and forth").await;
    for next in ["in_progress", "draft", "in_progress", "draft"] {
        let (code, body) = set_status(&app, &id, next).await;
        assert_eq!(code, 200, "to {next}: {body}");
        assert_eq!(body["status"], next);
        assert_eq!(body["completed_at"], Value::Null);
    }
}

#[tokio::test]
async fn drafts_and_in_progress_releases_can_be_completed_or_cancelled() {
    let app = common::spawn_app().await;
    for (from, to) in [
        ("draft", "completed"),
        ("draft", "cancelled"),
        ("in_progress", "completed"),
        ("in_progress", "cancelled"),
    ] {
        let r = create(
            &app,
            json!({ "name": format!("{from} to {to}"), "status": from }),
        )
        .await;
        let id = r["id"].as_str().expect("id");
        // Only a release with versions can be completed.
        assert_eq!(app.add_to_release(id, "api", "1.0").await, 201);
        let (code, body) = set_status(&app, id, to).await;
        assert_eq!(code, 200, "{from} → {to}: {body}");
        assert_eq!(body["status"], to);
        assert_eq!(release(&app, id).await["status"], to);
    }
}

#[tokio::test]
async fn release_status_names_are_accepted_in_any_case() {
    let app = common::spawn_app().await;
    let id = app.create_release("Shouting").await;
    let (code, body) = set_status(&app, &id, " IN_PROGRESS ").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "in_progress");
}

#[tokio::test]
async fn a_completed_release_can_no_longer_change_status() {
    let app = common::spawn_app().await;
    let id = app.create_release("Done").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    assert_eq!(set_status(&app, &id, "completed").await.0, 200);
    for next in ["draft", "in_progress", "cancelled"] {
        let (code, body) = set_status(&app, &id, next).await;
        assert_eq!(code, 409, "completed → {next}: {body}");
        assert!(body["detail"].is_string(), "{body}");
    }
    assert_eq!(release(&app, &id).await["status"], "completed");
}

#[tokio::test]
async fn a_cancelled_release_can_no_longer_change_status() {
    let app = common::spawn_app().await;
    let id = app.create_release("Dropped").await;
    assert_eq!(set_status(&app, &id, "cancelled").await.0, 200);
    for next in ["draft", "in_progress", "completed"] {
        let (code, body) = set_status(&app, &id, next).await;
        assert_eq!(code, 409, "cancelled → {next}: {body}");
    }
    let r = release(&app, &id).await;
    assert_eq!(r["status"], "cancelled");
    assert_eq!(r["completed_at"], Value::Null);
}

#[tokio::test]
async fn a_refused_status_change_changes_nothing_else_either() {
    let app = common::spawn_app().await;
    let id = app.create_release("Frozen").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    assert_eq!(set_status(&app, &id, "completed").await.0, 200);
    let before = audit(&app, &id).await;
    let (code, _) = patch(
        &app,
        &id,
        json!({ "name": "Renamed on the way", "status": "draft" }),
    )
    .await;
    assert_eq!(code, 409);
    let r = release(&app, &id).await;
    assert_eq!(r["name"], "Frozen");
    assert_eq!(r["status"], "completed");
    assert_eq!(
        audit(&app, &id).await,
        before,
        "a refused change leaves no trace"
    );
}

#[tokio::test]
async fn completed_at_is_set_only_when_the_release_is_completed() {
    let app = common::spawn_app().await;
    let id = app.create_release("Timing").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    assert_eq!(release(&app, &id).await["completed_at"], Value::Null);
    let (_, r) = set_status(&app, &id, "in_progress").await;
    assert_eq!(r["completed_at"], Value::Null);
    let (code, r) = set_status(&app, &id, "completed").await;
    assert_eq!(code, 200);
    assert_utc(&r["completed_at"]);
    assert!(time(&r["completed_at"]) >= time(&r["created_at"]), "{r}");
    assert_eq!(release(&app, &id).await["completed_at"], r["completed_at"]);

    let cancelled = app.create_release("Never done").await;
    let (_, r) = set_status(&app, &cancelled, "cancelled").await;
    assert_eq!(r["completed_at"], Value::Null);

    // Nothing is born completed: a new release has no versions (SPEC §4).
    let res = app
        .post_json(
            "/api/releases/",
            &json!({ "name": "Born done", "status": "completed" }),
        )
        .await;
    let (code, body) = common::answer(res).await;
    assert_eq!((code, body["code"].as_str()), (409, Some("release_empty")));
    assert_eq!(app.get_json("/api/releases/?q=Born").await, json!([]));
}

#[tokio::test]
async fn a_release_can_be_renamed_redescribed_and_given_metadata() {
    let app = common::spawn_app().await;
    let id = app.create_release("Old name").await;
    let (code, r) = patch(
        &app,
        &id,
        json!({
            "name": "New name",
            "description": "what it is for",
            "extra_metadata": { "ticket": "REL-1" }
        }),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["name"], "New name");
    assert_eq!(r["description"], "what it is for");
    assert_eq!(r["extra_metadata"], json!({ "ticket": "REL-1" }));
    assert_eq!(r["status"], "draft");
    assert!(time(&r["updated_at"]) >= time(&r["created_at"]));

    // An absent field is left alone; null clears the description.
    let (code, r) = patch(&app, &id, json!({ "description": null })).await;
    assert_eq!(code, 200);
    assert_eq!(r["description"], Value::Null);
    assert_eq!(r["name"], "New name");
    assert_eq!(r["extra_metadata"], json!({ "ticket": "REL-1" }));
}

#[tokio::test]
async fn renaming_a_release_to_a_taken_name_is_a_conflict() {
    let app = common::spawn_app().await;
    app.create_release("Taken").await;
    let id = app.create_release("Free").await;
    let (code, body) = patch(&app, &id, json!({ "name": "Taken" })).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(release(&app, &id).await["name"], "Free");
    // Keeping one's own name is not a conflict.
    let (code, _) = patch(&app, &id, json!({ "name": "Free" })).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn an_unknown_release_is_a_404_everywhere() {
    let app = common::spawn_app().await;
    let vid = version_id(&app, "api", "1.0").await;
    for id in [UNKNOWN, "not-a-uuid"] {
        for path in [
            format!("/api/releases/{id}"),
            format!("/api/releases/{id}/versions"),
            format!("/api/releases/{id}/deployments"),
            format!("/api/releases/{id}/matrix"),
            format!("/api/releases/{id}/audit"),
        ] {
            let (code, body) = answer(app.get(&path).await).await;
            assert_eq!(code, 404, "GET {path}: {body}");
            assert!(body["detail"].is_string(), "{body}");
        }
        let (code, _) = patch(&app, id, json!({ "name": "x" })).await;
        assert_eq!(code, 404, "PATCH {id}");
        let (code, _) = add(&app, id, "api", "1.0").await;
        assert_eq!(code, 404, "add to {id}");
        let res = app
            .delete(&format!("/api/releases/{id}/versions/{vid}"))
            .await;
        assert_eq!(res.status().as_u16(), 404, "remove from {id}");
    }
}

// ---------------------------------------------------------------------------------------------
// Composition

#[tokio::test]
async fn a_version_is_added_by_product_name_and_version() {
    let app = common::spawn_app().await;
    app.deploy_ok("user-service", "1.2.3", "Dev", "success")
        .await;
    let id = app.create_release("By name").await;
    let (code, v) = add(&app, &id, "user-service", "1.2.3").await;
    assert_eq!(code, 201, "{v}");
    assert_eq!(v["product_name"], "user-service");
    assert_eq!(v["version"], "1.2.3");
    let r = release(&app, &id).await;
    assert_eq!(r["version_count"], 1);
    assert_eq!(
        strings(&r["versions"], "id"),
        vec![v["id"].as_str().expect("id")]
    );
}

#[tokio::test]
async fn a_version_is_added_by_its_id() {
    let app = common::spawn_app().await;
    let vid = version_id(&app, "auth-service", "2.1.0").await;
    let id = app.create_release("By id").await;
    let (code, v) = answer(
        app.post_json(
            &format!("/api/releases/{id}/versions"),
            &json!({ "version_id": vid }),
        )
        .await,
    )
    .await;
    assert_eq!(code, 201, "{v}");
    assert_eq!(v["id"], vid.as_str());
    assert_eq!(v["product_name"], "auth-service");
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(
        strings(&release_versions(&app, &id).await, "version"),
        vec!["2.1.0"]
    );
}

#[tokio::test]
async fn an_unknown_version_id_is_a_404() {
    let app = common::spawn_app().await;
    let id = app.create_release("Ghosts").await;
    for vid in [UNKNOWN, "nonsense"] {
        let (code, body) = answer(
            app.post_json(
                &format!("/api/releases/{id}/versions"),
                &json!({ "version_id": vid }),
            )
            .await,
        )
        .await;
        assert_eq!(code, 404, "{vid}: {body}");
        assert!(body["detail"].is_string(), "{body}");
    }
    assert_eq!(release_versions(&app, &id).await, json!([]));
}

#[tokio::test]
async fn adding_without_saying_which_version_is_a_422() {
    let app = common::spawn_app().await;
    let id = app.create_release("Vague").await;
    let path = format!("/api/releases/{id}/versions");
    let (code, body) = answer(app.post_json(&path, &json!({})).await).await;
    assert_eq!(code, 422, "{body}");
    let (code, body) = answer(
        app.post_json(&path, &json!({ "product_name": "api" }))
            .await,
    )
    .await;
    assert_422_at(code, &body, &["body", "version"]);
    let (code, body) = add(&app, &id, "api", "1.0 beta").await;
    assert_422_at(code, &body, &["body", "version"]);
    assert_eq!(release_versions(&app, &id).await, json!([]));
}

#[tokio::test]
async fn a_second_version_of_a_product_is_a_conflict_naming_the_one_there() {
    let app = common::spawn_app().await;
    let id = app.create_release("One per product").await;
    assert_eq!(add(&app, &id, "user-service", "1.2.3").await.0, 201);
    let (code, body) = add(&app, &id, "user-service", "1.2.4").await;
    assert_eq!(code, 409, "{body}");
    let msg = detail_text(&body);
    assert!(msg.contains("user-service"), "names the product: {msg}");
    assert!(
        msg.contains("1.2.3"),
        "names the version already there: {msg}"
    );

    // The same by id.
    let other = version_id(&app, "user-service", "1.2.5").await;
    let (code, body) = answer(
        app.post_json(
            &format!("/api/releases/{id}/versions"),
            &json!({ "version_id": other }),
        )
        .await,
    )
    .await;
    assert_eq!(code, 409, "{body}");
    assert!(detail_text(&body).contains("1.2.3"), "{body}");

    let versions = release_versions(&app, &id).await;
    assert_eq!(strings(&versions, "version"), vec!["1.2.3"]);
}

#[tokio::test]
async fn adding_a_version_already_in_the_release_is_a_no_op() {
    let app = common::spawn_app().await;
    let id = app.create_release("Twice").await;
    let (code, first) = add(&app, &id, "api-gateway", "3.0.1").await;
    assert_eq!(code, 201);
    let (code, second) = add(&app, &id, "api-gateway", "3.0.1").await;
    assert_eq!(code, 200, "{second}");
    assert_eq!(second["id"], first["id"]);
    let (code, _) = answer(
        app.post_json(
            &format!("/api/releases/{id}/versions"),
            &json!({ "version_id": first["id"] }),
        )
        .await,
    )
    .await;
    assert_eq!(code, 200);

    assert_eq!(release(&app, &id).await["version_count"], 1);
    let added = arr(&audit(&app, &id).await)
        .iter()
        .filter(|e| e["action"] == "version_added")
        .count();
    assert_eq!(added, 1, "a no-op writes no audit entry");
}

#[tokio::test]
async fn the_same_version_can_be_in_several_releases() {
    let app = common::spawn_app().await;
    let a = app.create_release("Release A").await;
    let b = app.create_release("Release B").await;
    let c = app.create_release("Release C").await;
    for id in [&a, &b, &c] {
        assert_eq!(app.add_to_release(id, "user-service", "1.2.3").await, 201);
    }
    for id in [&a, &b, &c] {
        assert_eq!(
            strings(&release_versions(&app, id).await, "version"),
            vec!["1.2.3"]
        );
    }
    let list = app.get_json("/api/releases/").await;
    assert!(arr(&list).iter().all(|r| r["version_count"] == 1), "{list}");
}

#[tokio::test]
async fn removing_a_version_leaves_the_version_itself_alone() {
    let app = common::spawn_app().await;
    app.deploy_ok("user-service", "1.2.3", "Production", "success")
        .await;
    let id = app.create_release("Shrinking").await;
    let (_, v) = add(&app, &id, "user-service", "1.2.3").await;
    let vid = v["id"].as_str().expect("id").to_string();

    let res = app
        .delete(&format!("/api/releases/{id}/versions/{vid}"))
        .await;
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(release_versions(&app, &id).await, json!([]));
    assert_eq!(release(&app, &id).await["version_count"], 0);

    let version = app.get_json(&format!("/api/versions/{vid}")).await;
    assert_eq!(version["version"], "1.2.3");
    assert_eq!(version["product_name"], "user-service");
    let deployments = app.get_json("/api/deployments/?product=user-service").await;
    assert_eq!(arr(&deployments).len(), 1, "its deployments stay too");

    // With the slot free, another version of the product may come in.
    assert_eq!(add(&app, &id, "user-service", "1.2.4").await.0, 201);
}

#[tokio::test]
async fn removing_a_version_that_is_not_in_the_release_is_a_404() {
    let app = common::spawn_app().await;
    let id = app.create_release("Short").await;
    let outside = version_id(&app, "api", "9.9").await;
    for vid in [outside.as_str(), UNKNOWN] {
        let (code, body) = answer(
            app.delete(&format!("/api/releases/{id}/versions/{vid}"))
                .await,
        )
        .await;
        assert_eq!(code, 404, "{vid}: {body}");
    }
}

#[tokio::test]
async fn an_archived_release_keeps_its_version_list_frozen() {
    let app = common::spawn_app().await;
    for end in ["completed", "cancelled"] {
        let id = app.create_release(&format!("Archived {end}")).await;
        let (_, v) = add(&app, &id, "user-service", "1.2.3").await;
        let vid = v["id"].as_str().expect("id").to_string();
        assert_eq!(set_status(&app, &id, end).await.0, 200);
        let before = audit(&app, &id).await;

        let (code, body) = add(&app, &id, "auth-service", "2.1.0").await;
        assert_eq!(code, 409, "{end}: adding: {body}");
        assert!(body["detail"].is_string());
        let (code, _) = add(&app, &id, "user-service", "1.2.4").await;
        assert_eq!(code, 409, "{end}: swapping");
        let (code, body) = answer(
            app.delete(&format!("/api/releases/{id}/versions/{vid}"))
                .await,
        )
        .await;
        assert_eq!(code, 409, "{end}: removing: {body}");

        let versions = release_versions(&app, &id).await;
        assert_eq!(strings(&versions, "id"), vec![vid.clone()], "{end}");
        assert_eq!(release(&app, &id).await["version_count"], 1);
        assert_eq!(audit(&app, &id).await, before, "{end}: nothing recorded");
    }
}

#[tokio::test]
async fn an_archived_release_stays_browsable() {
    let app = common::spawn_app().await;
    app.deploy_ok("web", "1.0", "Production", "success").await;
    let id = app.create_release("History").await;
    add(&app, &id, "web", "1.0").await;
    assert_eq!(set_status(&app, &id, "completed").await.0, 200);
    for path in ["", "/versions", "/deployments", "/matrix", "/audit"] {
        let res = app.get(&format!("/api/releases/{id}{path}")).await;
        assert_eq!(res.status().as_u16(), 200, "{path}");
    }
    let list = app.get_json("/api/releases/?status=completed").await;
    assert_eq!(strings(&list, "name"), vec!["History"]);
}

// ---------------------------------------------------------------------------------------------
// Audit trail

#[tokio::test]
async fn every_change_to_a_release_writes_an_audit_entry_oldest_first() {
    let app = common::spawn_app().await;
    let id = app.create_release("Audited").await;
    assert_eq!(
        patch(&app, &id, json!({ "description": "now with text" }))
            .await
            .0,
        200
    );
    let (_, v) = add(&app, &id, "user-service", "1.2.3").await;
    let vid = v["id"].as_str().expect("id");
    assert_eq!(
        app.delete(&format!("/api/releases/{id}/versions/{vid}"))
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(set_status(&app, &id, "in_progress").await.0, 200);

    let trail = audit(&app, &id).await;
    assert_eq!(
        strings(&trail, "action"),
        vec![
            "created",
            "edited",
            "version_added",
            "version_removed",
            "status_changed"
        ]
    );
    let mut previous = None;
    for e in arr(&trail) {
        assert!(uuid::Uuid::parse_str(e["id"].as_str().expect("id")).is_ok());
        assert_eq!(e["release_id"], id.as_str());
        assert!(
            e["actor"].as_str().is_some_and(|a| !a.trim().is_empty()),
            "every entry names its actor: {e}"
        );
        assert_utc(&e["created_at"]);
        let t = time(&e["created_at"]);
        if let Some(p) = previous {
            assert!(t >= p, "oldest first: {trail}");
        }
        previous = Some(t);
    }
    let entries = arr(&trail);
    assert_eq!(entries[2]["details"]["version"], "1.2.3");
    assert_eq!(entries[2]["details"]["product"], "user-service");
    assert_eq!(entries[3]["details"]["version"], "1.2.3");
    assert_eq!(entries[4]["details"]["from"], "draft");
    assert_eq!(entries[4]["details"]["to"], "in_progress");
}

#[tokio::test]
async fn completing_a_release_is_recorded_in_its_audit_trail() {
    let app = common::spawn_app().await;
    let id = app.create_release("Shipped").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    set_status(&app, &id, "in_progress").await;
    set_status(&app, &id, "completed").await;
    let trail = audit(&app, &id).await;
    let changes: Vec<(String, String)> = arr(&trail)
        .iter()
        .filter(|e| e["action"] == "status_changed")
        .map(|e| {
            (
                e["details"]["from"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e["details"]["to"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            ("draft".to_string(), "in_progress".to_string()),
            ("in_progress".to_string(), "completed".to_string())
        ]
    );
}

#[tokio::test]
async fn a_rename_is_an_edited_entry_with_the_old_and_new_name() {
    let app = common::spawn_app().await;
    let id = app.create_release("Before").await;
    patch(&app, &id, json!({ "name": "After" })).await;
    let trail = audit(&app, &id).await;
    let edited = arr(&trail)
        .iter()
        .find(|e| e["action"] == "edited")
        .unwrap_or_else(|| panic!("no edited entry: {trail}"));
    assert_eq!(edited["details"]["name"]["from"], "Before");
    assert_eq!(edited["details"]["name"]["to"], "After");
}

// ---------------------------------------------------------------------------------------------
// Lists

async fn list(app: &TestApp, query: &str) -> (Value, i64) {
    let res = app.get(&format!("/api/releases/{query}")).await;
    assert_eq!(res.status().as_u16(), 200, "{query}");
    let total = res
        .headers()
        .get("X-Total-Count")
        .expect("X-Total-Count header")
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("a number");
    (res.json().await.expect("JSON"), total)
}

#[tokio::test]
async fn releases_are_listed_newest_first_with_a_total_count() {
    let app = common::spawn_app().await;
    for name in ["First", "Second", "Third"] {
        app.create_release(name).await;
    }
    let (rows, total) = list(&app, "").await;
    assert_eq!(strings(&rows, "name"), vec!["Third", "Second", "First"]);
    assert_eq!(total, 3);
    for r in arr(&rows) {
        for field in [
            "id",
            "name",
            "description",
            "status",
            "extra_metadata",
            "created_at",
            "updated_at",
            "completed_at",
            "version_count",
        ] {
            assert!(r.get(field).is_some(), "{field} missing in {r}");
        }
    }
}

#[tokio::test]
async fn the_release_list_filters_by_status() {
    let app = common::spawn_app().await;
    app.create_release("A draft").await;
    let b = app.create_release("B moving").await;
    let c = app.create_release("C done").await;
    assert_eq!(app.add_to_release(&c, "api", "1.0").await, 201);
    set_status(&app, &b, "in_progress").await;
    set_status(&app, &c, "completed").await;
    let (rows, total) = list(&app, "?status=in_progress").await;
    assert_eq!(strings(&rows, "name"), vec!["B moving"]);
    assert_eq!(total, 1);
    let (rows, _) = list(&app, "?status=draft").await;
    assert_eq!(strings(&rows, "name"), vec!["A draft"]);
    let (rows, _) = list(&app, "?status=completed").await;
    assert_eq!(strings(&rows, "name"), vec!["C done"]);
    let (rows, total) = list(&app, "?status=cancelled").await;
    assert_eq!(rows, json!([]));
    assert_eq!(total, 0);

    let res = app.get("/api/releases/?status=shipped").await;
    let (code, body) = answer(res).await;
    assert_422_at(code, &body, &["query", "status"]);
}

#[tokio::test]
async fn the_release_list_searches_names() {
    let app = common::spawn_app().await;
    for name in [
        "User Platform v2.0",
        "Q4 Sprint 3",
        "Security Patch 2024.10.1",
        "100% done",
    ] {
        app.create_release(name).await;
    }
    let (rows, total) = list(&app, "?q=Sprint").await;
    assert_eq!(strings(&rows, "name"), vec!["Q4 Sprint 3"]);
    assert_eq!(total, 1);
    let (rows, _) = list(&app, "?q=Pla").await;
    assert_eq!(strings(&rows, "name"), vec!["User Platform v2.0"]);
    // `%` is a literal character, not a wildcard.
    let (rows, _) = list(&app, "?q=%25").await;
    assert_eq!(strings(&rows, "name"), vec!["100% done"]);
    let (rows, total) = list(&app, "?q=nothing-like-it").await;
    assert_eq!(rows, json!([]));
    assert_eq!(total, 0);

    let b = app.create_release("Sprint 4").await;
    set_status(&app, &b, "in_progress").await;
    let (rows, total) = list(&app, "?q=Sprint&status=draft").await;
    assert_eq!(strings(&rows, "name"), vec!["Q4 Sprint 3"]);
    assert_eq!(total, 1);
}

#[tokio::test]
async fn the_release_list_pages_with_limit_and_offset() {
    let app = common::spawn_app().await;
    for i in 1..=5 {
        app.create_release(&format!("R{i}")).await;
    }
    let (rows, total) = list(&app, "?limit=2").await;
    assert_eq!(strings(&rows, "name"), vec!["R5", "R4"]);
    assert_eq!(total, 5, "the total counts every match, not the page");
    let (rows, total) = list(&app, "?limit=2&offset=2").await;
    assert_eq!(strings(&rows, "name"), vec!["R3", "R2"]);
    assert_eq!(total, 5);
    let (rows, _) = list(&app, "?limit=2&offset=4").await;
    assert_eq!(strings(&rows, "name"), vec!["R1"]);
    let (rows, total) = list(&app, "?offset=10").await;
    assert_eq!(rows, json!([]));
    assert_eq!(total, 5);
    let (rows, _) = list(&app, "?limit=200").await;
    assert_eq!(arr(&rows).len(), 5);
}

#[tokio::test]
async fn the_release_list_is_50_long_by_default() {
    let app = common::spawn_app().await;
    for i in 0..51 {
        app.create_release(&format!("Bulk {i:02}")).await;
    }
    let (rows, total) = list(&app, "").await;
    assert_eq!(arr(&rows).len(), 50);
    assert_eq!(total, 51);
}

#[tokio::test]
async fn a_limit_over_200_is_a_422() {
    let app = common::spawn_app().await;
    app.create_release("Only").await;
    let (code, body) = answer(app.get("/api/releases/?limit=201").await).await;
    assert_422_at(code, &body, &["query", "limit"]);
    let (code, body) = answer(app.get("/api/releases/?limit=0").await).await;
    assert_422_at(code, &body, &["query", "limit"]);
    let (code, body) = answer(app.get("/api/releases/?offset=-1").await).await;
    assert_422_at(code, &body, &["query", "offset"]);
    let (code, body) = answer(app.get("/api/releases/?limit=lots").await).await;
    assert_eq!(code, 422, "{body}");
}

#[tokio::test]
async fn the_list_counts_each_release_s_versions() {
    let app = common::spawn_app().await;
    let a = app.create_release("Two").await;
    app.create_release("None").await;
    add(&app, &a, "api", "1.0").await;
    add(&app, &a, "web", "2.0").await;
    let (rows, _) = list(&app, "").await;
    let counts: Vec<(String, i64)> = arr(&rows)
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                r["version_count"].as_i64().expect("count"),
            )
        })
        .collect();
    assert_eq!(counts, vec![("None".into(), 0), ("Two".into(), 2)]);
}

// ---------------------------------------------------------------------------------------------
// Detail, versions, deployments

#[tokio::test]
async fn the_detail_carries_the_versions_and_the_progress_per_environment() {
    let app = common::spawn_app().await;
    app.deploy_ok("web", "2.0", "Production", "success").await;
    app.deploy_ok("web", "2.0", "Dev", "success").await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("api", "1.0", "Staging", "failed").await;
    let id = app.create_release("Progressing").await;
    add(&app, &id, "web", "2.0").await;
    add(&app, &id, "api", "1.0").await;

    let r = release(&app, &id).await;
    assert_eq!(r["name"], "Progressing");
    assert_eq!(r["version_count"], 2);
    assert_eq!(r["versions"], release_versions(&app, &id).await);
    assert_eq!(
        r["progress"]["environments"],
        json!([
            { "name": "Dev", "type": "dev", "deployed": 2, "total": 2 },
            { "name": "Staging", "type": "staging", "deployed": 0, "total": 2 },
            { "name": "Production", "type": "production", "deployed": 1, "total": 2 },
        ])
    );
    assert_eq!(r["progress"]["ready_to_complete"], false);
}

#[tokio::test]
async fn the_release_versions_name_their_products_sorted_by_product() {
    let app = common::spawn_app().await;
    let id = app.create_release("Sorted").await;
    for (p, v) in [
        ("user-service", "1.2.3"),
        ("api-gateway", "3.0.1"),
        ("auth-service", "2.1.0"),
    ] {
        add(&app, &id, p, v).await;
    }
    let versions = release_versions(&app, &id).await;
    assert_eq!(
        strings(&versions, "product_name"),
        vec!["api-gateway", "auth-service", "user-service"]
    );
    assert_eq!(
        strings(&versions, "version"),
        vec!["3.0.1", "2.1.0", "1.2.3"]
    );
    for v in arr(&versions) {
        let vid = v["id"].as_str().expect("id");
        let one = app.get_json(&format!("/api/versions/{vid}")).await;
        assert_eq!(one["product_id"], v["product_id"]);
        assert_eq!(one["product_name"], v["product_name"]);
    }
}

#[tokio::test]
async fn the_release_deployments_are_those_of_its_versions_newest_first() {
    let app = common::spawn_app().await;
    let d1 = app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("api", "0.9", "Dev", "success").await; // another version: not in the release
    app.deploy_ok("other", "5.0", "Dev", "success").await; // another product
    let d2 = app.deploy_ok("web", "2.0", "Dev", "started").await;
    let d3 = app.deploy_ok("api", "1.0", "Production", "failed").await;
    let id = app.create_release("Deploys").await;
    add(&app, &id, "api", "1.0").await;
    add(&app, &id, "web", "2.0").await;

    let res = app.get(&format!("/api/releases/{id}/deployments")).await;
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.expect("JSON");
    let ids = strings(&body, "id");
    assert_eq!(
        ids,
        vec![
            d3["id"].as_str().expect("id"),
            d2["id"].as_str().expect("id"),
            d1["id"].as_str().expect("id"),
        ]
    );
    let first = &arr(&body)[0];
    assert_eq!(first["product_name"], "api");
    assert_eq!(first["version"], "1.0");
    assert_eq!(first["environment_name"], "Production");
    assert_eq!(first["status"], "failed");

    let empty = app.create_release("Nothing deployed").await;
    assert_eq!(
        app.get_json(&format!("/api/releases/{empty}/deployments"))
            .await,
        json!([])
    );
}

// ---------------------------------------------------------------------------------------------
// The matrix

#[tokio::test]
async fn the_matrix_shows_all_four_cell_states() {
    let app = common::spawn_app().await;
    for env in ["Dev", "Test", "Staging", "Production"] {
        app.deploy_ok("other", "0.1", env, "success").await;
    }
    let dev = app.deploy_ok("api", "1.0", "Dev", "success").await;
    let test = app.deploy_ok("api", "1.0", "Test", "started").await;
    let staging = app.deploy_ok("api", "1.0", "Staging", "failed").await;
    let id = app.create_release("Four states").await;
    let (_, v) = add(&app, &id, "api", "1.0").await;

    let m = matrix(&app, &id).await;
    assert_eq!(
        strings(&m["environments"], "name"),
        vec!["Dev", "Test", "Staging", "Production"]
    );
    let rows = arr(&m["rows"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["product_name"], "api");
    assert_eq!(rows[0]["version"], "1.0");
    assert_eq!(rows[0]["version_id"], v["id"]);
    assert_eq!(
        strings(&rows[0]["cells"], "state"),
        vec!["deployed", "in_progress", "failed", "not_deployed"]
    );
    assert_eq!(cell(&m, "api", "Dev")["deployment_id"], dev["id"]);
    assert_eq!(cell(&m, "api", "Test")["deployment_id"], test["id"]);
    assert_eq!(cell(&m, "api", "Staging")["deployment_id"], staging["id"]);
    for env in ["Dev", "Test", "Staging"] {
        assert_utc(&cell(&m, "api", env)["at"]);
    }
    let empty = cell(&m, "api", "Production");
    assert_eq!(empty["deployment_id"], Value::Null);
    assert_eq!(empty["at"], Value::Null);
    assert!(empty.get("superseded_by").is_none(), "{empty}");
}

#[tokio::test]
async fn a_pending_deployment_is_in_progress() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "queued").await;
    let id = app.create_release("Queued").await;
    add(&app, &id, "api", "1.0").await;
    assert_eq!(state(&matrix(&app, &id).await, "api", "Dev"), "in_progress");
}

#[tokio::test]
async fn an_abort_after_a_failure_leaves_the_cell_failed() {
    let app = common::spawn_app().await;
    let failed = app.deploy_ok("api", "1.0", "Production", "failed").await;
    let aborted = app.deploy_ok("api", "1.0", "Production", "aborted").await;
    assert_ne!(failed["id"], aborted["id"], "the abort is a new attempt");
    let id = app.create_release("Aborted").await;
    add(&app, &id, "api", "1.0").await;
    let m = matrix(&app, &id).await;
    assert_eq!(state(&m, "api", "Production"), "failed");
    assert_eq!(cell(&m, "api", "Production")["deployment_id"], failed["id"]);
}

#[tokio::test]
async fn an_aborted_attempt_alone_is_not_deployed() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "skipped").await;
    let id = app.create_release("Skipped").await;
    add(&app, &id, "api", "1.0").await;
    let m = matrix(&app, &id).await;
    assert_eq!(state(&m, "api", "Production"), "not_deployed");
    assert_eq!(cell(&m, "api", "Production")["deployment_id"], Value::Null);
}

#[tokio::test]
async fn an_abort_after_a_success_leaves_the_cell_deployed() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "success").await;
    app.deploy_ok("api", "1.0", "Production", "cancelled").await;
    let id = app.create_release("Kept").await;
    add(&app, &id, "api", "1.0").await;
    assert_eq!(
        state(&matrix(&app, &id).await, "api", "Production"),
        "deployed"
    );
}

#[tokio::test]
async fn a_success_after_a_failure_makes_the_cell_deployed() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "failed").await;
    let ok = app.deploy_ok("api", "1.0", "Production", "success").await;
    let id = app.create_release("Retried").await;
    add(&app, &id, "api", "1.0").await;
    let m = matrix(&app, &id).await;
    assert_eq!(state(&m, "api", "Production"), "deployed");
    assert_eq!(cell(&m, "api", "Production")["deployment_id"], ok["id"]);
}

#[tokio::test]
async fn a_failure_after_a_success_makes_the_cell_failed() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "success").await;
    app.deploy_ok("api", "1.0", "Production", "error").await;
    let id = app.create_release("Broken redeploy").await;
    add(&app, &id, "api", "1.0").await;
    assert_eq!(
        state(&matrix(&app, &id).await, "api", "Production"),
        "failed"
    );
}

#[tokio::test]
async fn the_matrix_follows_one_deployment_through_its_steps() {
    let app = common::spawn_app().await;
    let id = app.create_release("Live view").await;
    add(&app, &id, "api", "1.0").await;
    app.deploy_ok("api", "1.0", "Production", "pending").await;
    assert_eq!(
        state(&matrix(&app, &id).await, "api", "Production"),
        "in_progress"
    );
    app.deploy_ok("api", "1.0", "Production", "deploying").await;
    assert_eq!(
        state(&matrix(&app, &id).await, "api", "Production"),
        "in_progress"
    );
    app.deploy_ok("api", "1.0", "Production", "finished").await;
    assert_eq!(
        state(&matrix(&app, &id).await, "api", "Production"),
        "deployed"
    );
}

#[tokio::test]
async fn a_cell_is_only_about_that_exact_version() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "0.9", "Production", "success").await;
    app.deploy_ok("api", "1.1", "Staging", "failed").await;
    let id = app.create_release("Exact").await;
    add(&app, &id, "api", "1.0").await;
    let m = matrix(&app, &id).await;
    assert_eq!(state(&m, "api", "Production"), "not_deployed");
    assert_eq!(state(&m, "api", "Staging"), "not_deployed");
}

#[tokio::test]
async fn a_deployed_cell_is_superseded_when_another_version_later_completes_there() {
    let app = common::spawn_app().await;
    app.deploy_ok("user-service", "1.2.3", "Dev", "success")
        .await;
    app.deploy_ok("user-service", "1.2.3", "Production", "success")
        .await;
    app.deploy_ok("user-service", "1.2.4", "Production", "success")
        .await;
    let id = app.create_release("Overtaken").await;
    add(&app, &id, "user-service", "1.2.3").await;

    let m = matrix(&app, &id).await;
    let prod = cell(&m, "user-service", "Production");
    assert_eq!(prod["state"], "deployed");
    assert_eq!(prod["superseded_by"], "1.2.4");
    let dev = cell(&m, "user-service", "Dev");
    assert_eq!(dev["state"], "deployed");
    assert!(dev.get("superseded_by").is_none(), "{dev}");

    // The newer version's own release is not superseded by anything.
    let newer = app.create_release("Newer").await;
    add(&app, &newer, "user-service", "1.2.4").await;
    let m = matrix(&app, &newer).await;
    assert!(cell(&m, "user-service", "Production")
        .get("superseded_by")
        .is_none());
}

#[tokio::test]
async fn only_a_completed_deployment_of_another_version_supersedes() {
    let app = common::spawn_app().await;
    app.deploy_ok("user-service", "1.2.3", "Production", "success")
        .await;
    app.deploy_ok("user-service", "1.2.4", "Production", "failed")
        .await;
    app.deploy_ok("user-service", "1.2.5", "Production", "started")
        .await;
    app.deploy_ok("user-service", "1.2.6", "Production", "aborted")
        .await;
    // Another product does not supersede anything either.
    app.deploy_ok("auth-service", "9.0", "Production", "success")
        .await;
    let id = app.create_release("Still current").await;
    add(&app, &id, "user-service", "1.2.3").await;
    let m = matrix(&app, &id).await;
    let prod = cell(&m, "user-service", "Production");
    assert_eq!(prod["state"], "deployed");
    assert!(prod.get("superseded_by").is_none(), "{prod}");
}

#[tokio::test]
async fn an_older_completion_of_another_version_does_not_supersede() {
    let app = common::spawn_app().await;
    app.deploy_ok("user-service", "1.2.2", "Production", "success")
        .await;
    app.deploy_ok("user-service", "1.2.3", "Production", "success")
        .await;
    let id = app.create_release("Latest").await;
    add(&app, &id, "user-service", "1.2.3").await;
    let m = matrix(&app, &id).await;
    assert!(cell(&m, "user-service", "Production")
        .get("superseded_by")
        .is_none());
}

#[tokio::test]
async fn a_rollback_supersedes_the_newer_version() {
    let app = common::spawn_app().await;
    app.deploy_ok("user-service", "1.2.3", "Production", "success")
        .await;
    app.deploy_ok("user-service", "1.2.4", "Production", "success")
        .await;
    app.deploy_ok("user-service", "1.2.3", "Production", "success")
        .await;
    let id = app.create_release("Rolled back").await;
    add(&app, &id, "user-service", "1.2.4").await;
    let prod_cell = cell(&matrix(&app, &id).await, "user-service", "Production").clone();
    assert_eq!(prod_cell["state"], "deployed");
    assert_eq!(prod_cell["superseded_by"], "1.2.3");
}

#[tokio::test]
async fn a_version_that_finished_deploying_last_is_not_superseded_by_one_that_finished_earlier() {
    // 1.2.3 starts rolling out, 1.2.4 is deployed meanwhile, then 1.2.3 finishes: the
    // environment now runs 1.2.3; nothing completed there since.
    let app = common::spawn_app().await;
    app.deploy_ok("user-service", "1.2.3", "Production", "started")
        .await;
    app.deploy_ok("user-service", "1.2.4", "Production", "success")
        .await;
    app.deploy_ok("user-service", "1.2.3", "Production", "success")
        .await;
    let id = app.create_release("Slow rollout").await;
    add(&app, &id, "user-service", "1.2.3").await;
    let prod = cell(&matrix(&app, &id).await, "user-service", "Production").clone();
    assert_eq!(prod["state"], "deployed");
    assert!(
        prod.get("superseded_by").is_none(),
        "1.2.3 completed after 1.2.4, so it is what runs there: {prod}"
    );

    let other = app.create_release("Fast rollout").await;
    add(&app, &other, "user-service", "1.2.4").await;
    let prod = cell(&matrix(&app, &other).await, "user-service", "Production").clone();
    assert_eq!(prod["superseded_by"], "1.2.3", "{prod}");
}

#[tokio::test]
async fn matrix_rows_are_sorted_by_product_name() {
    let app = common::spawn_app().await;
    let id = app.create_release("Rows").await;
    for (p, v) in [
        ("web-frontend", "4.5.0"),
        ("analytics-service", "2.0.0"),
        ("payment-api", "1.8.2"),
        ("mobile-app", "2.3.0"),
        ("notification-service", "3.1.1"),
    ] {
        add(&app, &id, p, v).await;
    }
    let m = matrix(&app, &id).await;
    assert_eq!(
        strings(&m["rows"], "product_name"),
        vec![
            "analytics-service",
            "mobile-app",
            "notification-service",
            "payment-api",
            "web-frontend"
        ]
    );
    assert_eq!(
        strings(&m["rows"], "version"),
        vec!["2.0.0", "2.3.0", "3.1.1", "1.8.2", "4.5.0"]
    );
}

#[tokio::test]
async fn matrix_columns_follow_the_environment_types_whatever_the_creation_order() {
    let app = common::spawn_app().await;
    for env in ["Production", "Dev", "Staging", "Test"] {
        app.deploy_ok("api", "1.0", env, "success").await;
    }
    let id = app.create_release("Columns").await;
    add(&app, &id, "api", "1.0").await;
    add(&app, &id, "web", "2.0").await;
    let m = matrix(&app, &id).await;
    let order = vec!["Dev", "Test", "Staging", "Production"];
    assert_eq!(strings(&m["environments"], "name"), order);
    assert_eq!(
        strings(&m["environments"], "type"),
        vec!["dev", "test", "staging", "production"]
    );
    for row in arr(&m["rows"]) {
        assert_eq!(strings(&row["cells"], "environment_name"), order);
    }
    let progress = &release(&app, &id).await["progress"]["environments"];
    assert_eq!(strings(progress, "name"), order);
}

#[tokio::test]
async fn matrix_columns_of_one_type_follow_their_position_then_name() {
    let app = common::spawn_app().await;
    for env in ["prod-us", "prod-eu", "Dev", "sandbox", "prod-ap"] {
        app.deploy_ok("api", "1.0", env, "success").await;
    }
    let envs = app.get_json("/api/environments/").await;
    let id_of = |name: &str| -> String {
        arr(&envs)
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["id"].as_str())
            .unwrap_or_else(|| panic!("no environment {name}"))
            .to_string()
    };
    let id = app.create_release("Positions").await;
    add(&app, &id, "api", "1.0").await;

    // Same type and position: by name.
    assert_eq!(
        strings(&matrix(&app, &id).await["environments"], "name"),
        vec!["Dev", "sandbox", "prod-ap", "prod-eu", "prod-us"]
    );

    for (name, position) in [("prod-us", 1), ("prod-eu", 2), ("prod-ap", 3), ("Dev", 5)] {
        let res = app
            .patch_json(
                &format!("/api/environments/{}", id_of(name)),
                &json!({ "position": position }),
            )
            .await;
        assert_eq!(res.status().as_u16(), 200, "{name}");
    }
    let m = matrix(&app, &id).await;
    let order = vec!["sandbox", "Dev", "prod-us", "prod-eu", "prod-ap"];
    assert_eq!(strings(&m["environments"], "name"), order);
    assert_eq!(
        strings(&arr(&m["rows"])[0]["cells"], "environment_name"),
        order
    );

    // A type change moves the column to its type's group; position does not beat type.
    let res = app
        .patch_json(
            &format!("/api/environments/{}", id_of("sandbox")),
            &json!({ "type": "staging", "position": -10 }),
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        strings(&matrix(&app, &id).await["environments"], "name"),
        vec!["Dev", "sandbox", "prod-us", "prod-eu", "prod-ap"]
    );
    assert_eq!(
        strings(
            &release(&app, &id).await["progress"]["environments"],
            "name"
        ),
        vec!["Dev", "sandbox", "prod-us", "prod-eu", "prod-ap"]
    );
}

#[tokio::test]
async fn an_empty_release_has_columns_but_no_rows() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    let id = app.create_release("Empty").await;
    let m = matrix(&app, &id).await;
    assert_eq!(strings(&m["environments"], "name"), vec!["Dev"]);
    assert_eq!(m["rows"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// Ready to complete

#[tokio::test]
async fn a_release_is_ready_once_every_version_is_deployed_in_production() {
    let app = common::spawn_app().await;
    let id = app.create_release("Almost").await;
    add(&app, &id, "api", "1.0").await;
    add(&app, &id, "web", "2.0").await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Dev", "success").await;
    app.deploy_ok("other", "1.0", "Production", "success").await;
    assert!(!ready(&app, &id).await, "nothing in production yet");

    app.deploy_ok("api", "1.0", "Production", "success").await;
    assert!(!ready(&app, &id).await, "web is not in production yet");

    app.deploy_ok("web", "2.0", "Production", "started").await;
    assert!(!ready(&app, &id).await, "in progress is not deployed");

    app.deploy_ok("web", "2.0", "Production", "success").await;
    assert!(ready(&app, &id).await);
    let r = release(&app, &id).await;
    let prod = arr(&r["progress"]["environments"])
        .iter()
        .find(|e| e["name"] == "Production")
        .cloned()
        .expect("Production column");
    assert_eq!(prod["deployed"], 2);
    assert_eq!(prod["total"], 2);
    // Ready is advice: the status stays a human decision.
    assert_eq!(r["status"], "draft");
}

#[tokio::test]
async fn a_failed_production_deployment_makes_a_ready_release_unready() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "success").await;
    let id = app.create_release("Wobbly").await;
    add(&app, &id, "api", "1.0").await;
    assert!(ready(&app, &id).await);
    app.deploy_ok("api", "1.0", "Production", "failed").await;
    assert!(!ready(&app, &id).await);
}

#[tokio::test]
async fn a_product_known_in_several_production_environments_must_reach_them_all() {
    let app = common::spawn_app().await;
    // An earlier api version ran in both production regions.
    app.deploy_ok("api", "0.9", "prod-eu", "success").await;
    app.deploy_ok("api", "0.9", "prod-us", "success").await;
    let id = app.create_release("Both regions").await;
    add(&app, &id, "api", "1.0").await;

    app.deploy_ok("api", "1.0", "prod-eu", "success").await;
    assert!(!ready(&app, &id).await, "prod-us still runs 0.9");
    app.deploy_ok("api", "1.0", "prod-us", "failed").await;
    assert!(!ready(&app, &id).await, "a failure does not count");
    app.deploy_ok("api", "1.0", "prod-us", "success").await;
    assert!(ready(&app, &id).await);
}

#[tokio::test]
async fn a_product_only_ever_in_one_production_environment_needs_only_that_one() {
    let app = common::spawn_app().await;
    // Another product makes prod-us exist; api only ever goes to prod-eu.
    app.deploy_ok("billing", "3.0", "prod-us", "success").await;
    app.deploy_ok("api", "0.9", "prod-eu", "success").await;
    let id = app.create_release("One region").await;
    add(&app, &id, "api", "1.0").await;
    assert!(!ready(&app, &id).await);
    app.deploy_ok("api", "1.0", "prod-eu", "success").await;
    assert!(
        ready(&app, &id).await,
        "prod-us is not one of api's targets"
    );
}

#[tokio::test]
async fn a_product_never_in_production_must_reach_at_least_one_production_environment() {
    let app = common::spawn_app().await;
    app.deploy_ok("billing", "3.0", "prod-eu", "success").await;
    app.deploy_ok("billing", "3.0", "prod-us", "success").await;
    let id = app.create_release("Newcomer").await;
    add(&app, &id, "brand-new", "0.1").await;

    app.deploy_ok("brand-new", "0.1", "Dev", "success").await;
    app.deploy_ok("brand-new", "0.1", "Staging", "success")
        .await;
    assert!(!ready(&app, &id).await, "staging is not production");
    app.deploy_ok("brand-new", "0.1", "prod-us", "failed").await;
    assert!(!ready(&app, &id).await, "a failure does not count");
    app.deploy_ok("brand-new", "0.1", "prod-eu", "success")
        .await;
    assert!(
        ready(&app, &id).await,
        "one production environment is enough"
    );
}

#[tokio::test]
async fn without_any_production_environment_the_last_environment_stands_in() {
    let app = common::spawn_app().await;
    let id = app.create_release("No prod").await;
    add(&app, &id, "api", "1.0").await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("other", "1.0", "Staging", "success").await;
    assert!(!ready(&app, &id).await, "Staging is the last environment");
    app.deploy_ok("api", "1.0", "Staging", "success").await;
    assert!(ready(&app, &id).await);

    // Once a production environment exists it is the target again.
    app.deploy_ok("other", "1.0", "Production", "success").await;
    assert!(!ready(&app, &id).await);
    app.deploy_ok("api", "1.0", "Production", "success").await;
    assert!(ready(&app, &id).await);
}

#[tokio::test]
async fn progress_counts_the_deployed_versions_per_environment() {
    let app = common::spawn_app().await;
    let id = app.create_release("Counts").await;
    for p in ["a", "b", "c"] {
        add(&app, &id, p, "1.0").await;
        app.deploy_ok(p, "1.0", "Dev", "success").await;
    }
    app.deploy_ok("a", "1.0", "Production", "success").await;
    app.deploy_ok("b", "1.0", "Production", "failed").await;
    let r = release(&app, &id).await;
    assert_eq!(
        r["progress"],
        json!({
            "environments": [
                { "name": "Dev", "type": "dev", "deployed": 3, "total": 3 },
                { "name": "Production", "type": "production", "deployed": 1, "total": 3 },
            ],
            "ready_to_complete": false
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Concurrent writers

/// Posts the same path with each body at once; returns the status codes and bodies.
async fn post_all_at_once(app: &TestApp, path: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let handles: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let client = app.client.clone();
            let url = app.url(path);
            tokio::spawn(async move {
                let res = client.post(url).json(&body).send().await.expect("POST");
                answer(res).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn concurrent_creates_of_one_release_name_let_exactly_one_in() {
    let app = common::spawn_app().await;
    let answers = post_all_at_once(
        &app,
        "/api/releases/",
        (0..8).map(|_| json!({ "name": "Race" })).collect(),
    )
    .await;
    let mut codes: Vec<u16> = answers.iter().map(|(c, _)| *c).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        vec![201, 409, 409, 409, 409, 409, 409, 409],
        "{answers:?}"
    );
    let (rows, total) = list(&app, "").await;
    assert_eq!(total, 1);
    assert_eq!(strings(&rows, "name"), vec!["Race"]);
}

#[tokio::test]
async fn concurrent_adds_of_different_versions_of_a_product_let_exactly_one_in() {
    let app = common::spawn_app().await;
    for v in 0..6 {
        app.deploy_ok("api", &format!("1.{v}"), "Dev", "success")
            .await;
    }
    let id = app.create_release("Contended").await;
    let answers = post_all_at_once(
        &app,
        &format!("/api/releases/{id}/versions"),
        (0..6)
            .map(|v| json!({ "product_name": "api", "version": format!("1.{v}") }))
            .collect(),
    )
    .await;
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|(c, _)| *c == 201)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    let there = winners[0]["version"].as_str().expect("version").to_string();
    for (code, body) in answers.iter().filter(|(c, _)| *c != 201) {
        assert_eq!(*code, 409, "{body}");
        let msg = detail_text(body);
        assert!(
            msg.contains("api") && msg.contains(&there),
            "the conflict names the version already there ({there}): {msg}"
        );
    }
    assert_eq!(
        strings(&release_versions(&app, &id).await, "version"),
        vec![there]
    );
}

#[tokio::test]
async fn absurd_paging_values_are_422s_not_500s() {
    let app = common::spawn_app().await;
    app.create_release("Only").await;
    for query in [
        "?limit=99999999999999999999",
        "?offset=99999999999999999999",
        "?limit=-5",
        "?limit=1.5",
    ] {
        let (code, body) = answer(app.get(&format!("/api/releases/{query}")).await).await;
        assert_eq!(code, 422, "{query}: {body}");
    }
    let (rows, total) = list(&app, &format!("?offset={}", i64::MAX)).await;
    assert_eq!(rows, json!([]));
    assert_eq!(total, 1);
}

#[tokio::test]
async fn aborting_the_newest_attempt_gives_the_cell_back_to_the_one_before() {
    let app = common::spawn_app().await;
    let id = app.create_release("Abort fallback").await;
    app.add_to_release(&id, "svc", "1.0").await;
    // A deployment that succeeded, then a redeploy that starts and is aborted midway.
    app.deploy_ok("svc", "1.0", "Production", "completed").await;
    app.deploy_ok("svc", "1.0", "Production", "started").await;
    assert_eq!(
        state(&matrix(&app, &id).await, "svc", "Production"),
        "in_progress"
    );
    app.deploy_ok("svc", "1.0", "Production", "aborted").await;
    assert_eq!(
        state(&matrix(&app, &id).await, "svc", "Production"),
        "deployed"
    );

    // With nothing before it, an aborted attempt leaves the cell not deployed.
    app.deploy_ok("svc", "1.0", "Staging", "started").await;
    app.deploy_ok("svc", "1.0", "Staging", "cancelled").await;
    assert_eq!(
        state(&matrix(&app, &id).await, "svc", "Staging"),
        "not_deployed"
    );
}

#[tokio::test]
async fn an_older_attempt_finishing_late_does_not_change_a_newer_cell() {
    let app = common::spawn_app().await;
    let id = app.create_release("Late finisher").await;
    app.add_to_release(&id, "svc", "1.0").await;
    let first = json!({"invoke_id": "run-1"});
    let second = json!({"invoke_id": "run-2"});
    app.deploy("svc", "1.0", "Dev", "started", first.clone())
        .await;
    app.deploy("svc", "1.0", "Dev", "failed", second).await;
    // run-1 completes after run-2 was created and failed: the newest attempt still decides.
    let res = app.deploy("svc", "1.0", "Dev", "completed", first).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(state(&matrix(&app, &id).await, "svc", "Dev"), "failed");
}
