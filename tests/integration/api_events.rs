//! The event write path (SPEC §3) through the real HTTP application: status normalisation,
//! input validation, correlation, transitions, answers, build events, and the deployment
//! read API (SPEC §5) that makes their effects visible.
//!
//! Expected values are written out by hand from the spec; nothing here calls the code under
//! test to compute what it should answer.

use crate::common::{spawn_app, TestApp};
use serde_json::{json, Value};
use std::collections::HashMap;

const EVENTS: &str = "/api/deployment-events/";
const BUILDS: &str = "/api/build-events/";

/// 1 MiB, the largest accepted request body (SPEC §5).
const ONE_MIB: usize = 1024 * 1024;

/// The normalisation table of SPEC §3, written out: (accepted spelling, canonical status).
const STATUS_ALIASES: [(&str, &str); 22] = [
    ("pending", "pending"),
    ("queued", "pending"),
    ("scheduled", "pending"),
    ("started", "started"),
    ("in_progress", "started"),
    ("init", "started"),
    ("deploying", "started"),
    ("completed", "completed"),
    ("success", "completed"),
    ("complete", "completed"),
    ("finished", "completed"),
    ("deployed", "completed"),
    ("failed", "failed"),
    ("fail", "failed"),
    ("failure", "failed"),
    ("error", "failed"),
    ("aborted", "aborted"),
    ("abort", "aborted"),
    ("cancelled", "aborted"),
    ("canceled", "aborted"),
    ("cancel", "aborted"),
    ("skipped", "aborted"),
];

// =============================================================================================
// Helpers
// =============================================================================================

/// An HTTP answer, read completely.
struct Reply {
    status: u16,
    content_type: String,
    /// The body exactly as sent by the server.
    raw: String,
    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    body: Value,
}

async fn read_reply(res: reqwest::Response) -> Reply {
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let raw = res.text().await.expect("response body");
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        raw,
        body,
    }
}

/// An event body with the four required fields.
fn event(product: &str, version: &str, environment: &str, status: &str) -> Value {
    json!({
        "product_name": product,
        "version": version,
        "environment_name": environment,
        "status": status,
    })
}

/// `body` with the fields of `extra` added (or replaced).
fn with(mut body: Value, extra: Value) -> Value {
    let fields = body.as_object_mut().expect("body is an object");
    for (k, v) in extra.as_object().expect("extra is an object") {
        fields.insert(k.clone(), v.clone());
    }
    body
}

/// `body` without `field`.
fn without(mut body: Value, field: &str) -> Value {
    body.as_object_mut()
        .expect("body is an object")
        .remove(field);
    body
}

async fn post(app: &TestApp, path: &str, body: &Value) -> Reply {
    read_reply(app.post_json(path, body).await).await
}

/// Posts a deployment event.
async fn send(app: &TestApp, body: &Value) -> Reply {
    post(app, EVENTS, body).await
}

/// Posts a deployment event that must be accepted with `status`; returns the answer body.
async fn send_expect(app: &TestApp, body: &Value, status: u16) -> Value {
    let r = send(app, body).await;
    assert_eq!(r.status, status, "event {body}: answer {}", r.raw);
    r.body
}

/// Posts with an `Idempotency-Key` header.
async fn post_with_key(app: &TestApp, path: &str, key: &str, body: &Value) -> Reply {
    let res = app
        .client
        .post(app.url(path))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("POST");
    read_reply(res).await
}

/// Posts raw bytes with the given `Content-Type` (none when `None`).
async fn post_raw(app: &TestApp, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
    let mut req = app.client.post(app.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header(reqwest::header::CONTENT_TYPE, ct);
    }
    read_reply(req.send().await.expect("POST")).await
}

/// Asserts an error answer: the given status and a JSON body `{"detail": …}`.
fn assert_json_error(r: &Reply, status: u16, context: &str) {
    assert_eq!(r.status, status, "{context}: answer {}", r.raw);
    assert!(
        r.content_type.starts_with("application/json"),
        "{context}: error body must be JSON, content type was '{}'",
        r.content_type
    );
    assert!(
        r.body.get("detail").is_some(),
        "{context}: error body must have 'detail': {}",
        r.raw
    );
}

/// Asserts a 422 whose detail has an entry located at `["body", field]`.
fn assert_field_error(r: &Reply, field: &str, context: &str) {
    assert_json_error(r, 422, context);
    let entries = r.body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}: 422 detail must be a list: {}", r.raw));
    let wanted = json!(["body", field]);
    assert!(
        entries.iter().any(|e| e["loc"] == wanted),
        "{context}: no detail entry at {wanted}: {}",
        r.raw
    );
    for e in entries {
        assert!(
            e["msg"].is_string() && e["type"].is_string(),
            "{context}: every entry has msg and type: {e}"
        );
    }
}

fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// GET `path` and return the JSON array.
async fn list(app: &TestApp, path: &str) -> Vec<Value> {
    app.get_json(path)
        .await
        .as_array()
        .unwrap_or_else(|| panic!("GET {path} is not an array"))
        .clone()
}

/// All deployments (newest first), as listed by the API.
async fn deployments(app: &TestApp) -> Vec<Value> {
    list(app, "/api/deployments/?limit=200").await
}

/// A deployment as `GET /api/deployments/{id}` shows it, without its event log.
async fn deployment_state(app: &TestApp, id: &str) -> Value {
    let mut d = app.get_json(&format!("/api/deployments/{id}")).await;
    d.as_object_mut()
        .expect("deployment is an object")
        .remove("events");
    d
}

/// The event log of a deployment.
async fn deployment_events(app: &TestApp, id: &str) -> Vec<Value> {
    let d = app.get_json(&format!("/api/deployments/{id}")).await;
    d["events"]
        .as_array()
        .unwrap_or_else(|| panic!("deployment {id} has no events list: {d}"))
        .clone()
}

/// Everything an event can create or change, to prove a rejected request changed nothing.
async fn snapshot(app: &TestApp) -> Value {
    let mut details = Vec::new();
    for d in deployments(app).await {
        details.push(
            app.get_json(&format!("/api/deployments/{}", id_of(&d)))
                .await,
        );
    }
    json!({
        "deployments": details,
        "products": app.get_json("/api/products/").await,
        "versions": app.get_json("/api/versions/?limit=200").await,
        "environments": app.get_json("/api/environments/").await,
    })
}

/// Asserts that a fresh database is still empty after rejected requests.
async fn assert_nothing_created(app: &TestApp) {
    let s = snapshot(app).await;
    for what in ["deployments", "products", "versions", "environments"] {
        assert_eq!(s[what], json!([]), "a rejected request created {what}: {s}");
    }
}

fn assert_utc_time(v: &Value, field: &str) {
    let s = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} must be a time string: {v}"));
    assert!(s.ends_with('Z'), "{field} must be UTC with Z: {s}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "{field} must be RFC 3339: {s}"
    );
}

fn assert_uuid(v: &Value, field: &str) {
    let s = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} must be a string: {v}"));
    assert!(
        uuid::Uuid::parse_str(s).is_ok(),
        "{field} must be a UUID: {s}"
    );
}

/// The `X-Total-Count` header of an answer.
fn total_count(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("X-Total-Count")
        .expect("X-Total-Count header")
        .to_str()
        .expect("ASCII header")
        .parse()
        .expect("X-Total-Count is a number")
}

// =============================================================================================
// Status normalisation
// =============================================================================================

#[tokio::test]
async fn every_status_alias_maps_to_its_canonical_status() {
    let app = spawn_app().await;
    // One version per alias, so every event is the first of its deployment.
    for (i, (alias, canonical)) in STATUS_ALIASES.iter().enumerate() {
        let body = send_expect(&app, &event("api", &format!("1.0.{i}"), "dev", alias), 201).await;
        assert_eq!(body["status"], *canonical, "status '{alias}'");
        let stored = deployment_state(&app, &id_of(&body)).await;
        assert_eq!(stored["status"], *canonical, "stored status for '{alias}'");
    }
}

#[tokio::test]
async fn status_aliases_are_matched_case_insensitively_after_trimming() {
    let app = spawn_app().await;
    for (i, (alias, canonical)) in STATUS_ALIASES.iter().enumerate() {
        let mixed: String = alias
            .chars()
            .enumerate()
            .map(|(j, c)| {
                if j % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        for (k, spelling) in [
            alias.to_uppercase(),
            format!("  {alias}  "),
            format!("\t{}\n", alias.to_uppercase()),
            mixed,
        ]
        .iter()
        .enumerate()
        {
            let version = format!("2.{i}.{k}");
            let body = send_expect(&app, &event("api", &version, "dev", spelling), 201).await;
            assert_eq!(body["status"], *canonical, "status {spelling:?}");
        }
    }
}

#[tokio::test]
async fn an_unknown_status_is_a_422_located_at_the_status_field() {
    let app = spawn_app().await;
    for status in [
        "done",
        "succeeded",
        "rollback",
        "complete d",
        "in-progress",
        "",
        "   ",
    ] {
        let r = send(&app, &event("api", "1.0.0", "dev", status)).await;
        assert_field_error(&r, "status", &format!("status {status:?}"));
    }
    // Validation happens before anything is written: no product, version or environment.
    assert_nothing_created(&app).await;
}

// =============================================================================================
// Input validation (SPEC §2, §3, §5)
// =============================================================================================

#[tokio::test]
async fn each_missing_required_field_is_a_422_naming_that_field() {
    let app = spawn_app().await;
    let full = event("api", "1.0.0", "dev", "started");
    for field in ["product_name", "version", "environment_name", "status"] {
        let r = send(&app, &without(full.clone(), field)).await;
        assert_field_error(&r, field, &format!("without {field}"));
    }
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn a_required_field_that_is_null_or_not_a_string_is_a_422_naming_that_field() {
    let app = spawn_app().await;
    let full = event("api", "1.0.0", "dev", "started");
    for field in ["product_name", "version", "environment_name", "status"] {
        for bad in [Value::Null, json!(42), json!(["x"]), json!({"x": 1})] {
            let r = send(&app, &with(full.clone(), json!({ field: bad }))).await;
            assert_field_error(&r, field, &format!("{field} = {bad}"));
        }
    }
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let app = spawn_app().await;
    let body = with(
        event("api", "1.0.0", "dev", "success"),
        json!({
            "definitely_not_a_field": "x",
            "nested": {"deep": [1, 2, {"a": null}]},
            "environment": "production",
            "number": 12.5,
        }),
    );
    let d = send_expect(&app, &body, 201).await;
    assert_eq!(d["status"], "completed");
    assert_eq!(d["environment_name"], "dev");
}

#[tokio::test]
async fn malformed_json_is_a_400_with_a_json_detail() {
    let app = spawn_app().await;
    for raw in [
        r#"{"product_name": "api", "version": "1.0.0","#,
        r#"{"product_name": "api" "version": "1.0.0"}"#,
        "not json at all",
        "",
        r#"{"product_name": 'api'}"#,
    ] {
        let r = post_raw(
            &app,
            EVENTS,
            Some("application/json"),
            raw.as_bytes().to_vec(),
        )
        .await;
        assert_json_error(&r, 400, &format!("body {raw:?}"));
        assert!(
            r.body["detail"].is_string(),
            "400 detail is a message: {}",
            r.raw
        );
    }
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn a_body_without_a_json_content_type_is_a_415() {
    let app = spawn_app().await;
    // A perfectly valid event: only the declared type is wrong.
    let valid = serde_json::to_vec(&event("api", "1.0.0", "dev", "started")).expect("JSON");
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/xml"),
    ] {
        let r = post_raw(&app, EVENTS, ct, valid.clone()).await;
        assert_json_error(&r, 415, &format!("content type {ct:?}"));
    }
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn a_json_content_type_with_a_charset_is_accepted() {
    let app = spawn_app().await;
    let valid = serde_json::to_vec(&event("api", "1.0.0", "dev", "started")).expect("JSON");
    let r = post_raw(&app, EVENTS, Some("application/json; charset=utf-8"), valid).await;
    assert_eq!(r.status, 201, "{}", r.raw);
}

/// An event body of exactly `size` bytes, padded with an unknown (ignored) field.
fn event_of_size(size: usize) -> Vec<u8> {
    let empty = with(
        event("api", "1.0.0", "dev", "started"),
        json!({"padding": ""}),
    );
    let base = serde_json::to_vec(&empty).expect("JSON").len();
    let padded = with(empty, json!({"padding": "x".repeat(size - base)}));
    let bytes = serde_json::to_vec(&padded).expect("JSON");
    assert_eq!(bytes.len(), size);
    bytes
}

#[tokio::test]
async fn a_body_over_one_mib_is_a_413() {
    let app = spawn_app().await;
    let r = post_raw(
        &app,
        EVENTS,
        Some("application/json"),
        event_of_size(ONE_MIB + 1),
    )
    .await;
    assert_json_error(&r, 413, "1 MiB + 1 byte");
    let r = post_raw(
        &app,
        EVENTS,
        Some("application/json"),
        event_of_size(3 * ONE_MIB),
    )
    .await;
    assert_json_error(&r, 413, "3 MiB");
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn a_body_of_exactly_one_mib_is_accepted() {
    let app = spawn_app().await;
    let r = post_raw(
        &app,
        EVENTS,
        Some("application/json"),
        event_of_size(ONE_MIB),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.raw);
}

/// Posts `body` with `Transfer-Encoding: chunked` (no `Content-Length`, as a streaming client
/// would) over a plain socket; returns the status code and the answer's body.
async fn post_chunked(app: &TestApp, path: &str, body: Vec<u8>) -> (u16, String) {
    let port = app.port;
    let path = path.to_string();
    let key = app.write_key.clone();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("timeout");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Authorization: Bearer {key}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).expect("request head");
        // The server may answer (and stop reading) before the body is complete: a failed
        // write is expected then, the answer is what counts.
        let mut sent = true;
        for chunk in body.chunks(64 * 1024) {
            let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
            if stream.write_all(&frame).is_err() {
                sent = false;
                break;
            }
        }
        if sent {
            let _ = stream.write_all(b"0\r\n\r\n");
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    })
    .await
    .expect("socket task")
}

#[tokio::test]
async fn a_chunked_body_over_one_mib_is_a_413() {
    let app = spawn_app().await;
    let (status, body) = post_chunked(&app, EVENTS, event_of_size(ONE_MIB + 1)).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\"detail\""), "JSON error body: {body}");
    assert_nothing_created(&app).await;
    // The same streaming client under the limit is served normally.
    let (status, body) = post_chunked(&app, EVENTS, event_of_size(ONE_MIB)).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn extra_metadata_that_is_not_an_object_is_a_422() {
    let app = spawn_app().await;
    for bad in [
        json!([1, 2, 3]),
        json!([]),
        json!("a string"),
        json!(42),
        json!(true),
    ] {
        let body = with(
            event("api", "1.0.0", "dev", "started"),
            json!({ "extra_metadata": bad }),
        );
        let r = send(&app, &body).await;
        assert_field_error(&r, "extra_metadata", &format!("extra_metadata {bad}"));
    }
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn extra_metadata_over_100_kb_is_a_422() {
    let app = spawn_app().await;
    // About 110 KB serialized: over the limit whether "KB" means 1,000 or 1,024 bytes.
    let big = json!({ "log": "x".repeat(110_000) });
    let body = with(
        event("api", "1.0.0", "dev", "started"),
        json!({ "extra_metadata": big }),
    );
    let r = send(&app, &body).await;
    assert_field_error(&r, "extra_metadata", "110 KB of metadata");
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn extra_metadata_under_100_kb_is_accepted_and_kept() {
    let app = spawn_app().await;
    // About 99 KB serialized: under the limit whichever way "KB" is read.
    let meta = json!({ "log": "x".repeat(99_000), "pipeline": {"run": 7} });
    let body = with(
        event("api", "1.0.0", "dev", "started"),
        json!({ "extra_metadata": meta.clone() }),
    );
    let d = send_expect(&app, &body, 201).await;
    let stored = deployment_state(&app, &id_of(&d)).await;
    assert_eq!(stored["extra_metadata"], meta);
}

#[tokio::test]
async fn names_with_control_characters_are_a_422() {
    let app = spawn_app().await;
    for name in [
        "api\u{0007}svc",
        "api\nsvc",
        "api\tsvc",
        "a\u{0000}b",
        "a\u{007f}b",
    ] {
        let r = send(&app, &event(name, "1.0.0", "dev", "started")).await;
        assert_field_error(&r, "product_name", &format!("product {name:?}"));
        let r = send(&app, &event("api", "1.0.0", name, "started")).await;
        assert_field_error(&r, "environment_name", &format!("environment {name:?}"));
    }
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn names_that_are_empty_after_trimming_are_a_422() {
    let app = spawn_app().await;
    for name in ["", " ", "   \t  "] {
        let r = send(&app, &event(name, "1.0.0", "dev", "started")).await;
        assert_field_error(&r, "product_name", &format!("product {name:?}"));
        let r = send(&app, &event("api", "1.0.0", name, "started")).await;
        assert_field_error(&r, "environment_name", &format!("environment {name:?}"));
    }
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn names_longer_than_200_characters_are_a_422() {
    let app = spawn_app().await;
    let long = "n".repeat(201);
    let r = send(&app, &event(&long, "1.0.0", "dev", "started")).await;
    assert_field_error(&r, "product_name", "201-character product name");
    let r = send(&app, &event("api", "1.0.0", &long, "started")).await;
    assert_field_error(&r, "environment_name", "201-character environment name");
    // Characters, not bytes: 201 two-byte characters are too many as well.
    let r = send(&app, &event(&"é".repeat(201), "1.0.0", "dev", "started")).await;
    assert_field_error(&r, "product_name", "201 × é");
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn names_of_200_characters_are_accepted_and_counted_in_characters() {
    let app = spawn_app().await;
    let ascii = "p".repeat(200);
    let d = send_expect(&app, &event(&ascii, "1.0.0", "dev", "started"), 201).await;
    assert_eq!(d["product_name"], ascii.as_str());
    // 200 characters of two bytes each: 400 bytes, still 200 characters.
    let accented = "é".repeat(200);
    let d = send_expect(&app, &event("api", "1.0.0", &accented, "started"), 201).await;
    assert_eq!(d["environment_name"], accented.as_str());
    // Surrounding whitespace does not count: the name is 200 characters after trimming.
    let padded = format!("  {}  ", "q".repeat(200));
    send_expect(&app, &event(&padded, "1.0.0", "dev", "started"), 201).await;
}

#[tokio::test]
async fn names_are_trimmed_before_they_are_stored() {
    let app = spawn_app().await;
    let d = send_expect(
        &app,
        &event("  checkout  ", "1.0.0", " Staging ", "started"),
        201,
    )
    .await;
    assert_eq!(d["product_name"], "checkout");
    assert_eq!(d["environment_name"], "Staging");
    // The trimmed spelling names the same product and environment, hence the same deployment.
    let again = send_expect(
        &app,
        &event("checkout", "1.0.0", "Staging", "completed"),
        200,
    )
    .await;
    assert_eq!(again["id"], d["id"]);
}

#[tokio::test]
async fn a_version_with_inner_whitespace_or_control_characters_is_a_422() {
    let app = spawn_app().await;
    for version in [
        "1.2 3",
        "1.2\t3",
        "1.2\n3",
        "1.2\u{00a0}3",
        "1.2\u{0007}3",
        "v 1",
    ] {
        let r = send(&app, &event("api", version, "dev", "started")).await;
        assert_field_error(&r, "version", &format!("version {version:?}"));
    }
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn an_empty_or_overlong_version_is_a_422() {
    let app = spawn_app().await;
    for version in [String::new(), "   ".into(), "1".repeat(201)] {
        let r = send(&app, &event("api", &version, "dev", "started")).await;
        assert_field_error(
            &r,
            "version",
            &format!("version of {} chars", version.len()),
        );
    }
    assert_nothing_created(&app).await;
    let max = "9".repeat(200);
    let d = send_expect(&app, &event("api", &max, "dev", "started"), 201).await;
    assert_eq!(d["version"], max.as_str());
}

#[tokio::test]
async fn a_malformed_optional_time_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    for field in ["started_at", "completed_at"] {
        let body = with(
            event("api", "1.0.0", "dev", "completed"),
            json!({ field: "yesterday at noon" }),
        );
        let r = send(&app, &body).await;
        assert_field_error(&r, field, field);
    }
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn rejected_events_leave_existing_data_untouched() {
    let app = spawn_app().await;
    // Some state to protect: one open deployment with one event.
    let d = send_expect(
        &app,
        &with(
            event("api", "1.0.0", "Production", "started"),
            json!({"invoke_id": "run-1"}),
        ),
        201,
    )
    .await;
    let before = snapshot(&app).await;

    // Every kind of refusal, each one naming the existing deployment or new catalog entries
    // that must not be created by a request that is refused.
    let target = with(
        event("api", "1.0.0", "Production", "completed"),
        json!({"invoke_id": "run-1"}),
    );
    let fresh = event("new-product", "9.9.9", "new-env", "completed");
    for (what, body) in [
        (
            "unknown status",
            with(target.clone(), json!({"status": "done"})),
        ),
        ("no version", without(target.clone(), "version")),
        (
            "bad metadata",
            with(target.clone(), json!({"extra_metadata": [1]})),
        ),
        (
            "bad version",
            with(fresh.clone(), json!({"version": "9 9"})),
        ),
        (
            "unknown status, new names",
            with(fresh.clone(), json!({"status": "nope"})),
        ),
        (
            "bad env name",
            with(fresh.clone(), json!({"environment_name": "a\u{1}b"})),
        ),
        (
            "bad time",
            with(fresh.clone(), json!({"started_at": "soon"})),
        ),
    ] {
        let r = send(&app, &body).await;
        assert_eq!(r.status, 422, "{what}: {}", r.raw);
    }
    let good = serde_json::to_vec(&target).expect("JSON");
    let r = post_raw(&app, EVENTS, Some("text/plain"), good.clone()).await;
    assert_eq!(r.status, 415, "{}", r.raw);
    let r = post_raw(
        &app,
        EVENTS,
        Some("application/json"),
        good[..good.len() - 1].to_vec(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.raw);
    let huge = with(target.clone(), json!({"padding": "x".repeat(ONE_MIB)}));
    let huge = serde_json::to_vec(&huge).expect("JSON");
    let r = post_raw(&app, EVENTS, Some("application/json"), huge).await;
    assert_eq!(r.status, 413, "{}", r.raw);

    assert_eq!(
        snapshot(&app).await,
        before,
        "a rejected request changed something"
    );
    assert_eq!(
        deployment_state(&app, &id_of(&d)).await["status"],
        "started"
    );
}

// =============================================================================================
// Paths: with and without the trailing slash
// =============================================================================================

#[tokio::test]
async fn deployment_events_are_accepted_with_and_without_the_trailing_slash() {
    let app = spawn_app().await;
    let first = post(
        &app,
        "/api/deployment-events",
        &event("api", "1.0.0", "dev", "started"),
    )
    .await;
    assert_eq!(first.status, 201, "without slash: {}", first.raw);
    let second = post(
        &app,
        "/api/deployment-events/",
        &event("api", "1.0.0", "dev", "completed"),
    )
    .await;
    assert_eq!(second.status, 200, "with slash: {}", second.raw);
    // Both spellings reach the same handler: the second event updated the first deployment.
    assert_eq!(second.body["id"], first.body["id"]);
    assert_eq!(second.body["status"], "completed");
}

#[tokio::test]
async fn build_and_version_events_are_accepted_with_and_without_the_trailing_slash() {
    let app = spawn_app().await;
    for (i, path) in [
        "/api/build-events",
        "/api/build-events/",
        "/api/version-events",
        "/api/version-events/",
    ]
    .iter()
    .enumerate()
    {
        let body =
            json!({"product_name": "api", "version": format!("1.0.{i}"), "status": "completed"});
        let r = post(&app, path, &body).await;
        assert_eq!(r.status, 201, "POST {path}: {}", r.raw);
        assert_eq!(r.body["version"], format!("1.0.{i}"));
    }
}

#[tokio::test]
async fn the_deployment_read_api_works_with_and_without_the_trailing_slash() {
    let app = spawn_app().await;
    let d = app.deploy_ok("api", "1.0.0", "dev", "started").await;
    let id = id_of(&d);
    for path in ["/api/deployments", "/api/deployments/"] {
        let all = list(&app, path).await;
        assert_eq!(all.len(), 1, "GET {path}");
        assert_eq!(all[0]["id"], d["id"]);
    }
    for path in [
        format!("/api/deployments/{id}"),
        format!("/api/deployments/{id}/"),
    ] {
        let got = app.get_json(&path).await;
        assert_eq!(got["id"], d["id"], "GET {path}");
    }
}

// =============================================================================================
// Auto-creation of the catalog
// =============================================================================================

#[tokio::test]
async fn a_first_event_creates_the_product_version_and_environment() {
    let app = spawn_app().await;
    let d = send_expect(
        &app,
        &event("user-service", "1.2.3", "Production", "success"),
        201,
    )
    .await;

    let products = list(&app, "/api/products/").await;
    assert_eq!(products.len(), 1);
    assert_eq!(products[0]["name"], "user-service");
    assert_eq!(products[0]["id"], d["product_id"]);

    let versions = list(&app, "/api/versions/?product=user-service").await;
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["version"], "1.2.3");
    assert_eq!(versions[0]["id"], d["version_id"]);
    assert_eq!(versions[0]["product_name"], "user-service");

    let environments = list(&app, "/api/environments/").await;
    assert_eq!(environments.len(), 1);
    assert_eq!(environments[0]["name"], "Production");
    assert_eq!(environments[0]["id"], d["environment_id"]);
    assert_eq!(environments[0]["type"], "production");
}

#[tokio::test]
async fn later_events_reuse_the_existing_product_version_and_environment() {
    let app = spawn_app().await;
    let first = app.deploy_ok("api", "1.0.0", "dev", "completed").await;
    let same_version = app.deploy_ok("api", "1.0.0", "test", "completed").await;
    let next_version = app.deploy_ok("api", "1.1.0", "dev", "completed").await;

    assert_eq!(same_version["product_id"], first["product_id"]);
    assert_eq!(same_version["version_id"], first["version_id"]);
    assert_eq!(next_version["product_id"], first["product_id"]);
    assert_eq!(next_version["environment_id"], first["environment_id"]);
    assert_ne!(next_version["version_id"], first["version_id"]);

    assert_eq!(list(&app, "/api/products/").await.len(), 1);
    assert_eq!(list(&app, "/api/versions/?product=api").await.len(), 2);
    assert_eq!(list(&app, "/api/environments/").await.len(), 2);
}

#[tokio::test]
async fn product_names_are_case_sensitive() {
    let app = spawn_app().await;
    let lower = app.deploy_ok("checkout", "1.0.0", "dev", "completed").await;
    let upper = app.deploy_ok("Checkout", "1.0.0", "dev", "completed").await;
    assert_ne!(lower["product_id"], upper["product_id"]);
    let mut names: Vec<String> = list(&app, "/api/products/")
        .await
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["Checkout", "checkout"]);
}

#[tokio::test]
async fn environment_types_are_inferred_from_the_name() {
    let app = spawn_app().await;
    // First match wins, case-insensitively: preprod/stag/uat, then prod/live, then
    // test/qa/integration, otherwise dev.
    let expected = [
        ("preprod-eu", "staging"),
        ("PreProd", "staging"),
        ("Staging", "staging"),
        ("stage-2", "staging"),
        ("UAT", "staging"),
        ("Production", "production"),
        ("prod-us", "production"),
        ("LIVE", "production"),
        ("qa", "test"),
        ("QA-2", "test"),
        ("Test", "test"),
        ("integration", "test"),
        ("sandbox", "dev"),
        ("Dev", "dev"),
        ("local", "dev"),
        // The rules are tried in order, not the words: staging words beat prod words, which
        // beat test words, wherever they appear in the name.
        ("live-uat", "staging"),
        ("qa-live", "production"),
        ("integration-prod", "production"),
    ];
    for (i, (name, _)) in expected.iter().enumerate() {
        send_expect(
            &app,
            &event("api", &format!("1.0.{i}"), name, "completed"),
            201,
        )
        .await;
    }
    let types: HashMap<String, String> = list(&app, "/api/environments/")
        .await
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_string(),
                e["type"].as_str().expect("type").to_string(),
            )
        })
        .collect();
    assert_eq!(types.len(), expected.len(), "{types:?}");
    for (name, want) in expected {
        assert_eq!(
            types.get(name).map(String::as_str),
            Some(want),
            "type of {name}"
        );
    }
}

// =============================================================================================
// Correlation 1: invoke_id
// =============================================================================================

#[tokio::test]
async fn events_with_the_same_invoke_id_update_the_same_deployment() {
    let app = spawn_app().await;
    let run = json!({"invoke_id": "gha-1001"});
    let started = send_expect(
        &app,
        &with(event("api", "1.0.0", "prod", "started"), run.clone()),
        201,
    )
    .await;
    let done = send_expect(
        &app,
        &with(event("api", "1.0.0", "prod", "completed"), run),
        200,
    )
    .await;
    assert_eq!(done["id"], started["id"]);
    assert_eq!(done["status"], "completed");
    assert_eq!(deployments(&app).await.len(), 1);
}

#[tokio::test]
async fn an_event_with_another_invoke_id_starts_a_new_deployment() {
    let app = spawn_app().await;
    let one = send_expect(
        &app,
        &with(
            event("api", "1.0.0", "prod", "started"),
            json!({"invoke_id": "run-1"}),
        ),
        201,
    )
    .await;
    // run-1 is still open, but run-2 is another attempt: a new deployment.
    let two = send_expect(
        &app,
        &with(
            event("api", "1.0.0", "prod", "started"),
            json!({"invoke_id": "run-2"}),
        ),
        201,
    )
    .await;
    assert_ne!(one["id"], two["id"]);
    // And each invoke_id keeps addressing its own deployment.
    let one_done = send_expect(
        &app,
        &with(
            event("api", "1.0.0", "prod", "failed"),
            json!({"invoke_id": "run-1"}),
        ),
        200,
    )
    .await;
    assert_eq!(one_done["id"], one["id"]);
    assert_eq!(
        deployment_state(&app, &id_of(&one)).await["status"],
        "failed"
    );
    assert_eq!(
        deployment_state(&app, &id_of(&two)).await["status"],
        "started"
    );
    assert_eq!(deployments(&app).await.len(), 2);
}

#[tokio::test]
async fn the_same_invoke_id_for_another_environment_or_version_is_another_deployment() {
    let app = spawn_app().await;
    let run = json!({"invoke_id": "pipeline-7"});
    let a = send_expect(
        &app,
        &with(event("api", "1.0.0", "staging", "started"), run.clone()),
        201,
    )
    .await;
    let b = send_expect(
        &app,
        &with(event("api", "1.0.0", "prod", "started"), run.clone()),
        201,
    )
    .await;
    let c = send_expect(
        &app,
        &with(event("api", "1.0.1", "staging", "started"), run),
        201,
    )
    .await;
    assert_ne!(a["id"], b["id"]);
    assert_ne!(a["id"], c["id"]);
    assert_ne!(b["id"], c["id"]);
    assert_eq!(deployments(&app).await.len(), 3);
}

// =============================================================================================
// Correlation 2: no invoke_id
// =============================================================================================

#[tokio::test]
async fn without_invoke_id_events_update_the_open_deployment() {
    let app = spawn_app().await;
    let pending = send_expect(&app, &event("api", "1.0.0", "prod", "queued"), 201).await;
    let started = send_expect(&app, &event("api", "1.0.0", "prod", "deploying"), 200).await;
    let done = send_expect(&app, &event("api", "1.0.0", "prod", "success"), 200).await;
    assert_eq!(started["id"], pending["id"]);
    assert_eq!(done["id"], pending["id"]);
    assert_eq!(done["status"], "completed");
    assert_eq!(deployments(&app).await.len(), 1);
}

#[tokio::test]
async fn without_invoke_id_an_event_after_a_finished_deployment_is_a_redeploy() {
    let app = spawn_app().await;
    let first = send_expect(&app, &event("api", "1.0.0", "prod", "completed"), 201).await;
    // The same version again: a new deployment, not an update of the finished one.
    let redeploy = send_expect(&app, &event("api", "1.0.0", "prod", "started"), 201).await;
    assert_ne!(redeploy["id"], first["id"]);
    assert_eq!(redeploy["status"], "started");
    let redeploy_done = send_expect(&app, &event("api", "1.0.0", "prod", "completed"), 200).await;
    assert_eq!(redeploy_done["id"], redeploy["id"]);
    // The first deployment is untouched.
    assert_eq!(
        deployment_state(&app, &id_of(&first)).await["status"],
        "completed"
    );
    assert_eq!(deployments(&app).await.len(), 2);
}

#[tokio::test]
async fn without_invoke_id_a_repeated_terminal_event_is_a_redeploy_not_a_no_op() {
    let app = spawn_app().await;
    let first = send_expect(&app, &event("api", "1.0.0", "prod", "completed"), 201).await;
    let second = send_expect(&app, &event("api", "1.0.0", "prod", "completed"), 201).await;
    assert_ne!(first["id"], second["id"]);
    assert_eq!(deployments(&app).await.len(), 2);
}

#[tokio::test]
async fn without_invoke_id_another_terminal_status_after_a_finished_deployment_is_a_redeploy_not_a_conflict(
) {
    let app = spawn_app().await;
    let failed = send_expect(&app, &event("api", "1.0.0", "prod", "failed"), 201).await;
    let fixed = send_expect(&app, &event("api", "1.0.0", "prod", "completed"), 201).await;
    assert_ne!(failed["id"], fixed["id"]);
    assert_eq!(fixed["status"], "completed");
    assert_eq!(
        deployment_state(&app, &id_of(&failed)).await["status"],
        "failed"
    );
}

#[tokio::test]
async fn without_invoke_id_the_latest_open_deployment_is_updated() {
    let app = spawn_app().await;
    // Two open attempts of the same version in the same environment.
    let older = send_expect(
        &app,
        &with(
            event("api", "1.0.0", "prod", "started"),
            json!({"invoke_id": "a"}),
        ),
        201,
    )
    .await;
    let newer = send_expect(
        &app,
        &with(
            event("api", "1.0.0", "prod", "started"),
            json!({"invoke_id": "b"}),
        ),
        201,
    )
    .await;
    let done = send_expect(&app, &event("api", "1.0.0", "prod", "completed"), 200).await;
    assert_eq!(done["id"], newer["id"]);
    assert_eq!(
        deployment_state(&app, &id_of(&older)).await["status"],
        "started"
    );
    assert_eq!(
        deployment_state(&app, &id_of(&newer)).await["status"],
        "completed"
    );
}

#[tokio::test]
async fn without_invoke_id_an_open_deployment_of_another_version_or_environment_is_not_touched() {
    let app = spawn_app().await;
    let v1 = send_expect(&app, &event("api", "1.0.0", "prod", "started"), 201).await;
    let v2 = send_expect(&app, &event("api", "2.0.0", "prod", "completed"), 201).await;
    let other_env = send_expect(&app, &event("api", "1.0.0", "staging", "completed"), 201).await;
    let other_product = send_expect(&app, &event("web", "1.0.0", "prod", "completed"), 201).await;
    for d in [&v2, &other_env, &other_product] {
        assert_ne!(d["id"], v1["id"]);
    }
    assert_eq!(
        deployment_state(&app, &id_of(&v1)).await["status"],
        "started"
    );
}

// =============================================================================================
// Correlation 3: Idempotency-Key
// =============================================================================================

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_creates_nothing() {
    let app = spawn_app().await;
    let body = with(
        event("api", "1.0.0", "prod", "completed"),
        json!({"deployed_by": "ci-bot"}),
    );
    let first = post_with_key(&app, EVENTS, "retry-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let before = snapshot(&app).await;

    for _ in 0..3 {
        let retry = post_with_key(&app, EVENTS, "retry-1", &body).await;
        assert_eq!(retry.status, 201, "the first answer's status is replayed");
        assert_eq!(
            retry.body, first.body,
            "the first answer's body is replayed"
        );
        assert_eq!(retry.raw, first.raw);
    }
    // Without the key the same body would have been a redeploy; with it nothing happened.
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(deployments(&app).await.len(), 1);
    assert_eq!(deployment_events(&app, &id_of(&first.body)).await.len(), 1);
}

#[tokio::test]
async fn a_retry_that_serialises_the_same_json_differently_is_still_the_same_request() {
    let app = spawn_app().await;
    let compact = r#"{"product_name":"api","version":"1.0.0","environment_name":"prod","status":"completed"}"#;
    let reordered = r#"{ "status": "completed",
        "environment_name": "prod", "version": "1.0.0", "product_name": "api" }"#;
    let send_keyed = |raw: &'static str| {
        app.client
            .post(app.url(EVENTS))
            .header("Idempotency-Key", "reformatted")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(raw)
            .send()
    };
    let first = read_reply(send_keyed(compact).await.expect("POST")).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let retry = read_reply(send_keyed(reordered).await.expect("POST")).await;
    assert_eq!(retry.status, 201, "{}", retry.raw);
    assert_eq!(retry.raw, first.raw);
    assert_eq!(deployments(&app).await.len(), 1);
}

#[tokio::test]
async fn a_retried_update_with_the_same_idempotency_key_is_not_recorded_twice() {
    let app = spawn_app().await;
    let d = send_expect(&app, &event("api", "1.0.0", "prod", "pending"), 201).await;
    let body = event("api", "1.0.0", "prod", "started");
    let first = post_with_key(&app, EVENTS, "k-42", &body).await;
    assert_eq!(first.status, 200, "{}", first.raw);
    assert_eq!(first.body["id"], d["id"]);

    let retry = post_with_key(&app, EVENTS, "k-42", &body).await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.raw, first.raw);
    // Same event id: the answer is the stored one, not a fresh no-op.
    assert_eq!(retry.body["event_id"], first.body["event_id"]);
    assert_eq!(deployment_events(&app, &id_of(&d)).await.len(), 2);
}

#[tokio::test]
async fn a_replayed_answer_does_not_reapply_the_event_after_the_deployment_moved_on() {
    let app = spawn_app().await;
    let body = event("api", "1.0.0", "prod", "started");
    let first = post_with_key(&app, EVENTS, "deploy-run-9", &body).await;
    assert_eq!(first.status, 201, "{}", first.raw);
    send_expect(&app, &event("api", "1.0.0", "prod", "completed"), 200).await;
    let before = snapshot(&app).await;

    // The retry arrives late: it gets the first answer and does not count as a new event.
    let retry = post_with_key(&app, EVENTS, "deploy-run-9", &body).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.raw, first.raw);
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn the_same_idempotency_key_with_another_body_is_a_409_and_changes_nothing() {
    let app = spawn_app().await;
    let first = post_with_key(
        &app,
        EVENTS,
        "same-key",
        &event("api", "1.0.0", "prod", "started"),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let before = snapshot(&app).await;

    for other in [
        event("api", "1.0.0", "prod", "completed"),
        event("api", "1.0.1", "prod", "started"),
        event("web", "1.0.0", "prod", "started"),
        with(
            event("api", "1.0.0", "prod", "started"),
            json!({"deployed_by": "x"}),
        ),
    ] {
        let r = post_with_key(&app, EVENTS, "same-key", &other).await;
        assert_json_error(&r, 409, &format!("key reused with {other}"));
    }
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(
        deployment_state(&app, &id_of(&first.body)).await["status"],
        "started"
    );
}

#[tokio::test]
async fn different_idempotency_keys_are_different_requests() {
    let app = spawn_app().await;
    let body = event("api", "1.0.0", "prod", "completed");
    let a = post_with_key(&app, EVENTS, "key-a", &body).await;
    let b = post_with_key(&app, EVENTS, "key-b", &body).await;
    assert_eq!(a.status, 201, "{}", a.raw);
    // Without invoke_id a completed event after a completed deployment is a redeploy.
    assert_eq!(b.status, 201, "{}", b.raw);
    assert_ne!(a.body["id"], b.body["id"]);
}

// =============================================================================================
// Transitions
// =============================================================================================

#[tokio::test]
async fn a_deployment_goes_from_pending_through_started_to_completed() {
    let app = spawn_app().await;
    let run = json!({"invoke_id": "r1"});
    let p = send_expect(
        &app,
        &with(event("api", "1.0.0", "prod", "pending"), run.clone()),
        201,
    )
    .await;
    assert_eq!(p["status"], "pending");
    assert_eq!(p["completed_at"], Value::Null);
    let s = send_expect(
        &app,
        &with(event("api", "1.0.0", "prod", "started"), run.clone()),
        200,
    )
    .await;
    assert_eq!(s["status"], "started");
    assert_eq!(s["completed_at"], Value::Null);
    let c = send_expect(
        &app,
        &with(event("api", "1.0.0", "prod", "completed"), run),
        200,
    )
    .await;
    assert_eq!(c["status"], "completed");
    assert_utc_time(&c, "completed_at");
    for d in [&s, &c] {
        assert_eq!(d["id"], p["id"]);
    }
    let events = deployment_events(&app, &id_of(&p)).await;
    let statuses: Vec<&Value> = events.iter().map(|e| &e["status"]).collect();
    assert_eq!(
        statuses,
        [&json!("pending"), &json!("started"), &json!("completed")]
    );
    assert!(events.iter().all(|e| e["applied"] == true), "{events:?}");
}

#[tokio::test]
async fn a_pending_deployment_can_finish_directly() {
    let app = spawn_app().await;
    for (i, terminal) in ["completed", "failed", "aborted"].iter().enumerate() {
        let version = format!("1.0.{i}");
        let p = send_expect(&app, &event("api", &version, "prod", "pending"), 201).await;
        let t = send_expect(&app, &event("api", &version, "prod", terminal), 200).await;
        assert_eq!(t["id"], p["id"]);
        assert_eq!(t["status"], *terminal);
        assert_utc_time(&t, "completed_at");
    }
}

#[tokio::test]
async fn a_started_deployment_can_fail_or_be_aborted() {
    let app = spawn_app().await;
    for (i, terminal) in ["failed", "aborted"].iter().enumerate() {
        let version = format!("1.0.{i}");
        let s = send_expect(&app, &event("api", &version, "prod", "in_progress"), 201).await;
        let t = send_expect(&app, &event("api", &version, "prod", terminal), 200).await;
        assert_eq!(t["id"], s["id"]);
        assert_eq!(t["status"], *terminal);
    }
}

#[tokio::test]
async fn a_repeated_status_is_a_no_op() {
    let app = spawn_app().await;
    for (i, status) in ["pending", "started"].iter().enumerate() {
        let version = format!("1.0.{i}");
        let first = send_expect(&app, &event("api", &version, "prod", status), 201).await;
        let state = deployment_state(&app, &id_of(&first)).await;
        let again = send_expect(&app, &event("api", &version, "prod", status), 200).await;
        assert_eq!(again["id"], first["id"]);
        assert_eq!(again["status"], *status);
        assert_eq!(
            deployment_state(&app, &id_of(&first)).await,
            state,
            "{status} twice"
        );
    }
    // A finished deployment addressed by its invoke_id: the same terminal status is a no-op
    // too (not a redeploy, not a conflict).
    let run = json!({"invoke_id": "r1"});
    let done = send_expect(
        &app,
        &with(event("api", "2.0.0", "prod", "completed"), run.clone()),
        201,
    )
    .await;
    let state = deployment_state(&app, &id_of(&done)).await;
    let again = send_expect(
        &app,
        &with(event("api", "2.0.0", "prod", "success"), run),
        200,
    )
    .await;
    assert_eq!(again["id"], done["id"]);
    assert_eq!(again["completed_at"], done["completed_at"]);
    assert_eq!(deployment_state(&app, &id_of(&done)).await, state);
    assert_eq!(deployments(&app).await.len(), 3);
}

#[tokio::test]
async fn a_late_non_terminal_event_for_a_finished_deployment_is_logged_and_changes_nothing() {
    let app = spawn_app().await;
    let run = json!({"invoke_id": "r1"});
    let done = send_expect(
        &app,
        &with(event("api", "1.0.0", "prod", "completed"), run.clone()),
        201,
    )
    .await;
    let state = deployment_state(&app, &id_of(&done)).await;

    for late in ["started", "pending"] {
        let r = send_expect(
            &app,
            &with(event("api", "1.0.0", "prod", late), run.clone()),
            200,
        )
        .await;
        assert_eq!(r["id"], done["id"]);
        assert_eq!(r["status"], "completed", "a late '{late}' keeps the status");
    }
    assert_eq!(deployment_state(&app, &id_of(&done)).await, state);
    assert_eq!(deployments(&app).await.len(), 1);

    // The event log keeps the late events, marked as not applied.
    let events = deployment_events(&app, &id_of(&done)).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0]["status"], "completed");
    assert_eq!(events[0]["applied"], true);
    assert_eq!(events[1]["status"], "started");
    assert_eq!(events[1]["applied"], false);
    assert_eq!(events[2]["status"], "pending");
    assert_eq!(events[2]["applied"], false);
}

#[tokio::test]
async fn a_different_terminal_status_for_a_finished_deployment_is_a_409_and_changes_nothing() {
    let app = spawn_app().await;
    let cases = [
        ("completed", "failed"),
        ("completed", "aborted"),
        ("failed", "completed"),
        ("failed", "aborted"),
        ("aborted", "completed"),
        ("aborted", "error"),
    ];
    for (i, (first, then)) in cases.iter().enumerate() {
        let run = json!({ "invoke_id": format!("run-{i}") });
        let d = send_expect(
            &app,
            &with(event("api", "1.0.0", "prod", first), run.clone()),
            201,
        )
        .await;
        let before = snapshot(&app).await;
        let r = send(&app, &with(event("api", "1.0.0", "prod", then), run)).await;
        assert_json_error(&r, 409, &format!("{first} then {then}"));
        assert_eq!(
            snapshot(&app).await,
            before,
            "{first} then {then} changed something"
        );
        assert_eq!(deployment_events(&app, &id_of(&d)).await.len(), 1);
    }
}

// =============================================================================================
// The answer
// =============================================================================================

#[tokio::test]
async fn the_answer_has_every_field_of_the_spec_with_utc_rfc3339_times() {
    let app = spawn_app().await;
    let d = send_expect(
        &app,
        &with(
            event("user-service", "1.2.3", "Production", "started"),
            json!({"deployed_by": "alice"}),
        ),
        201,
    )
    .await;
    for field in [
        "id",
        "event_id",
        "product_id",
        "product_name",
        "version_id",
        "version",
        "environment_id",
        "environment_name",
        "status",
        "deployed_by",
        "created_at",
        "updated_at",
        "completed_at",
    ] {
        assert!(d.get(field).is_some(), "answer lacks '{field}': {d}");
    }
    for field in [
        "id",
        "event_id",
        "product_id",
        "version_id",
        "environment_id",
    ] {
        assert_uuid(&d, field);
    }
    assert_ne!(d["id"], d["event_id"]);
    assert_eq!(d["product_name"], "user-service");
    assert_eq!(d["version"], "1.2.3");
    assert_eq!(d["environment_name"], "Production");
    assert_eq!(d["status"], "started");
    assert_eq!(d["deployed_by"], "alice");
    assert_utc_time(&d, "created_at");
    assert_utc_time(&d, "updated_at");
    assert_eq!(d["completed_at"], Value::Null, "not finished yet");

    let done = send_expect(
        &app,
        &event("user-service", "1.2.3", "Production", "completed"),
        200,
    )
    .await;
    assert_utc_time(&done, "completed_at");
    assert_eq!(done["created_at"], d["created_at"]);
    assert_eq!(
        done["deployed_by"], "alice",
        "an event without deployed_by keeps it"
    );
    assert_ne!(
        done["event_id"], d["event_id"],
        "every event gets its own id"
    );
    // The event id names the entry in the deployment's log.
    let events = deployment_events(&app, &id_of(&d)).await;
    let logged: Vec<&Value> = events.iter().map(|e| &e["id"]).collect();
    assert_eq!(logged, [&d["event_id"], &done["event_id"]]);
}

#[tokio::test]
async fn reported_times_are_kept_in_utc() {
    let app = spawn_app().await;
    let body = with(
        event("api", "1.0.0", "prod", "completed"),
        json!({
            "started_at": "2024-11-06T10:00:00Z",
            // An offset is converted to UTC.
            "completed_at": "2024-11-06T12:30:00+02:00",
        }),
    );
    let d = send_expect(&app, &body, 201).await;
    let stored = deployment_state(&app, &id_of(&d)).await;
    for v in [&d, &stored] {
        assert_utc_time(v, "completed_at");
        let completed =
            chrono::DateTime::parse_from_rfc3339(v["completed_at"].as_str().expect("time"))
                .expect("RFC 3339");
        let want = chrono::DateTime::parse_from_rfc3339("2024-11-06T10:30:00Z").expect("RFC 3339");
        assert_eq!(completed, want, "{v}");
    }
}

#[tokio::test]
async fn the_answer_is_201_only_when_a_deployment_was_created() {
    let app = spawn_app().await;
    let run = json!({"invoke_id": "r"});
    let ev = |status: &str| with(event("api", "1.0.0", "prod", status), run.clone());
    // created → 201; updated, repeated, late → 200; a new invoke_id → 201 again.
    assert_eq!(send(&app, &ev("pending")).await.status, 201);
    assert_eq!(send(&app, &ev("started")).await.status, 200);
    assert_eq!(send(&app, &ev("started")).await.status, 200);
    assert_eq!(send(&app, &ev("completed")).await.status, 200);
    assert_eq!(send(&app, &ev("pending")).await.status, 200);
    let other = with(
        event("api", "1.0.0", "prod", "pending"),
        json!({"invoke_id": "r2"}),
    );
    assert_eq!(send(&app, &other).await.status, 201);
    assert_eq!(deployments(&app).await.len(), 2);
}

// =============================================================================================
// Build events
// =============================================================================================

fn build(product: &str, version: &str, extra: Value) -> Value {
    with(
        json!({"product_name": product, "version": version, "status": "completed"}),
        extra,
    )
}

#[tokio::test]
async fn a_build_event_registers_a_new_version_and_its_product_with_201() {
    let app = spawn_app().await;
    let r = post(
        &app,
        BUILDS,
        &build(
            "billing",
            "3.1.4",
            json!({"scm_sha": "abc123", "scm_branch": "main", "build_url": "https://ci/1", "built_by": "ci"}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.raw);
    assert_eq!(r.body["product_name"], "billing");
    assert_eq!(r.body["version"], "3.1.4");
    assert_eq!(r.body["scm_sha"], "abc123");
    assert_uuid(&r.body, "id");

    let products = list(&app, "/api/products/").await;
    assert_eq!(products.len(), 1);
    assert_eq!(products[0]["name"], "billing");
    let version = app
        .get_json(&format!("/api/versions/{}", id_of(&r.body)))
        .await;
    assert_eq!(version["version"], "3.1.4");
    assert_eq!(version["scm_sha"], "abc123");
    assert_eq!(version["scm_branch"], "main");
    assert_eq!(version["build_url"], "https://ci/1");
    // A build is not a deployment and names no environment.
    assert!(deployments(&app).await.is_empty());
    assert!(list(&app, "/api/environments/").await.is_empty());
}

#[tokio::test]
async fn a_build_event_for_a_known_version_is_200() {
    let app = spawn_app().await;
    let first = post(
        &app,
        BUILDS,
        &build("billing", "3.1.4", json!({"scm_sha": "abc123"})),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let again = post(
        &app,
        BUILDS,
        &build("billing", "3.1.4", json!({"scm_sha": "abc123"})),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.raw);
    assert_eq!(again.body["id"], first.body["id"]);
    // A new version of a known product is new: 201, same product.
    let next = post(&app, BUILDS, &build("billing", "3.1.5", json!({}))).await;
    assert_eq!(next.status, 201, "{}", next.raw);
    assert_eq!(next.body["product_id"], first.body["product_id"]);
    assert_eq!(list(&app, "/api/products/").await.len(), 1);
    // A version first seen in a deployment event is known too.
    app.deploy_ok("web", "1.0.0", "dev", "completed").await;
    let known = post(&app, BUILDS, &build("web", "1.0.0", json!({}))).await;
    assert_eq!(known.status, 200, "{}", known.raw);
}

#[tokio::test]
async fn version_events_is_an_alias_of_build_events() {
    let app = spawn_app().await;
    let created = post(
        &app,
        "/api/version-events/",
        &build("billing", "1.0.0", json!({"scm_sha": "aaa"})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    // Either path sees the same versions and applies the same rules.
    let known = post(
        &app,
        BUILDS,
        &build("billing", "1.0.0", json!({"scm_sha": "aaa"})),
    )
    .await;
    assert_eq!(known.status, 200, "{}", known.raw);
    assert_eq!(known.body["id"], created.body["id"]);
    let conflict = post(
        &app,
        "/api/version-events/",
        &build("billing", "1.0.0", json!({"scm_sha": "bbb"})),
    )
    .await;
    assert_json_error(&conflict, 409, "alias, other sha");
    let missing = post(
        &app,
        "/api/version-events/",
        &without(build("billing", "1.0.1", json!({})), "status"),
    )
    .await;
    assert_field_error(&missing, "status", "alias without status");
}

#[tokio::test]
async fn build_events_never_change_deployment_state() {
    let app = spawn_app().await;
    let open = send_expect(&app, &event("api", "1.0.0", "prod", "started"), 201).await;
    let done = send_expect(&app, &event("api", "1.0.0", "staging", "completed"), 201).await;
    let before = (
        deployment_state(&app, &id_of(&open)).await,
        deployment_events(&app, &id_of(&open)).await,
        deployment_state(&app, &id_of(&done)).await,
        deployment_events(&app, &id_of(&done)).await,
    );
    for status in ["failed", "completed", "aborted", "pending", "started"] {
        // Extra deployment-looking fields are unknown to a build event and ignored.
        let body = build(
            "api",
            "1.0.0",
            json!({"status": status, "environment_name": "prod", "invoke_id": "x"}),
        );
        let r = post(&app, BUILDS, &body).await;
        assert_eq!(r.status, 200, "build {status}: {}", r.raw);
    }
    let after = (
        deployment_state(&app, &id_of(&open)).await,
        deployment_events(&app, &id_of(&open)).await,
        deployment_state(&app, &id_of(&done)).await,
        deployment_events(&app, &id_of(&done)).await,
    );
    assert_eq!(after, before);
    assert_eq!(deployments(&app).await.len(), 2);
}

#[tokio::test]
async fn a_build_event_with_a_different_scm_sha_is_a_409_and_changes_nothing() {
    let app = spawn_app().await;
    let first = post(
        &app,
        BUILDS,
        &build("api", "1.0.0", json!({"scm_sha": "1111111"})),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let before = snapshot(&app).await;

    let r = post(
        &app,
        BUILDS,
        &build(
            "api",
            "1.0.0",
            json!({"scm_sha": "2222222", "scm_branch": "hotfix"}),
        ),
    )
    .await;
    assert_json_error(&r, 409, "other scm_sha");
    assert!(r.body["detail"].is_string(), "{}", r.raw);
    assert_eq!(snapshot(&app).await, before);
    let version = app
        .get_json(&format!("/api/versions/{}", id_of(&first.body)))
        .await;
    assert_eq!(version["scm_sha"], "1111111");
    assert_eq!(
        version["scm_branch"],
        Value::Null,
        "the refused build filled nothing"
    );

    // The same sha, or none at all, is the same build.
    let same = post(
        &app,
        BUILDS,
        &build("api", "1.0.0", json!({"scm_sha": "1111111"})),
    )
    .await;
    assert_eq!(same.status, 200, "{}", same.raw);
    let none = post(&app, BUILDS, &build("api", "1.0.0", json!({}))).await;
    assert_eq!(none.status, 200, "{}", none.raw);
}

#[tokio::test]
async fn a_build_event_fills_the_empty_fields_of_a_version() {
    let app = spawn_app().await;
    let d = app.deploy_ok("api", "1.0.0", "dev", "completed").await;
    let version_path = format!(
        "/api/versions/{}",
        d["version_id"].as_str().expect("version_id")
    );
    let before = app.get_json(&version_path).await;
    assert_eq!(before["scm_sha"], Value::Null);
    assert_eq!(before["build_url"], Value::Null);

    let r = post(
        &app,
        BUILDS,
        &build(
            "api",
            "1.0.0",
            json!({"scm_sha": "cafe123", "build_url": "https://ci/77", "scm_branch": "main", "built_by": "ci"}),
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.raw);
    assert_eq!(r.body["id"], d["version_id"]);
    let after = app.get_json(&version_path).await;
    assert_eq!(after["scm_sha"], "cafe123");
    assert_eq!(after["build_url"], "https://ci/77");
    assert_eq!(after["scm_branch"], "main");
    assert_eq!(after["built_by"], "ci");
    // Now the version has a sha, so another one is refused.
    let other = post(
        &app,
        BUILDS,
        &build("api", "1.0.0", json!({"scm_sha": "beef456"})),
    )
    .await;
    assert_json_error(&other, 409, "sha after fill-in");
}

#[tokio::test]
async fn a_deployment_event_fills_the_empty_fields_of_a_version() {
    let app = spawn_app().await;
    let b = post(&app, BUILDS, &build("api", "1.0.0", json!({}))).await;
    assert_eq!(b.status, 201, "{}", b.raw);
    let body = with(
        event("api", "1.0.0", "dev", "completed"),
        json!({"scm_sha": "f00d", "scm_repository": "org/api"}),
    );
    let d = send_expect(&app, &body, 201).await;
    assert_eq!(d["version_id"], b.body["id"]);
    let version = app
        .get_json(&format!("/api/versions/{}", id_of(&b.body)))
        .await;
    assert_eq!(version["scm_sha"], "f00d");
    assert_eq!(version["scm_repository"], "org/api");
}

#[tokio::test]
async fn filled_version_fields_are_not_overwritten_by_later_events() {
    let app = spawn_app().await;
    let first = post(
        &app,
        BUILDS,
        &build(
            "api",
            "1.0.0",
            json!({"scm_sha": "abc", "scm_branch": "main", "build_url": "https://ci/1"}),
        ),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.raw);
    let later = post(
        &app,
        BUILDS,
        &build(
            "api",
            "1.0.0",
            json!({"scm_sha": "abc", "scm_branch": "other", "build_url": "https://ci/2"}),
        ),
    )
    .await;
    assert_eq!(later.status, 200, "{}", later.raw);
    let v = app
        .get_json(&format!("/api/versions/{}", id_of(&first.body)))
        .await;
    assert_eq!(v["scm_branch"], "main", "versions are immutable");
    assert_eq!(v["build_url"], "https://ci/1", "versions are immutable");
}

#[tokio::test]
async fn a_build_event_without_a_required_field_is_a_422_naming_it() {
    let app = spawn_app().await;
    let full = build("api", "1.0.0", json!({}));
    for field in ["product_name", "version", "status"] {
        let r = post(&app, BUILDS, &without(full.clone(), field)).await;
        assert_field_error(&r, field, &format!("build without {field}"));
    }
    let r = post(&app, BUILDS, &build("api", "1 0", json!({}))).await;
    assert_field_error(&r, "version", "build version with whitespace");
    let r = post(
        &app,
        BUILDS,
        &build("api", "1.0.0", json!({"extra_metadata": [1]})),
    )
    .await;
    assert_field_error(&r, "extra_metadata", "build metadata array");
    assert_nothing_created(&app).await;
}

// =============================================================================================
// Reading deployments (SPEC §5)
// =============================================================================================

#[tokio::test]
async fn deployments_can_be_filtered_by_product_environment_and_status() {
    let app = spawn_app().await;
    app.deploy_ok("api", "1.0.0", "dev", "completed").await;
    app.deploy_ok("api", "1.0.0", "prod", "started").await;
    app.deploy_ok("web", "2.0.0", "dev", "failed").await;
    app.deploy_ok("web", "2.0.0", "prod", "completed").await;

    let pairs = |rows: Vec<Value>| -> Vec<(String, String, String)> {
        let mut out: Vec<_> = rows
            .iter()
            .map(|d| {
                (
                    d["product_name"].as_str().expect("product").to_string(),
                    d["environment_name"].as_str().expect("env").to_string(),
                    d["status"].as_str().expect("status").to_string(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let t = |p: &str, e: &str, s: &str| (p.to_string(), e.to_string(), s.to_string());

    assert_eq!(
        pairs(list(&app, "/api/deployments/?product=api").await),
        [t("api", "dev", "completed"), t("api", "prod", "started")]
    );
    assert_eq!(
        pairs(list(&app, "/api/deployments/?environment=dev").await),
        [t("api", "dev", "completed"), t("web", "dev", "failed")]
    );
    assert_eq!(
        pairs(list(&app, "/api/deployments/?status=completed").await),
        [t("api", "dev", "completed"), t("web", "prod", "completed")]
    );
    assert_eq!(
        pairs(
            list(
                &app,
                "/api/deployments/?product=web&environment=prod&status=completed"
            )
            .await
        ),
        [t("web", "prod", "completed")]
    );
    assert!(list(&app, "/api/deployments/?product=nope")
        .await
        .is_empty());
    assert!(list(&app, "/api/deployments/?product=api&status=failed")
        .await
        .is_empty());
}

#[tokio::test]
async fn deployments_are_listed_newest_first_with_limit_offset_and_total_count() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..5 {
        let d = app
            .deploy_ok("api", &format!("1.0.{i}"), "prod", "completed")
            .await;
        created.push(id_of(&d));
    }
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let res = app.get("/api/deployments/").await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(total_count(&res), 5);
    let all: Vec<Value> = res.json().await.expect("JSON");
    let ids: Vec<String> = all.iter().map(id_of).collect();
    assert_eq!(ids, newest_first);

    let res = app.get("/api/deployments/?limit=2").await;
    assert_eq!(total_count(&res), 5, "the total ignores the page");
    let page: Vec<Value> = res.json().await.expect("JSON");
    assert_eq!(
        page.iter().map(id_of).collect::<Vec<_>>(),
        newest_first[..2]
    );

    let res = app.get("/api/deployments/?limit=2&offset=2").await;
    assert_eq!(total_count(&res), 5);
    let page: Vec<Value> = res.json().await.expect("JSON");
    assert_eq!(
        page.iter().map(id_of).collect::<Vec<_>>(),
        newest_first[2..4]
    );

    let res = app.get("/api/deployments/?limit=2&offset=4").await;
    let page: Vec<Value> = res.json().await.expect("JSON");
    assert_eq!(
        page.iter().map(id_of).collect::<Vec<_>>(),
        newest_first[4..]
    );

    let res = app.get("/api/deployments/?offset=10").await;
    assert_eq!(total_count(&res), 5);
    let page: Vec<Value> = res.json().await.expect("JSON");
    assert!(page.is_empty());

    // The total counts what the filter matches.
    let res = app.get("/api/deployments/?status=failed&limit=1").await;
    assert_eq!(total_count(&res), 0);
}

#[tokio::test]
async fn a_deployment_is_shown_with_its_events_in_order() {
    let app = spawn_app().await;
    let run = json!({"invoke_id": "r1"});
    let ev = |status: &str| with(event("api", "1.0.0", "prod", status), run.clone());
    let first = send_expect(&app, &ev("queued"), 201).await;
    let second = send_expect(&app, &ev("Deploying"), 200).await;
    let third = send_expect(&app, &ev("SUCCESS"), 200).await;

    let d = app
        .get_json(&format!("/api/deployments/{}", id_of(&first)))
        .await;
    assert_eq!(d["id"], first["id"]);
    assert_eq!(d["status"], "completed");
    assert_eq!(d["product_name"], "api");
    assert_eq!(d["version"], "1.0.0");
    assert_eq!(d["environment_name"], "prod");
    let events = d["events"].as_array().expect("events");
    let ids: Vec<&Value> = events.iter().map(|e| &e["id"]).collect();
    assert_eq!(
        ids,
        [&first["event_id"], &second["event_id"], &third["event_id"]]
    );
    let statuses: Vec<&Value> = events.iter().map(|e| &e["status"]).collect();
    assert_eq!(
        statuses,
        [&json!("pending"), &json!("started"), &json!("completed")]
    );
    for e in events {
        assert_eq!(e["applied"], true);
        assert_utc_time(e, "created_at");
    }
}

#[tokio::test]
async fn an_unknown_or_malformed_deployment_id_is_a_404() {
    let app = spawn_app().await;
    app.deploy_ok("api", "1.0.0", "prod", "completed").await;
    for id in [
        "00000000-0000-4000-8000-000000000000",
        "018f4b6e-7c1a-7d2e-9f00-123456789abc",
        "not-a-uuid",
        "42",
        "%20",
    ] {
        let r = read_reply(app.get(&format!("/api/deployments/{id}")).await).await;
        assert_json_error(&r, 404, &format!("deployment {id}"));
    }
}
