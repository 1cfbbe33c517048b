//! A release's exports and the feeds (SPEC §11): the notes, the CSV and the JSON checked field
//! by field against the API, the CSV read by a CSV parser, formula cells guarded, the Atom
//! feeds parsed as XML with RFC 4287's required elements. Both backends.

use crate::common::{self, answer, arr, css_attrs, TestApp};
use serde_json::{json, Value};

const EVIL: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";

/// A release of three products, deployed to Dev and (two of them) to Production.
async fn scenario(app: &TestApp) -> String {
    let build = |product: &str, version: &str, sha: &str| {
        json!({"product_name": product, "version": version, "status": "built", "scm_sha": sha,
               "scm_branch": "main", "build_url": format!("https://ci.example/{product}/1")})
    };
    for (p, v, sha) in [
        (
            "user-service",
            "1.2.3",
            "0123456789abcdef0123456789abcdef01234567",
        ),
        (
            "pipe|name",
            "2.0",
            "89abcdef0123456789abcdef0123456789abcdef",
        ),
        (EVIL, "3.0", "fedcba9876543210fedcba9876543210fedcba98"),
    ] {
        let (code, body) =
            answer(app.post_json("/api/build-events/", &build(p, v, sha)).await).await;
        assert_eq!(code, 201, "{body}");
    }
    for (p, v, env) in [
        ("user-service", "1.2.3", "Dev"),
        ("pipe|name", "2.0", "Dev"),
        (EVIL, "3.0", "Dev"),
        ("user-service", "1.2.3", "Production"),
        ("pipe|name", "2.0", "Production"),
    ] {
        let res = app
            .deploy(p, v, env, "completed", json!({"deployed_by": "ci-bot"}))
            .await;
        assert!(res.status().is_success());
    }
    let id = app.create_release("Q4 Sprint 3").await;
    for (p, v) in [
        ("user-service", "1.2.3"),
        ("pipe|name", "2.0"),
        (EVIL, "3.0"),
    ] {
        assert_eq!(app.add_to_release(&id, p, v).await, 201);
    }
    id
}

/// When each environment was fully reached, worked out from the deployments the API lists:
/// per version its first completion there, then the latest of those (None if one is missing).
async fn fully_reached_from_api(app: &TestApp, release: &str, environment: &str) -> Option<String> {
    let versions = app
        .get_json(&format!("/api/releases/{release}/versions"))
        .await;
    let deployments = app
        .get_json(&format!(
            "/api/deployments/?environment={environment}&status=completed&limit=200"
        ))
        .await;
    let mut latest: Option<String> = None;
    for v in arr(&versions) {
        let first = arr(&deployments)
            .iter()
            .filter(|d| d["version_id"] == v["id"])
            .filter_map(|d| d["completed_at"].as_str().map(str::to_string))
            .min()?;
        latest = Some(latest.map_or(first.clone(), |l: String| l.max(first)));
    }
    latest
}

/// `2026-12-05T01:02:03Z` as the pages print it: `2026-12-05 01:02 UTC`.
fn as_printed(rfc3339: &str) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).expect("an RFC 3339 time");
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[tokio::test]
async fn the_csv_is_one_formula_safe_row_per_cell() {
    let app = common::spawn_app().await;
    let id = scenario(&app).await;
    let res = app.get(&format!("/releases/{id}/matrix.csv")).await;
    assert_eq!(res.status().as_u16(), 200);
    let ct = res.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(ct, "text/csv; charset=utf-8");
    let body = res.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        headers,
        ["product", "version", "environment", "state", "at", "by"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    let matrix = app.get_json(&format!("/api/releases/{id}/matrix")).await;
    let mut expected = Vec::new();
    for row in arr(&matrix["rows"]) {
        for c in arr(&row["cells"]) {
            let product = row["product_name"].as_str().expect("name");
            let guarded = if product.starts_with('=') {
                format!("'{product}")
            } else {
                product.to_string()
            };
            expected.push(vec![
                guarded,
                row["version"].as_str().expect("version").to_string(),
                c["environment_name"].as_str().expect("env").to_string(),
                c["state"].as_str().expect("state").to_string(),
                c["at"].as_str().unwrap_or_default().to_string(),
                c["deployed_by"].as_str().unwrap_or_default().to_string(),
            ]);
        }
    }
    let got: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(str::to_string).collect())
        .collect();
    assert_eq!(got.len(), 3 * 2, "three versions × two environments");
    assert_eq!(got, expected);
    assert!(
        got.iter().any(|r| r[0] == format!("'{EVIL}")),
        "the formula is guarded: {got:?}"
    );
    assert!(got.iter().all(|r| !r[0].starts_with('=')));
}

#[tokio::test]
async fn the_notes_list_dates_and_every_product_in_markdown() {
    let app = common::spawn_app().await;
    let id = scenario(&app).await;
    let res = app.get(&format!("/releases/{id}/notes.md")).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().expect("ascii"),
        "text/markdown; charset=utf-8"
    );
    let notes = res.text().await.expect("body");
    let lines: Vec<&str> = notes.lines().collect();
    assert_eq!(lines[0], "# Q4 Sprint 3");
    let r = common::release(&app, &id).await;
    assert!(lines.contains(&"- Status: Draft"), "{notes}");
    assert!(
        lines.contains(
            &format!(
                "- Created: {}",
                as_printed(r["created_at"].as_str().expect("t"))
            )
            .as_str()
        ),
        "{notes}"
    );
    // Dev is fully reached (all three there), Production is not (two of three).
    let dev = fully_reached_from_api(&app, &id, "Dev")
        .await
        .expect("Dev reached");
    assert!(
        lines.contains(&format!("- Dev fully reached: {}", as_printed(&dev)).as_str()),
        "{notes}"
    );
    assert_eq!(fully_reached_from_api(&app, &id, "Production").await, None);
    assert!(
        lines.contains(&"- Production fully reached: not yet"),
        "{notes}"
    );
    assert!(lines.contains(&"- Completed: not yet"), "{notes}");
    // The table: a header, a rule, one row per version with its build facts and states.
    let table: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with('|'))
        .collect();
    assert_eq!(
        table[0],
        "| Product | Version | Commit | Branch | Build | Dev | Production |"
    );
    assert_eq!(table.len(), 2 + 3, "{notes}");
    assert!(
        table.contains(
            &"| user\\-service | 1.2.3 | 01234567 | main | [build](<https://ci.example/user-service/1>) | ✅ Deployed | ✅ Deployed |"
        ),
        "{notes}"
    );
    // User text cannot break the table or turn into a link.
    assert!(
        table
            .iter()
            .any(|l| l.starts_with("| pipe\\|name | 2.0 | 89abcdef |")),
        "{notes}"
    );
    assert!(
        table.iter().any(|l| l
            .starts_with("| =HYPERLINK\\(\"http://evil.example\",\"click\"\\) | 3.0 |")
            && l.ends_with("| ✅ Deployed | ❌ Not deployed |")),
        "{notes}"
    );
}

#[tokio::test]
async fn the_json_export_is_the_apis_shapes_in_one_document() {
    let app = common::spawn_app().await;
    let id = scenario(&app).await;
    let (code, e) = answer(app.get(&format!("/releases/{id}/export.json")).await).await;
    assert_eq!(code, 200, "{e}");
    let detail = app.get_json(&format!("/api/releases/{id}")).await;
    let mut release = detail.clone();
    let obj = release.as_object_mut().expect("an object");
    obj.remove("versions");
    obj.remove("progress");
    assert_eq!(e["release"], release);
    assert_eq!(e["versions"], detail["versions"]);
    assert_eq!(e["progress"], detail["progress"]);
    assert_eq!(
        e["matrix"],
        app.get_json(&format!("/api/releases/{id}/matrix")).await
    );
    assert_eq!(
        e["audit"],
        app.get_json(&format!("/api/releases/{id}/audit")).await
    );
    let dev = fully_reached_from_api(&app, &id, "Dev").await;
    assert_eq!(
        e["fully_reached"],
        json!([
            {"environment_name": "Dev", "at": dev},
            {"environment_name": "Production", "at": null},
        ])
    );
    let (code, _) = answer(
        app.get(&format!("/releases/{}/export.json", uuid::Uuid::new_v4()))
            .await,
    )
    .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn the_release_page_links_to_its_exports_and_the_lists_to_their_feeds() {
    let app = common::spawn_app().await;
    let id = scenario(&app).await;
    let page = app.page(&format!("/releases/{id}")).await;
    let links = css_attrs(&page.body, ".exports a", "href");
    assert_eq!(
        links,
        [
            format!("/releases/{id}/notes.md"),
            format!("/releases/{id}/matrix.csv"),
            format!("/releases/{id}/export.json")
        ]
    );
    for path in links {
        assert_eq!(app.get(&path).await.status().as_u16(), 200, "{path}");
    }
    let history = app.page("/releases/history").await;
    assert_eq!(
        css_attrs(
            &history.body,
            "head link[rel=alternate][type='application/atom+xml']",
            "href"
        ),
        ["/releases/history.atom"]
    );
    let deployments = app.page("/deployments?environment=Production").await;
    assert_eq!(
        css_attrs(
            &deployments.body,
            "head link[rel=alternate][type='application/atom+xml']",
            "href"
        ),
        ["/deployments.atom?environment=Production"]
    );
}

/// A feed's required elements (RFC 4287 §4.1.1–4.1.2): id, title, updated, and a link, on
/// the feed and on every entry; returns the entries as (id, title, updated, link).
fn atom_entries(xml: &str) -> Vec<(String, String, String, String)> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("XML: {e}\n{xml}"));
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(
        feed.tag_name().namespace(),
        Some("http://www.w3.org/2005/Atom")
    );
    let child = |node: roxmltree::Node<'_, '_>, name: &str| -> String {
        node.children()
            .find(|c| c.tag_name().name() == name)
            .and_then(|c| c.text())
            .unwrap_or_else(|| panic!("<{name}> in <{}>", node.tag_name().name()))
            .to_string()
    };
    let link = |node: roxmltree::Node<'_, '_>| -> String {
        node.children()
            .find(|c| c.tag_name().name() == "link" && c.attribute("rel") == Some("alternate"))
            .and_then(|c| c.attribute("href"))
            .expect("a link")
            .to_string()
    };
    let updated = |t: &str| chrono::DateTime::parse_from_rfc3339(t).expect("an RFC 3339 date");
    for name in ["id", "title", "updated"] {
        assert!(!child(feed, name).is_empty(), "feed {name}");
    }
    updated(&child(feed, "updated"));
    assert!(link(feed).starts_with("http://"), "absolute");
    assert!(
        feed.children().any(|c| c.tag_name().name() == "author"),
        "a feed author"
    );
    feed.children()
        .filter(|c| c.tag_name().name() == "entry")
        .map(|e| {
            let u = child(e, "updated");
            updated(&u);
            (child(e, "id"), child(e, "title"), u, link(e))
        })
        .collect()
}

#[tokio::test]
async fn the_history_feed_lists_completed_releases_newest_first() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "completed").await;
    let mut ids = Vec::new();
    for name in ["First <done> & dusted", "Second"] {
        let id = app.create_release(name).await;
        assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
        let (code, _) = app.set_release_status(&id, "completed").await;
        assert_eq!(code, 200);
        ids.push(id);
    }
    app.create_release("Still a draft").await;
    let res = app.get("/releases/history.atom").await;
    assert_eq!(
        res.headers()["content-type"].to_str().expect("ascii"),
        "application/atom+xml; charset=utf-8"
    );
    let entries = atom_entries(&res.text().await.expect("body"));
    let titles: Vec<&str> = entries.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        titles,
        ["Second", "First <done> & dusted"],
        "newest completion first, as text"
    );
    for ((entry_id, _, updated, link), id) in entries.iter().zip(ids.iter().rev()) {
        assert_eq!(entry_id, &format!("urn:uuid:{id}"));
        assert_eq!(link, &app.url(&format!("/releases/{id}")));
        let r = common::release(&app, id).await;
        assert_eq!(Some(updated.as_str()), r["completed_at"].as_str());
    }
}

#[tokio::test]
async fn the_deployments_feed_lists_finished_deployments_of_an_environment() {
    let app = common::spawn_app().await;
    let done = app.deploy_ok("api", "1.0", "Production", "completed").await;
    let failed = app.deploy_ok("web", "2.0", "Production", "failed").await;
    app.deploy_ok("db", "3.0", "Production", "started").await;
    app.deploy_ok("api", "1.1", "Dev", "completed").await;
    let xml = app
        .get("/deployments.atom?environment=Production")
        .await
        .text()
        .await
        .expect("body");
    let entries = atom_entries(&xml);
    let ids: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
    let want: Vec<String> = [&failed, &done]
        .iter()
        .map(|d| format!("urn:uuid:{}", d["id"].as_str().expect("id")))
        .collect();
    assert_eq!(ids, want, "finished ones only, newest first: {xml}");
    assert_eq!(entries[0].1, "web 2.0 failed in Production");
    assert_eq!(
        entries[0].3,
        app.url(&format!(
            "/deployments/{}",
            failed["id"].as_str().expect("id")
        ))
    );
    let all = atom_entries(
        &app.get("/deployments.atom")
            .await
            .text()
            .await
            .expect("body"),
    );
    assert_eq!(all.len(), 3, "every environment: {all:?}");
    let none: Value = json!(atom_entries(
        &app.get("/deployments.atom?environment=Nowhere")
            .await
            .text()
            .await
            .expect("body")
    ));
    assert_eq!(none, json!([]));
}

/// The demo's names only hold letters, digits, `.` and `-`; Markdown escapes the `-`.
fn md(s: &str) -> String {
    s.replace('-', "\\-")
}

const LABELS: [(&str, &str); 4] = [
    ("deployed", "✅ Deployed"),
    ("in_progress", "🟡 In progress"),
    ("failed", "🔴 Failed"),
    ("not_deployed", "❌ Not deployed"),
];

#[tokio::test]
async fn the_demo_releases_export_what_the_api_says() {
    let app = common::spawn_app().await;
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || releaseboard::service::demo::load(&ctx))
        .await
        .expect("the demo task")
        .expect("loading the demo");
    let all = app.get_json("/api/releases/?limit=200").await;
    for name in ["Q4 Sprint 3", "User Platform v2.0"] {
        let id = arr(&all)
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["id"].as_str())
            .unwrap_or_else(|| panic!("the demo's {name}"))
            .to_string();
        let matrix = app.get_json(&format!("/api/releases/{id}/matrix")).await;
        let versions = app.get_json(&format!("/api/releases/{id}/versions")).await;

        // CSV: one row per cell, as the matrix API says.
        let csv_text = app
            .get(&format!("/releases/{id}/matrix.csv"))
            .await
            .text()
            .await
            .expect("body");
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let got: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.expect("a row").iter().map(str::to_string).collect())
            .collect();
        let want: Vec<Vec<String>> = arr(&matrix["rows"])
            .iter()
            .flat_map(|row| {
                arr(&row["cells"]).iter().map(move |c| {
                    vec![
                        row["product_name"].as_str().unwrap_or_default().to_string(),
                        row["version"].as_str().unwrap_or_default().to_string(),
                        c["environment_name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        c["state"].as_str().unwrap_or_default().to_string(),
                        c["at"].as_str().unwrap_or_default().to_string(),
                        c["deployed_by"].as_str().unwrap_or_default().to_string(),
                    ]
                })
            })
            .collect();
        assert_eq!(got, want, "{name}");

        // Notes: a row per version, with its facts and each environment's state.
        let notes = app
            .get(&format!("/releases/{id}/notes.md"))
            .await
            .text()
            .await
            .expect("body");
        for row in arr(&matrix["rows"]) {
            let v = arr(&versions)
                .iter()
                .find(|v| v["id"] == row["version_id"])
                .expect("the row's version");
            let sha = v["scm_sha"]
                .as_str()
                .map_or("—".to_string(), |s| s.chars().take(8).collect());
            let states: Vec<&str> = arr(&row["cells"])
                .iter()
                .map(|c| {
                    LABELS
                        .iter()
                        .find(|(s, _)| c["state"] == *s)
                        .map(|(_, l)| *l)
                        .expect("a state")
                })
                .collect();
            let start = format!(
                "| {} | {} | {} |",
                md(row["product_name"].as_str().expect("name")),
                row["version"].as_str().expect("version"),
                sha
            );
            let line = notes
                .lines()
                .find(|l| l.starts_with(&start))
                .unwrap_or_else(|| panic!("{name}: no row {start}\n{notes}"));
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            let shown: Vec<String> = cells[5..]
                .iter()
                .map(|c| c.split(" (").next().unwrap_or_default().to_string())
                .collect();
            assert_eq!(shown, states, "{name}: {line}");
        }
        // Q4 Sprint 3 reached every environment; each date is the latest first completion.
        if name == "Q4 Sprint 3" {
            for env in ["Dev", "Test", "Staging", "Production"] {
                let at = fully_reached_from_api(&app, &id, env)
                    .await
                    .expect("reached");
                let line = format!("- {env} fully reached: {}", as_printed(&at));
                assert!(notes.lines().any(|l| l == line), "{line}\n{notes}");
            }
            assert!(notes.contains("- Status: Completed"), "{notes}");
        }

        // JSON: the API's answers.
        let (code, e) = answer(app.get(&format!("/releases/{id}/export.json")).await).await;
        assert_eq!(code, 200);
        assert_eq!(e["matrix"], matrix, "{name}");
        assert_eq!(e["versions"], versions, "{name}");
        assert_eq!(
            e["audit"],
            app.get_json(&format!("/api/releases/{id}/audit")).await
        );
    }
}
