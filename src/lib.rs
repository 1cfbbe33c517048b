//! releaseboard: a self-hosted release tracking dashboard.
//!
//! CD pipelines report deployment steps to the JSON API; release managers group versions into
//! releases and watch the products × environments matrix. `docs/architecture.md` describes the
//! layers:
//!
//! - faces: `http::api` (JSON), `http::pages` (HTML) and `cli` parse input into commands and
//!   render answers; `http::gate` decides who may ask;
//! - `service`: the use cases, which both faces, the CLI, `demo` and `seed` call;
//! - `domain`: every rule, as pure functions, with no I/O;
//! - `store`: persistence, for SQLite and PostgreSQL.
//!
//! `app` builds the server (state, one route table); `config` is its configuration.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod http;
pub mod secret;
pub mod service;
pub mod store;
