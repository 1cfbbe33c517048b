//! Ids and timestamps as stored: UUIDs as lowercase hyphenated TEXT (one schema for both
//! backends), times as UTC with microsecond precision (PostgreSQL's, so both round-trip alike).

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use uuid::Uuid;

/// A new id. UUIDv7 sorts by creation time, which keeps index inserts append-only.
pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// Now, truncated to microseconds.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Parses an id from a URL or a body into its stored form; `None` if it is not a UUID.
pub fn parse(raw: &str) -> Option<String> {
    Uuid::parse_str(raw.trim()).ok().map(|u| u.to_string())
}

/// A stored time as the API shows it: RFC 3339 in UTC with `Z`.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}
