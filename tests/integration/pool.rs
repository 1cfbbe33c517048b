//! The connection pool checks a connection on checkout only when it has been idle for a while
//! (`store::pool::PING_AFTER_IDLE`): a connection the database dropped meanwhile — a restart, an
//! administrator's `pg_terminate_backend`, an idle timeout — is replaced, not handed to a
//! request. PostgreSQL only: an SQLite connection is a file handle nothing else can close.

use crate::common;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use releaseboard::store::pool::PING_AFTER_IDLE;
use releaseboard::store::DbTarget;

/// Has PostgreSQL drop every connection to the test database but this one, as a restart would,
/// then lets the server's connections sit idle past `PING_AFTER_IDLE`.
async fn drop_connections_then_wait(url: &str) {
    let mut admin = PgConnection::establish(url).expect("a connection");
    admin
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .expect("terminating the server's connections");
    tokio::time::sleep(PING_AFTER_IDLE + PING_AFTER_IDLE / 2).await;
}

#[tokio::test]
async fn connections_dropped_by_the_database_while_idle_are_replaced() {
    let app = common::spawn_app().await;
    let DbTarget::Postgres(url) = &app.database else {
        return;
    };
    // Every pooled connection has answered a read.
    for _ in 0..4 {
        assert_eq!(app.get("/api/products/").await.status().as_u16(), 200);
    }

    drop_connections_then_wait(url).await;

    for _ in 0..4 {
        let res = app.get("/api/products/").await;
        assert_eq!(
            res.status().as_u16(),
            200,
            "a read after the database dropped the pool's connections: {}",
            res.text().await.unwrap_or_default()
        );
    }
}

/// The writer keeps its own connection, outside the pool: after a quiet spell it checks it the
/// same way, so that the first events after the database dropped it are recorded, not failed.
#[tokio::test]
async fn the_writer_replaces_a_connection_dropped_while_it_was_idle() {
    let app = common::spawn_app().await;
    let DbTarget::Postgres(url) = &app.database else {
        return;
    };
    let event = |n: usize| {
        serde_json::json!({"product_name": format!("svc-{n}"), "version": "1.0",
                           "environment_name": "Dev", "status": "success"})
    };
    // Every writer lane has a connection.
    for n in 0..4 {
        let res = app.post_json("/api/deployment-events/", &event(n)).await;
        assert_eq!(res.status().as_u16(), 201);
    }

    drop_connections_then_wait(url).await;

    for n in 4..8 {
        let res = app.post_json("/api/deployment-events/", &event(n)).await;
        assert_eq!(
            res.status().as_u16(),
            201,
            "an event after the database dropped the writer's connections: {}",
            res.text().await.unwrap_or_default()
        );
    }
}
