use crate::common;

use serde_json::json;

#[tokio::test]
async fn health_names_the_backend_in_use() {
    let app = common::spawn_app().await;
    let body = app.get_json("/api/health").await;
    assert_eq!(body["status"], "ok");
    let want = match app.database {
        releaseboard::store::DbTarget::Sqlite(_) => "sqlite",
        releaseboard::store::DbTarget::Postgres(_) => "postgres",
    };
    assert_eq!(body["database"], want);
}

#[tokio::test]
async fn a_first_event_creates_a_deployment() {
    let app = common::spawn_app().await;
    let res = app
        .deploy("user-service", "1.2.3", "Production", "success", json!({}))
        .await;
    assert_eq!(res.status().as_u16(), 201);
    let body: serde_json::Value = res.json().await.expect("JSON body");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["environment_name"], "Production");
}
