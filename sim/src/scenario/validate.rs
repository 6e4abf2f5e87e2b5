//! What serde cannot check: that every name a scenario uses exists in its lab (domains, DCs,
//! agents, users, admins, objects), that steps fall within the run and in time order, that the
//! backend can do what the scenario asks, and that numbers make sense (weights, shares,
//! percentiles, bounds). Each problem names its field.

use std::collections::{BTreeMap, BTreeSet};

use super::error::FieldPath;
use super::model::{Backend, LabSection, Scenario};
use super::names::{Host, Op, PasswordKind, SettingName};
use super::resolve::{self, Issue, Names};
use super::timeline::{Action, SettingValue, Step};
use crate::spec::Engine;

/// Collects problems.
struct Check<'a> {
    names: Names<'a>,
    s: &'a Scenario,
    issues: Vec<Issue>,
}

impl Check<'_> {
    fn push(&mut self, path: FieldPath, message: impl Into<String>) {
        self.issues.push(Issue::new(path, message));
    }

    /// Records `r`'s error at `path`.
    fn or_push<T>(&mut self, path: FieldPath, r: Result<T, String>) {
        if let Err(e) = r {
            self.push(path, e);
        }
    }
}

/// Every problem of a parsed scenario (empty: it holds together).
pub(crate) fn check(s: &Scenario) -> Vec<Issue> {
    let root = FieldPath::root();
    let mut early = Vec::new();
    let label = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !label(&s.name) {
        early.push(Issue::new(
            root.k("name"),
            format!("{:?} is not a name: use a-z, 0-9 and -", s.name),
        ));
    }
    if s.description.trim().is_empty() || s.description.contains('\n') {
        early.push(Issue::new(
            root.k("description"),
            "write one non-empty line",
        ));
    }
    for (i, t) in s.tags.iter().enumerate() {
        if !label(t) {
            early.push(Issue::new(
                root.k("tags").i(i),
                format!("{t:?} is not a tag: use a-z, 0-9 and -"),
            ));
        }
    }
    if s.duration.get().is_zero() {
        early.push(Issue::new(
            root.k("duration"),
            "the run must last longer than 0s",
        ));
    }
    if s.tick.get().is_zero() || s.tick > s.duration {
        early.push(Issue::new(
            root.k("tick"),
            format!(
                "the tick {} must be above 0 and at most the duration",
                s.tick
            ),
        ));
    }
    let spec = match resolve::lab_spec(s) {
        Ok(spec) => spec,
        Err(issue) => {
            early.push(issue);
            return early;
        }
    };
    let mut c = Check {
        names: Names {
            spec,
            generated: &s.lab.generated,
        },
        s,
        issues: early,
    };
    lab(&mut c, &s.lab);
    timeline(&mut c);
    workload(&mut c);
    expectations(&mut c);
    c.issues
}

/// A share of users must be in [0, 1].
fn share_ok(v: f64) -> bool {
    v.is_finite() && (0.0..=1.0).contains(&v)
}

/// Checks SDDL ACEs; `{sync}` stands for the sync account.
fn check_sddl(sddl: &str) -> Result<(), String> {
    let body = sddl.trim();
    if !body.starts_with('(') {
        return Err(format!(
            "{sddl:?} is not a list of ACEs: write them in SDDL, e.g. (OA;;CR;00299570-246d-11d0-a768-00aa006e0529;;{{sync}})"
        ));
    }
    let sample_domain: ad_types::Sid = "S-1-5-21-1-2-3".parse().expect("a valid SID");
    let text = format!("D:{}", body.replace("{sync}", "S-1-5-21-1-2-3-1105"));
    if text.contains('{') {
        return Err(format!("{sddl:?}: the only placeholder is {{sync}}"));
    }
    ad_types::sddl::parse(&text, &sample_domain)
        .map(|_| ())
        .map_err(|e| format!("bad SDDL {sddl:?}: {e}"))
}

fn lab(c: &mut Check, lab: &LabSection) {
    let at = FieldPath::root().k("lab");
    for (i, g) in lab.generated.iter().enumerate() {
        let here = at.k("generated").i(i);
        let r = c.names.check_domain(&g.domain).map(|_| ());
        c.or_push(here.k("domain"), r);
        if g.count == 0 {
            c.push(here.k("count"), "generate at least 1 user");
        }
        if g.pattern_parts().is_none() {
            c.push(
                here.k("pattern"),
                format!(
                    "{:?} needs one {{n}} or {{n:0W}} (e.g. \"user{{n:06}}\")",
                    g.pattern
                ),
            );
        }
        if g.ous.is_empty() || g.ous.iter().any(|o| o.trim().is_empty()) {
            c.push(here.k("ous"), "list at least one OU name");
        }
        let mut total = 0.0;
        let mut each_ok = true;
        for (name, v) in g.shares() {
            if !share_ok(v) {
                c.push(here.k(name), format!("a share is between 0 and 1, not {v}"));
                each_ok = false;
            }
            total += v;
        }
        if each_ok && total > 1.0 + 1e-9 {
            c.push(
                here.clone(),
                format!("the shares add up to {total}: the states are disjoint, so at most 1"),
            );
        }
    }
    let mut pso_names = BTreeSet::new();
    for (i, p) in lab.psos.iter().enumerate() {
        let here = at.k("psos").i(i);
        let d = match c.names.check_domain(&p.domain) {
            Ok(d) => d.clone(),
            Err(e) => {
                c.push(here.k("domain"), e);
                continue;
            }
        };
        if !pso_names.insert((d.dns.to_lowercase(), p.name.to_lowercase())) {
            c.push(
                here.k("name"),
                format!("{} has two PSOs named {:?}", d.dns, p.name),
            );
        }
        if p.precedence == 0 {
            c.push(
                here.k("precedence"),
                "msDS-PasswordSettingsPrecedence is at least 1",
            );
        }
        if p.applies_to.is_empty() {
            c.push(here.k("applies_to"), "name at least one user or group");
        }
        for (j, who) in p.applies_to.iter().enumerate() {
            let r = c.names.check_principal(&d, who);
            c.or_push(here.k("applies_to").i(j), r);
        }
    }
    for (i, a) in lab.acl.iter().enumerate() {
        let here = at.k("acl").i(i);
        let r = c.names.check_object(&a.domain, &a.object);
        c.or_push(here.k("object"), r);
        let n = a.grant.is_some() as u8 + a.remove.is_some() as u8 + a.disable_inheritance as u8;
        if n != 1 {
            c.push(
                here.clone(),
                "give exactly one of grant, remove or disable_inheritance = true",
            );
        }
        for (k, v) in [("grant", &a.grant), ("remove", &a.remove)] {
            if let Some(sddl) = v {
                let r = check_sddl(sddl);
                c.or_push(here.k(k), r);
            }
        }
    }
    let cloud = at.k("cloud");
    for dns in lab.cloud.domain_writeback.keys() {
        let r = c.names.check_domain(dns).and_then(|d| match d.engine {
            Engine::CloudSync => Ok(()),
            Engine::ConnectSync => Err(format!(
                "{dns} is synced by Connect Sync, which has no cloud sync writeback flag"
            )),
        });
        c.or_push(cloud.k("domain_writeback").k(dns), r);
    }
    if !lab.cloud.banned.is_empty()
        && let Err(e) = fake_cloud::password_policy::BannedList::custom(&lab.cloud.banned)
    {
        c.push(cloud.k("banned"), e.to_string());
    }
    for (i, sc) in lab.cloud.scope.iter().enumerate() {
        let here = cloud.k("scope").i(i);
        let d = match c.names.check_domain(&sc.domain) {
            Ok(d) => d.clone(),
            Err(e) => {
                c.push(here.k("domain"), e);
                continue;
            }
        };
        let generated_ous: Vec<&String> = lab
            .generated
            .iter()
            .filter(|g| g.domain.eq_ignore_ascii_case(&d.dns))
            .flat_map(|g| g.ous.iter())
            .collect();
        for (j, ou) in sc.ous.iter().flatten().enumerate() {
            if !d
                .ous
                .iter()
                .chain(generated_ous.iter().copied())
                .any(|o| o.eq_ignore_ascii_case(ou))
            {
                c.push(here.k("ous").i(j), format!("{} has no OU {ou:?}", d.dns));
            }
        }
        for (j, sam) in sc.exclude.iter().enumerate() {
            if !c.names.has_user(&d, sam) {
                c.push(
                    here.k("exclude").i(j),
                    format!("{} has no user {sam:?}", d.dns),
                );
            }
        }
    }
    let mut agent_domains = BTreeSet::new();
    for (i, g) in lab.agents.iter().enumerate() {
        let here = at.k("agents").i(i);
        if !agent_domains.insert(g.domain.to_lowercase()) {
            c.push(here.k("domain"), format!("{} is listed twice", g.domain));
        }
        if g.ldap_timeout.is_some_and(|t| t.get().is_zero()) {
            c.push(here.k("ldap_timeout"), "the timeout must be above 0s");
        }
    }
    let net = at.k("network");
    if let Some(super::network::Latency::Dist(d)) = &lab.network.default {
        let r = d.check();
        c.or_push(net.k("default"), r);
    }
    for (i, l) in lab.network.links.iter().enumerate() {
        let here = net.k("links").i(i);
        for (k, h) in [("a", &l.a), ("b", &l.b)] {
            let r = check_host(&c.names, h);
            c.or_push(here.k(k), r);
        }
        if let super::network::Latency::Dist(d) = &l.latency {
            let r = d.check();
            c.or_push(here.k("latency"), r);
        }
    }
    if lab.network.has_distribution() && c.s.backend != Backend::Turmoil {
        c.push(net.clone(), "latency distributions need backend = \"turmoil\" (the paused backend takes fixed latencies)");
    }
}

/// Checks a host or pattern against the lab.
fn check_host(n: &Names, h: &Host) -> Result<(), String> {
    match h {
        Host::Cloud | Host::Driver | Host::Any => Ok(()),
        Host::Domain(d) => n.check_domain(d).map(|_| ()),
        Host::Dc { domain, dc } => n.check_dc(domain, dc),
        Host::Agent { domain, index } => {
            n.check_domain(domain)?;
            let count = n.agents(domain);
            if *index <= count {
                Ok(())
            } else {
                Err(format!("{domain} has {count} agent(s), so no agent{index}"))
            }
        }
    }
}

/// Checks a single host (no pattern) against the lab.
fn check_single_host(n: &Names, h: &Host) -> Result<(), String> {
    if !h.is_single() {
        return Err(format!("{h} is a pattern: name one host"));
    }
    check_host(n, h)
}

/// Checks an operation's `by` and `password` for `op`.
fn check_op_extras(
    c: &mut Check,
    here: &FieldPath,
    op: Op,
    by: Option<&String>,
    password: Option<PasswordKind>,
) {
    match by {
        Some(by) if op.by_admin() => {
            let r = c.names.check_admin(by);
            c.or_push(here.k("by"), r);
        }
        Some(_) => c.push(
            here.k("by"),
            format!("{op} is started by the user: `by` is only for admin tools"),
        ),
        None => {}
    }
    match password {
        Some(_) if !op.sets_password() => {
            c.push(here.k("password"), format!("{op} sets no password"));
        }
        Some(PasswordKind::WrongCurrent) if !op.is_change() => {
            c.push(
                here.k("password"),
                format!("wrong_current is for changes, and {op} is not one"),
            );
        }
        _ => {}
    }
}

/// What the steps so far did to agents and DCs, so a step that cannot follow them is caught.
#[derive(Default)]
struct Hosts {
    /// Agents by (domain, index): `Some(true)` running, `Some(false)` crashed, absent = as at
    /// time zero.
    agents: BTreeMap<(String, u32), bool>,
    /// Stopped DCs by (domain, DC).
    stopped: BTreeSet<(String, String)>,
}

/// Checks an agent or DC step against what the steps above did.
fn follow(c: &mut Check, hosts: &mut Hosts, a: &FieldPath, action: &Action) {
    match action {
        Action::AgentStart(g) | Action::AgentCrash(g) | Action::AgentRestart(g) => {
            if c.names.domain(&g.domain).is_none()
                || g.index == 0
                || g.index > c.names.agents(&g.domain)
            {
                return;
            }
            let key = (g.domain.to_lowercase(), g.index);
            let zero = c.s.lab.agents_started(&g.domain);
            let now = hosts.agents.get(&key).copied();
            let who = format!("{}/agent{}", g.domain, g.index);
            let problem = match (action, now) {
                (Action::AgentStart(_), None) if !zero => None,
                (Action::AgentStart(_), _) => Some(format!(
                    "{who} was started already (at time zero, or by a step above); agent_start installs an agent that never ran"
                )),
                (Action::AgentCrash(_), Some(true)) => None,
                (Action::AgentCrash(_), None) if zero => None,
                (Action::AgentCrash(_), _) => Some(format!("{who} is not running here")),
                (_, Some(false)) => None,
                _ => Some(format!(
                    "{who} has not crashed here: agent_restart follows an agent_crash"
                )),
            };
            match problem {
                Some(p) => c.push(a.clone(), p),
                None => {
                    hosts
                        .agents
                        .insert(key, !matches!(action, Action::AgentCrash(_)));
                }
            }
        }
        Action::DcStop(d) | Action::DcStart(d) => {
            if c.names.check_dc(&d.domain, &d.dc).is_err() {
                return;
            }
            let key = (d.domain.to_lowercase(), d.dc.to_lowercase());
            let stop = matches!(action, Action::DcStop(_));
            if stop && !hosts.stopped.insert(key.clone()) {
                c.push(
                    a.clone(),
                    format!("{}/{} is stopped already", d.domain, d.dc),
                );
            } else if !stop && !hosts.stopped.remove(&key) {
                c.push(
                    a.clone(),
                    format!("{}/{} is not stopped here", d.domain, d.dc),
                );
            }
        }
        _ => {}
    }
}

fn timeline(c: &mut Check) {
    let s = c.s;
    let mut hosts = Hosts::default();
    let mut last = None;
    for (i, step) in s.timeline.iter().enumerate() {
        let here = FieldPath::root().k("timeline").i(i);
        if step.at > s.duration {
            c.push(
                here.k("at"),
                format!(
                    "the step at {} comes after the run ends ({})",
                    step.at, s.duration
                ),
            );
        }
        if let Some(prev) = last
            && step.at < prev
        {
            c.push(here.k("at"), format!("the step at {} comes before the one above it ({prev}): keep steps in time order", step.at));
        }
        last = Some(step.at);
        action(c, &here, step);
        follow(c, &mut hosts, &here.k(step.action.key()), &step.action);
    }
}

fn action(c: &mut Check, here: &FieldPath, step: &Step) {
    let a = here.k(step.action.key());
    let turmoil = c.s.backend == Backend::Turmoil;
    if step.refused.is_some() && matches!(step.action, Action::Operation(_)) {
        c.push(
            here.k("refused"),
            "an operation says how it ends with `expect`, not `refused`",
        );
    }
    match &step.action {
        Action::DcStop(d) | Action::DcStart(d) => {
            let r = c.names.check_dc(&d.domain, &d.dc);
            c.or_push(a.k("dc"), r);
        }
        Action::DcDelay(d) => {
            let r = c.names.check_dc(&d.domain, &d.dc);
            c.or_push(a.k("dc"), r);
        }
        Action::AgentStart(g) | Action::AgentCrash(g) | Action::AgentRestart(g) => {
            let r = check_host(
                &c.names,
                &Host::Agent {
                    domain: g.domain.clone(),
                    index: g.index,
                },
            );
            c.or_push(a.k("index"), r);
            if g.index == 0 {
                c.push(a.k("index"), "agents are numbered from 1");
            }
        }
        Action::Partition(l) => {
            if !turmoil {
                c.push(a.clone(), "a partition needs backend = \"turmoil\"");
            }
            for (k, h) in [("a", &l.a), ("b", &l.b)] {
                let r = check_single_host(&c.names, h);
                c.or_push(a.k(k), r);
            }
            if l.a == l.b {
                c.push(a.k("b"), "a partition needs two different hosts");
            }
        }
        Action::Heal(h) => {
            match (&h.a, &h.b) {
                (None, None) => {}
                (Some(x), Some(y)) => {
                    for (k, host) in [("a", x), ("b", y)] {
                        let r = check_single_host(&c.names, host);
                        c.or_push(a.k(k), r);
                    }
                }
                _ => c.push(
                    a.clone(),
                    "give both a and b (one partition), or neither (all)",
                ),
            }
            if !turmoil {
                c.push(
                    a.clone(),
                    "heal undoes partitions, which need backend = \"turmoil\"",
                );
            }
        }
        Action::LatencySpike(l) => {
            if !turmoil {
                c.push(a.clone(), "a latency spike needs backend = \"turmoil\"");
            }
            for (k, h) in [("a", &l.a), ("b", &l.b)] {
                let r = check_host(&c.names, h);
                c.or_push(a.k(k), r);
            }
            if l.lasts.get().is_zero() {
                c.push(a.k("for"), "a spike lasts longer than 0s");
            }
        }
        Action::GrantAce(x) | Action::RemoveAce(x) => {
            let r = c.names.check_object(&x.domain, &x.object);
            c.or_push(a.k("object"), r);
            let r = check_sddl(&x.sddl);
            c.or_push(a.k("sddl"), r);
        }
        Action::DisableInheritance(o) => {
            let r = c.names.check_object(&o.domain, &o.object);
            c.or_push(a.k("object"), r);
        }
        Action::Permissions(p) => {
            let r = match &p.object {
                Some(o) => c.names.check_object(&p.domain, o),
                None => c.names.check_domain(&p.domain).map(|_| ()),
            };
            c.or_push(
                a.k(if p.object.is_some() {
                    "object"
                } else {
                    "domain"
                }),
                r,
            );
        }
        Action::Writeback(w) => {
            let r = c
                .names
                .check_domain(&w.domain)
                .and_then(|d| match d.engine {
                    Engine::CloudSync => Ok(()),
                    Engine::ConnectSync => Err(format!(
                        "{} is synced by Connect Sync: `agent writeback` is for cloud sync domains",
                        w.domain
                    )),
                });
            c.or_push(a.k("domain"), r);
            if let Some(who) = &w.as_admin {
                let r = c.names.check_admin(who);
                c.or_push(a.k("as"), r);
            }
        }
        Action::GpoSet(g) => {
            let r = c.names.check_domain(&g.domain).map(|_| ());
            c.or_push(a.k("domain"), r);
            if g.settings.is_empty() {
                c.push(a.k("settings"), "set at least one key");
            }
            for (k, v) in &g.settings {
                let r = fake_ad::gpo::validate(k, &v.to_string())
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                c.or_push(a.k("settings").k(k), r);
            }
        }
        Action::Gpupdate(g) => {
            let r = match &g.dc {
                Some(dc) => c.names.check_dc(&g.domain, dc),
                None => c.names.check_domain(&g.domain).map(|_| ()),
            };
            c.or_push(a.k(if g.dc.is_some() { "dc" } else { "domain" }), r);
        }
        Action::Sdprop(p) => {
            if let Some(d) = &p.domain {
                let r = c.names.check_domain(d).map(|_| ());
                c.or_push(a.k("domain"), r);
            }
        }
        Action::Setting(st) => {
            let ok = match (st.name, &st.value) {
                (SettingName::Sspr, SettingValue::Text(t)) => {
                    ["none", "group", "all"].contains(&t.as_str())
                }
                (SettingName::Sspr, SettingValue::Bool(_)) => false,
                (_, v) => matches!(v, SettingValue::Bool(_)),
            };
            if !ok {
                let want = if st.name == SettingName::Sspr {
                    "\"none\", \"group\" or \"all\""
                } else {
                    "true or false"
                };
                c.push(a.k("value"), format!("this setting takes {want}"));
            }
            if let Some(who) = &st.as_admin {
                let r = c.names.check_admin(who);
                c.or_push(a.k("as"), r);
            }
        }
        Action::Operation(o) => {
            let r = c.names.check_user(&o.user);
            c.or_push(a.k("user"), r);
            check_op_extras(c, &a, o.op, o.by.as_ref(), o.password);
        }
        Action::Advance(v) => {
            if v.by.get().is_zero() {
                c.push(a.k("by"), "advance by more than 0s");
            }
        }
    }
}

fn workload(c: &mut Check) {
    let s = c.s;
    let Some(w) = &s.workload else { return };
    let at = FieldPath::root().k("workload");
    let arr = at.k("arrivals");
    let rate_ok = |v: f64| v.is_finite() && v >= 0.0;
    match (&w.arrivals.poisson, &w.arrivals.diurnal) {
        (Some(_), Some(_)) => c.push(arr.clone(), "give poisson or diurnal, not both"),
        (None, None) if w.bursts.is_empty() => {
            c.push(arr.clone(), "no arrivals: give poisson, diurnal or bursts")
        }
        _ => {}
    }
    if let Some(p) = &w.arrivals.poisson
        && !rate_ok(p.per_hour)
    {
        c.push(
            arr.k("poisson").k("per_hour"),
            format!("a rate is a number ≥ 0, not {}", p.per_hour),
        );
    }
    if let Some(d) = &w.arrivals.diurnal {
        for (k, v) in [
            ("peak_per_hour", d.peak_per_hour),
            ("trough_per_hour", d.trough_per_hour),
        ] {
            if !rate_ok(v) {
                c.push(
                    arr.k("diurnal").k(k),
                    format!("a rate is a number ≥ 0, not {v}"),
                );
            }
        }
        if d.trough_per_hour > d.peak_per_hour {
            c.push(
                arr.k("diurnal").k("trough_per_hour"),
                "the trough is above the peak",
            );
        }
    }
    for (i, b) in w.bursts.iter().enumerate() {
        let here = at.k("bursts").i(i);
        if b.count == 0 {
            c.push(here.k("count"), "a burst has at least 1 arrival");
        }
        if b.over.get().is_zero() {
            c.push(here.k("over"), "a burst lasts longer than 0s");
        }
        if b.at.occurrences(s.start.lab_time(), s.duration).is_empty() {
            c.push(
                here.k("at"),
                format!(
                    "{} never comes between the start ({}) and the end ({} later)",
                    b.at, s.start, s.duration
                ),
            );
        }
    }
    if w.mix.is_empty() {
        c.push(at.k("mix"), "list at least one operation");
    } else if w.mix.iter().map(|m| m.weight as u64).sum::<u64>() == 0 {
        c.push(at.k("mix"), "the weights sum to 0");
    }
    for (i, m) in w.mix.iter().enumerate() {
        let here = at.k("mix").i(i);
        check_op_extras(c, &here, m.op, m.by.as_ref(), m.password);
    }
    let users = at.k("users");
    if !(w.users.share.is_finite() && w.users.share > 0.0 && w.users.share <= 1.0) {
        c.push(
            users.k("share"),
            format!("a share is in (0, 1], not {}", w.users.share),
        );
    }
    for (i, d) in w.users.domains.iter().enumerate() {
        let r = c.names.check_domain(d).map(|_| ());
        c.or_push(users.k("domains").i(i), r);
    }
    let selected = |dns: &str| {
        w.users.domains.is_empty() || w.users.domains.iter().any(|d| d.eq_ignore_ascii_case(dns))
    };
    let generated = s.lab.generated.iter().any(|g| selected(&g.domain));
    if !generated && !w.users.teaching {
        c.push(
            users.clone(),
            "no users to draw from: generate users in the selected domains, or set teaching = true",
        );
    }
}

fn expectations(c: &mut Check) {
    let at = FieldPath::root().k("expect");
    for (i, o) in c.s.expect.outcomes.iter().enumerate() {
        let here = at.k("outcomes").i(i);
        match (o.exactly, o.at_least, o.at_most) {
            (None, None, None) => c.push(here.clone(), "give at_least, at_most or exactly"),
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                c.push(here.k("exactly"), "exactly excludes at_least and at_most")
            }
            (None, Some(lo), Some(hi)) if lo > hi => c.push(
                here.k("at_least"),
                format!("at_least {lo} is above at_most {hi}"),
            ),
            _ => {}
        }
        if let Some(d) = &o.domain {
            let r = c.names.check_domain(d).map(|_| ());
            c.or_push(here.k("domain"), r);
        }
        if let Some(u) = &o.user {
            let r = c.names.check_user(u);
            c.or_push(here.k("user"), r);
        }
    }
    for (i, l) in c.s.expect.latency.iter().enumerate() {
        let here = at.k("latency").i(i);
        if !(l.p.is_finite() && l.p > 0.0 && l.p <= 100.0) {
            c.push(
                here.k("p"),
                format!("a percentile is in (0, 100], not {}", l.p),
            );
        }
        if l.under.get().is_zero() {
            c.push(here.k("under"), "the bound must be above 0s");
        }
        if let Some(d) = &l.domain {
            let r = c.names.check_domain(d).map(|_| ());
            c.or_push(here.k("domain"), r);
        }
    }
    for (i, u) in c.s.expect.users.iter().enumerate() {
        let here = at.k("users").i(i);
        let r = c.names.check_user(&u.user);
        c.or_push(here.k("user"), r);
        if u.binds_with.is_none()
            && u.signs_in_with.is_none()
            && u.locked.is_none()
            && u.must_change.is_none()
        {
            c.push(
                here.clone(),
                "give at least one of binds_with, signs_in_with, locked, must_change",
            );
        }
    }
}
