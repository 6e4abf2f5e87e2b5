//! The parser's tests: the catalogue, round trips, and one test per kind of error, each asserting
//! that the message names the file, the line and the field.

use super::*;

/// A scenario that uses most of the format.
const SAMPLE: &str = r#"
name = "sample"
description = "Most of the format at once."
tags = ["test"]
seed = 7
start = "2026-01-05T08:00:00Z"
duration = "2h"
tick = "5ms"
backend = "turmoil"

[lab]
base = "default"
drop = ["fabrikam.lab"]

[[lab.domains]]
dns = "contoso.lab"
gpo = { MinimumPasswordAge = 1 }
ous = ["Contractors"]
users = [{ sam = "gus", given = "Gus", surname = "Grant", ou = "Contractors" }]

[[lab.generated]]
domain = "contoso.lab"
count = 100
pattern = "u{n:04}"
ous = ["Sales", "Support"]
groups = ["Sales-All"]
admins = 0.01
locked = 0.02

[[lab.psos]]
domain = "contoso.lab"
name = "Sales-PSO"
precedence = 10
applies_to = ["Sales-All", "u0001"]
policy = { min_length = 12 }

[[lab.acl]]
domain = "contoso.lab"
object = "OU=Staff"
disable_inheritance = true

[lab.cloud]
unlock_without_reset = false
domain_writeback = { "contoso.lab" = true }
banned = ["contoso"]
scope = [{ domain = "contoso.lab", ous = ["Staff", "Sales"], exclude = ["u0002"] }]

[[lab.agents]]
domain = "northwind.lab"
policy_hints = "off"
ldap_timeout = "60s"

[lab.network]
default = "1ms"
links = [
  { a = "cloud", b = "contoso.lab/*", latency = { dist = "lognormal", mean_ms = 30, sd_ms = 10 } },
  { a = "contoso.lab/agent1", b = "contoso.lab/DC1", latency = "2ms" },
]

[[timeline]]
at = "1m"
narration = "DC2 goes down."
dc_stop = { domain = "contoso.lab", dc = "DC2" }

[[timeline]]
at = "2m"
dc_delay = { domain = "contoso.lab", dc = "DC1", modify_ms = 500 }

[[timeline]]
at = "3m"
partition = { a = "cloud", b = "contoso.lab/agent1" }

[[timeline]]
at = "4m"
heal = {}

[[timeline]]
at = "5m"
setting = { name = "unlock_without_reset", value = true, as = "helpdesk" }
refused = "Authorization_RequestDenied"

[[timeline]]
at = "6m"
grant_ace = { domain = "contoso.lab", object = "carol@contoso.lab", sddl = "(OA;;CR;00299570-246d-11d0-a768-00aa006e0529;;{sync})" }

[[timeline]]
at = "7m"
operation = { op = "admin_center_reset", user = "u0042@contoso.lab", by = "admin", expect = "written_back" }

[[timeline]]
at = "8m"
gpo_set = { domain = "contoso.lab", settings = { MinimumPasswordAge = 0 } }

[[timeline]]
at = "9m"
latency_spike = { a = "cloud", b = "northwind.lab/agent1", ms = 400, for = "5m" }

[[timeline]]
at = "10m"
advance = { by = "30m" }

[workload]
arrivals = { diurnal = { peak_per_hour = 600, trough_per_hour = 60, peak_at = "10:00" } }
bursts = [{ at = "Mon 09:00", count = 50, over = "10m" }]
mix = [
  { op = "self_service_reset", weight = 5 },
  { op = "powershell_admin_reset", weight = 1, by = "admin" },
  { op = "voluntary_change", weight = 1, password = "wrong_current" },
]
users = { domains = ["contoso.lab"], share = 0.5 }

[[expect.outcomes]]
outcome = "succeeded"
at_least = 10

[[expect.outcomes]]
outcome = "SSPR_0029"
op = "self_service_reset"
exactly = 0

[[expect.latency]]
hop = "agent_total"
p = 99
under = "200ms"
engine = "cloud-sync"

[[expect.users]]
user = "u0042@contoso.lab"
binds_with = "last_set"
must_change = true
"#;

fn load(text: &str) -> Result<Scenario, ScenarioError> {
    parse_str(text, "test.toml")
}

/// The one problem of a failed load.
fn problem(text: &str) -> Problem {
    let e = load(text).expect_err("the file is bad");
    let ps = e.problems();
    assert_eq!(ps.len(), 1, "{e}");
    ps[0].clone()
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no {needle:?}"))
}

/// A minimal valid header followed by `body`.
fn with_header(body: &str) -> String {
    format!("name = \"t\"\ndescription = \"A test.\"\nduration = \"1h\"\n{body}")
}

/// Asserts the error's text names the file, `line`, and `field`, and says `what`.
fn assert_names(text: &str, line: usize, field: &str, what: &str) {
    let p = problem(text);
    let shown = p.to_string();
    assert_eq!(p.at.file, "test.toml", "{shown}");
    assert_eq!(p.at.line, line, "{shown}");
    assert_eq!(p.field.to_string(), field, "{shown}");
    assert!(shown.starts_with(&format!("test.toml:{line}:")), "{shown}");
    assert!(shown.contains(field), "{shown}");
    assert!(shown.contains(what), "{shown}");
}

#[test]
fn every_catalogue_scenario_parses_and_validates() {
    assert!(!CATALOGUE.is_empty());
    for e in CATALOGUE {
        let s = e.load().unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(s.name, e.name, "{} is named after its file", e.file);
        assert!(
            !s.expect.is_empty(),
            "{} has expectations, so the catalogue is a test suite",
            e.name
        );
        s.lab_spec().unwrap();
    }
}

#[test]
fn the_catalogue_has_the_cases_of_issue_f() {
    for name in [
        "tutorial",
        "rights-spreading",
        "inheritance-disabled",
        "admin-sd-holder",
        "min-age-gpupdate",
        "agent-down-ha",
        "slow-dc",
        "user-out-of-scope",
        "day-100k",
    ] {
        assert!(catalogue::entry(name).is_some(), "{name}");
    }
    let day = load_day();
    assert!(day.has_tag("heavy"));
    let users: u32 = day.lab.generated.iter().map(|g| g.count).sum();
    assert_eq!(users, 100_000);
    assert_eq!(day.lab_spec().unwrap().forests.len(), 2);
    let mixed: std::collections::BTreeSet<Op> = day
        .workload
        .as_ref()
        .unwrap()
        .mix
        .iter()
        .map(|m| m.op)
        .collect();
    assert_eq!(mixed.len(), Op::ALL.len(), "day-100k mixes every operation");
    let heavy: Vec<_> = catalogue::load_all()
        .unwrap()
        .into_iter()
        .filter(|s| s.has_tag("heavy"))
        .map(|s| s.name)
        .collect();
    assert_eq!(heavy, ["day-100k"]);
}

fn load_day() -> Scenario {
    catalogue::load("day-100k").unwrap()
}

#[test]
fn the_tutorial_starts_undeployed_on_the_default_lab() {
    let t = catalogue::load("tutorial").unwrap();
    assert!(t.lab.undeployed);
    assert_eq!(t.lab.base, Some(LabBase::Default));
    let spec = t.lab_spec().unwrap();
    let mut expected = crate::default_lab();
    expected.name = "tutorial".into();
    expected.start = spec.start.clone();
    expected.deployed = false;
    assert_eq!(spec, expected);
    assert!(!t.lab.agents_started("contoso.lab"));
    assert!(!t.lab.writeback_aces("northwind.lab"));
    let settings = t.lab.cloud.settings(t.lab.is_undeployed());
    assert_eq!(settings, fake_cloud::decision::Settings::UNDEPLOYED);
}

#[test]
fn a_rich_scenario_parses_into_the_model() {
    let s = load(SAMPLE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.seed, 7);
    assert_eq!(s.backend, Backend::Turmoil);
    assert_eq!(s.duration, Dur::secs(7200));
    assert_eq!(s.timeline.len(), 10);
    assert_eq!(s.timeline[0].narration.as_deref(), Some("DC2 goes down."));
    match &s.timeline[6].action {
        Action::Operation(o) => {
            assert_eq!(o.op, Op::AdminCenterReset);
            assert_eq!(o.expect, Some(Outcome::WrittenBack));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.timeline[4].refused.as_deref(),
        Some("Authorization_RequestDenied")
    );
    let spec = s.lab_spec().unwrap();
    assert_eq!(spec.forests.len(), 2, "fabrikam's forest is dropped");
    let contoso = &spec.forests[0].domains[0];
    assert_eq!(contoso.policy.min_age_days, 1);
    assert!(contoso.users.iter().any(|u| u.sam == "gus"));
    assert_eq!(s.lab.generated[0].sam(42), "u0042");
    assert!(!s.lab.cloud.settings(false).unlock_without_reset);
    assert!(s.lab.network.has_distribution());
    assert_eq!(s.expect.len(), 4);
}

#[test]
fn a_scenario_round_trips_through_toml() {
    let mut all = catalogue::load_all().unwrap();
    all.push(load(SAMPLE).unwrap());
    for s in all {
        let text = s.to_toml();
        let back = parse_str(&text, "round-trip.toml")
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", s.name));
        assert_eq!(back, s, "{text}");
    }
}

#[test]
fn resolve_takes_a_name_or_a_path() {
    assert_eq!(resolve("tutorial").unwrap().name, "tutorial");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(&path, with_header("")).unwrap();
    assert_eq!(resolve(path.to_str().unwrap()).unwrap().name, "t");
    let e = resolve("no-such-scenario").unwrap_err();
    assert!(e.to_string().contains("tutorial"), "{e}");
}

#[test]
fn a_file_error_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, with_header("seed = \"one\"\n")).unwrap();
    let e = load_file(&path).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{}:4:", path.display())),
        "{shown}"
    );
    assert!(shown.contains("seed"), "{shown}");
    let missing = load_file(&dir.path().join("none.toml")).unwrap_err();
    assert!(missing.to_string().contains("none.toml"), "{missing}");
}

#[test]
fn syntax_error_inside_a_value() {
    let text = with_header(
        "\n[[timeline]]\nat = \"1m\"\ndc_stop = { domain = \"contoso.lab\", dc = DC2 }\n",
    );
    let p = problem(&text);
    assert_eq!(p.at.line, line_of(&text, "dc_stop"), "{p}");
    assert!(p.to_string().starts_with("test.toml:7:"), "{p}");
}

#[test]
fn syntax_error() {
    let text = with_header("[lab\nbase = \"default\"\n");
    let p = problem(&text);
    assert_eq!(p.at.line, 4, "{p}");
    let e = load(&text).unwrap_err();
    assert!(matches!(e, ScenarioError::Syntax(_)));
    assert!(e.to_string().starts_with("test.toml:4:"), "{e}");
    assert!(e.to_string().contains("TOML syntax"), "{e}");
}

#[test]
fn unknown_field() {
    let text = with_header(
        "\n[[timeline]]\nat = \"1m\"\ndc_stop = { domain = \"contoso.lab\", dc = \"DC2\", force = true }\n",
    );
    assert_names(
        &text,
        line_of(&text, "force"),
        "timeline[0].dc_stop.force",
        "unknown field `force`",
    );
    let top = with_header("colour = \"blue\"\n");
    assert_names(&top, 4, "colour", "unknown field `colour`");
}

#[test]
fn unknown_action() {
    let text = with_header(
        "\n[[timeline]]\nat = \"1m\"\ndc_reboot = { domain = \"contoso.lab\", dc = \"DC2\" }\n",
    );
    assert_names(
        &text,
        line_of(&text, "dc_reboot"),
        "timeline[0].dc_reboot",
        "unknown field `dc_reboot`",
    );
}

#[test]
fn a_step_without_an_action_or_with_two() {
    let none = with_header("\n[[timeline]]\nat = \"1m\"\nnarration = \"nothing\"\n");
    assert_names(&none, 5, "timeline[0]", "the step has no action");
    let two = with_header(
        "\n[[timeline]]\nat = \"1m\"\nheal = {}\nsdprop = {}\n\n[[timeline]]\nat = \"2m\"\nheal = {}\n",
    );
    assert_names(&two, 5, "timeline[0]", "2 actions (heal, sdprop)");
}

#[test]
fn wrong_type() {
    let text = with_header("seed = \"one\"\n");
    assert_names(&text, 4, "seed", "invalid type: string \"one\"");
    let nested = with_header(
        "\n[[timeline]]\nat = \"1m\"\ndc_delay = { domain = \"contoso.lab\", dc = \"DC1\", all_ms = \"500\" }\n",
    );
    assert_names(
        &nested,
        line_of(&nested, "all_ms"),
        "timeline[0].dc_delay.all_ms",
        "invalid type",
    );
}

#[test]
fn missing_field() {
    let text = "name = \"t\"\ndescription = \"A test.\"\n";
    let p = problem(text);
    assert!(p.message.contains("missing field `duration`"), "{p}");
    assert_eq!(p.at.line, 1, "{p}");
    let step = with_header("\n[[timeline]]\nnarration = \"when?\"\nheal = {}\n");
    assert_names(&step, 5, "timeline[0]", "missing field `at`");
}

#[test]
fn bad_duration() {
    let text = with_header("\n[[timeline]]\nat = \"10 minutes\"\nheal = {}\n");
    assert_names(
        &text,
        line_of(&text, "10 minutes"),
        "timeline[0].at",
        "bad duration \"10 minutes\"",
    );
    let top = with_header("tick = \"5\"\n");
    assert_names(&top, 4, "tick", "the number has no unit");
}

#[test]
fn bad_start() {
    let text = with_header("start = \"Monday morning\"\n");
    assert_names(&text, 4, "start", "bad time \"Monday morning\"");
}

#[test]
fn unknown_op() {
    let text = with_header(
        "\n[[timeline]]\nat = \"1m\"\noperation = { op = \"self_service_rest\", user = \"alice@contoso.lab\" }\n",
    );
    assert_names(
        &text,
        line_of(&text, "self_service_rest"),
        "timeline[0].operation.op",
        "unknown variant `self_service_rest`",
    );
    let mix = with_header(
        "\n[workload]\narrivals = { poisson = { per_hour = 10 } }\nmix = [\n  { op = \"self_service_reset\", weight = 1 },\n  { op = \"teleport\", weight = 1 },\n]\nusers = { teaching = true }\n",
    );
    assert_names(
        &mix,
        line_of(&mix, "teleport"),
        "workload.mix[1].op",
        "unknown variant `teleport`",
    );
}

#[test]
fn unknown_outcome() {
    let text = with_header("\n[[expect.outcomes]]\noutcome = \"SSPR_29\"\nat_least = 1\n");
    assert_names(
        &text,
        line_of(&text, "SSPR_29"),
        "expect.outcomes[0].outcome",
        "unknown outcome \"SSPR_29\"",
    );
}

#[test]
fn unknown_domain_in_a_step() {
    let text = with_header(
        "\n[[timeline]]\nat = \"1m\"\nsdprop = {}\n\n[[timeline]]\nat = \"2m\"\ngpupdate = { domain = \"contoso.example\", force = true }\n",
    );
    assert_names(
        &text,
        line_of(&text, "contoso.example"),
        "timeline[1].gpupdate.domain",
        "unknown domain \"contoso.example\"",
    );
    assert!(
        problem(&text)
            .message
            .contains("contoso.lab, fabrikam.lab, northwind.lab")
    );
}

#[test]
fn unknown_dc_in_a_step() {
    let text = with_header(
        "\n[[timeline]]\nat = \"1m\"\ndc_stop = { domain = \"fabrikam.lab\", dc = \"DC2\" }\n",
    );
    assert_names(
        &text,
        line_of(&text, "dc_stop"),
        "timeline[0].dc_stop.dc",
        "fabrikam.lab has no DC \"DC2\" (it has DC1)",
    );
}

#[test]
fn unknown_user_in_a_step() {
    let text = with_header(
        "\n[[timeline]]\nat = \"1m\"\noperation = { op = \"self_service_reset\", user = \"zoe@contoso.lab\" }\n",
    );
    assert_names(
        &text,
        line_of(&text, "zoe"),
        "timeline[0].operation.user",
        "unknown user \"zoe@contoso.lab\"",
    );
}

#[test]
fn unknown_agent_and_admin() {
    let text = with_header(
        "\n[[timeline]]\nat = \"1m\"\nagent_crash = { domain = \"fabrikam.lab\", index = 2 }\n",
    );
    assert_names(
        &text,
        line_of(&text, "agent_crash"),
        "timeline[0].agent_crash.index",
        "fabrikam.lab has 1 agent(s), so no agent2",
    );
    let admin = with_header(
        "\n[[timeline]]\nat = \"1m\"\nsetting = { name = \"sspr\", value = \"all\", as = \"alice@contoso.lab\" }\n",
    );
    assert_names(
        &admin,
        line_of(&admin, "setting"),
        "timeline[0].setting.as",
        "has no cloud admin role",
    );
}

#[test]
fn a_step_after_the_end_or_out_of_order() {
    let text = with_header("\n[[timeline]]\nat = \"2h\"\nheal = {}\n");
    let text = text.replace("heal = {}", "sdprop = {}");
    assert_names(
        &text,
        line_of(&text, "2h"),
        "timeline[0].at",
        "comes after the run ends (1h)",
    );
    let order = with_header(
        "\n[[timeline]]\nat = \"20m\"\nsdprop = {}\n\n[[timeline]]\nat = \"10m\"\nsdprop = {}\n",
    );
    assert_names(
        &order,
        line_of(&order, "10m"),
        "timeline[1].at",
        "keep steps in time order",
    );
}

#[test]
fn weights_that_sum_to_zero() {
    let text = with_header(
        "\n[workload]\narrivals = { poisson = { per_hour = 10 } }\nmix = [{ op = \"self_service_reset\", weight = 0 }]\nusers = { teaching = true }\n",
    );
    assert_names(
        &text,
        line_of(&text, "mix ="),
        "workload.mix",
        "the weights sum to 0",
    );
}

#[test]
fn the_paused_backend_refuses_network_faults() {
    let text = with_header(
        "\n[[timeline]]\nat = \"1m\"\npartition = { a = \"cloud\", b = \"fabrikam.lab/agent1\" }\n",
    );
    assert_names(
        &text,
        line_of(&text, "partition"),
        "timeline[0].partition",
        "needs backend = \"turmoil\"",
    );
}

#[test]
fn bad_values_inside_tables() {
    let gpo = with_header(
        "\n[[timeline]]\nat = \"1m\"\ngpo_set = { domain = \"contoso.lab\", settings = { MinimumPasswordAge = 1000 } }\n",
    );
    assert_names(
        &gpo,
        line_of(&gpo, "gpo_set"),
        "timeline[0].gpo_set.settings.MinimumPasswordAge",
        "outside 0..=998",
    );
    let sddl = with_header(
        "\n[[timeline]]\nat = \"1m\"\ngrant_ace = { domain = \"contoso.lab\", object = \"root\", sddl = \"(XA;;CR;;;{sync})\" }\n",
    );
    assert_names(
        &sddl,
        line_of(&sddl, "grant_ace"),
        "timeline[0].grant_ace.sddl",
        "unknown ACE type",
    );
    let share =
        with_header("\n[[lab.generated]]\ndomain = \"contoso.lab\"\ncount = 10\nlocked = 1.5\n");
    assert_names(
        &share,
        line_of(&share, "locked"),
        "lab.generated[0].locked",
        "between 0 and 1",
    );
}

#[test]
fn several_problems_are_all_reported_one_per_line() {
    let text = with_header(
        "\n[[timeline]]\nat = \"1m\"\ndc_stop = { domain = \"contoso.lab\", dc = \"DC9\" }\n\n[[timeline]]\nat = \"2m\"\noperation = { op = \"self_service_reset\", user = \"zoe@contoso.lab\", by = \"admin\" }\n",
    );
    let e = load(&text).unwrap_err();
    let shown = e.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "{shown}");
    assert!(lines[0].contains("timeline[0].dc_stop.dc"), "{shown}");
    assert!(lines[1].contains("timeline[1].operation.user"), "{shown}");
    assert!(
        lines[2].contains("timeline[1].operation.by") && lines[2].contains("only for admin tools"),
        "{shown}"
    );
}

#[test]
fn the_scenarios_list_shows_every_entry() {
    let text = catalogue::list_text().unwrap();
    for e in CATALOGUE {
        assert!(text.contains(e.name), "{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.contains("day-100k") && l.contains("heavy"))
    );
}

/// Every key a scenario can hold, from the serialised sample and catalogue.
fn keys_of(v: &toml::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                out.insert(k.clone());
                keys_of(v, out);
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| keys_of(v, out)),
        _ => {}
    }
}

#[test]
fn the_docs_name_every_field_and_value() {
    let docs = include_str!("../../../docs/scenarios.md");
    let mut keys = std::collections::BTreeSet::new();
    let mut all = catalogue::load_all().unwrap();
    all.push(load(SAMPLE).unwrap());
    for s in &all {
        keys_of(&toml::Value::try_from(s).unwrap(), &mut keys);
    }
    for k in &keys {
        assert!(
            docs.contains(&format!("`{k}`")) || docs.contains(k.as_str()),
            "docs/scenarios.md lacks {k}"
        );
    }
    let words: Vec<String> = Action::KEYS
        .iter()
        .map(|k| k.to_string())
        .chain(Op::ALL.iter().map(|o| o.as_str().to_string()))
        .chain(names::reasons().into_iter().map(String::from))
        .chain(
            [
                Hop::Total,
                Hop::AcceptToQueue,
                Hop::QueueToOffer,
                Hop::OfferToAck,
                Hop::AckToResult,
                Hop::ResultToTerminal,
                Hop::Ack,
                Hop::Open,
                Hop::LdapConnect,
                Hop::LdapSearch,
                Hop::LdapModify,
                Hop::AgentTotal,
                Hop::Replication,
            ]
            .iter()
            .map(|h| h.as_str().to_string()),
        )
        .chain(
            [
                "valid",
                "previous",
                "banned",
                "too_short",
                "low_complexity",
                "display_name",
                "unicode",
                "wrong_current",
            ]
            .map(String::from),
        )
        .chain(CATALOGUE.iter().map(|e| e.name.to_string()))
        .collect();
    for w in words {
        assert!(
            docs.contains(&format!("`{w}`")),
            "docs/scenarios.md lacks `{w}`"
        );
    }
}
