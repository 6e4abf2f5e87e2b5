//! The agent's event log: the product's event IDs (facts §6.1, Connect's PasswordResetService
//! events; cloud sync reuses them tagged with its engine, facts §6.2) as structured tracing events
//! and, when a path is configured, one JSON object per line in a file (serve mode: the state
//! directory). An event names the job, the user's sAMAccountName, the outcome and the DC's answer:
//! never a password, old or new.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use runtime::Clock;
use serde::Serialize;
use tracing::{error, info, warn};
use uuid::Uuid;
use wire::types::{Engine, Job, JobKind, OnPremError, Outcome};

/// The product's event IDs and names (facts §6.1).
pub const NAMES: &[(u32, &str)] = &[
    (31001, "PasswordResetStart"),
    (31002, "PasswordResetSuccess"),
    (31003, "PasswordResetFail"),
    (31004, "OnboardingEventStart"),
    (31005, "OnboardingEventSuccess"),
    (31006, "ChangePasswordStart"),
    (31007, "ChangePasswordSuccess"),
    (31008, "ChangePasswordFail"),
    (31009, "ResetUserPasswordByAdminStart"),
    (31010, "ResetUserPasswordByAdminSuccess"),
    (31011, "ResetUserPasswordByAdminFail"),
    (31012, "OffboardingEventStart"),
    (31013, "OffboardingEventSuccess"),
    (31014, "OffboardingEventFail"),
    (31015, "WriteBackServiceStarted"),
    (31016, "WriteBackServiceStopped"),
    (31017, "AuthTokenSuccess"),
    (31018, "KeyPairCreationSuccess"),
    (31019, "ServiceBusHeartBeat"),
    (31034, "ServiceBusListenerError"),
    (31044, "PasswordResetService"),
    (32000, "UnknownError"),
    (32001, "ServiceError"),
    (32002, "ServiceBusError"),
    (32003, "InPutValidationError"),
    (32004, "DecryptionError"),
    (32005, "ConfigurationError"),
    (32007, "OnBoardingConfigUpdateError"),
    (32008, "ValidationError"),
    (32009, "AuthTokenError"),
    (32010, "CryptoError"),
    (32011, "OnBoardingServiceError"),
    (32013, "OffBoardingError"),
    (32014, "ServiceBusWarning"),
    (32015, "ReportServiceHealthError"),
    (33001, "ADUnKnownError"),
    (33002, "ADUserNotFoundError"),
    (33003, "ADMutliMatchError"),
    (33004, "ADPermissionsError"),
    (33005, "ADUserAccountDisabled"),
    (33006, "ADUserAccountLockedOut"),
    (33007, "ADUserIncorrectPassword"),
    (33008, "ADPasswordPolicyError"),
    (33009, "ADConfigurationError"),
];

/// The event IDs the agent logs outside a job.
pub mod id {
    /// Registration with the relay begins (the agent's onboarding).
    pub const ONBOARDING_START: u32 = 31004;
    /// Registered.
    pub const ONBOARDING_SUCCESS: u32 = 31005;
    /// Polling the relay.
    pub const SERVICE_STARTED: u32 = 31015;
    /// Stopped polling.
    pub const SERVICE_STOPPED: u32 = 31016;
    /// The administrator's token for registration was issued.
    pub const AUTH_TOKEN_SUCCESS: u32 = 31017;
    /// A fresh key pair was made (none was saved).
    pub const KEY_PAIR_CREATED: u32 = 31018;
    /// The periodic heartbeat.
    pub const HEARTBEAT: u32 = 31019;
    /// A result could not be posted to the cloud.
    pub const SERVICE_ERROR: u32 = 32001;
    /// The relay is unreachable.
    pub const SERVICE_BUS_ERROR: u32 = 32002;
    /// A job did not validate.
    pub const INPUT_VALIDATION_ERROR: u32 = 32003;
    /// The agent's saved state could not be read or written.
    pub const CONFIGURATION_ERROR: u32 = 32005;
    /// The administrator's token was refused.
    pub const AUTH_TOKEN_ERROR: u32 = 32009;
    /// The relay refused the registration.
    pub const ONBOARDING_SERVICE_ERROR: u32 = 32011;
    /// The relay answered again after failures.
    pub const SERVICE_BUS_WARNING: u32 = 32014;
}

/// The name of event `id`, or `Unknown`.
pub fn name(id: u32) -> &'static str {
    NAMES
        .iter()
        .find(|(i, _)| *i == id)
        .map_or("Unknown", |(_, n)| n)
}

/// An event's severity, as the Windows Application log shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Level {
    /// Informational.
    Information,
    /// A warning.
    Warning,
    /// An error.
    Error,
}

impl Level {
    /// The level the product logs `id` at: failures and 32xxx/33xxx errors, 32014 a warning.
    pub fn of(id: u32) -> Level {
        match id {
            32014 => Level::Warning,
            31003 | 31008 | 31011 | 31014 | 31034 => Level::Error,
            32000.. => Level::Error,
            _ => Level::Information,
        }
    }
}

/// The event source: Connect's PasswordResetService; for cloud sync the provisioning agent (the
/// source name is UNCONFIRMED, facts §6.2).
pub fn source(engine: Engine) -> &'static str {
    match engine {
        Engine::ConnectSync => "PasswordResetService",
        Engine::CloudSync => "AADConnectProvisioningAgent",
    }
}

/// One event as written to the JSONL log.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Lab time, RFC 3339.
    pub time: String,
    /// The event ID.
    pub id: u32,
    /// Its name.
    pub name: &'static str,
    /// Its level.
    pub level: Level,
    /// The event source.
    pub source: &'static str,
    /// `cloud-sync` or `connect-sync`.
    pub engine: &'static str,
    /// The domain the agent serves.
    pub domain: String,
    /// The agent's id at the relay, once registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<Uuid>,
    /// The job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// The job's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// The offer's attempt number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// The target's sAMAccountName.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// How the job ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    /// The DC's LDAP result code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ldap_code: Option<u32>,
    /// The DC's diagnostic message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
    /// The DC written to or last tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    /// What happened, in words.
    pub message: String,
}

/// An event to log: its ID, message and the job fields that apply.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    id: u32,
    message: String,
    job: Option<(String, &'static str, u32, Option<String>)>,
    outcome: Option<&'static str>,
    onprem: Option<OnPremError>,
    dc: Option<String>,
}

impl Entry {
    /// Event `id` saying `message`.
    pub fn new(id: u32, message: impl Into<String>) -> Entry {
        Entry {
            id,
            message: message.into(),
            ..Entry::default()
        }
    }

    /// About `job`.
    pub fn job(mut self, job: &Job) -> Entry {
        self.job = Some((
            job.id.to_string(),
            job.kind.as_str(),
            job.attempt,
            job.target.sam_account_name.clone(),
        ));
        self
    }

    /// With the job's outcome, the DC's answer and the DC.
    pub fn ended(
        mut self,
        outcome: Outcome,
        onprem: Option<&OnPremError>,
        dc: Option<&str>,
    ) -> Entry {
        self.outcome = Some(outcome.as_str());
        self.onprem = onprem.cloned();
        self.dc = dc.map(str::to_string);
        self
    }
}

/// Where one agent's events go: tracing always, a JSONL file when configured.
#[derive(Debug)]
pub struct EventLog {
    engine: Engine,
    domain: String,
    clock: Clock,
    agent: Mutex<Option<Uuid>>,
    file: Option<(PathBuf, Mutex<std::fs::File>)>,
}

impl EventLog {
    /// A log for the agent of `domain`; `path` (created or appended to, mode 0600) receives one
    /// JSON object per event.
    pub fn open(
        engine: Engine,
        domain: &str,
        clock: Clock,
        path: Option<&Path>,
    ) -> std::io::Result<EventLog> {
        let file = match path {
            None => None,
            Some(p) => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut o = std::fs::OpenOptions::new();
                o.append(true).create(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    o.mode(0o600);
                }
                Some((p.to_path_buf(), Mutex::new(o.open(p)?)))
            }
        };
        Ok(EventLog {
            engine,
            domain: domain.to_string(),
            clock,
            agent: Mutex::new(None),
            file,
        })
    }

    /// Names the agent in later events.
    pub fn set_agent(&self, id: Uuid) {
        *self.agent.lock().expect("event log lock") = Some(id);
    }

    /// Logs `e`: a tracing event at its level, and a line in the file.
    pub fn emit(&self, e: Entry) -> Event {
        let (job, kind, attempt, user) = match e.job {
            Some((j, k, a, u)) => (Some(j), Some(k), Some(a), u),
            None => (None, None, None, None),
        };
        let event = Event {
            time: self.clock.now().rfc3339(),
            id: e.id,
            name: name(e.id),
            level: Level::of(e.id),
            source: source(self.engine),
            engine: self.engine.as_str(),
            domain: self.domain.clone(),
            agent: *self.agent.lock().expect("event log lock"),
            job,
            kind,
            attempt,
            user,
            outcome: e.outcome,
            ldap_code: e.onprem.as_ref().map(|o| o.ldap_code),
            diagnostic: e.onprem.map(|o| o.diagnostic),
            dc: e.dc,
            message: e.message,
        };
        macro_rules! trace {
            ($m:ident) => {
                $m!(
                    event_id = event.id,
                    event = event.name,
                    domain = %event.domain,
                    job = event.job.as_deref(),
                    kind = event.kind,
                    user = event.user.as_deref(),
                    outcome = event.outcome,
                    ldap_code = event.ldap_code,
                    diagnostic = event.diagnostic.as_deref(),
                    dc = event.dc.as_deref(),
                    "{}",
                    event.message
                )
            };
        }
        match event.level {
            Level::Information => trace!(info),
            Level::Warning => trace!(warn),
            Level::Error => trace!(error),
        }
        if let Some((path, f)) = &self.file {
            let mut line = serde_json::to_vec(&event).expect("an event serializes");
            line.push(b'\n');
            let written = f.lock().expect("event file lock").write_all(&line);
            if let Err(err) = written {
                warn!(path = %path.display(), error = %err, "the event log could not be written");
            }
        }
        event
    }

    /// Logs the start of `job` (31001, 31006 or 31009).
    pub fn job_started(&self, job: &Job) {
        self.emit(Entry::new(job.kind.start_event_id(), "writeback job received").job(job));
    }

    /// Logs the end of `job`: the kind's success event, or its failure event then the detail
    /// event of the outcome (facts §6.1).
    pub fn job_ended(
        &self,
        job: &Job,
        outcome: Outcome,
        onprem: Option<&OnPremError>,
        dc: Option<&str>,
    ) {
        let kind: JobKind = job.kind;
        if outcome.is_success() {
            self.emit(
                Entry::new(kind.success_event_id(), "password written back")
                    .job(job)
                    .ended(outcome, onprem, dc),
            );
            return;
        }
        self.emit(
            Entry::new(kind.failure_event_id(), "writeback failed")
                .job(job)
                .ended(outcome, onprem, dc),
        );
        if let Some(detail) = outcome.detail_event_id() {
            self.emit(
                Entry::new(detail, outcome.as_str().replace('_', " "))
                    .job(job)
                    .ended(outcome, onprem, dc),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::LabTime;
    use wire::types::{JobId, Target};

    fn job(kind: JobKind) -> Job {
        Job {
            id: JobId::new("job-7").unwrap(),
            kind,
            target: Target {
                domain: "contoso.lab".into(),
                anchor: Uuid::from_u128(7),
                sam_account_name: Some("alice".into()),
                dn: None,
            },
            sealed: None,
            unlock: false,
            must_change: false,
            deadline_ms: 0,
            attempt: 1,
        }
    }

    #[test]
    fn every_name_is_listed_once_and_levels_follow_the_product() {
        let mut ids: Vec<u32> = NAMES.iter().map(|(i, _)| *i).collect();
        ids.dedup();
        assert_eq!(ids.len(), NAMES.len());
        assert_eq!(name(33004), "ADPermissionsError");
        assert_eq!(name(1), "Unknown");
        assert_eq!(Level::of(31002), Level::Information);
        assert_eq!(Level::of(31011), Level::Error);
        assert_eq!(Level::of(32014), Level::Warning);
        assert_eq!(Level::of(33008), Level::Error);
        for kind in [
            JobKind::Reset,
            JobKind::AdminReset,
            JobKind::Change,
            JobKind::Unlock,
        ] {
            for id in [
                kind.start_event_id(),
                kind.success_event_id(),
                kind.failure_event_id(),
            ] {
                assert_ne!(name(id), "Unknown", "{id}");
            }
        }
    }

    #[tokio::test]
    async fn a_failed_job_writes_its_failure_and_detail_events_as_json_lines() {
        let dir = std::env::temp_dir().join(format!("events-test-{}", std::process::id()));
        let path = dir.join("events.jsonl");
        let _ = std::fs::remove_file(&path);
        let log = EventLog::open(
            Engine::ConnectSync,
            "northwind.lab",
            Clock::starting_at(LabTime::from_unix_secs(1_800_000_000)),
            Some(&path),
        )
        .unwrap();
        log.set_agent(Uuid::from_u128(9));
        let j = job(JobKind::AdminReset);
        log.job_started(&j);
        let denied = OnPremError {
            ldap_code: 50,
            diagnostic:
                "00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0"
                    .into(),
            win32: Some(0x2098),
            data: None,
        };
        log.job_ended(
            &j,
            Outcome::AccessDenied,
            Some(&denied),
            Some("dc1.northwind.lab"),
        );
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ids: Vec<u64> = lines.iter().map(|l| l["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, vec![31009, 31011, 33004]);
        let detail = &lines[2];
        assert_eq!(detail["name"], "ADPermissionsError");
        assert_eq!(detail["source"], "PasswordResetService");
        assert_eq!(detail["engine"], "connect-sync");
        assert_eq!(detail["level"], "Error");
        assert_eq!(detail["user"], "alice");
        assert_eq!(detail["ldap_code"], 50);
        assert_eq!(detail["dc"], "dc1.northwind.lab");
        assert_eq!(detail["agent"], Uuid::from_u128(9).to_string());
        assert!(detail["time"].as_str().unwrap().starts_with("2027-01-15"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
