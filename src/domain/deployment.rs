//! Deployments and the events that move them (SPEC §3): the deployment record, the deployment
//! event as a command, and the rules of the write path — which deployment an event belongs to
//! ([`candidate`], [`correlate`], redeploys included), what it does to it ([`Next`]) and what
//! it fills in ([`Deployment::apply`]).

use super::catalog::BuildFacts;
use super::error::{Conflict, Error, TerminalStatus};
use super::validate::{self, Checker};
use super::{DeploymentStatus, Transition};
use chrono::{DateTime, NaiveDateTime, SubsecRound};
use serde_json::Value;

/// One attempt to deploy a version to an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub id: String,
    pub product_id: String,
    pub version_id: String,
    pub environment_id: String,
    pub status: DeploymentStatus,
    pub invoke_id: Option<String>,
    pub deployed_by: Option<String>,
    pub deployed_by_name: Option<String>,
    pub deployed_by_email: Option<String>,
    pub build_url: Option<String>,
    pub deploy_url: Option<String>,
    pub build_number: Option<String>,
    pub source_system: Option<String>,
    pub started_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    /// A serialized JSON object.
    pub extra_metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One reported step of a deployment, as the append-only event log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    pub id: String,
    pub deployment_id: String,
    /// The canonical status the event was normalised to.
    pub status: DeploymentStatus,
    /// The status exactly as reported.
    pub reported_status: String,
    /// Whether the event changed the deployment (false: repeated or late).
    pub applied: bool,
    /// The event as received (canonical JSON).
    pub payload: String,
    pub created_at: NaiveDateTime,
}

/// A deployment step reported by a pipeline, parsed and valid.
#[derive(Debug, Clone)]
pub struct DeploymentEvent {
    pub product_name: String,
    pub version: String,
    pub environment_name: String,
    pub status: DeploymentStatus,
    /// What the client sent before normalisation, kept in the event log.
    pub reported_status: String,
    pub invoke_id: Option<String>,
    pub deployed_by: Option<String>,
    pub deployed_by_name: Option<String>,
    pub deployed_by_email: Option<String>,
    pub build_url: Option<String>,
    pub deploy_url: Option<String>,
    pub build_number: Option<String>,
    pub source_system: Option<String>,
    pub started_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    /// Serialized JSON object.
    pub extra_metadata: Option<String>,
    /// What the event tells about the version's build (SCM fields, build link).
    pub facts: BuildFacts,
    /// The event as received (canonical JSON), for the append-only log.
    pub payload: String,
}

/// A deployment event as a face received it, before parsing. Numbers a client may send for a
/// text field (`build_number`) arrive here as text.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawDeploymentEvent<'a> {
    pub product_name: &'a str,
    pub version: &'a str,
    pub environment_name: &'a str,
    pub status: &'a str,
    pub deployed_by: Option<&'a str>,
    pub deployed_by_name: Option<&'a str>,
    pub deployed_by_email: Option<&'a str>,
    pub scm_sha: Option<&'a str>,
    pub scm_branch: Option<&'a str>,
    pub scm_repository: Option<&'a str>,
    pub build_url: Option<&'a str>,
    pub deploy_url: Option<&'a str>,
    pub build_number: Option<&'a str>,
    pub source_system: Option<&'a str>,
    pub invoke_id: Option<&'a str>,
    pub started_at: Option<&'a str>,
    pub completed_at: Option<&'a str>,
    pub extra_metadata: Option<&'a Value>,
}

/// A reported status, normalised (SPEC §3), or the error that lists what is accepted.
pub fn parse_status(c: &mut Checker, reported: &str, accepted: &str) -> DeploymentStatus {
    parse_status_with(c, reported, accepted, DeploymentStatus::normalise)
}

/// [`parse_status`] with the normalisation of a kind of event (builds take more aliases).
pub(crate) fn parse_status_with(
    c: &mut Checker,
    reported: &str,
    accepted: &str,
    normalise: fn(&str) -> Option<DeploymentStatus>,
) -> DeploymentStatus {
    match normalise(reported) {
        Some(s) => s,
        None => {
            c.error(
                "status",
                format!("unknown status '{}'; use {accepted}", reported.trim()),
            );
            DeploymentStatus::Pending
        }
    }
}

/// An RFC 3339 time, stored in UTC with microseconds (what both databases keep).
pub(crate) fn timestamp(raw: Option<&str>) -> Result<Option<NaiveDateTime>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.naive_utc().trunc_subsecs(6)))
            .map_err(|_| "must be an RFC 3339 time such as 2024-11-06T10:00:00Z".into()),
    }
}

/// `extra_metadata`, when given: a JSON object of at most 100 KB.
pub fn metadata(c: &mut Checker, raw: Option<&Value>) -> Option<String> {
    raw.map(|v| c.check("extra_metadata", validate::metadata(v)))
}

impl DeploymentEvent {
    /// Parses an event; `payload` is the event as received, for the log.
    pub fn parse(raw: &RawDeploymentEvent<'_>, payload: String) -> Result<DeploymentEvent, Error> {
        let mut c = Checker::default();
        let product_name = c.check("product_name", validate::name(raw.product_name));
        let version = c.check("version", validate::version(raw.version));
        let environment_name = c.check("environment_name", validate::name(raw.environment_name));
        let status = parse_status(
            &mut c,
            raw.status,
            "pending, started, completed, failed or aborted (or an alias such as success, \
             in_progress, cancelled)",
        );
        let scm_sha = validate::text(&mut c, "scm_sha", raw.scm_sha);
        let scm_branch = validate::text(&mut c, "scm_branch", raw.scm_branch);
        let scm_repository = validate::text(&mut c, "scm_repository", raw.scm_repository);
        let build_url = validate::text(&mut c, "build_url", raw.build_url);
        let build_number = validate::text(&mut c, "build_number", raw.build_number);
        let source_system = validate::text(&mut c, "source_system", raw.source_system);
        let event = DeploymentEvent {
            invoke_id: validate::text(&mut c, "invoke_id", raw.invoke_id),
            deployed_by: validate::text(&mut c, "deployed_by", raw.deployed_by),
            deployed_by_name: validate::text(&mut c, "deployed_by_name", raw.deployed_by_name),
            deployed_by_email: validate::text(&mut c, "deployed_by_email", raw.deployed_by_email),
            deploy_url: validate::text(&mut c, "deploy_url", raw.deploy_url),
            started_at: c.check("started_at", timestamp(raw.started_at)),
            completed_at: c.check("completed_at", timestamp(raw.completed_at)),
            extra_metadata: metadata(&mut c, raw.extra_metadata),
            facts: BuildFacts {
                scm_sha,
                scm_branch,
                scm_repository,
                build_url: build_url.clone(),
                build_number: build_number.clone(),
                built_by: None,
                source_system: source_system.clone(),
                extra_metadata: None,
                build: None,
            },
            product_name,
            version,
            environment_name,
            status,
            reported_status: raw.status.to_string(),
            build_url,
            build_number,
            source_system,
            payload,
        };
        c.finish(event)
    }
}

/// What an event does to the deployment it correlates to (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A new deployment: none matched, or (without invoke_id) the one there has finished.
    Create,
    /// The deployment moves to the event's status.
    Apply(Deployment),
    /// Nothing changes (a repeat, a late non-terminal event); the event is only logged.
    Log(Deployment),
}

/// SPEC §3 correlation, its lookup half: among the deployments of the event's (product,
/// version, environment), the one the event may belong to — with an invoke_id the deployment
/// of that invocation, without one the latest (by creation time, then id).
///
/// The write path finds it in SQL, in the same statement that finds the catalog rows
/// (`store::ingest`, `latest_there!` and `of_invocation!`); a test holds that SQL to this
/// function (`tests/integration/rules_in_sql.rs`).
pub fn candidate<'a>(there: &'a [Deployment], invoke_id: Option<&str>) -> Option<&'a Deployment> {
    match invoke_id {
        Some(run) => there.iter().find(|d| d.invoke_id.as_deref() == Some(run)),
        None => there
            .iter()
            .max_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id))),
    }
}

/// SPEC §3 correlation, its decision half: what the event does to `found`, the [`candidate`]
/// deployment, decided before anything is written (a refused event changes nothing).
/// Without invoke_id, an event that follows a finished deployment starts a new one (a redeploy).
pub fn correlate(found: Option<Deployment>, event: &DeploymentEvent) -> Result<Next, Conflict> {
    let Some(d) = found else {
        return Ok(Next::Create);
    };
    let current = d.status;
    if current.is_terminal() && event.invoke_id.is_none() {
        return Ok(Next::Create);
    }
    match DeploymentStatus::transition(current, event.status) {
        Transition::Apply => Ok(Next::Apply(d)),
        Transition::Conflict => Err(Conflict::TerminalStatus(Box::new(TerminalStatus {
            deployment_id: d.id,
            product: event.product_name.clone(),
            version: event.version.clone(),
            environment: event.environment_name.clone(),
            current: current.as_str(),
            incoming: event.status.as_str(),
        }))),
        Transition::NoOp | Transition::LogOnly => Ok(Next::Log(d)),
    }
}

impl Deployment {
    /// The deployment an event creates (ids and time given), already moved to its status.
    pub fn start(
        id: String,
        product_id: &str,
        version_id: &str,
        environment_id: &str,
        event: &DeploymentEvent,
        t: NaiveDateTime,
    ) -> Deployment {
        let mut d = Deployment {
            id,
            product_id: product_id.to_string(),
            version_id: version_id.to_string(),
            environment_id: environment_id.to_string(),
            status: DeploymentStatus::Pending,
            invoke_id: event.invoke_id.clone(),
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
            created_at: t,
            updated_at: t,
        };
        d.apply(event, t);
        d
    }

    /// Moves the deployment to the event's status at `t` and fills in what the event tells
    /// about it: reported fields replace earlier ones, absent ones leave them; a start time
    /// defaults to the first `started` event, a completion time to the terminal one.
    pub fn apply(&mut self, event: &DeploymentEvent, t: NaiveDateTime) {
        self.status = event.status;
        self.updated_at = t;
        let fill = |slot: &mut Option<String>, value: &Option<String>| {
            if value.is_some() {
                slot.clone_from(value);
            }
        };
        fill(&mut self.deployed_by, &event.deployed_by);
        fill(&mut self.deployed_by_name, &event.deployed_by_name);
        fill(&mut self.deployed_by_email, &event.deployed_by_email);
        fill(&mut self.build_url, &event.build_url);
        fill(&mut self.deploy_url, &event.deploy_url);
        fill(&mut self.build_number, &event.build_number);
        fill(&mut self.source_system, &event.source_system);
        if let Some(meta) = &event.extra_metadata {
            self.extra_metadata.clone_from(meta);
        }
        if event.started_at.is_some() {
            self.started_at = event.started_at;
        } else if event.status == DeploymentStatus::Started && self.started_at.is_none() {
            self.started_at = Some(t);
        }
        if event.status.is_terminal() {
            self.completed_at = Some(event.completed_at.unwrap_or(t));
        }
    }
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

    fn event(status: DeploymentStatus, invoke_id: Option<&str>) -> DeploymentEvent {
        let raw = RawDeploymentEvent {
            product_name: "api",
            version: "1.0",
            environment_name: "Production",
            status: status.as_str(),
            invoke_id,
            ..RawDeploymentEvent::default()
        };
        DeploymentEvent::parse(&raw, "{}".into()).expect("a valid event")
    }

    fn deployment(id: &str, status: DeploymentStatus, invoke: Option<&str>, at: i64) -> Deployment {
        let mut d = Deployment::start(id.into(), "p", "v", "e", &event(Pending, invoke), t(at));
        d.status = status;
        d
    }

    #[test]
    fn the_candidate_is_the_invocation_or_else_the_latest() {
        let there = [
            deployment("b", Completed, Some("run-1"), 0),
            deployment("a", Failed, None, 5),
            deployment("c", Started, Some("run-2"), 5),
            deployment("d", Pending, None, 2),
        ];
        // (invoke_id, chosen): latest by time, equal times by id; or the invocation's.
        let table = [
            (None, Some("c")),
            (Some("run-1"), Some("b")),
            (Some("run-2"), Some("c")),
            (Some("run-3"), None),
        ];
        for (invoke_id, want) in table {
            let got = candidate(&there, invoke_id).map(|d| d.id.as_str());
            assert_eq!(got, want, "{invoke_id:?}");
        }
        assert!(candidate(&[], None).is_none());
    }

    #[test]
    fn correlation_creates_applies_logs_or_refuses() {
        #[derive(Debug, PartialEq)]
        enum Want {
            Create,
            Apply,
            Log,
            Refuse,
        }
        use Want::*;
        // (found status, found has the event's invoke_id, event status, with invoke_id, want)
        let table = [
            (None, Pending, false, Create),
            (None, Completed, true, Create),
            (Some(Pending), Started, false, Apply),
            (Some(Started), Completed, false, Apply),
            (Some(Started), Started, false, Log),
            (Some(Started), Pending, false, Log),
            // Without invoke_id, anything after a finished deployment is a redeploy.
            (Some(Completed), Started, false, Create),
            (Some(Completed), Completed, false, Create),
            (Some(Failed), Failed, false, Create),
            // With the same invoke_id, the finished deployment itself answers.
            (Some(Completed), Completed, true, Log),
            (Some(Completed), Started, true, Log),
            (Some(Completed), Failed, true, Refuse),
            (Some(Aborted), Completed, true, Refuse),
        ];
        for (found, incoming, invoked, want) in table {
            let run = invoked.then_some("run-1");
            let found = found.map(|s| deployment("d", s, run, 0));
            let got = match correlate(found, &event(incoming, run)) {
                Ok(Next::Create) => Create,
                Ok(Next::Apply(_)) => Apply,
                Ok(Next::Log(_)) => Log,
                Err(Conflict::TerminalStatus(_)) => Refuse,
                Err(other) => panic!("{other:?}"),
            };
            assert_eq!(got, want, "{incoming:?} (invoke_id: {invoked})");
        }
    }

    #[test]
    fn applying_an_event_fills_what_it_reports() {
        let mut e = event(Started, None);
        e.deployed_by = Some("ci".into());
        let mut d = Deployment::start("d".into(), "p", "v", "e", &e, t(0));
        assert_eq!(
            (d.status, d.started_at, d.completed_at),
            (Started, Some(t(0)), None)
        );
        assert_eq!(d.deployed_by.as_deref(), Some("ci"));

        // A later event without deployed_by keeps it; a terminal one sets completed_at.
        d.apply(&event(Completed, None), t(3));
        assert_eq!(d.status, Completed);
        assert_eq!(d.deployed_by.as_deref(), Some("ci"));
        assert_eq!(
            (d.started_at, d.completed_at, d.updated_at),
            (Some(t(0)), Some(t(3)), t(3))
        );

        // Reported times win over arrival times.
        let mut late = event(Failed, None);
        late.started_at = Some(t(-10));
        late.completed_at = Some(t(-1));
        let d = Deployment::start("d".into(), "p", "v", "e", &late, t(5));
        assert_eq!((d.started_at, d.completed_at), (Some(t(-10)), Some(t(-1))));
    }

    #[test]
    fn events_are_parsed_with_every_error_at_once() {
        let meta = serde_json::json!([1]);
        let raw = RawDeploymentEvent {
            product_name: " ",
            version: "1 0",
            environment_name: "Dev",
            status: "done",
            started_at: Some("yesterday"),
            extra_metadata: Some(&meta),
            ..RawDeploymentEvent::default()
        };
        match DeploymentEvent::parse(&raw, String::new()) {
            Err(Error::Invalid(fields)) => assert_eq!(
                fields.iter().map(|f| f.field).collect::<Vec<_>>(),
                [
                    "product_name",
                    "version",
                    "status",
                    "started_at",
                    "extra_metadata"
                ]
            ),
            other => panic!("{other:?}"),
        }
        let raw = RawDeploymentEvent {
            product_name: " api ",
            version: "1.0",
            environment_name: "Dev",
            status: " SUCCESS ",
            build_url: Some("https://ci/1"),
            completed_at: Some("2026-12-01T10:00:00.1234567+01:00"),
            ..RawDeploymentEvent::default()
        };
        let e = DeploymentEvent::parse(&raw, String::new()).expect("valid");
        assert_eq!((e.product_name.as_str(), e.status), ("api", Completed));
        assert_eq!(e.reported_status, " SUCCESS ");
        assert_eq!(e.facts.build_url.as_deref(), Some("https://ci/1"));
        assert_eq!(
            e.completed_at.map(|t| t.to_string()).as_deref(),
            Some("2026-12-01 09:00:00.123456")
        );
    }
}
