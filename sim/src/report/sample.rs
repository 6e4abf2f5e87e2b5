//! A hand-made run record for the report tests: two hours of the default lab with one writeback
//! per kind of ending and one refusal per kind of reason.

use runtime::LabTime;
use wire::types::{Engine, JobKind, OnPremError, Outcome};

use super::record::*;

/// 2026-11-25T09:00:00Z.
pub const START: u64 = 1_795_597_200;

/// The lab time `secs` seconds after [`START`].
pub fn at(secs: u64) -> LabTime {
    LabTime::from_unix_secs(START + secs)
}

/// A record with no events, 09:00 to 11:00.
pub fn empty() -> RunRecord {
    let mut r = RunRecord::new("sample", 7, "turmoil", at(0));
    r.end = at(7_200);
    r
}

/// A reset of `user{i}` in contoso.lab submitted `i` s after the start, ended 1 s later.
pub fn writeback(i: u64, outcome: Outcome) -> Writeback {
    Writeback {
        job_id: Some(format!("job-{i}")),
        operation: "sspr_reset".into(),
        kind: Some(JobKind::Reset),
        domain: "contoso.lab".into(),
        engine: Some(Engine::CloudSync),
        user: format!("user{i}"),
        submitted: at(i),
        ended: Some(at(i + 1)),
        outcome: WritebackOutcome::Job(outcome),
        user_code: WritebackOutcome::Job(outcome).default_user_code(),
        dc: None,
        onprem: None,
        hops: Vec::new(),
    }
}

fn named(user: &str, secs: u64, outcome: WritebackOutcome) -> Writeback {
    Writeback {
        job_id: Some(format!("job-{user}")),
        user: user.into(),
        submitted: at(secs),
        ended: Some(LabTime(at(secs).0 + 800_000_000)),
        user_code: outcome.default_user_code(),
        outcome,
        ..writeback(0, Outcome::Succeeded)
    }
}

fn hops(w: &mut Writeback, connect: u64) {
    for (name, us) in [
        (hop::CLOUD, 2_000),
        (hop::RELAY_QUEUE, 150_000),
        (hop::ACK, 3_000),
        (hop::OPEN, 100),
        (hop::CONNECT, connect),
        (hop::SEARCH, 900),
        (hop::MODIFY, 1_500),
        (hop::AGENT_TOTAL, 7_000),
    ] {
        w.push_hop(name, us);
    }
}

fn refusal(user: &str, dn: &str, secs: u64, dc: &str, reason: RefusalReason) -> Refusal {
    let (code, diagnostic) = match reason {
        RefusalReason::Access { .. } => (
            50,
            "00002098: SecErr: DSID-03150A45, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0",
        ),
        RefusalReason::Policy { .. } => (
            53,
            "0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0",
        ),
        RefusalReason::WrongOldPassword => (
            19,
            "00000056: AtrErr: DSID-03190F80, #1:\n\t0: 00000056: DSID-03190F80, problem 1005 \
             (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)",
        ),
    };
    Refusal {
        job_id: format!("job-{user}"),
        at: at(secs),
        dc: dc.into(),
        who: "CONTOSO\\provAgentgMSA$".into(),
        object: dn.into(),
        ldap_code: code,
        diagnostic: diagnostic.into(),
        reason,
    }
}

fn access(dn: &str, context: AccessContext) -> RefusalReason {
    RefusalReason::Access {
        right: "Reset Password".into(),
        on: dn.into(),
        by: "no ACE grants it".into(),
        descriptor: "sd-7f3a".into(),
        context,
    }
}

const CAROL: &str = "CN=Carol Cruz,OU=Staff,DC=contoso,DC=lab";
const DAVE: &str = "CN=Dave Dunn,OU=Staff,DC=contoso,DC=lab";
const ERIN: &str = "CN=Erin Eck,OU=Staff,DC=contoso,DC=lab";
const FRANK: &str = "CN=Frank Fox,OU=Staff,DC=contoso,DC=lab";
const GRACE: &str = "CN=Grace Gale,OU=Staff,DC=contoso,DC=lab";

/// The sample record.
pub fn record() -> RunRecord {
    let mut r = empty();
    let job = WritebackOutcome::Job;

    let mut alice = named("alice", 600, job(Outcome::Succeeded));
    alice.dc = Some("dc1.contoso.lab".into());
    alice.user_code = None;
    hops(&mut alice, 400);
    alice.push_hop(hop::REPLICATION, 15_000_000);

    let mut carol = named("carol", 3_605, job(Outcome::AccessDenied));
    carol.dc = Some("dc2.contoso.lab".into());
    hops(&mut carol, 500);
    carol.onprem = Some(OnPremError {
        ldap_code: 50,
        diagnostic: "00002098: SecErr: DSID-03150A45, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0"
            .into(),
        win32: Some(0x2098),
        data: Some(0),
    });

    let mut dave = named("dave", 3_700, job(Outcome::AccessDenied));
    dave.dc = Some("dc1.contoso.lab".into());
    let mut erin = named("erin", 3_800, job(Outcome::AccessDenied));
    erin.dc = Some("dc1.contoso.lab".into());
    let mut frank = named("frank", 3_900, job(Outcome::PolicyViolation));
    frank.dc = Some("dc1.contoso.lab".into());
    frank.kind = Some(JobKind::Change);
    frank.operation = "voluntary_change".into();
    let mut grace = named("grace", 4_000, job(Outcome::BadOldPassword));
    grace.dc = Some("dc1.contoso.lab".into());
    grace.kind = Some(JobKind::Change);

    let mut heidi = named(
        "heidi",
        4_100,
        WritebackOutcome::Cloud("WritebackNotEnabled".into()),
    );
    heidi.job_id = None;
    heidi.kind = None;
    heidi.user_code = Some("SSPR_0010".into());

    let mut ivan = named("ivan", 4_200, job(Outcome::DeadlineExceeded));
    ivan.push_hop(hop::RELAY_QUEUE, 20_000);
    ivan.push_hop(hop::ACK, 1_000);
    let judy = named("judy", 4_300, job(Outcome::DcUnreachable));

    let mut mallory = named("mallory", 4_400, job(Outcome::Succeeded));
    mallory.domain = "fabrikam.lab".into();
    mallory.engine = Some(Engine::ConnectSync);
    mallory.operation = "graph_reset_password".into();
    mallory.kind = Some(JobKind::AdminReset);
    mallory.dc = Some("dc1.fabrikam.lab".into());
    mallory.user_code = None;
    hops(&mut mallory, 600);

    r.writebacks = vec![
        alice, carol, dave, erin, frank, grace, heidi, ivan, judy, mallory,
    ];

    r.refusals = vec![
        refusal(
            "carol",
            CAROL,
            3_605,
            "dc2.contoso.lab",
            access(
                CAROL,
                AccessContext {
                    inheritance_disabled: true,
                    admin_count: false,
                    grant: Some(Grant {
                        at: at(3_600),
                        dc: "dc1.contoso.lab".into(),
                        object: CAROL.into(),
                        reached_dc_at: Some(at(3_615)),
                        reached_object_at: None,
                    }),
                },
            ),
        ),
        refusal(
            "dave",
            DAVE,
            3_700,
            "dc1.contoso.lab",
            access(
                DAVE,
                AccessContext {
                    inheritance_disabled: true,
                    admin_count: true,
                    grant: None,
                },
            ),
        ),
        refusal(
            "erin",
            ERIN,
            3_800,
            "dc1.contoso.lab",
            access(
                ERIN,
                AccessContext {
                    inheritance_disabled: true,
                    ..AccessContext::default()
                },
            ),
        ),
        refusal(
            "frank",
            FRANK,
            3_900,
            "dc1.contoso.lab",
            RefusalReason::Policy {
                rule: PolicyRule::MinimumAge,
                context: PolicyContext {
                    last_set: Some(at(720)),
                    min_age_secs: Some(86_400),
                    min_length: Some(7),
                    history_size: Some(24),
                    source: Some(PolicySource {
                        origin: "GPO".into(),
                        setting: Some("MinimumPasswordAge".into()),
                        value: Some("1".into()),
                        dc: Some("dc1.contoso.lab".into()),
                        applied_at: Some(at(900)),
                    }),
                },
            },
        ),
        refusal(
            "grace",
            GRACE,
            4_000,
            "dc1.contoso.lab",
            RefusalReason::WrongOldPassword,
        ),
    ];

    r.steps = vec![
        Step {
            at: at(3_600),
            action: "grant ace on CN=Carol Cruz (dc1)".into(),
            narration: Some("The admin grants the sync account rights on carol | directly.".into()),
            ok: true,
            result: "granted".into(),
        },
        Step {
            at: at(4_250),
            action: "dc down dc1.contoso.lab".into(),
            narration: None,
            ok: true,
            result: "stopped".into(),
        },
    ];

    r.progress = vec![
        ProgressSeries {
            kind: ProgressKind::Replication,
            name: "ACE on CN=Carol Cruz".into(),
            samples: vec![
                ProgressSample {
                    at: at(3_600),
                    done: 1,
                    total: 2,
                },
                ProgressSample {
                    at: at(3_615),
                    done: 2,
                    total: 2,
                },
            ],
        },
        ProgressSeries {
            kind: ProgressKind::Propagation,
            name: "ACE on DC=contoso,DC=lab".into(),
            samples: (0..=10)
                .map(|i| ProgressSample {
                    at: at(1_000 + i * 60),
                    done: i * 100,
                    total: 1_000,
                })
                .collect(),
        },
    ];

    r.expectations = vec![
        Expectation {
            name: "outcome succeeded".into(),
            expected: "2".into(),
            observed: "2".into(),
            passed: true,
        },
        Expectation {
            name: "p99 total".into(),
            expected: "<= 500 ms".into(),
            observed: "800 ms".into(),
            passed: false,
        },
    ];
    r
}
