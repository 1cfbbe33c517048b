//! The command line: `demo` fills an empty database and refuses a non-empty one; `migrate`
//! creates the schema. Runs the real binary.

use crate::common;

use std::process::Command;

fn releaseboard(database: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_releaseboard"))
        .args(["--database-url", database])
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the binary runs")
}

fn url_of(target: &releaseboard::store::DbTarget) -> String {
    match target {
        releaseboard::store::DbTarget::Sqlite(path) => path.clone(),
        releaseboard::store::DbTarget::Postgres(url) => url.clone(),
    }
}

#[tokio::test]
async fn demo_loads_the_examples_once_and_then_refuses_politely() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = common::fresh_database(&dir);
    let database = url_of(&target);

    let first = releaseboard(&database, &["demo"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("loaded 3 releases"));

    let second = releaseboard(&database, &["demo"]);
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("already has data"), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );

    // The demo data is what SPEC §9 describes, with every kind of cell on screen.
    let app = common::spawn_app_on(target, dir).await;
    let releases = app.get_json("/api/releases/").await;
    let by_name = |name: &str| {
        releases
            .as_array()
            .and_then(|a| a.iter().find(|r| r["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("release {name} missing"))
    };
    assert_eq!(by_name("Q4 Sprint 3")["status"], "completed");
    assert_eq!(by_name("Q4 Sprint 3")["version_count"], 5);
    assert_eq!(by_name("User Platform v2.0")["status"], "in_progress");
    assert_eq!(by_name("Security Patch 2024.10.1")["status"], "draft");

    let id = by_name("User Platform v2.0")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let matrix = app.get_json(&format!("/api/releases/{id}/matrix")).await;
    let mut states: Vec<String> = matrix["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| r["cells"].as_array().expect("cells").clone())
        .map(|c| c["state"].as_str().expect("state").to_string())
        .collect();
    states.sort();
    states.dedup();
    assert_eq!(
        states,
        ["deployed", "failed", "in_progress", "not_deployed"]
    );
    let superseded = matrix.to_string().contains("\"superseded_by\":\"1.2.4\"");
    assert!(
        superseded,
        "user-service 1.2.3 in Dev is superseded by 1.2.4"
    );

    let history = app
        .get("/releases/history")
        .await
        .text()
        .await
        .expect("page");
    assert!(history.contains("Q4 Sprint 3"));
}

#[test]
fn migrate_creates_the_schema_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = url_of(&common::fresh_database(&dir));
    for _ in 0..2 {
        let out = releaseboard(&database, &["migrate"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    }
}

fn stdout_of(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `releaseboard user …` and `api-key …`, as an operator uses them on a fresh server.
#[tokio::test]
async fn operators_manage_users_and_keys_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = common::fresh_database(&dir);
    let database = url_of(&target);

    // The first start on an empty database says how to make the first admin.
    let mut server = Command::new(env!("CARGO_BIN_EXE_releaseboard"))
        .args(["--database-url", &database, "--bind", "127.0.0.1:0"])
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let mut first_lines = Vec::new();
    {
        use std::io::BufRead;
        let stdout = server.stdout.take().expect("stdout");
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            let done = line.contains("listening on");
            first_lines.push(line);
            if done {
                break;
            }
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    let greeting = first_lines.join("\n");
    assert!(
        greeting.contains("releaseboard user create NAME --role admin"),
        "{greeting}"
    );

    // A user with a generated password, which signs in.
    let password = stdout_of(&releaseboard(
        &database,
        &["user", "create", "root", "--role", "admin"],
    ));
    assert_eq!(password.len(), 29, "a generated password: {password:?}");
    let dup = releaseboard(&database, &["user", "create", "root", "--role", "viewer"]);
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("exists"));
    let bad = releaseboard(&database, &["user", "create", "x", "--role", "owner"]);
    assert_eq!(bad.status.code(), Some(2), "clap refuses an unknown role");

    // Keys: printed once, listed without the secret, revoked by name.
    let key = stdout_of(&releaseboard(
        &database,
        &["api-key", "create", "github", "--scope", "ingest"],
    ));
    assert!(key.starts_with("rb_") && key.len() == 67, "{key}");
    let listed = stdout_of(&releaseboard(&database, &["api-key", "list"]));
    assert!(listed.contains("github\tingest"), "{listed}");
    assert!(!listed.contains(&key[3..]), "the list never shows a key");

    // Chosen passwords come from standard input, never from the command line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_releaseboard"))
        .args(["--database-url", &database])
        .args(["user", "set-password", "root", "--password-stdin"])
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("set-password");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"a chosen long passphrase\n")
            .expect("writing the password");
    }
    let out = child.wait_with_output().expect("set-password ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "a chosen password is not echoed");

    let app = common::spawn_app_on(target, dir).await;
    let user =
        releaseboard::store::access::find_user(&mut app.db.conn().expect("connection"), "root")
            .expect("query")
            .expect("root exists");
    assert!(releaseboard::secret::verify_password(
        "a chosen long passphrase",
        &user.password_hash
    ));
    assert!(!releaseboard::secret::verify_password(
        &password,
        &user.password_hash
    ));

    let event = serde_json::json!({"product_name": "a", "version": "1", "environment_name": "Dev", "status": "success"});
    let post = || {
        app.anon
            .post(app.url("/api/deployment-events"))
            .bearer_auth(&key)
            .json(&event)
            .send()
    };
    assert_eq!(post().await.expect("POST").status().as_u16(), 201);
    stdout_of(&releaseboard(&database, &["api-key", "revoke", "github"]));
    assert_eq!(post().await.expect("POST").status().as_u16(), 401);
    let listed = stdout_of(&releaseboard(&database, &["api-key", "list"]));
    assert!(
        listed.contains("last used") && listed.contains("REVOKED"),
        "{listed}"
    );

    stdout_of(&releaseboard(&database, &["user", "disable", "root"]));
    let users = stdout_of(&releaseboard(&database, &["user", "list"]));
    assert!(users.contains("root\tadmin\tdisabled"), "{users}");
}

/// No secret ever reaches the log, even at debug level: not a key (valid or not), a password
/// (right or wrong), a session token or a form token.
#[tokio::test]
async fn the_server_log_never_contains_a_secret() {
    use std::io::BufRead;
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().expect("temp dir");
    let target = common::fresh_database(&dir);
    let database = url_of(&target);
    let password = stdout_of(&releaseboard(
        &database,
        &["user", "create", "ops", "--role", "admin"],
    ));
    let key = stdout_of(&releaseboard(
        &database,
        &["api-key", "create", "ci", "--scope", "write"],
    ));
    let unknown_key = format!("rb_{}", "ab".repeat(32));
    let wrong_password = "not-the-password-but-still-a-secret";

    let log_path = dir.path().join("server.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_releaseboard"))
        .args(["--database-url", &database, "--bind", "127.0.0.1:0"])
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("serve");
    // Everything the server prints, kept whole; the port comes from its "listening on" line.
    let printed = Arc::new(Mutex::new(String::new()));
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    {
        let printed = Arc::clone(&printed);
        let stdout = server.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(at) = line.rfind("127.0.0.1:") {
                    let digits: String = line[at + 10..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    if line.contains("listening on") {
                        let _ = port_tx.send(digits);
                    }
                }
                let mut all = printed.lock().unwrap_or_else(|e| e.into_inner());
                all.push_str(&line);
                all.push('\n');
            }
        });
    }
    let port = port_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the server says where it listens");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let event = serde_json::json!({"product_name": "a", "version": "1", "environment_name": "Dev", "status": "success"});
    for (bearer, expected) in [(&key, 201), (&unknown_key, 401)] {
        let res = http
            .post(format!("{base}/api/deployment-events"))
            .bearer_auth(bearer)
            .json(&event)
            .send()
            .await
            .expect("POST event");
        assert_eq!(res.status().as_u16(), expected);
    }

    let mut session = String::new();
    let mut form_tokens = Vec::new();
    for (attempt, expected) in [(wrong_password, 401), (password.as_str(), 303)] {
        let (cookie, token) = login_form(&http, &base).await;
        let res = http
            .post(format!("{base}/login"))
            .header(reqwest::header::COOKIE, &cookie)
            .form(&[
                ("csrf_token", token.as_str()),
                ("name", "ops"),
                ("password", attempt),
            ])
            .send()
            .await
            .expect("POST /login");
        assert_eq!(res.status().as_u16(), expected);
        form_tokens.push(token);
        if let Some(c) = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("rb_session="))
        {
            session = c.split(';').next().unwrap_or_default().to_string();
        }
    }
    assert!(session.len() > "rb_session=".len(), "signed in");
    let settings = http
        .get(format!("{base}/settings"))
        .header(reqwest::header::COOKIE, &session)
        .send()
        .await
        .expect("GET /settings");
    assert_eq!(settings.status().as_u16(), 200);

    // A key sent in the query string by mistake: refused, and kept out of the access log.
    let res = http
        .post(format!("{base}/api/deployment-events/?api_key={key}"))
        .json(&event)
        .send()
        .await
        .expect("POST with a key in the query");
    assert_eq!(res.status().as_u16(), 401);
    let res = http
        .get(format!("{base}/api/releases/?api_key={key}&limit=5"))
        .send()
        .await
        .expect("GET with a key in the query");
    assert_eq!(res.status().as_u16(), 200, "reading is public here");
    // A password typed into the name field: a failed sign-in, logged without the name.
    let typed_name = "hunter2-typed-in-the-wrong-field";
    let (cookie, token) = login_form(&http, &base).await;
    let res = http
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", typed_name),
            ("password", "x"),
        ])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(res.status().as_u16(), 401);
    form_tokens.push(token);

    // The server logs a request once it has answered it: wait for the last one's line before
    // stopping the server (killed at once, it sometimes had not written it yet).
    let read_log = || {
        std::fs::read_to_string(&log_path).unwrap_or_default()
            + &printed.lock().unwrap_or_else(|e| e.into_inner())
    };
    for _ in 0..100 {
        if read_log().contains("GET /settings") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    let log = read_log();
    assert!(
        log.contains("GET /settings"),
        "the debug log records requests, so its silence about secrets means something:\n{log}"
    );
    let session_token = session.trim_start_matches("rb_session=");
    let secrets = [
        key.as_str(),
        &key[3..],
        &unknown_key[3..],
        password.as_str(),
        wrong_password,
        session_token,
    ]
    .into_iter()
    .chain(form_tokens.iter().map(String::as_str));
    for secret in secrets.chain([typed_name]) {
        assert!(!log.contains(secret), "a secret was logged: {secret}");
    }
    // What an operator needs is there: who asked (the client's address) and the failures.
    assert!(log.contains("127.0.0.1 \"GET /settings\""), "{log}");
    assert!(log.contains("sign-in failed"), "{log}");
}

/// Opens the sign-in form as a browser does: the `rb_login` cookie it sets (`name=value`) and
/// the CSRF token the form carries (the cookie's value).
async fn login_form(http: &reqwest::Client, base: &str) -> (String, String) {
    let form = http
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("GET /login");
    let cookie = form
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("rb_login="))
        .and_then(|c| c.split(';').next())
        .expect("login cookie")
        .to_string();
    let token = cookie.trim_start_matches("rb_login=").to_string();
    (cookie, token)
}
