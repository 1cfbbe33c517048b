//! What the maintained read models hold, defined over a deployment history.
//!
//! Reads never scan the deployment history: four small tables are kept up to date in the same
//! transaction as every deployment change, for speed, in SQL — statement by statement on the
//! event path (`store::read_models::record`), as CTEs of the PostgreSQL statements
//! (`store::ingest::statements`) and all at once from the history (`store::rebuild`). Each of
//! those restates the rules below; `tests/integration/rules_in_sql.rs` holds all three to these
//! functions on generated histories.
//!
//! Orders: "newest" is by (created_at, id); "completed last" by (updated_at, id), since a
//! completed deployment never changes again, so its `updated_at` is when it completed.

use super::deployment::Deployment;
use super::DeploymentStatus;
use chrono::NaiveDateTime;
use std::collections::BTreeMap;

/// (version id, environment id) or (product id, environment id).
pub type Pair<'a> = (&'a str, &'a str);

fn newest<'a>(a: &'a Deployment, b: &'a Deployment) -> &'a Deployment {
    if (b.created_at, &b.id) > (a.created_at, &a.id) {
        b
    } else {
        a
    }
}

/// A matrix cell's deployment (`version_env_heads`): per (version, environment), the newest
/// deployment that was not aborted (SPEC §4: aborted deployments are ignored).
pub fn heads(history: &[Deployment]) -> BTreeMap<Pair<'_>, &Deployment> {
    let mut out: BTreeMap<Pair<'_>, &Deployment> = BTreeMap::new();
    for d in history
        .iter()
        .filter(|d| d.status != DeploymentStatus::Aborted)
    {
        let key = (d.version_id.as_str(), d.environment_id.as_str());
        let best = out.get(&key).map_or(d, |b| newest(b, d));
        out.insert(key, best);
    }
    out
}

/// When a version first reached an environment (`version_env_firsts`): per (version,
/// environment), the earliest completion.
pub fn firsts(history: &[Deployment]) -> BTreeMap<Pair<'_>, NaiveDateTime> {
    let mut out: BTreeMap<Pair<'_>, NaiveDateTime> = BTreeMap::new();
    for d in history
        .iter()
        .filter(|d| d.status == DeploymentStatus::Completed)
    {
        let key = (d.version_id.as_str(), d.environment_id.as_str());
        let at = out
            .get(&key)
            .map_or(d.updated_at, |t| (*t).min(d.updated_at));
        out.insert(key, at);
    }
    out
}

/// What runs in an environment now (`product_env_current`, SPEC §5 "current version"): per
/// (product, environment), the completed deployment that completed last.
pub fn current(history: &[Deployment]) -> BTreeMap<Pair<'_>, &Deployment> {
    let mut out: BTreeMap<Pair<'_>, &Deployment> = BTreeMap::new();
    for d in history
        .iter()
        .filter(|d| d.status == DeploymentStatus::Completed)
    {
        let key = (d.product_id.as_str(), d.environment_id.as_str());
        let best = match out.get(&key) {
            Some(b) if (b.updated_at, &b.id) > (d.updated_at, &d.id) => *b,
            _ => d,
        };
        out.insert(key, best);
    }
    out
}

/// The latest attempt in an environment (`product_env_latest`): per (product, environment), the
/// newest deployment of any status.
pub fn latest(history: &[Deployment]) -> BTreeMap<Pair<'_>, &Deployment> {
    let mut out: BTreeMap<Pair<'_>, &Deployment> = BTreeMap::new();
    for d in history {
        let key = (d.product_id.as_str(), d.environment_id.as_str());
        let best = out.get(&key).map_or(d, |b| newest(b, d));
        out.insert(key, best);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::DeploymentStatus::*;
    use super::*;
    use chrono::{Duration, NaiveDate};

    fn t(minute: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("a valid time")
            + Duration::minutes(minute)
    }

    /// (id, product, version, environment, status, created minute, updated minute)
    fn d(row: (&str, &str, &str, &str, DeploymentStatus, i64, i64)) -> Deployment {
        let (id, p, v, e, status, created, updated) = row;
        Deployment {
            id: id.into(),
            product_id: p.into(),
            version_id: v.into(),
            environment_id: e.into(),
            status,
            invoke_id: None,
            deployed_by: None,
            deployed_by_name: None,
            deployed_by_email: None,
            build_url: None,
            deploy_url: None,
            build_number: None,
            source_system: None,
            started_at: None,
            completed_at: None,
            extra_metadata: "{}".into(),
            created_at: t(created),
            updated_at: t(updated),
        }
    }

    fn history() -> Vec<Deployment> {
        [
            ("d1", "api", "1.0", "prod", Completed, 0, 5),
            ("d2", "api", "1.1", "prod", Completed, 1, 3),
            ("d3", "api", "1.1", "prod", Aborted, 9, 9),
            ("d4", "api", "1.0", "prod", Failed, 6, 7),
            ("d5", "api", "1.0", "dev", Started, 2, 2),
            ("d6", "api", "1.0", "dev", Completed, 2, 4),
        ]
        .into_iter()
        .map(d)
        .collect()
    }

    fn ids<'a>(m: &BTreeMap<Pair<'a>, &'a Deployment>) -> Vec<(Pair<'a>, &'a str)> {
        m.iter().map(|(k, d)| (*k, d.id.as_str())).collect()
    }

    #[test]
    fn heads_are_the_newest_deployment_not_aborted() {
        let h = history();
        assert_eq!(
            ids(&heads(&h)),
            [
                (("1.0", "dev"), "d6"),  // equal times: the larger id
                (("1.0", "prod"), "d4"), // failed, newer than the completion
                (("1.1", "prod"), "d2"), // the abort is ignored
            ]
        );
    }

    #[test]
    fn current_is_what_completed_last_and_latest_any_newest_attempt() {
        let h = history();
        // 1.1 started later-numbered but completed before 1.0 (minute 3 < 5): 1.0 runs.
        assert_eq!(
            ids(&current(&h)),
            [(("api", "dev"), "d6"), (("api", "prod"), "d1")]
        );
        assert_eq!(
            ids(&latest(&h)),
            [(("api", "dev"), "d6"), (("api", "prod"), "d3")]
        );
    }

    #[test]
    fn firsts_are_the_earliest_completion() {
        let mut h = history();
        h.push(d(("d7", "api", "1.0", "prod", Completed, 10, 11)));
        let f = firsts(&h);
        assert_eq!(f.get(&("1.0", "prod")), Some(&t(5)));
        assert_eq!(f.get(&("1.1", "prod")), Some(&t(3)));
        assert_eq!(f.get(&("1.0", "dev")), Some(&t(4)));
        assert_eq!(f.len(), 3);
    }
}
