//! Releases (SPEC §4): the lifecycle, the commands that create and change a release, and the
//! rules of its version list — archived releases are frozen, one version per product.

use super::error::{AlreadyInRelease, Conflict, Error, Frozen, Missing};
use super::validate::{self, Checker};
use serde::Serialize;
use serde_json::Value;

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

    /// When a release that takes this status at `t` completed: at `t` if it is completed,
    /// never otherwise (a release moved back from completed cannot be: completed is final).
    pub fn completed_at(self, t: chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
        (self == Self::Completed).then_some(t)
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

/// A status change asked of a release named `release`, now `from`, holding `versions`
/// versions: whether it changes anything (asking for the status it has is a no-op, archived or
/// not), or why it is refused.
pub fn status_change(
    release: &str,
    from: ReleaseStatus,
    to: ReleaseStatus,
    versions: usize,
) -> Result<bool, Conflict> {
    if to == from {
        return Ok(false);
    }
    if !from.can_become(to) {
        return Err(Conflict::ReleaseArchived {
            release: release.to_string(),
            status: from.as_str(),
            frozen: Frozen::Status,
        });
    }
    may_take(release, to, versions)?;
    Ok(true)
}

/// A release with no versions cannot be completed, whether it is created so or changed to
/// it; it can be cancelled (SPEC §4).
pub fn may_take(release: &str, status: ReleaseStatus, versions: usize) -> Result<(), Conflict> {
    if status == ReleaseStatus::Completed && versions == 0 {
        return Err(Conflict::ReleaseEmpty {
            release: release.to_string(),
        });
    }
    Ok(())
}

/// The version list of an archived release is frozen: adding and removing are refused.
pub fn ensure_open(release: &str, status: ReleaseStatus) -> Result<(), Conflict> {
    if status.is_final() {
        return Err(Conflict::ReleaseArchived {
            release: release.to_string(),
            status: status.as_str(),
            frozen: Frozen::Versions,
        });
    }
    Ok(())
}

/// A version of a product, as the composition rule sees it: (version id, product, version).
pub type Member<'a> = (&'a str, &'a str, &'a str);

/// What adding `wanted` to a release does, given the version of the same product the release
/// holds already (`there`), if any: one version per product (SPEC §4).
pub fn add_to(
    release: &str,
    there: Option<Member<'_>>,
    wanted: Member<'_>,
) -> Result<bool, Conflict> {
    match there {
        None => Ok(true),
        // Already there: a no-op (200), not an error.
        Some((id, _, _)) if id == wanted.0 => Ok(false),
        Some((_, product, version)) => Err(Conflict::ProductAlreadyInRelease(Box::new(
            AlreadyInRelease {
                release: release.to_string(),
                there: (product.to_string(), version.to_string()),
                wanted: (wanted.1.to_string(), wanted.2.to_string()),
            },
        ))),
    }
}

/// Status changes that are hard to take back go through a confirmation page first (SPEC §6):
/// cancelling (final), and completing a release that is not ready to complete (final, and
/// probably a mistake). Completing a ready release and moving between draft and in progress
/// happen at once.
pub fn needs_confirmation(to: ReleaseStatus, ready_to_complete: bool) -> bool {
    match to {
        ReleaseStatus::Cancelled => true,
        ReleaseStatus::Completed => !ready_to_complete,
        ReleaseStatus::Draft | ReleaseStatus::InProgress => false,
    }
}

/// The statuses a new release may be created with on the create form: the ones that leave it
/// open. A release created completed or cancelled would be empty and frozen at once.
pub const CREATE_CHOICES: [ReleaseStatus; 2] = [ReleaseStatus::Draft, ReleaseStatus::InProgress];

/// What setting a product's version in a release does (`PUT …/products/{product}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The product was not in the release: the version is added.
    Added,
    /// That version is there already: nothing changes.
    Unchanged,
    /// Another version of the product was there (its id): it is replaced in one change.
    Replaced { was: String },
}

/// Sets `product`'s version in a release to `wanted`, given the version of that product the
/// release holds (`there`). `wanted` must be a version of `product`: a `version_id` naming
/// another product's version is the caller's mistake (422), not a conflict.
pub fn place(
    product: &str,
    there: Option<Member<'_>>,
    wanted: Member<'_>,
) -> Result<Placement, Error> {
    if wanted.1 != product {
        return Err(Error::invalid(
            "version_id",
            format!(
                "version {} is a version of {}, not of {product}",
                wanted.2, wanted.1
            ),
        ));
    }
    Ok(match there {
        None => Placement::Added,
        Some((id, _, _)) if id == wanted.0 => Placement::Unchanged,
        Some((id, _, _)) => Placement::Replaced {
            was: id.to_string(),
        },
    })
}

/// A release status named by a user, checked into `c`.
pub fn parse_status(c: &mut Checker, raw: &str) -> ReleaseStatus {
    c.check(
        "status",
        ReleaseStatus::parse(raw).ok_or_else(|| {
            format!(
                "unknown status '{}'; use draft, in_progress, completed or cancelled",
                raw.trim()
            )
        }),
    )
}

/// A new release.
#[derive(Debug, Clone)]
pub struct NewRelease {
    pub name: String,
    pub description: Option<String>,
    pub status: ReleaseStatus,
    /// A serialized JSON object (`{}` when none was given).
    pub extra_metadata: String,
}

/// A new release as a face received it.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawNewRelease<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    /// `None`: a draft.
    pub status: Option<&'a str>,
    pub extra_metadata: Option<&'a Value>,
}

impl NewRelease {
    pub fn parse(raw: &RawNewRelease<'_>) -> Result<NewRelease, Error> {
        let mut c = Checker::default();
        let release = NewRelease {
            name: c.check("name", validate::name(raw.name)),
            description: validate::description(&mut c, raw.description),
            status: raw
                .status
                .map_or(ReleaseStatus::Draft, |s| parse_status(&mut c, s)),
            extra_metadata: c.check(
                "extra_metadata",
                validate::metadata(raw.extra_metadata.unwrap_or(&Value::Null)),
            ),
        };
        c.finish(release)
    }
}

/// Changes to a release; `None` leaves a field alone, `Some(None)` clears the description.
#[derive(Debug, Clone, Default)]
pub struct ReleaseChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub status: Option<ReleaseStatus>,
    pub extra_metadata: Option<String>,
}

/// Changes to a release as a face received them.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawReleaseChanges<'a> {
    pub name: Option<&'a str>,
    pub description: Option<Option<&'a str>>,
    pub status: Option<&'a str>,
    pub extra_metadata: Option<&'a Value>,
}

impl ReleaseChanges {
    pub fn parse(raw: &RawReleaseChanges<'_>) -> Result<ReleaseChanges, Error> {
        let mut c = Checker::default();
        let changes = ReleaseChanges {
            name: raw.name.map(|n| c.check("name", validate::name(n))),
            description: raw.description.map(|d| validate::description(&mut c, d)),
            status: raw.status.map(|s| parse_status(&mut c, s)),
            extra_metadata: raw
                .extra_metadata
                .map(|m| c.check("extra_metadata", validate::metadata(m))),
        };
        c.finish(changes)
    }

    /// A status change alone.
    pub fn status(to: ReleaseStatus) -> ReleaseChanges {
        ReleaseChanges {
            status: Some(to),
            ..ReleaseChanges::default()
        }
    }
}

/// Which version to add to a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    Id(String),
    /// Product and version strings; both are created when unknown, so a release can be
    /// planned before its builds exist.
    Named {
        product: String,
        version: String,
    },
}

impl VersionRef {
    /// `version_id`, or `product_name` with `version`. An id that is no UUID names no version.
    pub fn parse(
        version_id: Option<&str>,
        product_name: Option<&str>,
        version: Option<&str>,
    ) -> Result<VersionRef, Error> {
        let mut c = Checker::default();
        let which = match (version_id, product_name, version) {
            (Some(id), _, _) => match validate::id(id) {
                Some(id) => VersionRef::Id(id),
                None => return Err(Missing::Version { id: id.to_string() }.into()),
            },
            (None, Some(product), Some(version)) => VersionRef::Named {
                product: c.check("product_name", validate::name(product)),
                version: c.check("version", validate::version(version)),
            },
            (None, None, None) => {
                c.error("version_id", "give version_id, or product_name and version");
                VersionRef::Id(String::new())
            }
            // Half of a name: the error goes to the half that is missing.
            (None, None, Some(_)) => {
                c.error("product_name", "give the product this version belongs to");
                VersionRef::Id(String::new())
            }
            (None, Some(_), None) => {
                c.error("version", "give the version of the product");
                VersionRef::Id(String::new())
            }
        };
        c.finish(which)
    }
}

#[cfg(test)]
mod tests {
    use super::ReleaseStatus::*;
    use super::*;

    #[test]
    fn status_changes_are_refused_once_archived_unless_they_change_nothing() {
        // (from, to, Ok(changes) or refused)
        let table = [
            (Draft, InProgress, Some(true)),
            (InProgress, Draft, Some(true)),
            (Draft, Completed, Some(true)),
            (InProgress, Cancelled, Some(true)),
            (Draft, Draft, Some(false)),
            (Completed, Completed, Some(false)),
            (Cancelled, Cancelled, Some(false)),
            (Completed, Draft, None),
            (Cancelled, InProgress, None),
            (Completed, Cancelled, None),
        ];
        for (from, to, want) in table {
            assert_eq!(
                status_change("R", from, to, 1).ok(),
                want,
                "{from:?} → {to:?}"
            );
        }
    }

    #[test]
    fn an_empty_release_cannot_be_completed_but_can_be_cancelled() {
        // (from, to, versions, Ok(changes) or the refusal's code)
        let table = [
            (Draft, Completed, 0, Err("release_empty")),
            (InProgress, Completed, 0, Err("release_empty")),
            (Draft, Completed, 1, Ok(true)),
            (Draft, Cancelled, 0, Ok(true)),
            (InProgress, Draft, 0, Ok(true)),
            // Archived first: an empty cancelled release says it is archived.
            (Cancelled, Completed, 0, Err("release_archived")),
        ];
        for (from, to, n, want) in table {
            let got = status_change("R", from, to, n).map_err(|c| c.code());
            assert_eq!(got, want, "{from:?} → {to:?} with {n}");
        }
        assert!(may_take("R", Completed, 0).is_err());
        for s in [Draft, InProgress, Cancelled] {
            assert!(may_take("R", s, 0).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn final_changes_are_confirmed_unless_the_release_is_ready() {
        // (to, ready, confirmation needed)
        let table = [
            (Cancelled, false, true),
            (Cancelled, true, true),
            (Completed, false, true),
            (Completed, true, false),
            (Draft, false, false),
            (InProgress, false, false),
        ];
        for (to, ready, want) in table {
            assert_eq!(needs_confirmation(to, ready), want, "{to:?} ready={ready}");
        }
        assert!(CREATE_CHOICES.iter().all(|s| !s.is_final()));
    }

    #[test]
    fn placing_a_version_adds_keeps_or_replaces() {
        let wanted = ("v2", "api", "2.0");
        let table = [
            (None, Placement::Added),
            (Some(("v2", "api", "2.0")), Placement::Unchanged),
            (
                Some(("v1", "api", "1.0")),
                Placement::Replaced { was: "v1".into() },
            ),
        ];
        for (there, want) in table {
            assert_eq!(place("api", there, wanted).ok(), Some(want), "{there:?}");
        }
        // A version of another product is refused, whatever is there.
        assert!(matches!(place("web", None, wanted), Err(Error::Invalid(_))));
    }

    #[test]
    fn archived_releases_freeze_their_versions() {
        for (status, open) in [
            (Draft, true),
            (InProgress, true),
            (Completed, false),
            (Cancelled, false),
        ] {
            assert_eq!(ensure_open("R", status).is_ok(), open, "{status:?}");
        }
    }

    #[test]
    fn one_version_per_product() {
        let wanted = ("v2", "api", "2.0");
        // (the product's version there, added?, refused?)
        let table = [
            (None, Some(true)),
            (Some(("v2", "api", "2.0")), Some(false)),
            (Some(("v1", "api", "1.0")), None),
        ];
        for (there, want) in table {
            assert_eq!(add_to("R", there, wanted).ok(), want, "{there:?}");
        }
        let refused = add_to("R", Some(("v1", "api", "1.0")), wanted).expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "release 'R' already contains api 1.0; replace it to put api 2.0 in its place"
        );
    }

    #[test]
    fn a_version_is_named_by_id_or_by_product_and_version() {
        let id = "0192f0c1-0000-7000-8000-000000000001";
        assert_eq!(
            VersionRef::parse(Some(id), None, None).ok(),
            Some(VersionRef::Id(id.into()))
        );
        assert!(matches!(
            VersionRef::parse(Some("nope"), None, None),
            Err(Error::NotFound(_))
        ));
        assert_eq!(
            VersionRef::parse(None, Some(" api "), Some("1.0")).ok(),
            Some(VersionRef::Named {
                product: "api".into(),
                version: "1.0".into()
            })
        );
        // The error names the field that is missing.
        for (product, version, field) in [
            (None, None, "version_id"),
            (Some("api"), None, "version"),
            (None, Some("1.0"), "product_name"),
        ] {
            match VersionRef::parse(None, product, version) {
                Err(Error::Invalid(errors)) => {
                    assert_eq!(errors.len(), 1);
                    assert_eq!(errors[0].field, field, "{product:?} {version:?}");
                }
                other => panic!("{product:?} {version:?}: {other:?}"),
            }
        }
    }

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
        let t = chrono::NaiveDateTime::default();
        assert_eq!(Completed.completed_at(t), Some(t));
        for s in [Draft, InProgress, Cancelled] {
            assert_eq!(s.completed_at(t), None, "{s:?}");
        }
    }
}
