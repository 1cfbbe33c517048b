//! The application factory: what `main` runs and what every test runs.
//!
//! - `state`: what every handler shares (below the faces);
//! - `routes`: every route of both faces, in one table.

pub mod limits;
pub mod routes;
pub mod state;

use crate::config::Config;
use crate::http::{api, gate};
use crate::service::Context;
use crate::store::Db;
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders, NormalizePath, TrailingSlash};
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use state::AppState;
use std::net::TcpListener;

/// A bound, migrated, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    ctx: Context,
}

impl Application {
    /// Opens the database, runs the migrations and binds the listener (port 0 works).
    pub fn build(config: Config) -> anyhow::Result<Application> {
        let mut db = Db::connect(&config.database, config.db_pool_size)?;
        db.migrate()?;
        db.start_writer(config.pg_writer_lanes)?;
        let listener =
            TcpListener::bind(&config.bind).with_context(|| format!("binding {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let state = AppState {
            ctx: Context::new(db),
            config: config.clone(),
        };
        let ctx = state.ctx.clone();
        let workers = config.workers;
        let cap = limits::connection_cap(
            config.max_connections,
            limits::raise_file_limit(),
            config.db_pool_size,
            workers,
        );
        tracing::info!(connections = cap, "connection cap");
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .app_data(api::extract::query_config())
                .app_data(api::extract::path_config())
                // Who is asking, and the rules for whole groups of routes (http::gate).
                .wrap(from_fn(gate::gate))
                // Every path works with or without its trailing slash (Versioner clients
                // post to `/api/deployment-events/`).
                .wrap(NormalizePath::new(TrailingSlash::Trim))
                .wrap(security_headers())
                // The client's address, the method and the path: never the query string, where
                // a client may have put a key by mistake (SPEC §7: secrets never reach a log).
                .wrap(
                    actix_web::middleware::Logger::new(r#"%a "%{method}xi %U" %s %Dms"#)
                        .custom_request_replace("method", |req| req.method().to_string())
                        .log_target("releaseboard::http"),
                )
                .configure(|cfg| routes::routes(cfg, &state.config))
        })
        // Without TCP_NODELAY keep-alive responses stall on Nagle (docs/decisions.md).
        .tcp_nodelay(true)
        .workers(workers)
        // Slow clients: the headers must arrive within the request timeout (the body's
        // deadline is the gate's), and connections are capped (`limits`).
        .client_request_timeout(config.request_timeout)
        .max_connections((cap / workers.max(1)).max(1))
        .listen(listener)?
        .run();
        Ok(Application { port, server, ctx })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The use cases' context the server runs with (its database, its announcements).
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Serves until the server is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Headers on every response. The pages load nothing but their own stylesheet and run no
/// script at all, so the policy can be this strict.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
}
