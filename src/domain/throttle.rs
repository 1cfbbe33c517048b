//! Sign-in throttling: the rule, with time passed in (storage is `store::access`, the use case
//! `service::accounts::sign_in`).
//!
//! Failed sign-ins are counted per user name and per client address within a window. Past the
//! limit the subject is locked for a while: even the right password is refused until then, so
//! guessing cannot continue at full speed. The address limit is higher than the user limit,
//! because one address can be an office behind NAT (or a reverse proxy).

use chrono::{Duration, NaiveDateTime};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_failures: i32,
    pub window: Duration,
    pub lockout: Duration,
}

/// Five wrong passwords for one user name in 15 minutes lock that name for 15 minutes.
pub const PER_USER: Limits = Limits {
    max_failures: 5,
    window: Duration::minutes(15),
    lockout: Duration::minutes(15),
};

/// Thirty failures from one address in 15 minutes lock that address for 15 minutes.
pub const PER_ADDRESS: Limits = Limits {
    max_failures: 30,
    window: Duration::minutes(15),
    lockout: Duration::minutes(15),
};

/// What is stored per subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub failures: i32,
    pub window_start: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

/// Until when the subject is locked, if it is locked at `now`.
pub fn locked_until(record: Option<&Record>, now: NaiveDateTime) -> Option<NaiveDateTime> {
    record
        .and_then(|r| r.locked_until)
        .filter(|until| *until > now)
}

/// The record after one more failure at `now`.
pub fn after_failure(record: Option<Record>, now: NaiveDateTime, limits: Limits) -> Record {
    let counting = record.filter(|r| {
        // A running lockout runs to its end; otherwise failures add up within the window, and
        // a failure after the window (or after a lockout ended) starts counting afresh.
        locked_until(Some(r), now).is_some()
            || (r.locked_until.is_none() && now - r.window_start < limits.window)
    });
    let mut r = counting.unwrap_or(Record {
        failures: 0,
        window_start: now,
        locked_until: None,
    });
    r.failures += 1;
    if r.failures >= limits.max_failures && r.locked_until.is_none() {
        r.locked_until = Some(now + limits.lockout);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(minute: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 28)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("valid time")
            + Duration::minutes(minute)
    }

    #[test]
    fn locks_after_the_limit_and_unlocks_after_the_lockout() {
        let mut r = None;
        for i in 0..PER_USER.max_failures - 1 {
            r = Some(after_failure(r, t(i as i64), PER_USER));
            assert_eq!(locked_until(r.as_ref(), t(i as i64)), None);
        }
        let locked = after_failure(r, t(5), PER_USER);
        assert_eq!(locked_until(Some(&locked), t(5)), Some(t(20)));
        assert_eq!(locked_until(Some(&locked), t(19)), Some(t(20)));
        assert_eq!(locked_until(Some(&locked), t(20)), None);
        // After the lockout, one failure is just one failure.
        let fresh = after_failure(Some(locked), t(21), PER_USER);
        assert_eq!(fresh.failures, 1);
        assert_eq!(locked_until(Some(&fresh), t(21)), None);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let mut r = None;
        for i in 0..20 {
            // One failure every 4 minutes: never 5 within 15 minutes of the window start.
            r = Some(after_failure(r, t(i * 4), PER_USER));
            assert_eq!(locked_until(r.as_ref(), t(i * 4)), None, "failure {i}");
        }
    }

    #[test]
    fn a_lockout_outlives_its_window() {
        let mut r = None;
        for i in 0..PER_USER.max_failures {
            // The fifth failure comes at minute 14: locked until minute 29.
            r = Some(after_failure(r, t(if i == 4 { 14 } else { 0 }), PER_USER));
        }
        let later = after_failure(r, t(16), PER_USER);
        assert_eq!(locked_until(Some(&later), t(16)), Some(t(29)));
    }

    #[test]
    fn failures_during_a_lockout_do_not_extend_it() {
        let mut r = None;
        for i in 0..PER_USER.max_failures {
            r = Some(after_failure(r, t(0), PER_USER));
            let _ = i;
        }
        let again = after_failure(r, t(10), PER_USER);
        assert_eq!(locked_until(Some(&again), t(10)), Some(t(15)));
    }
}
