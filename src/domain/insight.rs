//! How a release moved (SPEC §12, the release page): when it fully reached each environment,
//! how long it waited between stages, and its lead time from creation to ready to complete;
//! and when it reached production (the history, SPEC §6).
//! From the versions' first completions alone; pure functions over what the service read.

use super::matrix::{production_targets, Targets};
use super::EnvType;
use chrono::{Duration, NaiveDateTime};

/// When an environment was fully reached by a release: when the last of its versions first
/// completed a deployment there — `None` while one has not, and for an empty release.
pub fn fully_reached<T: Ord + Copy>(firsts: impl IntoIterator<Item = Option<T>>) -> Option<T> {
    let mut latest: Option<T> = None;
    for first in firsts {
        let first = first?;
        latest = Some(latest.map_or(first, |l| l.max(first)));
    }
    latest
}

/// When a release reached production, as the history says it: when the last of its versions
/// first completed a deployment in *any* production-type environment. `production_firsts` has,
/// per version, its first completion in each production environment it reached; a version
/// with none keeps the release out (`None`), and so does an empty release.
pub fn reached_production<T, V>(production_firsts: impl IntoIterator<Item = V>) -> Option<T>
where
    T: Ord + Copy,
    V: IntoIterator<Item = T>,
{
    fully_reached(production_firsts.into_iter().map(|v| v.into_iter().min()))
}

/// When each stage (environment type) was first fully reached: the earliest of its
/// environments' fully-reached times. Stages in order; only those with an environment.
pub fn stages<T: Ord + Copy>(
    columns: &[EnvType],
    reached: &[Option<T>],
) -> Vec<(EnvType, Option<T>)> {
    EnvType::ALL
        .into_iter()
        .filter(|t| columns.contains(t))
        .map(|t| {
            let first = columns
                .iter()
                .zip(reached)
                .filter(|(c, _)| **c == t)
                .filter_map(|(_, r)| *r)
                .min();
            (t, first)
        })
        .collect()
}

/// The wait between consecutive stages: (from, to, how long), `None` until both are reached.
/// A later stage reached first (a hotfix straight to production) waits zero, not less.
pub fn waits(
    stages: &[(EnvType, Option<NaiveDateTime>)],
) -> Vec<(EnvType, EnvType, Option<Duration>)> {
    stages
        .windows(2)
        .map(|w| {
            let ((a, at), (b, bt)) = (w[0], w[1]);
            let wait = match (at, bt) {
                (Some(x), Some(y)) => Some((y - x).max(Duration::zero())),
                _ => None,
            };
            (a, b, wait)
        })
        .collect()
}

/// When one version first stood at its production targets, given its first completion per
/// column: the last target's for `All`, the first one's for `Any`.
fn at_targets(targets: &Targets, firsts: &[Option<NaiveDateTime>]) -> Option<NaiveDateTime> {
    let at = |i: &usize| firsts.get(*i).copied().flatten();
    match targets {
        Targets::All(t) => fully_reached(t.iter().map(at)),
        Targets::Any(t) => t.iter().filter_map(at).min(),
        Targets::Last(i) => at(i),
        Targets::None => None,
    }
}

/// One version as the lead time needs it: its first completion per column, and per column
/// whether its product has ever completed a deployment there.
pub struct VersionFirsts {
    pub firsts: Vec<Option<NaiveDateTime>>,
    pub product_ever_completed: Vec<bool>,
}

/// The release's lead time: from its creation to the moment every version first stood at its
/// production targets (ready to complete). `None` until then, and for an empty release.
pub fn lead_time(
    created: NaiveDateTime,
    columns: &[EnvType],
    versions: &[VersionFirsts],
) -> Option<Duration> {
    if versions.is_empty() {
        return None;
    }
    let ready = fully_reached(versions.iter().map(|v| {
        at_targets(
            &production_targets(columns, &v.product_ever_completed),
            &v.firsts,
        )
    }))?;
    Some((ready - created).max(Duration::zero()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnvType::*;

    fn t(minutes: i64) -> NaiveDateTime {
        NaiveDateTime::default() + Duration::minutes(minutes)
    }

    #[test]
    fn an_environment_is_fully_reached_when_its_last_version_first_got_there() {
        assert_eq!(fully_reached([Some(3), Some(5), Some(4)]), Some(5));
        assert_eq!(fully_reached([Some(3), None]), None);
        assert_eq!(fully_reached::<i32>([]), None);
        assert_eq!(fully_reached([Some(7)]), Some(7));
    }

    #[test]
    fn a_release_reached_production_when_its_last_version_reached_any_production() {
        // Each version's earliest production completion, then the latest of those.
        assert_eq!(reached_production([vec![3, 1], vec![2]]), Some(2));
        assert_eq!(reached_production([vec![5], vec![2, 9]]), Some(5));
        assert_eq!(reached_production([vec![5], vec![]]), None);
        assert_eq!(reached_production::<i32, Vec<i32>>([]), None);
    }

    #[test]
    fn a_stage_is_reached_with_its_first_environment_and_waits_are_between_stages() {
        let cols = [Dev, Test, Staging, Production, Production];
        let reached = [
            Some(t(0)),
            Some(t(90)),
            Some(t(100)),
            Some(t(300)),
            Some(t(200)),
        ];
        let s = stages(&cols, &reached);
        assert_eq!(
            s,
            [
                (Dev, Some(t(0))),
                (Test, Some(t(90))),
                (Staging, Some(t(100))),
                (Production, Some(t(200)))
            ]
        );
        assert_eq!(
            waits(&s),
            [
                (Dev, Test, Some(Duration::minutes(90))),
                (Test, Staging, Some(Duration::minutes(10))),
                (Staging, Production, Some(Duration::minutes(100))),
            ]
        );
        // Not reached yet; a stage reached before the one before it waits zero.
        let s = stages(&[Dev, Production], &[None, Some(t(5))]);
        assert_eq!(waits(&s), [(Dev, Production, None)]);
        let s = stages(&[Dev, Production], &[Some(t(9)), Some(t(5))]);
        assert_eq!(waits(&s), [(Dev, Production, Some(Duration::zero()))]);
    }

    #[test]
    fn lead_time_runs_from_creation_to_every_version_at_its_targets() {
        let cols = [Dev, Production, Production];
        let v = |firsts: [Option<NaiveDateTime>; 3], ever: [bool; 3]| VersionFirsts {
            firsts: firsts.to_vec(),
            product_ever_completed: ever.to_vec(),
        };
        // Known in both production environments: the later of the two.
        let both = v([Some(t(10)), Some(t(50)), Some(t(70))], [true, true, true]);
        // Never in production before: the first production environment it reached.
        let any = v([Some(t(10)), None, Some(t(40))], [true, false, true]);
        assert_eq!(lead_time(t(0), &cols, &[both]), Some(Duration::minutes(70)));
        assert_eq!(lead_time(t(0), &cols, &[any]), Some(Duration::minutes(40)));
        let missing = v([Some(t(10)), Some(t(50)), None], [true, true, true]);
        assert_eq!(lead_time(t(0), &cols, &[missing]), None);
        assert_eq!(lead_time(t(0), &cols, &[]), None);
        // No production environment: the last column stands in.
        let last = v([Some(t(5)), Some(t(8)), None], [true, true, false]);
        assert_eq!(lead_time(t(1), &[Dev, Staging, Test], &[last]), None);
    }
}
