//! Access control (SPEC §7): who may write what, CSRF, sessions, sign-in throttling, the audit
//! actor, closed reading and security headers — each against the running application.

use crate::common;

use crate::common::{css_texts, issue_key, login_as, Login, Page, TestApp, TEST_PASSWORD};
use releaseboard::domain::access::{KeyScope, Role};
use releaseboard::service::accounts;
use reqwest::header::{AUTHORIZATION, COOKIE, WWW_AUTHENTICATE};
use reqwest::Method;
use serde_json::{json, Value};

/// Ids of the records the write routes act on.
struct Fixture {
    release: String,
    product: String,
    spare_product: String,
    environment: String,
    in_release: String,
    not_in_release: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let v10 = app.deploy_ok("shop", "1.0", "Dev", "completed").await;
    let v11 = app.deploy_ok("shop", "1.1", "Dev", "completed").await;
    let spare = app.deploy_ok("spare", "0.1", "Dev", "completed").await;
    let release = app.create_release("Autumn").await;
    assert_eq!(app.add_to_release(&release, "shop", "1.0").await, 201);
    let s = |v: &Value, k: &str| v[k].as_str().expect(k).to_string();
    Fixture {
        release,
        product: s(&v10, "product_id"),
        spare_product: s(&spare, "product_id"),
        environment: s(&v10, "environment_id"),
        in_release: s(&v10, "version_id"),
        not_in_release: s(&v11, "version_id"),
    }
}

/// Everything a refused request could have changed, as the admin reads it.
async fn fingerprint(app: &TestApp, f: &Fixture) -> String {
    let mut all = String::new();
    for path in [
        "/api/releases?limit=200".to_string(),
        "/api/products?limit=200".to_string(),
        "/api/environments".to_string(),
        "/api/versions?limit=200".to_string(),
        "/api/deployments?limit=200".to_string(),
        format!("/api/releases/{}", f.release),
        format!("/api/releases/{}/audit", f.release),
    ] {
        all.push_str(&app.get_json(&path).await.to_string());
    }
    for u in accounts::list_users(&app.ctx).await.expect("users") {
        all.push_str(&format!(
            "{}|{}|{}|{};",
            u.name, u.role, u.disabled, u.password_hash
        ));
    }
    for k in accounts::list_api_keys(&app.ctx).await.expect("keys") {
        all.push_str(&format!("{}|{}|{:?};", k.name, k.scope, k.revoked_at));
    }
    all
}

struct ApiRoute {
    method: Method,
    path: String,
    body: Option<Value>,
    /// Event routes: an ingest key may use them.
    ingest: bool,
}

fn api_routes(f: &Fixture) -> Vec<ApiRoute> {
    let r = |method: Method, path: String, body: Option<Value>, ingest: bool| ApiRoute {
        method,
        path,
        body,
        ingest,
    };
    vec![
        r(
            Method::POST,
            "/api/deployment-events".into(),
            Some(
                json!({"product_name": "shop", "version": "2.0", "environment_name": "Dev", "status": "started"}),
            ),
            true,
        ),
        r(
            Method::POST,
            "/api/build-events".into(),
            Some(json!({"product_name": "shop", "version": "3.0", "status": "completed"})),
            true,
        ),
        r(
            Method::POST,
            "/api/version-events".into(),
            Some(json!({"product_name": "shop", "version": "3.1", "status": "completed"})),
            true,
        ),
        r(
            Method::POST,
            "/api/products".into(),
            Some(json!({"name": "new-product"})),
            false,
        ),
        r(
            Method::PATCH,
            format!("/api/products/{}", f.product),
            Some(json!({"description": "changed"})),
            false,
        ),
        r(
            Method::DELETE,
            format!("/api/products/{}", f.spare_product),
            None,
            false,
        ),
        r(
            Method::POST,
            "/api/environments".into(),
            Some(json!({"name": "QA"})),
            false,
        ),
        r(
            Method::PATCH,
            format!("/api/environments/{}", f.environment),
            Some(json!({"position": 7})),
            false,
        ),
        r(
            Method::POST,
            "/api/releases".into(),
            Some(json!({"name": "Winter"})),
            false,
        ),
        r(
            Method::PATCH,
            format!("/api/releases/{}", f.release),
            Some(json!({"description": "changed"})),
            false,
        ),
        r(
            Method::DELETE,
            format!("/api/releases/{}/versions/{}", f.release, f.in_release),
            None,
            false,
        ),
        r(
            Method::POST,
            format!("/api/releases/{}/versions", f.release),
            Some(json!({"product_name": "shop", "version": "1.1"})),
            false,
        ),
    ]
}

/// Sends an API request with the given `Authorization` and `Cookie` headers (none if `None`).
async fn call(
    app: &TestApp,
    route: &ApiRoute,
    authorization: Option<&str>,
    cookie: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = app.anon.request(route.method.clone(), app.url(&route.path));
    if let Some(a) = authorization {
        req = req.header(AUTHORIZATION, a);
    }
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    if let Some(b) = &route.body {
        req = req.json(b);
    }
    let res = req.send().await.expect("API request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

#[tokio::test]
async fn every_api_write_needs_a_key_with_the_right_scope_and_refusals_change_nothing() {
    let app = common::spawn_app().await;
    let f = fixture(&app).await;
    let ingest = issue_key(&app.ctx, "pipeline", KeyScope::Ingest).await;
    let revoked = issue_key(&app.ctx, "old", KeyScope::Write).await;
    accounts::revoke_api_key(&app.ctx, "old")
        .await
        .expect("revoking");
    let viewer = login_as(&app.db, "vera", Role::Viewer).await;
    let editor = login_as(&app.db, "eddie", Role::Editor).await;
    let before = fingerprint(&app, &f).await;

    for route in api_routes(&f) {
        let what = format!("{} {}", route.method, route.path);
        for (who, auth, cookie) in [
            ("anonymous", None, None),
            ("a revoked key", Some(format!("Bearer {revoked}")), None),
            (
                "an unknown key",
                Some(format!("Bearer rb_{}", "0".repeat(64))),
                None,
            ),
            (
                "a non-bearer header",
                Some("Basic YWRtaW46YWRtaW4=".into()),
                None,
            ),
            // Sessions are for pages: the API takes keys only, even from an editor.
            ("an editor's session", None, Some(editor.cookie())),
            ("a viewer's session", None, Some(viewer.cookie())),
        ] {
            let (status, headers, body) =
                call(&app, &route, auth.as_deref(), cookie.as_deref()).await;
            assert_eq!(status, 401, "{what} by {who}: {body}");
            assert!(
                headers.get(WWW_AUTHENTICATE).is_some(),
                "{what} by {who}: 401 without WWW-Authenticate"
            );
            assert!(body["detail"].is_string(), "{what} by {who}: {body}");
        }
        if !route.ingest {
            let (status, _, body) =
                call(&app, &route, Some(&format!("Bearer {ingest}")), None).await;
            assert_eq!(status, 403, "{what} with an ingest key: {body}");
            assert!(
                body["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("pipeline")),
                "the refusal names the key: {body}"
            );
        }
    }
    assert_eq!(
        fingerprint(&app, &f).await,
        before,
        "a refused request changed data"
    );

    // The right credentials succeed on every route.
    for route in api_routes(&f) {
        let auth = format!(
            "Bearer {}",
            if route.ingest {
                &ingest
            } else {
                &app.write_key
            }
        );
        let (status, _, body) = call(&app, &route, Some(&auth), None).await;
        assert!(
            (200..300).contains(&status),
            "{} {} with the right key: {status} {body}",
            route.method,
            route.path
        );
    }
    // A write key may post events too.
    let event = ApiRoute {
        method: Method::POST,
        path: "/api/deployment-events".into(),
        body: Some(
            json!({"product_name": "shop", "version": "4.0", "environment_name": "Dev", "status": "completed"}),
        ),
        ingest: true,
    };
    let (status, _, body) = call(
        &app,
        &event,
        Some(&format!("Bearer {}", app.write_key)),
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_key_records_when_it_was_last_used_and_stops_working_once_revoked() {
    let app = common::spawn_app().await;
    let key = issue_key(&app.ctx, "deployer", KeyScope::Ingest).await;
    let find = |keys: Vec<releaseboard::store::access::ApiKey>| {
        keys.into_iter()
            .find(|k| k.name == "deployer")
            .expect("the key is listed")
    };
    let listed = find(accounts::list_api_keys(&app.ctx).await.expect("keys"));
    assert_eq!(listed.last_used_at, None);
    assert_ne!(listed.key_hash, key, "only a digest is stored");
    assert!(
        !listed.key_hash.contains(&key[3..]),
        "no part of the key is stored"
    );

    let event = json!({"product_name": "a", "version": "1", "environment_name": "Dev", "status": "success"});
    let post = |auth: String| {
        app.anon
            .post(app.url("/api/deployment-events"))
            .header(AUTHORIZATION, auth)
            .json(&event)
            .send()
    };
    assert_eq!(
        post(format!("Bearer {key}"))
            .await
            .expect("POST")
            .status()
            .as_u16(),
        201
    );
    let used = find(accounts::list_api_keys(&app.ctx).await.expect("keys"));
    assert!(used.last_used_at.is_some(), "last use recorded");

    accounts::revoke_api_key(&app.ctx, "deployer")
        .await
        .expect("revoke");
    let res = post(format!("Bearer {key}")).await.expect("POST");
    assert_eq!(res.status().as_u16(), 401);
    // A revoked key is refused on reads too, so a pipeline notices at once.
    let res = app
        .anon
        .get(app.url("/api/releases"))
        .header(AUTHORIZATION, format!("Bearer {key}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status().as_u16(), 401);
    // Its name can go to a replacement key, which works.
    let replacement = issue_key(&app.ctx, "deployer", KeyScope::Ingest).await;
    assert_eq!(
        post(format!("Bearer {replacement}"))
            .await
            .expect("POST")
            .status()
            .as_u16(),
        201
    );
}

async fn release_count(app: &TestApp) -> usize {
    app.get_json("/api/releases?limit=200")
        .await
        .as_array()
        .expect("a list")
        .len()
}

// ---------------------------------------------------------------------------------------------
// Forms

#[derive(Clone, Copy, PartialEq, Debug)]
enum Needs {
    Editor,
    Admin,
}

/// A form route: its path, its fields, and who may post it.
type FormRoute = (String, Vec<(&'static str, String)>, Needs);

fn form_routes(f: &Fixture) -> Vec<FormRoute> {
    let rel = &f.release;
    vec![
        (
            "/releases".into(),
            vec![("name", "Made on the web".into())],
            Needs::Editor,
        ),
        (
            format!("/releases/{rel}/edit"),
            vec![
                ("name", "Autumn (renamed)".into()),
                ("description", String::new()),
                ("metadata", String::new()),
            ],
            Needs::Editor,
        ),
        (
            format!("/releases/{rel}/versions/{}/delete", f.in_release),
            vec![("confirmed", "yes".into())],
            Needs::Editor,
        ),
        (
            format!("/releases/{rel}/versions"),
            vec![("version_id", f.not_in_release.clone())],
            Needs::Editor,
        ),
        (
            format!("/releases/{rel}/versions/{}/replace", f.not_in_release),
            vec![("version", "1.2".into())],
            Needs::Editor,
        ),
        (
            format!("/releases/{rel}/status"),
            vec![("status", "in_progress".into())],
            Needs::Editor,
        ),
        (
            format!("/environments/{}", f.environment),
            vec![("type", "test".into()), ("position", "3".into())],
            Needs::Admin,
        ),
        (
            "/settings/users".into(),
            vec![("name", "newbie".into()), ("role", "viewer".into())],
            Needs::Admin,
        ),
        (
            "/settings/users/password".into(),
            vec![("name", "bystander".into())],
            Needs::Admin,
        ),
        (
            "/settings/users/disable".into(),
            vec![("name", "bystander".into())],
            Needs::Admin,
        ),
        (
            "/settings/users/enable".into(),
            vec![("name", "bystander".into())],
            Needs::Admin,
        ),
        (
            "/settings/keys".into(),
            vec![("name", "made-on-web".into()), ("scope", "ingest".into())],
            Needs::Admin,
        ),
        (
            "/settings/keys/revoke".into(),
            vec![("name", "spare-key".into())],
            Needs::Admin,
        ),
    ]
}

/// Posts a form with a session cookie and a chosen CSRF token (`None`: no token field).
async fn post_raw(
    app: &TestApp,
    path: &str,
    fields: &[(&str, String)],
    cookie: Option<String>,
    csrf: Option<&str>,
) -> Page {
    let mut all: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if let Some(t) = csrf {
        all.push(("csrf_token", t));
    }
    let mut req = app.anon.post(app.url(path)).form(&all);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    Page::read(req.send().await.expect("POST form")).await
}

#[tokio::test]
async fn every_form_needs_a_signed_in_user_with_the_right_role_and_a_valid_csrf_token() {
    let app = common::spawn_app().await;
    let f = fixture(&app).await;
    let viewer = login_as(&app.db, "vera", Role::Viewer).await;
    let editor = login_as(&app.db, "eddie", Role::Editor).await;
    login_as(&app.db, "bystander", Role::Viewer).await;
    issue_key(&app.ctx, "spare-key", KeyScope::Ingest).await;
    let before = fingerprint(&app, &f).await;

    for (path, fields, needs) in form_routes(&f) {
        // Anonymous: to the sign-in page, nothing done.
        let p = post_raw(&app, &path, &fields, None, None).await;
        assert_eq!(p.status, 303, "anonymous POST {path}");
        let location = p.location.clone().unwrap_or_default();
        assert!(
            location.starts_with("/login?next="),
            "anonymous POST {path} → {location}"
        );

        // A viewer may not; an editor may not do what needs an admin.
        let p = post_raw(
            &app,
            &path,
            &fields,
            Some(viewer.cookie()),
            Some(&viewer.csrf),
        )
        .await;
        assert_eq!(p.status, 403, "viewer POST {path}: {}", p.body);
        assert!(
            p.body.contains("vera (viewer) may not"),
            "the page says why: {}",
            p.body
        );
        if needs == Needs::Admin {
            let p = post_raw(
                &app,
                &path,
                &fields,
                Some(editor.cookie()),
                Some(&editor.csrf),
            )
            .await;
            assert_eq!(p.status, 403, "editor POST {path}");
        }

        // The admin, without the token or with another session's token.
        let admin = Some(app.admin.cookie());
        let p = post_raw(&app, &path, &fields, admin.clone(), None).await;
        assert_eq!(p.status, 403, "POST {path} without a CSRF token");
        assert!(p.body.contains("did not come from this site"), "{}", p.body);
        let p = post_raw(&app, &path, &fields, admin.clone(), Some(&viewer.csrf)).await;
        assert_eq!(p.status, 403, "POST {path} with a foreign CSRF token");
        let p = post_raw(&app, &path, &fields, admin, Some("")).await;
        assert_eq!(p.status, 403, "POST {path} with an empty CSRF token");
    }
    assert_eq!(
        fingerprint(&app, &f).await,
        before,
        "a refused form changed data"
    );

    // The right user with the right token succeeds on every form.
    for (path, fields, needs) in form_routes(&f) {
        let who: &Login = if needs == Needs::Editor {
            &editor
        } else {
            &app.admin
        };
        let p = post_raw(&app, &path, &fields, Some(who.cookie()), Some(&who.csrf)).await;
        assert!(
            p.status == 303 || p.status == 200,
            "{} POST {path}: {} {}",
            who.user,
            p.status,
            p.body
        );
    }
}

#[tokio::test]
async fn form_pages_send_visitors_to_sign_in_and_viewers_get_a_refusal() {
    let app = common::spawn_app().await;
    let release = app.create_release("Autumn").await;
    let viewer = login_as(&app.db, "vera", Role::Viewer).await;
    for path in [
        "/releases/new".to_string(),
        format!("/releases/{release}/edit"),
        "/settings".into(),
    ] {
        let p = app.page_as(None, &path).await;
        assert_eq!(p.status, 303, "anonymous GET {path}");
        assert_eq!(
            p.location.as_deref(),
            Some(format!("/login?next={}", path.replace('/', "%2F")).as_str())
        );
        let p = app.page_as(Some(&viewer), &path).await;
        assert_eq!(p.status, 403, "viewer GET {path}");
    }
    // Viewers see the release but not the forms they could not use.
    let p = app
        .page_as(Some(&viewer), &format!("/releases/{release}"))
        .await;
    assert_eq!(p.status, 200);
    assert_eq!(
        common::css_count(&p.body, "form[method=post][action^='/releases/']"),
        0
    );
    let p = app.page(&format!("/releases/{release}")).await;
    assert!(common::css_count(&p.body, "form[method=post][action^='/releases/']") > 0);
    // Every post form of the admin's page carries the session's token.
    for token in common::css_attrs(&p.body, "form[method=post] input[name=csrf_token]", "value") {
        assert_eq!(token, app.admin.csrf);
    }
}

#[tokio::test]
async fn a_form_body_over_the_limit_is_refused_before_anything_happens() {
    let app = common::spawn_app().await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let res = app
        .post_form("/releases", &[("name", "Big"), ("description", &huge)])
        .await;
    assert_eq!(res.status().as_u16(), 413);
    assert_eq!(release_count(&app).await, 0);
}

// ---------------------------------------------------------------------------------------------
// Signing in and out

/// The sign-in form as a browser gets it: its token and the cookie that carries its twin.
async fn login_form(app: &TestApp) -> (String, String) {
    let p = app.page_as(None, "/login").await;
    assert_eq!(p.status, 200);
    let token = common::css_attrs(
        &p.body,
        "form[action='/login'] input[name=csrf_token]",
        "value",
    )
    .pop()
    .expect("the form carries a token");
    let cookie = p
        .set_cookies
        .iter()
        .find(|c| c.starts_with("rb_login="))
        .expect("the login cookie is set")
        .clone();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("name=value").to_string();
    assert_eq!(pair, format!("rb_login={token}"));
    (token, pair)
}

async fn sign_in(
    app: &TestApp,
    name: &str,
    password: &str,
    extra_headers: &[(&str, &str)],
) -> Page {
    let (token, cookie) = login_form(app).await;
    let mut req = app
        .anon
        .post(app.url("/login"))
        .header(COOKIE, cookie)
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", name),
            ("password", password),
            ("next", "/settings"),
        ]);
    for (k, v) in extra_headers {
        req = req.header(*k, *v);
    }
    Page::read(req.send().await.expect("POST /login")).await
}

fn session_cookie_of(p: &Page) -> String {
    p.set_cookies
        .iter()
        .find(|c| c.starts_with("rb_session="))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", p.set_cookies))
        .clone()
}

#[tokio::test]
async fn signing_in_sets_a_protected_cookie_and_signing_out_ends_the_session_on_the_server() {
    let app = common::spawn_app().await;
    login_as(&app.db, "ada", Role::Admin).await;
    let p = sign_in(&app, "ada", TEST_PASSWORD, &[]).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/settings"));
    let set = session_cookie_of(&p);
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(flag), "{flag} missing: {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: no Secure flag: {set}");
    let cookie = set.split(';').next().expect("pair").to_string();

    let settings = |cookie: String| {
        let app = &app;
        async move {
            Page::read(
                app.anon
                    .get(app.url("/settings"))
                    .header(COOKIE, cookie)
                    .send()
                    .await
                    .expect("GET"),
            )
            .await
        }
    };
    let p = settings(cookie.clone()).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("ada"));
    let csrf = common::css_attrs(
        &p.body,
        "form[action='/logout'] input[name=csrf_token]",
        "value",
    )
    .pop()
    .expect("a sign-out form");

    let out = Page::read(
        app.anon
            .post(app.url("/logout"))
            .header(COOKIE, cookie.clone())
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .expect("POST /logout"),
    )
    .await;
    assert_eq!(out.status, 303);
    assert!(
        session_cookie_of(&out).contains("Max-Age=0"),
        "the cookie is removed"
    );
    // A client that kept the cookie is signed out all the same.
    let p = settings(cookie).await;
    assert_eq!(p.status, 303, "the old session still works");
    assert!(p.location.unwrap_or_default().starts_with("/login"));
}

#[tokio::test]
async fn cookies_are_secure_when_the_operator_says_so_never_because_a_client_does() {
    // A client's X-Forwarded-Proto is anyone's to send: it changes nothing.
    let app = common::spawn_app().await;
    login_as(&app.db, "ada", Role::Admin).await;
    let p = sign_in(
        &app,
        "ada",
        TEST_PASSWORD,
        &[("X-Forwarded-Proto", "https")],
    )
    .await;
    assert_eq!(p.status, 303);
    assert!(
        !session_cookie_of(&p).contains("Secure"),
        "{:?}",
        p.set_cookies
    );
    // RELEASEBOARD_SECURE_COOKIES=true: the session, the sign-in form's and the flash cookies.
    let app = common::spawn_app_configured(|c| c.secure_cookies = true).await;
    login_as(&app.db, "ada", Role::Admin).await;
    let p = sign_in(&app, "ada", TEST_PASSWORD, &[]).await;
    assert_eq!(p.status, 303);
    for name in ["rb_session=", "rb_flash=", "rb_login="] {
        let cookie = p
            .set_cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {:?}", p.set_cookies));
        assert!(cookie.contains("Secure"), "{cookie}");
    }
}

#[tokio::test]
async fn the_sign_in_form_needs_its_own_token_and_never_redirects_off_site() {
    let app = common::spawn_app().await;
    login_as(&app.db, "ada", Role::Admin).await;
    let (token, _cookie) = login_form(&app).await;
    let fields = [
        ("csrf_token", token.as_str()),
        ("name", "ada"),
        ("password", TEST_PASSWORD),
    ];
    // Without the cookie (a cross-site post cannot send it): refused.
    let p = Page::read(
        app.anon
            .post(app.url("/login"))
            .form(&fields)
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(p.status, 403);
    assert!(!p.set_cookies.iter().any(|c| c.starts_with("rb_session=")));

    let (token, cookie) = login_form(&app).await;
    for next in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let p = Page::read(
            app.anon
                .post(app.url("/login"))
                .header(COOKIE, cookie.clone())
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("name", "ada"),
                    ("password", TEST_PASSWORD),
                    ("next", next),
                ])
                .send()
                .await
                .expect("POST"),
        )
        .await;
        assert_eq!(p.status, 303);
        assert_eq!(p.location.as_deref(), Some("/"), "next={next}");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = common::spawn_app().await;
    login_as(&app.db, "ada", Role::Admin).await;
    let wrong = sign_in(&app, "ada", "not the password", &[]).await;
    let unknown = sign_in(&app, "nobody", "not the password", &[]).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, wrong.status);
    let problem = |p: &Page| css_texts(&p.body, ".form-summary");
    assert_eq!(
        problem(&wrong),
        vec!["Wrong user name or password.".to_string()]
    );
    assert_eq!(problem(&unknown), problem(&wrong));
    assert!(!wrong
        .set_cookies
        .iter()
        .any(|c| c.starts_with("rb_session=")));
    // A disabled user is refused with the same words.
    accounts::set_disabled(&app.ctx, "ada", true, None)
        .await
        .expect("disable");
    let disabled = sign_in(&app, "ada", TEST_PASSWORD, &[]).await;
    assert_eq!(disabled.status, 401);
    assert_eq!(problem(&disabled), problem(&wrong));
}

#[tokio::test]
async fn repeated_failures_lock_the_user_name_for_a_while() {
    let app = common::spawn_app().await;
    login_as(&app.db, "ada", Role::Admin).await;
    login_as(&app.db, "bob", Role::Editor).await;
    let limit = releaseboard::domain::throttle::PER_USER.max_failures;
    for i in 0..limit {
        let p = sign_in(&app, "ada", "guess", &[]).await;
        assert_eq!(p.status, 401, "failure {i}");
    }
    // Now even the right password is refused, with a wait time.
    let p = sign_in(&app, "ada", TEST_PASSWORD, &[]).await;
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.body.contains("Too many failed sign-ins"), "{}", p.body);
    assert!(!p.set_cookies.iter().any(|c| c.starts_with("rb_session=")));
    let retry = app.anon.post(app.url("/login")).send().await.expect("POST");
    assert_eq!(
        retry.status().as_u16(),
        403,
        "no token: refused before any check"
    );
    // Another user from the same address is not locked out by ada's failures.
    let p = sign_in(&app, "bob", TEST_PASSWORD, &[]).await;
    assert_eq!(p.status, 303, "{}", p.body);
}

#[tokio::test]
async fn many_failures_from_one_address_lock_that_address() {
    let app = common::spawn_app().await;
    login_as(&app.db, "ada", Role::Admin).await;
    let limit = releaseboard::domain::throttle::PER_ADDRESS.max_failures;
    // Guessing across many names, never five times the same one.
    for i in 0..limit {
        let p = sign_in(&app, &format!("guess-{i}"), "guess", &[]).await;
        assert_eq!(p.status, 401, "failure {i}");
    }
    let p = sign_in(&app, "ada", TEST_PASSWORD, &[]).await;
    assert_eq!(p.status, 429, "the address is locked: {}", p.body);
}

#[tokio::test]
async fn the_lock_answer_says_when_to_retry() {
    let app = common::spawn_app().await;
    login_as(&app.db, "ada", Role::Admin).await;
    for _ in 0..releaseboard::domain::throttle::PER_USER.max_failures {
        sign_in(&app, "ada", "guess", &[]).await;
    }
    let (token, cookie) = login_form(&app).await;
    let res = app
        .anon
        .post(app.url("/login"))
        .header(COOKIE, cookie)
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "ada"),
            ("password", TEST_PASSWORD),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status().as_u16(), 429);
    let retry_after: i64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn disabling_a_user_or_changing_the_password_ends_their_sessions() {
    let app = common::spawn_app().await;
    let eddie = login_as(&app.db, "eddie", Role::Editor).await;
    let form = |login: &Login| {
        let login = login.clone();
        let app = &app;
        async move {
            app.post_form_as(Some(&login), "/releases", &[("name", "By eddie")])
                .await
        }
    };
    accounts::set_password(&app.ctx, "eddie", None)
        .await
        .expect("new password");
    let res = form(&eddie).await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.starts_with("/login")));

    let again = login_as(&app.db, "eddie", Role::Editor).await;
    assert_eq!(form(&again).await.status().as_u16(), 303);
    accounts::set_disabled(&app.ctx, "eddie", true, None)
        .await
        .expect("disable");
    let p = app.page_as(Some(&again), "/releases/new").await;
    assert_eq!(p.status, 303, "a disabled user's session is gone");
    assert_eq!(release_count(&app).await, 1, "only the first form worked");
}

// ---------------------------------------------------------------------------------------------
// The audit trail names the actor

#[tokio::test]
async fn audit_entries_name_the_key_or_the_user_that_made_the_change() {
    let app = common::spawn_app().await;
    app.deploy_ok("shop", "1.0", "Dev", "completed").await;
    let release = app.create_release("Autumn").await; // with the `tests` write key
    let eddie = login_as(&app.db, "eddie", Role::Editor).await;
    let res = app
        .post_form_as(
            Some(&eddie),
            &format!("/releases/{release}/status"),
            &[("status", "in_progress")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);

    let audit = app
        .get_json(&format!("/api/releases/{release}/audit"))
        .await;
    let entries = audit
        .as_array()
        .cloned()
        .or_else(|| audit["items"].as_array().cloned())
        .expect("entries");
    let actors: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actors,
        vec![("created", "key:tests"), ("status_changed", "eddie")]
    );

    // The release page's timeline shows them.
    let page = app.page(&format!("/releases/{release}")).await;
    let timeline = common::squish(&css_texts(&page.body, ".timeline").join(" "));
    assert!(timeline.contains("key:tests"), "{timeline}");
    assert!(timeline.contains("eddie"), "{timeline}");
}

// ---------------------------------------------------------------------------------------------
// Closed reading

#[tokio::test]
async fn with_public_reading_off_everything_but_sign_in_and_health_needs_credentials() {
    let app = common::spawn_app_configured(|c| c.public_read = false).await;
    let ingest = issue_key(&app.ctx, "pipeline", KeyScope::Ingest).await;
    let viewer = login_as(&app.db, "vera", Role::Viewer).await;

    for path in [
        "/",
        "/releases",
        "/releases/history",
        "/products",
        "/environments",
        "/deployments",
    ] {
        let p = app.page_as(None, path).await;
        assert_eq!(p.status, 303, "anonymous GET {path}");
        assert!(
            p.location.unwrap_or_default().starts_with("/login?next="),
            "{path}"
        );
        assert_eq!(
            app.page_as(Some(&viewer), path).await.status,
            200,
            "viewer GET {path}"
        );
    }
    for path in [
        "/login",
        "/static/app.css",
        "/api/health",
        "/api/openapi.json",
    ] {
        assert_eq!(
            app.page_as(None, path).await.status,
            200,
            "{path} stays open"
        );
    }
    let get = |auth: Option<String>, cookie: Option<String>| {
        let mut req = app.anon.get(app.url("/api/releases"));
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        async move { req.send().await.expect("GET").status().as_u16() }
    };
    assert_eq!(get(None, None).await, 401);
    assert_eq!(
        get(Some(format!("Bearer {ingest}")), None).await,
        403,
        "ingest keys only post events"
    );
    assert_eq!(
        get(Some(format!("Bearer {}", app.write_key)), None).await,
        200
    );
    assert_eq!(get(None, Some(viewer.cookie())).await, 200);
    // Ingest keys still post events.
    let res = app
        .anon
        .post(app.url("/api/deployment-events"))
        .header(AUTHORIZATION, format!("Bearer {ingest}"))
        .json(&json!({"product_name": "a", "version": "1", "environment_name": "Dev", "status": "success"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status().as_u16(), 201);
}

// ---------------------------------------------------------------------------------------------
// Hardening

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = common::spawn_app().await;
    let release = app.create_release("Autumn").await;
    let cases = [
        ("/", &app.anon),
        ("/login", &app.anon),
        (&*format!("/releases/{release}"), &app.client),
        ("/api/releases", &app.anon),
        ("/static/app.css", &app.anon),
        ("/no-such-page", &app.anon),
        ("/settings", &app.anon),
    ];
    for (path, client) in cases {
        let res = client.get(app.url(path)).send().await.expect("GET");
        let h = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let csp = h("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert!(!h("referrer-policy").is_empty(), "{path}");
    }
    // A refused API write too.
    let res = app
        .anon
        .post(app.url("/api/releases"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status().as_u16(), 401);
    assert!(res.headers().get("content-security-policy").is_some());
}

#[tokio::test]
async fn no_page_carries_inline_script_or_style() {
    let app = common::spawn_app().await;
    let release = app.create_release("Autumn").await;
    for path in [
        "/".to_string(),
        "/login".into(),
        "/settings".into(),
        format!("/releases/{release}"),
        "/releases/new".into(),
    ] {
        let p = app.page(&path).await;
        assert_eq!(p.status, 200, "{path}");
        assert_eq!(common::css_count(&p.body, "script"), 0, "{path}");
        assert_eq!(common::css_count(&p.body, "[style]"), 0, "{path}");
        assert_eq!(common::css_count(&p.body, "style"), 0, "{path}");
    }
}

#[tokio::test]
async fn settings_show_a_new_key_once_and_it_works() {
    let app = common::spawn_app().await;
    let p = Page::read(
        app.post_form("/settings/keys", &[("name", "gha"), ("scope", "ingest")])
            .await,
    )
    .await;
    assert_eq!(p.status, 200);
    let key = css_texts(&p.body, "code.secret")
        .pop()
        .expect("the key is shown");
    assert!(key.starts_with("rb_"));
    let again = app.page("/settings").await;
    assert!(!again.body.contains(&key), "the key is shown only once");
    assert!(again.body.contains("gha"));
    let res = app
        .anon
        .post(app.url("/api/deployment-events"))
        .header(AUTHORIZATION, format!("Bearer {key}"))
        .json(&json!({"product_name": "a", "version": "1", "environment_name": "Dev", "status": "success"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status().as_u16(), 201);

    // A duplicate live name is a 409 shown next to the field.
    let p = Page::read(
        app.post_form("/settings/keys", &[("name", "gha"), ("scope", "write")])
            .await,
    )
    .await;
    assert_eq!(p.status, 409);
    assert!(p.body.contains("exists"), "{}", p.body);

    // A new user's generated password signs them in.
    let p = Page::read(
        app.post_form("/settings/users", &[("name", "nina"), ("role", "editor")])
            .await,
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let password = css_texts(&p.body, "code.secret")
        .pop()
        .expect("the password is shown");
    assert_eq!(sign_in(&app, "nina", &password, &[]).await.status, 303);

    // An admin cannot disable themselves.
    let p = Page::read(
        app.post_form("/settings/users/disable", &[("name", "admin")])
            .await,
    )
    .await;
    assert_eq!(p.status, 409);
}
