//! [`StoredTime`]: a stored timestamp read without chrono's format parser on SQLite.
//!
//! SQLite keeps timestamps as text, and diesel reads each one by trying chrono's
//! `parse_from_str` with a list of patterns; every call parses the pattern again. The state
//! matrix of 1,000 products × 20 environments reads 40,000 timestamps, and that parsing was the
//! largest single cost of the page (profiled). The text diesel itself writes,
//! `YYYY-MM-DD HH:MM:SS[.fraction]`, is read here directly; anything else goes to diesel's own
//! conversion, so the result is always the same. PostgreSQL's binary timestamps go straight to
//! diesel.

use super::pool::{MultiBackend, MultiRawValue};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::{Sqlite, SqliteType, SqliteValue};

/// A `TIMESTAMP` column as loaded; `.0` is the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, FromSqlRow)]
pub struct StoredTime(pub NaiveDateTime);

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if value.value_type() == Some(SqliteType::Text) {
            if let Some(t) = parse(value.read_text()) {
                return Ok(StoredTime(t));
            }
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(StoredTime)
    }
}

impl FromSql<Timestamp, Pg> for StoredTime {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(StoredTime)
    }
}

impl FromSql<Timestamp, MultiBackend> for StoredTime {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<StoredTime, Timestamp>()
    }
}

impl From<StoredTime> for NaiveDateTime {
    fn from(t: StoredTime) -> Self {
        t.0
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1–9 fraction digits; `None` for anything
/// else (the caller falls back to diesel's parser).
fn parse(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            num(20, b.len())? * 10u32.pow(9 - u32::try_from(digits.len()).ok()?)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)?;
    let time = NaiveTime::from_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::parse;
    use chrono::NaiveDateTime;

    #[test]
    fn reads_what_diesel_writes_as_chrono_does() {
        for text in [
            "2026-11-28 14:05:09",
            "2026-11-28 14:05:09.1",
            "2026-11-28 14:05:09.123456",
            "2026-11-28 14:05:09.123456789",
            "0001-01-01 00:00:00.000001",
            "2024-02-29 23:59:59.999999",
        ] {
            let chrono = NaiveDateTime::parse_from_str(text, "%F %T%.f").ok();
            assert_eq!(parse(text), chrono, "{text}");
        }
    }

    #[test]
    fn leaves_anything_else_to_diesel() {
        for text in [
            "2026-11-28T14:05:09",
            "2026-11-28 14:05",
            "2026-02-30 00:00:00",
            "2026-11-28 14:05:60",
            "2026-11-28 14:05:09.",
            "2026-11-28 14:05:09.1234567890",
            "2026-11-28 14:05:09Z",
            "2460642.5",
            "",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
