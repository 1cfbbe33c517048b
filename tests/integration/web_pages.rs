//! The server-rendered dashboard of SPEC §6, read like a browser without JavaScript reads it:
//! every page's layout, the release lists and history, the release matrix (states, labels,
//! column order, progress, "ready to complete"), catalog and deployment pages, 404 pages, and
//! HTML escaping of every piece of user text.

use crate::common;

use crate::common::{
    css_attrs, css_count, css_texts, sel, squish, text_of, urlencode, Page, TestApp,
};
use scraper::{ElementRef, Html};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers local to this file

/// A page every visitor can see: 200, HTML, a title, the nav bar, no script.
fn assert_layout(page: &Page, path: &str) {
    assert_eq!(page.status, 200, "GET {path}: {}", page.body);
    assert_layout_of_any_status(page, path);
}

/// Title, nav bar and no `<script>`, whatever the status (error pages too).
fn assert_layout_of_any_status(page: &Page, path: &str) {
    assert!(
        page.content_type.starts_with("text/html"),
        "GET {path}: content type {}",
        page.content_type
    );
    let titles = css_texts(&page.body, "head title");
    assert_eq!(titles.len(), 1, "GET {path}: one <title>");
    assert!(!titles[0].trim().is_empty(), "GET {path}: empty <title>");
    let nav = Html::parse_document(&page.body);
    let links: Vec<(String, String)> = nav
        .select(&sel("nav a"))
        .map(|a| {
            (
                squish(&text_of(a)),
                a.value().attr("href").unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (label, href) in [
        ("Releases", "/releases"),
        ("Environments", "/environments"),
        ("Products", "/products"),
        ("Deployments", "/deployments"),
    ] {
        assert!(
            links.iter().any(|(l, h)| l == label && h == href),
            "GET {path}: nav link {label} → {href} missing; links: {links:?}"
        );
    }
    assert_no_script(page, path);
}

/// Works without JavaScript: no `<script>` element, not even escaped-away markup gone wrong.
fn assert_no_script(page: &Page, path: &str) {
    assert_eq!(
        css_count(&page.body, "script"),
        0,
        "GET {path}: a <script> element"
    );
    assert!(
        !page.body.to_ascii_lowercase().contains("<script"),
        "GET {path}: raw <script in the body"
    );
}

async fn json_body(res: reqwest::Response) -> (u16, Value) {
    let code = res.status().as_u16();
    let text = res.text().await.expect("body");
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Creates a release through the API from a full body; returns its id.
async fn create_release_with(app: &TestApp, body: Value) -> String {
    let (code, out) = json_body(app.post_json("/api/releases/", &body).await).await;
    assert_eq!(code, 201, "creating {body}: {out}");
    out["id"].as_str().expect("release id").to_string()
}

/// Changes a release's status through the API. A release with no versions cannot be
/// completed (SPEC §4): one is planned into it first.
async fn set_status(app: &TestApp, id: &str, status: &str) {
    if status == "completed" && common::release(app, id).await["version_count"] == 0 {
        assert_eq!(app.add_to_release(id, "payload", "1.0").await, 201);
    }
    let (code, out) = json_body(
        app.patch_json(&format!("/api/releases/{id}"), &json!({ "status": status }))
            .await,
    )
    .await;
    assert_eq!(code, 200, "status {status}: {out}");
}

async fn product_id(app: &TestApp, name: &str) -> String {
    let all = app.get_json("/api/products/").await;
    all.as_array()
        .expect("product array")
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["id"].as_str())
        .unwrap_or_else(|| panic!("product {name} exists"))
        .to_string()
}

async fn environment_id(app: &TestApp, name: &str) -> String {
    let all = app.get_json("/api/environments/").await;
    all.as_array()
        .expect("environment array")
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["id"].as_str())
        .unwrap_or_else(|| panic!("environment {name} exists"))
        .to_string()
}

/// One matrix cell as the release page shows it.
#[derive(Debug, Clone)]
struct Cell {
    product: String,
    version: String,
    environment: String,
    state: String,
    title: String,
    text: String,
}

/// Every `<td data-state>` of the release matrix, row by row, left to right.
fn matrix_cells(html: &str) -> Vec<Cell> {
    let doc = Html::parse_document(html);
    doc.select(&sel("table td[data-state]"))
        .map(|td| {
            let a = |name: &str| td.value().attr(name).unwrap_or_default().to_string();
            Cell {
                product: a("data-product"),
                version: a("data-version"),
                environment: a("data-environment"),
                state: a("data-state"),
                title: a("title"),
                text: squish(&text_of(td)),
            }
        })
        .collect()
}

fn cell<'a>(cells: &'a [Cell], product: &str, environment: &str) -> &'a Cell {
    cells
        .iter()
        .find(|c| c.product == product && c.environment == environment)
        .unwrap_or_else(|| panic!("no cell for {product} in {environment}: {cells:?}"))
}

/// The progress an environment's column header carries ("1/2"), and its accessible label.
fn progress_of(html: &str, environment: &str) -> (String, String) {
    let doc = Html::parse_document(html);
    doc.select(&sel(".release-matrix thead th"))
        .find(|th| {
            th.select(&sel(".env-name"))
                .next()
                .is_some_and(|n| squish(&text_of(n)) == environment)
        })
        .and_then(|th| th.select(&sel(".col-progress")).next())
        .map(|p| {
            let label = p.value().attr("aria-label").unwrap_or_default();
            (squish(&text_of(p)), label.to_string())
        })
        .unwrap_or_else(|| panic!("no progress in the column of {environment}"))
}

/// Whether the page has the "Ready to complete" banner.
fn has_ready_banner(html: &str) -> bool {
    css_texts(html, "main p")
        .iter()
        .any(|t| t.contains("Ready to complete"))
}

/// Every text node of the body: markup in user text would have split these up.
fn body_text_nodes(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let body = doc.select(&sel("body")).next().expect("a <body>");
    body.text().map(str::to_string).collect()
}

fn body_shows_text(html: &str, needle: &str) -> bool {
    body_text_nodes(html).iter().any(|t| t.contains(needle))
}

/// Links of a list table's rows: (text, href).
fn row_links(html: &str) -> Vec<(String, String)> {
    let doc = Html::parse_document(html);
    doc.select(&sel("table tbody tr th a"))
        .map(|a| {
            (
                text_of(a),
                a.value().attr("href").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn row_names(html: &str) -> Vec<String> {
    row_links(html).into_iter().map(|(t, _)| t).collect()
}

/// Rows of a deployments table: product, version, environment, status, by.
fn deployment_rows(html: &str) -> Vec<[String; 5]> {
    let doc = Html::parse_document(html);
    let is_deployments = |t: &ElementRef<'_>| {
        let heads: Vec<String> = t
            .select(&sel("thead th"))
            .map(|th| squish(&text_of(th)))
            .collect();
        ["Version", "Environment", "Status", "By"]
            .iter()
            .all(|h| heads.iter().any(|x| x == h))
    };
    doc.select(&sel("table"))
        .filter(is_deployments)
        .flat_map(|t| t.select(&sel("tbody tr")).collect::<Vec<_>>())
        .map(|tr| {
            let product = tr
                .select(&sel("th"))
                .next()
                .map(|th| squish(&text_of(th)))
                .unwrap_or_default();
            let tds: Vec<String> = tr
                .select(&sel("td"))
                .map(|td| squish(&text_of(td)))
                .collect();
            assert_eq!(
                tds.len(),
                5,
                "when, version, environment, status, by: {tds:?}"
            );
            [
                product,
                tds[1].clone(),
                tds[2].clone(),
                tds[3].clone(),
                tds[4].clone(),
            ]
        })
        .collect()
}

/// A database with something on every page: deployments in four environments, an active
/// release with versions, a completed and a cancelled one.
struct World {
    active: String,
    completed: String,
    product: String,
}

async fn populate(app: &TestApp) -> World {
    for (product, version, env, status) in [
        ("user-service", "1.2.3", "Dev", "success"),
        ("user-service", "1.2.3", "Test", "success"),
        ("user-service", "1.2.3", "Staging", "started"),
        ("user-service", "1.2.2", "Production", "success"),
        ("auth-service", "2.1.0", "Dev", "success"),
        ("auth-service", "2.1.0", "Production", "failed"),
    ] {
        app.deploy_ok(product, version, env, status).await;
    }
    let active = app.create_release("User Platform v2.0").await;
    assert_eq!(
        app.add_to_release(&active, "user-service", "1.2.3").await,
        201
    );
    assert_eq!(
        app.add_to_release(&active, "auth-service", "2.1.0").await,
        201
    );
    let completed = app.create_release("Q4 Sprint 3").await;
    assert_eq!(
        app.add_to_release(&completed, "user-service", "1.2.2")
            .await,
        201
    );
    set_status(app, &completed, "completed").await;
    let cancelled = app.create_release("Abandoned").await;
    set_status(app, &cancelled, "cancelled").await;
    World {
        active,
        completed,
        product: product_id(app, "user-service").await,
    }
}

// ---------------------------------------------------------------------------------------------
// Layout of every page

#[tokio::test]
async fn every_page_renders_200_with_a_title_the_nav_bar_and_no_script() {
    let app = common::spawn_app().await;
    let w = populate(&app).await;
    let paths = [
        "/".to_string(),
        "/releases".into(),
        "/releases?status=draft".into(),
        "/releases?status=in_progress".into(),
        "/releases?status=completed".into(),
        "/releases?status=cancelled".into(),
        "/releases?q=platform".into(),
        "/releases?page=2".into(),
        "/releases/history".into(),
        "/releases/new".into(),
        format!("/releases/{}", w.active),
        format!("/releases/{}/edit", w.active),
        format!("/releases/{}", w.completed),
        format!("/releases/{}/edit", w.completed),
        "/products".into(),
        format!("/products/{}", w.product),
        "/environments".into(),
        "/deployments".into(),
        "/deployments?product=user-service&environment=Dev&status=completed".into(),
    ];
    for path in &paths {
        let page = app.page(path).await;
        assert_layout(&page, path);
    }
}

#[tokio::test]
async fn every_list_page_renders_on_an_empty_database() {
    let app = common::spawn_app().await;
    for path in [
        "/",
        "/releases",
        "/releases?status=completed",
        "/releases/history",
        "/releases/new",
        "/products",
        "/environments",
        "/deployments",
    ] {
        let page = app.page(path).await;
        assert_layout(&page, path);
    }
}

#[tokio::test]
async fn the_empty_dashboard_shows_the_curl_command_and_the_demo_command() {
    let app = common::spawn_app().await;
    let page = app.page("/").await;
    assert_layout(&page, "/");
    let pre = css_texts(&page.body, "pre").join("\n");
    assert!(pre.contains("curl"), "curl command: {pre}");
    assert!(pre.contains("/api/deployment-events/"), "event URL: {pre}");
    assert!(pre.contains("releaseboard demo"), "demo command: {pre}");
}

// ---------------------------------------------------------------------------------------------
// Dashboard

#[tokio::test]
async fn the_dashboard_lists_active_releases_with_progress_but_not_archived_ones() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Production", "success").await;
    let draft = app.create_release("Planning One").await;
    let running = app.create_release("Running Two").await;
    assert_eq!(app.add_to_release(&running, "api", "1.0").await, 201);
    assert_eq!(app.add_to_release(&running, "web", "2.0").await, 201);
    set_status(&app, &running, "in_progress").await;
    let done = app.create_release("Finished Three").await;
    set_status(&app, &done, "completed").await;
    let gone = app.create_release("Cancelled Four").await;
    set_status(&app, &gone, "cancelled").await;

    let page = app.page("/").await;
    assert_layout(&page, "/");
    let links = css_attrs(&page.body, "main a", "href");
    for id in [&draft, &running] {
        assert!(
            links.contains(&format!("/releases/{id}")),
            "active {id} linked"
        );
    }
    for id in [&done, &gone] {
        assert!(
            !links.contains(&format!("/releases/{id}")),
            "archived {id} not shown"
        );
    }
    // The running release's card has a progress bar per environment.
    let doc = Html::parse_document(&page.body);
    let card = doc
        .select(&sel("main article"))
        .find(|a| text_of(*a).contains("Running Two"))
        .expect("a card for the running release");
    let progress: Vec<String> = card
        .select(&sel(".progress"))
        .map(|p| squish(&text_of(p)))
        .collect();
    assert_eq!(
        progress.len(),
        2,
        "one progress bar per environment: {progress:?}"
    );
    assert!(
        progress[0].starts_with("Dev") && progress[0].contains("1 of 2"),
        "{progress:?}"
    );
    assert!(
        progress[1].starts_with("Production") && progress[1].contains("1 of 2"),
        "{progress:?}"
    );
    let meters = card
        .select(&sel("meter"))
        .map(|m| {
            (
                m.value().attr("value").unwrap_or_default().to_string(),
                m.value().attr("max").unwrap_or_default().to_string(),
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(
        meters,
        vec![("1".into(), "2".into()), ("1".into(), "2".into())]
    );
}

#[tokio::test]
async fn the_dashboard_state_matrix_shows_current_versions_and_marks_drift() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("api", "0.9", "Production", "success").await;
    app.deploy_ok("web", "2.0", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Production", "success").await;
    // A newer failed attempt does not replace what runs.
    app.deploy_ok("web", "2.1", "Production", "failed").await;

    let page = app.page("/").await;
    assert_layout(&page, "/");
    let doc = Html::parse_document(&page.body);
    let row = |product: &str| {
        doc.select(&sel("tr[data-product]"))
            .find(|tr| tr.value().attr("data-product") == Some(product))
            .unwrap_or_else(|| panic!("state row for {product}"))
    };
    let cells = |product: &str| -> Vec<String> {
        row(product)
            .select(&sel("td"))
            .map(|td| squish(&text_of(td)))
            .collect()
    };
    let api = cells("api");
    assert_eq!(api.len(), 2, "{api:?}");
    assert!(api[0].starts_with("1.0"), "api in Dev: {api:?}");
    assert!(api[1].starts_with("0.9"), "api in Production: {api:?}");
    let web = cells("web");
    assert!(web[0].starts_with("2.0"), "web in Dev: {web:?}");
    assert!(
        web[1].starts_with("2.0"),
        "web still runs 2.0 in Production: {web:?}"
    );
    assert!(
        web[1].contains("2.1"),
        "the newer failed attempt is mentioned: {web:?}"
    );
    assert!(
        squish(&text_of(row("api"))).contains("drift"),
        "api runs different versions: drift"
    );
    assert!(
        !squish(&text_of(row("web"))).contains("drift"),
        "web runs 2.0 everywhere: no drift"
    );
}

#[tokio::test]
async fn the_dashboard_lists_the_latest_deployments_newest_first() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Test", "failed").await;
    let page = app.page("/").await;
    let rows = deployment_rows(&page.body);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][0], "web");
    assert_eq!(rows[0][1], "2.0");
    assert_eq!(rows[0][2], "Test");
    assert!(rows[0][3].contains("failed"), "{rows:?}");
    assert_eq!(rows[1][0], "api");
    assert!(rows[1][3].contains("completed"), "{rows:?}");
}

// ---------------------------------------------------------------------------------------------
// Release list, search, pagination, history

#[tokio::test]
async fn the_release_list_filters_by_status_tab() {
    let app = common::spawn_app().await;
    let _draft = app.create_release("Alpha draft").await;
    let running = app.create_release("Beta running").await;
    set_status(&app, &running, "in_progress").await;
    let done = app.create_release("Gamma done").await;
    set_status(&app, &done, "completed").await;
    let gone = app.create_release("Delta gone").await;
    set_status(&app, &gone, "cancelled").await;

    let all = app.page("/releases").await;
    assert_layout(&all, "/releases");
    let mut names = row_names(&all.body);
    names.sort();
    assert_eq!(
        names,
        ["Alpha draft", "Beta running", "Delta gone", "Gamma done"]
    );

    for (status, expected, tab) in [
        ("draft", "Alpha draft", "Draft"),
        ("in_progress", "Beta running", "In progress"),
        ("completed", "Gamma done", "Completed"),
        ("cancelled", "Delta gone", "Cancelled"),
    ] {
        let path = format!("/releases?status={status}");
        let page = app.page(&path).await;
        assert_layout(&page, &path);
        assert_eq!(row_names(&page.body), [expected], "{path}");
        let current: Vec<String> = css_texts(&page.body, "a[aria-current=\"page\"]")
            .iter()
            .map(|t| squish(t))
            .collect();
        assert!(
            current.contains(&tab.to_string()),
            "{path}: current tab {current:?}"
        );
        let tab_hrefs = css_attrs(&page.body, "main nav a", "href");
        assert!(
            tab_hrefs.contains(&path),
            "{path}: a tab links to it: {tab_hrefs:?}"
        );
    }
}

#[tokio::test]
async fn the_release_list_searches_names_case_insensitively_and_keeps_the_query() {
    let app = common::spawn_app().await;
    app.create_release("User Platform v2.0").await;
    let tools = app.create_release("platform tools").await;
    app.create_release("Q4 Sprint 3").await;
    set_status(&app, &tools, "in_progress").await;

    let page = app.page("/releases?q=Platform").await;
    assert_layout(&page, "/releases?q=Platform");
    let mut names = row_names(&page.body);
    names.sort();
    assert_eq!(names, ["User Platform v2.0", "platform tools"]);
    assert_eq!(
        css_attrs(&page.body, "input[name=q]", "value"),
        ["Platform"]
    );

    let both = app.page("/releases?q=platform&status=in_progress").await;
    assert_eq!(row_names(&both.body), ["platform tools"]);

    let none = app.page("/releases?q=nothing-like-this").await;
    assert_layout(&none, "/releases?q=nothing-like-this");
    assert!(row_names(&none.body).is_empty());
}

#[tokio::test]
async fn thirty_releases_fill_two_pages_and_page_two_shows_the_oldest_five() {
    let app = common::spawn_app().await;
    let names: Vec<String> = (1..=30).map(|i| format!("Sprint {i:02}")).collect();
    for n in &names {
        app.create_release(n).await;
    }
    let first = app.page("/releases").await;
    assert_layout(&first, "/releases");
    let page1 = row_names(&first.body);
    assert_eq!(page1.len(), 25, "{page1:?}");
    assert_eq!(page1[0], "Sprint 30", "newest first");
    let next = css_attrs(&first.body, "a[rel=next]", "href");
    assert_eq!(next.len(), 1, "a link to the next page");
    assert!(next[0].contains("page=2"), "{next:?}");

    let second = app.page(&next[0]).await;
    assert_layout(&second, &next[0]);
    let page2 = row_names(&second.body);
    assert_eq!(
        page2,
        [
            "Sprint 05",
            "Sprint 04",
            "Sprint 03",
            "Sprint 02",
            "Sprint 01"
        ]
    );
    assert!(
        page1.iter().all(|n| !page2.contains(n)),
        "pages do not overlap"
    );
    assert_eq!(css_count(&second.body, "a[rel=next]"), 0, "no page 3");
    let prev = css_attrs(&second.body, "a[rel=prev]", "href");
    assert_eq!(prev.len(), 1);

    // The page links keep the search.
    let searched = app.page("/releases?q=sprint").await;
    let next = css_attrs(&searched.body, "a[rel=next]", "href");
    assert_eq!(next.len(), 1);
    assert!(
        next[0].contains("q=sprint") && next[0].contains("page=2"),
        "{next:?}"
    );
    let page2 = app.page(&next[0]).await;
    assert_eq!(row_names(&page2.body).len(), 5);

    // Past the end: an empty list, not an error.
    let beyond = app.page("/releases?page=9").await;
    assert_layout(&beyond, "/releases?page=9");
    assert!(row_names(&beyond.body).is_empty());
}

#[tokio::test]
async fn history_lists_only_completed_releases_newest_completion_first() {
    let app = common::spawn_app().await;
    let first_created = app.create_release("Completed last").await;
    let second_created = app.create_release("Completed first").await;
    let running = app.create_release("Still running").await;
    set_status(&app, &running, "in_progress").await;
    let gone = app.create_release("Cancelled one").await;
    set_status(&app, &gone, "cancelled").await;
    app.create_release("Just a draft").await;

    set_status(&app, &second_created, "completed").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    set_status(&app, &first_created, "completed").await;

    let page = app.page("/releases/history").await;
    assert_layout(&page, "/releases/history");
    assert_eq!(
        row_links(&page.body),
        [
            (
                "Completed last".to_string(),
                format!("/releases/{first_created}")
            ),
            (
                "Completed first".to_string(),
                format!("/releases/{second_created}")
            ),
        ]
    );
}

#[tokio::test]
async fn history_shows_when_each_release_reached_production() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "started").await;
    app.deploy_ok("web", "2.0", "Production", "success").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // api 1.0 reaches production last: that is when the release reached production.
    let last = app.deploy_ok("api", "1.0", "Production", "success").await;
    let shipped = app.create_release("Shipped").await;
    assert_eq!(app.add_to_release(&shipped, "api", "1.0").await, 201);
    assert_eq!(app.add_to_release(&shipped, "web", "2.0").await, 201);
    set_status(&app, &shipped, "completed").await;
    // Completed by decision, never deployed to production.
    let paper = app.create_release("Paper only").await;
    assert_eq!(app.add_to_release(&paper, "api", "9.9").await, 201);
    set_status(&app, &paper, "completed").await;

    let page = app.page("/releases/history").await;
    assert_layout(&page, "/releases/history");
    let doc = Html::parse_document(&page.body);
    let row = |name: &str| {
        doc.select(&sel("table tbody tr"))
            .find(|tr| text_of(*tr).contains(name))
            .unwrap_or_else(|| panic!("history row {name}"))
    };
    let times: Vec<String> = row("Shipped")
        .select(&sel("time[datetime]"))
        .filter_map(|t| t.value().attr("datetime").map(str::to_string))
        .collect();
    assert_eq!(times.len(), 1, "one production time for Shipped: {times:?}");
    let reached = chrono::DateTime::parse_from_rfc3339(&times[0]).expect("RFC 3339 datetime");
    let completed_at = chrono::DateTime::parse_from_rfc3339(
        last["completed_at"]
            .as_str()
            .expect("completed_at of the deployment"),
    )
    .expect("RFC 3339 completed_at");
    let gap = (reached - completed_at).num_milliseconds().abs();
    assert!(
        gap < 1000,
        "reached production {reached} = when api 1.0 completed in Production ({completed_at})"
    );
    assert_eq!(
        css_count(&row("Paper only").html(), "time[datetime]"),
        0,
        "never reached production: no time"
    );
}

// ---------------------------------------------------------------------------------------------
// 404 pages

async fn assert_html_404(app: &TestApp, path: &str) {
    let page = app.page(path).await;
    assert_eq!(page.status, 404, "GET {path}");
    assert_layout_of_any_status(&page, path);
    assert!(
        !page.body.trim_start().starts_with('{'),
        "GET {path}: an HTML page, not JSON"
    );
    assert!(
        squish(&css_texts(&page.body, "h1").join(" ")).contains("Not found"),
        "GET {path}: says not found"
    );
}

#[tokio::test]
async fn an_unknown_release_id_is_a_404_html_page() {
    let app = common::spawn_app().await;
    let id = uuid::Uuid::new_v4();
    assert_html_404(&app, &format!("/releases/{id}")).await;
    assert_html_404(&app, &format!("/releases/{id}/edit")).await;
}

#[tokio::test]
async fn a_release_id_that_is_not_a_uuid_is_a_404_html_page() {
    let app = common::spawn_app().await;
    assert_html_404(&app, "/releases/not-a-uuid").await;
    assert_html_404(&app, "/releases/12345/edit").await;
    assert_html_404(&app, "/releases/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
}

#[tokio::test]
async fn an_unknown_product_is_a_404_html_page() {
    let app = common::spawn_app().await;
    assert_html_404(&app, &format!("/products/{}", uuid::Uuid::new_v4())).await;
    assert_html_404(&app, "/products/nope").await;
}

#[tokio::test]
async fn an_unknown_path_is_a_404_html_page() {
    let app = common::spawn_app().await;
    assert_html_404(&app, "/no/such/page").await;
    assert_html_404(&app, "/<script>alert(1)</script>").await;
}

// ---------------------------------------------------------------------------------------------
// The release matrix

/// Environments created in the reverse of their order (production first), with names whose
/// alphabetical order is not the type order either. Returns the release id.
///
/// | version  | sandbox (dev)        | qa (test)   | uat (staging)      | live (production)  |
/// |----------|----------------------|-------------|--------------------|--------------------|
/// | api 1.0  | deployed (by alice)  | in_progress | failed             | not_deployed (aborted) |
/// | web 2.0  | deployed, superseded by 2.1 | deployed | deployed (after a failure) | not_deployed |
async fn matrix_scenario(app: &TestApp) -> String {
    app.deploy_ok("api", "1.0", "live", "pending").await;
    app.deploy_ok("api", "1.0", "live", "aborted").await;
    app.deploy_ok("api", "1.0", "uat", "failed").await;
    app.deploy_ok("web", "2.0", "uat", "failed").await;
    app.deploy_ok("web", "2.0", "uat", "success").await;
    app.deploy_ok("api", "1.0", "qa", "started").await;
    app.deploy_ok("web", "2.0", "qa", "success").await;
    let res = app
        .deploy(
            "api",
            "1.0",
            "sandbox",
            "success",
            json!({ "deployed_by": "alice" }),
        )
        .await;
    assert!(res.status().is_success(), "api 1.0 to sandbox");
    app.deploy_ok("web", "2.0", "sandbox", "success").await;
    app.deploy_ok("web", "2.1", "sandbox", "success").await;
    let id = app.create_release("Matrix").await;
    // Added in reverse name order: rows are sorted by product name anyway.
    assert_eq!(app.add_to_release(&id, "web", "2.0").await, 201);
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    id
}

#[tokio::test]
async fn matrix_cells_carry_product_version_environment_and_each_of_the_four_states() {
    let app = common::spawn_app().await;
    let id = matrix_scenario(&app).await;
    let page = app.page(&format!("/releases/{id}")).await;
    assert_layout(&page, "/releases/{id}");
    let cells = matrix_cells(&page.body);
    assert_eq!(cells.len(), 8, "2 versions × 4 environments: {cells:?}");
    let expected = [
        ("api", "1.0", "sandbox", "deployed"),
        ("api", "1.0", "qa", "in_progress"),
        ("api", "1.0", "uat", "failed"),
        ("api", "1.0", "live", "not_deployed"),
        ("web", "2.0", "sandbox", "deployed"),
        ("web", "2.0", "qa", "deployed"),
        ("web", "2.0", "uat", "deployed"),
        ("web", "2.0", "live", "not_deployed"),
    ];
    let got: Vec<(&str, &str, &str, &str)> = cells
        .iter()
        .map(|c| {
            (
                c.product.as_str(),
                c.version.as_str(),
                c.environment.as_str(),
                c.state.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got, expected,
        "rows by product name, columns in environment order"
    );
}

#[tokio::test]
async fn every_matrix_cell_shows_an_emoji_and_a_text_label_and_has_a_title() {
    let app = common::spawn_app().await;
    let id = matrix_scenario(&app).await;
    let page = app.page(&format!("/releases/{id}")).await;
    let cells = matrix_cells(&page.body);
    assert!(!cells.is_empty());
    for c in &cells {
        let (emoji, label) = match c.state.as_str() {
            "deployed" => ("✅", "Deployed"),
            "in_progress" => ("🟡", "In progress"),
            "failed" => ("🔴", "Failed"),
            "not_deployed" => ("❌", "Not deployed"),
            other => panic!("unknown state {other}"),
        };
        assert!(c.text.contains(emoji), "{c:?}: emoji {emoji}");
        assert!(c.text.contains(label), "{c:?}: label {label}");
        assert!(!c.title.trim().is_empty(), "{c:?}: a title");
    }
    // The title says by whom.
    assert!(
        cell(&cells, "api", "sandbox").title.contains("alice"),
        "{:?}",
        cell(&cells, "api", "sandbox")
    );
}

#[tokio::test]
async fn a_deployed_cell_whose_environment_runs_a_newer_version_says_superseded_by() {
    let app = common::spawn_app().await;
    let id = matrix_scenario(&app).await;
    let page = app.page(&format!("/releases/{id}")).await;
    let cells = matrix_cells(&page.body);
    let superseded = cell(&cells, "web", "sandbox");
    assert_eq!(superseded.state, "deployed");
    assert!(superseded.text.contains("Deployed"), "{superseded:?}");
    assert!(
        superseded.text.contains("superseded by 2.1"),
        "{superseded:?}"
    );
    for c in cells
        .iter()
        .filter(|c| !(c.product == "web" && c.environment == "sandbox"))
    {
        assert!(!c.text.contains("superseded"), "{c:?}");
    }
}

#[tokio::test]
async fn matrix_columns_are_in_environment_type_order_whatever_the_creation_order() {
    let app = common::spawn_app().await;
    let id = matrix_scenario(&app).await;
    let page = app.page(&format!("/releases/{id}")).await;
    let doc = Html::parse_document(&page.body);
    let table = doc
        .select(&sel("table"))
        .find(|t| t.select(&sel("td[data-state]")).next().is_some())
        .expect("the matrix table");
    let headers: Vec<String> = table
        .select(&sel("thead th"))
        .map(|th| squish(&text_of(th)))
        .collect();
    assert_eq!(
        headers.len(),
        5,
        "product and version, 4 environments: {headers:?}"
    );
    for (th, env) in headers[1..].iter().zip(["sandbox", "qa", "uat", "live"]) {
        assert!(
            th.starts_with(env),
            "column {th:?} should be {env}: {headers:?}"
        );
    }
    for row in matrix_cells(&page.body).chunks(4) {
        let envs: Vec<&str> = row.iter().map(|c| c.environment.as_str()).collect();
        assert_eq!(envs, ["sandbox", "qa", "uat", "live"]);
    }
}

#[tokio::test]
async fn release_progress_says_how_many_versions_are_deployed_per_environment() {
    let app = common::spawn_app().await;
    let id = matrix_scenario(&app).await;
    let page = app.page(&format!("/releases/{id}")).await;
    for (env, n_of_m) in [
        ("sandbox", "2 of 2"),
        ("qa", "1 of 2"),
        ("uat", "1 of 2"),
        ("live", "0 of 2"),
    ] {
        let (text, label) = progress_of(&page.body, env);
        assert_eq!(text, n_of_m.replace(" of ", "/"), "{env}");
        assert_eq!(label, format!("{n_of_m} deployed"), "{env}");
    }
}

#[tokio::test]
async fn the_ready_to_complete_banner_appears_exactly_when_every_version_reached_its_production_targets(
) {
    let app = common::spawn_app().await;
    let path = |id: &str| format!("/releases/{id}");
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Dev", "success").await;
    app.deploy_ok("api", "1.0", "Production", "pending").await;
    let id = app.create_release("Ready check").await;

    let empty = app.page(&path(&id)).await;
    assert!(
        !has_ready_banner(&empty.body),
        "an empty release is never ready"
    );

    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    assert_eq!(app.add_to_release(&id, "web", "2.0").await, 201);
    let steps: [(&str, &str, &str, &str, bool); 5] = [
        ("api", "1.0", "Production", "success", false),
        ("web", "2.0", "Production", "success", true),
        // api now also runs in a second production environment (an older version): its
        // production targets grow, and api 1.0 is not there yet.
        ("api", "0.9", "prod-eu", "success", false),
        ("api", "1.0", "prod-eu", "started", false),
        ("api", "1.0", "prod-eu", "success", true),
    ];
    for (product, version, env, status, ready) in steps {
        app.deploy_ok(product, version, env, status).await;
        let page = app.page(&path(&id)).await;
        assert_eq!(
            has_ready_banner(&page.body),
            ready,
            "after {product} {version} {status} in {env}"
        );
    }
    // A failed redeploy of a version in production: no longer deployed there, not ready.
    app.deploy_ok("web", "2.0", "Production", "failed").await;
    let page = app.page(&path(&id)).await;
    assert!(
        !has_ready_banner(&page.body),
        "web 2.0 failed in Production"
    );
}

#[tokio::test]
async fn without_a_production_environment_the_last_environment_stands_in_for_ready() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("api", "1.0", "Staging", "started").await;
    let id = app.create_release("No prod here").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    let page = app.page(&format!("/releases/{id}")).await;
    assert!(!has_ready_banner(&page.body), "not yet in Staging");
    app.deploy_ok("api", "1.0", "Staging", "success").await;
    let page = app.page(&format!("/releases/{id}")).await;
    assert!(
        has_ready_banner(&page.body),
        "Staging is the last environment"
    );
}

#[tokio::test]
async fn the_release_page_shows_status_description_metadata_versions_and_timeline() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    let id = create_release_with(
        &app,
        json!({
            "name": "User Platform v2.0",
            "description": "Login rework",
            "extra_metadata": { "ticket": "REL-42" }
        }),
    )
    .await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    set_status(&app, &id, "in_progress").await;

    let page = app.page(&format!("/releases/{id}")).await;
    assert_layout(&page, "/releases/{id}");
    let h1 = squish(&css_texts(&page.body, "h1").join(" "));
    assert!(h1.contains("User Platform v2.0"), "{h1}");
    assert!(h1.contains("In progress"), "status shown as text: {h1}");
    assert!(css_texts(&page.body, "head title")[0].contains("User Platform v2.0"));
    assert!(body_shows_text(&page.body, "Login rework"));
    let pre = css_texts(&page.body, "pre").join("\n");
    let meta: Value = serde_json::from_str(&pre).expect("metadata shown as JSON");
    assert_eq!(meta, json!({ "ticket": "REL-42" }));
    let remove = css_attrs(&page.body, "form", "action")
        .into_iter()
        .filter(|a| a.ends_with("/delete"))
        .count();
    assert_eq!(remove, 1, "a Remove button per version");
    let timeline = css_texts(&page.body, "main ol li");
    assert_eq!(
        timeline.len(),
        3,
        "created, version added, status changed: {timeline:?}"
    );
    assert!(
        css_count(&page.body, "main ol li time[datetime]") == 3,
        "each entry says when"
    );
}

// ---------------------------------------------------------------------------------------------
// Catalog and deployment pages

#[tokio::test]
async fn the_products_page_lists_products_and_a_product_page_shows_versions_and_history() {
    let app = common::spawn_app().await;
    app.deploy_ok("user-service", "1.2.3", "Dev", "success")
        .await;
    app.deploy_ok("user-service", "1.2.4", "Test", "failed")
        .await;
    app.deploy_ok("auth-service", "2.1.0", "Dev", "success")
        .await;
    let page = app.page("/products").await;
    assert_layout(&page, "/products");
    let mut names = row_names(&page.body);
    names.sort();
    assert_eq!(names, ["auth-service", "user-service"]);

    let pid = product_id(&app, "user-service").await;
    assert!(row_links(&page.body).contains(&("user-service".into(), format!("/products/{pid}"))));
    let page = app.page(&format!("/products/{pid}")).await;
    assert_layout(&page, "/products/{id}");
    assert_eq!(
        squish(&css_texts(&page.body, "h1").join(" ")),
        "user-service"
    );
    let versions: Vec<String> = css_texts(&page.body, "table tbody tr th.mono, table tbody tr th")
        .iter()
        .map(|t| squish(t))
        .collect();
    assert!(versions.contains(&"1.2.3".to_string()), "{versions:?}");
    assert!(versions.contains(&"1.2.4".to_string()), "{versions:?}");
    assert!(!versions.contains(&"2.1.0".to_string()), "{versions:?}");
    let history = deployment_rows(
        &Html::parse_document(&page.body)
            .select(&sel("section"))
            .filter(|s| text_of(*s).contains("Deployment history"))
            .map(|s| s.html())
            .collect::<String>(),
    );
    let got: Vec<(String, String, String)> = history
        .iter()
        .map(|r| (r[1].clone(), r[2].clone(), r[3].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "1.2.4".to_string(),
                "Test".to_string(),
                "failed".to_string()
            ),
            (
                "1.2.3".to_string(),
                "Dev".to_string(),
                "completed".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn the_environments_page_lists_environments_in_matrix_order_with_their_type() {
    let app = common::spawn_app().await;
    for env in ["Production", "Staging", "QA", "Dev"] {
        app.deploy_ok("api", "1.0", env, "success").await;
    }
    let page = app.page("/environments").await;
    assert_layout(&page, "/environments");
    let doc = Html::parse_document(&page.body);
    let rows: Vec<(String, String)> = doc
        .select(&sel("table tbody tr"))
        .map(|tr| {
            let name = tr.select(&sel("th")).next().map(|t| squish(&text_of(t)));
            let kind = tr.select(&sel("td")).next().map(|t| squish(&text_of(t)));
            (name.unwrap_or_default(), kind.unwrap_or_default())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Dev".to_string(), "dev".to_string()),
            ("QA".to_string(), "test".to_string()),
            ("Staging".to_string(), "staging".to_string()),
            ("Production".to_string(), "production".to_string()),
        ]
    );
    // Each has a form to change type and position.
    let dev = environment_id(&app, "Dev").await;
    assert!(css_attrs(&page.body, "form", "action").contains(&format!("/environments/{dev}")));
    assert_eq!(css_count(&page.body, "form select[name=type]"), 4);
    assert_eq!(css_count(&page.body, "form input[name=position]"), 4);
}

#[tokio::test]
async fn the_deployments_page_filters_by_product_environment_and_status() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("api", "1.0", "Prod", "failed").await;
    app.deploy_ok("web", "2.0", "Dev", "started").await;
    app.deploy_ok("web", "2.0", "Prod", "success").await;

    let all = app.page("/deployments").await;
    assert_layout(&all, "/deployments");
    assert_eq!(deployment_rows(&all.body).len(), 4);

    let by_product = app.page("/deployments?product=api").await;
    let rows = deployment_rows(&by_product.body);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r[0] == "api"), "{rows:?}");
    assert_eq!(
        css_attrs(
            &by_product.body,
            "select[name=product] option[selected]",
            "value"
        ),
        ["api"],
        "the filter stays selected"
    );

    let by_env = app.page("/deployments?environment=Prod").await;
    let rows = deployment_rows(&by_env.body);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r[2] == "Prod"), "{rows:?}");

    let by_status = app.page("/deployments?status=failed").await;
    let rows = deployment_rows(&by_status.body);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0][0].as_str(), rows[0][2].as_str()), ("api", "Prod"));

    let combined = app
        .page("/deployments?product=web&environment=Dev&status=started")
        .await;
    let rows = deployment_rows(&combined.body);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0][0].as_str(), rows[0][1].as_str()), ("web", "2.0"));

    let nothing = app.page("/deployments?product=api&status=started").await;
    assert_layout(&nothing, "/deployments?product=api&status=started");
    assert!(deployment_rows(&nothing.body).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Escaping of user text

const SCRIPT: &str = "<script>alert(1)</script>";
const DESCRIPTION: &str = "<script>alert(1)</script> says \"hi\" & 'bye'";
const PRODUCT: &str = "<b>prod</b>\"'uct";
const VERSION: &str = "<b>1</b>\"'";
const ENVIRONMENT: &str = "<b>env</b> \"prod\" 'x'";
const DEPLOYER: &str = "<script>alert(1)</script> \"dev\"";

/// Whether the raw page holds `text` with `<` and `>` written as character references
/// (`&lt;`, `&#60;` or `&#x3c;`): escaped, not dropped.
fn contains_escaped(body: &str, text: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    [("&lt;", "&gt;"), ("&#60;", "&#62;"), ("&#x3c;", "&#x3e;")]
        .iter()
        .any(|(lt, gt)| {
            lower.contains(&text.to_ascii_lowercase().replace('<', lt).replace('>', gt))
        })
}

/// Neither raw markup from user text nor any `<script>`/`<b>` element on the page.
fn assert_escaped(page: &Page, path: &str) {
    assert_eq!(page.status, 200, "GET {path}");
    assert!(!page.body.contains(SCRIPT), "GET {path}: raw {SCRIPT}");
    assert!(!page.body.contains("<b>"), "GET {path}: raw <b>");
    assert_no_script(page, path);
    assert_eq!(css_count(&page.body, "b"), 0, "GET {path}: a <b> element");
}

async fn hostile_world(app: &TestApp) -> (String, String) {
    let res = app
        .deploy(
            PRODUCT,
            VERSION,
            ENVIRONMENT,
            "success",
            json!({ "deployed_by": DEPLOYER }),
        )
        .await;
    assert!(res.status().is_success(), "hostile event accepted");
    let id = create_release_with(
        app,
        json!({
            "name": SCRIPT,
            "description": DESCRIPTION,
            "extra_metadata": { "note": DESCRIPTION, "<script>": "\"'" }
        }),
    )
    .await;
    assert_eq!(app.add_to_release(&id, PRODUCT, VERSION).await, 201);
    let done = create_release_with(app, json!({ "name": format!("{SCRIPT} shipped") })).await;
    assert_eq!(app.add_to_release(&done, PRODUCT, VERSION).await, 201);
    set_status(app, &done, "completed").await;
    (id, product_id(app, PRODUCT).await)
}

#[tokio::test]
async fn a_hostile_release_name_description_and_metadata_show_as_text() {
    let app = common::spawn_app().await;
    let (id, _) = hostile_world(&app).await;

    for path in ["/", "/releases", "/releases/history"] {
        let page = app.page(path).await;
        assert_escaped(&page, path);
        assert!(
            contains_escaped(&page.body, SCRIPT),
            "GET {path}: escaped name"
        );
        let names: Vec<String> = css_texts(&page.body, "a");
        assert!(
            names.iter().any(|n| n.starts_with(SCRIPT)),
            "GET {path}: a link whose text is the name"
        );
    }
    let list = app.page("/releases").await;
    assert!(row_names(&list.body).contains(&SCRIPT.to_string()));

    let path = format!("/releases/{id}");
    let page = app.page(&path).await;
    assert_escaped(&page, &path);
    assert!(contains_escaped(&page.body, SCRIPT));
    assert!(css_texts(&page.body, "head title")[0].starts_with(SCRIPT));
    assert!(squish(&css_texts(&page.body, "h1").join(" ")).starts_with(SCRIPT));
    assert!(
        css_texts(&page.body, "p").contains(&DESCRIPTION.to_string()),
        "description"
    );
    let pre = css_texts(&page.body, "pre").join("\n");
    let meta: Value = serde_json::from_str(&pre).expect("metadata shown as JSON");
    assert_eq!(meta, json!({ "note": DESCRIPTION, "<script>": "\"'" }));

    let path = format!("/releases/{id}/edit");
    let page = app.page(&path).await;
    assert_escaped(&page, &path);
    assert_eq!(css_attrs(&page.body, "input[name=name]", "value"), [SCRIPT]);
    assert_eq!(
        css_texts(&page.body, "textarea[name=description]"),
        [DESCRIPTION]
    );
    let meta: Value = serde_json::from_str(&css_texts(&page.body, "textarea[name=metadata]")[0])
        .expect("metadata textarea holds JSON");
    assert_eq!(meta, json!({ "note": DESCRIPTION, "<script>": "\"'" }));
}

#[tokio::test]
async fn hostile_product_version_environment_and_deployer_names_show_as_text() {
    let app = common::spawn_app().await;
    let (id, pid) = hostile_world(&app).await;
    let paths = [
        "/".to_string(),
        format!("/releases/{id}"),
        format!("/releases/{id}/edit"),
        "/products".into(),
        format!("/products/{pid}"),
        "/deployments".into(),
        "/environments".into(),
        "/releases/history".into(),
        "/releases".into(),
    ];
    for path in &paths {
        let page = app.page(path).await;
        assert_escaped(&page, path);
    }

    // Every page that names them shows the exact text.
    for path in ["/", "/products", "/deployments"] {
        let page = app.page(path).await;
        assert!(body_shows_text(&page.body, PRODUCT), "GET {path}: product");
        assert!(
            contains_escaped(&page.body, "<b>prod</b>"),
            "GET {path}: escaped"
        );
    }
    for path in ["/", "/deployments", "/environments"] {
        let page = app.page(path).await;
        assert!(
            body_shows_text(&page.body, ENVIRONMENT),
            "GET {path}: environment"
        );
    }
    for path in ["/", "/deployments"] {
        let page = app.page(path).await;
        assert!(body_shows_text(&page.body, VERSION), "GET {path}: version");
        assert!(
            body_shows_text(&page.body, DEPLOYER),
            "GET {path}: deployed by"
        );
    }

    let page = app.page(&format!("/products/{pid}")).await;
    assert_eq!(
        squish(&css_texts(&page.body, "h1").join("")),
        squish(PRODUCT)
    );
    assert!(
        body_shows_text(&page.body, VERSION),
        "product page: version"
    );

    // Attributes hold the exact strings: quotes did not break out of them.
    let page = app.page(&format!("/releases/{id}")).await;
    let cells = matrix_cells(&page.body);
    assert_eq!(cells.len(), 1, "{cells:?}");
    assert_eq!(cells[0].product, PRODUCT);
    assert_eq!(cells[0].version, VERSION);
    assert_eq!(cells[0].environment, ENVIRONMENT);
    assert_eq!(cells[0].state, "deployed");
    assert!(
        cells[0].title.contains(DEPLOYER),
        "title: {}",
        cells[0].title
    );
    let page = app.page("/deployments").await;
    let rows = deployment_rows(&page.body);
    assert_eq!(
        rows,
        [[
            PRODUCT.to_string(),
            VERSION.to_string(),
            ENVIRONMENT.to_string(),
            "completed".to_string(),
            DEPLOYER.to_string()
        ]]
    );
    assert!(
        css_attrs(&page.body, "select[name=product] option", "value")
            .contains(&PRODUCT.to_string())
    );
    assert!(
        css_attrs(&page.body, "select[name=environment] option", "value")
            .contains(&ENVIRONMENT.to_string())
    );
    let page = app
        .page(&format!("/deployments?product={}", urlencode(PRODUCT)))
        .await;
    assert_escaped(&page, "/deployments?product=…");
    assert_eq!(
        deployment_rows(&page.body).len(),
        1,
        "filter by a hostile name"
    );
}

#[tokio::test]
async fn a_hostile_search_query_is_reflected_escaped() {
    let app = common::spawn_app().await;
    for i in 0..26 {
        app.create_release(&format!("\"><script>alert(1)</script> {i:02}"))
            .await;
    }
    let q = "\"><script>alert(1)</script>";
    let path = format!("/releases?q={}", urlencode(q));
    let page = app.page(&path).await;
    assert_escaped(&page, &path);
    assert_eq!(css_attrs(&page.body, "input[name=q]", "value"), [q]);
    assert_eq!(row_names(&page.body).len(), 25);
    // The pager link carries the query, still as one attribute.
    let next = css_attrs(&page.body, "a[rel=next]", "href");
    assert_eq!(next.len(), 1);
    let page2 = app.page(&next[0]).await;
    assert_escaped(&page2, &next[0]);
    assert_eq!(row_names(&page2.body).len(), 1);
}
