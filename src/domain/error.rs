//! What can go wrong in a use case, as the service layer reports it to every face: a missing
//! record, a broken rule, invalid input, an overloaded server, or a fault. Each face maps these
//! variants once (the JSON envelope of SPEC §5, an HTML page or a form shown again); nothing
//! anywhere decides by reading an error's message.

use std::fmt;

/// The error of every use case.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The record the request names does not exist.
    #[error("{0}")]
    NotFound(Missing),
    /// The request breaks a rule about what already exists (409).
    #[error("{0}")]
    Conflict(Conflict),
    /// Fields of the request are invalid; every one found is listed.
    #[error("{}", FieldError::summary(.0))]
    Invalid(Vec<FieldError>),
    /// The server cannot take the request now (its write queue is full): worth retrying soon.
    #[error("too many writes are waiting for the database; retry shortly")]
    Busy,
    /// A fault of the server or its database; the cause is for the log, never for the user.
    #[error("internal error; the server log has the details")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    /// A single invalid field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Error {
        Error::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Error {
        Error::Internal(cause.into())
    }
}

impl From<Missing> for Error {
    fn from(m: Missing) -> Self {
        Error::NotFound(m)
    }
}

impl From<Conflict> for Error {
    fn from(c: Conflict) -> Self {
        Error::Conflict(c)
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(fields: Vec<FieldError>) -> Self {
        Error::Invalid(fields)
    }
}

/// One invalid input field and what to fix. `field` is the name of the data model (SPEC §2–§5:
/// `product_name`, `extra_metadata` …); a face that calls a field otherwise renames it where it
/// shows the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }

    /// `name: must not be empty; status: unknown status 'x'`, for a one-line message.
    pub fn summary(fields: &[FieldError]) -> String {
        fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The kinds of record a request can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Release,
    Product,
    Version,
    Environment,
    Deployment,
    User,
    ApiKey,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Release => "release",
            Entity::Product => "product",
            Entity::Version => "version",
            Entity::Environment => "environment",
            Entity::Deployment => "deployment",
            Entity::User => "user",
            Entity::ApiKey => "API key",
        }
    }
}

/// A record that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// No record of this kind with the id (or name) asked for.
    Record(Entity),
    /// A version asked for by id, for a release.
    Version { id: String },
    /// No live API key of this name.
    ApiKey { name: String },
    /// The version exists but is not part of the release.
    NotInRelease {
        product: String,
        version: String,
        release: String,
    },
}

impl Missing {
    /// The kind of record that was not found: what a page or a form decides by.
    pub fn entity(&self) -> Entity {
        match self {
            Missing::Record(e) => *e,
            Missing::Version { .. } | Missing::NotInRelease { .. } => Entity::Version,
            Missing::ApiKey { .. } => Entity::ApiKey,
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Record(e) => write!(f, "{} not found", e.as_str()),
            Missing::Version { id } => write!(f, "version {id} not found"),
            Missing::ApiKey { name } => write!(f, "no live key named {name:?}"),
            Missing::NotInRelease {
                product,
                version,
                release,
            } => write!(f, "{product} {version} is not in release '{release}'"),
        }
    }
}

/// Which name must be unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Release,
    Product,
    Environment,
    User,
    ApiKey,
}

/// A broken rule about what exists already (409). Each variant is one rule, with a stable
/// [`Conflict::code`] that clients may match on (Versioner's clients read `code` on a 409).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Names are unique per kind (SPEC §2; users and live keys too).
    NameTaken { kind: Named, name: String },
    /// A finished deployment keeps its terminal status (SPEC §3).
    TerminalStatus(Box<TerminalStatus>),
    /// Versions are immutable: a build with another commit needs a new version string.
    VersionImmutable {
        product: String,
        version: String,
        known_sha: String,
        sent_sha: String,
    },
    /// Completed and cancelled releases are frozen (SPEC §4).
    ReleaseArchived {
        release: String,
        status: &'static str,
        frozen: Frozen,
    },
    /// One version per product in a release (SPEC §4).
    ProductAlreadyInRelease(Box<AlreadyInRelease>),
    /// A release with no versions cannot be completed (SPEC §4); it can be cancelled.
    ReleaseEmpty { release: String },
    /// A product whose versions are in releases cannot be deleted (SPEC §5).
    ProductInReleases { product: String, releases: i64 },
    /// An `Idempotency-Key` replayed with another body (SPEC §3).
    IdempotencyKeyReused { key: String },
    /// An admin cannot disable their own account (and so lock out the last admin).
    DisableSelf,
    /// The demo and the benchmark dataset load only into an empty database.
    DatabaseNotEmpty,
    /// A concurrent change won a race the retries could not settle.
    Concurrent,
}

/// A terminal status conflict: which deployment, and the statuses that clash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalStatus {
    pub deployment_id: String,
    pub product: String,
    pub version: String,
    pub environment: String,
    pub current: &'static str,
    pub incoming: &'static str,
}

/// Another version of the product is in the release: (product, version) there and wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyInRelease {
    pub release: String,
    pub there: (String, String),
    pub wanted: (String, String),
}

/// What an archived release no longer lets change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frozen {
    Status,
    Versions,
}

impl Conflict {
    /// Every code [`Conflict::code`] gives, as the OpenAPI document and docs/decisions.md list
    /// them (a unit test holds the three together).
    pub const CODES: [&'static str; 15] = [
        "release_name_taken",
        "product_name_taken",
        "environment_name_taken",
        "user_name_taken",
        "api_key_name_taken",
        "terminal_status_conflict",
        "version_immutable",
        "release_archived",
        "product_already_in_release",
        "release_empty",
        "product_in_release",
        "idempotency_key_reused",
        "cannot_disable_self",
        "database_not_empty",
        "concurrent_change",
    ];

    /// The stable identifier of the rule, in snake_case.
    pub fn code(&self) -> &'static str {
        match self {
            Conflict::NameTaken { kind, .. } => match kind {
                Named::Release => "release_name_taken",
                Named::Product => "product_name_taken",
                Named::Environment => "environment_name_taken",
                Named::User => "user_name_taken",
                Named::ApiKey => "api_key_name_taken",
            },
            Conflict::TerminalStatus(_) => "terminal_status_conflict",
            Conflict::VersionImmutable { .. } => "version_immutable",
            Conflict::ReleaseArchived { .. } => "release_archived",
            Conflict::ProductAlreadyInRelease(_) => "product_already_in_release",
            Conflict::ReleaseEmpty { .. } => "release_empty",
            Conflict::ProductInReleases { .. } => "product_in_release",
            Conflict::IdempotencyKeyReused { .. } => "idempotency_key_reused",
            Conflict::DisableSelf => "cannot_disable_self",
            Conflict::DatabaseNotEmpty => "database_not_empty",
            Conflict::Concurrent => "concurrent_change",
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::NameTaken { kind, name } => match kind {
                Named::Release => write!(f, "a release named '{name}' already exists"),
                Named::Product => write!(f, "a product named '{name}' already exists"),
                Named::Environment => write!(f, "an environment named '{name}' already exists"),
                Named::User => write!(f, "a user named {name:?} exists"),
                Named::ApiKey => write!(
                    f,
                    "a key named {name:?} exists; revoke it first or choose another name"
                ),
            },
            Conflict::TerminalStatus(t) => write!(
                f,
                "deployment {} of {} {} to {} is already {}; a '{}' event cannot change it \
                 (send a new invoke_id to record a redeploy)",
                t.deployment_id, t.product, t.version, t.environment, t.current, t.incoming
            ),
            Conflict::VersionImmutable {
                product,
                version,
                known_sha,
                sent_sha,
            } => write!(
                f,
                "version {version} of {product} is already registered with scm_sha \
                 {known_sha}; versions are immutable, so a build with scm_sha {sent_sha} needs \
                 a new version string"
            ),
            Conflict::ReleaseArchived {
                release,
                status,
                frozen,
            } => write!(
                f,
                "release '{release}' is {status} and archived; its {} can no longer change",
                match frozen {
                    Frozen::Status => "status",
                    Frozen::Versions => "versions",
                }
            ),
            Conflict::ProductAlreadyInRelease(a) => write!(
                f,
                "release '{}' already contains {} {}; replace it to put {} {} in its place",
                a.release, a.there.0, a.there.1, a.wanted.0, a.wanted.1
            ),
            Conflict::ReleaseEmpty { release } => write!(
                f,
                "release '{release}' has no versions, so there is nothing to complete; add its \
                 versions first, or cancel it"
            ),
            Conflict::ProductInReleases { product, releases } => write!(
                f,
                "product '{product}' has versions in {releases} release(s); remove them from \
                 the releases first"
            ),
            Conflict::IdempotencyKeyReused { key } => write!(
                f,
                "Idempotency-Key '{key}' was already used with a different request body"
            ),
            Conflict::DisableSelf => f.write_str("you cannot disable yourself; ask another admin"),
            Conflict::DatabaseNotEmpty => f.write_str(
                "the database already has data; this loads only into an empty database (use a \
                 new DATABASE_URL, e.g. --database-url demo.db)",
            ),
            Conflict::Concurrent => {
                f.write_str("conflicts with an existing record; retry the request")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_conflict_rule_has_its_own_code() {
        let rules = [
            Conflict::NameTaken {
                kind: Named::Release,
                name: "r".into(),
            },
            Conflict::NameTaken {
                kind: Named::Product,
                name: "p".into(),
            },
            Conflict::NameTaken {
                kind: Named::Environment,
                name: "e".into(),
            },
            Conflict::NameTaken {
                kind: Named::User,
                name: "u".into(),
            },
            Conflict::NameTaken {
                kind: Named::ApiKey,
                name: "k".into(),
            },
            Conflict::TerminalStatus(Box::new(TerminalStatus {
                deployment_id: "d".into(),
                product: "p".into(),
                version: "1".into(),
                environment: "e".into(),
                current: "completed",
                incoming: "failed",
            })),
            Conflict::VersionImmutable {
                product: "p".into(),
                version: "1".into(),
                known_sha: "a".into(),
                sent_sha: "b".into(),
            },
            Conflict::ReleaseArchived {
                release: "r".into(),
                status: "completed",
                frozen: Frozen::Versions,
            },
            Conflict::ProductAlreadyInRelease(Box::new(AlreadyInRelease {
                release: "r".into(),
                there: ("p".into(), "1".into()),
                wanted: ("p".into(), "2".into()),
            })),
            Conflict::ReleaseEmpty {
                release: "r".into(),
            },
            Conflict::ProductInReleases {
                product: "p".into(),
                releases: 1,
            },
            Conflict::IdempotencyKeyReused { key: "k".into() },
            Conflict::DisableSelf,
            Conflict::DatabaseNotEmpty,
            Conflict::Concurrent,
        ];
        // A new variant fails to build here until it has an example above.
        for rule in &rules {
            match rule {
                Conflict::NameTaken { .. }
                | Conflict::TerminalStatus(_)
                | Conflict::VersionImmutable { .. }
                | Conflict::ReleaseArchived { .. }
                | Conflict::ProductAlreadyInRelease(_)
                | Conflict::ReleaseEmpty { .. }
                | Conflict::ProductInReleases { .. }
                | Conflict::IdempotencyKeyReused { .. }
                | Conflict::DisableSelf
                | Conflict::DatabaseNotEmpty
                | Conflict::Concurrent => assert!(!rule.to_string().is_empty()),
            }
        }
        let mut codes: Vec<&str> = rules.iter().map(Conflict::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), rules.len(), "{codes:?}");
        let mut listed = Conflict::CODES.to_vec();
        listed.sort_unstable();
        assert_eq!(codes, listed, "Conflict::CODES lists every code, once");
        let decisions = include_str!("../../docs/decisions.md");
        for code in Conflict::CODES {
            assert!(
                decisions.contains(&format!("`{code}`")),
                "docs/decisions.md lists the 409 code {code}"
            );
        }
    }

    #[test]
    fn missing_records_name_what_is_missing() {
        assert_eq!(
            Missing::Record(Entity::Release).to_string(),
            "release not found"
        );
        assert_eq!(
            Missing::Version { id: "x".into() }.to_string(),
            "version x not found"
        );
        let gone = Missing::NotInRelease {
            product: "api".into(),
            version: "1.0".into(),
            release: "R".into(),
        };
        assert_eq!(gone.entity(), Entity::Version);
        assert_eq!(gone.to_string(), "api 1.0 is not in release 'R'");
    }
}
