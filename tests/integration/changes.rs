//! "Something changed" is announced from one place, the service layer, whichever face made the
//! change: an event through the API, a release through a form or the API, a product through
//! the API — and a change that changed nothing is not announced.

use crate::common;
use releaseboard::service::changes::ReleaseChange;
use releaseboard::service::Change;
use serde_json::json;
use std::time::Duration;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::broadcast::Receiver;

/// The next announcement (they follow the commit that answers the request).
async fn next(changes: &mut Receiver<Change>) -> Change {
    tokio::time::timeout(Duration::from_secs(5), changes.recv())
        .await
        .expect("an announcement within 5 s")
        .expect("the channel is open")
}

#[tokio::test]
async fn every_face_announces_its_changes_through_the_service_layer() {
    let app = common::spawn_app().await;
    let mut changes = app.ctx.changes.subscribe();

    // An event through the JSON API.
    let d = app.deploy_ok("svc", "1.0", "Production", "started").await;
    match next(&mut changes).await {
        Change::Deployment { id, status, .. } => {
            assert_eq!(id, d["id"].as_str().expect("an id"));
            assert_eq!(status.as_str(), "started");
        }
        other => panic!("{other:?}"),
    }
    // The same status again changes nothing: nothing is announced.
    app.deploy_ok("svc", "1.0", "Production", "started").await;
    app.deploy_ok("svc", "1.0", "Production", "success").await;
    match next(&mut changes).await {
        Change::Deployment { status, .. } => assert_eq!(status.as_str(), "completed"),
        other => panic!("{other:?}"),
    }

    // A release created with the page's form, then a version added with the API.
    let res = app
        .post_form("/releases", &[("name", "R1"), ("status", "draft")])
        .await;
    assert_eq!(res.status().as_u16(), 303);
    let id = match next(&mut changes).await {
        Change::Release {
            id,
            what: ReleaseChange::Created,
        } => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(app.add_to_release(&id, "svc", "1.0").await, 201);
    match next(&mut changes).await {
        Change::Release {
            id: changed,
            what: ReleaseChange::VersionAdded { .. },
        } => assert_eq!(changed, id),
        other => panic!("{other:?}"),
    }
    // A status change with the page's form.
    let res = app
        .post_form(
            &format!("/releases/{id}/status"),
            &[("status", "in_progress")],
        )
        .await;
    assert_eq!(res.status().as_u16(), 303);
    assert!(matches!(
        next(&mut changes).await,
        Change::Release {
            what: ReleaseChange::StatusChanged { .. },
            ..
        }
    ));

    // The catalog through the API.
    let res = app
        .post_json("/api/products/", &json!({"name": "other"}))
        .await;
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(next(&mut changes).await, Change::Catalog);

    // A refused change announces nothing.
    let res = app
        .post_json("/api/products/", &json!({"name": "other"}))
        .await;
    assert_eq!(res.status().as_u16(), 409);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(matches!(changes.try_recv(), Err(TryRecvError::Empty)));
}
