//! Compare (SPEC §13): environments (what to promote next) and releases, through the API and
//! the pages, and the dashboard's links between consecutive environments. Both backends.

use crate::common::{self, answer, arr, css_attrs, css_texts, squish, TestApp};
use serde_json::{json, Value};

/// Staging ahead of Production for `api` and `web`, equal for `db`; `tools` only in Staging.
async fn scenario(app: &TestApp) {
    for (p, v, env) in [
        ("api", "1.0", "Production"),
        ("api", "1.1", "Staging"),
        ("web", "2.0", "Production"),
        ("web", "2.1", "Staging"),
        ("db", "3.0", "Production"),
        ("db", "3.0", "Staging"),
        ("tools", "0.1", "Staging"),
        ("api", "1.2", "Dev"),
    ] {
        app.deploy_ok(p, v, env, "completed").await;
    }
}

#[tokio::test]
async fn environments_compare_product_by_product_differing_first() {
    let app = common::spawn_app().await;
    scenario(&app).await;
    let (code, c) = answer(
        app.get("/api/compare/environments?from=Staging&to=Production")
            .await,
    )
    .await;
    assert_eq!(code, 200, "{c}");
    assert_eq!(
        (c["from"].as_str(), c["to"].as_str()),
        (Some("Staging"), Some("Production"))
    );
    let rows: Vec<(String, Value, Value, bool)> = arr(&c["products"])
        .iter()
        .map(|p| {
            (
                p["product_name"].as_str().expect("name").to_string(),
                p["from_version"].clone(),
                p["to_version"].clone(),
                p["differs"].as_bool().expect("differs"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("api".to_string(), json!("1.1"), json!("1.0"), true),
            ("tools".to_string(), json!("0.1"), Value::Null, true),
            ("web".to_string(), json!("2.1"), json!("2.0"), true),
            ("db".to_string(), json!("3.0"), json!("3.0"), false),
        ]
    );
    // When each runs there, as the state API says.
    let state = app.get_json("/api/state/").await;
    let deployed_at = |product: &str, env: &str| {
        arr(&state["products"])
            .iter()
            .find(|p| p["product_name"] == product)
            .and_then(|p| {
                arr(&p["cells"])
                    .iter()
                    .find(|c| c["environment_name"] == env)
                    .cloned()
            })
            .map(|c| c["deployed_at"].clone())
            .unwrap_or(Value::Null)
    };
    let api = &arr(&c["products"])[0];
    assert_eq!(api["from_deployed_at"], deployed_at("api", "Staging"));
    assert_eq!(api["to_deployed_at"], deployed_at("api", "Production"));

    let (code, e) = answer(
        app.get("/api/compare/environments?from=Staging&to=Nowhere")
            .await,
    )
    .await;
    assert_eq!(code, 404, "{e}");
    let (code, e) = answer(app.get("/api/compare/environments?from=Staging").await).await;
    assert_eq!(code, 422, "{e}");
    assert_eq!(e["detail"][0]["loc"], json!(["query", "to"]));

    // The page says the same, and so many differ.
    let page = app
        .page("/compare/environments?from=Staging&to=Production")
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        css_attrs(&page.body, "table.compare tbody tr", "data-product"),
        ["api", "tools", "web", "db"]
    );
    assert_eq!(
        css_attrs(&page.body, "table.compare tbody tr", "data-differs"),
        ["true", "true", "true", "false"]
    );
    assert_eq!(
        squish(&css_texts(&page.body, "p.summary").join("")),
        "3 of 4 products differ between Staging and Production."
    );
    assert_eq!(
        app.page("/compare/environments?from=Staging&to=Nowhere")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn the_dashboard_links_consecutive_environments() {
    let app = common::spawn_app().await;
    scenario(&app).await;
    let page = app.page("/").await;
    let links = css_attrs(&page.body, ".compare-links a", "href");
    assert_eq!(
        links,
        [
            "/compare/environments?from=Dev&to=Staging",
            "/compare/environments?from=Staging&to=Production"
        ]
    );
    assert_eq!(app.page(&links[1]).await.status, 200);
}

#[tokio::test]
async fn releases_compare_product_by_product() {
    let app = common::spawn_app().await;
    scenario(&app).await;
    let a = app.create_release("Spring").await;
    let b = app.create_release("Summer").await;
    for (r, p, v) in [
        (&a, "api", "1.0"),
        (&a, "db", "3.0"),
        (&a, "web", "2.0"),
        (&b, "api", "1.1"),
        (&b, "db", "3.0"),
        (&b, "tools", "0.1"),
    ] {
        assert_eq!(app.add_to_release(r, p, v).await, 201);
    }
    let (code, c) = answer(app.get(&format!("/api/compare/releases?a={a}&b={b}")).await).await;
    assert_eq!(code, 200, "{c}");
    assert_eq!(c["a"], json!({"id": a, "name": "Spring"}));
    assert_eq!(c["b"], json!({"id": b, "name": "Summer"}));
    assert_eq!(
        c["products"],
        json!([
            {"product_name": "api", "a_version": "1.0", "b_version": "1.1", "differs": true},
            {"product_name": "tools", "a_version": null, "b_version": "0.1", "differs": true},
            {"product_name": "web", "a_version": "2.0", "b_version": null, "differs": true},
            {"product_name": "db", "a_version": "3.0", "b_version": "3.0", "differs": false},
        ])
    );
    let unknown = uuid::Uuid::new_v4();
    let (code, _) = answer(
        app.get(&format!("/api/compare/releases?a={a}&b={unknown}"))
            .await,
    )
    .await;
    assert_eq!(code, 404);
    let page = app.page(&format!("/compare/releases?a={a}&b={b}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        css_attrs(&page.body, "table.compare tbody tr", "data-product"),
        ["api", "tools", "web", "db"]
    );
    assert_eq!(
        css_attrs(&page.body, "select#a option[selected]", "value"),
        std::slice::from_ref(&a)
    );
}
