//! Release lifecycle (SPEC §4).

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStatus {
    #[default]
    Draft,
    InProgress,
    Completed,
    Cancelled,
}

impl ReleaseStatus {
    pub const ALL: [ReleaseStatus; 4] = [
        Self::Draft,
        Self::InProgress,
        Self::Completed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::Cancelled => "Cancelled",
        }
    }

    /// Parses a status name (exact canonical names, trimmed, case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Completed and cancelled releases are archived: frozen, browsable forever.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled)
    }

    /// draft ↔ in_progress; draft or in_progress → completed or cancelled. Staying put is
    /// always allowed (a no-op) unless the release is final.
    pub fn can_become(self, next: Self) -> bool {
        use ReleaseStatus::*;
        match (self, next) {
            (Completed | Cancelled, _) => false,
            (Draft | InProgress, _) => true,
        }
    }

    /// The status changes a user may pick from here, for the buttons of the release page.
    pub fn next_choices(self) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|n| *n != self && self.can_become(*n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::ReleaseStatus::*;

    #[test]
    fn archived_releases_are_final() {
        assert!(Draft.can_become(InProgress));
        assert!(InProgress.can_become(Draft));
        assert!(Draft.can_become(Completed));
        assert!(InProgress.can_become(Cancelled));
        assert!(!Completed.can_become(Draft));
        assert!(!Cancelled.can_become(InProgress));
        assert!(!Completed.can_become(Completed));
        assert_eq!(Draft.next_choices(), vec![InProgress, Completed, Cancelled]);
        assert!(Completed.next_choices().is_empty());
    }
}
