//! Deployment status: normalisation of what CD tools report, and the transition rules (SPEC §3).

use serde::{Deserialize, Serialize};

/// The canonical status of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    Pending,
    Started,
    Completed,
    Failed,
    Aborted,
}

/// What an incoming event does to the deployment it is correlated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The deployment moves to the event's status.
    Apply,
    /// Same status again: nothing changes (200).
    NoOp,
    /// A late non-terminal event for a finished deployment: logged, changes nothing.
    LogOnly,
    /// A different terminal status for a finished deployment (409).
    Conflict,
}

impl DeploymentStatus {
    pub const ALL: [DeploymentStatus; 5] = [
        Self::Pending,
        Self::Started,
        Self::Completed,
        Self::Failed,
        Self::Aborted,
    ];

    /// Normalises a reported status: trimmed, case-insensitive, aliases of SPEC §3.
    pub fn normalise(reported: &str) -> Option<Self> {
        let s = reported.trim().to_ascii_lowercase();
        Some(match s.as_str() {
            "pending" | "queued" | "scheduled" => Self::Pending,
            "started" | "in_progress" | "init" | "deploying" => Self::Started,
            "completed" | "success" | "complete" | "finished" | "deployed" => Self::Completed,
            "failed" | "fail" | "failure" | "error" => Self::Failed,
            "aborted" | "abort" | "cancelled" | "canceled" | "cancel" | "skipped" => Self::Aborted,
            _ => return None,
        })
    }

    /// Normalises the status of a build event: the aliases of [`Self::normalise`] plus
    /// `building` (started) and `built` (completed), which Versioner's clients send for builds
    /// (SPEC §3). Deployment events do not take them: a deployment is not "built".
    pub fn normalise_build(reported: &str) -> Option<Self> {
        Self::normalise(reported).or_else(|| match reported.trim().to_ascii_lowercase().as_str() {
            "building" => Some(Self::Started),
            "built" => Some(Self::Completed),
            _ => None,
        })
    }

    /// Parses a canonical name as stored in the database.
    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Started => "started",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
        }
    }

    /// Completed, failed and aborted deployments are over; nothing moves them any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Aborted)
    }

    /// The transition rule: `pending → started → terminal` and `pending → terminal`.
    pub fn transition(current: Self, incoming: Self) -> Transition {
        use DeploymentStatus::*;
        if current == incoming {
            return Transition::NoOp;
        }
        match (current, incoming) {
            (Pending, _) => Transition::Apply,
            (Started, Pending) => Transition::LogOnly,
            (Started, _) => Transition::Apply,
            (_, Pending | Started) => Transition::LogOnly,
            _ => Transition::Conflict,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DeploymentStatus::*;
    use super::*;

    #[test]
    fn every_alias_of_the_spec_normalises() {
        let table: &[(&str, DeploymentStatus)] = &[
            ("pending", Pending),
            ("queued", Pending),
            ("scheduled", Pending),
            ("started", Started),
            ("in_progress", Started),
            ("init", Started),
            ("deploying", Started),
            ("completed", Completed),
            ("success", Completed),
            ("complete", Completed),
            ("finished", Completed),
            ("deployed", Completed),
            ("failed", Failed),
            ("fail", Failed),
            ("failure", Failed),
            ("error", Failed),
            ("aborted", Aborted),
            ("abort", Aborted),
            ("cancelled", Aborted),
            ("canceled", Aborted),
            ("cancel", Aborted),
            ("skipped", Aborted),
        ];
        for (alias, want) in table {
            assert_eq!(DeploymentStatus::normalise(alias), Some(*want), "{alias}");
            let shouted = format!("  {}\t", alias.to_uppercase());
            assert_eq!(
                DeploymentStatus::normalise(&shouted),
                Some(*want),
                "{shouted}"
            );
        }
        assert_eq!(DeploymentStatus::normalise("done"), None);
        assert_eq!(DeploymentStatus::normalise(""), None);
        // Builds take every alias too, and two of their own.
        for (alias, want) in table {
            assert_eq!(
                DeploymentStatus::normalise_build(alias),
                Some(*want),
                "{alias}"
            );
        }
    }

    #[test]
    fn builds_have_two_statuses_of_their_own_that_deployments_refuse() {
        let table: &[(&str, Option<DeploymentStatus>, Option<DeploymentStatus>)] = &[
            // reported, as a deployment's, as a build's
            ("building", None, Some(Started)),
            (" Building ", None, Some(Started)),
            ("built", None, Some(Completed)),
            ("BUILT", None, Some(Completed)),
            ("build", None, None),
            ("done", None, None),
        ];
        for (reported, deployment, build) in table {
            assert_eq!(
                DeploymentStatus::normalise(reported),
                *deployment,
                "{reported}"
            );
            assert_eq!(
                DeploymentStatus::normalise_build(reported),
                *build,
                "{reported}"
            );
        }
    }

    #[test]
    fn started_moves_forward_only() {
        assert_eq!(
            DeploymentStatus::transition(Pending, Started),
            Transition::Apply
        );
        assert_eq!(
            DeploymentStatus::transition(Pending, Failed),
            Transition::Apply
        );
        assert_eq!(
            DeploymentStatus::transition(Started, Completed),
            Transition::Apply
        );
        assert_eq!(
            DeploymentStatus::transition(Started, Pending),
            Transition::LogOnly
        );
        assert_eq!(
            DeploymentStatus::transition(Completed, Completed),
            Transition::NoOp
        );
        assert_eq!(
            DeploymentStatus::transition(Completed, Started),
            Transition::LogOnly
        );
        assert_eq!(
            DeploymentStatus::transition(Completed, Failed),
            Transition::Conflict
        );
        assert_eq!(
            DeploymentStatus::transition(Aborted, Completed),
            Transition::Conflict
        );
    }
}
