//! The release at size and its safe actions (SPEC §4, §6): rollbacks told and not counted,
//! planned versions, replacing a product's version in one change, no completing an empty
//! release, confirmation pages, the dashboard's drift rule and filters, the searchable history
//! and the product page. Through the API and the pages, on both backends.

use crate::common::{
    self, answer, arr, css_attrs, css_count, css_texts, release, sel, squish, text_of, TestApp,
};
use scraper::Html;
use serde_json::{json, Value};

/// A deployment reported as started then completed: a new attempt, even where the same
/// version ran before (a redeploy or a rollback).
async fn deploy_done(app: &TestApp, product: &str, version: &str, environment: &str) {
    app.deploy_ok(product, version, environment, "started")
        .await;
    app.deploy_ok(product, version, environment, "completed")
        .await;
}

/// The matrix cell of a release's row for `product` in `environment`.
async fn matrix_cell(app: &TestApp, release: &str, product: &str, environment: &str) -> Value {
    let m = app
        .get_json(&format!("/api/releases/{release}/matrix"))
        .await;
    let row = arr(&m["rows"])
        .iter()
        .find(|r| r["product_name"] == product)
        .unwrap_or_else(|| panic!("a row for {product}: {m}"))
        .clone();
    arr(&row["cells"])
        .iter()
        .find(|c| c["environment_name"] == environment)
        .unwrap_or_else(|| panic!("a cell for {environment}: {row}"))
        .clone()
}

/// The progress of one environment and the readiness, from the release detail.
async fn progress(app: &TestApp, release: &str, environment: &str) -> (i64, bool) {
    let d = app.get_json(&format!("/api/releases/{release}")).await;
    let env = arr(&d["progress"]["environments"])
        .iter()
        .find(|e| e["name"] == environment)
        .unwrap_or_else(|| panic!("progress of {environment}: {d}"))
        .clone();
    (
        env["deployed"].as_i64().expect("deployed"),
        d["progress"]["ready_to_complete"] == true,
    )
}

/// The `<td>` of a page's matrix for `product` in `environment`: (classes, text).
fn page_cell(html: &str, product: &str, environment: &str) -> (String, String) {
    let doc = Html::parse_document(html);
    let css = format!("td[data-product=\"{product}\"][data-environment=\"{environment}\"]");
    let td = doc
        .select(&sel(&css))
        .next()
        .unwrap_or_else(|| panic!("no cell {css}"));
    (
        td.value().attr("class").unwrap_or_default().to_string(),
        squish(&text_of(td)),
    )
}

#[tokio::test]
async fn a_rollback_is_told_and_not_counted_while_a_newer_version_keeps_counting() {
    let app = common::spawn_app().await;
    // 1.0.3 is seen first, then 1.0.4 reaches production.
    deploy_done(&app, "api", "1.0.3", "Production").await;
    deploy_done(&app, "api", "1.0.4", "Production").await;
    let id = app.create_release("Rollback").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0.4").await, 201);
    let cell = matrix_cell(&app, &id, "api", "Production").await;
    assert_eq!(
        (cell["state"].as_str(), cell["rolled_back"].as_bool()),
        (Some("deployed"), Some(false))
    );
    assert_eq!(progress(&app, &id, "Production").await, (1, true));

    // Production goes back to 1.0.3.
    deploy_done(&app, "api", "1.0.3", "Production").await;
    let cell = matrix_cell(&app, &id, "api", "Production").await;
    assert_eq!(
        cell["state"], "deployed",
        "the cell keeps its state: {cell}"
    );
    assert_eq!(cell["superseded_by"], "1.0.3");
    assert_eq!(cell["rolled_back"], true);
    assert_eq!(
        progress(&app, &id, "Production").await,
        (0, false),
        "a rolled-back cell counts neither for progress nor for readiness"
    );
    let page = app.page(&format!("/releases/{id}")).await;
    let (class, text) = page_cell(&page.body, "api", "Production");
    assert!(text.contains("rolled back to 1.0.3"), "{text}");
    assert!(
        class.contains("rolled-back"),
        "styled as a warning: {class}"
    );
    assert_eq!(
        css_attrs(&page.body, "td[data-environment=Production]", "data-state"),
        ["deployed"]
    );
    assert!(
        css_texts(&page.body, ".banner.warn")
            .iter()
            .any(|t| t.contains("rolled back")),
        "the page says so above the matrix"
    );
    assert!(
        css_texts(&page.body, ".col-progress").contains(&"0/1".to_string()),
        "{:?}",
        css_texts(&page.body, ".col-progress")
    );

    // A newer version supersedes it: still deployed, still counted.
    deploy_done(&app, "api", "1.0.5", "Production").await;
    let cell = matrix_cell(&app, &id, "api", "Production").await;
    assert_eq!(cell["superseded_by"], "1.0.5");
    assert_eq!(cell["rolled_back"], false);
    assert_eq!(progress(&app, &id, "Production").await, (1, true));
    let page = app.page(&format!("/releases/{id}")).await;
    let (class, text) = page_cell(&page.body, "api", "Production");
    assert!(text.contains("superseded by 1.0.5"), "{text}");
    assert!(!class.contains("rolled-back"), "{class}");
}

#[tokio::test]
async fn a_planned_version_is_added_by_name_and_filled_in_by_its_first_event() {
    let app = common::spawn_app().await;
    let id = app.create_release("Planned").await;
    for (product, version) in [("checkout", "3.0.0"), ("search", "0.9.0")] {
        let (code, v) = answer(
            app.post_json(
                &format!("/api/releases/{id}/versions"),
                &json!({"product_name": product, "version": version}),
            )
            .await,
        )
        .await;
        assert_eq!(code, 201, "{v}");
        assert_eq!(v["planned"], true, "{v}");
        assert_eq!(v["scm_sha"], Value::Null);
    }
    let m = app.get_json(&format!("/api/releases/{id}/matrix")).await;
    assert!(arr(&m["rows"]).iter().all(|r| r["planned"] == true), "{m}");
    let page = app.page(&format!("/releases/{id}")).await;
    assert_eq!(css_count(&page.body, ".release-matrix .badge-planned"), 2);

    // The first build event fills the planned version in: same id, no longer planned.
    let checkout = version_of(&app, &id, "checkout").await;
    let (code, built) = answer(
        app.post_json(
            "/api/build-events/",
            &json!({"product_name": "checkout", "version": "3.0.0", "status": "built",
                    "scm_sha": "0123456789abcdef0123456789abcdef01234567"}),
        )
        .await,
    )
    .await;
    assert_eq!(code, 200, "an existing version: {built}");
    assert_eq!(built["id"], checkout["id"]);
    assert_eq!(built["planned"], false);
    assert_eq!(built["scm_sha"], "0123456789abcdef0123456789abcdef01234567");
    // A deployment event does the same for the other.
    app.deploy_ok("search", "0.9.0", "Dev", "completed").await;
    let search = version_of(&app, &id, "search").await;
    assert_eq!(search["planned"], false, "{search}");
    let page = app.page(&format!("/releases/{id}")).await;
    assert_eq!(css_count(&page.body, ".release-matrix .badge-planned"), 0);
}

/// The version of `product` in a release, as `GET /api/releases/{id}/versions` lists it.
async fn version_of(app: &TestApp, release: &str, product: &str) -> Value {
    let vs = app
        .get_json(&format!("/api/releases/{release}/versions"))
        .await;
    arr(&vs)
        .iter()
        .find(|v| v["product_name"] == product)
        .cloned()
        .unwrap_or_else(|| panic!("{product} in {vs}"))
}

async fn audit_actions(app: &TestApp, release: &str) -> Vec<Value> {
    arr(&app
        .get_json(&format!("/api/releases/{release}/audit"))
        .await)
    .clone()
}

#[tokio::test]
async fn replacing_a_products_version_is_one_audited_change() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.2.3", "Dev", "completed").await;
    app.deploy_ok("api", "1.2.4", "Dev", "completed").await;
    app.deploy_ok("web", "2.0.0", "Dev", "completed").await;
    let id = app.create_release("Replace").await;
    assert_eq!(app.add_to_release(&id, "api", "1.2.3").await, 201);
    let path = format!("/api/releases/{id}/products/api");

    let (code, v) = answer(app.put_json(&path, &json!({"version": "1.2.4"})).await).await;
    assert_eq!((code, v["version"].as_str()), (200, Some("1.2.4")), "{v}");
    assert_eq!(version_of(&app, &id, "api").await["version"], "1.2.4");
    assert_eq!(release(&app, &id).await["version_count"], 1);
    let trail = audit_actions(&app, &id).await;
    let last = trail.last().expect("an audit entry");
    assert_eq!(last["action"], "version_replaced");
    assert_eq!(last["details"]["product"], "api");
    assert_eq!(last["details"]["version"], "1.2.4");
    assert_eq!(last["details"]["replaced_version"], "1.2.3");
    assert_eq!(
        trail.iter().filter(|e| e["action"] != "created").count(),
        2,
        "added, then replaced: one entry for the replacement"
    );
    let page = app.page(&format!("/releases/{id}")).await;
    assert!(
        css_texts(&page.body, "ol.timeline li")
            .iter()
            .any(|t| squish(t).ends_with("replaced api 1.2.3 by 1.2.4")),
        "{:?}",
        css_texts(&page.body, "ol.timeline li")
    );

    // The same version again changes nothing; by id works too.
    let same = version_of(&app, &id, "api").await["id"].clone();
    let (code, _) = answer(app.put_json(&path, &json!({"version_id": same})).await).await;
    assert_eq!(code, 200);
    assert_eq!(audit_actions(&app, &id).await.len(), trail.len());
    // A product not in the release is added.
    let (code, v) = answer(
        app.put_json(
            &format!("/api/releases/{id}/products/web"),
            &json!({"version": "2.0.0"}),
        )
        .await,
    )
    .await;
    assert_eq!((code, v["product_name"].as_str()), (201, Some("web")));
    // A version of another product, or no version at all, is the caller's mistake.
    let web_id = v["id"].clone();
    for body in [json!({"version_id": web_id}), json!({})] {
        let (code, e) = answer(app.put_json(&path, &body).await).await;
        assert_eq!(code, 422, "{body}: {e}");
        assert!(e["detail"][0]["msg"].is_string(), "{e}");
    }
    let (code, _) = answer(
        app.put_json(
            &format!("/api/releases/{}/products/api", uuid::Uuid::new_v4()),
            &json!({"version": "1.2.4"}),
        )
        .await,
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(version_of(&app, &id, "api").await["version"], "1.2.4");

    // Archived: frozen.
    assert_eq!(app.set_release_status(&id, "completed").await.0, 200);
    let (code, e) = answer(app.put_json(&path, &json!({"version": "1.2.3"})).await).await;
    assert_eq!((code, e["code"].as_str()), (409, Some("release_archived")));
}

#[tokio::test]
async fn the_replace_form_changes_the_version_in_one_step() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.2.3", "Dev", "completed").await;
    app.deploy_ok("api", "1.2.4", "Dev", "completed").await;
    app.deploy_ok("other", "9.9.9", "Dev", "completed").await;
    let id = app.create_release("Replace form").await;
    assert_eq!(app.add_to_release(&id, "api", "1.2.3").await, 201);
    let vid = version_of(&app, &id, "api").await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let form = format!("/releases/{id}/versions/{vid}/replace");
    let page = app.page(&form).await;
    assert_eq!(page.status, 200);
    // Only this product's versions are suggested, newest first.
    assert_eq!(
        css_attrs(&page.body, "datalist#product-versions option", "value"),
        ["1.2.4", "1.2.3"]
    );
    let bad = app.submit(&form, &[("version", "1 2 4")]).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(css_texts(&bad.body, "#version-error").len(), 1);
    assert_eq!(version_of(&app, &id, "api").await["version"], "1.2.3");

    let done = app.submit(&form, &[("version", "1.2.4")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/releases/{id}#versions").as_str())
    );
    assert_eq!(version_of(&app, &id, "api").await["version"], "1.2.4");
    let last = audit_actions(&app, &id).await.pop().expect("an entry");
    assert_eq!(last["action"], "version_replaced");
}

#[tokio::test]
async fn an_empty_release_cannot_be_completed_but_can_be_cancelled() {
    let app = common::spawn_app().await;
    let id = app.create_release("Empty").await;
    let before = audit_actions(&app, &id).await;
    let (code, e) = app.set_release_status(&id, "completed").await;
    assert_eq!(
        (code, e["code"].as_str()),
        (409, Some("release_empty")),
        "{e}"
    );
    assert!(
        e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no versions")),
        "{e}"
    );
    assert_eq!(release(&app, &id).await["status"], "draft");
    assert_eq!(audit_actions(&app, &id).await, before, "nothing written");
    // The page's form says the same, next to the status buttons.
    let page = app
        .submit(
            &format!("/releases/{id}/status"),
            &[("status", "completed"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(page.status, 409);
    assert_eq!(
        css_texts(&page.body, "section#status #status-error").len(),
        1
    );
    let (code, r) = app.set_release_status(&id, "cancelled").await;
    assert_eq!((code, r["status"].as_str()), (200, Some("cancelled")));
}

#[tokio::test]
async fn confirmation_pages_change_nothing_until_confirmed() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "completed").await;
    // A production environment, so that readiness asks for it.
    app.deploy_ok("web", "1.0", "Production", "completed").await;
    let id = app.create_release("Careful").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    let before = audit_actions(&app, &id).await;
    let status = format!("/releases/{id}/status");

    // Cancelling, and completing a release that is not ready, ask first.
    for (to, says) in [
        ("cancelled", "archived as cancelled"),
        ("completed", "not ready"),
    ] {
        let page = app.submit(&status, &[("status", to)]).await;
        assert_eq!(page.status, 200, "{to}: {}", page.body);
        let text = squish(&css_texts(&page.body, "main").join(" "));
        assert!(text.contains(says), "{to}: {text}");
        assert!(text.contains("Nothing has changed yet"), "{text}");
        assert_eq!(
            css_attrs(&page.body, "main form input[name=status]", "value"),
            [to]
        );
        assert_eq!(
            css_attrs(&page.body, "main form input[name=confirmed]", "value"),
            ["yes"]
        );
        assert_eq!(release(&app, &id).await["status"], "draft");
        assert_eq!(
            audit_actions(&app, &id).await,
            before,
            "{to}: nothing written"
        );
    }
    // Not ready: the confirmation names what is missing.
    let page = app.submit(&status, &[("status", "completed")]).await;
    assert!(squish(&page.body).contains("api 1.0"), "{}", page.body);

    // Moving between draft and in progress needs no confirmation.
    let page = app.submit(&status, &[("status", "in_progress")]).await;
    assert_eq!(page.status, 303);

    // Once ready, Complete is one click.
    app.deploy_ok("api", "1.0", "Production", "completed").await;
    let page = app.submit(&status, &[("status", "completed")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(release(&app, &id).await["status"], "completed");
}

#[tokio::test]
async fn confirmed_cancellation_applies() {
    let app = common::spawn_app().await;
    let id = app.create_release("Dropped").await;
    let page = app
        .submit(
            &format!("/releases/{id}/status"),
            &[("status", "cancelled"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/releases/{id}#status").as_str())
    );
    assert_eq!(release(&app, &id).await["status"], "cancelled");
}

/// The rows of the dashboard's state matrix: (product, drift).
fn dashboard_rows(html: &str) -> Vec<(String, String)> {
    let doc = Html::parse_document(html);
    doc.select(&sel("table.state tbody tr"))
        .map(|tr| {
            let a = |n: &str| tr.value().attr(n).unwrap_or_default().to_string();
            (a("data-product"), a("data-drift"))
        })
        .collect()
}

#[tokio::test]
async fn drift_means_production_differs_from_the_stage_before_it() {
    let app = common::spawn_app().await;
    // calm: only Dev runs something newer — the normal flow.
    for (env, v) in [
        ("Dev", "2.0"),
        ("Test", "1.0"),
        ("Staging", "1.0"),
        ("Production", "1.0"),
    ] {
        app.deploy_ok("calm", v, env, "completed").await;
    }
    // drifting: Staging and Production disagree.
    for (env, v) in [
        ("Dev", "2.0"),
        ("Test", "2.0"),
        ("Staging", "2.0"),
        ("Production", "1.0"),
    ] {
        app.deploy_ok("drifting", v, env, "completed").await;
    }
    let state = app.get_json("/api/state/").await;
    let drift_of = |name: &str| {
        arr(&state["products"])
            .iter()
            .find(|r| r["product_name"] == name)
            .map(|r| r["drift"].clone())
            .unwrap_or_else(|| panic!("{name} in {state}"))
    };
    assert_eq!(drift_of("calm"), false);
    assert_eq!(drift_of("drifting"), true);

    let page = app.page("/").await;
    assert_eq!(
        dashboard_rows(&page.body),
        [
            ("calm".to_string(), "false".to_string()),
            ("drifting".to_string(), "true".to_string())
        ]
    );
    let only = app.page("/?drift=1").await;
    assert_eq!(
        dashboard_rows(&only.body),
        [("drifting".to_string(), "true".to_string())]
    );
    assert_eq!(
        css_attrs(&only.body, "input#drift[checked]", "name"),
        ["drift"]
    );
    let found = app.page("/?q=CAL").await;
    assert_eq!(
        dashboard_rows(&found.body),
        [("calm".to_string(), "false".to_string())]
    );
    let none = app.page("/?q=zzz&drift=1").await;
    assert!(dashboard_rows(&none.body).is_empty());
    assert!(squish(&none.body).contains("No product matches"));
}

#[tokio::test]
async fn a_failed_latest_attempt_stands_out_on_the_dashboard() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "completed").await;
    app.deploy_ok("api", "1.1", "Production", "failed").await;
    let page = app.page("/").await;
    let cells = css_texts(&page.body, "table.state td.latest-failed");
    assert_eq!(cells.len(), 1, "{cells:?}");
    assert!(
        squish(&cells[0]).contains("latest: 1.1 failed"),
        "{cells:?}"
    );
}

#[tokio::test]
async fn history_is_searchable_lists_products_and_the_release_says_when_it_reached_production() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Production", "completed").await;
    app.deploy_ok("web", "2.0", "Production", "completed").await;
    for (name, products) in [
        ("Spring launch", vec![("api", "1.0"), ("web", "2.0")]),
        ("Autumn fix", vec![("web", "2.0")]),
    ] {
        let id = app.create_release(name).await;
        for (p, v) in products {
            assert_eq!(app.add_to_release(&id, p, v).await, 201);
        }
        let (code, _) = app.set_release_status(&id, "completed").await;
        assert_eq!(code, 200);
        let page = app.page(&format!("/releases/{id}")).await;
        let meta = squish(&css_texts(&page.body, ".page-head .meta").join(" "));
        assert!(meta.contains("reached production"), "{meta}");
        assert_eq!(css_count(&page.body, ".page-head .meta time[datetime]"), 1);
    }
    let page = app.page("/releases/history").await;
    assert_eq!(
        css_attrs(&page.body, "nav a[aria-current=page]", "href"),
        ["/releases/history"],
        "History is in the nav bar, and current"
    );
    let names = css_texts(&page.body, "table.history tbody th");
    assert_eq!(names.len(), 2, "{names:?}");
    let found = app.page("/releases/history?q=SPRING").await;
    assert_eq!(
        css_texts(&found.body, "table.history tbody th")
            .iter()
            .map(|t| squish(t))
            .collect::<Vec<_>>(),
        ["Spring launch"]
    );
    assert_eq!(
        css_texts(&found.body, "table.history .product-list li"),
        ["api 1.0", "web 2.0"]
    );
    let none = app.page("/releases/history?q=winter").await;
    assert!(squish(&none.body).contains("No completed release has “winter”"));
}

#[tokio::test]
async fn the_product_page_says_what_runs_where_and_pages_its_history() {
    let app = common::spawn_app().await;
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let (code, _) = answer(
        app.post_json(
            "/api/build-events/",
            &json!({"product_name": "api", "version": "1.0", "status": "built", "scm_sha": sha}),
        )
        .await,
    )
    .await;
    assert_eq!(code, 201);
    app.deploy_ok("api", "1.0", "Production", "completed").await;
    // 55 more deployments: more than one page of history.
    for i in 0..55 {
        app.deploy_ok("api", &format!("2.{i}"), "Dev", "completed")
            .await;
    }
    let id = app.create_release("Holds 1.0").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    let products = app.get_json("/api/products/").await;
    let pid = arr(&products)[0]["id"].as_str().expect("id").to_string();

    let page = app.page(&format!("/products/{pid}")).await;
    assert_eq!(page.status, 200);
    let running: Vec<String> = css_texts(&page.body, "table.running tbody tr")
        .iter()
        .map(|t| squish(t))
        .collect();
    assert!(
        running
            .iter()
            .any(|r| r.starts_with("Production") && r.contains("1.0")),
        "{running:?}"
    );
    assert_eq!(
        css_count(&page.body, "table.running time[datetime]"),
        2,
        "since when"
    );
    assert!(
        running
            .iter()
            .any(|r| r.starts_with("Dev") && r.contains("2.54")),
        "{running:?}"
    );
    // 56 versions, 50 a page, newest first: 1.0 is on the second page of versions.
    assert_eq!(
        squish(&css_texts(&page.body, "#versions-h").join("")),
        "Versions (56)"
    );
    let older = css_attrs(
        &page.body,
        "section[aria-labelledby=versions-h] a[rel=next]",
        "href",
    );
    assert_eq!(older, [format!("/products/{pid}?page=1&versions=2")]);
    let page = app.page(&older[0]).await;
    // SHAs cut to eight characters, the whole one in the title.
    assert_eq!(css_texts(&page.body, "abbr"), ["01234567"]);
    assert_eq!(css_attrs(&page.body, "abbr", "title"), [sha]);
    // The releases each version belongs to.
    let doc = Html::parse_document(&page.body);
    let row = doc
        .select(&sel("tr"))
        .find(|tr| {
            tr.select(&sel("th"))
                .next()
                .is_some_and(|th| squish(&text_of(th)) == "1.0")
        })
        .expect("the row of 1.0");
    assert_eq!(
        row.select(&sel("a[href^='/releases/']"))
            .map(|a| squish(&text_of(a)))
            .collect::<Vec<_>>(),
        ["Holds 1.0"]
    );
    // The whole history, paged: 56 deployments, 50 a page.
    assert_eq!(
        squish(&css_texts(&page.body, "#history-h").join("")),
        "Deployment history (56)"
    );
    let next = css_attrs(
        &page.body,
        "section[aria-labelledby=history-h] a[rel=next]",
        "href",
    );
    assert_eq!(next.len(), 1, "a link to the next page");
    assert_eq!(next, [format!("/products/{pid}?versions=2&page=2")]);
    let second = app.page(&next[0]).await;
    assert_eq!(
        css_count(&second.body, "section[aria-labelledby=history-h] tbody tr"),
        6
    );
}

/// The `<dt>`/`<dd>` pairs of the release page's "How it moved".
fn movement(html: &str) -> Vec<(String, String, Option<String>)> {
    let doc = Html::parse_document(html);
    let dts: Vec<_> = doc.select(&sel("#movement dt")).collect();
    let dds: Vec<_> = doc.select(&sel("#movement dd")).collect();
    assert_eq!(dts.len(), dds.len());
    dts.iter()
        .zip(&dds)
        .map(|(dt, dd)| {
            let time = dd
                .select(&sel("time"))
                .next()
                .and_then(|t| t.value().attr("datetime"))
                .map(str::to_string);
            (squish(&text_of(*dt)), squish(&text_of(*dd)), time)
        })
        .collect()
}

/// When the one deployment of `product` to `environment` completed, as the API says.
async fn completed_at(
    app: &TestApp,
    product: &str,
    environment: &str,
) -> chrono::DateTime<chrono::FixedOffset> {
    let deployments = app
        .get_json(&format!(
            "/api/deployments/?product={product}&environment={environment}&status=completed"
        ))
        .await;
    let at = arr(&deployments)[0]["completed_at"]
        .as_str()
        .expect("a completion");
    chrono::DateTime::parse_from_rfc3339(at).expect("a time")
}

#[tokio::test]
async fn the_release_page_says_when_each_environment_was_reached_and_the_lead_time() {
    let app = common::spawn_app().await;
    let id = app.create_release("Moving").await;
    for (p, v) in [("api", "1.0"), ("web", "2.0")] {
        assert_eq!(app.add_to_release(&id, p, v).await, 201);
    }
    for (p, v, env) in [
        ("api", "1.0", "Dev"),
        ("web", "2.0", "Dev"),
        ("api", "1.0", "Production"),
    ] {
        app.deploy_ok(p, v, env, "completed").await;
    }
    let page = app.page(&format!("/releases/{id}")).await;
    let rows = movement(&page.body);
    let row = |label: &str| {
        rows.iter()
            .find(|r| r.0 == label)
            .cloned()
            .unwrap_or_else(|| panic!("{label} in {rows:?}"))
    };
    // Dev: the later of the two first completions there, to the second, as the API says.
    let dev = completed_at(&app, "api", "Dev")
        .await
        .max(completed_at(&app, "web", "Dev").await);
    let dev_text = dev.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(row("Dev fully reached").2, Some(dev_text));
    assert_eq!(row("Production fully reached").1, "not yet");
    assert_eq!(row("Wait dev → production").1, "—");
    assert_eq!(
        row("Lead time (created → ready to complete)").1,
        "not ready yet"
    );

    // web reaches Production: ready; the lead time runs from creation to that moment.
    app.deploy_ok("web", "2.0", "Production", "completed").await;
    let page = app.page(&format!("/releases/{id}")).await;
    let rows = movement(&page.body);
    let row = |label: &str| rows.iter().find(|r| r.0 == label).cloned().expect(label);
    let created = chrono::DateTime::parse_from_rfc3339(
        common::release(&app, &id).await["created_at"]
            .as_str()
            .expect("created_at"),
    )
    .expect("a time");
    let ready = completed_at(&app, "api", "Production")
        .await
        .max(completed_at(&app, "web", "Production").await);
    let lead = (ready - created).num_seconds();
    assert!(lead < 60, "the test runs within a minute: {lead}");
    assert_eq!(
        row("Lead time (created → ready to complete)").1,
        format!("{lead} s")
    );
    let wait = (ready - dev).num_seconds();
    assert_eq!(row("Wait dev → production").1, format!("{wait} s"));
}
