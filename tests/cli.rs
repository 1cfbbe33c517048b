//! The command line: `demo` fills an empty database and refuses a non-empty one; `migrate`
//! creates the schema. Runs the real binary.

mod common;

use std::process::Command;

fn releaseboard(database: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_releaseboard"))
        .args(["--database-url", database])
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the binary runs")
}

fn url_of(target: &releaseboard::db::DbTarget) -> String {
    match target {
        releaseboard::db::DbTarget::Sqlite(path) => path.clone(),
        releaseboard::db::DbTarget::Postgres(url) => url.clone(),
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
