//! The dashboard's plain HTML forms (SPEC §6), posted as a browser without JavaScript posts them
//! (`application/x-www-form-urlencoded`): 303 + one-time flash on success, the form again with
//! the input kept and the error next to its field on 422 and 409, 404 pages for missing
//! releases.

use crate::common;

use crate::common::{
    css_attrs, css_count, css_texts, release, sel, squish, text_of, Page, TestApp,
};
use scraper::{ElementRef, Html};
use serde_json::{json, Value};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// Helpers local to this file

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

fn flash_cookie(set_cookie: &str) -> Option<(String, String)> {
    let pair = set_cookie.split(';').next()?.trim();
    let (name, value) = pair.split_once('=')?;
    (name == "rb_flash").then(|| (name.to_string(), value.to_string()))
}

/// A browser's cookie jar, reduced to what these tests need.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, page: &Page) {
        for raw in &page.set_cookies {
            let pair = raw.split(';').next().unwrap_or_default().trim();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let attrs = raw.to_ascii_lowercase();
            let removal = value.is_empty()
                || attrs
                    .split(';')
                    .any(|a| a.trim() == "max-age=0" || a.trim().starts_with("max-age=-"));
            if removal {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A successful form POST: 303 to `location`, with a flash message cookie.
fn assert_see_other(page: &Page, location: &str) {
    assert_eq!(page.status, 303, "expected a 303: {}", page.body);
    assert_eq!(page.location.as_deref(), Some(location));
    assert!(
        page.set_cookies
            .iter()
            .filter_map(|c| flash_cookie(c))
            .any(|(_, v)| !v.is_empty()),
        "a flash message cookie: {:?}",
        page.set_cookies
    );
}

/// A form shown again: the status, HTML, the nav bar, no script.
fn assert_form_page(page: &Page, status: u16) {
    assert_eq!(page.status, status, "{}", page.body);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert_eq!(css_count(&page.body, "head title"), 1);
    assert_eq!(
        css_count(&page.body, "nav a[href=\"/releases\"]"),
        1,
        "the nav bar"
    );
    assert_eq!(css_count(&page.body, "script"), 0);
}

/// The error shown next to a form field: the element the field's `aria-describedby` names,
/// inside the same container as the field.
fn field_error(html: &str, field: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let control = doc
        .select(&sel(&format!("form [name=\"{field}\"]")))
        .find(|e| e.value().attr("type") != Some("hidden"))?;
    let id = control.value().attr("aria-describedby")?;
    let container = control.parent().and_then(ElementRef::wrap)?;
    let err = container.select(&sel(&format!("[id=\"{id}\"]"))).next()?;
    Some(squish(&text_of(err)))
}

/// Whether a field has any error element next to it (with or without the aria link).
fn field_has_error_markup(html: &str, field: &str) -> bool {
    css_count(html, &format!("[id=\"{field}-error\"]")) > 0
        || css_attrs(html, &format!("form [name=\"{field}\"]"), "aria-invalid")
            .iter()
            .any(|v| v == "true")
}

fn input_value(html: &str, name: &str) -> String {
    let v = css_attrs(html, &format!("form input[name=\"{name}\"]"), "value");
    assert_eq!(v.len(), 1, "one input {name}: {v:?}");
    v[0].clone()
}

fn textarea(html: &str, name: &str) -> String {
    let v = css_texts(html, &format!("form textarea[name=\"{name}\"]"));
    assert_eq!(v.len(), 1, "one textarea {name}: {v:?}");
    v[0].clone()
}

fn flash(html: &str) -> Vec<String> {
    css_texts(html, ".flash")
        .iter()
        .map(|t| squish(t))
        .collect()
}

async fn answer(res: reqwest::Response) -> (u16, Value) {
    let code = res.status().as_u16();
    let text = res.text().await.expect("body");
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn release_version_labels(app: &TestApp, id: &str) -> Vec<String> {
    let vs = app.get_json(&format!("/api/releases/{id}/versions")).await;
    vs.as_array()
        .expect("versions array")
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                v["product_name"].as_str().unwrap_or("?"),
                v["version"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// Changes a release's status through the API; an empty release gets a planned version
/// before it is completed (an empty release cannot be).
async fn set_status(app: &TestApp, id: &str, status: &str) {
    if status == "completed" && release(app, id).await["version_count"] == 0 {
        assert_eq!(app.add_to_release(id, "payload", "1.0").await, 201);
    }
    let (code, out) = answer(
        app.patch_json(&format!("/api/releases/{id}"), &json!({ "status": status }))
            .await,
    )
    .await;
    assert_eq!(code, 200, "status {status}: {out}");
}

/// The id of product@version (registered by a deployment event).
async fn version_id(app: &TestApp, product: &str, version: &str) -> String {
    let all = app
        .get_json(&format!("/api/versions/?product={product}"))
        .await;
    all.as_array()
        .expect("versions array")
        .iter()
        .find(|v| v["version"] == version)
        .and_then(|v| v["id"].as_str())
        .unwrap_or_else(|| panic!("version {product} {version}"))
        .to_string()
}

async fn environment_id(app: &TestApp, name: &str) -> String {
    let all = app.get_json("/api/environments/").await;
    all.as_array()
        .expect("environment array")
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["id"].as_str())
        .unwrap_or_else(|| panic!("environment {name}"))
        .to_string()
}

/// Values of the hidden `status` inputs of the status-change forms, with their button text.
fn status_buttons(html: &str, id: &str) -> Vec<(String, String)> {
    let doc = Html::parse_document(html);
    let action = format!("/releases/{id}/status");
    doc.select(&sel("form"))
        .filter(|f| f.value().attr("action") == Some(action.as_str()))
        .map(|f| {
            let value = f
                .select(&sel("input[name=status]"))
                .next()
                .and_then(|i| i.value().attr("value"))
                .unwrap_or_default()
                .to_string();
            let button = f
                .select(&sel("button"))
                .next()
                .map(|b| squish(&text_of(b)))
                .unwrap_or_default();
            (value, button)
        })
        .collect()
}

fn form_actions(html: &str) -> Vec<String> {
    css_attrs(html, "form", "action")
}

// ---------------------------------------------------------------------------------------------
// Create

#[tokio::test]
async fn the_new_release_form_has_name_description_status_and_metadata_fields() {
    let app = common::spawn_app().await;
    let page = app.page("/releases/new").await;
    assert_form_page(&page, 200);
    let doc = Html::parse_document(&page.body);
    let form = doc
        .select(&sel("form"))
        .find(|f| f.value().attr("action") == Some("/releases"))
        .expect("a form posting to /releases");
    assert_eq!(
        form.value()
            .attr("method")
            .map(str::to_lowercase)
            .as_deref(),
        Some("post")
    );
    for field in [
        "input[name=name]",
        "textarea[name=description]",
        "select[name=status]",
        "textarea[name=metadata]",
    ] {
        assert_eq!(form.select(&sel(field)).count(), 1, "{field}");
    }
    let options: Vec<String> = form
        .select(&sel("select[name=status] option"))
        .filter_map(|o| o.value().attr("value").map(str::to_string))
        .collect();
    // A new release is empty: completed or cancelled would freeze it at birth.
    assert_eq!(options, ["draft", "in_progress"]);
    assert_eq!(
        css_attrs(&page.body, "select[name=status] option[selected]", "value"),
        ["draft"],
        "draft by default"
    );
}

#[tokio::test]
async fn the_create_form_refuses_a_final_status_sent_by_hand() {
    let app = common::spawn_app().await;
    for status in ["completed", "cancelled"] {
        let page = app
            .submit("/releases", &[("name", "Born final"), ("status", status)])
            .await;
        assert_form_page(&page, 422);
        let err = field_error(&page.body, "status").expect("an error next to the status");
        assert!(err.contains("draft or in progress"), "{err}");
    }
    assert_eq!(app.get_json("/api/releases/").await, json!([]));
}

#[tokio::test]
async fn creating_a_release_redirects_to_its_page_with_a_flash_message_shown_once() {
    let app = common::spawn_app().await;
    let page = app
        .submit(
            "/releases",
            &[
                ("name", "User Platform v2.0"),
                ("description", ""),
                ("status", "draft"),
                ("metadata", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.clone().expect("a Location header");
    let id = location
        .strip_prefix("/releases/")
        .expect("to /releases/{id}")
        .to_string();
    assert!(is_uuid(&id), "{location}");
    assert_see_other(&page, &location);

    let mut jar = Jar::default();
    jar.take(&page);
    let shown = app.page_with_cookie(&location, &jar.header()).await;
    assert_eq!(shown.status, 200);
    let messages = flash(&shown.body);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("User Platform v2.0"), "{messages:?}");
    jar.take(&shown);
    assert_eq!(
        jar.header(),
        "",
        "the page that shows the message clears it"
    );

    let again = app.page_with_cookie(&location, &jar.header()).await;
    assert_eq!(again.status, 200);
    assert!(flash(&again.body).is_empty(), "shown once only");
}

#[tokio::test]
async fn creating_a_release_stores_every_field_of_the_form() {
    let app = common::spawn_app().await;
    let page = app
        .submit(
            "/releases",
            &[
                ("name", "  Q4 Sprint 3  "),
                ("description", "Five services"),
                ("status", "in_progress"),
                (
                    "metadata",
                    "{\"ticket\": \"REL-42\", \"owners\": [\"ann\"]}",
                ),
            ],
        )
        .await;
    let location = page.location.clone().expect("Location");
    assert_see_other(&page, &location);
    let id = location.trim_start_matches("/releases/");
    let r = release(&app, id).await;
    assert_eq!(r["name"], "Q4 Sprint 3", "trimmed");
    assert_eq!(r["description"], "Five services");
    assert_eq!(r["status"], "in_progress");
    assert_eq!(
        r["extra_metadata"],
        json!({ "ticket": "REL-42", "owners": ["ann"] })
    );
}

#[tokio::test]
async fn creating_a_release_with_an_empty_name_re_renders_the_form_with_422_and_the_input_kept() {
    let app = common::spawn_app().await;
    let long = "x".repeat(201);
    for bad in ["", "   ", long.as_str()] {
        let page = app
            .submit(
                "/releases",
                &[
                    ("name", bad),
                    ("description", "keep \"this\" <text>"),
                    ("status", "in_progress"),
                    ("metadata", "{\"ticket\": \"REL-1\"}"),
                ],
            )
            .await;
        assert_form_page(&page, 422);
        assert_eq!(input_value(&page.body, "name"), bad, "name kept");
        assert_eq!(textarea(&page.body, "description"), "keep \"this\" <text>");
        assert_eq!(textarea(&page.body, "metadata"), "{\"ticket\": \"REL-1\"}");
        assert_eq!(
            css_attrs(&page.body, "select[name=status] option[selected]", "value"),
            ["in_progress"],
            "status kept"
        );
        let err = field_error(&page.body, "name");
        assert!(
            err.as_deref().is_some_and(|e| !e.is_empty()),
            "an error next to the name field: {err:?}"
        );
        for other in ["description", "metadata", "status"] {
            assert!(
                !field_has_error_markup(&page.body, other),
                "no error on {other}"
            );
        }
    }
    let (_, list) = answer(app.get("/api/releases/").await).await;
    assert_eq!(list, json!([]), "nothing was created");
}

#[tokio::test]
async fn creating_a_release_with_metadata_that_is_not_a_json_object_is_a_422_next_to_metadata() {
    let app = common::spawn_app().await;
    for bad in ["[1, 2]", "\"text\"", "42", "{not json"] {
        let page = app
            .submit(
                "/releases",
                &[
                    ("name", "Metadata check"),
                    ("description", "d"),
                    ("status", "draft"),
                    ("metadata", bad),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "metadata {bad}: {:?}", page.location);
        assert_form_page(&page, 422);
        assert_eq!(textarea(&page.body, "metadata"), bad, "metadata kept");
        assert_eq!(input_value(&page.body, "name"), "Metadata check");
        let err = field_error(&page.body, "metadata");
        assert!(
            err.as_deref().is_some_and(|e| !e.is_empty()),
            "metadata {bad}: an error next to the field: {err:?}"
        );
        assert!(
            !field_has_error_markup(&page.body, "name"),
            "no error on name"
        );
    }
}

#[tokio::test]
async fn creating_a_release_with_null_metadata_is_a_422_since_null_is_not_a_json_object() {
    let app = common::spawn_app().await;
    let page = app
        .submit(
            "/releases",
            &[
                ("name", "Null metadata"),
                ("description", ""),
                ("status", "draft"),
                ("metadata", "null"),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "metadata null: {:?}", page.location);
    assert_eq!(textarea(&page.body, "metadata"), "null");
    assert!(field_error(&page.body, "metadata").is_some());
}

#[tokio::test]
async fn creating_a_release_with_an_unknown_status_is_a_422_next_to_the_status_field() {
    let app = common::spawn_app().await;
    let page = app
        .submit(
            "/releases",
            &[
                ("name", "Status check"),
                ("description", "kept"),
                ("status", "shipped"),
                ("metadata", ""),
            ],
        )
        .await;
    assert_form_page(&page, 422);
    assert_eq!(input_value(&page.body, "name"), "Status check");
    assert_eq!(textarea(&page.body, "description"), "kept");
    let err = field_error(&page.body, "status");
    assert!(
        err.as_deref().is_some_and(|e| !e.is_empty()),
        "an error next to the status field: {err:?}"
    );
    assert!(!field_has_error_markup(&page.body, "name"));
}

#[tokio::test]
async fn creating_a_release_with_a_taken_name_is_a_409_with_the_form_kept() {
    let app = common::spawn_app().await;
    app.create_release("Taken").await;
    let page = app
        .submit(
            "/releases",
            &[
                ("name", "Taken"),
                ("description", "second try"),
                ("status", "draft"),
                ("metadata", "{\"a\": 1}"),
            ],
        )
        .await;
    assert_form_page(&page, 409);
    assert_eq!(input_value(&page.body, "name"), "Taken");
    assert_eq!(textarea(&page.body, "description"), "second try");
    assert_eq!(textarea(&page.body, "metadata"), "{\"a\": 1}");
    let err = field_error(&page.body, "name");
    assert!(
        err.as_deref().is_some_and(|e| !e.is_empty()),
        "an error next to the name field: {err:?}"
    );
    let (_, list) = answer(app.get("/api/releases/").await).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_rejected_form_shows_hostile_input_as_text() {
    let app = common::spawn_app().await;
    let name = "\"><script>alert(1)</script>";
    let description = "</textarea><script>alert(2)</script>";
    let page = app
        .submit(
            "/releases",
            &[
                ("name", name),
                ("description", description),
                ("status", "<script>"),
                ("metadata", "</textarea><script>alert(3)</script>"),
            ],
        )
        .await;
    assert_form_page(&page, 422);
    assert!(!page.body.contains("<script>"), "no raw script");
    assert_eq!(input_value(&page.body, "name"), name);
    assert_eq!(textarea(&page.body, "description"), description);
    assert_eq!(
        textarea(&page.body, "metadata"),
        "</textarea><script>alert(3)</script>"
    );
}

#[tokio::test]
async fn the_flash_message_shows_a_hostile_release_name_as_text() {
    let app = common::spawn_app().await;
    let name = "<script>alert(1)</script> \"quoted\"";
    let page = app
        .submit(
            "/releases",
            &[
                ("name", name),
                ("description", ""),
                ("status", "draft"),
                ("metadata", ""),
            ],
        )
        .await;
    let location = page.location.clone().expect("Location");
    assert_see_other(&page, &location);
    let mut jar = Jar::default();
    jar.take(&page);
    let shown = app.page_with_cookie(&location, &jar.header()).await;
    assert_eq!(shown.status, 200);
    assert!(!shown.body.contains("<script>"), "no raw script");
    assert_eq!(css_count(&shown.body, "script"), 0);
    let messages = flash(&shown.body);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains(&squish(name)), "{messages:?}");
}

// ---------------------------------------------------------------------------------------------
// Edit

#[tokio::test]
async fn the_edit_form_is_prefilled_with_the_release() {
    let app = common::spawn_app().await;
    let (code, r) = answer(
        app.post_json(
            "/api/releases/",
            &json!({
                "name": "User Platform v2.0",
                "description": "Login rework",
                "extra_metadata": { "ticket": "REL-42" }
            }),
        )
        .await,
    )
    .await;
    assert_eq!(code, 201);
    let id = r["id"].as_str().expect("id");
    let page = app.page(&format!("/releases/{id}/edit")).await;
    assert_form_page(&page, 200);
    assert!(form_actions(&page.body).contains(&format!("/releases/{id}/edit")));
    assert_eq!(input_value(&page.body, "name"), "User Platform v2.0");
    assert_eq!(textarea(&page.body, "description"), "Login rework");
    let meta: Value =
        serde_json::from_str(&textarea(&page.body, "metadata")).expect("metadata is JSON");
    assert_eq!(meta, json!({ "ticket": "REL-42" }));
}

#[tokio::test]
async fn editing_a_release_redirects_to_its_page_and_saves_the_changes() {
    let app = common::spawn_app().await;
    let id = app.create_release("Old name").await;
    let page = app
        .submit(
            &format!("/releases/{id}/edit"),
            &[
                ("name", "New name"),
                ("description", "Now described"),
                ("metadata", "{\"ticket\": \"REL-7\"}"),
            ],
        )
        .await;
    assert_see_other(&page, &format!("/releases/{id}"));
    let r = release(&app, &id).await;
    assert_eq!(r["name"], "New name");
    assert_eq!(r["description"], "Now described");
    assert_eq!(r["extra_metadata"], json!({ "ticket": "REL-7" }));
    assert_eq!(
        r["status"], "draft",
        "the edit form does not touch the status"
    );

    let mut jar = Jar::default();
    jar.take(&page);
    let shown = app
        .page_with_cookie(&format!("/releases/{id}"), &jar.header())
        .await;
    let messages = flash(&shown.body);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("New name"), "{messages:?}");
}

#[tokio::test]
async fn editing_a_release_with_invalid_input_is_a_422_with_the_input_kept() {
    let app = common::spawn_app().await;
    let id = app.create_release("Keep me").await;
    let path = format!("/releases/{id}/edit");
    let page = app
        .submit(
            &path,
            &[
                ("name", "  "),
                ("description", "typed"),
                ("metadata", "{\"k\": 1}"),
            ],
        )
        .await;
    assert_form_page(&page, 422);
    assert_eq!(input_value(&page.body, "name"), "  ");
    assert_eq!(textarea(&page.body, "description"), "typed");
    assert_eq!(textarea(&page.body, "metadata"), "{\"k\": 1}");
    assert!(
        field_error(&page.body, "name").is_some(),
        "error next to name"
    );
    assert!(
        form_actions(&page.body).contains(&path),
        "posts to the same release again"
    );

    let page = app
        .submit(
            &path,
            &[
                ("name", "Renamed"),
                ("description", ""),
                ("metadata", "[\"no\"]"),
            ],
        )
        .await;
    assert_form_page(&page, 422);
    assert_eq!(input_value(&page.body, "name"), "Renamed");
    assert_eq!(textarea(&page.body, "metadata"), "[\"no\"]");
    assert!(
        field_error(&page.body, "metadata").is_some(),
        "error next to metadata"
    );
    assert!(!field_has_error_markup(&page.body, "name"));

    assert_eq!(
        release(&app, &id).await["name"],
        "Keep me",
        "nothing changed"
    );
}

#[tokio::test]
async fn renaming_a_release_to_a_taken_name_is_a_409_with_the_input_kept() {
    let app = common::spawn_app().await;
    app.create_release("Taken").await;
    let id = app.create_release("Mine").await;
    let page = app
        .submit(
            &format!("/releases/{id}/edit"),
            &[("name", "Taken"), ("description", "mine"), ("metadata", "")],
        )
        .await;
    assert_form_page(&page, 409);
    assert_eq!(input_value(&page.body, "name"), "Taken");
    assert_eq!(textarea(&page.body, "description"), "mine");
    let err = field_error(&page.body, "name");
    assert!(err.as_deref().is_some_and(|e| !e.is_empty()), "{err:?}");
    assert_eq!(release(&app, &id).await["name"], "Mine");
}

#[tokio::test]
async fn forms_for_a_missing_release_answer_a_404_page() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    let vid = version_id(&app, "api", "1.0").await;
    let missing = uuid::Uuid::new_v4().to_string();
    let attempts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/releases/{missing}/edit"),
            vec![("name", "x"), ("description", ""), ("metadata", "")],
        ),
        (
            format!("/releases/{missing}/versions"),
            vec![("version_id", vid.as_str())],
        ),
        (
            format!("/releases/{missing}/versions"),
            vec![("version_id", "")],
        ),
        (format!("/releases/{missing}/versions/{vid}/delete"), vec![]),
        (
            format!("/releases/{missing}/status"),
            vec![("status", "in_progress")],
        ),
        (
            "/releases/not-a-uuid/status".into(),
            vec![("status", "in_progress")],
        ),
    ];
    for (path, fields) in attempts {
        let page = app.submit(&path, &fields).await;
        assert_eq!(page.status, 404, "POST {path}: {}", page.body);
        assert!(
            page.content_type.starts_with("text/html"),
            "POST {path}: HTML"
        );
        assert_eq!(css_count(&page.body, "script"), 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Versions of a release

#[tokio::test]
async fn the_add_version_form_suggests_every_product_and_every_version_string() {
    let app = common::spawn_app().await;
    app.deploy_ok("beta", "2.0", "Dev", "success").await;
    app.deploy_ok("alpha", "1.0", "Dev", "success").await;
    app.deploy_ok("alpha", "1.1", "Dev", "success").await;
    app.deploy_ok("beta", "1.0", "Dev", "success").await;
    let id = app.create_release("Suggested").await;
    let page = app.page(&format!("/releases/{id}")).await;
    assert_eq!(page.status, 200);
    let doc = Html::parse_document(&page.body);
    let form = doc
        .select(&sel("form"))
        .find(|f| f.value().attr("action") == Some(format!("/releases/{id}/versions").as_str()))
        .expect("an add-version form");
    let list_of = |input: &str| -> Vec<String> {
        let control = form
            .select(&sel(&format!("input[name={input}]")))
            .next()
            .unwrap_or_else(|| panic!("a text input {input}"));
        let list = control.value().attr("list").expect("a datalist");
        form.select(&sel(&format!("datalist[id=\"{list}\"] option")))
            .filter_map(|o| o.value().attr("value").map(str::to_string))
            .collect()
    };
    assert_eq!(list_of("product_name"), ["alpha", "beta"]);
    // Each version string once, whichever products use it.
    assert_eq!(list_of("version"), ["1.0", "1.1", "2.0"]);
}

#[tokio::test]
async fn adding_a_version_redirects_to_the_release_page_and_lists_it() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    let vid = version_id(&app, "api", "1.0").await;
    let id = app.create_release("Add one").await;
    let page = app
        .submit(
            &format!("/releases/{id}/versions"),
            &[("product_name", "api"), ("version", "1.0")],
        )
        .await;
    assert_see_other(&page, &format!("/releases/{id}#versions"));
    assert_eq!(release_version_labels(&app, &id).await, ["api 1.0"]);
    let shown = app.page(&format!("/releases/{id}")).await;
    assert!(form_actions(&shown.body).contains(&format!("/releases/{id}/versions/{vid}/delete")));
    let products = css_attrs(&shown.body, "td[data-state]", "data-product");
    assert_eq!(products, ["api"], "a matrix row");

    // Adding it again (by id, as older forms do) is a no-op, still a redirect.
    let again = app
        .submit(&format!("/releases/{id}/versions"), &[("version_id", &vid)])
        .await;
    assert_see_other(&again, &format!("/releases/{id}#versions"));
    assert_eq!(release_version_labels(&app, &id).await, ["api 1.0"]);
}

#[tokio::test]
async fn adding_a_second_version_of_a_product_is_a_409_naming_the_version_already_there() {
    let app = common::spawn_app().await;
    app.deploy_ok("alpha", "1.0", "Dev", "success").await;
    app.deploy_ok("alpha", "1.1", "Dev", "success").await;
    let id = app.create_release("One per product").await;
    assert_eq!(app.add_to_release(&id, "alpha", "1.0").await, 201);
    let second = version_id(&app, "alpha", "1.1").await;
    for fields in [
        vec![("product_name", "alpha"), ("version", "1.1")],
        vec![("version_id", second.as_str())],
    ] {
        let page = app
            .submit(&format!("/releases/{id}/versions"), &fields)
            .await;
        assert_form_page(&page, 409);
        // The message sits in the add-version section, next to its form.
        let errors = css_texts(&page.body, "section#versions .field-error");
        assert_eq!(errors.len(), 1, "{fields:?}: {errors:?}");
        let err = &errors[0];
        assert!(err.contains("alpha"), "names the product: {err}");
        assert!(
            err.contains("1.0"),
            "names the version already there: {err}"
        );
        assert!(err.contains("replace"), "says how to change it: {err}");
        assert_eq!(
            css_count(&page.body, "section#versions form[action$=\"/versions\"]"),
            1,
            "the form is in the same section"
        );
    }
    // What was typed is kept.
    let page = app
        .submit(
            &format!("/releases/{id}/versions"),
            &[("product_name", "alpha"), ("version", "1.1")],
        )
        .await;
    assert_eq!(input_value(&page.body, "product_name"), "alpha");
    assert_eq!(input_value(&page.body, "version"), "1.1");
    assert_eq!(release_version_labels(&app, &id).await, ["alpha 1.0"]);
}

#[tokio::test]
async fn adding_without_choosing_a_version_is_a_422() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    let id = app.create_release("Empty choice").await;
    // (fields, the field whose error is shown)
    for (fields, field) in [
        (vec![("version_id", "")], "product_name"),
        (vec![], "product_name"),
        (vec![("product_name", "api")], "version"),
        (
            vec![("product_name", " "), ("version", "1.0")],
            "product_name",
        ),
        (vec![("product_name", "api"), ("version", "1 0")], "version"),
    ] {
        let page = app
            .submit(&format!("/releases/{id}/versions"), &fields)
            .await;
        assert_form_page(&page, 422);
        let err = field_error(&page.body, field);
        assert!(
            err.as_deref().is_some_and(|e| !e.is_empty()),
            "{fields:?}: {err:?}"
        );
    }
    let page = app
        .submit(
            &format!("/releases/{id}/versions"),
            &[("version_id", "nonsense")],
        )
        .await;
    assert_form_page(&page, 422);
    assert_eq!(css_texts(&page.body, "#version_id-error").len(), 1);
    // An id that names no version: also the form's problem.
    let unknown = uuid::Uuid::new_v4().to_string();
    let page = app
        .submit(
            &format!("/releases/{id}/versions"),
            &[("version_id", &unknown)],
        )
        .await;
    assert_form_page(&page, 422);
    assert!(release_version_labels(&app, &id).await.is_empty());
}

#[tokio::test]
async fn removing_a_version_redirects_and_the_version_is_gone() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Dev", "success").await;
    let id = app.create_release("Remove one").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    assert_eq!(app.add_to_release(&id, "web", "2.0").await, 201);
    let vid = version_id(&app, "api", "1.0").await;
    let action = format!("/releases/{id}/versions/{vid}/delete");
    let before = app.page(&format!("/releases/{id}")).await;
    assert!(
        form_actions(&before.body).contains(&action),
        "a Remove button"
    );

    // The button leads to a confirmation page that changes nothing…
    let confirm = app.submit(&action, &[]).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        squish(&confirm.body).contains("Remove api 1.0"),
        "{}",
        confirm.body
    );
    assert_eq!(
        release_version_labels(&app, &id).await,
        ["api 1.0", "web 2.0"]
    );
    assert_eq!(
        css_attrs(&confirm.body, "form input[name=confirmed]", "value"),
        ["yes"]
    );
    // …and its form removes it.
    let page = app.submit(&action, &[("confirmed", "yes")]).await;
    assert_see_other(&page, &format!("/releases/{id}#versions"));
    assert_eq!(release_version_labels(&app, &id).await, ["web 2.0"]);
    let after = app.page(&format!("/releases/{id}")).await;
    assert!(!form_actions(&after.body).contains(&action));
    assert_eq!(
        css_attrs(&after.body, "td[data-state]", "data-product"),
        ["web"]
    );
    // The version itself is untouched.
    let (code, _) = answer(app.get(&format!("/api/versions/{vid}")).await).await;
    assert_eq!(code, 200);
}

// ---------------------------------------------------------------------------------------------
// Status

#[tokio::test]
async fn changing_the_status_to_in_progress_redirects_and_is_recorded() {
    let app = common::spawn_app().await;
    let id = app.create_release("Go").await;
    let page = app
        .submit(
            &format!("/releases/{id}/status"),
            &[("status", "in_progress")],
        )
        .await;
    assert_see_other(&page, &format!("/releases/{id}#status"));
    assert_eq!(release(&app, &id).await["status"], "in_progress");
    let mut jar = Jar::default();
    jar.take(&page);
    let shown = app
        .page_with_cookie(&format!("/releases/{id}"), &jar.header())
        .await;
    assert_eq!(flash(&shown.body).len(), 1);
    // The message is shown in the status section, where the user acted.
    assert_eq!(css_texts(&shown.body, "section#status .flash").len(), 1);
    assert_eq!(
        css_count(&shown.body, "main ol li"),
        2,
        "created, status changed"
    );
}

#[tokio::test]
async fn a_draft_release_offers_in_progress_complete_and_cancel_buttons() {
    let app = common::spawn_app().await;
    let id = app.create_release("Draft").await;
    // An empty release cannot be completed: no Complete button.
    let empty = app.page(&format!("/releases/{id}")).await;
    let values: Vec<String> = status_buttons(&empty.body, &id)
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(values, ["in_progress", "cancelled"]);
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    let page = app.page(&format!("/releases/{id}")).await;
    let buttons = status_buttons(&page.body, &id);
    let values: Vec<&str> = buttons.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(values, ["in_progress", "completed", "cancelled"]);
    let label = |v: &str| {
        buttons
            .iter()
            .find(|(value, _)| value == v)
            .map(|(_, l)| l.to_lowercase())
            .unwrap_or_default()
    };
    assert!(label("in_progress").contains("in progress"), "{buttons:?}");
    assert!(label("completed").contains("complete"), "{buttons:?}");
    assert!(label("cancelled").contains("cancel"), "{buttons:?}");
}

#[tokio::test]
async fn an_in_progress_release_offers_draft_complete_and_cancel_buttons() {
    let app = common::spawn_app().await;
    let id = app.create_release("Running").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    set_status(&app, &id, "in_progress").await;
    let page = app.page(&format!("/releases/{id}")).await;
    let values: Vec<String> = status_buttons(&page.body, &id)
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(values, ["draft", "completed", "cancelled"]);
}

#[tokio::test]
async fn an_archived_release_shows_no_status_buttons_no_remove_buttons_and_no_add_form() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Dev", "success").await;
    for status in ["completed", "cancelled"] {
        let id = app.create_release(&format!("Archived {status}")).await;
        assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
        set_status(&app, &id, status).await;
        let page = app.page(&format!("/releases/{id}")).await;
        assert_eq!(page.status, 200);
        assert!(
            status_buttons(&page.body, &id).is_empty(),
            "{status}: no status buttons"
        );
        let actions = form_actions(&page.body);
        assert!(
            !actions.iter().any(|a| a.ends_with("/delete")),
            "{status}: no Remove buttons: {actions:?}"
        );
        assert!(
            !actions.contains(&format!("/releases/{id}/versions")),
            "{status}: no add-version form: {actions:?}"
        );
        assert_eq!(css_count(&page.body, "select[name=version_id]"), 0);
        // Still browsable: the version and its matrix row are there.
        assert_eq!(
            css_attrs(&page.body, "td[data-state]", "data-product"),
            ["api"]
        );
    }
}

#[tokio::test]
async fn changing_the_status_of_a_completed_release_is_a_409_page() {
    let app = common::spawn_app().await;
    let id = app.create_release("Done").await;
    set_status(&app, &id, "completed").await;
    for next in ["in_progress", "draft", "cancelled"] {
        let page = app
            .submit(&format!("/releases/{id}/status"), &[("status", next)])
            .await;
        assert_form_page(&page, 409);
        let err = css_texts(&page.body, "#status-error");
        assert_eq!(
            err.len(),
            1,
            "{next}: the error is shown with the status section"
        );
        assert!(!err[0].trim().is_empty());
    }
    assert_eq!(release(&app, &id).await["status"], "completed");
}

#[tokio::test]
async fn changing_versions_of_an_archived_release_is_a_409_page() {
    let app = common::spawn_app().await;
    app.deploy_ok("api", "1.0", "Dev", "success").await;
    app.deploy_ok("web", "2.0", "Dev", "success").await;
    let id = app.create_release("Frozen").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    set_status(&app, &id, "completed").await;
    let web = version_id(&app, "web", "2.0").await;
    let api = version_id(&app, "api", "1.0").await;

    let page = app
        .submit(&format!("/releases/{id}/versions"), &[("version_id", &web)])
        .await;
    assert_form_page(&page, 409);
    assert!(
        !css_texts(&page.body, ".field-error").is_empty(),
        "the conflict is explained on the page: {}",
        squish(&css_texts(&page.body, "main").join(" "))
    );
    // Archived: refused at once, without asking for a confirmation first.
    let page = app
        .submit(&format!("/releases/{id}/versions/{api}/delete"), &[])
        .await;
    assert_form_page(&page, 409);
    assert!(!css_texts(&page.body, ".field-error").is_empty());
    assert_eq!(release_version_labels(&app, &id).await, ["api 1.0"]);
}

#[tokio::test]
async fn an_unknown_status_value_is_a_422() {
    let app = common::spawn_app().await;
    let id = app.create_release("Odd status").await;
    for bad in ["shipped", ""] {
        let page = app
            .submit(&format!("/releases/{id}/status"), &[("status", bad)])
            .await;
        assert_form_page(&page, 422);
        assert_eq!(css_texts(&page.body, "#status-error").len(), 1, "{bad:?}");
    }
    assert_eq!(release(&app, &id).await["status"], "draft");
}

// ---------------------------------------------------------------------------------------------
// Environments

fn environment_rows(html: &str) -> Vec<(String, String)> {
    let doc = Html::parse_document(html);
    doc.select(&sel("table tbody tr"))
        .map(|tr| {
            let name = tr.select(&sel("th")).next().map(|t| squish(&text_of(t)));
            let kind = tr.select(&sel("td")).next().map(|t| squish(&text_of(t)));
            (name.unwrap_or_default(), kind.unwrap_or_default())
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn saving_an_environment_type_and_position_redirects_and_changes_the_order() {
    let app = common::spawn_app().await;
    for env in ["prod", "scratch", "sandbox"] {
        app.deploy_ok("api", "1.0", env, "success").await;
    }
    let id = app.create_release("Columns").await;
    assert_eq!(app.add_to_release(&id, "api", "1.0").await, 201);
    let page = app.page("/environments").await;
    assert_eq!(
        environment_rows(&page.body),
        pairs(&[
            ("sandbox", "dev"),
            ("scratch", "dev"),
            ("prod", "production")
        ])
    );

    let sandbox = environment_id(&app, "sandbox").await;
    let saved = app
        .submit(
            &format!("/environments/{sandbox}"),
            &[("type", "dev"), ("position", "5")],
        )
        .await;
    assert_see_other(&saved, "/environments");
    let page = app.page("/environments").await;
    assert_eq!(
        environment_rows(&page.body),
        pairs(&[
            ("scratch", "dev"),
            ("sandbox", "dev"),
            ("prod", "production")
        ])
    );

    let scratch = environment_id(&app, "scratch").await;
    let saved = app
        .submit(
            &format!("/environments/{scratch}"),
            &[("type", "production"), ("position", "0")],
        )
        .await;
    assert_see_other(&saved, "/environments");
    let page = app.page("/environments").await;
    assert_eq!(
        environment_rows(&page.body),
        pairs(&[
            ("sandbox", "dev"),
            ("prod", "production"),
            ("scratch", "production")
        ])
    );
    // The release matrix follows.
    let release_page = app.page(&format!("/releases/{id}")).await;
    assert_eq!(
        css_attrs(&release_page.body, "td[data-state]", "data-environment"),
        ["sandbox", "prod", "scratch"]
    );
}

#[tokio::test]
async fn an_environment_position_or_type_that_does_not_parse_is_a_422() {
    let app = common::spawn_app().await;
    for env in ["Dev", "Production"] {
        app.deploy_ok("api", "1.0", env, "success").await;
    }
    let dev = environment_id(&app, "Dev").await;
    for fields in [
        [("type", "dev"), ("position", "first")],
        [("type", "dev"), ("position", "1.5")],
        [("type", "banana"), ("position", "0")],
    ] {
        let page = app.submit(&format!("/environments/{dev}"), &fields).await;
        assert_eq!(page.status, 422, "{fields:?}: {}", page.body);
        assert!(page.content_type.starts_with("text/html"));
        assert_eq!(css_count(&page.body, "script"), 0);
        // The error is shown in the row of that environment.
        let doc = Html::parse_document(&page.body);
        let row = doc
            .select(&sel("table tbody tr"))
            .find(|tr| {
                tr.select(&sel("form")).any(|f| {
                    f.value().attr("action") == Some(format!("/environments/{dev}").as_str())
                })
            })
            .expect("the Dev row");
        let text = squish(&text_of(row));
        let field = if fields[0].1 == "banana" {
            "type"
        } else {
            "position"
        };
        assert!(text.contains(field), "{fields:?}: error in the row: {text}");
    }
    let env = app.get_json(&format!("/api/environments/{dev}")).await;
    assert_eq!(env["type"], "dev");
    assert_eq!(env["position"], 0);
    let missing = uuid::Uuid::new_v4();
    let page = app
        .submit(
            &format!("/environments/{missing}"),
            &[("type", "dev"), ("position", "1")],
        )
        .await;
    assert_eq!(page.status, 404);
}
