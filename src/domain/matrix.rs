//! The release matrix rules of SPEC §4: the state of one cell, "superseded by", progress and
//! the "ready to complete" verdict. Pure functions over what the database layer loaded.

use super::{DeploymentStatus, EnvType};
use serde::Serialize;

/// The state of one version in one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    Deployed,
    InProgress,
    Failed,
    NotDeployed,
}

impl CellState {
    /// The state from the most recent deployment of (product, version, environment) that is
    /// not aborted, or `None` when there is none.
    pub fn from_latest(latest_non_aborted: Option<DeploymentStatus>) -> Self {
        match latest_non_aborted {
            None => Self::NotDeployed,
            Some(DeploymentStatus::Completed) => Self::Deployed,
            Some(DeploymentStatus::Pending | DeploymentStatus::Started) => Self::InProgress,
            Some(DeploymentStatus::Failed) => Self::Failed,
            // Callers filter aborted deployments out; should one slip through it is no state.
            Some(DeploymentStatus::Aborted) => Self::NotDeployed,
        }
    }

    /// Picks the state out of deployments listed newest first, ignoring aborted ones.
    pub fn from_history<I: IntoIterator<Item = DeploymentStatus>>(newest_first: I) -> Self {
        Self::from_latest(
            newest_first
                .into_iter()
                .find(|s| *s != DeploymentStatus::Aborted),
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployed => "deployed",
            Self::InProgress => "in_progress",
            Self::Failed => "failed",
            Self::NotDeployed => "not_deployed",
        }
    }

    pub fn emoji(self) -> &'static str {
        match self {
            Self::Deployed => "✅",
            Self::InProgress => "🟡",
            Self::Failed => "🔴",
            Self::NotDeployed => "❌",
        }
    }

    /// The text label shown next to the emoji: state is never conveyed by colour alone.
    pub fn label(self) -> &'static str {
        match self {
            Self::Deployed => "Deployed",
            Self::InProgress => "In progress",
            Self::Failed => "Failed",
            Self::NotDeployed => "Not deployed",
        }
    }
}

/// What runs in an environment now, as the supersession rule needs it: the product's
/// deployment there that completed last.
#[derive(Debug, Clone, Copy)]
pub struct Running<'a, T> {
    pub version_id: &'a str,
    pub version: &'a str,
    /// When that deployment completed.
    pub completed_at: &'a T,
    /// When its version was first seen (the version's `created_at`).
    pub first_seen: &'a T,
}

/// A deployed cell whose environment now runs another version of the product (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Superseded<'a> {
    /// The version running there now.
    pub by: &'a str,
    /// That version is older than this one (first seen earlier): the environment was rolled
    /// back, and this cell no longer counts as deployed.
    pub rolled_back: bool,
}

/// "superseded by" / "rolled back to": a deployed cell whose environment has since received a
/// newer completed deployment of another version of the same product names the version
/// running there now, and says whether that was a rollback to an older version.
///
/// `cell_completed_at` is when this version's deployment there completed; `first_seen` is
/// when this version was first seen.
pub fn superseded<'a, T: PartialOrd>(
    state: CellState,
    this_version_id: &str,
    first_seen: &T,
    cell_completed_at: Option<&T>,
    now_running: Option<Running<'a, T>>,
) -> Option<Superseded<'a>> {
    if state != CellState::Deployed {
        return None;
    }
    let running = now_running?;
    match cell_completed_at {
        Some(mine) if running.version_id != this_version_id && running.completed_at > mine => {
            Some(Superseded {
                by: running.version,
                rolled_back: running.first_seen < first_seen,
            })
        }
        _ => None,
    }
}

/// Whether a cell counts toward progress and readiness: deployed, and not rolled back from.
pub fn counts_as_deployed(state: CellState, superseded: Option<&Superseded<'_>>) -> bool {
    state == CellState::Deployed && !superseded.is_some_and(|s| s.rolled_back)
}

/// One row of the matrix as the readiness rule needs it, cells in column order.
pub struct ReadinessRow {
    /// Per column: does this version count as deployed there ([`counts_as_deployed`])?
    pub deployed: Vec<bool>,
    /// Per column: has this row's product ever had a completed deployment there?
    pub product_ever_completed: Vec<bool>,
}

/// SPEC §4 "ready to complete": every version is deployed in each of its product's production
/// targets ([`at_production_targets`]). An empty release is never ready: there is nothing to
/// complete.
pub fn ready_to_complete(columns: &[EnvType], rows: &[ReadinessRow]) -> bool {
    !rows.is_empty() && rows.iter().all(|row| at_production_targets(columns, row))
}

/// Where a version must be deployed for its release to be ready (SPEC §4): column indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Every one of these: the production-type environments where the product has ever
    /// completed a deployment.
    All(Vec<usize>),
    /// Any one of these: the product never reached production, so one production-type
    /// environment is enough.
    Any(Vec<usize>),
    /// No production-type environment at all: the last column stands in.
    Last(usize),
    /// No columns: nothing can be reached.
    None,
}

/// A version's production targets, from the columns' types and where its product has ever
/// completed a deployment.
pub fn production_targets(columns: &[EnvType], product_ever_completed: &[bool]) -> Targets {
    if columns.is_empty() {
        return Targets::None;
    }
    let prod: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i] == EnvType::Production)
        .collect();
    if prod.is_empty() {
        return Targets::Last(columns.len() - 1);
    }
    let known: Vec<usize> = prod
        .iter()
        .copied()
        .filter(|&i| product_ever_completed.get(i) == Some(&true))
        .collect();
    if known.is_empty() {
        Targets::Any(prod)
    } else {
        Targets::All(known)
    }
}

/// Whether one version is deployed in each of its product's production targets
/// ([`production_targets`]).
pub fn at_production_targets(columns: &[EnvType], row: &ReadinessRow) -> bool {
    let deployed = |i: &usize| row.deployed.get(*i) == Some(&true);
    match production_targets(columns, &row.product_ever_completed) {
        Targets::All(t) => t.iter().all(deployed),
        Targets::Any(t) => t.iter().any(deployed),
        Targets::Last(i) => deployed(&i),
        Targets::None => false,
    }
}

/// The environment type a product's production is compared with for drift: the last type
/// before production among the environments there are (`None` when there is only production).
pub fn drift_baseline(columns: &[EnvType]) -> Option<EnvType> {
    columns
        .iter()
        .copied()
        .filter(|t| *t != EnvType::Production)
        .max()
}

/// Drift (SPEC §6): the versions running in the last non-production environment type differ
/// from those running in production. `running` is, per column, the version running there (if
/// any). Dev running ahead of production is the normal flow, not drift; a product with nothing
/// running on either side has nothing to compare.
pub fn drift(columns: &[EnvType], running: &[Option<&str>]) -> bool {
    let Some(baseline) = drift_baseline(columns) else {
        return false;
    };
    let side = |t: EnvType| -> Vec<&str> {
        columns
            .iter()
            .zip(running)
            .filter(|(c, _)| **c == t)
            .filter_map(|(_, v)| *v)
            .collect()
    };
    let (before, prod) = (side(baseline), side(EnvType::Production));
    match (before.first(), prod.is_empty()) {
        (Some(first), false) => before.iter().chain(&prod).any(|v| v != first),
        _ => false,
    }
}

/// Progress of one column: how many of the release's versions count as deployed there.
pub fn deployed_count(rows: &[ReadinessRow], column: usize) -> usize {
    rows.iter()
        .filter(|r| r.deployed.get(column) == Some(&true))
        .count()
}

#[cfg(test)]
mod tests {
    use super::CellState::*;
    use super::*;
    use DeploymentStatus as S;

    #[test]
    fn the_latest_non_aborted_deployment_decides() {
        assert_eq!(CellState::from_history([]), NotDeployed);
        assert_eq!(CellState::from_history([S::Aborted]), NotDeployed);
        assert_eq!(CellState::from_history([S::Aborted, S::Failed]), Failed);
        assert_eq!(CellState::from_history([S::Completed, S::Failed]), Deployed);
        assert_eq!(
            CellState::from_history([S::Started, S::Completed]),
            InProgress
        );
        assert_eq!(CellState::from_history([S::Pending]), InProgress);
    }

    #[test]
    fn drift_compares_the_last_stage_before_production_with_production() {
        use EnvType::*;
        let cols = [Dev, Test, Staging, Production];
        let table: &[(&[Option<&str>], bool)] = &[
            // Only dev differs: the normal flow.
            (&[Some("2"), Some("1"), Some("1"), Some("1")], false),
            // Staging ahead of production.
            (&[Some("2"), Some("2"), Some("2"), Some("1")], true),
            // Nothing in staging or nothing in production: nothing to compare.
            (&[Some("2"), Some("1"), None, Some("1")], false),
            (&[Some("2"), Some("1"), Some("1"), None], false),
            (&[None, None, None, None], false),
        ];
        for (running, want) in table {
            assert_eq!(drift(&cols, running), *want, "{running:?}");
        }
        // Two production environments that disagree with each other drift too.
        let two = [Staging, Production, Production];
        assert!(drift(&two, &[Some("1"), Some("1"), Some("0")]));
        assert!(!drift(&two, &[Some("1"), Some("1"), Some("1")]));
        // Without staging the baseline is test; with only production there is none.
        assert!(drift(
            &[Dev, Test, Production],
            &[Some("3"), Some("2"), Some("1")]
        ));
        assert!(!drift(
            &[Dev, Test, Production],
            &[Some("3"), Some("1"), Some("1")]
        ));
        assert!(!drift(&[Production, Production], &[Some("1"), Some("2")]));
    }

    fn running<'a>(id: &'a str, version: &'a str, at: &'a i32, seen: &'a i32) -> Running<'a, i32> {
        Running {
            version_id: id,
            version,
            completed_at: at,
            first_seen: seen,
        }
    }

    #[test]
    fn superseded_only_by_a_later_completed_other_version_and_rolled_back_when_older() {
        let by = |by, rolled_back| Some(Superseded { by, rolled_back });
        // (state, this version's first seen, this cell's completion, what runs now, answer)
        let table = [
            // A newer version (first seen later) deployed after: superseded.
            (
                Deployed,
                5,
                Some(1),
                Some(running("v2", "1.0.5", &2, &6)),
                by("1.0.5", false),
            ),
            // An older version deployed after: rolled back.
            (
                Deployed,
                5,
                Some(1),
                Some(running("v2", "1.0.3", &2, &4)),
                by("1.0.3", true),
            ),
            // First seen at the same instant: not older, so not a rollback.
            (
                Deployed,
                5,
                Some(1),
                Some(running("v2", "1.0.3", &2, &5)),
                by("1.0.3", false),
            ),
            // This cell completed after the other one: it runs there itself.
            (
                Deployed,
                5,
                Some(3),
                Some(running("v2", "1.0.3", &2, &4)),
                None,
            ),
            // Runs there itself.
            (
                Deployed,
                5,
                Some(1),
                Some(running("v1", "1.0.4", &2, &5)),
                None,
            ),
            // Only deployed cells are superseded.
            (
                Failed,
                5,
                Some(1),
                Some(running("v2", "1.0.3", &2, &4)),
                None,
            ),
            (Deployed, 5, Some(1), None, None),
        ];
        for (state, seen, mine, now, want) in table {
            assert_eq!(superseded(state, "v1", &seen, mine.as_ref(), now), want);
        }
    }

    #[test]
    fn a_rolled_back_cell_does_not_count_as_deployed() {
        let rolled = Superseded {
            by: "1.0.3",
            rolled_back: true,
        };
        let newer = Superseded {
            by: "1.0.5",
            rolled_back: false,
        };
        assert!(counts_as_deployed(Deployed, None));
        assert!(counts_as_deployed(Deployed, Some(&newer)));
        assert!(!counts_as_deployed(Deployed, Some(&rolled)));
        assert!(!counts_as_deployed(InProgress, None));
    }

    fn row(cells: &[CellState], ever: &[bool]) -> ReadinessRow {
        ReadinessRow {
            deployed: cells.iter().map(|c| counts_as_deployed(*c, None)).collect(),
            product_ever_completed: ever.to_vec(),
        }
    }

    #[test]
    fn readiness_follows_the_production_targets() {
        use EnvType::*;
        let cols = [Dev, Production, Production];
        // Product known in both production environments: must be in both.
        assert!(!ready_to_complete(
            &cols,
            &[row(&[Deployed, Deployed, NotDeployed], &[true, true, true])]
        ));
        assert!(ready_to_complete(
            &cols,
            &[row(
                &[NotDeployed, Deployed, Deployed],
                &[false, true, true]
            )]
        ));
        // Never in production before: one production environment is enough.
        assert!(ready_to_complete(
            &cols,
            &[row(
                &[Deployed, NotDeployed, Deployed],
                &[true, false, true]
            )]
        ));
        assert!(!ready_to_complete(
            &cols,
            &[row(&[Deployed, Failed, NotDeployed], &[true, false, false])]
        ));
        // No production environment: the last column stands in.
        assert!(ready_to_complete(
            &[Dev, Staging],
            &[row(&[NotDeployed, Deployed], &[false, true])]
        ));
        assert!(!ready_to_complete(&cols, &[]));
    }

    #[test]
    fn production_targets_follow_where_the_product_has_been() {
        use EnvType::*;
        let cols = [Dev, Production, Production];
        assert_eq!(
            production_targets(&cols, &[true, true, false]),
            Targets::All(vec![1])
        );
        assert_eq!(
            production_targets(&cols, &[true, false, false]),
            Targets::Any(vec![1, 2])
        );
        assert_eq!(
            production_targets(&[Dev, Staging], &[false, false]),
            Targets::Last(1)
        );
        assert_eq!(production_targets(&[], &[]), Targets::None);
    }

    #[test]
    fn the_release_is_ready_when_every_version_is_at_its_targets() {
        use EnvType::*;
        let cols = [Dev, Production];
        let there = row(&[Deployed, Deployed], &[true, true]);
        let missing = row(&[Deployed, NotDeployed], &[true, true]);
        assert!(at_production_targets(&cols, &there));
        assert!(!at_production_targets(&cols, &missing));
        assert!(ready_to_complete(
            &cols,
            &[row(&[Deployed, Deployed], &[true, true])]
        ));
        assert!(!ready_to_complete(&cols, &[there, missing]));
        assert!(!at_production_targets(&[], &row(&[], &[])));
    }
}
