//! Sign-in throttling: the rule, with time passed in (storage is `store::access`, the use case
//! `service::accounts::sign_in`).
//!
//! Failed sign-ins are counted per user name and per client address within a window. Past the
//! limit the subject is locked for a while: even the right password is refused until then, so
//! guessing cannot continue at full speed. The address limit is higher than the user limit,
//! because one address can be an office behind NAT (or a reverse proxy).
//!
//! Every attempt is counted *before* its password is checked ([`reserve`], in the same
//! transaction that reads the record), so that a burst of simultaneous attempts cannot all
//! read "not locked yet" and all be checked (SPEC §7); a right password then gives its attempt
//! back ([`release`]).

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

/// Counts one attempt at `now` before its password is checked: the record to store, or until
/// when the subject is locked (the attempt is refused and not counted).
pub fn reserve(
    record: Option<Record>,
    now: NaiveDateTime,
    limits: Limits,
) -> Result<Record, NaiveDateTime> {
    match locked_until(record.as_ref(), now) {
        Some(until) => Err(until),
        None => Ok(after_failure(record, now, limits)),
    }
}

/// Gives back an attempt [`reserve`] counted, once its password was right. A lockout the count
/// reached is lifted with it when the count falls below the limit again.
pub fn release(mut record: Record, limits: Limits) -> Record {
    record.failures = (record.failures - 1).max(0);
    if record.failures < limits.max_failures {
        record.locked_until = None;
    }
    record
}

/// How long a record matters: past this, [`forgotten`] records are deleted (the longest window
/// and lockout of both limits).
pub const FORGET_AFTER: Duration = Duration::minutes(15);

/// A record that changes nothing any more: not locked, and the next failure would start
/// counting afresh (its lockout is over, or its window has passed). Deleting it is harmless;
/// `store::access::prune_throttle` restates this in SQL.
pub fn forgotten(record: &Record, now: NaiveDateTime) -> bool {
    match record.locked_until {
        Some(until) => until <= now,
        None => now - record.window_start >= FORGET_AFTER,
    }
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

    #[test]
    fn every_attempt_is_counted_before_its_check_and_a_right_one_gives_it_back() {
        // A burst of 100 at the same instant: the first five are let through, the rest refused.
        let mut stored = None;
        let mut checked = 0;
        for _ in 0..100 {
            match reserve(stored.clone(), t(0), PER_USER) {
                Ok(r) => {
                    checked += 1;
                    stored = Some(r);
                }
                Err(until) => assert_eq!(until, t(15)),
            }
        }
        assert_eq!(checked, PER_USER.max_failures);
        // The fifth attempt reached the limit; had its password been right, the lock goes.
        let fifth = stored.clone().expect("a record");
        assert_eq!(fifth.locked_until, Some(t(15)));
        let released = release(fifth, PER_USER);
        assert_eq!((released.failures, released.locked_until), (4, None));
        // One attempt, right: nothing left counted.
        let one = reserve(None, t(0), PER_ADDRESS).expect("not locked");
        assert_eq!(release(one, PER_ADDRESS).failures, 0);
    }

    #[test]
    fn forgotten_records_change_nothing_when_deleted() {
        let record = |failures, window_start, locked_until| Record {
            failures,
            window_start,
            locked_until,
        };
        // (record, at, forgotten?)
        let table = [
            (record(3, t(0), None), t(14), false),
            (record(3, t(0), None), t(15), true),
            (record(5, t(0), Some(t(15))), t(14), false),
            (record(5, t(0), Some(t(15))), t(15), true),
            (record(5, t(10), Some(t(25))), t(20), false),
            (record(29, t(0), None), t(16), true),
        ];
        for (r, at, want) in table {
            assert_eq!(forgotten(&r, at), want, "{r:?} at {at}");
            if want {
                // Deleting it is harmless: the next failure and lock state are the same.
                for limits in [PER_USER, PER_ADDRESS] {
                    assert!(FORGET_AFTER >= limits.window && FORGET_AFTER >= limits.lockout);
                    assert_eq!(
                        after_failure(Some(r.clone()), at, limits),
                        after_failure(None, at, limits)
                    );
                    assert_eq!(locked_until(Some(&r), at), None);
                }
            }
        }
    }
}
