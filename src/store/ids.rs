//! Ids and timestamps as stored: UUIDs as lowercase hyphenated TEXT (one schema for both
//! backends), times as UTC with microsecond precision (PostgreSQL's, so both round-trip alike).

use chrono::{NaiveDateTime, SubsecRound, Utc};
use uuid::Uuid;

/// A new id. UUIDv7 sorts by creation time, which keeps index inserts append-only.
pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// Now, truncated to microseconds.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}
