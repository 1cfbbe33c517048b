//! A release's exports for people (SPEC §11): its notes in Markdown and its matrix as CSV.
//! The JSON export is the API's shapes (`http::api::releases::export`). What may be printed —
//! escaped Markdown, formula-safe cells, when an environment was fully reached — is decided in
//! `domain::export`; this module only writes the formats.

use super::views::{iso_exact, replaced_text, safe_link, short_sha, when};
use super::{path_id, PageError};
use crate::app::state::AppState;
use crate::domain::export::{markdown_text, spreadsheet_safe};
use crate::domain::{Entity, Error};
use crate::service::matrix::MatrixCell;
use crate::service::releases::{self, Export};
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use std::collections::HashMap;
use std::fmt::Write;

/// `GET /releases/{id}/notes.md`: name, status, dates (created, each environment first fully
/// reached, completed), and a table of the products with version, commit, branch, build link
/// and their state in each environment.
pub async fn notes(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = path_id(&id, Entity::Release)?;
    let export = releases::export(&state.ctx, id).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/markdown; charset=utf-8")
        .body(notes_markdown(&export)))
}

fn notes_markdown(e: &Export) -> String {
    let r = &e.summary.release;
    let m = &e.matrix;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# {}\n", markdown_text(&r.name));
    if let Some(d) = &r.description {
        let _ = writeln!(out, "{}\n", markdown_text(d));
    }
    let _ = writeln!(out, "- Status: {}", r.status().label());
    let _ = writeln!(out, "- Created: {}", when(r.created_at));
    for (env, reached) in m.columns.iter().zip(&e.movement.fully_reached) {
        let _ = match reached {
            Some(t) => writeln!(
                out,
                "- {} fully reached: {}",
                markdown_text(&env.name),
                when(*t)
            ),
            None => writeln!(out, "- {} fully reached: not yet", markdown_text(&env.name)),
        };
    }
    let _ = match r.completed_at {
        Some(t) => writeln!(out, "- Completed: {}", when(t)),
        None => writeln!(out, "- Completed: not yet"),
    };
    if e.versions.is_empty() {
        out.push_str("\nNo versions.\n");
        return out;
    }
    out.push_str("\n| Product | Version | Commit | Branch | Build |");
    for env in &m.columns {
        let _ = write!(out, " {} |", markdown_text(&env.name));
    }
    out.push_str("\n|---|---|---|---|---|");
    for _ in &m.columns {
        out.push_str("---|");
    }
    out.push('\n');
    let cells: HashMap<&str, &[MatrixCell]> = m
        .rows
        .iter()
        .map(|row| (row.version_id.as_str(), row.cells.as_slice()))
        .collect();
    for v in &e.versions {
        let version = &v.version;
        let text = |s: &Option<String>| s.as_deref().map_or("—".to_string(), markdown_text);
        let build = match safe_link(version.build_url.clone()) {
            // `<…>` keeps a link's own parentheses; a URL that could break out is printed as text.
            Some(u) if !u.contains(['<', '>', ' ', '\n']) => format!("[build](<{u}>)"),
            other => text(&other),
        };
        let sha = version
            .scm_sha
            .as_deref()
            .map_or("—".to_string(), |s| markdown_text(short_sha(s)));
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} |",
            markdown_text(&v.product_name),
            markdown_text(&version.version),
            sha,
            text(&version.scm_branch),
            build
        );
        for c in cells.get(version.id.as_str()).copied().unwrap_or_default() {
            let _ = write!(out, " {} |", cell_text(c));
        }
        out.push('\n');
    }
    out
}

/// A cell as the notes say it: the state, and which version runs there when it was replaced.
fn cell_text(c: &MatrixCell) -> String {
    let state = format!("{} {}", c.state.emoji(), c.state.label());
    match replaced_text(c) {
        Some(r) => format!("{state} ({})", markdown_text(&r)),
        None => state,
    }
}

/// `GET /releases/{id}/matrix.csv`: one row per cell, `product,version,environment,state,at,by`
/// (RFC 4180, UTF-8, a header row), every field formula-safe.
pub async fn matrix_csv(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = path_id(&id, Entity::Release)?;
    let export = releases::export(&state.ctx, id.clone()).await?;
    // Writing to memory fails only on a bug: the error page, with the cause in the log.
    let body = matrix_csv_bytes(&export).map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"release-{id}-matrix.csv\""),
        ))
        .body(body))
}

fn matrix_csv_bytes(e: &Export) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["product", "version", "environment", "state", "at", "by"])?;
    for row in &e.matrix.rows {
        for c in &row.cells {
            let at = c.at.map(iso_exact).unwrap_or_default();
            let by = c.deployed_by.as_deref().unwrap_or_default();
            let fields = [
                row.product_name.as_str(),
                row.version.as_str(),
                c.environment_name.as_str(),
                c.state.as_str(),
                at.as_str(),
                by,
            ];
            w.write_record(fields.map(|f| spreadsheet_safe(f).into_owned()))?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
