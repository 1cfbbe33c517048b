//! [`StoredTime`]: a stored timestamp read and written without chrono's format machinery on
//! SQLite.
//!
//! SQLite keeps timestamps as text, and diesel reads each one by trying chrono's
//! `parse_from_str` with a list of patterns; every call parses the pattern again. The state
//! matrix of 1,000 products × 20 environments reads 40,000 timestamps, and that parsing was the
//! largest single cost of the page (profiled). The text diesel itself writes,
//! `YYYY-MM-DD HH:MM:SS[.fraction]`, is read here directly; anything else goes to diesel's own
//! conversion, so the result is always the same. PostgreSQL's binary timestamps go straight to
//! diesel. The row models (`models.rs`) read their timestamps through it too
//! (`deserialize_as`; [`MaybeStoredTime`] for nullable ones): the event lookup loads a product,
//! an environment, a version and a deployment per event, and chrono's parser was ~3.5 % of the
//! writer thread on repeated deployments (perf).
//!
//! Writing is the mirror image: diesel formats each bound timestamp with chrono's `%F %T%.f`,
//! interpreting the format string every time; that was ~7 % of the event writer's time (perf).
//! [`StoredTime`] bound as a parameter writes the same text directly.

use super::pool::{MultiBackend, MultiRawValue};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Nullable, Timestamp};
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

/// A nullable `TIMESTAMP` column as loaded, read like [`StoredTime`]; `.0` is the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct MaybeStoredTime(pub Option<NaiveDateTime>);

impl<DB: Backend> FromSql<Nullable<Timestamp>, DB> for MaybeStoredTime
where
    StoredTime: FromSql<Timestamp, DB>,
{
    fn from_sql(value: DB::RawValue<'_>) -> deserialize::Result<Self> {
        <StoredTime as FromSql<Timestamp, DB>>::from_sql(value).map(|t| MaybeStoredTime(Some(t.0)))
    }

    fn from_nullable_sql(value: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(value) => Self::from_sql(value),
            None => Ok(MaybeStoredTime(None)),
        }
    }
}

impl From<MaybeStoredTime> for Option<NaiveDateTime> {
    fn from(t: MaybeStoredTime) -> Self {
        t.0
    }
}

impl From<StoredTime> for NaiveDateTime {
    fn from(t: StoredTime) -> Self {
        t.0
    }
}

impl ToSql<Timestamp, Sqlite> for StoredTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(format(self.0));
        Ok(IsNull::No)
    }
}

impl ToSql<Timestamp, Pg> for StoredTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, Pg>>::to_sql(&self.0, out)
    }
}

/// The text diesel writes for a SQLite timestamp (`%F %T%.f`): the fraction has 0, 3, 6 or 9
/// digits, the fewest that hold it exactly. Identical text matters: SQLite compares and sorts
/// timestamps as text, and rows written through diesel's own binding sit next to these.
fn format(t: NaiveDateTime) -> String {
    let nanos = t.nanosecond();
    // Years past 9999 and leap seconds (nanos ≥ 1e9) are chrono's business; we never make them.
    if !(0..=9999).contains(&t.year()) || nanos >= 1_000_000_000 {
        return t.format("%F %T%.f").to_string();
    }
    let mut out = String::with_capacity(29);
    let mut push = |before: Option<char>, n: u32, digits: u32| {
        out.extend(before);
        for i in (0..digits).rev() {
            out.push(char::from(b'0' + (n / 10u32.pow(i) % 10) as u8));
        }
    };
    push(None, t.year().unsigned_abs(), 4);
    push(Some('-'), t.month(), 2);
    push(Some('-'), t.day(), 2);
    push(Some(' '), t.hour(), 2);
    push(Some(':'), t.minute(), 2);
    push(Some(':'), t.second(), 2);
    if nanos == 0 {
        // no fraction
    } else if nanos % 1_000_000 == 0 {
        push(Some('.'), nanos / 1_000_000, 3);
    } else if nanos % 1_000 == 0 {
        push(Some('.'), nanos / 1_000, 6);
    } else {
        push(Some('.'), nanos, 9);
    }
    out
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
    use super::{format, parse};
    use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

    #[test]
    fn writes_what_diesel_writes() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 28)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("a valid date");
        let mut checked = 0;
        for nanos in [
            0,
            1,
            7,
            999,
            1_000,
            120_000,
            123_456,
            1_000_000,
            5_000_000,
            999_999_999,
        ] {
            for step in [0, 1, 59, 3_599, 86_399, 31_622_399] {
                let t = start + TimeDelta::seconds(step) + TimeDelta::nanoseconds(nanos);
                assert_eq!(format(t), t.format("%F %T%.f").to_string(), "{t:?}");
                assert_eq!(parse(&format(t)), Some(t));
                checked += 1;
            }
        }
        let far = NaiveDate::from_ymd_opt(12_000, 1, 2).and_then(|d| d.and_hms_opt(3, 4, 5));
        let early = NaiveDate::from_ymd_opt(7, 1, 2).and_then(|d| d.and_hms_micro_opt(3, 4, 5, 6));
        for t in [far, early].into_iter().flatten() {
            assert_eq!(format(t), t.format("%F %T%.f").to_string());
            checked += 1;
        }
        assert_eq!(checked, 62);
    }

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
