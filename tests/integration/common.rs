//! Test harness: every test gets the real application on a fresh database and a free port.
//!
//! SQLite by default (a new file in a temp dir per test). With
//! `RELEASEBOARD_TEST_POSTGRES_URL=postgres://user@host/anydb` set, each test instead gets a
//! freshly created PostgreSQL database on that server.
#![allow(dead_code)]

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use releaseboard::app::Application;
use releaseboard::config::Config;
use releaseboard::domain::access::{KeyScope, Role};
use releaseboard::secret;
use releaseboard::service::{accounts, Context};
use releaseboard::store::{access, Db, DbTarget, TxError};
use serde_json::{json, Value};

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// Signed in as the admin `admin` (session cookie) and carrying a `write` API key: what
    /// the page and API tests act as. Forms posted with [`TestApp::post_form`] get the
    /// session's CSRF token added.
    pub client: reqwest::Client,
    /// No credentials at all.
    pub anon: reqwest::Client,
    /// The admin's session and a write key, as `client` uses them.
    pub admin: Login,
    pub write_key: String,
    pub database: DbTarget,
    /// The use cases' context the server runs with.
    pub ctx: Context,
    /// Its database.
    pub db: Db,
    /// Keeps the SQLite file alive for the test's duration.
    _dir: tempfile::TempDir,
}

/// A fresh database target: a temp SQLite file, or a new PostgreSQL database.
pub fn fresh_database(dir: &tempfile::TempDir) -> DbTarget {
    match std::env::var("RELEASEBOARD_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.trim().is_empty() => {
            let name = format!("rb_test_{}", uuid::Uuid::new_v4().simple());
            // This is the process's first libpq connection: prepare it as the pool does.
            releaseboard::store::pool::prepare_postgres_client();
            let mut admin = PgConnection::establish(&admin_url)
                .expect("RELEASEBOARD_TEST_POSTGRES_URL must point at a reachable server");
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("creating a test database");
            DbTarget::Postgres(replace_database(&admin_url, &name))
        }
        _ => DbTarget::Sqlite(
            dir.path()
                .join("releaseboard-test.db")
                .to_string_lossy()
                .into_owned(),
        ),
    }
}

/// postgres://user@host:5432/db?x=y → same URL with another database name.
fn replace_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// Starts the application on a fresh database and a random port.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = fresh_database(&dir);
    spawn_app_on(database, dir).await
}

/// Starts the application on a fresh database with the test configuration as `configure`
/// changes it.
pub async fn spawn_app_configured(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_database(fresh_database(&dir));
    configure(&mut config);
    spawn_app_with(config, dir).await
}

/// Starts the application with `lanes` PostgreSQL writer lanes (SQLite has one writer
/// whatever this says).
pub async fn spawn_app_with_pg_lanes(lanes: usize) -> TestApp {
    spawn_app_configured(|c| c.pg_writer_lanes = lanes).await
}

pub async fn spawn_app_on(database: DbTarget, dir: tempfile::TempDir) -> TestApp {
    spawn_app_with(Config::for_database(database), dir).await
}

/// Starts the application with a given configuration (its database must be fresh).
pub async fn spawn_app_with(config: Config, dir: tempfile::TempDir) -> TestApp {
    let database = config.database.clone();
    let app = Application::build(config).expect("application builds");
    let port = app.port();
    let ctx = app.context().clone();
    let db = ctx.db.clone();
    tokio::spawn(app.run_until_stopped());
    let admin = login_as(&db, "admin", Role::Admin).await;
    let write_key = issue_key(&ctx, "tests", KeyScope::Write).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {write_key}").parse().expect("header value"),
    );
    headers.insert(
        reqwest::header::COOKIE,
        admin.cookie().parse().expect("header value"),
    );
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: http_client(headers),
        anon: http_client(reqwest::header::HeaderMap::new()),
        admin,
        write_key,
        database,
        ctx,
        db,
        _dir: dir,
    }
}

fn http_client(headers: reqwest::header::HeaderMap) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("http client")
}

/// A signed-in session, as a browser holds it: the cookie's token and the forms' CSRF token.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: String,
    pub token: String,
    pub csrf: String,
}

impl Login {
    pub fn cookie(&self) -> String {
        format!(
            "{}={}",
            releaseboard::http::gate::SESSION_COOKIE,
            self.token
        )
    }
}

/// One password hash for every test user of this test binary: argon2 is slow on purpose, and
/// sign-in itself has its own tests (tests/access.rs).
pub const TEST_PASSWORD: &str = "test password 123";

fn test_password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| secret::hash_password(TEST_PASSWORD).expect("hashing"))
}

/// Creates a user with [`TEST_PASSWORD`] and a session for them, straight in the database.
pub async fn login_as(db: &Db, name: &str, role: Role) -> Login {
    let token = secret::new_token();
    let csrf = secret::new_token();
    let session_id = secret::digest(&token);
    let (user_name, csrf_token) = (name.to_string(), csrf.clone());
    write(db, move |conn| {
        let user = match access::find_user(conn, &user_name)? {
            Some(u) => u,
            None => access::create_user(conn, &user_name, role, test_password_hash())?,
        };
        let at = releaseboard::store::ids::now();
        access::create_session(
            conn,
            &access::Session {
                id: session_id.clone(),
                user_id: user.id,
                csrf_token: csrf_token.clone(),
                created_at: at,
                expires_at: at + chrono::Duration::days(1),
            },
        )?;
        Ok(())
    })
    .await
    .expect("creating a test user and session");
    Login {
        user: name.to_string(),
        token,
        csrf,
    }
}

/// Creates an API key and returns the secret.
pub async fn issue_key(ctx: &Context, name: &str, scope: KeyScope) -> String {
    accounts::create_api_key(ctx, name, scope, "tests")
        .await
        .unwrap_or_else(|e| panic!("creating key {name}: {e}"))
        .secret
}

/// What test set-up writes straight to the database returns.
pub type Written<T> = Result<T, TxError<String>>;

/// Runs `f` in a write transaction through the server's writer (as the service layer does).
pub async fn write<T, F>(db: &Db, f: F) -> Written<T>
where
    T: Send + 'static,
    F: FnMut(&mut releaseboard::store::AnyConnection) -> Written<T> + Send + 'static,
{
    db.writer()
        .expect("the application writes through its writer")
        .write(f)
        .await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.json().await.expect("JSON body")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("PUT")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("DELETE")
    }

    /// Posts a deployment event with the four required fields and any extra ones.
    pub async fn deploy(
        &self,
        product: &str,
        version: &str,
        environment: &str,
        status: &str,
        extra: Value,
    ) -> reqwest::Response {
        let mut body = json!({
            "product_name": product,
            "version": version,
            "environment_name": environment,
            "status": status,
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.post_json("/api/deployment-events/", &body).await
    }

    /// Posts a deployment event and asserts it was accepted; returns the answer body.
    pub async fn deploy_ok(
        &self,
        product: &str,
        version: &str,
        environment: &str,
        status: &str,
    ) -> Value {
        let res = self
            .deploy(product, version, environment, status, json!({}))
            .await;
        let code = res.status();
        let body: Value = res.json().await.expect("JSON body");
        assert!(
            code.is_success(),
            "event {product} {version} {environment} {status}: {code} {body}"
        );
        body
    }

    /// Creates a release and returns its id.
    pub async fn create_release(&self, name: &str) -> String {
        let res = self
            .post_json("/api/releases/", &json!({ "name": name }))
            .await;
        assert_eq!(res.status().as_u16(), 201, "creating release {name}");
        let body: Value = res.json().await.expect("JSON body");
        body["id"].as_str().expect("release id").to_string()
    }

    /// Moves a release to `status` through the API; the answer's status and body.
    pub async fn set_release_status(&self, release_id: &str, status: &str) -> (u16, Value) {
        answer(
            self.patch_json(
                &format!("/api/releases/{release_id}"),
                &json!({ "status": status }),
            )
            .await,
        )
        .await
    }

    /// Adds product@version to a release by name; returns the HTTP status.
    pub async fn add_to_release(&self, release_id: &str, product: &str, version: &str) -> u16 {
        self.post_json(
            &format!("/api/releases/{release_id}/versions"),
            &json!({ "product_name": product, "version": version }),
        )
        .await
        .status()
        .as_u16()
    }
}

// ---------------------------------------------------------------------------------------------
// Dashboard (server-rendered HTML) helpers

/// An HTML answer as a browser without JavaScript gets it.
pub struct Page {
    pub status: u16,
    pub content_type: String,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// Every `Set-Cookie` header, raw.
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    pub async fn read(res: reqwest::Response) -> Page {
        let header = |name: reqwest::header::HeaderName| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let status = res.status().as_u16();
        let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
        let location = header(reqwest::header::LOCATION);
        let set_cookies = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect();
        let body = res.text().await.expect("page body");
        Page {
            status,
            content_type,
            location,
            set_cookies,
            body,
        }
    }
}

impl TestApp {
    /// GETs a dashboard page.
    pub async fn page(&self, path: &str) -> Page {
        Page::read(self.get(path).await).await
    }

    /// GETs a dashboard page sending a `Cookie` header (e.g. `rb_flash=...`).
    pub async fn page_with_cookie(&self, path: &str, cookie: &str) -> Page {
        let res = self
            .client
            .get(self.url(path))
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .expect("GET with cookie");
        Page::read(res).await
    }

    /// POSTs an HTML form (`application/x-www-form-urlencoded`) as the signed-in admin, with
    /// the session's CSRF token, as the browser does.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all = fields.to_vec();
        all.push(("csrf_token", &self.admin.csrf));
        self.client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .expect("POST form")
    }

    /// POSTs a form as `login` (with its CSRF token), or anonymously when `None`.
    pub async fn post_form_as(
        &self,
        login: Option<&Login>,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut all = fields.to_vec();
        let mut req = self.anon.post(self.url(path));
        if let Some(l) = login {
            all.push(("csrf_token", &l.csrf));
            req = req.header(reqwest::header::COOKIE, l.cookie());
        }
        req.form(&all).send().await.expect("POST form")
    }

    /// GETs a page as `login`, or anonymously when `None`.
    pub async fn page_as(&self, login: Option<&Login>, path: &str) -> Page {
        let mut req = self.anon.get(self.url(path));
        if let Some(l) = login {
            req = req.header(reqwest::header::COOKIE, l.cookie());
        }
        Page::read(req.send().await.expect("GET")).await
    }

    /// POSTs an HTML form and reads the answer as a page.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Page::read(self.post_form(path, fields).await).await
    }
}

/// The text of every element matching a CSS selector, as parsed (entities decoded).
pub fn css_texts(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("valid CSS selector");
    doc.select(&sel).map(|e| e.text().collect()).collect()
}

/// One attribute of every element matching a CSS selector (elements without it are skipped).
pub fn css_attrs(html: &str, selector: &str, attr: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("valid CSS selector");
    doc.select(&sel)
        .filter_map(|e| e.value().attr(attr).map(str::to_string))
        .collect()
}

/// How many elements match a CSS selector.
pub fn css_count(html: &str, selector: &str) -> usize {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("valid CSS selector");
    doc.select(&sel).count()
}

/// Collapses runs of whitespace to one space and trims.
pub fn squish(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Writer lanes each held inside a blocking write: what is queued meanwhile waits, in order,
/// for their next batches. Holding blocks the calling thread until every lane has started its
/// blocking write, so the test needs a multi-threaded runtime.
pub struct HeldLanes {
    release: std::sync::mpsc::Sender<()>,
    lanes: usize,
    blockers: Vec<tokio::task::JoinHandle<Written<()>>>,
}

pub fn hold_writer_lanes(db: &Db, lanes: usize) -> HeldLanes {
    use std::sync::{mpsc, Arc, Mutex};
    let (release, held) = mpsc::channel::<()>();
    let held = Arc::new(Mutex::new(held));
    let (started, running) = mpsc::channel::<()>();
    let blockers = (0..lanes)
        .map(|_| {
            let (held, started, db) = (held.clone(), started.clone(), db.clone());
            tokio::spawn(async move {
                write(&db, move |_conn| {
                    let _ = started.send(());
                    let _ = held.lock().expect("lock").recv();
                    Ok(())
                })
                .await
            })
        })
        .collect();
    for _ in 0..lanes {
        running
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("every writer lane holds a blocking write");
    }
    HeldLanes {
        release,
        lanes,
        blockers,
    }
}

impl HeldLanes {
    /// Lets every lane go on to its next batch.
    pub fn release(&self) {
        for _ in 0..self.lanes {
            self.release.send(()).expect("release a writer lane");
        }
    }

    /// Waits for the blocking writes to finish (after [`HeldLanes::release`]).
    pub async fn finished(self) {
        for blocker in self.blockers {
            if let Err(e) = blocker.await.expect("task") {
                panic!("the blocking write: {e:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by several areas

/// Status code and JSON body of an answer (`Null` for an empty body).
pub async fn answer(res: reqwest::Response) -> (u16, Value) {
    let code = res.status().as_u16();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (code, body)
}

/// The array a JSON value must be.
pub fn arr(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
}

/// One text field of every element of a JSON array.
pub fn strings(v: &Value, field: &str) -> Vec<String> {
    arr(v)
        .iter()
        .map(|x| x[field].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Asserts an RFC 3339 time in UTC with `Z`.
pub fn assert_utc(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected a time, got {v}"));
    assert!(s.ends_with('Z'), "{s} is not UTC with Z");
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"));
}

/// A well-formed id that names no record.
pub const UNKNOWN: &str = "0190f1c4-5a7e-7d3b-9c2a-1b2c3d4e5f60";

/// A release as `GET /api/releases/{id}` shows it.
pub async fn release(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/releases/{id}")).await
}

/// A CSS selector.
pub fn sel(css: &str) -> scraper::Selector {
    scraper::Selector::parse(css).expect("valid CSS selector")
}

/// The text of an element, as parsed.
pub fn text_of(e: scraper::ElementRef<'_>) -> String {
    e.text().collect()
}

/// Percent-encodes everything but letters and digits, for a query string.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
