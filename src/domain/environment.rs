//! Environment types, their inference from a name, and the one column order of every matrix.

use serde::Serialize;
use std::cmp::Ordering;

/// The kind of deployment target. The declaration order is the matrix column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvType {
    Dev,
    Test,
    Staging,
    Production,
}

impl EnvType {
    pub const ALL: [EnvType; 4] = [Self::Dev, Self::Test, Self::Staging, Self::Production];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Test => "test",
            Self::Staging => "staging",
            Self::Production => "production",
        }
    }

    /// Parses a type name given by a user (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// SPEC §2: first match wins. `preprod` must be tested before `prod`, hence staging first.
    pub fn infer_from_name(name: &str) -> Self {
        let n = name.to_lowercase();
        let has = |needles: &[&str]| needles.iter().any(|w| n.contains(w));
        if has(&["preprod", "stag", "uat"]) {
            Self::Staging
        } else if has(&["prod", "live"]) {
            Self::Production
        } else if has(&["test", "qa", "integration"]) {
            Self::Test
        } else {
            Self::Dev
        }
    }
}

/// The column order of every matrix: type, then position, then name.
pub fn column_order(a: (EnvType, i32, &str), b: (EnvType, i32, &str)) -> Ordering {
    a.cmp(&b)
}

#[cfg(test)]
mod tests {
    use super::EnvType::*;
    use super::*;

    #[test]
    fn types_are_inferred_first_match_wins() {
        for (name, want) in [
            ("Production", Production),
            ("prod-eu", Production),
            ("LIVE", Production),
            ("preprod", Staging),
            ("Staging", Staging),
            ("UAT", Staging),
            ("Test", Test),
            ("qa-2", Test),
            ("integration", Test),
            ("Dev", Dev),
            ("sandbox", Dev),
        ] {
            assert_eq!(EnvType::infer_from_name(name), want, "{name}");
        }
    }

    #[test]
    fn columns_sort_by_type_then_position_then_name() {
        let mut envs = [
            (Production, 0, "Production"),
            (Dev, 1, "b-dev"),
            (Dev, 1, "a-dev"),
            (Staging, 0, "Staging"),
            (Dev, 0, "z-dev"),
            (Test, 0, "Test"),
        ];
        envs.sort_by(|a, b| column_order(*a, *b));
        let names: Vec<_> = envs.iter().map(|e| e.2).collect();
        assert_eq!(
            names,
            ["z-dev", "a-dev", "b-dev", "Test", "Staging", "Production"]
        );
    }
}
