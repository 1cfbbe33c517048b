//! What an attacker on the network tries (SPEC §7 and the hardening it asks for): control
//! characters in every free-text field, the gate's view of a path, where sign-in sends you,
//! idempotency keys of different credentials, slow clients.
//!
//! The same tests run on SQLite and on PostgreSQL (CI): "the same answer on both" is each test
//! passing on each backend.

use crate::common::{answer, spawn_app, urlencode, Page, TestApp};
use serde_json::{json, Value};

const NUL: &str = "before\u{0}after";

/// One body field of a JSON request, set to text holding a NUL: a 422 naming it, never a 500,
/// and nothing written.
async fn refuses_nul(app: &TestApp, method: &str, path: &str, base: &Value, field: &str) {
    let mut body = base.clone();
    body[field] = json!(NUL);
    let req = match method {
        "POST" => app.client.post(app.url(path)),
        "PATCH" => app.client.patch(app.url(path)),
        _ => unreachable!("{method}"),
    };
    let (code, got) = answer(req.json(&body).send().await.expect("request")).await;
    assert_eq!(code, 422, "{method} {path} with NUL in {field}: {got}");
    let locs: Vec<&Value> = got["detail"]
        .as_array()
        .map(|d| d.iter().map(|e| &e["loc"]).collect())
        .unwrap_or_default();
    assert!(
        locs.contains(&&json!(["body", field])),
        "{method} {path}: the error names {field}: {got}"
    );
}

#[tokio::test]
async fn a_nul_in_any_free_text_field_of_the_api_is_a_422_naming_it() {
    let app = spawn_app().await;
    let event = json!({"product_name": "api", "version": "1.0", "environment_name": "dev", "status": "started"});
    for field in [
        "product_name",
        "environment_name",
        "deployed_by",
        "deployed_by_name",
        "deployed_by_email",
        "scm_sha",
        "scm_branch",
        "scm_repository",
        "build_url",
        "deploy_url",
        "build_number",
        "source_system",
        "invoke_id",
    ] {
        refuses_nul(&app, "POST", "/api/deployment-events/", &event, field).await;
    }
    let build = json!({"product_name": "api", "version": "1.0", "status": "built"});
    for field in [
        "product_name",
        "built_by",
        "built_by_name",
        "built_by_email",
        "scm_sha",
        "scm_branch",
        "scm_repository",
        "build_url",
        "build_number",
        "source_system",
        "invoke_id",
    ] {
        refuses_nul(&app, "POST", "/api/build-events/", &build, field).await;
    }
    let release = json!({"name": "R"});
    for field in ["name", "description"] {
        refuses_nul(&app, "POST", "/api/releases/", &release, field).await;
    }
    let id = app.create_release("R").await;
    for field in ["name", "description"] {
        refuses_nul(
            &app,
            "PATCH",
            &format!("/api/releases/{id}"),
            &json!({}),
            field,
        )
        .await;
    }
    let product = json!({"name": "p"});
    for field in ["name", "description"] {
        refuses_nul(&app, "POST", "/api/products/", &product, field).await;
    }
    let environment = json!({"name": "e"});
    for field in ["name", "description"] {
        refuses_nul(&app, "POST", "/api/environments/", &environment, field).await;
    }
    // Nothing was written by any of them.
    assert_eq!(app.get_json("/api/deployments/").await, json!([]));
    assert_eq!(app.get_json("/api/products/").await, json!([]));
    assert_eq!(
        app.get_json("/api/releases/")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Inside metadata a NUL is JSON text (`\u0000`): stored and given back alike on both.
    let mut with_meta = event.clone();
    with_meta["extra_metadata"] = json!({"note": NUL});
    let (code, d) = answer(app.post_json("/api/deployment-events/", &with_meta).await).await;
    assert_eq!(code, 201, "{d}");
    assert_eq!(d["extra_metadata"]["note"], NUL);
}

#[tokio::test]
async fn a_nul_in_a_search_or_filter_is_refused_not_a_500() {
    let app = spawn_app().await;
    app.deploy_ok("api", "1.0", "dev", "started").await;
    let nul = urlencode(NUL);
    for path in [
        format!("/api/releases/?q={nul}"),
        format!("/api/deployments/?product={nul}"),
        format!("/api/deployments/?environment={nul}"),
        format!("/api/versions/?product={nul}"),
        format!("/api/versions/?scm_sha={nul}"),
    ] {
        let (code, body) = answer(app.get(&path).await).await;
        assert_eq!(code, 422, "GET {path}: {body}");
        assert_eq!(body["detail"][0]["loc"][0], "query", "GET {path}: {body}");
    }
    for path in [
        format!("/releases?q={nul}"),
        format!("/deployments?product={nul}"),
        format!("/deployments?environment={nul}"),
    ] {
        let page = app.page(&path).await;
        assert_eq!(page.status, 400, "GET {path}: {}", page.body);
        assert!(page.body.contains("control characters"), "GET {path}");
    }
}

#[tokio::test]
async fn a_nul_in_a_form_field_is_shown_again_with_its_error_never_a_500() {
    let app = spawn_app().await;
    for (path, fields, field) in [
        (
            "/releases",
            vec![("name", NUL), ("status", "draft")],
            "name",
        ),
        (
            "/releases",
            vec![("name", "R1"), ("description", NUL), ("status", "draft")],
            "description",
        ),
    ] {
        let page = Page::read(app.post_form(path, &fields).await).await;
        assert_eq!(page.status, 422, "POST {path} with NUL in {field}");
        assert!(
            page.body.contains(&format!("id=\"{field}-error\"")),
            "POST {path}: the error is next to {field}"
        );
    }
    let id = app.create_release("R2").await;
    let page = Page::read(
        app.post_form(
            &format!("/releases/{id}/edit"),
            &[("name", "R2"), ("description", NUL), ("metadata", "")],
        )
        .await,
    )
    .await;
    assert_eq!(page.status, 422, "edit with NUL in the description");
    // Settings: a user or key name with a NUL.
    for (path, fields) in [
        ("/settings/users", vec![("name", NUL), ("role", "viewer")]),
        ("/settings/keys", vec![("name", NUL), ("scope", "ingest")]),
    ] {
        let page = Page::read(app.post_form(path, &fields).await).await;
        assert!(
            (400..500).contains(&page.status),
            "POST {path}: {}",
            page.status
        );
    }
    // Naming a user or key with a NUL: nobody has that name (404), on both backends.
    for path in [
        "/settings/users/disable",
        "/settings/users/enable",
        "/settings/users/password",
        "/settings/keys/revoke",
    ] {
        let page = Page::read(app.post_form(path, &[("name", NUL)]).await).await;
        assert_eq!(page.status, 404, "POST {path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Slow clients

/// The application with a 2 s request timeout.
async fn impatient_app() -> TestApp {
    crate::common::spawn_app_configured(|c| c.request_timeout = std::time::Duration::from_secs(2))
        .await
}

/// Sends `head` at once, then `trickle` one byte a second; returns what the server answered
/// (its first line) and how long after the head it came. Stops trickling when the server
/// answers or closes.
async fn trickle(app: &TestApp, head: &str, trickle: &str) -> (String, std::time::Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = std::time::Instant::now();
    let (mut read, mut write) = stream.into_split();
    let bytes: Vec<u8> = trickle.bytes().collect();
    let writer = tokio::spawn(async move {
        for b in bytes {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            if write.write_all(&[b]).await.is_err() {
                break;
            }
        }
        write
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = std::time::Duration::from_secs(20);
    loop {
        match tokio::time::timeout(deadline, read.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Ok(Err(_)) => break,
        }
    }
    let took = started.elapsed();
    writer.abort();
    let text = String::from_utf8_lossy(&answer);
    (text.lines().next().unwrap_or("").to_string(), took)
}

#[tokio::test]
async fn a_body_sent_a_byte_a_second_is_cut_off_with_408() {
    let app = impatient_app().await;
    let body =
        r#"{"product_name":"api","version":"1.0","environment_name":"dev","status":"started"}"#;
    let head = format!(
        "POST /api/deployment-events/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.write_key,
        body.len()
    );
    let (status, took) = trickle(&app, &head, body).await;
    assert!(
        status.starts_with("HTTP/1.1 408"),
        "{status:?} after {took:?}"
    );
    assert!(
        took >= std::time::Duration::from_millis(1900) && took < std::time::Duration::from_secs(5),
        "cut off after the 2 s timeout, not before and not much later: {took:?}"
    );
    // Nothing was recorded.
    assert_eq!(app.get_json("/api/deployments/").await, json!([]));

    // The same for a form (the gate reads it for its CSRF token).
    let form = "name=ada&password=x&csrf_token=t";
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: localhost\r\nCookie: rb_login=t\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        form.len()
    );
    let (status, took) = trickle(&app, &head, form).await;
    assert!(
        status.starts_with("HTTP/1.1 408"),
        "{status:?} after {took:?}"
    );
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");

    // A body that arrives in time is served as usual.
    let res = app
        .post_json(
            "/api/deployment-events/",
            &serde_json::from_str(body).expect("json"),
        )
        .await;
    assert_eq!(res.status().as_u16(), 201);
}

#[tokio::test]
async fn headers_sent_a_byte_a_second_are_cut_off_too() {
    let app = impatient_app().await;
    let (status, took) = trickle(
        &app,
        "GET /api/health HTTP/1.1\r\n",
        "Host: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n",
    )
    .await;
    // actix-web answers 408 (or just closes) once the head is late.
    assert!(
        status.is_empty() || status.starts_with("HTTP/1.1 408"),
        "{status:?}"
    );
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}

// ---------------------------------------------------------------------------------------------
// The gate sees the path the router sees

#[tokio::test]
async fn encoded_api_paths_are_the_api_for_the_gate_too() {
    let app = spawn_app().await;
    let product = json!({"name": "sneaky"});
    for path in [
        "/%61pi/products",
        "/%61%70%69/products/",
        "/api/%70roducts",
        "//api//products",
        "/api/./products",
    ] {
        // A signed-in session with its CSRF token, and no key: the API takes keys only.
        let res = app
            .anon
            .post(app.url(path))
            .header(reqwest::header::COOKIE, app.admin.cookie())
            .header("X-CSRF-Token", &app.admin.csrf)
            .json(&product)
            .send()
            .await
            .expect("POST");
        let status = res.status().as_u16();
        assert!(
            status == 401 || status == 404,
            "POST {path} with a session: {status}"
        );
    }
    // Nothing was created by any spelling.
    assert_eq!(app.get_json("/api/products/").await, json!([]));
    // With a key, the encoded spelling is the API it decodes to.
    let res = app.post_json("/%61pi/products", &product).await;
    assert_eq!(res.status().as_u16(), 201);
    let form = Page::read(
        app.post_form_as(
            Some(&app.admin),
            "/%61pi/products",
            &[("name", "form-made")],
        )
        .await,
    )
    .await;
    assert_eq!(form.status, 401, "a form post to the API is refused");
    assert_eq!(
        app.get_json("/api/products/")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

// ---------------------------------------------------------------------------------------------
// Idempotency keys belong to their credential

#[tokio::test]
async fn one_keys_idempotency_key_does_not_touch_another_keys_requests() {
    let app = spawn_app().await;
    let other = crate::common::issue_key(
        &app.ctx,
        "other-pipeline",
        releaseboard::domain::access::KeyScope::Ingest,
    )
    .await;
    let post = |key: String, body: Value| {
        let app = &app;
        async move {
            answer(
                app.anon
                    .post(app.url("/api/deployment-events/"))
                    .header(reqwest::header::AUTHORIZATION, format!("Bearer {key}"))
                    .header("Idempotency-Key", "run-1234-deploy")
                    .json(&body)
                    .send()
                    .await
                    .expect("POST"),
            )
            .await
        }
    };
    let mine = json!({"product_name": "api", "version": "1.0", "environment_name": "dev", "status": "started"});
    let theirs = json!({"product_name": "web", "version": "2.0", "environment_name": "dev", "status": "started"});
    let (code, first) = post(app.write_key.clone(), mine.clone()).await;
    assert_eq!(code, 201, "{first}");
    // The same key from another credential, with another body: its own request, not a 409.
    let (code, second) = post(other.clone(), theirs.clone()).await;
    assert_eq!(code, 201, "{second}");
    assert_eq!(second["product_name"], "web");
    // And with the first body: not a replay of the first credential's answer.
    let (code, third) = post(other.clone(), mine.clone()).await;
    assert_eq!(code, 409, "its own key with another body: {third}");
    assert_eq!(third["code"], "idempotency_key_reused");
    // Each credential's retry replays its own answer.
    let (code, again) = post(app.write_key.clone(), mine).await;
    assert_eq!((code, &again["id"]), (201, &first["id"]));
    let (code, again) = post(other, theirs).await;
    assert_eq!((code, &again["id"]), (201, &second["id"]));
    assert_eq!(
        app.get_json("/api/deployments/")
            .await
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

// ---------------------------------------------------------------------------------------------
// Unknown fields

#[tokio::test]
async fn unknown_event_fields_are_not_stored() {
    let app = spawn_app().await;
    let body = json!({
        "product_name": "api", "version": "1.0", "environment_name": "dev", "status": "started",
        "deployed_by": "ci",
        "padding": "x".repeat(900 * 1024),
        "skip_preflight_checks": true,
        "extra_metadata": {"kept": 1}
    });
    let (code, d) = answer(app.post_json("/api/deployment-events/", &body).await).await;
    assert_eq!(code, 201, "{d}");
    let id = d["id"].as_str().expect("id");
    let stored = app.get_json(&format!("/api/deployments/{id}")).await;
    let payload = &stored["events"][0]["payload"];
    assert_eq!(
        payload,
        &json!({
            "product_name": "api", "version": "1.0", "environment_name": "dev",
            "status": "started", "deployed_by": "ci", "extra_metadata": {"kept": 1}
        }),
        "the log keeps the known fields only"
    );
}

// ---------------------------------------------------------------------------------------------
// Signing in under attack

/// Posts the sign-in form as a browser would (its double-submit token in cookie and field).
async fn sign_in(app: &TestApp, name: &str, password: &str, next: &str) -> Page {
    let res = app
        .anon
        .post(app.url("/login"))
        .header(reqwest::header::COOKIE, "rb_login=burst-token")
        .form(&[
            ("csrf_token", "burst-token"),
            ("name", name),
            ("password", password),
            ("next", next),
        ])
        .send()
        .await
        .expect("POST /login");
    Page::read(res).await
}

/// Fires `attempts` sign-ins at once; returns how many ended with each status.
async fn burst(app: &TestApp, attempts: Vec<(String, String)>) -> Vec<u16> {
    let all = attempts
        .iter()
        .map(|(name, password)| sign_in(app, name, password, "/"));
    futures_util::future::join_all(all)
        .await
        .iter()
        .map(|p| p.status)
        .collect()
}

fn count(statuses: &[u16], code: u16) -> usize {
    statuses.iter().filter(|s| **s == code).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_passwords_for_one_user_gets_five_checks_and_no_more() {
    let app = spawn_app().await;
    crate::common::login_as(&app.db, "ada", releaseboard::domain::access::Role::Admin).await;
    let mut attempts: Vec<(String, String)> = (0..99)
        .map(|i| ("ada".to_string(), format!("guess-{i}")))
        .collect();
    // The right password, sent last in the burst.
    attempts.push(("ada".into(), crate::common::TEST_PASSWORD.into()));
    let statuses = burst(&app, attempts).await;
    let checked = count(&statuses, 401) + count(&statuses, 303);
    assert!(checked <= 5, "{checked} passwords checked: {statuses:?}");
    assert_eq!(count(&statuses, 429), 100 - checked, "{statuses:?}");
    assert_eq!(
        count(&statuses, 303),
        0,
        "the right password is refused while locked"
    );
    // Still locked afterwards, even for the right password.
    let p = sign_in(&app, "ada", crate::common::TEST_PASSWORD, "/").await;
    assert_eq!(p.status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_from_one_address_gets_thirty_checks_and_no_more() {
    let app = spawn_app().await;
    let attempts = (0..100)
        .map(|i| (format!("user-{i}"), "guess".to_string()))
        .collect();
    let statuses = burst(&app, attempts).await;
    let checked = count(&statuses, 401);
    assert!(checked <= 30, "{checked} passwords checked: {statuses:?}");
    // The others were refused: locked (429), or turned away, uncounted, because password work
    // had no room for them (503).
    assert_eq!(
        count(&statuses, 429) + count(&statuses, 503),
        100 - checked,
        "{statuses:?}"
    );
    // One by one from then on: checked until the address has made 30 attempts, then locked.
    let mut later = Vec::new();
    for i in 0..40 {
        later.push(
            sign_in(&app, &format!("later-{i}"), "guess", "/")
                .await
                .status,
        );
    }
    let checked_later = count(&later, 401);
    assert_eq!(checked + checked_later, 30, "{statuses:?} then {later:?}");
    assert!(
        later[checked_later..].iter().all(|s| *s == 429),
        "locked once 30 were checked: {later:?}"
    );
}

#[tokio::test]
async fn after_sign_in_only_paths_of_this_site_are_followed() {
    let app = spawn_app().await;
    crate::common::login_as(&app.db, "ada", releaseboard::domain::access::Role::Admin).await;
    for next in [
        "/\t/evil.example/",
        "/\r\n/evil.example/",
        "/\n/evil.example/",
        "/\\evil.example/",
        "/\\/evil.example/",
        "//evil.example/",
        "https://evil.example/",
        "/ok\u{0}x",
        "/\u{1b}x",
    ] {
        let p = sign_in(&app, "ada", crate::common::TEST_PASSWORD, next).await;
        assert_eq!(p.status, 303, "next={next:?}: {}", p.body);
        assert_eq!(p.location.as_deref(), Some("/"), "next={next:?}");
    }
    let p = sign_in(
        &app,
        "ada",
        crate::common::TEST_PASSWORD,
        "/releases?status=draft",
    )
    .await;
    assert_eq!(p.location.as_deref(), Some("/releases?status=draft"));
    // From the sign-in page's query string too: a TAB arrives decoded.
    let form = app.page_as(None, "/login?next=/%09/evil.example/").await;
    assert_eq!(
        crate::common::css_attrs(&form.body, "input[name=next]", "value"),
        ["/"]
    );
    // A NUL in the name is a wrong sign-in, on both backends.
    let p = sign_in(&app, "ada\u{0}", crate::common::TEST_PASSWORD, "/").await;
    assert_eq!(p.status, 401);
}

#[tokio::test]
async fn signing_in_again_ends_the_session_the_browser_came_with() {
    let app = spawn_app().await;
    let first =
        crate::common::login_as(&app.db, "ada", releaseboard::domain::access::Role::Admin).await;
    let res = app
        .anon
        .post(app.url("/login"))
        .header(
            reqwest::header::COOKIE,
            format!("rb_login=t; {}", first.cookie()),
        )
        .form(&[
            ("csrf_token", "t"),
            ("name", "ada"),
            ("password", crate::common::TEST_PASSWORD),
        ])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(res.status().as_u16(), 303);
    // The old cookie no longer signs anyone in.
    let settings = app.page_as(Some(&first), "/settings").await;
    assert_eq!(settings.status, 303, "the old session is over");
}

#[tokio::test]
async fn attempted_names_are_not_stored_readable() {
    let app = spawn_app().await;
    let typed = "correct-horse-battery-staple";
    assert_eq!(sign_in(&app, typed, "x", "/").await.status, 401);
    let subjects: Vec<String> = crate::common::write(&app.db, |conn| {
        use diesel::prelude::*;
        use releaseboard::store::schema::login_throttle;
        login_throttle::table
            .select(login_throttle::subject)
            .load::<String>(conn)
            .map_err(|e| releaseboard::store::TxError::Store(e.into()))
    })
    .await
    .expect("read the throttle table");
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    for s in &subjects {
        assert!(!s.contains(typed) && !s.contains("127.0.0.1"), "{s}");
    }
}

// ---------------------------------------------------------------------------------------------
// Caches

#[tokio::test]
async fn what_needs_credentials_is_never_cached() {
    let cache = |res: &reqwest::Response| {
        res.headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let app = spawn_app().await;
    // Public reading, anonymous: any cache may keep it.
    let res = app
        .anon
        .get(app.url("/api/releases/"))
        .send()
        .await
        .expect("GET");
    assert_eq!(cache(&res), "");
    // Signed in: pages carry CSRF tokens.
    let res = app
        .anon
        .get(app.url("/settings"))
        .header(reqwest::header::COOKIE, app.admin.cookie())
        .send()
        .await
        .expect("GET");
    assert_eq!(
        (res.status().as_u16(), cache(&res).as_str()),
        (200, "no-store")
    );
    // A server that is not public: every answer.
    let private = crate::common::spawn_app_configured(|c| c.public_read = false).await;
    let res = private.get("/api/releases/").await;
    assert_eq!(
        (res.status().as_u16(), cache(&res).as_str()),
        (200, "no-store")
    );
}
