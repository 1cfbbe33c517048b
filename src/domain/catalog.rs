//! Products, environments and versions (SPEC §2, §5): the records, the commands that create or
//! change them, and their rules — unique names, environment order, immutable versions whose
//! empty fields later events may fill.

use super::error::{Conflict, Error, Named};
use super::validate::{self, Checker};
use super::{DeploymentStatus, EnvType};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A deployable component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Product {
    /// A product first seen at `t`.
    pub fn new(id: String, name: &str, description: Option<&str>, t: NaiveDateTime) -> Product {
        Product {
            id,
            name: name.to_string(),
            description: description.map(str::to_string),
            created_at: t,
            updated_at: t,
        }
    }
}

/// A deployment target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub id: String,
    pub name: String,
    /// As stored; see [`Environment::kind`].
    pub env_type: String,
    pub position: i32,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Environment {
    pub fn new(
        id: String,
        name: &str,
        kind: EnvType,
        position: i32,
        description: Option<&str>,
        t: NaiveDateTime,
    ) -> Environment {
        Environment {
            id,
            name: name.to_string(),
            env_type: kind.as_str().to_string(),
            position,
            description: description.map(str::to_string),
            created_at: t,
            updated_at: t,
        }
    }

    /// The stored type; an unknown value (never written by this code) falls back to inference.
    pub fn kind(&self) -> EnvType {
        EnvType::parse(&self.env_type).unwrap_or_else(|| EnvType::infer_from_name(&self.name))
    }

    /// Sorts environments into the column order of every matrix (SPEC §2).
    pub fn sort(envs: &mut [Environment]) {
        envs.sort_by(|a, b| {
            super::environment::column_order(
                (a.kind(), a.position, &a.name),
                (b.kind(), b.position, &b.name),
            )
        });
    }
}

/// One immutable build of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub id: String,
    pub product_id: String,
    pub version: String,
    pub scm_sha: Option<String>,
    pub scm_branch: Option<String>,
    pub scm_repository: Option<String>,
    pub build_url: Option<String>,
    pub build_number: Option<String>,
    pub built_by: Option<String>,
    pub source_system: Option<String>,
    /// A serialized JSON object.
    pub extra_metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The latest build event's run ([`BuildRun`]), serialized; `None` until a build event.
    pub build: Option<String>,
    /// Added to a release by name before any pipeline reported it; the first event naming
    /// it clears the mark (SPEC §4).
    pub planned: bool,
}

/// What the latest build event of a version said about its run (SPEC §3). Unlike the build
/// facts, which describe the version and are filled once, the run moves (`building` →
/// `built`, or a rebuild of the same commit): the latest event wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRun {
    pub invoke_id: Option<String>,
    /// The canonical status the event was normalised to.
    pub status: DeploymentStatus,
    pub started_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub built_by: Option<String>,
    pub built_by_name: Option<String>,
    pub built_by_email: Option<String>,
}

impl BuildRun {
    /// As stored in `versions.build`.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).expect("a BuildRun always serializes")
    }

    /// As read from `versions.build`; only this code writes it, so anything unreadable is
    /// treated as no run reported rather than an error.
    pub fn from_stored(stored: Option<&str>) -> Option<BuildRun> {
        stored.and_then(|s| serde_json::from_str(s).ok())
    }
}

/// What events report about a version's build; each fact fills its field only while it is
/// empty (SPEC §2: versions are immutable, empty fields may be filled in later).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BuildFacts {
    pub scm_sha: Option<String>,
    pub scm_branch: Option<String>,
    pub scm_repository: Option<String>,
    pub build_url: Option<String>,
    pub build_number: Option<String>,
    pub built_by: Option<String>,
    pub source_system: Option<String>,
    /// Serialized JSON object; merged key by key, existing keys win.
    pub extra_metadata: Option<String>,
    /// The run a build event reports; replaces the one stored (only build events carry one).
    pub build: Option<BuildRun>,
}

impl Version {
    /// A version first seen at `t`, with what the facts tell about its build.
    pub fn new(
        id: String,
        product_id: &str,
        version: &str,
        facts: &BuildFacts,
        t: NaiveDateTime,
    ) -> Version {
        Version {
            id,
            product_id: product_id.to_string(),
            version: version.to_string(),
            scm_sha: facts.scm_sha.clone(),
            scm_branch: facts.scm_branch.clone(),
            scm_repository: facts.scm_repository.clone(),
            build_url: facts.build_url.clone(),
            build_number: facts.build_number.clone(),
            built_by: facts.built_by.clone(),
            source_system: facts.source_system.clone(),
            extra_metadata: facts.extra_metadata.clone().unwrap_or_else(|| "{}".into()),
            created_at: t,
            updated_at: t,
            build: facts.build.as_ref().map(BuildRun::to_stored),
            planned: false,
        }
    }

    /// A version named when planning a release, before any pipeline reported it.
    pub fn planned(id: String, product_id: &str, version: &str, t: NaiveDateTime) -> Version {
        Version {
            planned: true,
            ..Version::new(id, product_id, version, &BuildFacts::default(), t)
        }
    }

    /// The latest build event's run, if a build event was ever reported.
    pub fn build_run(&self) -> Option<BuildRun> {
        BuildRun::from_stored(self.build.as_deref())
    }

    /// Fills the empty fields from new facts (metadata key by key, existing keys win) and
    /// records the reported build run (the latest wins); true if anything changed. The caller
    /// stamps `updated_at` when it writes the change.
    pub fn fill(&mut self, facts: &BuildFacts) -> bool {
        // Every event names its version: the first one ends its planned state.
        let mut changed = std::mem::take(&mut self.planned);
        let mut fill = |slot: &mut Option<String>, value: &Option<String>| {
            if slot.is_none() && value.is_some() {
                slot.clone_from(value);
                changed = true;
            }
        };
        fill(&mut self.scm_sha, &facts.scm_sha);
        fill(&mut self.scm_branch, &facts.scm_branch);
        fill(&mut self.scm_repository, &facts.scm_repository);
        fill(&mut self.build_url, &facts.build_url);
        fill(&mut self.build_number, &facts.build_number);
        fill(&mut self.built_by, &facts.built_by);
        fill(&mut self.source_system, &facts.source_system);
        if let Some(new_meta) = &facts.extra_metadata {
            let merged = merge_metadata(&self.extra_metadata, new_meta);
            if merged != self.extra_metadata {
                self.extra_metadata = merged;
                changed = true;
            }
        }
        if let Some(run) = &facts.build {
            let stored = Some(run.to_stored());
            if stored != self.build {
                self.build = stored;
                changed = true;
            }
        }
        changed
    }

    /// A build of this version string reported with `facts`: refused when it names another
    /// commit than the one registered (a new build needs a new version string).
    pub fn check_build(&self, product: &str, facts: &BuildFacts) -> Result<(), Conflict> {
        match (&self.scm_sha, &facts.scm_sha) {
            (Some(known), Some(sent)) if known != sent => Err(Conflict::VersionImmutable {
                product: product.to_string(),
                version: self.version.clone(),
                known_sha: known.clone(),
                sent_sha: sent.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// Adds the keys of `new` that `old` lacks: existing metadata is never overwritten.
fn merge_metadata(old: &str, new: &str) -> String {
    let (Ok(Value::Object(mut old_map)), Ok(Value::Object(new_map))) =
        (serde_json::from_str(old), serde_json::from_str(new))
    else {
        return old.to_string();
    };
    for (k, v) in new_map {
        old_map.entry(k).or_insert(v);
    }
    Value::Object(old_map).to_string()
}

/// Names are unique per kind (SPEC §2), whether a record is created or renamed: `holder` is the
/// id of the record that has the wanted name now, if any; `me` the id of the record being
/// named (`None` when it is being created). Keeping one's own name is no conflict.
pub fn name_free(
    kind: Named,
    wanted: &str,
    holder: Option<&str>,
    me: Option<&str>,
) -> Result<(), Conflict> {
    match holder {
        Some(h) if Some(h) != me => Err(Conflict::NameTaken {
            kind,
            name: wanted.to_string(),
        }),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Commands

/// A build reported by a pipeline (SPEC §3): registers the version and its product.
#[derive(Debug, Clone)]
pub struct BuildEvent {
    pub product_name: String,
    pub version: String,
    pub facts: BuildFacts,
}

/// A build event as a face received it, before parsing.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawBuildEvent<'a> {
    pub product_name: &'a str,
    pub version: &'a str,
    pub status: &'a str,
    pub built_by: Option<&'a str>,
    pub built_by_name: Option<&'a str>,
    pub built_by_email: Option<&'a str>,
    pub scm_sha: Option<&'a str>,
    pub scm_branch: Option<&'a str>,
    pub scm_repository: Option<&'a str>,
    pub build_url: Option<&'a str>,
    pub build_number: Option<&'a str>,
    pub source_system: Option<&'a str>,
    pub invoke_id: Option<&'a str>,
    pub started_at: Option<&'a str>,
    pub completed_at: Option<&'a str>,
    pub extra_metadata: Option<&'a Value>,
}

impl BuildEvent {
    pub fn parse(raw: &RawBuildEvent<'_>) -> Result<BuildEvent, Error> {
        use super::deployment::{metadata, parse_status_with, timestamp};
        let mut c = Checker::default();
        let product_name = c.check("product_name", validate::name(raw.product_name));
        let version = c.check("version", validate::version(raw.version));
        let status = parse_status_with(
            &mut c,
            raw.status,
            "pending, started, completed, failed or aborted (or an alias such as building, \
             built, success)",
            DeploymentStatus::normalise_build,
        );
        let built_by = validate::text(&mut c, "built_by", raw.built_by);
        let run = BuildRun {
            invoke_id: validate::text(&mut c, "invoke_id", raw.invoke_id),
            status,
            started_at: c.check("started_at", timestamp(raw.started_at)),
            // Only a finished build has finished: a `building` event's completion time is a
            // client's guess (Versioner's Action stamps every event with one).
            completed_at: c
                .check("completed_at", timestamp(raw.completed_at))
                .filter(|_| status.is_terminal()),
            built_by: built_by.clone(),
            built_by_name: validate::text(&mut c, "built_by_name", raw.built_by_name),
            built_by_email: validate::text(&mut c, "built_by_email", raw.built_by_email),
        };
        let facts = BuildFacts {
            scm_sha: validate::text(&mut c, "scm_sha", raw.scm_sha),
            scm_branch: validate::text(&mut c, "scm_branch", raw.scm_branch),
            scm_repository: validate::text(&mut c, "scm_repository", raw.scm_repository),
            build_url: validate::text(&mut c, "build_url", raw.build_url),
            build_number: validate::text(&mut c, "build_number", raw.build_number),
            built_by,
            source_system: validate::text(&mut c, "source_system", raw.source_system),
            extra_metadata: metadata(&mut c, raw.extra_metadata),
            build: Some(run),
        };
        c.finish(BuildEvent {
            product_name,
            version,
            facts,
        })
    }

    /// The canonical status the event reported.
    pub fn status(&self) -> DeploymentStatus {
        self.facts
            .build
            .as_ref()
            .map_or(DeploymentStatus::Completed, |run| run.status)
    }
}

/// A new product.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub name: String,
    pub description: Option<String>,
}

impl NewProduct {
    pub fn parse(name: &str, description: Option<&str>) -> Result<NewProduct, Error> {
        let mut c = Checker::default();
        let product = NewProduct {
            name: c.check("name", validate::name(name)),
            description: validate::description(&mut c, description),
        };
        c.finish(product)
    }
}

/// Changes to a product; `None` leaves a field alone, `Some(None)` clears the description.
#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

impl ProductChanges {
    pub fn parse(
        name: Option<&str>,
        description: Option<Option<&str>>,
    ) -> Result<ProductChanges, Error> {
        let mut c = Checker::default();
        let changes = ProductChanges {
            name: name.map(|n| c.check("name", validate::name(n))),
            description: description.map(|d| validate::description(&mut c, d)),
        };
        c.finish(changes)
    }
}

/// An environment type named by a user, checked into `c` under `type`.
pub fn parse_type(c: &mut Checker, raw: &str) -> Option<EnvType> {
    c.check(
        "type",
        EnvType::parse(raw).map(Some).ok_or_else(|| {
            format!(
                "unknown type '{}'; use dev, test, staging or production",
                raw.trim()
            )
        }),
    )
}

/// A new environment; its type is inferred from the name when not given (SPEC §2).
#[derive(Debug, Clone)]
pub struct NewEnvironment {
    pub name: String,
    pub kind: EnvType,
    pub position: i32,
    pub description: Option<String>,
}

impl NewEnvironment {
    pub fn parse(
        name: &str,
        kind: Option<&str>,
        position: Option<i32>,
        description: Option<&str>,
    ) -> Result<NewEnvironment, Error> {
        let mut c = Checker::default();
        let name = c.check("name", validate::name(name));
        let kind = kind.and_then(|k| parse_type(&mut c, k));
        let description = validate::description(&mut c, description);
        let kind = kind.unwrap_or_else(|| EnvType::infer_from_name(&name));
        c.finish(NewEnvironment {
            name,
            kind,
            position: position.unwrap_or(0),
            description,
        })
    }

    /// An environment first named by a deployment event: type inferred, first position.
    pub fn named(name: &str) -> NewEnvironment {
        NewEnvironment {
            name: name.to_string(),
            kind: EnvType::infer_from_name(name),
            position: 0,
            description: None,
        }
    }
}

/// Changes to an environment; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct EnvironmentChanges {
    pub name: Option<String>,
    pub kind: Option<EnvType>,
    pub position: Option<i32>,
    pub description: Option<Option<String>>,
}

impl EnvironmentChanges {
    pub fn parse(
        name: Option<&str>,
        kind: Option<&str>,
        position: Option<i32>,
        description: Option<Option<&str>>,
    ) -> Result<EnvironmentChanges, Error> {
        let mut c = Checker::default();
        let changes = EnvironmentChanges {
            name: name.map(|n| c.check("name", validate::name(n))),
            kind: kind.and_then(|k| parse_type(&mut c, k)),
            position,
            description: description.map(|d| validate::description(&mut c, d)),
        };
        c.finish(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use DeploymentStatus::*;

    fn t() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("a valid time")
    }

    fn version(sha: Option<&str>, meta: &str) -> Version {
        let mut v = Version::new("v".into(), "p", "1.0", &BuildFacts::default(), t());
        v.scm_sha = sha.map(Into::into);
        v.extra_metadata = meta.into();
        v
    }

    #[test]
    fn names_are_free_unless_another_record_holds_them() {
        use Named::Product as P;
        // (wanted, holder, me, free?)
        let table: &[(Option<&str>, Option<&str>, bool)] = &[
            (None, None, true),            // create, nobody has it
            (Some("a"), None, false),      // create, taken
            (None, Some("a"), true),       // rename, nobody has it
            (Some("a"), Some("a"), true),  // rename to its own name
            (Some("b"), Some("a"), false), // rename to another's name
        ];
        for (holder, me, free) in table {
            assert_eq!(
                name_free(P, "api", *holder, *me).is_ok(),
                *free,
                "holder {holder:?}, me {me:?}"
            );
        }
    }

    #[test]
    fn facts_fill_only_empty_fields_and_merge_metadata() {
        let facts = |sha: Option<&str>, branch: Option<&str>, meta: Option<&str>| BuildFacts {
            scm_sha: sha.map(Into::into),
            scm_branch: branch.map(Into::into),
            extra_metadata: meta.map(Into::into),
            ..BuildFacts::default()
        };
        // (stored sha, stored metadata, facts, changed, sha after, metadata after)
        let table = [
            (
                None,
                "{}",
                facts(Some("abc"), None, None),
                true,
                Some("abc"),
                "{}",
            ),
            (
                Some("abc"),
                "{}",
                facts(Some("def"), None, None),
                false,
                Some("abc"),
                "{}",
            ),
            (
                Some("abc"),
                "{}",
                facts(None, None, None),
                false,
                Some("abc"),
                "{}",
            ),
            (
                None,
                r#"{"a":1}"#,
                facts(None, None, Some(r#"{"a":2,"b":3}"#)),
                true,
                None,
                r#"{"a":1,"b":3}"#,
            ),
            (
                None,
                r#"{"a":1}"#,
                facts(None, None, Some(r#"{"a":2}"#)),
                false,
                None,
                r#"{"a":1}"#,
            ),
        ];
        for (sha, meta, facts, changed, sha_after, meta_after) in table {
            let mut v = version(sha, meta);
            assert_eq!(v.fill(&facts), changed, "{facts:?}");
            assert_eq!(v.scm_sha.as_deref(), sha_after);
            assert_eq!(v.extra_metadata, meta_after);
        }
        let mut v = version(None, "{}");
        assert!(v.fill(&facts(None, Some("main"), None)));
        assert_eq!(v.scm_branch.as_deref(), Some("main"));
    }

    #[test]
    fn a_build_with_another_commit_is_refused() {
        let facts = |sha: Option<&str>| BuildFacts {
            scm_sha: sha.map(Into::into),
            ..BuildFacts::default()
        };
        // (registered sha, reported sha, accepted?)
        for (known, sent, ok) in [
            (Some("abc"), Some("abc"), true),
            (Some("abc"), Some("def"), false),
            (Some("abc"), None, true),
            (None, Some("def"), true),
            (None, None, true),
        ] {
            assert_eq!(
                version(known, "{}")
                    .check_build("api", &facts(sent))
                    .is_ok(),
                ok,
                "{known:?} then {sent:?}"
            );
        }
    }

    #[test]
    fn environments_take_their_type_from_the_name_unless_given() {
        let e = NewEnvironment::parse(" prod-eu ", None, None, None).expect("valid");
        assert_eq!(
            (e.name.as_str(), e.kind, e.position),
            ("prod-eu", EnvType::Production, 0)
        );
        let e = NewEnvironment::parse("prod-eu", Some("staging"), Some(3), None).expect("valid");
        assert_eq!((e.kind, e.position), (EnvType::Staging, 3));
        match NewEnvironment::parse("", Some("space"), None, None) {
            Err(Error::Invalid(f)) => {
                assert_eq!(
                    f.iter().map(|f| f.field).collect::<Vec<_>>(),
                    ["name", "type"]
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_build_event_reports_its_run_and_the_latest_run_wins() {
        let raw = |status, completed_at| RawBuildEvent {
            product_name: "api",
            version: "1.0",
            status,
            built_by: Some("octocat"),
            built_by_name: Some("The Octocat"),
            built_by_email: Some("octocat@example.com"),
            invoke_id: Some("run-7"),
            started_at: Some("2026-12-01T09:00:00+01:00"),
            completed_at,
            ..RawBuildEvent::default()
        };
        let at = |h, m| {
            NaiveDate::from_ymd_opt(2026, 12, 1)
                .and_then(|d| d.and_hms_opt(h, m, 0))
                .expect("a valid time")
        };
        // (reported status, completed_at sent, canonical, completed_at kept)
        let table = [
            ("building", Some("2026-12-01T08:05:00Z"), Started, None),
            (
                "Built",
                Some("2026-12-01T08:05:00Z"),
                Completed,
                Some(at(8, 5)),
            ),
            ("success", None, Completed, None),
            (
                "error",
                Some("2026-12-01T08:06:00Z"),
                Failed,
                Some(at(8, 6)),
            ),
        ];
        let mut v = Version::new("v".into(), "p", "1.0", &BuildFacts::default(), t());
        assert_eq!(v.build_run(), None);
        for (reported, completed, status, kept) in table {
            let event = BuildEvent::parse(&raw(reported, completed)).expect("valid");
            assert_eq!(event.status(), status, "{reported}");
            let run = event.facts.build.clone().expect("a build event has a run");
            assert_eq!(
                run,
                BuildRun {
                    invoke_id: Some("run-7".into()),
                    status,
                    started_at: Some(at(8, 0)),
                    completed_at: kept,
                    built_by: Some("octocat".into()),
                    built_by_name: Some("The Octocat".into()),
                    built_by_email: Some("octocat@example.com".into()),
                },
                "{reported}"
            );
            assert!(v.fill(&event.facts), "{reported} changes the run");
            assert_eq!(v.build_run(), Some(run), "{reported}: the latest wins");
            assert!(!v.fill(&event.facts), "{reported} again changes nothing");
        }
        // Deployment events carry no run: the stored one stays.
        let before = v.build.clone();
        v.fill(&BuildFacts::default());
        assert_eq!(v.build, before);
    }

    #[test]
    fn a_build_event_with_an_unknown_status_names_the_field() {
        let raw = RawBuildEvent {
            product_name: "api",
            version: "1.0",
            status: "compiled",
            started_at: Some("soon"),
            ..RawBuildEvent::default()
        };
        match BuildEvent::parse(&raw) {
            Err(Error::Invalid(f)) => assert_eq!(
                f.iter().map(|f| f.field).collect::<Vec<_>>(),
                ["status", "started_at"]
            ),
            other => panic!("{other:?}"),
        }
    }
}
