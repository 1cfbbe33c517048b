//! The add-version form's suggestions (SPEC §6): every product name and every distinct version
//! string. Reading the version strings scans the versions (≈4 ms at 25,000 versions on this
//! machine, most of a release page's budget), and they change only when a pipeline reports a
//! new version, so they are kept for a moment: read again when this process has announced a
//! change since (at most once a second), and at least every half minute, for what other
//! instances wrote. A suggestion that lags is harmless: the inputs take any text.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the form suggests; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    pub products: Arc<[String]>,
    pub versions: Arc<[String]>,
}

/// After a change this process announced, the lists are read again, but not more than this
/// often (a busy pipeline announces hundreds of changes a second).
const AFTER_A_CHANGE: Duration = Duration::from_secs(1);
/// What other instances wrote shows up within this.
const AT_MOST: Duration = Duration::from_secs(30);

struct Kept {
    lists: Lists,
    at: Instant,
    /// `Changes::announced` when they were read.
    changes: u64,
}

/// The kept lists, shared by the clones of a `Context`.
#[derive(Clone, Default)]
pub struct Suggestions(Arc<Mutex<Option<Kept>>>);

/// Whether lists read at `age` ago, when `then` changes had been announced, still stand now
/// that `now` have been.
fn still_good(age: Duration, then: u64, now: u64) -> bool {
    age < AT_MOST && (then == now || age < AFTER_A_CHANGE)
}

impl Suggestions {
    /// The lists, read with `read` when the kept ones are stale. The lock is held while they
    /// are read, so that concurrent pages wait for one read rather than each doing it.
    pub fn get<E>(
        &self,
        changes: u64,
        read: impl FnOnce() -> Result<(Vec<String>, Vec<String>), E>,
    ) -> Result<Lists, E> {
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(k) = kept.as_ref() {
            if still_good(k.at.elapsed(), k.changes, changes) {
                return Ok(k.lists.clone());
            }
        }
        let (products, versions) = read()?;
        let lists = Lists {
            products: products.into(),
            versions: versions.into(),
        };
        *kept = Some(Kept {
            lists: lists.clone(),
            at: Instant::now(),
            changes,
        });
        Ok(lists)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_read_again_after_a_change_or_after_half_a_minute() {
        let s = Duration::from_secs;
        // (age, changes then, changes now, still good)
        let table = [
            (s(0), 5, 5, true),
            (s(29), 5, 5, true),
            (s(30), 5, 5, false),
            (Duration::from_millis(500), 5, 6, true),
            (s(1), 5, 6, false),
        ];
        for (age, then, now, want) in table {
            assert_eq!(still_good(age, then, now), want, "{age:?} {then} {now}");
        }
    }

    #[test]
    fn kept_lists_are_served_until_stale() {
        let cache = Suggestions::default();
        let reads = std::cell::Cell::new(0);
        let read = || -> Result<(Vec<String>, Vec<String>), ()> {
            reads.set(reads.get() + 1);
            Ok((vec!["api".into()], vec![format!("1.{}", reads.get())]))
        };
        assert_eq!(&*cache.get(0, read).expect("lists").versions, ["1.1"]);
        assert_eq!(&*cache.get(0, read).expect("lists").versions, ["1.1"]);
        assert_eq!(reads.get(), 1, "served from what was kept");
        // A change less than a second later: still kept, at most one read a second.
        assert_eq!(&*cache.get(1, read).expect("lists").versions, ["1.1"]);
        assert_eq!(reads.get(), 1);
    }
}
