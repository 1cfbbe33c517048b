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

/// "superseded by": a deployed cell whose environment has since received a newer completed
/// deployment of another version of the same product names the version running there now.
///
/// `cell_completed_at` is when this version's deployment there completed;
/// `current` is the product's deployment there that completed last.
pub fn superseded_by<'a, T: PartialOrd>(
    state: CellState,
    this_version_id: &str,
    cell_completed_at: Option<&T>,
    current: Option<(&str, &'a str, &T)>,
) -> Option<&'a str> {
    if state != CellState::Deployed {
        return None;
    }
    let (current_version_id, current_version, current_at) = current?;
    match cell_completed_at {
        Some(mine) if current_version_id != this_version_id && current_at > mine => {
            Some(current_version)
        }
        _ => None,
    }
}

/// One row of the matrix as the readiness rule needs it, cells in column order.
pub struct ReadinessRow {
    pub cells: Vec<CellState>,
    /// Per column: has this row's product ever had a completed deployment there?
    pub product_ever_completed: Vec<bool>,
}

/// SPEC §4 "ready to complete": every version is deployed in each of its product's production
/// targets. Targets are the production-type environments where the product has ever completed
/// a deployment; a product never deployed to production needs at least one production-type
/// environment; with no production-type environment at all the last column stands in.
/// An empty release is never ready: there is nothing to complete.
pub fn ready_to_complete(columns: &[EnvType], rows: &[ReadinessRow]) -> bool {
    if rows.is_empty() || columns.is_empty() {
        return false;
    }
    let prod_columns: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i] == EnvType::Production)
        .collect();
    rows.iter().all(|row| {
        let deployed = |i: usize| row.cells.get(i) == Some(&CellState::Deployed);
        if prod_columns.is_empty() {
            return deployed(columns.len() - 1);
        }
        let targets: Vec<usize> = prod_columns
            .iter()
            .copied()
            .filter(|&i| row.product_ever_completed.get(i) == Some(&true))
            .collect();
        if targets.is_empty() {
            prod_columns.iter().any(|&i| deployed(i))
        } else {
            targets.iter().all(|&i| deployed(i))
        }
    })
}

/// Drift: the environments that run something do not all run the same version.
pub fn drift<'a, I: IntoIterator<Item = &'a str>>(running_versions: I) -> bool {
    let mut running = running_versions.into_iter();
    match running.next() {
        Some(first) => running.any(|v| v != first),
        None => false,
    }
}

/// Progress of one column: how many of the release's versions are deployed there.
pub fn deployed_count(rows_cells: &[&[CellState]], column: usize) -> usize {
    rows_cells
        .iter()
        .filter(|cells| cells.get(column) == Some(&CellState::Deployed))
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
    fn drift_means_two_running_versions_differ() {
        assert!(!drift([]));
        assert!(!drift(["v1", "v1"]));
        assert!(drift(["v1", "v2", "v1"]));
    }

    #[test]
    fn superseded_only_by_a_newer_completed_other_version() {
        assert_eq!(
            superseded_by(Deployed, "v1", Some(&1), Some(("v2", "1.2.4", &2))),
            Some("1.2.4")
        );
        assert_eq!(
            superseded_by(Deployed, "v1", Some(&3), Some(("v2", "1.2.4", &2))),
            None
        );
        assert_eq!(
            superseded_by(Deployed, "v1", Some(&1), Some(("v1", "1.2.3", &2))),
            None
        );
        assert_eq!(
            superseded_by(Failed, "v1", Some(&1), Some(("v2", "1.2.4", &2))),
            None
        );
    }

    fn row(cells: &[CellState], ever: &[bool]) -> ReadinessRow {
        ReadinessRow {
            cells: cells.to_vec(),
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
}
