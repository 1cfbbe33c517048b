//! What pages show, prepared in Rust so templates stay plain: labels, titles, times.

use crate::domain::ReleaseStatus;
use crate::http::utc;
use crate::service::matrix::{MatrixCell, MatrixRow, ReleaseMatrix};
use crate::service::releases::ReleaseSummary;
use chrono::{Datelike, NaiveDateTime, Timelike};
use std::fmt;

/// A time as people read it on the page, in UTC.
pub fn when(t: NaiveDateTime) -> String {
    When(t).to_string()
}

/// [`when`] written straight into a page: `2026-11-28 14:05 UTC`. Pages with thousands of
/// cells format a time per cell, and chrono's `format` parses its pattern on every call.
pub struct When(pub NaiveDateTime);

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        if (0..=9999).contains(&t.year()) {
            write!(
                f,
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute()
            )
        } else {
            // Years outside four digits carry a sign in chrono's %Y: let it say so.
            write!(f, "{}", utc(t).format("%Y-%m-%d %H:%M UTC"))
        }
    }
}

/// Stored JSON (metadata, an event's body) indented for a page, or `None` when there is
/// nothing worth showing (an empty object, or text that is not JSON).
pub fn pretty_json(raw: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(m)) if m.is_empty() => None,
        Ok(v) => serde_json::to_string_pretty(&v).ok(),
        Err(_) => None,
    }
}

/// Only http(s) links become clickable: a `javascript:` build URL stays text.
pub fn safe_link(url: Option<String>) -> Option<String> {
    url.filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

/// The machine-readable form for `<time datetime=…>`.
pub fn iso(t: NaiveDateTime) -> String {
    utc(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How long ago `t` was, as people say it: "just now", "5 min ago", "3 h ago", "2 days ago".
/// Printed beside the absolute time, which stays exact (pages are not refreshed by a clock).
pub fn ago(t: NaiveDateTime, now: NaiveDateTime) -> String {
    let secs = (now - t).num_seconds();
    match secs {
        s if s < 60 => "just now".into(),
        s if s < 3_600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3_600),
        s if s < 2 * 86_400 => "yesterday".into(),
        s if s < 60 * 86_400 => format!("{} days ago", s / 86_400),
        s if s < 730 * 86_400 => format!("{} months ago", s / (30 * 86_400)),
        s => format!("{} years ago", s / (365 * 86_400)),
    }
}

/// A duration as people say it: "45 s", "12 min", "3 h 5 min", "2 days 4 h".
pub fn duration_text(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3_600 => format!("{} min", s / 60),
        s if s < 86_400 => match (s / 3_600, s % 3_600 / 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        },
        s => match (s / 86_400, s % 86_400 / 3_600) {
            (1, 0) => "1 day".into(),
            (1, h) => format!("1 day {h} h"),
            (d, 0) => format!("{d} days"),
            (d, h) => format!("{d} days {h} h"),
        },
    }
}

/// A commit SHA as lists show it: its first 8 characters (the full one goes in `title`).
pub fn short_sha(sha: &str) -> &str {
    sha.char_indices().nth(8).map_or(sha, |(i, _)| &sha[..i])
}

/// A time as exports and feeds print it: as exact as the API's (`2026-12-05T01:44:33.530023Z`),
/// so that a CSV row or a feed entry can be matched with what the API says.
pub fn iso_exact(t: NaiveDateTime) -> String {
    utc(t).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Since when a cell is in its state, and who put it there: shown as text in the cell.
pub struct CellWhen {
    pub iso: String,
    pub ago: String,
    pub absolute: String,
}

/// What a deployed cell says when its environment now runs another version (SPEC §4):
/// "superseded by 1.2.4", or "rolled back to 1.2.2". The one wording of the page's cells,
/// their titles and the release notes.
pub fn replaced_text(c: &MatrixCell) -> Option<String> {
    let v = c.superseded_by.as_ref()?;
    Some(if c.rolled_back {
        format!("rolled back to {v}")
    } else {
        format!("superseded by {v}")
    })
}

/// One matrix cell, with everything its `<td>` carries.
pub struct CellView {
    pub product: String,
    pub version: String,
    pub environment: String,
    /// The environment's type: production cells come first in a phone's card.
    pub env_kind: &'static str,
    pub state: &'static str,
    pub emoji: &'static str,
    pub label: &'static str,
    pub title: String,
    /// "superseded by …" or "rolled back to …" ([`replaced_text`]).
    pub replaced: Option<String>,
    /// The environment went back to an older version (SPEC §4): styled as a warning.
    pub rolled_back: bool,
    /// The deployment that decided the state: its page is linked from the cell.
    pub deployment_id: Option<String>,
    pub when: Option<CellWhen>,
    pub by: Option<String>,
}

impl CellView {
    pub fn new(
        row: &MatrixRow,
        c: &MatrixCell,
        env_kind: &'static str,
        now: NaiveDateTime,
    ) -> CellView {
        let mut title = format!(
            "{} {} in {}: {}",
            row.product_name,
            row.version,
            c.environment_name,
            c.state.label()
        );
        if let Some(at) = c.at {
            title.push_str(&format!(", {}", when(at)));
        }
        if let Some(by) = &c.deployed_by {
            title.push_str(&format!(" by {by}"));
        }
        let replaced = replaced_text(c);
        if let Some(r) = &replaced {
            title.push_str(&format!("; {r}, which runs there now"));
        }
        CellView {
            product: row.product_name.clone(),
            version: row.version.clone(),
            environment: c.environment_name.clone(),
            env_kind,
            state: c.state.as_str(),
            emoji: c.state.emoji(),
            label: c.state.label(),
            title,
            replaced,
            rolled_back: c.rolled_back,
            deployment_id: c.deployment_id.clone(),
            when: c.at.map(|at| CellWhen {
                iso: iso(at),
                ago: ago(at, now),
                absolute: when(at),
            }),
            by: c.deployed_by.clone(),
        }
    }
}

pub struct MatrixRowView {
    pub product: String,
    pub product_id: String,
    pub version: String,
    pub version_id: String,
    pub planned: bool,
    pub cells: Vec<CellView>,
}

/// A column of a release matrix: its environment and its progress ("41/50").
pub struct ColumnView {
    pub name: String,
    pub kind: &'static str,
    pub deployed: usize,
    pub total: usize,
}

pub struct ProgressView {
    pub environment: String,
    pub deployed: usize,
    pub total: usize,
}

impl ProgressView {
    /// The progress bars of a release, one per environment in column order.
    pub fn list(m: &ReleaseMatrix) -> Vec<ProgressView> {
        m.progress
            .iter()
            .map(|p| ProgressView {
                environment: p.environment.name.clone(),
                deployed: p.deployed,
                total: p.total,
            })
            .collect()
    }
}

/// The matrix of a release as the page shows it.
pub struct MatrixView {
    pub columns: Vec<ColumnView>,
    pub rows: Vec<MatrixRowView>,
    pub ready_to_complete: bool,
    /// How many cells were rolled back from (the page says so above the matrix).
    pub rolled_back: usize,
}

impl MatrixView {
    /// The matrix as shown at `now` (cells say how long ago they changed).
    pub fn new(m: &ReleaseMatrix, now: NaiveDateTime) -> Self {
        let kinds: Vec<&'static str> = m.columns.iter().map(|e| e.kind().as_str()).collect();
        let rows: Vec<MatrixRowView> = m
            .rows
            .iter()
            .map(|r| MatrixRowView {
                product: r.product_name.clone(),
                product_id: r.product_id.clone(),
                version: r.version.clone(),
                version_id: r.version_id.clone(),
                planned: r.planned,
                cells: r
                    .cells
                    .iter()
                    .zip(&kinds)
                    .map(|(c, kind)| CellView::new(r, c, kind, now))
                    .collect(),
            })
            .collect();
        MatrixView {
            columns: m
                .progress
                .iter()
                .map(|p| ColumnView {
                    name: p.environment.name.clone(),
                    kind: p.environment.kind().as_str(),
                    deployed: p.deployed,
                    total: p.total,
                })
                .collect(),
            rolled_back: rows
                .iter()
                .flat_map(|r| &r.cells)
                .filter(|c| c.rolled_back)
                .count(),
            rows,
            ready_to_complete: m.ready_to_complete,
        }
    }
}

/// A release in a list.
pub struct ReleaseRowView {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub version_count: i64,
    pub created: String,
    pub completed: Option<String>,
}

impl From<&ReleaseSummary> for ReleaseRowView {
    fn from(s: &ReleaseSummary) -> Self {
        let status: ReleaseStatus = s.release.status();
        ReleaseRowView {
            id: s.release.id.clone(),
            name: s.release.name.clone(),
            status: status.as_str(),
            status_label: status.label(),
            version_count: s.version_count,
            created: when(s.release.created_at),
            completed: s.release.completed_at.map(when),
        }
    }
}

/// Page links: `?page=N` with the other filters kept.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `base` is the query string without `page` (e.g. `status=draft&q=x`).
    pub fn new(path: &str, base: &str, page: i64, per_page: i64, total: i64) -> Pager {
        Pager::new_named(path, base, "page", page, per_page, total)
    }

    /// A pager whose page number is the query parameter `param` (a page with two lists).
    pub fn new_named(
        path: &str,
        base: &str,
        param: &str,
        page: i64,
        per_page: i64,
        total: i64,
    ) -> Pager {
        let pages = ((total + per_page - 1) / per_page).max(1);
        let link = |p: i64| {
            if base.is_empty() {
                format!("{path}?{param}={p}")
            } else {
                format!("{path}?{base}&{param}={p}")
            }
        };
        Pager {
            page,
            pages,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

/// The page number of `?page=`: anything that is not a positive number is the first page
/// (these are links people edit by hand).
pub fn page_number(raw: Option<&str>) -> i64 {
    raw.and_then(|p| p.trim().parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_says_how_long_ago_in_words() {
        let now = chrono::DateTime::from_timestamp(1_000_000_000, 0)
            .expect("a valid time")
            .naive_utc();
        let table = [
            (0, "just now"),
            (59, "just now"),
            (60, "1 min ago"),
            (3_599, "59 min ago"),
            (3_600, "1 h ago"),
            (86_399, "23 h ago"),
            (86_400, "yesterday"),
            (2 * 86_400, "2 days ago"),
            (90 * 86_400, "3 months ago"),
            (800 * 86_400, "2 years ago"),
            // A clock that went backwards is "just now", not a negative duration.
            (-30, "just now"),
        ];
        for (secs, want) in table {
            let t = now - chrono::Duration::seconds(secs);
            assert_eq!(ago(t, now), want, "{secs}s");
        }
    }

    #[test]
    fn durations_read_as_people_say_them() {
        let table = [
            (0, "0 s"),
            (59, "59 s"),
            (60, "1 min"),
            (3_599, "59 min"),
            (3_600, "1 h"),
            (3_900, "1 h 5 min"),
            (86_400, "1 day"),
            (90_000, "1 day 1 h"),
            (172_800, "2 days"),
            (183_600, "2 days 3 h"),
            (-5, "0 s"),
        ];
        for (secs, want) in table {
            assert_eq!(
                duration_text(chrono::Duration::seconds(secs)),
                want,
                "{secs}"
            );
        }
    }

    #[test]
    fn shas_are_cut_to_eight_characters() {
        assert_eq!(short_sha("0123456789abcdef"), "01234567");
        assert_eq!(short_sha("abc"), "abc");
        assert_eq!(short_sha("ééééééééé"), "éééééééé");
    }
}
