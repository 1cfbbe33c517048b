//! The integration tests: the real application (its app factory on port 0, or its binary) on a
//! fresh database per test — a SQLite file, or with `RELEASEBOARD_TEST_POSTGRES_URL` set a new
//! PostgreSQL database. One binary with a module per area, so that the crate is linked once
//! rather than once per file; `cargo test --test integration api_events::` runs one area.

mod common;

mod access;
mod api_catalog;
mod api_events;
mod api_releases;
mod api_smoke;
mod browser;
mod changes;
mod checkpoint;
mod cli;
mod compare;
mod concurrency;
mod durability;
mod event_batch;
mod exports;
mod hardening;
mod ingest;
mod pool;
mod read_models;
mod release_page;
mod rules_in_sql;
mod versioner;
mod web_forms;
mod web_pages;
