//! releaseboard: a self-hosted release tracking dashboard.
//!
//! CD pipelines report deployment steps to the JSON API (`api`); release managers group
//! versions into releases and watch the products × environments matrix. Rules live in
//! `domain`, storage in `db`, HTTP in `api` (JSON) and `web` (HTML).

pub mod accounts;
pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod gate;
pub mod seed;
pub mod startup;
pub mod web;
